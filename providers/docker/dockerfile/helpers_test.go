package dockerfile

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

var update = flag.Bool("update", false, "rewrite golden files under testdata/")

// fakeResolver resolves the references it knows to a fixed digest and a
// small config; others fail like a registry that has no such image.
type fakeResolver struct {
	mu      sync.Mutex
	digests map[string]string
	calls   map[string]int
}

func newResolver(digests map[string]string) *fakeResolver {
	return &fakeResolver{digests: digests, calls: map[string]int{}}
}

// busybox resolves busybox:latest, the base of most test Dockerfiles.
func busybox() *fakeResolver {
	return newResolver(map[string]string{"docker.io/library/busybox:latest": digestN(1)})
}

func digestN(n int) string { return "sha256:" + strings.Repeat(fmt.Sprintf("%x", n%16), 64) }

func (f *fakeResolver) ResolveImage(_ context.Context, ref string) (string, []byte, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls[ref]++
	d, ok := f.digests[ref]
	if !ok {
		return "", nil, fmt.Errorf("%s: not found", ref)
	}
	config := fmt.Sprintf(`{"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":["%s"]},"config":{"Env":["PATH=/usr/local/bin:/usr/bin:/bin","IMAGE=%s"]}}`, d, d)
	return d, []byte(config), nil
}

func (f *fakeResolver) set(ref, dgst string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.digests[ref] = dgst
}

// writeFiles lays out files under dir ("sub/x.txt": "content"); a value
// starting with "->" makes a symlink.
func writeFiles(t testing.TB, dir string, files map[string]string) {
	t.Helper()
	for name, content := range files {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if target, ok := strings.CutPrefix(content, "->"); ok {
			os.Remove(p)
			if err := os.Symlink(target, p); err != nil {
				t.Fatal(err)
			}
			continue
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// countingOpen counts the context files Analyze reads.
type countingOpen struct{ n atomic.Int64 }

func (c *countingOpen) open(name string) (io.ReadCloser, error) {
	c.n.Add(1)
	return os.Open(name)
}

// later is a clock for hashing that runs ahead of the file system's, so a
// file written by the test just now is not "racily clean" and its cached
// digest is trusted on the next plan, as it would be for a file edited
// more than a second before.
func later() time.Time { return time.Now().Add(2 * racyWindow) }

// project is one image's Dockerfile, context and build history, planned
// and "built" (keys recorded) as sdform would.
type project struct {
	t     testing.TB
	in    Input
	clock time.Time
}

func newProject(t testing.TB, dockerfile string, files map[string]string) *project {
	t.Helper()
	dir := t.TempDir()
	writeFiles(t, dir, files)
	return &project{t: t, clock: time.Date(2026, 11, 20, 14, 2, 0, 0, time.UTC), in: Input{
		Dockerfile: []byte(dockerfile),
		ContextDir: dir,
		BuildArgs:  map[string]string{},
		Resolver:   busybox(),
		PriorKeys:  KeyHistory{},
		CacheDir:   t.TempDir(),
		now:        later,
	}}
}

func (p *project) write(files map[string]string) { writeFiles(p.t, p.in.ContextDir, files) }

func (p *project) plan() *Prediction {
	p.t.Helper()
	r, err := Analyze(context.Background(), p.in)
	if err != nil {
		p.t.Fatal(err)
	}
	for _, f := range r.Findings {
		if f.Severity == Error {
			p.t.Fatalf("unexpected finding: %s", f)
		}
	}
	if r.Prediction == nil {
		p.t.Fatal("no prediction")
	}
	return r.Prediction
}

// build records the keys of the current inputs as a build an hour after
// the previous one, and returns its time.
func (p *project) build() time.Time {
	p.t.Helper()
	keys, err := Keys(context.Background(), p.in)
	if err != nil {
		p.t.Fatal(err)
	}
	p.clock = p.clock.Add(time.Hour)
	p.in.PriorKeys.Record(keys, p.clock)
	return p.clock
}

// statuses renders a prediction's steps as "LINE:status" for comparison.
func statuses(p *Prediction) string {
	var parts []string
	for _, s := range p.Steps {
		parts = append(parts, fmt.Sprintf("%d:%s", s.Line, s.Status))
	}
	return strings.Join(parts, " ")
}
