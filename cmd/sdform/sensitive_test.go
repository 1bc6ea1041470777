package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// TestSensitiveAttributeStaysHidden follows a sensitive attribute through
// the commands that print what the state or a refresh holds: state show,
// show (-json), and the drift block of plan (-json) after the secret was
// changed outside sdform. None may print the stored HMAC: it is no secret,
// but it is no value either, and a reader cannot tell it from a digest.
func TestSensitiveAttributeStaysHidden(t *testing.T) {
	dir := configDir(t, map[string]string{"main.sdf.hcl": `resource "test_thing" "a" {
  name   = "a"
  secret = "hunter2"
}
`})
	if r := sdform(t, dir, "apply", "-auto-approve"); r.code != 0 {
		t.Fatalf("apply: %s", r)
	}
	hmac := regexp.MustCompile(`sha256:[0-9a-f]{64}`)
	secretLine := regexp.MustCompile(`(?m)^\s*secret\s*=\s*(.*)$`)

	for _, args := range [][]string{{"state", "show", "test_thing.a"}, {"show"}} {
		r := sdform(t, dir, args...)
		m := secretLine.FindStringSubmatch(r.stdout)
		if r.code != 0 || m == nil || m[1] != "(sensitive value)" {
			t.Errorf("%s: the secret line is %q, want (sensitive value)\n%s", strings.Join(args, " "), m, r)
		}
	}
	r := sdform(t, dir, "show", "-json")
	var st struct {
		Resources []struct {
			Values          map[string]any `json:"values"`
			SensitiveValues any            `json:"sensitive_values"`
		} `json:"resources"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &st); err != nil || len(st.Resources) != 1 {
		t.Fatalf("show -json: %v\n%s", err, r)
	}
	if v := st.Resources[0].Values["secret"]; v != "(sensitive value)" {
		t.Errorf("show -json: secret = %v", v)
	}
	if s, ok := st.Resources[0].SensitiveValues.(map[string]any); !ok || s["secret"] != true {
		t.Errorf("show -json: sensitive_values = %#v, want {secret: true}", st.Resources[0].SensitiveValues)
	}

	// Change the secret in the test provider's world, as someone outside
	// sdform would.
	world, err := filepath.Glob(filepath.Join(dir, ".sdform", "testworld", "*.json"))
	if err != nil || len(world) != 1 {
		t.Fatalf("test world: %v %v", world, err)
	}
	b, err := os.ReadFile(world[0])
	if err != nil {
		t.Fatal(err)
	}
	changed := strings.Replace(string(b), `"secret":"hunter2"`, `"secret":"changed"`, 1)
	if changed == string(b) {
		t.Fatalf("the world file does not hold the secret as expected: %s", b)
	}
	if err := os.WriteFile(world[0], []byte(changed), 0o644); err != nil {
		t.Fatal(err)
	}

	r = sdform(t, dir, "plan")
	drift, _, _ := strings.Cut(r.stdout, "The plan below")
	if r.code != 0 || !strings.Contains(drift, "# test_thing.a has changed") || !strings.Contains(drift, "~ secret = (sensitive value)\n") {
		t.Errorf("plan: the drift block does not show the secret as (sensitive value)\n%s", r)
	}
	if hmac.MatchString(drift) {
		t.Errorf("plan: the drift block prints a redacted secret\n%s", r)
	}
	r = sdform(t, dir, "plan", "-json")
	var p struct {
		ResourceDrift []struct {
			Before          map[string]any `json:"before"`
			BeforeSensitive any            `json:"before_sensitive"`
			AfterSensitive  any            `json:"after_sensitive"`
		} `json:"resource_drift"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &p); err != nil || len(p.ResourceDrift) != 1 {
		t.Fatalf("plan -json: %v\n%s", err, r)
	}
	d := p.ResourceDrift[0]
	for name, m := range map[string]any{"before_sensitive": d.BeforeSensitive, "after_sensitive": d.AfterSensitive} {
		if s, ok := m.(map[string]any); !ok || s["secret"] != true {
			t.Errorf("plan -json: resource_drift[0].%s = %#v, want {secret: true}", name, m)
		}
	}
	if d.Before["secret"] != "(sensitive value)" {
		t.Errorf("plan -json: resource_drift[0].before.secret = %v", d.Before["secret"])
	}
}
