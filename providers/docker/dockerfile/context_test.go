package dockerfile

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"
)

func TestSelectionKey(t *testing.T) {
	base := map[string]string{
		"a.txt":        "a",
		"b.txt":        "b",
		"c.md":         "c",
		"src/x.py":     "x",
		"src/y.tmp":    "y",
		"other/z.py":   "z",
		"real/file":    "r",
		"link":         "->real/file",
		"logs/app.log": "l",
		"keep.log":     "k",
	}
	tests := map[string]struct {
		ignore  string
		sel     selector
		change  func(t *testing.T, dir string)
		changed bool
	}{
		"wildcard, matching file changed": {
			sel:     selector{Path: "/*.txt", Wildcard: true},
			change:  write("b.txt", "B"),
			changed: true,
		},
		"wildcard, other file changed": {
			sel:    selector{Path: "/*.txt", Wildcard: true},
			change: write("c.md", "C"),
		},
		"directory, file inside changed": {
			sel:     selector{Path: "/src"},
			change:  write("src/x.py", "X"),
			changed: true,
		},
		"directory, file added inside": {
			sel:     selector{Path: "/src"},
			change:  write("src/new.py", "n"),
			changed: true,
		},
		"directory, file outside changed": {
			sel:    selector{Path: "/src"},
			change: write("other/z.py", "Z"),
		},
		"COPY --exclude, excluded file changed": {
			sel:    selector{Path: "/src", ExcludePatterns: []string{"*.tmp"}},
			change: write("src/y.tmp", "Y"),
		},
		"dockerignore, ignored file changed": {
			ignore: "logs\n*.log\n!keep.log\n",
			sel:    selector{Path: "/"},
			change: write("logs/app.log", "L"),
		},
		"dockerignore exception, kept file changed": {
			ignore:  "logs\n*.log\n!keep.log\n",
			sel:     selector{Path: "/"},
			change:  write("keep.log", "K"),
			changed: true,
		},
		"followed link, target changed": {
			sel:     selector{Path: "/link", FollowLinks: true},
			change:  write("real/file", "R"),
			changed: true,
		},
		"mode changed": {
			sel: selector{Path: "/a.txt"},
			change: func(t *testing.T, dir string) {
				if err := os.Chmod(filepath.Join(dir, "a.txt"), 0o755); err != nil {
					t.Fatal(err)
				}
			},
			changed: true,
		},
		"only the mtime changed": {
			sel: selector{Path: "/a.txt"},
			change: func(t *testing.T, dir string) {
				old := time.Now().Add(-time.Hour)
				if err := os.Chtimes(filepath.Join(dir, "a.txt"), old, old); err != nil {
					t.Fatal(err)
				}
			},
		},
		"file renamed inside the selection": {
			sel: selector{Path: "/src"},
			change: func(t *testing.T, dir string) {
				if err := os.Rename(filepath.Join(dir, "src/x.py"), filepath.Join(dir, "src/w.py")); err != nil {
					t.Fatal(err)
				}
			},
			changed: true,
		},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			writeFiles(t, dir, base)
			if tt.ignore != "" {
				writeFiles(t, dir, map[string]string{".dockerignore": tt.ignore})
			}
			key := func() string {
				fs, err := newContextFS(dir, []string{filepath.Join(dir, ".dockerignore")}, nil, nil, nil)
				if err != nil {
					t.Fatal(err)
				}
				s, err := fs.hash(tt.sel)
				if err != nil {
					t.Fatal(err)
				}
				if !s.found {
					t.Fatalf("%s selects nothing", tt.sel.Path)
				}
				return s.key
			}
			before := key()
			tt.change(t, dir)
			if changed := key() != before; changed != tt.changed {
				t.Errorf("key changed = %v, want %v", changed, tt.changed)
			}
		})
	}
}

func write(name, content string) func(*testing.T, string) {
	return func(t *testing.T, dir string) { writeFiles(t, dir, map[string]string{name: content}) }
}

// The stat cache lets an unchanged context be planned without reading its
// files: only the files whose stat changed are read again.
func TestStatCacheAvoidsRereading(t *testing.T) {
	files := map[string]string{}
	for i := range 40 {
		files[fmt.Sprintf("src/m%02d/f%02d.py", i%5, i)] = fmt.Sprintf("x = %d\n", i)
	}
	p := newProject(t, "FROM busybox\nWORKDIR /app\nCOPY . .\nRUN echo built\n", files)
	reads := &countingOpen{}
	p.in.open = reads.open
	plan := func() (*Prediction, int64) {
		t.Helper()
		reads.n.Store(0)
		pr := p.plan()
		return pr, reads.n.Load()
	}

	if _, n := plan(); n != 40 {
		t.Fatalf("first plan read %d files, want 40", n)
	}
	p.build()
	if pr, n := plan(); n != 0 || pr.ToRun != 0 {
		t.Fatalf("unchanged context: read %d files, %d to run; want 0 and 0", n, pr.ToRun)
	}

	writeFiles(t, p.in.ContextDir, map[string]string{"src/m01/f06.py": "x = 600\n"})
	pr, n := plan()
	if n != 1 {
		t.Errorf("one file changed: read %d files, want 1", n)
	}
	if got := statuses(pr); got != "2:cached 3:run 4:run" {
		t.Errorf("one file changed: %s", got)
	}
	writeFiles(t, p.in.ContextDir, map[string]string{"src/m01/f06.py": "x = 6\n"}) // back to what was built
	if pr, n := plan(); n != 1 || pr.ToRun != 0 {
		t.Errorf("file restored: read %d files, %d to run; want 1 and 0", n, pr.ToRun)
	}

	// A file touched without a change is read again, and still cached.
	later := time.Now().Add(-time.Minute)
	if err := os.Chtimes(filepath.Join(p.in.ContextDir, "src/m02/f07.py"), later, later); err != nil {
		t.Fatal(err)
	}
	if pr, n := plan(); n != 1 || pr.ToRun != 0 {
		t.Errorf("file touched: read %d files, %d to run; want 1 and 0", n, pr.ToRun)
	}

	// Without its cache file the context is read again.
	if err := os.RemoveAll(p.in.CacheDir); err != nil {
		t.Fatal(err)
	}
	if _, n := plan(); n != 40 {
		t.Errorf("cache removed: read %d files, want 40", n)
	}
}

// A file hashed within a second of being written may change again within
// the same timestamp tick, so its digest is not trusted on the next plan.
func TestStatCacheRacyFiles(t *testing.T) {
	p := newProject(t, "FROM busybox\nCOPY . .\n", map[string]string{"a.py": "a", "b.py": "b"})
	p.in.now = time.Now
	reads := &countingOpen{}
	p.in.open = reads.open
	p.plan()
	reads.n.Store(0)
	p.plan()
	if n := reads.n.Load(); n != 2 {
		t.Errorf("just-written files read %d times on the second plan, want 2", n)
	}
}

func TestStatCacheCorruptFile(t *testing.T) {
	p := newProject(t, "FROM busybox\nCOPY . .\n", map[string]string{"a.py": "a"})
	p.plan()
	matches, _ := filepath.Glob(filepath.Join(p.in.CacheDir, "context-*.gob"))
	if len(matches) != 1 {
		t.Fatalf("cache files: %v", matches)
	}
	if err := os.WriteFile(matches[0], []byte("not gob"), 0o644); err != nil {
		t.Fatal(err)
	}
	before := p.plan().Steps[0].Key
	r, err := Analyze(context.Background(), p.in)
	if err != nil {
		t.Fatal(err)
	}
	if r.Prediction.Steps[0].Key != before {
		t.Error("a corrupt cache changed the key")
	}
}
