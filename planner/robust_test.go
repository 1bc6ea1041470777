package planner_test

import (
	"context"
	"strings"
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

// TestRecoveredPanicMessagesAreTidy evaluates expressions that make cty
// recover a panic ((1/0) % 2 is infinity modulo 2): the diagnostic must say
// what failed in one sentence, without the Go stack trace cty appends.
func TestRecoveredPanicMessagesAreTidy(t *testing.T) {
	const bad = "(1/0) % 2"
	tests := map[string]string{
		"local":           "locals { x = " + bad + " }",
		"resource":        `resource "test_thing" "a" { name = tostring(` + bad + `) }`,
		"data source":     `data "test_data" "d" { input = tostring(` + bad + `) }`,
		"provider":        `provider "test" { label = tostring(` + bad + `) }` + "\n" + `resource "test_thing" "a" {}`,
		"output":          "output \"o\" { value = " + bad + " }",
		"check condition": "check \"c\" {\n  assert {\n    condition     = (" + bad + ") == 1\n    error_message = \"x\"\n  }\n}",
	}
	for name, cfg := range tests {
		t.Run(name, func(t *testing.T) {
			f := newFixture(t, map[string]string{"main.sdf.hcl": cfg})
			c := f.context()
			for what, diags := range map[string]hcl.Diagnostics{
				"validate": c.Validate(context.Background()),
				"plan": func() hcl.Diagnostics {
					_, d := f.context().Plan(context.Background(), f.state(), plan.Options{Refresh: true})
					return d
				}(),
			} {
				if !diags.HasErrors() {
					t.Errorf("%s: no error for %s", what, bad)
				}
				for _, d := range diags {
					if strings.Contains(d.Detail, "goroutine") || strings.Contains(d.Detail, ".go:") || strings.Contains(d.Detail, "panic") {
						t.Errorf("%s: stack trace in diagnostic %q: %s", what, d.Summary, d.Detail)
					}
				}
			}
		})
	}
}
