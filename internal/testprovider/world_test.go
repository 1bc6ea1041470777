package testprovider

import (
	"testing"

	"github.com/zclconf/go-cty/cty"
)

func TestWorldRoundTrip(t *testing.T) {
	full := map[string]cty.Value{
		"name": cty.StringVal("n"), "variant": cty.StringVal("fp8"), "secret": cty.StringVal("s"),
		"input_file": cty.StringVal("in.txt"), "fail": cty.False, "sleep": cty.StringVal("1ms"),
		"id": cty.StringVal("thing-1"), "out": cty.StringVal("out-n"), "digest": cty.StringVal("sha256:x"), "promoted": cty.True,
		"args": cty.MapVal(map[string]cty.Value{"A": cty.StringVal("1")}),
		"tags": cty.ListVal([]cty.Value{cty.StringVal("t")}),
		"step": cty.ListVal([]cty.Value{cty.ObjectVal(map[string]cty.Value{"name": cty.StringVal("s1"), "run": cty.NullVal(cty.String)})}),
		"port": cty.MapVal(map[string]cty.Value{"http": cty.ObjectVal(map[string]cty.Value{"number": cty.NumberFloatVal(8188.5)})}),
	}
	empty := map[string]cty.Value{}
	for n, v := range full {
		empty[n] = v
	}
	empty["args"] = cty.MapValEmpty(cty.String)
	empty["tags"] = cty.ListValEmpty(cty.String)
	empty["step"] = cty.ListValEmpty(thingType.AttributeType("step").ElementType())
	empty["port"] = cty.MapValEmpty(thingType.AttributeType("port").ElementType())
	nulls := map[string]cty.Value{}
	for n, ty := range thingType.AttributeTypes() {
		nulls[n] = cty.NullVal(ty)
	}
	tests := map[string]cty.Value{
		"every attribute set":  cty.ObjectVal(full),
		"empty collections":    cty.ObjectVal(empty),
		"every attribute null": cty.ObjectVal(nulls),
	}
	for name, v := range tests {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			if err := writeObject(WorldDir(dir), "thing-1", v, true); err != nil {
				t.Fatal(err)
			}
			got, ok, err := ReadObject(dir, "thing-1")
			if err != nil || !ok {
				t.Fatalf("read: %v %v", ok, err)
			}
			if !got.RawEquals(v) {
				t.Errorf("got %#v\nwant %#v", got, v)
			}
			if err := SetAttr(dir, "thing-1", "name", cty.StringVal("edited")); err != nil {
				t.Fatal(err)
			}
			// The pending flag is the provider's, not an attribute: it
			// survives an edit made outside sdform.
			if pending, err := PromotionPending(dir, "thing-1"); err != nil || !pending {
				t.Errorf("pending = %v, %v after SetAttr; want true", pending, err)
			}
			got, _, _ = ReadObject(dir, "thing-1")
			if got.GetAttr("name").AsString() != "edited" {
				t.Errorf("SetAttr did not change the object")
			}
			if ids, _ := Objects(dir); len(ids) != 1 || ids[0] != "thing-1" {
				t.Errorf("objects = %v", ids)
			}
			if err := DeleteObject(dir, "thing-1"); err != nil {
				t.Fatal(err)
			}
			if _, ok, _ := ReadObject(dir, "thing-1"); ok {
				t.Errorf("object still there after DeleteObject")
			}
		})
	}
}
