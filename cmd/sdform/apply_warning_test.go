package main

import (
	"encoding/json"
	"strings"
	"testing"
)

// TestApplyPrintsAWarningOnce checks that a warning check whose value is
// known at plan time is printed once by `apply -auto-approve`: the plan
// shows it above itself, and apply finds the same failure again.
func TestApplyPrintsAWarningOnce(t *testing.T) {
	const config = `resource "test_thing" "a" {
  name = "a"
}

check "w" {
  assert {
    condition     = test_thing.a.name == "b"
    error_message = "warn only"
    severity      = "warning"
  }
}
`
	t.Run("text", func(t *testing.T) {
		dir := configDir(t, map[string]string{"main.sdf.hcl": config})
		r := sdform(t, dir, "apply", "-auto-approve")
		if r.code != 0 {
			t.Fatalf("apply: %s", r)
		}
		if n := strings.Count(r.stderr, "Warning: check.w failed"); n != 1 {
			t.Errorf("the warning printed %d times, want once\n%s", n, r)
		}
		// The check results after apply still list it.
		if _, after, _ := strings.Cut(r.stdout, "Apply complete!"); !strings.Contains(after, "check.w: failed (warning): warn only") {
			t.Errorf("the checks after apply do not list check.w\n%s", r)
		}
	})
	t.Run("json", func(t *testing.T) {
		dir := configDir(t, map[string]string{"main.sdf.hcl": config})
		r := sdform(t, dir, "apply", "-auto-approve", "-json")
		if r.code != 0 {
			t.Fatalf("apply -json: %s", r)
		}
		n := 0
		for _, line := range strings.Split(strings.TrimSpace(r.stdout), "\n") {
			var ev struct {
				Type    string `json:"type"`
				Message string `json:"@message"`
			}
			if err := json.Unmarshal([]byte(line), &ev); err != nil {
				t.Fatalf("not a JSON line: %q", line)
			}
			if ev.Type == "diagnostic" && ev.Message == "check.w failed" {
				n++
			}
		}
		if n != 1 {
			t.Errorf("%d diagnostic events for check.w, want 1\n%s", n, r)
		}
	})
}
