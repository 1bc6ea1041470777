package dockerfile

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/sdform/sdform/internal/testenv"
)

// editBuild is one build of an edit case: what changes before it.
type editBuild struct {
	df    string            // the Dockerfile; BASE and NONCE are replaced
	files map[string]string // written into the context before the build
	do    func(t *testing.T, dir string)
	// named maps named contexts to directories under the case's temporary
	// folder, written with namedFiles.
	named      map[string]string
	namedFiles map[string]string
}

// TestPredictionMatchesBuildKitEdits builds small projects with a real
// BuildKit, changing one thing between builds, and requires every step's
// plan to agree with BuildKit's cached flag (an uncertain step may go
// either way). Each case is a change BuildKit's cache keys treat in a way
// of their own: the plan must neither rebuild for nothing (a needless
// rebuild reruns an image's GPU tests) nor call cached what BuildKit runs.
func TestPredictionMatchesBuildKitEdits(t *testing.T) {
	head := "FROM BASE\nRUN echo NONCE > /n\n"
	copyFile := head + "COPY a.txt /a.txt\nRUN cat /a.txt\n"
	copyDir := head + "COPY d /d\nRUN ls -lR /d\n"
	cases := map[string][]editBuild{
		// BuildKit's client sends the context with uid and gid 0
		// (client/solve.go resetUIDAndGID): a checkout under another user,
		// or a sudo edit, changes nothing.
		"owner of a copied file": {
			{df: copyFile, files: map[string]string{"a.txt": "A"}},
			{df: copyFile, do: chown("a.txt")},
		},
		"owner of the copied directory": {
			{df: copyDir, files: map[string]string{"d/a.txt": "A"}},
			{df: copyDir, do: chown("d")},
		},
		"mode of a copied file": {
			{df: copyFile, files: map[string]string{"a.txt": "A"}},
			{df: copyFile, do: chmod("a.txt", 0o600)},
		},
		// A COPY of a directory is keyed by what is in it, not by the
		// directory's own mode.
		"mode of the copied directory": {
			{df: copyDir, files: map[string]string{"d/a.txt": "A"}},
			{df: copyDir, do: chmod("d", 0o700)},
		},
		"mode of the copied directory, written with a slash": {
			{df: head + "COPY d/ /d/\nRUN ls -l /d\n", files: map[string]string{"d/a.txt": "A"}},
			{df: head + "COPY d/ /d/\nRUN ls -l /d\n", do: chmod("d", 0o700)},
		},
		"mode of a directory inside the copied one": {
			{df: copyDir, files: map[string]string{"d/sub/a.txt": "A"}},
			{df: copyDir, do: chmod("d/sub", 0o700)},
		},
		"mode of the context, COPY of all of it": {
			{df: head + "COPY . /src\nRUN ls -l /src\n", files: map[string]string{"a.txt": "A"}},
			{df: head + "COPY . /src\nRUN ls -l /src\n", do: chmod(".", 0o700)},
		},
		// BuildKit keys a local source by its session, and by content only
		// where an op reads it as a secondary input: a stage FROM a named
		// context runs its steps at every build, files unchanged or not.
		"stage based on a named context": {
			{df: "FROM BASE AS tools\nRUN echo NONCE > /n\nFROM weights AS w\nWORKDIR /x\nCOPY --from=tools /n /x/n\nFROM tools\nCOPY --from=w /x/n /nn\n",
				named: map[string]string{"weights": "w"}, namedFiles: map[string]string{"w/w.bin": "weights"}},
			{df: "FROM BASE AS tools\nRUN echo NONCE > /n\nFROM weights AS w\nWORKDIR /x\nCOPY --from=tools /n /x/n\nFROM tools\nCOPY --from=w /x/n /nn\n",
				named: map[string]string{"weights": "w"}},
		},
	}
	for name, builds := range cases {
		t.Run(name, func(t *testing.T) { runEdits(t, builds) })
	}

	// BuildKit fetches a URL without a checksum at every build: the steps
	// after it are cached while its content stays, and run once it
	// changed. The plan cannot tell the two apart, so it calls them
	// uncertain (and the provider builds: see TestIntegrationAddURLWithoutChecksum).
	t.Run("ADD of a URL without a checksum", func(t *testing.T) {
		// Content no earlier run served: BuildKit keys the ADD by it.
		var body atomic.Value
		v := fmt.Sprint(time.Now().UnixNano())
		body.Store("v1 " + v)
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, body.Load().(string)) }))
		defer srv.Close()
		df := head + "ADD " + srv.URL + "/m.txt /m.txt\nRUN cat /m.txt\n"
		runEdits(t, []editBuild{
			{df: df},
			{df: df},
			{df: df, do: func(*testing.T, string) { body.Store("v2 " + v) }},
		})
	})
}

func chown(rel string) func(t *testing.T, dir string) {
	return func(t *testing.T, dir string) {
		if err := os.Lchown(filepath.Join(dir, rel), 4321, 4321); err != nil {
			t.Skipf("chown: %v", err)
		}
	}
}

func chmod(rel string, mode os.FileMode) func(t *testing.T, dir string) {
	return func(t *testing.T, dir string) {
		if err := os.Chmod(filepath.Join(dir, rel), mode); err != nil {
			t.Fatal(err)
		}
	}
}

// runEdits plans and builds each of builds in turn, recording each build's
// keys as sdform does, and reports every step on which the plan and
// BuildKit disagree.
func runEdits(t *testing.T, builds []editBuild) {
	addr := testenv.BuildKit(t)
	buildctl := testenv.Buildctl(t)
	base := testenv.BaseImage(t)
	ref, err := name.ParseReference(base, name.Insecure)
	if err != nil {
		t.Fatal(err)
	}
	desc, err := remote.Get(ref)
	if err != nil {
		t.Fatalf("resolve %s: %v", base, err)
	}
	img, err := desc.Image()
	if err != nil {
		t.Fatal(err)
	}
	config, err := img.RawConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	res := staticResolver{desc.Digest.String(), string(config)}
	nonce := fmt.Sprint(time.Now().UnixNano())
	root := t.TempDir()
	dir := filepath.Join(root, "context")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	hist := KeyHistory{}
	clock := time.Date(2026, 11, 20, 14, 0, 0, 0, time.UTC)
	for i, b := range builds {
		writeFiles(t, dir, b.files)
		writeFiles(t, root, b.namedFiles)
		if b.do != nil {
			b.do(t, dir)
		}
		var named map[string]string
		for k, rel := range b.named {
			if named == nil {
				named = map[string]string{}
			}
			named[k] = filepath.Join(root, rel)
		}
		df := strings.ReplaceAll(strings.ReplaceAll(b.df, "NONCE", nonce), "BASE", base)
		in := Input{Dockerfile: []byte(df), ContextDir: dir, NamedContexts: named, BuildArgs: map[string]string{},
			PriorKeys: hist, Resolver: res, now: later}
		r, err := Analyze(context.Background(), in)
		if err != nil {
			t.Fatal(err)
		}
		if r.Prediction == nil {
			t.Fatalf("build %d: no prediction:\n%s", i, render(r.Findings))
		}
		vs := buildctlBuild(t, buildctl, addr, in)
		var got []string
		for _, o := range Match(r.Prediction, vs) {
			got = append(got, fmt.Sprintf("%d:%s/cached=%v", o.Step.Line, o.Step.Status, o.Cached))
		}
		t.Logf("build %d: %s [%s]", i, strings.Join(got, " "), r.Prediction.Summary)
		for _, d := range Compare(r.Prediction, vs) {
			t.Errorf("build %d: %s (reason %q)", i, d, d.Step.Reason)
		}
		clock = clock.Add(time.Hour)
		hist.Record(r.Prediction.Keys, clock)
	}
}
