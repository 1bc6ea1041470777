package planner_test

import (
	"context"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/hcl/v2"
	"github.com/sdform/sdform/internal/testprovider"
	"github.com/sdform/sdform/internal/view"
	"github.com/sdform/sdform/lang"
	"github.com/sdform/sdform/planner"
	"github.com/sdform/sdform/planner/plan"
	"github.com/sdform/sdform/planner/state"
	"github.com/sdform/sdform/providers"
)

// planFuzzSeeds are configurations for the test provider, valid and
// broken; `go test` plans each once, `go test -fuzz=FuzzPlan` mutates them.
var planFuzzSeeds = []string{
	"",
	`resource "test_thing" "a" { name = "a" }`,
	`variable "variant" {
  type    = string
  default = "fp8"
  validation {
    condition     = contains(["fp8", "fp16"], var.variant)
    error_message = "variant must be fp8 or fp16."
  }
}
variable "token" {
  type      = string
  sensitive = true
  default   = "s3cret"
}
locals {
  names = { for i, n in ["a", "b"] : n => "${n}-${i}-${var.variant}" }
}
data "test_data" "d" { input = local.names["a"] }
resource "test_thing" "img" {
  name    = data.test_data.d.value
  variant = var.variant
  args    = { V = var.variant, N = tostring(length(local.names)) }
  secret  = var.token
  tags    = [for k, v in local.names : v if k != "b"]
  step {
    name = "s1"
    run  = "echo ${var.variant}"
  }
  port "http" { number = 8188 }
  lifecycle {
    ignore_changes = [tags]
  }
}
resource "test_test" "t" { target = test_thing.img.id }
resource "test_thing" "b" {
  name       = test_thing.img.out
  depends_on = [test_test.t]
  lifecycle {
    replace_triggered_by = [test_thing.img.digest]
    prevent_destroy      = true
  }
}
check "size" {
  assert {
    condition     = length(test_thing.img.name) > 2
    error_message = "name ${test_thing.img.name} too short"
    severity      = "warning"
  }
}
output "id" { value = test_thing.img.id }
output "token" {
  value     = var.token
  sensitive = true
}`,
	`resource "test_thing" "a" { name = test_thing.b.id }
resource "test_thing" "b" { name = local.x }
locals { x = test_thing.a.id }`,
	`provider "test" { label = "bad" }
resource "test_thing" "a" {}`,
	`provider "test" { label = test_thing.a.id }
resource "test_thing" "a" {}`,
	`locals {
  inf = 1 / 0
  a   = local.inf % 2
}
resource "test_thing" "a" {
  name = tostring(local.a)
  args = { (tostring(local.inf)) = "x" }
}
output "o" { value = [for x in [1, 2] : x / 0] }
check "c" {
  assert {
    condition     = (1 / 0) % 2 == 1
    error_message = "${(1 / 0) % 2}"
  }
}`,
	`resource "test_thing" "z" { input_file = "/dev/zero" }
resource "test_thing" "a" {
  input_file = "main.sdf.hcl"
  args       = { INVALID = "1" }
  step {
    name = "x"
    run  = "bad"
  }
  id = "set by hand"
}
data "test_data" "d" {}
resource "test_nope" "x" {}
resource "nope_thing" "y" {}`,
	`variable "m" {
  type    = map(object({ a = optional(number, 1), b = list(string) }))
  default = { k = { b = ["x"] } }
}
resource "test_thing" "a" {
  args = { for k, v in var.m : k => join(",", v.b) }
  tags = flatten([for v in values(var.m) : v.b])
  name = try(var.m["nope"].a, "fallback")
}
output "m" { value = var.m }`,
	`resource "test_thing" "a" { secret = sensitive("x") }
output "leak" { value = test_thing.a.secret }
output "ok" { value = nonsensitive(test_thing.a.secret) }`,
	`resource "test_thing" "a" {
  secret = sensitive("x")
  tags   = [sensitive("t"), "u"]
}
data "test_data" "d" { input = test_thing.a.secret }
output "s" {
  value     = [test_thing.a.secret, data.test_data.d.secret_value]
  sensitive = true
}`,
}

// FuzzPlan feeds configurations to the engine with the test provider:
// validate, plan, render the plan, apply it and plan again (refresh and
// diff against what apply recorded). Whatever the input, each step must end
// in diagnostics or a result, never a panic.
func FuzzPlan(f *testing.F) {
	for _, s := range planFuzzSeeds {
		f.Add(s)
	}
	// One directory for every input of this process (inputs run one after
	// the other): a fresh TempDir per input would slow the fuzzer down.
	dir := f.TempDir()
	dataDir := filepath.Join(dir, ".sdform")
	reg := providers.NewRegistry(map[string]providers.Factory{"test": testprovider.New})
	f.Fuzz(func(t *testing.T, src string) {
		if err := os.RemoveAll(dataDir); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, "main.sdf.hcl"), []byte(src), 0o644); err != nil {
			t.Fatal(err)
		}
		cfg, diags := lang.Load(dir)
		if diags.HasErrors() {
			return
		}
		vals, diags := cfg.VariableValues(lang.VarInputs{Env: []string{"SDF_VAR_variant=fp8", "SDF_VAR_x=1"}})
		if diags.HasErrors() {
			return
		}
		// A fuzzed sleep or a large input file must not stall the
		// fuzzer; the walk is cancelled after a while instead.
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		c := planner.NewContext(cfg, vals, reg, providers.Env{ConfigDir: dir, DataDir: dataDir}, planner.ContextOptions{})
		defer c.Close()
		checkDiags(t, c.Validate(ctx))
		if _, d := c.Graph(); d.HasErrors() {
			return
		}

		st := state.New()
		p, d := c.Plan(ctx, st, plan.Options{Refresh: true})
		checkDiags(t, d)
		if d.HasErrors() || p == nil {
			return
		}
		if err := view.Plan(io.Discard, p, view.Options{}); err != nil {
			t.Fatalf("render plan: %v", err)
		}
		if strings.Contains(src, "sleep") {
			return // apply would wait for a fuzzed duration
		}
		res, d := c.Apply(ctx, p, st, nil, planner.Hooks{})
		checkDiags(t, d)
		if res == nil {
			t.Fatal("Apply returned no result")
		}
		p, d = c.Plan(ctx, st, plan.Options{Refresh: true})
		checkDiags(t, d)
		if p != nil {
			if err := view.Plan(io.Discard, p, view.Options{}); err != nil {
				t.Fatalf("render second plan: %v", err)
			}
		}
	})
}

// checkDiags fails on diagnostics the user could not act on: an error
// without a summary, or one carrying a Go stack trace.
func checkDiags(t *testing.T, diags hcl.Diagnostics) {
	t.Helper()
	for _, d := range diags {
		if d.Severity == hcl.DiagError && d.Summary == "" {
			t.Errorf("error without a summary: %+v", d)
		}
		if strings.Contains(d.Detail, "goroutine ") {
			t.Errorf("stack trace in diagnostic %q: %s", d.Summary, d.Detail)
		}
	}
	if err := hcl.NewDiagnosticTextWriter(io.Discard, nil, 78, false).WriteDiagnostics(diags); err != nil {
		t.Fatalf("render diagnostics: %v", err)
	}
}
