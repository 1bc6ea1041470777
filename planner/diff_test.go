package planner

import (
	"strings"
	"testing"

	"github.com/sdform/sdform/planner/plan"
	"github.com/sdform/sdform/providers"
	"github.com/zclconf/go-cty/cty"
)

func TestDiffPaths(t *testing.T) {
	obj := func(m map[string]cty.Value) cty.Value { return cty.ObjectVal(m) }
	base := map[string]cty.Value{
		"name": cty.StringVal("a"),
		"args": cty.MapVal(map[string]cty.Value{"X": cty.StringVal("1"), "Y": cty.StringVal("2")}),
		"tags": cty.ListVal([]cty.Value{cty.StringVal("t1")}),
		"id":   cty.StringVal("i"),
	}
	with := func(k string, v cty.Value) cty.Value {
		m := map[string]cty.Value{}
		for a, b := range base {
			m[a] = b
		}
		m[k] = v
		return obj(m)
	}
	tests := map[string]struct {
		b    cty.Value
		want string
	}{
		"equal":         {b: obj(base), want: ""},
		"attribute":     {b: with("name", cty.StringVal("b")), want: "name"},
		"map value":     {b: with("args", cty.MapVal(map[string]cty.Value{"X": cty.StringVal("1"), "Y": cty.StringVal("3")})), want: "args.Y"},
		"map key added": {b: with("args", cty.MapVal(map[string]cty.Value{"X": cty.StringVal("1"), "Y": cty.StringVal("2"), "Z": cty.StringVal("")})), want: "args.Z"},
		"list length":   {b: with("tags", cty.ListValEmpty(cty.String)), want: "tags"},
		"list element":  {b: with("tags", cty.ListVal([]cty.Value{cty.StringVal("t2")})), want: "tags[0]"},
		"unknown":       {b: with("id", cty.UnknownVal(cty.String)), want: "id"},
		"null":          {b: with("name", cty.NullVal(cty.String)), want: "name"},
		"whole unknown": {b: cty.UnknownVal(obj(base).Type()), want: "(root)"},
		"several, sorted": {
			b:    obj(map[string]cty.Value{"name": cty.StringVal("b"), "args": base["args"], "tags": cty.ListValEmpty(cty.String), "id": cty.StringVal("j")}),
			want: "id,name,tags",
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			var got []string
			for _, p := range diffPaths(obj(base), tc.b) {
				if len(p) == 0 {
					got = append(got, "(root)")
					continue
				}
				got = append(got, plan.FormatPath(p))
			}
			if strings.Join(got, ",") != tc.want {
				t.Errorf("diff = %v, want %q", got, tc.want)
			}
		})
	}
}

func TestIgnoreChangesAndProposed(t *testing.T) {
	schema := &providers.Schema{Attributes: map[string]*providers.Attribute{
		"name": {Type: cty.String, Optional: true},
		"args": {Type: cty.Map(cty.String), Optional: true},
		"id":   {Type: cty.String, Computed: true},
	}}
	prior := cty.ObjectVal(map[string]cty.Value{
		"name": cty.StringVal("old"),
		"args": cty.MapVal(map[string]cty.Value{"A": cty.StringVal("1")}),
		"id":   cty.StringVal("id-1"),
	})
	cfg := cty.ObjectVal(map[string]cty.Value{
		"name": cty.StringVal("new"),
		"args": cty.MapVal(map[string]cty.Value{"A": cty.StringVal("2"), "B": cty.StringVal("3")}),
		"id":   cty.NullVal(cty.String),
	})
	tests := map[string]struct {
		paths []cty.Path
		all   bool
		want  cty.Value
	}{
		"nothing ignored": {want: cfg},
		"an attribute": {
			paths: []cty.Path{cty.GetAttrPath("name")},
			want:  cty.ObjectVal(map[string]cty.Value{"name": cty.StringVal("old"), "args": cfg.GetAttr("args"), "id": cty.NullVal(cty.String)}),
		},
		"a map key, and one the prior lacks": {
			paths: []cty.Path{cty.GetAttrPath("args").IndexString("A"), cty.GetAttrPath("args").IndexString("B")},
			want:  cty.ObjectVal(map[string]cty.Value{"name": cty.StringVal("new"), "args": prior.GetAttr("args"), "id": cty.NullVal(cty.String)}),
		},
		"all": {all: true, want: prior},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			got := ignoreChanges(cfg, prior, schema, tc.paths, tc.all)
			if !got.RawEquals(tc.want) {
				t.Errorf("got %#v\nwant %#v", got, tc.want)
			}
		})
	}
	p := proposedValue(schema, prior, cfg)
	if p.GetAttr("id").AsString() != "id-1" || p.GetAttr("name").AsString() != "new" {
		t.Errorf("proposed = %#v", p)
	}
}

func TestChangedReason(t *testing.T) {
	ps := func(names ...string) []cty.Path {
		var out []cty.Path
		for _, n := range names {
			out = append(out, cty.GetAttrPath(n))
		}
		return out
	}
	tests := map[string]struct {
		paths []cty.Path
		want  string
	}{
		"one":   {paths: []cty.Path{cty.GetAttrPath("args").IndexString("STEADYDANCER_VARIANT")}, want: "args.STEADYDANCER_VARIANT changed"},
		"two":   {paths: ps("a", "b"), want: "a and b changed"},
		"three": {paths: ps("a", "b", "c"), want: "a, b and c changed"},
		"many":  {paths: ps("a", "b", "c", "d", "e"), want: "a, b, c and 2 more changed"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			if got := changedReason(tc.paths); got != tc.want {
				t.Errorf("got %q, want %q", got, tc.want)
			}
		})
	}
}
