package planner_test

import (
	"testing"

	"github.com/sdform/sdform/planner/plan"
)

func TestSmokeCreateThenNoop(t *testing.T) {
	f := newFixture(t, map[string]string{"main.sdf.hcl": `
resource "test_thing" "a" {
  name = "a"
}
resource "test_thing" "b" {
  name = test_thing.a.out
}
`})
	p, res := f.mustApply(defaultOpts())
	if got := actions(p); got["test_thing.a"] != plan.Create || got["test_thing.b"] != plan.Create {
		t.Fatalf("actions = %v", got)
	}
	if len(res.Succeeded) != 2 {
		t.Fatalf("succeeded = %v", res.Succeeded)
	}
	p2 := f.plan(defaultOpts())
	for _, c := range p2.Changes {
		if c.Action != plan.NoOp {
			t.Errorf("%s: %c %s", c.Address, c.Action, c.Reason)
		}
	}
}
