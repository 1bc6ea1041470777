package plan

import (
	"testing"

	"github.com/zclconf/go-cty/cty"
)

func TestFormatPath(t *testing.T) {
	tests := map[string]struct {
		path cty.Path
		want string
	}{
		"attribute":      {path: cty.GetAttrPath("name"), want: "name"},
		"map key":        {path: cty.GetAttrPath("args").IndexString("STEADYDANCER_VARIANT"), want: "args.STEADYDANCER_VARIANT"},
		"odd map key":    {path: cty.GetAttrPath("inputs").IndexString("22.model"), want: `inputs["22.model"]`},
		"list index":     {path: cty.GetAttrPath("step").IndexInt(0).GetAttr("run"), want: "step[0].run"},
		"unknown key":    {path: cty.GetAttrPath("m").Index(cty.UnknownVal(cty.String)), want: "m[*]"},
		"empty":          {path: nil, want: ""},
		"leading index":  {path: cty.IndexIntPath(2), want: "[2]"},
		"quote in a key": {path: cty.GetAttrPath("m").IndexString(`a"b`), want: `m["a\"b"]`},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			if got := FormatPath(tc.path); got != tc.want {
				t.Errorf("got %q, want %q", got, tc.want)
			}
		})
	}
}
