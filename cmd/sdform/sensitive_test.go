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

// TestSecretRepeatedByProvider: a provider hands back and prints what it
// was given, with no sensitive mark: test_thing's out is "out-" + name, its
// progress line and its failure quote the name. A sensitive variable's
// value must still reach no output, message, state or saved plan in clear.
func TestSecretRepeatedByProvider(t *testing.T) {
	const secret = "tok-3e8f1c"
	cfg := `variable "tok" {
  type      = string
  sensitive = true
}
resource "test_thing" "a" {
  name = var.tok
  fail = var.fail
}
variable "fail" {
  type    = bool
  default = false
}
`
	dir := configDir(t, map[string]string{"main.sdf.hcl": cfg})
	t.Setenv("SDF_VAR_tok", secret)
	noSecret := func(what, text string) {
		t.Helper()
		if strings.Contains(text, secret) {
			t.Errorf("%s holds the secret:\n%s", what, text)
		}
	}

	r := sdform(t, dir, "apply", "-auto-approve", "-var", "fail=true")
	if r.code != 1 || !strings.Contains(r.stdout+r.stderr, `(name "(sensitive value)") was told to fail`) {
		t.Fatalf("failing apply: %s", r)
	}
	noSecret("failing apply", r.stdout+r.stderr)

	r = sdform(t, dir, "apply", "-auto-approve")
	if r.code != 0 || !strings.Contains(r.stdout, `making "(sensitive value)"`) {
		t.Fatalf("apply: %s", r)
	}
	noSecret("apply", r.stdout+r.stderr)
	b, err := os.ReadFile(filepath.Join(dir, ".sdform", "state.json"))
	if err != nil {
		t.Fatal(err)
	}
	noSecret("state.json", string(b))
	for _, args := range [][]string{{"show"}, {"show", "-json"}, {"state", "show", "test_thing.a"}} {
		r := sdform(t, dir, args...)
		if r.code != 0 || !strings.Contains(r.stdout, "(sensitive value)") {
			t.Errorf("%s: %s", strings.Join(args, " "), r)
		}
		noSecret(strings.Join(args, " "), r.stdout+r.stderr)
	}

	// A new secret: the plan shows the change without either value, and
	// the saved plan holds neither.
	t.Setenv("SDF_VAR_tok", secret+"-2")
	r = sdform(t, dir, "plan", "-out=p.plan")
	if r.code != 0 || !strings.Contains(r.stdout, "1 to update") {
		t.Fatalf("plan: %s", r)
	}
	noSecret("plan", r.stdout+r.stderr)
	if b, err := os.ReadFile(filepath.Join(dir, "p.plan")); err != nil || strings.Contains(string(b), secret) {
		t.Errorf("saved plan holds the secret (%v)", err)
	}
}
