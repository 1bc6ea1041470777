package planner_test

import (
	"context"
	"strings"
	"testing"

	"github.com/sdform/sdform/planner/plan"
)

// A saved plan made while a file was absent shows what fileexists answered
// then; once the file appears the configuration means something else, so
// applying the plan must be refused as stale, not apply the new value.
func TestSavedPlanStaleWhenFileExistsChanges(t *testing.T) {
	tests := map[string]struct {
		before, after func(f *fixture) // the file system at plan, then at apply
		want          string           // the refusal, or "" for a plan still valid
	}{
		"file appeared": {
			before: func(*fixture) {},
			after:  func(f *fixture) { f.write("flag", "") },
			want:   "saved plan is stale: the configuration or an input file changed since the plan was made",
		},
		"file still absent": {
			before: func(*fixture) {},
			after:  func(*fixture) {},
		},
		"file still there, content changed": {
			// fileexists says nothing about the content, which nothing read.
			before: func(f *fixture) { f.write("flag", "1") },
			after:  func(f *fixture) { f.write("flag", "2") },
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			f := newFixture(t, map[string]string{"main.sdf.hcl": `
resource "test_thing" "a" {
  name = fileexists("flag") ? "on" : "off"
}
`})
			tc.before(f)
			b, err := plan.Marshal(f.plan(defaultOpts()))
			must(t, err)
			tc.after(f)
			saved, err := plan.Unmarshal(b)
			must(t, err)
			before := len(f.prov.EventsOf("apply"))
			res, diags := f.context().Apply(context.Background(), saved, f.state(), f.persist, noopHooks())
			if tc.want == "" {
				if diags.HasErrors() || len(res.Succeeded) != 1 {
					t.Fatalf("a saved plan still valid was refused: %s %v", diagString(diags), res.Errors)
				}
				return
			}
			if !diags.HasErrors() || !strings.HasPrefix(diags[0].Summary, tc.want) {
				t.Errorf("diagnostics = %q, want %q", diagString(diags), tc.want)
			}
			if n := len(f.prov.EventsOf("apply")) - before; n != 0 {
				t.Errorf("a stale plan still applied %d objects", n)
			}
		})
	}
}
