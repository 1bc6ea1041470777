package planner

import (
	"testing"

	"github.com/sdform/sdform/lang"
	"github.com/zclconf/go-cty/cty"
)

func TestUnmarkDeep(t *testing.T) {
	obj := func(secret cty.Value) cty.Value {
		return cty.ObjectVal(map[string]cty.Value{
			"name": cty.StringVal("a"),
			"tags": cty.ListVal([]cty.Value{cty.StringVal("x"), secret}),
			"args": cty.MapVal(map[string]cty.Value{"K": cty.StringVal("v")}),
			"set":  cty.SetVal([]cty.Value{cty.StringVal("s")}),
			"tup":  cty.TupleVal([]cty.Value{cty.NumberIntVal(1), cty.ObjectVal(map[string]cty.Value{"deep": secret})}),
			"null": cty.NullVal(cty.String),
			"unk":  cty.UnknownVal(cty.String),
		})
	}
	plain := obj(cty.StringVal("y"))
	tests := map[string]struct {
		v     cty.Value
		marks int // PathValueMarks expected
	}{
		"no marks":          {v: plain},
		"marked leaf":       {v: obj(lang.MarkSensitive(cty.StringVal("y"))), marks: 2},
		"marked whole":      {v: lang.MarkSensitive(plain), marks: 1},
		"marked unknown":    {v: cty.ObjectVal(map[string]cty.Value{"u": lang.MarkSensitive(cty.UnknownVal(cty.String))}), marks: 1},
		"marked in a set":   {v: cty.SetVal([]cty.Value{lang.MarkSensitive(cty.StringVal("s"))}), marks: 1},
		"marked map value":  {v: cty.MapVal(map[string]cty.Value{"k": lang.MarkSensitive(cty.StringVal("s"))}), marks: 1},
		"primitive":         {v: cty.StringVal("p")},
		"marked primitive":  {v: lang.MarkSensitive(cty.StringVal("p")), marks: 1},
		"null object":       {v: cty.NullVal(plain.Type())},
		"dynamic unknown":   {v: cty.DynamicVal},
		"empty collections": {v: cty.ObjectVal(map[string]cty.Value{"l": cty.ListValEmpty(cty.String), "m": cty.MapValEmpty(cty.String)})},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			if got, want := hasMarks(tc.v), tc.v.ContainsMarked(); got != want {
				t.Errorf("hasMarks = %v, cty's ContainsMarked = %v", got, want)
			}
			want, wantPVM := tc.v.UnmarkDeepWithPaths()
			got, pvm := unmarkDeepWithPaths(tc.v)
			if !got.RawEquals(want) || len(pvm) != len(wantPVM) || len(pvm) != tc.marks {
				t.Errorf("unmarkDeepWithPaths = %#v, %d marks; want %#v, %d (%d expected)", got, len(pvm), want, len(wantPVM), tc.marks)
			}
			if u := unmarkDeep(tc.v); !u.RawEquals(want) {
				t.Errorf("unmarkDeep = %#v, want %#v", u, want)
			}
		})
	}
}

func BenchmarkUnmarkDeep(b *testing.B) {
	v := cty.ObjectVal(map[string]cty.Value{
		"name": cty.StringVal("a"), "variant": cty.StringVal("fp8"), "id": cty.StringVal("x"), "out": cty.StringVal("o"),
		"digest": cty.StringVal("d"), "secret": cty.NullVal(cty.String), "promoted": cty.True,
		"args": cty.MapVal(map[string]cty.Value{"N": cty.StringVal("1")}),
		"tags": cty.ListVal([]cty.Value{cty.StringVal("t")}),
	})
	b.Run("cty", func(b *testing.B) {
		for range b.N {
			_, _ = v.UnmarkDeep()
		}
	})
	b.Run("planner", func(b *testing.B) {
		for range b.N {
			_ = unmarkDeep(v)
		}
	})
}
