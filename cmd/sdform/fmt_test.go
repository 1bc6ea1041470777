package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const unformatted = `resource "test_thing" "a" {
name = "a"
  variant   =    "${var.v}"
}

variable "v" {
    default = "x"
}
`

func TestFmt(t *testing.T) {
	t.Run("check and diff", func(t *testing.T) {
		dir := configDir(t, map[string]string{"main.sdf.hcl": unformatted, "ok.sdf.hcl": "variable \"w\" {}\n"})
		r := sdform(t, dir, "fmt", "-check", "-diff")
		if r.code != 3 {
			t.Fatalf("fmt -check on an unformatted file: want exit 3\n%s", r)
		}
		golden(t, "fmt-check-diff", normalize(r.String(), dir))
		if data, _ := os.ReadFile(filepath.Join(dir, "main.sdf.hcl")); string(data) != unformatted {
			t.Error("fmt -check changed the file")
		}
	})
	t.Run("write then check", func(t *testing.T) {
		dir := configDir(t, map[string]string{"main.sdf.hcl": unformatted})
		r := sdform(t, dir, "fmt")
		if r.code != 0 || r.stdout != "main.sdf.hcl\n" {
			t.Fatalf("fmt: %s", r)
		}
		data, _ := os.ReadFile(filepath.Join(dir, "main.sdf.hcl"))
		if !strings.Contains(string(data), "  variant = var.v\n") {
			t.Errorf("formatted file:\n%s", data)
		}
		if r := sdform(t, dir, "fmt", "-check"); r.code != 0 || r.stdout != "" {
			t.Errorf("fmt -check after fmt: %s", r)
		}
	})
	t.Run("recursive", func(t *testing.T) {
		dir := configDir(t, map[string]string{"sub/x.sdf.hcl": unformatted, "vars.auto.sdfvars": "v   = 1\n", ".sdform/y.sdf.hcl": unformatted})
		if r := sdform(t, dir, "fmt", "-check"); r.code != 3 || r.stdout != "vars.auto.sdfvars\n" {
			t.Errorf("fmt -check without -recursive: %s", r)
		}
		r := sdform(t, dir, "fmt", "-check", "-recursive")
		if r.code != 3 || r.stdout != "sub/x.sdf.hcl\nvars.auto.sdfvars\n" {
			t.Errorf("fmt -check -recursive (hidden directories skipped): %s", r)
		}
	})
	t.Run("syntax error", func(t *testing.T) {
		dir := configDir(t, map[string]string{"main.sdf.hcl": "resource \"a\" {\n  x = \n"})
		r := sdform(t, dir, "fmt", "-check")
		if r.code != 1 || !strings.Contains(r.stderr, "on main.sdf.hcl:2:") {
			t.Errorf("fmt on a syntax error: %s", r)
		}
	})
	t.Run("missing final newline", func(t *testing.T) {
		dir := configDir(t, map[string]string{"a.sdf.hcl": "x = 1"})
		r := sdform(t, dir, "fmt", "-check", "-diff")
		if r.code != 3 || !strings.Contains(r.stdout, "-x = 1\n\\ No newline at end of file\n+x = 1\n") {
			t.Errorf("fmt -check -diff of a file without its final newline: %s", r)
		}
	})
	t.Run("not a configuration file", func(t *testing.T) {
		dir := configDir(t, map[string]string{"notes.txt": "a   = 1\n"})
		r := sdform(t, dir, "fmt", "notes.txt")
		if r.code != 1 || !strings.Contains(r.stderr, "only *.sdf.hcl and *.sdfvars files can be formatted") {
			t.Errorf("fmt notes.txt: %s", r)
		}
		if data, _ := os.ReadFile(filepath.Join(dir, "notes.txt")); string(data) != "a   = 1\n" {
			t.Errorf("fmt rewrote notes.txt: %q", data)
		}
	})
	t.Run("stdin", func(t *testing.T) {
		old := stdin
		stdin = strings.NewReader(unformatted)
		defer func() { stdin = old }()
		r := sdform(t, "", "fmt", "-")
		if r.code != 0 || !strings.HasPrefix(r.stdout, "resource \"test_thing\" \"a\" {\n  name    = \"a\"\n") {
			t.Errorf("fmt -: %s", r)
		}
		stdin = strings.NewReader(r.stdout) // formatted already: no diff at all
		if r := sdform(t, "", "fmt", "-check", "-diff", "-"); r.code != 0 || r.stdout != "" {
			t.Errorf("fmt -check -diff - of formatted input: %s", r)
		}
	})
}

func TestUnifiedDiff(t *testing.T) {
	tests := map[string]struct {
		a, b, want string
	}{
		"change in the middle": {
			a:    "1\n2\n3\n4\n5\n6\n7\n8\n9\n",
			b:    "1\n2\n3\n4\nfive\n6\n7\n8\n9\n",
			want: "--- old/f\n+++ new/f\n@@ -2,7 +2,7 @@\n 2\n 3\n 4\n-5\n+five\n 6\n 7\n 8\n",
		},
		"two hunks": {
			a:    "a\n1\n2\n3\n4\n5\n6\n7\n8\nb\n",
			b:    "A\n1\n2\n3\n4\n5\n6\n7\n8\nB\n",
			want: "--- old/f\n+++ new/f\n@@ -1,4 +1,4 @@\n-a\n+A\n 1\n 2\n 3\n@@ -7,4 +7,4 @@\n 6\n 7\n 8\n-b\n+B\n",
		},
		"insert at end": {a: "x\n", b: "x\ny\n", want: "--- old/f\n+++ new/f\n@@ -1 +1,2 @@\n x\n+y\n"},
		"from empty":    {a: "", b: "x\n", want: "--- old/f\n+++ new/f\n@@ -0,0 +1 @@\n+x\n"},
		"same":          {a: "x\n", b: "x\n", want: "--- old/f\n+++ new/f\n"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			if got := string(unifiedDiff("f", []byte(tc.a), []byte(tc.b))); got != tc.want {
				t.Errorf("got:\n%s\nwant:\n%s", got, tc.want)
			}
		})
	}
}

func TestInit(t *testing.T) {
	dir := configDir(t, map[string]string{".gitignore": "bin/", "Dockerfile": "FROM busybox\n"})
	r := sdform(t, dir, "init")
	if r.code != 0 || !strings.Contains(r.stdout, "Wrote main.sdf.hcl") || !strings.Contains(r.stdout, "Added .sdform/ to .gitignore") {
		t.Fatalf("init: %s", r)
	}
	gi, _ := os.ReadFile(filepath.Join(dir, ".gitignore"))
	if string(gi) != "bin/\n.sdform/\n" {
		t.Errorf(".gitignore = %q", gi)
	}
	// Idempotent: a second init changes nothing.
	r = sdform(t, dir, "init")
	if r.code != 0 || !strings.Contains(r.stdout, "left the configuration as it is") || strings.Contains(r.stdout, "Added") {
		t.Errorf("second init: %s", r)
	}
	gi2, _ := os.ReadFile(filepath.Join(dir, ".gitignore"))
	if string(gi2) != string(gi) {
		t.Errorf("second init changed .gitignore to %q", gi2)
	}
	// The starter configuration is valid and formatted.
	if r := sdform(t, dir, "validate"); r.code != 0 {
		t.Errorf("validate of the starter configuration: %s", r)
	}
	if r := sdform(t, dir, "fmt", "-check"); r.code != 0 {
		t.Errorf("fmt -check of the starter configuration: %s", r)
	}
	if r := sdform(t, dir, "init", "extra"); r.code != 1 {
		t.Errorf("init with an argument: %s", r)
	}
}
