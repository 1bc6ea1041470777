package docker

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"

	"github.com/sdform/sdform/providers"
	"github.com/zclconf/go-cty/cty"
)

// Limits on what a test keeps of a command's output and a file's content:
// enough for any version banner or import error, bounded for a command
// that prints a model's weights.
const (
	maxOutput   = 4 << 20
	maxContent  = 1 << 20
	maxRecorded = 4 << 10
)

// The runner names, as docker_image_test.runner records them.
const (
	runnerEngine   = "docker engine"
	runnerBuildKit = "buildkit exec"
)

// testRunner runs a test's parts against one image. Errors are for what
// kept a test from running (the daemon failed); what the image did is in
// the outcomes.
type testRunner interface {
	kind() string
	imageID() string
	facts() *imageFacts
	// gpus reports whether commands can be given GPUs, and why not.
	gpus(ctx context.Context) (bool, string)
	runCommand(ctx context.Context, c *commandSpec, useGPUs bool) (cmdOutcome, error)
	// statFile describes path; Content is read (up to maxContent) when
	// withContent is set and the path is a regular file.
	statFile(ctx context.Context, path string, withContent bool) (fileOutcome, error)
}

// testRun is the outcome of one docker_image_test run.
type testRun struct {
	runner  string
	imageID string
	results []testResult
	// stdout is each command's output as recorded (maxRecorded).
	stdout map[string]string
	notes  providers.Diagnostics
}

func (r *testRun) passed() bool {
	for _, x := range r.results {
		if !x.Passed {
			return false
		}
	}
	return true
}

func (r *testRun) failures() []string {
	var out []string
	for _, x := range r.results {
		if !x.Passed {
			out = append(out, x.failure())
		}
	}
	return out
}

// runImageTest runs spec against its image: in containers of the Docker
// Engine when the builder keeps images there, else in BuildKit containers
// over the image.
func (p *Provider) runImageTest(ctx context.Context, b *builder, addr string, spec *testSpec, out io.Writer) (*testRun, error) {
	run := &testRun{stdout: map[string]string{}}
	body := func(ctx context.Context, r testRunner) error {
		run.runner, run.imageID = r.kind(), r.imageID()
		fmt.Fprintf(out, "testing image %s (%s runner)\n", short(run.imageID), run.runner)
		for _, c := range spec.Commands {
			useGPUs := false
			if c.GPUs != "" {
				ok, why := r.gpus(ctx)
				if !ok {
					msg := fmt.Sprintf("command %s: gpus = %q ignored: %s; it runs without GPUs", c.Name, c.GPUs, why)
					fmt.Fprintln(out, msg)
					run.notes = run.notes.Warnf(cty.GetAttrPath("command").Index(cty.StringVal(c.Name)).GetAttr("gpus"), "GPUs not available to the test", "%s.", msg)
				}
				useGPUs = ok
			}
			o, err := r.runCommand(ctx, c, useGPUs)
			if err != nil {
				return fmt.Errorf("run command %s: %w", c.Name, err)
			}
			run.stdout[c.Name] = validTail(matchText(o.Stdout), maxRecorded)
			rs := checkCommand(c, o)
			report(out, fmt.Sprintf("command %s: exit %d in %s", c.Name, o.ExitCode, o.Duration.Round(1e6)), rs)
			run.results = append(run.results, rs...)
		}
		var acc *accounts
		for _, f := range spec.Files {
			o, err := r.statFile(ctx, f.Path, f.Content != nil)
			if err != nil {
				return fmt.Errorf("check file %s: %w", f.Path, err)
			}
			if f.Owner != "" && acc == nil {
				a, err := readAccounts(ctx, r)
				if err != nil {
					return err
				}
				acc = &a
			}
			var a accounts
			if acc != nil {
				a = *acc
			}
			rs := checkFile(f, o, a)
			report(out, "file "+f.Path, rs)
			run.results = append(run.results, rs...)
		}
		if spec.Metadata != nil {
			rs := checkMetadata(spec.Metadata, r.facts())
			report(out, "metadata", rs)
			run.results = append(run.results, rs...)
		}
		return nil
	}
	var err error
	if b.engineStore {
		err = p.withEngineRunner(ctx, b, addr, spec.Image, body)
	} else {
		err = p.withBuildKitRunner(ctx, b, spec.Image, body)
	}
	if err != nil {
		return run, err
	}
	passed := 0
	for _, x := range run.results {
		if x.Passed {
			passed++
		}
	}
	verdict := "passed"
	if !run.passed() {
		verdict = "FAILED"
	}
	fmt.Fprintf(out, "%s: %d of %d expectations held (%s runner, image %s)\n", verdict, passed, len(run.results), run.runner, short(run.imageID))
	return run, nil
}

// report prints one part's results: a line for the part, and one per
// failed expectation.
func report(out io.Writer, what string, rs []testResult) {
	bad := 0
	for _, r := range rs {
		if !r.Passed {
			bad++
		}
	}
	if bad == 0 {
		fmt.Fprintf(out, "ok   %s\n", what)
		return
	}
	fmt.Fprintf(out, "FAIL %s\n", what)
	for _, r := range rs {
		if !r.Passed {
			fmt.Fprintf(out, "       %s\n", r.failure())
		}
	}
}

// readAccounts reads the image's /etc/passwd and /etc/group, for owner
// checks by name; an image without them has only root.
func readAccounts(ctx context.Context, r testRunner) (accounts, error) {
	var files [2][]byte
	for i, path := range []string{"/etc/passwd", "/etc/group"} {
		o, err := r.statFile(ctx, path, true)
		if err != nil {
			return accounts{}, fmt.Errorf("read %s of the image: %w", path, err)
		}
		files[i] = o.Content
	}
	return parseAccounts(files[0], files[1]), nil
}

// capBuffer keeps the last max bytes written to it: the end of an output
// is where errors and final results are.
type capBuffer struct {
	max     int
	b       []byte
	dropped bool
}

func (c *capBuffer) Write(p []byte) (int, error) {
	n := len(p)
	c.b = append(c.b, p...)
	if len(c.b) > c.max {
		c.b = append(c.b[:0], c.b[len(c.b)-c.max:]...)
		c.dropped = true
	}
	return n, nil
}

func (c *capBuffer) Close() error { return nil }

func (c *capBuffer) bytes() []byte { return c.b }

// testRefs remembers, per image ID, the references sdform knows for it:
// a standalone BuildKit runs images by reference, and docker_image_test is
// usually given docker_image.x.id. The docker provider notes every
// docker_image value it reads, plans, builds or promotes.
type testRefs struct {
	mu   sync.Mutex
	byID map[string][]string
}

// note records the references of a docker_image value: its candidate tags
// while unpromoted, its tags, and repo@digest where a registry holds it.
func (r *testRefs) note(v cty.Value, private []byte) {
	if v == cty.NilVal || v.IsNull() || !v.IsKnown() {
		return
	}
	v = unmarked(v)
	id := getString(v, "id")
	if id == "" {
		return
	}
	var refs []string
	priv, _ := decodePrivate(private)
	refs = append(refs, priv.Candidates...)
	for _, tag := range getList(v, "tags") {
		if priv.Applied[tag] == "" || priv.Applied[tag] == id || priv.Applied[tag] == getString(v, "digest") {
			refs = append(refs, tag)
		}
	}
	if dg := getString(v, "digest"); dg != "" {
		for _, tag := range append(append([]string(nil), priv.Candidates...), getList(v, "tags")...) {
			refs = append(refs, repoOf(tag)+"@"+dg)
		}
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.byID == nil {
		r.byID = map[string][]string{}
	}
	seen := map[string]bool{}
	var merged []string
	for _, ref := range append(refs, r.byID[id]...) {
		if !seen[ref] {
			seen[ref] = true
			merged = append(merged, ref)
		}
	}
	r.byID[id] = merged
}

func (r *testRefs) lookup(id string) []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.byID[id]...)
}

// errNoReference is returned when a standalone BuildKit is asked to test
// an image by ID that no docker_image of this configuration names.
var errNoReference = errors.New("no reference known for this image ID")

// resolveTestImage returns the image ID a reference names now.
func (p *Provider) resolveTestImage(ctx context.Context, ref string) (string, error) {
	b, err := p.builder(ctx)
	if err != nil {
		return "", err
	}
	if b.engineStore {
		f, err := engineStore{b.engine}.facts(ctx, ref)
		if err != nil {
			return "", err
		}
		return f.ID, nil
	}
	id, _, err := p.resolveBuildKitImage(ctx, b, ref)
	return id, err
}

// cleanStartError shortens the Engine's "failed to create shim task: OCI
// runtime create failed: … exec: "python": executable file not found in
// $PATH: unknown" to its last useful part.
func cleanStartError(err error) error {
	s := err.Error()
	if i := strings.LastIndex(s, "exec: "); i >= 0 {
		s = strings.TrimSuffix(s[i:], ": unknown")
		return errors.New(s)
	}
	return err
}
