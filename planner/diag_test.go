package planner_test

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hashicorp/hcl/v2"
	"github.com/sdform/sdform/planner/plan"
)

func TestCycles(t *testing.T) {
	tests := map[string]struct {
		cfg  string
		want []string // one summary per cycle
		line int      // of the first member's declaration
	}{
		"two locals": {
			cfg: `locals {
  a = local.b
  b = local.a
}`,
			want: []string{"Cycle: local.a → local.b → local.a"},
			line: 2,
		},
		"locals and a resource": {
			cfg: `locals {
  a = local.b
  b = test_thing.x.out
}
resource "test_thing" "x" {
  name = local.a
}`,
			want: []string{"Cycle: local.a → local.b → test_thing.x → local.a"},
			line: 2,
		},
		"a local that refers to itself": {
			cfg:  "locals {\n  a = \"${local.a}x\"\n}",
			want: []string{"Cycle: local.a → local.a"},
			line: 2,
		},
		"depends_on closes the loop": {
			cfg: `resource "test_thing" "x" {
  depends_on = [test_thing.y]
}
resource "test_thing" "y" {
  name = test_thing.x.out
}`,
			want: []string{"Cycle: test_thing.x → test_thing.y → test_thing.x"},
			line: 1,
		},
		"two separate cycles": {
			cfg: `locals {
  a = local.b
  b = local.a
  c = local.d
  d = local.c
}`,
			want: []string{"Cycle: local.a → local.b → local.a", "Cycle: local.c → local.d → local.c"},
			line: 2,
		},
		"a component that is not one simple loop": {
			cfg: `locals {
  a = [local.b, local.c]
  b = local.a
  c = local.a
}`,
			want: []string{"Cycle: local.a → local.b → local.a → local.c → local.a"},
			line: 2,
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			f := newFixture(t, map[string]string{"main.sdf.hcl": tc.cfg})
			c := f.context()
			_, diags := c.Graph()
			var got []string
			var first *hcl.Diagnostic
			for _, d := range diags {
				if strings.HasPrefix(d.Summary, "Cycle: ") {
					got = append(got, d.Summary)
					if first == nil {
						first = d
					}
					if d.Severity != hcl.DiagError {
						t.Errorf("%s is not an error", d.Summary)
					}
				}
			}
			if strings.Join(got, "\n") != strings.Join(tc.want, "\n") {
				t.Fatalf("cycles:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(tc.want, "\n"))
			}
			if first.Subject == nil || filepath.Base(first.Subject.Filename) != "main.sdf.hcl" || first.Subject.Start.Line != tc.line {
				t.Errorf("subject = %v, want main.sdf.hcl:%d", first.Subject, tc.line)
			}
			if !strings.Contains(first.Detail, "refers to") {
				t.Errorf("detail does not say which reference: %s", first.Detail)
			}
			// Plan refuses too, without calling any provider.
			_, pd := c.Plan(context.Background(), f.state(), defaultOpts())
			if !pd.HasErrors() || len(f.prov.EventsOf("plan")) != 0 {
				t.Errorf("plan went ahead despite the cycle: %s", diagString(pd))
			}
		})
	}
}

// TestConfigDiagnostics checks diagnostics about what the user wrote: their
// wording and where they point.
func TestConfigDiagnostics(t *testing.T) {
	tests := map[string]struct {
		cfg     string
		files   map[string]string
		summary string // substring of summary or detail
		file    string // base name of the subject's file
		line    int
	}{
		"undefined local": {
			cfg:     "resource \"test_thing\" \"a\" {\n  name = local.nope\n}",
			summary: "Reference to undeclared local value", file: "main.sdf.hcl", line: 2,
		},
		"undefined resource with suggestion": {
			cfg:     "resource \"test_thing\" \"abc\" {}\nresource \"test_thing\" \"b\" {\n  name = test_thing.abd.out\n}",
			summary: "Did you mean test_thing.abc?", file: "main.sdf.hcl", line: 3,
		},
		"no provider for the type": {
			cfg:     "resource \"foo_bar\" \"a\" {}",
			summary: `There is no provider "foo" for the type foo_bar`, file: "main.sdf.hcl", line: 1,
		},
		"unknown type of a known provider": {
			cfg:     "resource \"test_thingy\" \"a\" {}",
			summary: "Did you mean test_thing?", file: "main.sdf.hcl", line: 1,
		},
		"unknown argument": {
			cfg:     "resource \"test_thing\" \"a\" {\n  nmae = \"x\"\n}",
			summary: "Unsupported argument", file: "main.sdf.hcl", line: 2,
		},
		"read-only attribute": {
			cfg:     "resource \"test_thing\" \"a\" {\n  name = \"x\"\n  id   = \"mine\"\n}",
			summary: "id is set by the provider", file: "main.sdf.hcl", line: 3,
		},
		"provider diagnostic at a map key": {
			cfg:     "resource \"test_thing\" \"a\" {\n  args = {\n    OK      = \"1\"\n    INVALID = \"2\"\n  }\n}",
			summary: "test_thing.a: Invalid build arg", file: "main.sdf.hcl", line: 4,
		},
		"provider diagnostic in a nested block": {
			cfg:     "resource \"test_thing\" \"a\" {\n  step {\n    name = \"1\"\n  }\n  step {\n    name = \"2\"\n    run  = \"bad\"\n  }\n}",
			summary: "test_thing.a: Bad step", file: "main.sdf.hcl", line: 7,
		},
		"provider diagnostic in another file": {
			cfg:     "resource \"test_thing\" \"a\" {\n  input_file = \"in.txt\"\n}",
			files:   map[string]string{"in.txt": "fine\nERROR here\n"},
			summary: "test_thing.a: Input file error", file: "in.txt", line: 2,
		},
		"provider configuration": {
			cfg:     "provider \"test\" {\n  label = \"bad\"\n}\nresource \"test_thing\" \"a\" {}",
			summary: "provider test: Bad label", file: "main.sdf.hcl", line: 2,
		},
		"sensitive value in a plain output": {
			cfg:     "variable \"s\" {\n  sensitive = true\n  default = \"x\"\n}\noutput \"o\" {\n  value = var.s\n}",
			summary: "Output refers to sensitive values", file: "main.sdf.hcl", line: 5,
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			files := map[string]string{"main.sdf.hcl": tc.cfg}
			for k, v := range tc.files {
				files[k] = v
			}
			f := newFixture(t, files)
			c, diags := f.tryContext()
			if !diags.HasErrors() {
				_, d := c.Plan(context.Background(), f.state(), defaultOpts())
				diags = append(diags, d...)
			}
			var found *hcl.Diagnostic
			for _, d := range diags {
				if d.Severity == hcl.DiagError && (strings.Contains(d.Summary, tc.summary) || strings.Contains(d.Detail, tc.summary)) {
					found = d
				}
			}
			if found == nil {
				t.Fatalf("no error with %q in:\n%s", tc.summary, diagString(diags))
			}
			if found.Subject == nil || filepath.Base(found.Subject.Filename) != tc.file || found.Subject.Start.Line != tc.line {
				t.Errorf("subject = %v, want %s:%d", found.Subject, tc.file, tc.line)
			}
		})
	}
}

func TestValidate(t *testing.T) {
	f := newFixture(t, map[string]string{"main.sdf.hcl": `
variable "v" { type = string }
resource "test_thing" "a" {
  name = var.v
  args = { INVALID = "x" }
}
resource "test_thing" "b" {
  name = test_thing.a.id
  out  = "x"
}
resource "test_thing" "ok" {}
output "o" { value = nosuchfunc(test_thing.b.id) }
check "c" {
  assert {
    condition     = test_thing.ok.nope == 1
    error_message = "x"
  }
}
`})
	c := f.context("v=1")
	diags := c.Validate(context.Background())
	for _, want := range []string{"Invalid build arg", "out is set by the provider", "nosuchfunc", "Unsupported attribute"} {
		if !hasDiag(diags, hcl.DiagError, want) {
			t.Errorf("validate missed %q: %s", want, diagString(diags))
		}
	}
	if n := f.prov.Configured(); n != 0 {
		t.Errorf("validate configured the provider %d times", n)
	}
}

func TestUnknownValuesFlowDownstream(t *testing.T) {
	f := newFixture(t, map[string]string{"main.sdf.hcl": `
resource "test_thing" "a" { name = "a" }
resource "test_thing" "b" { name = test_thing.a.id }
data "test_data" "d" { input = test_thing.a.id }
data "test_data" "early" { input = "now" }
output "id" { value = test_thing.a.id }
output "early" { value = data.test_data.early.value }
`})
	c := f.context()
	st := f.state()
	p, diags := c.Plan(context.Background(), st, defaultOpts())
	if diags.HasErrors() {
		t.Fatal(diagString(diags))
	}
	b := change(t, p, "test_thing.b")
	if n := attr(b.After, "name"); n.IsKnown() {
		t.Errorf("test_thing.b name = %#v, want unknown (known after apply)", n)
	}
	d := change(t, p, "data.test_data.d")
	if d.Action != plan.Read || !strings.Contains(d.Reason, "known only after apply") || attr(d.After, "value").IsKnown() {
		t.Errorf("data.test_data.d = %s %q value %#v, want a deferred read", d.Action, d.Reason, attr(d.After, "value"))
	}
	if e := change(t, p, "data.test_data.early"); e.Action != plan.NoOp || attr(e.After, "value").AsString() != "data:now" {
		t.Errorf("data.test_data.early = %s %#v, want read during plan", e.Action, attr(e.After, "value"))
	}
	outs := map[string]*plan.Output{}
	for _, o := range p.Outputs {
		outs[o.Name] = o
	}
	if outs["id"] == nil || outs["id"].After.IsKnown() || outs["early"] == nil || outs["early"].After.AsString() != "data:now" {
		t.Errorf("outputs = %#v", p.Outputs)
	}
	res, diags := c.Apply(context.Background(), p, st, f.persist, noopHooks())
	if diags.HasErrors() || len(res.Failed) > 0 {
		t.Fatalf("apply: %s %v", diagString(diags), res.Errors)
	}
	id := attr(f.state().Resource("test_thing.a").Value, "id").AsString()
	if got := attr(f.state().Resource("test_thing.b").Value, "name").AsString(); got != id {
		t.Errorf("test_thing.b name = %q, want test_thing.a's id %q", got, id)
	}
	if got := attr(f.state().Resource("data.test_data.d").Value, "value").AsString(); got != "data:"+id {
		t.Errorf("deferred read value = %q", got)
	}
	if !contains(res.Succeeded, "data.test_data.d") {
		t.Errorf("deferred read not reported: %v", res.Succeeded)
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// TestDiagnosticsInSourceOrder validates and plans a configuration with a
// mistake in several resources, which the parallel walk finds in any order:
// the diagnostics must come back in source order every time.
func TestDiagnosticsInSourceOrder(t *testing.T) {
	var cfg strings.Builder
	for i := range 8 {
		fmt.Fprintf(&cfg, "resource \"test_thing\" \"r%d\" {\n  tags = \"not a list %d\"\n}\n", i, i)
	}
	f := newFixture(t, map[string]string{"main.sdf.hcl": cfg.String()})
	for i := range 20 {
		for what, diags := range map[string]hcl.Diagnostics{
			"validate": f.context().Validate(context.Background()),
			"plan": func() hcl.Diagnostics {
				_, d := f.context().Plan(context.Background(), f.state(), defaultOpts())
				return d
			}(),
		} {
			if len(diags) != 8 {
				t.Fatalf("%s: %d diagnostics, want 8: %s", what, len(diags), diagString(diags))
			}
			for j := 1; j < len(diags); j++ {
				if diags[j].Subject.Start.Byte < diags[j-1].Subject.Start.Byte {
					t.Fatalf("%s, run %d: diagnostics out of source order:\n%s", what, i, diagString(diags))
				}
			}
		}
	}
}

// TestMisspelledProviderPrefix writes a type whose prefix names no
// provider: the diagnostic says which providers exist and suggests the
// closest type among all of theirs.
func TestMisspelledProviderPrefix(t *testing.T) {
	f := newFixture(t, map[string]string{"main.sdf.hcl": `resource "tset_thing" "y" {}`})
	diags := f.context().Validate(context.Background())
	if len(diags) != 1 || diags[0].Summary != "No provider for type tset_thing" {
		t.Fatalf("diagnostics: %s", diagString(diags))
	}
	d := diags[0].Detail
	for _, want := range []string{"known providers: test", "Did you mean test_thing?"} {
		if !strings.Contains(d, want) {
			t.Errorf("detail %q does not say %q", d, want)
		}
	}
	if d[0] < 'A' || d[0] > 'Z' {
		t.Errorf("detail is not a sentence: %q", d)
	}
}
