package view

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hashicorp/hcl/v2"
)

// A provider names a Dockerfile line; the human output must show that line
// as a snippet, and -json must carry it, without the caller loading the file.
func TestDiagnosticsShowProviderFileLines(t *testing.T) {
	dir := t.TempDir()
	t.Chdir(dir)
	if err := os.MkdirAll(filepath.Join(dir, "docker"), 0o755); err != nil {
		t.Fatal(err)
	}
	src := "FROM busybox\nARG X\nRUN exit 1\n"
	if err := os.WriteFile(filepath.Join(dir, "docker", "Dockerfile"), []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	d := &hcl.Diagnostic{
		Severity: hcl.DiagError,
		Summary:  "docker_image.x: build failed",
		Detail:   "RUN exit 1 returned 1.",
		Subject:  &hcl.Range{Filename: "docker/Dockerfile", Start: hcl.Pos{Line: 3, Column: 1}, End: hcl.Pos{Line: 3, Column: 1}},
	}
	var out bytes.Buffer
	if err := Diagnostics(&out, hcl.Diagnostics{d}, map[string]*hcl.File{}, Options{Width: 78}); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "3: RUN exit 1") || strings.Contains(out.String(), "source code not available") {
		t.Errorf("no snippet of Dockerfile line 3:\n%s", out.String())
	}
	if d.Subject.Start.Byte != 0 {
		t.Errorf("the caller's diagnostic was changed: %+v", d.Subject)
	}
	js := NewJSONDiagnostics(hcl.Diagnostics{d}, nil)
	if js[0].Snippet == nil || js[0].Snippet.Code != "RUN exit 1" || js[0].Snippet.StartLine != 3 {
		t.Errorf("JSON snippet = %+v", js[0].Snippet)
	}
}

func TestLineBytes(t *testing.T) {
	src := []byte("a\nbb\n\nccc")
	for n, want := range map[int]string{1: "a", 2: "bb", 3: "", 4: "ccc"} {
		s, e, ok := lineBytes(src, n)
		if !ok || string(src[s:e]) != want {
			t.Errorf("line %d = %q (ok %v), want %q", n, src[s:e], ok, want)
		}
	}
	if _, _, ok := lineBytes(src, 5); ok {
		t.Error("line 5 of a 4-line file found")
	}
}
