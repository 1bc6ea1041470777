package lang

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hashicorp/hcl/v2"
)

var update = flag.Bool("update", false, "rewrite golden files under testdata/")

// writeDir writes files (name → content) into a fresh temporary directory.
func writeDir(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, content := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// renderDiags renders diagnostics as the CLI does, with snippets. File
// names and messages are made relative to dir first, so that golden files
// (and their line wrapping) do not depend on the temporary directory.
func renderDiags(t *testing.T, files map[string]*hcl.File, diags hcl.Diagnostics, dir string) string {
	t.Helper()
	rel := func(s string) string {
		if dir == "" {
			return s
		}
		s = strings.ReplaceAll(s, dir+string(filepath.Separator), "")
		return strings.ReplaceAll(s, dir, "$DIR")
	}
	relRange := func(r *hcl.Range) *hcl.Range {
		if r == nil {
			return nil
		}
		c := *r
		c.Filename = rel(c.Filename)
		return &c
	}
	relFiles := map[string]*hcl.File{}
	for name, f := range files {
		relFiles[rel(name)] = f
	}
	var relDiags hcl.Diagnostics
	for _, d := range diags {
		c := *d
		c.Summary, c.Detail = rel(c.Summary), rel(c.Detail)
		c.Subject, c.Context = relRange(c.Subject), relRange(c.Context)
		relDiags = append(relDiags, &c)
	}
	var buf bytes.Buffer
	w := hcl.NewDiagnosticTextWriter(&buf, relFiles, 78, false)
	if err := w.WriteDiagnostics(relDiags); err != nil {
		t.Fatal(err)
	}
	return buf.String()
}

// golden compares got with testdata/NAME.golden, or rewrites it under
// -update.
func golden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name+".golden")
	if *update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("read golden file (run go test ./lang -update to create it): %v", err)
	}
	if got != string(want) {
		t.Errorf("output differs from %s (run with -update after checking the change):\n--- got\n%s\n--- want\n%s", path, got, want)
	}
}

// summaries lists "severity: summary" of each diagnostic, for assertions
// that do not need the full text.
func summaries(diags hcl.Diagnostics) []string {
	var out []string
	for _, d := range diags {
		sev := "error"
		if d.Severity == hcl.DiagWarning {
			sev = "warning"
		}
		out = append(out, sev+": "+d.Summary)
	}
	return out
}
