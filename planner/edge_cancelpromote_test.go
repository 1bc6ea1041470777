package planner_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/sdform/sdform/planner"
	"github.com/sdform/sdform/planner/plan"
	"github.com/sdform/sdform/planner/state"
)

// Ctrl-C after the image was built and before its test ran: the test is
// skipped ("cancelled"), so Promote must not be told every test passed.
func TestCancelledTestIsNotAPass(t *testing.T) {
	f := newFixture(t, map[string]string{"main.sdf.hcl": `
resource "test_thing" "img" {
  name = "img"
}
resource "test_test" "t" {
  target = test_thing.img.id
}
`})
	c := f.context()
	st := f.state()
	p, diags := c.Plan(context.Background(), st, defaultOpts())
	if diags.HasErrors() {
		t.Fatal(diagString(diags))
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	hooks := planner.Hooks{Done: func(addr string, a plan.Action, err error, d time.Duration) {
		if addr == "test_thing.img" {
			cancel() // the user presses Ctrl-C right after the build
		}
	}}
	res, _ := c.Apply(ctx, p, st, f.persist, hooks)
	t.Logf("succeeded=%v failed=%v skipped=%v reasons=%v", res.Succeeded, res.Failed, res.Skipped, res.SkipReasons)
	for _, e := range f.prov.EventsOf("promote") {
		if e.Address == "test_thing.img" && e.Passed {
			t.Errorf("test_thing.img promoted with Passed=true although its test %v", res.SkipReasons["test_test.t"])
		}
	}
	if v := f.state().Resource("test_thing.img").Value.GetAttr("promoted"); v.True() {
		t.Errorf("state records test_thing.img as promoted")
	}
}

// The state cannot be saved after another object: the test is skipped
// ("the state could not be saved"), so Promote must not be told every test
// passed.
func TestPersistFailureTestIsNotAPass(t *testing.T) {
	f := newFixture(t, map[string]string{"main.sdf.hcl": `
resource "test_thing" "img" {
  name = "img"
}
resource "test_thing" "other" {
  name = test_thing.img.id
}
resource "test_thing" "gate" {
  name  = "gate"
  sleep = "200ms"
}
resource "test_test" "t" {
  target     = test_thing.img.id
  depends_on = [test_thing.gate]
}
`})
	c := f.context()
	st := f.state()
	p, diags := c.Plan(context.Background(), st, defaultOpts())
	if diags.HasErrors() {
		t.Fatal(diagString(diags))
	}
	failedOnce := false
	persist := func(s *state.File) error {
		if s.Resource("test_thing.other") != nil && !failedOnce {
			failedOnce = true // one failed write, for other; later writes work
			return errors.New("disk full")
		}
		return f.persist(s)
	}
	res, _ := c.Apply(context.Background(), p, st, persist, planner.Hooks{})
	t.Logf("succeeded=%v failed=%v skipped=%v reasons=%v", res.Succeeded, res.Failed, res.Skipped, res.SkipReasons)
	for _, e := range f.prov.EventsOf("promote") {
		if e.Address == "test_thing.img" && e.Passed {
			t.Errorf("test_thing.img promoted with Passed=true although its test was skipped: %v", res.SkipReasons["test_test.t"])
		}
	}
}
