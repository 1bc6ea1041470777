package planner_test

import (
	"context"
	"testing"

	"github.com/hashicorp/hcl/v2"
	"github.com/sdform/sdform/planner"
)

// d is unchanged in the saved plan; x changes and refers to d.id. Before
// the saved plan is applied, d's input file changes: d would now be
// replaced, so the saved plan is stale (x must never be applied against
// d's re-planned, unknown id).
func TestNoOpDependencyReplanned(t *testing.T) {
	f := newFixture(t, map[string]string{"d.txt": "one", "main.sdf.hcl": `
resource "test_thing" "d" {
  name       = "d"
  input_file = "d.txt"
}
resource "test_thing" "x" {
  name = "x"
  tags = [test_thing.d.id]
}
`})
	f.mustApply(defaultOpts())
	f.write("main.sdf.hcl", `
resource "test_thing" "d" {
  name       = "d"
  input_file = "d.txt"
}
resource "test_thing" "x" {
  name = "x2"
  tags = [test_thing.d.id]
}
`)
	p := f.plan(defaultOpts())
	t.Logf("saved plan: %v; x.tags = %#v", actions(p), change(t, p, "test_thing.x").After.GetAttr("tags"))
	f.write("d.txt", "two") // d's input file changes after the plan
	res, diags := f.context().Apply(context.Background(), p, f.state(), f.persist, planner.Hooks{})
	if hasDiag(diags, hcl.DiagError, "stale") {
		t.Logf("refused as stale: %s", diagString(diags))
		return
	}
	t.Errorf("not refused as stale; failed=%v errors=%v diags=%s", res.Failed, res.Errors, diagString(diags))
}
