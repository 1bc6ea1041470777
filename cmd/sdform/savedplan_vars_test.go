package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestSavedPlanVariables checks -var and -var-file on `apply PLANFILE`: a
// saved plan applies the values it was made with, so an option that would
// change a non-sensitive variable is refused (not silently ignored), one
// that repeats the plan's value is accepted, and sensitive variables, which
// the plan does not store, are given again.
func TestSavedPlanVariables(t *testing.T) {
	const config = `variable "n" {
  default = "one"
}

variable "tok" {
  sensitive = true
}

resource "test_thing" "a" {
  name   = var.n
  secret = var.tok
}
`
	tests := map[string]struct {
		plan     []string // plan's variable options; -var n=seven -var tok=s3cret when nil
		args     []string
		code     int
		stderr   []string
		wantName string // test_thing.a's name after apply; "" when nothing may be applied
	}{
		"-var changes a variable": {
			args: []string{"-var", "n=eight", "-var", "tok=s3cret"}, code: 1,
			stderr: []string{"Cannot change a variable of a saved plan", `var.n = "seven", and -var sets it to "eight"`},
		},
		"-var-file changes a variable": {
			args: []string{"-var-file", "other.sdfvars", "-var", "tok=s3cret"}, code: 1,
			stderr: []string{"Cannot change a variable of a saved plan", `var.n = "seven", and -var-file sets it to "nine"`},
		},
		"-var repeats the plan's value": {
			args: []string{"-var", "n=seven", "-var", "tok=s3cret"}, wantName: "seven",
		},
		"sensitive variable given again": {
			args: []string{"-var", "tok=s3cret"}, wantName: "seven",
		},
		// The plan's digest covers the variables files it read, so the
		// same file is given to both.
		"the plan's variables file given again": {
			plan: []string{"-var-file", "vars.sdfvars"},
			args: []string{"-var-file", "vars.sdfvars"}, wantName: "seven",
		},
		"sensitive variable with another value": {
			args: []string{"-var", "tok=other"}, code: 1, stderr: []string{"saved plan is stale"},
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			dir := configDir(t, map[string]string{
				"main.sdf.hcl":  config,
				"other.sdfvars": "n = \"nine\"\n",
				"vars.sdfvars":  "n   = \"seven\"\ntok = \"s3cret\"\n",
			})
			planArgs := tc.plan
			if planArgs == nil {
				planArgs = []string{"-var", "n=seven", "-var", "tok=s3cret"}
			}
			if r := sdform(t, dir, append(append([]string{"plan"}, planArgs...), "-out=p.plan")...); r.code != 0 {
				t.Fatalf("plan: %s", r)
			}
			r := sdform(t, dir, append(append([]string{"apply"}, tc.args...), "p.plan")...)
			if r.code != tc.code {
				t.Fatalf("exit %d, want %d\n%s", r.code, tc.code, r)
			}
			for _, want := range tc.stderr {
				if !strings.Contains(r.stderr, want) {
					t.Errorf("stderr lacks %q\n%s", want, r)
				}
			}
			if strings.Contains(r.stdout+r.stderr, "s3cret") {
				t.Errorf("a sensitive value was printed\n%s", r)
			}
			if tc.wantName == "" {
				if _, err := os.Stat(filepath.Join(dir, ".sdform", "state.json")); !os.IsNotExist(err) {
					t.Errorf("a refused apply wrote state (%v)", err)
				}
				return
			}
			r = sdform(t, dir, "state", "show", "test_thing.a")
			if !strings.Contains(r.stdout, `name     = "`+tc.wantName+`"`) {
				t.Errorf("state after apply, want name %q:\n%s", tc.wantName, r)
			}
		})
	}
}

// A saved plan made with a null variable applies: the value travels typed,
// not as the text "null" (which a number or a validation would refuse).
func TestSavedPlanNullVariables(t *testing.T) {
	for name, cfg := range map[string]string{
		"number": `variable "n" {
  type    = number
  default = null
}
resource "test_thing" "a" {
  name = var.n == null ? "none" : tostring(var.n)
}
`,
		"validated string": `variable "t" {
  type    = string
  default = null
  validation {
    condition     = var.t == null || length(var.t) > 5
    error_message = "t must be longer than 5 characters."
  }
}
resource "test_thing" "a" {
  name = var.t == null ? "none" : var.t
}
`,
	} {
		t.Run(name, func(t *testing.T) {
			dir := configDir(t, map[string]string{"main.sdf.hcl": cfg})
			if r := sdform(t, dir, "plan", "-out=p"); r.code != 0 {
				t.Fatal(r)
			}
			if r := sdform(t, dir, "apply", "p"); r.code != 0 {
				t.Errorf("apply of an untouched saved plan: %s", r)
			}
		})
	}
}
