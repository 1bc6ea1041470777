package planner_test

import (
	"context"
	"testing"

	"github.com/hashicorp/hcl/v2"
	"github.com/sdform/sdform/planner/plan"
)

// TestOddConfigurationsDoNotPanic plans and applies configurations that are
// wrong or unusual; each must end in diagnostics or a result, never a
// panic.
func TestOddConfigurationsDoNotPanic(t *testing.T) {
	tests := map[string]struct {
		cfg     string
		wantErr bool
	}{
		"null attribute":                               {cfg: `resource "test_thing" "a" { name = null }`},
		"wrong type":                                   {cfg: `resource "test_thing" "a" { tags = "x" }`, wantErr: true},
		"object for a string":                          {cfg: `resource "test_thing" "a" { name = { a = 1 } }`, wantErr: true},
		"missing required in a block":                  {cfg: "resource \"test_thing\" \"a\" {\n  step {}\n}", wantErr: true},
		"map block without label":                      {cfg: "resource \"test_thing\" \"a\" {\n  port {\n    number = 1\n  }\n}", wantErr: true},
		"ignore_changes on a path that does not exist": {cfg: "resource \"test_thing\" \"a\" {\n  lifecycle {\n    ignore_changes = [nope, args.X]\n  }\n}"},
		"replace_triggered_by an unknown attribute":    {cfg: "resource \"test_thing\" \"b\" {}\nresource \"test_thing\" \"a\" {\n  lifecycle {\n    replace_triggered_by = [test_thing.b.nope]\n  }\n}", wantErr: true},
		"dynamic key":                                  {cfg: "variable \"k\" { default = \"K\" }\nresource \"test_thing\" \"a\" {\n  args = { (var.k) = \"v\" }\n}"},
		"unknown key at plan":                          {cfg: "resource \"test_thing\" \"b\" {}\nresource \"test_thing\" \"a\" {\n  args = { (test_thing.b.id) = \"v\" }\n}"},
		"bad sleep":                                    {cfg: `resource "test_thing" "a" { sleep = "forever" }`, wantErr: true},
		"missing input file":                           {cfg: `resource "test_thing" "a" { input_file = "nope.txt" }`, wantErr: true},
		"provider block of unknown provider":           {cfg: "provider \"nope\" {}\nresource \"test_thing\" \"a\" {}", wantErr: true},
		"output of a whole resource":                   {cfg: "resource \"test_thing\" \"a\" {}\noutput \"o\" { value = test_thing.a }"},
		"check on a null":                              {cfg: "resource \"test_thing\" \"a\" {}\ncheck \"c\" {\n  assert {\n    condition     = test_thing.a.name\n    error_message = \"x\"\n  }\n}", wantErr: true},
		"data source with unknown count of things":     {cfg: "resource \"test_thing\" \"a\" {}\ndata \"test_data\" \"d\" { input = join(\",\", [test_thing.a.id]) }"},
		"empty configuration":                          {cfg: "# nothing\n"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			f := newFixture(t, map[string]string{"main.sdf.hcl": tc.cfg})
			c, diags := f.tryContext()
			if diags.HasErrors() {
				if !tc.wantErr {
					t.Fatalf("load: %s", diagString(diags))
				}
				return
			}
			st := f.state()
			p, pd := c.Plan(context.Background(), st, plan.Options{Refresh: true})
			diags = append(diags, pd...)
			if !pd.HasErrors() && p != nil {
				res, ad := c.Apply(context.Background(), p, st, f.persist, noopHooks())
				diags = append(diags, ad...)
				if len(res.Failed) > 0 {
					diags = append(diags, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "apply failed"})
				}
			}
			if diags.HasErrors() != tc.wantErr {
				t.Errorf("errors = %v, want %v: %s", diags.HasErrors(), tc.wantErr, diagString(diags))
			}
			for _, d := range diags {
				if d.Severity == hcl.DiagError && d.Summary == "" {
					t.Errorf("error without a summary: %+v", d)
				}
			}
		})
	}
}
