package main

import (
	"strings"
	"testing"
)

// A plan stopped by one object's error still shows what the others would
// do, marked as incomplete, and exits 1; nothing can be saved from it.
func TestPlanWithErrorsShowsWhatCouldBePlanned(t *testing.T) {
	dir := configDir(t, map[string]string{"main.sdf.hcl": `resource "test_thing" "fine" {
  name = "fine"
}

resource "test_thing" "bad" {
  args = { INVALID = "x" }
}
`})
	r := sdform(t, dir, "plan", "-out=p.plan")
	if r.code != 1 {
		t.Fatalf("want exit 1\n%s", r)
	}
	for _, want := range []string{"Invalid build arg", "incomplete and cannot be applied", `+ test_thing "fine"`} {
		if !strings.Contains(r.stdout+r.stderr, want) {
			t.Errorf("output lacks %q\n%s", want, r)
		}
	}
	if strings.Contains(r.stdout, `test_thing "bad"`) {
		t.Errorf("the failing object is shown as planned\n%s", r)
	}
	if strings.Contains(r.stdout, "Saved the plan") {
		t.Errorf("a plan with errors was saved\n%s", r)
	}
}
