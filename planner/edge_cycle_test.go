package planner_test

import (
	"context"
	"testing"
	"time"

	"github.com/sdform/sdform/planner"
	"github.com/sdform/sdform/planner/plan"
)

// Config v1: b refers to a. Config v2: a refers to b and b no longer refers
// to a (b unchanged otherwise). The state must not keep b's old dependency
// on a, and a destroy ends, deleting a before b. A state whose recorded
// dependencies are circular anyway (written before that was kept up to
// date) is still destroyed: the walk never waits in a circle.
func TestDestroyRecordedCycle(t *testing.T) {
	f := newFixture(t, map[string]string{"main.sdf.hcl": `
resource "test_thing" "a" {
  name = "a"
}
resource "test_thing" "b" {
  name = "b"
  tags = [test_thing.a.name]
}
`})
	f.mustApply(defaultOpts())
	f.write("main.sdf.hcl", `
resource "test_thing" "a" {
  name = "a"
  tags = [test_thing.b.name]
}
resource "test_thing" "b" {
  name = "b"
  tags = ["a"]
}
`)
	f.mustApply(defaultOpts())
	st := f.state()
	if got := st.Resource("test_thing.b").Dependencies; len(got) != 0 {
		t.Errorf("b's recorded dependencies = %v, want none (b no longer refers to a)", got)
	}
	// As an older state would have it: both ways.
	st.Resource("test_thing.b").Dependencies = []string{"test_thing.a"}
	must(t, f.persist(st))
	st = f.state()
	opts := defaultOpts()
	opts.Destroy = true
	c := f.context()
	dp, diags := c.Plan(context.Background(), st, opts)
	if diags.HasErrors() {
		t.Fatal(diagString(diags))
	}
	done := make(chan struct{})
	go func() {
		res, diags := c.Apply(context.Background(), dp, st, f.persist, planner.Hooks{})
		if diags.HasErrors() || len(res.Succeeded) != 2 {
			t.Errorf("destroy: %s %v", diagString(diags), res.Errors)
		}
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("destroy apply did not return within 5s (deadlock)")
	}
	if n := len(f.state().Resources); n != 0 {
		t.Errorf("%d objects left after destroy", n)
	}
	// a refers to b in the configuration: a went first.
	ev := eventsByAddr(f.prov.EventsOf("apply"))
	if a, b := ev["test_thing.a"], ev["test_thing.b"]; a.Action != plan.Delete || b.Start.Before(a.End) {
		t.Errorf("b's delete started before a's ended: a %v–%v, b %v", a.Start, a.End, b.Start)
	}
}
