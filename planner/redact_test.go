package planner

import (
	"strings"
	"testing"

	"github.com/sdform/sdform/lang"
	"github.com/zclconf/go-cty/cty"
)

func TestRedact(t *testing.T) {
	const key = "lineage-1"
	h := func(s string) cty.Value { return cty.StringVal(RedactString(s, key)) }
	obj := cty.ObjectVal(map[string]cty.Value{
		"name":    cty.StringVal("n"),
		"secret":  cty.StringVal("s3"),
		"secrets": cty.MapVal(map[string]cty.Value{"hf": cty.StringVal("tok"), "gh": cty.StringVal("g")}),
		"tags":    cty.ListVal([]cty.Value{cty.StringVal("a"), cty.StringVal("b")}),
		"port":    cty.NumberIntVal(8188),
		"pending": cty.UnknownVal(cty.String),
		"none":    cty.NullVal(cty.String),
	})
	tests := map[string]struct {
		paths []cty.Path
		check func(t *testing.T, v cty.Value)
	}{
		"no paths leaves the value": {
			check: func(t *testing.T, v cty.Value) {
				if !v.RawEquals(obj) {
					t.Errorf("changed: %#v", v)
				}
			},
		},
		"one attribute": {
			paths: []cty.Path{cty.GetAttrPath("secret")},
			check: func(t *testing.T, v cty.Value) {
				if !v.GetAttr("secret").RawEquals(h("s3")) || v.GetAttr("name").AsString() != "n" {
					t.Errorf("got %#v", v)
				}
			},
		},
		"a whole map": {
			paths: []cty.Path{cty.GetAttrPath("secrets")},
			check: func(t *testing.T, v cty.Value) {
				m := v.GetAttr("secrets")
				if !m.Type().IsMapType() || !m.Index(cty.StringVal("hf")).RawEquals(h("tok")) || !m.Index(cty.StringVal("gh")).RawEquals(h("g")) {
					t.Errorf("got %#v", m)
				}
			},
		},
		"one list element": {
			paths: []cty.Path{cty.GetAttrPath("tags").IndexInt(1)},
			check: func(t *testing.T, v cty.Value) {
				l := v.GetAttr("tags")
				if !l.Type().IsListType() || l.Index(cty.NumberIntVal(0)).AsString() != "a" || !l.Index(cty.NumberIntVal(1)).RawEquals(h("b")) {
					t.Errorf("got %#v", l)
				}
			},
		},
		"a number becomes a string": {
			paths: []cty.Path{cty.GetAttrPath("port")},
			check: func(t *testing.T, v cty.Value) {
				if !v.GetAttr("port").RawEquals(h("8188")) {
					t.Errorf("got %#v", v.GetAttr("port"))
				}
			},
		},
		"unknown and null stay": {
			paths: []cty.Path{cty.GetAttrPath("pending"), cty.GetAttrPath("none")},
			check: func(t *testing.T, v cty.Value) {
				if v.GetAttr("pending").IsKnown() || !v.GetAttr("none").IsNull() {
					t.Errorf("got %#v", v)
				}
			},
		},
		"the whole value": {
			paths: []cty.Path{{}},
			check: func(t *testing.T, v cty.Value) {
				if v.GetAttr("name").RawEquals(cty.StringVal("n")) || !v.GetAttr("pending").RawEquals(cty.UnknownVal(cty.String)) {
					t.Errorf("got %#v", v)
				}
			},
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			v := Redact(obj, tc.paths, key)
			tc.check(t, v)
			if again := Redact(v, tc.paths, key); !again.RawEquals(v) {
				t.Errorf("redacting twice changed the value")
			}
		})
	}
	if RedactString("x", "k1") == RedactString("x", "k2") {
		t.Errorf("the key does not matter")
	}
	if s := RedactString("x", key); !strings.HasPrefix(s, "sha256:") || len(s) != 71 || !IsRedacted(s) {
		t.Errorf("form: %s", s)
	}
}

func TestRedactMarked(t *testing.T) {
	v := cty.ObjectVal(map[string]cty.Value{
		"a": cty.StringVal("plain"),
		"b": lang.MarkSensitive(cty.StringVal("secret")),
		"c": cty.TupleVal([]cty.Value{cty.StringVal("x"), lang.MarkSensitive(cty.StringVal("y"))}),
	})
	got, paths := RedactMarked(v, []cty.Path{cty.GetAttrPath("a")}, "k")
	if got.ContainsMarked() {
		t.Fatal("still marked")
	}
	if len(paths) != 3 {
		t.Errorf("paths = %#v", paths)
	}
	for _, name := range []string{"a", "b"} {
		if !IsRedacted(got.GetAttr(name).AsString()) {
			t.Errorf("%s = %#v", name, got.GetAttr(name))
		}
	}
	if c := got.GetAttr("c"); c.Index(cty.NumberIntVal(0)).AsString() != "x" || !IsRedacted(c.Index(cty.NumberIntVal(1)).AsString()) {
		t.Errorf("c = %#v", c)
	}
}

func TestRestore(t *testing.T) {
	const key = "k"
	prior := cty.ObjectVal(map[string]cty.Value{
		"same":    cty.StringVal(RedactString("one", key)),
		"changed": cty.StringVal(RedactString("two", key)),
		"gone":    cty.StringVal(RedactString("three", key)),
	})
	cfg := cty.ObjectVal(map[string]cty.Value{
		"same":    cty.StringVal("one"),
		"changed": cty.StringVal("TWO"),
		"gone":    cty.NullVal(cty.String),
	})
	got := restore(prior, cfg, redactedPaths(prior), key)
	if got.GetAttr("same").AsString() != "one" {
		t.Errorf("unchanged secret not restored: %#v", got.GetAttr("same"))
	}
	if !got.GetAttr("changed").RawEquals(prior.GetAttr("changed")) || !got.GetAttr("gone").RawEquals(prior.GetAttr("gone")) {
		t.Errorf("changed or unset secrets restored: %#v", got)
	}
}
