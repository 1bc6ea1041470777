package main

import (
	"bytes"
	"context"
	"flag"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sdform/sdform/internal/testprovider"
	"github.com/sdform/sdform/providers"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden with the current output")

// cliEnv, when set, makes the test binary act as the sdform command: the
// lock test starts a second sdform process this way.
const cliEnv = "SDFORM_TEST_AS_CLI"

// stubbornEnv makes the test provider's apply ignore cancellation, as a
// provider stuck in a system call would, so that only a second interrupt
// can end the process.
const stubbornEnv = "SDFORM_TEST_STUBBORN"

type stubborn struct{ providers.Provider }

func (s stubborn) ApplyResource(ctx context.Context, req providers.ApplyRequest) providers.ApplyResponse {
	time.Sleep(30 * time.Second)
	return s.Provider.ApplyResource(context.Background(), req)
}

func TestMain(m *testing.M) {
	extraFactories["test"] = testprovider.New
	if os.Getenv(stubbornEnv) == "1" {
		extraFactories["test"] = func() providers.Provider { return stubborn{testprovider.New()} }
	}
	if os.Getenv(cliEnv) == "1" {
		os.Exit(runWithSignals(os.Args[1:]))
	}
	os.Exit(m.Run())
}

type result struct {
	code           int
	stdout, stderr string
}

// sdform runs the CLI in-process in dir (through -chdir, as a user would).
func sdform(t *testing.T, dir string, args ...string) result {
	t.Helper()
	return sdformCtx(t, context.Background(), dir, args...)
}

func sdformCtx(t *testing.T, ctx context.Context, dir string, args ...string) result {
	t.Helper()
	var out, errb bytes.Buffer
	if dir != "" {
		args = append([]string{"-chdir=" + dir}, args...)
	}
	code := run(ctx, args, &out, &errb)
	return result{code: code, stdout: out.String(), stderr: errb.String()}
}

func (r result) String() string {
	return "exit " + strconv.Itoa(r.code) + "\n--- stdout ---\n" + r.stdout + "--- stderr ---\n" + r.stderr
}

// configDir writes files into a fresh directory and returns it.
func configDir(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, content := range files {
		path := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

var normalizers = []struct {
	re   *regexp.Regexp
	with string
}{
	{regexp.MustCompile(`thing-[0-9a-f]{12}`), "thing-XXXX"},
	{regexp.MustCompile(`sha256:[0-9a-f]{64}`), "sha256:XXXX"},
	{regexp.MustCompile(`after [0-9.]+(ms|µs|s|m[0-9]+s)`), "after T"},
	{regexp.MustCompile(`PID [0-9]+`), "PID N"},
	{regexp.MustCompile(`serial [0-9]+, now [0-9]+`), "serial N, now M"},
}

// normalize replaces what differs between runs (random ids, digests of
// them, durations, temporary directories) with fixed words.
func normalize(s, dir string) string {
	if dir != "" {
		s = strings.ReplaceAll(s, dir, "$DIR")
	}
	for _, n := range normalizers {
		s = n.re.ReplaceAllString(s, n.with)
	}
	return s
}

func golden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name+".golden")
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("read golden file (run `go test ./cmd/sdform -update` to create it): %v", err)
	}
	if got != string(want) {
		t.Errorf("output differs from %s (run with -update if the change is intended)\n--- got ---\n%s\n--- want ---\n%s", path, got, want)
	}
}

// lockedBuffer is a buffer a child process writes into while the test
// reads it.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
