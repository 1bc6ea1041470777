package planner_test

import (
	"testing"

	"github.com/sdform/sdform/planner/plan"
)

// Terraform: "If the reference is to a single resource instance, a plan to
// update or replace that instance will trigger replacement."
func TestReplaceTriggeredByWholeResourceUpdate(t *testing.T) {
	f := newFixture(t, map[string]string{"main.sdf.hcl": `
resource "test_thing" "a" {
  name = "one"
}
resource "test_thing" "b" {
  name = "b"
  lifecycle {
    replace_triggered_by = [test_thing.a]
  }
}
`})
	f.mustApply(defaultOpts())
	f.write("main.sdf.hcl", `
resource "test_thing" "a" {
  name = "two"
}
resource "test_thing" "b" {
  name = "b"
  lifecycle {
    replace_triggered_by = [test_thing.a]
  }
}
`)
	p := f.plan(defaultOpts())
	t.Logf("actions: %v", actions(p))
	if a := change(t, p, "test_thing.a").Action; a != plan.Update {
		t.Fatalf("a: %s", a)
	}
	if b := change(t, p, "test_thing.b"); b.Action != plan.Replace {
		t.Errorf("test_thing.b: %s (%q), want replace: its replace_triggered_by names test_thing.a, which is updated", b.Action, b.Reason)
	}
}
