package planner_test

import (
	"context"
	"testing"
	"time"

	"github.com/sdform/sdform/planner"
	"github.com/sdform/sdform/planner/plan"
)

// x's update is skipped by Ctrl-C: the output that reads x.out must not be
// recorded from x's planned value, since x was never changed.
func TestCancelledObjectPlannedValueInOutputs(t *testing.T) {
	f := newFixture(t, map[string]string{"main.sdf.hcl": `
resource "test_thing" "y" {
  name = "y1"
}
resource "test_thing" "x" {
  name       = "a"
  depends_on = [test_thing.y]
}
output "x_out" {
  value = test_thing.x.out
}
`})
	f.mustApply(defaultOpts())
	f.write("main.sdf.hcl", `
resource "test_thing" "y" {
  name = "y2"
}
resource "test_thing" "x" {
  name       = "b"
  depends_on = [test_thing.y]
}
output "x_out" {
  value = test_thing.x.out
}
`)
	c := f.context()
	st := f.state()
	p, diags := c.Plan(context.Background(), st, defaultOpts())
	if diags.HasErrors() {
		t.Fatal(diagString(diags))
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	hooks := planner.Hooks{Done: func(addr string, a plan.Action, err error, d time.Duration) {
		if addr == "test_thing.y" {
			cancel()
		}
	}}
	res, _ := c.Apply(ctx, p, st, f.persist, hooks)
	t.Logf("succeeded=%v skipped=%v", res.Succeeded, res.Skipped)
	got := f.state()
	xo := got.Resource("test_thing.x").Value.GetAttr("out").AsString()
	oo := got.Outputs["x_out"].Value.AsString()
	if xo != oo {
		t.Errorf("state: test_thing.x.out = %q but output x_out = %q (x was not applied)", xo, oo)
	}
}

// Ctrl-C while an object waits for a slot (-parallelism): it never
// started, so it is skipped as cancelled, not reported as failed.
func TestCancelWhileWaitingForSlot(t *testing.T) {
	f := newFixture(t, map[string]string{"main.sdf.hcl": `
resource "test_thing" "a" {
  name  = "a"
  sleep = "300ms"
}
resource "test_thing" "b" {
  name  = "b"
  sleep = "300ms"
}
`})
	c := f.context()
	st := f.state()
	opts := defaultOpts()
	opts.Parallelism = 1
	p, diags := c.Plan(context.Background(), st, opts)
	if diags.HasErrors() {
		t.Fatal(diagString(diags))
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	started := make(chan struct{}, 2)
	hooks := planner.Hooks{Start: func(string, plan.Action) { started <- struct{}{} }}
	go func() { <-started; time.Sleep(50 * time.Millisecond); cancel() }()
	res, _ := c.Apply(ctx, p, st, f.persist, hooks)
	if len(res.Skipped) != 1 || len(res.Failed) > 1 || res.SkipReasons[res.Skipped[0]] != "cancelled" {
		t.Errorf("succeeded %v, failed %v (%v), skipped %v (%v): want the waiting one skipped as cancelled",
			res.Succeeded, res.Failed, res.Errors, res.Skipped, res.SkipReasons)
	}
	if n := len(f.prov.EventsOf("apply")); n > 1 {
		t.Errorf("%d objects reached the provider, want at most the one that had the slot", n)
	}
}

// Ctrl-C before apply starts (while it checks the plan): the walk is cut
// short, which says "interrupted", not that the plan is stale.
func TestApplyInterruptedIsNotStale(t *testing.T) {
	f := newFixture(t, map[string]string{"main.sdf.hcl": `resource "test_thing" "a" { name = "a" }`})
	c := f.context()
	st := f.state()
	p, diags := c.Plan(context.Background(), st, defaultOpts())
	if diags.HasErrors() {
		t.Fatal(diagString(diags))
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, diags = c.Apply(ctx, p, st, f.persist, planner.Hooks{})
	if !diags.HasErrors() || diags[0].Summary != "Apply interrupted" {
		t.Errorf("diagnostics: %s", diagString(diags))
	}
	if n := len(f.prov.EventsOf("apply")); n != 0 {
		t.Errorf("%d objects applied", n)
	}
}
