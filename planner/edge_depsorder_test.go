package planner_test

import (
	"testing"

	"github.com/sdform/sdform/internal/testprovider"
	"github.com/sdform/sdform/planner/plan"
)

// depends_on added to an otherwise unchanged resource: the object is a
// no-op, yet its recorded dependencies follow, and destroy deletes the
// dependent before the dependency.
func TestDestroyOrderAfterDependsOnAdded(t *testing.T) {
	f := newFixture(t, map[string]string{"main.sdf.hcl": `
resource "test_thing" "a" {
  name = "a"
}
resource "test_thing" "b" {
  name  = "b"
  sleep = "300ms"
}
`})
	f.mustApply(defaultOpts())
	f.write("main.sdf.hcl", `
resource "test_thing" "a" {
  name = "a"
}
resource "test_thing" "b" {
  name       = "b"
  sleep      = "300ms"
  depends_on = [test_thing.a]
}
`)
	f.mustApply(defaultOpts())
	if got := f.state().Resource("test_thing.b").Dependencies; len(got) != 1 || got[0] != "test_thing.a" {
		t.Errorf("b's recorded dependencies = %v, want [test_thing.a] (depends_on was added)", got)
	}
	before := len(f.prov.Events())
	opts := defaultOpts()
	opts.Destroy = true
	f.mustApply(opts)
	var aEnd, bEnd testprovider.Event
	for _, e := range f.prov.Events()[before:] {
		if e.Op == "apply" && e.Action == plan.Delete {
			switch e.Address {
			case "test_thing.a":
				aEnd = e
			case "test_thing.b":
				bEnd = e
			}
		}
	}
	if aEnd.End.Before(bEnd.End) {
		t.Errorf("test_thing.a (a dependency of b) was deleted at %v, before b's delete finished at %v", aEnd.End.Format("15:04:05.000"), bEnd.End.Format("15:04:05.000"))
	}
}
