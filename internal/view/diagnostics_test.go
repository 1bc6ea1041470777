package view

import (
	"bytes"
	"strings"
	"testing"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
)

// TestDiagnosticLocation checks the location line of human diagnostics:
// file:line:column (what editors and terminals make clickable), the
// enclosing block kept, the snippet kept, and nothing added to a
// diagnostic that points nowhere.
func TestDiagnosticLocation(t *testing.T) {
	src := "resource \"test_thing\" \"a\" {\n  nmae = 1\n}\n"
	f, diags := hclsyntax.ParseConfig([]byte(src), "main.sdf.hcl", hcl.InitialPos)
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	files := map[string]*hcl.File{"main.sdf.hcl": f}
	nmae := f.Body.(*hclsyntax.Body).Blocks[0].Body.Attributes["nmae"].NameRange
	tests := map[string]struct {
		diag  *hcl.Diagnostic
		color bool
		want  []string
		not   []string
	}{
		"subject in a loaded file": {
			diag: &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Unsupported argument", Detail: "Did you mean \"name\"?", Subject: &nmae},
			want: []string{"Error: Unsupported argument\n\n  on main.sdf.hcl:2:3, in resource \"test_thing\" \"a\":\n   2:   nmae = 1\n"},
			not:  []string{" line 2"},
		},
		"colour": {
			diag:  &hcl.Diagnostic{Severity: hcl.DiagWarning, Summary: "Odd", Detail: "Odd.", Subject: &nmae},
			color: true,
			want:  []string{"\n\n  on main.sdf.hcl:2:3, in resource \"test_thing\" \"a\":\n"},
		},
		"summary that looks like a location": {
			diag: &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "x\n\n  on main.sdf.hcl line 2", Detail: "D.", Subject: &nmae},
			want: []string{"Error: x\n\n  on main.sdf.hcl line 2\n\n  on main.sdf.hcl:2:3, in resource"},
		},
		"file not loaded": {
			diag: &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Gone", Detail: "D.",
				Subject: &hcl.Range{Filename: "other.sdf.hcl", Start: hcl.Pos{Line: 3, Column: 7, Byte: 20}, End: hcl.Pos{Line: 3, Column: 9, Byte: 22}}},
			want: []string{"  on other.sdf.hcl:3:7:\n  (source code not available)\n"},
		},
		"line without a column": {
			diag: &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Gone", Detail: "D.",
				Subject: &hcl.Range{Filename: "other.sdf.hcl", Start: hcl.Pos{Line: 3}, End: hcl.Pos{Line: 3}}},
			want: []string{"  on other.sdf.hcl:3:\n"},
		},
		"no subject": {
			diag: &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "No configuration files", Detail: "There is none."},
			want: []string{"Error: No configuration files\n\nThere is none.\n\n"},
			not:  []string{" on "},
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			var buf bytes.Buffer
			if err := Diagnostics(&buf, hcl.Diagnostics{tc.diag}, files, Options{Width: 78, Color: tc.color}); err != nil {
				t.Fatal(err)
			}
			out := buf.String()
			for _, w := range tc.want {
				if !strings.Contains(out, w) {
					t.Errorf("output lacks %q:\n%s", w, out)
				}
			}
			for _, n := range tc.not {
				if strings.Contains(out, n) {
					t.Errorf("output has %q:\n%s", n, out)
				}
			}
		})
	}
}

// Several diagnostics are written one after the other, each with its own
// location.
func TestDiagnosticsSeveral(t *testing.T) {
	files, diags := sampleDiagnostics(t)
	var buf bytes.Buffer
	if err := Diagnostics(&buf, diags, files, Options{}); err != nil {
		t.Fatal(err)
	}
	out := buf.String()
	for _, w := range []string{"on main.sdf.hcl:6:3, in resource", "on main.sdf.hcl:7:12, in resource", "on other.sdf.hcl:3:1:"} {
		if !strings.Contains(out, w) {
			t.Errorf("output lacks %q:\n%s", w, out)
		}
	}
	if n := strings.Count(out, "Error: ") + strings.Count(out, "Warning: "); n != len(diags) {
		t.Errorf("%d diagnostics written, want %d:\n%s", n, len(diags), out)
	}
}
