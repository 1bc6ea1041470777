package dockerfile

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/sdform/sdform/internal/testenv"
)

// The BuildKit scenario: a sequence of changes to one project, each built
// by a real daemon. TestPredictionMatchesBuildKit plans each step, builds
// it with buildctl and requires BuildKit's cached flags to match the plan
// step by step (the two "RUN echo NONCE" lines are one op, as BuildKit
// dedupes identical ops across stages); it records the daemon's vertices under testdata/buildkit so
// that TestPredictionMatchesRecordedBuildKit checks the same without one.
const scenarioDockerfile = `ARG BASE
FROM ${BASE} AS deps
RUN echo NONCE > /nonce
ARG PIP_VERSION=23
WORKDIR /app
COPY requirements.txt ./
RUN echo pip $PIP_VERSION > /deps.txt
FROM ${BASE}
RUN echo NONCE > /nonce
ARG VARIANT=fp8
ENV MODE=prod
LABEL rev=1
WORKDIR /srv
COPY --from=deps /deps.txt ./
COPY src/ ./src/
RUN echo build $VARIANT $MODE > build.txt
COPY config.yaml ./
`

type scenarioStep struct {
	name  string
	files map[string]string // written before this build, kept after
	args  map[string]string // this build's args besides BASE
	edits [][2]string       // Dockerfile replacements for this build
	// want is the expected plan, "LINE:status ...".
	want string
}

var scenario = []scenarioStep{
	{name: "first build", want: "3:run 5:run 6:run 7:run 13:run 14:run 15:run 16:run 17:run"},
	{name: "no-op", want: "3:cached 5:cached 6:cached 7:cached 13:cached 14:cached 15:cached 16:cached 17:cached"},
	{name: "ignored file", files: map[string]string{"notes.log": "more"},
		want: "3:cached 5:cached 6:cached 7:cached 13:cached 14:cached 15:cached 16:cached 17:cached"},
	{name: "last COPY's file", files: map[string]string{"config.yaml": "mode: dev\n"},
		want: "3:cached 5:cached 6:cached 7:cached 13:cached 14:cached 15:cached 16:cached 17:run"},
	{name: "later stage's arg", args: map[string]string{"VARIANT": "fp16"},
		want: "3:cached 5:cached 6:cached 7:cached 13:cached 14:cached 15:cached 16:run 17:run"},
	{name: "first stage's arg", args: map[string]string{"VARIANT": "fp16", "PIP_VERSION": "24"},
		want: "3:cached 5:cached 6:cached 7:run 13:cached 14:uncertain 15:uncertain 16:uncertain 17:uncertain"},
	{name: "ENV", args: map[string]string{"VARIANT": "fp16", "PIP_VERSION": "24"}, edits: [][2]string{{"MODE=prod", "MODE=dev"}},
		want: "3:cached 5:cached 6:cached 7:cached 13:cached 14:cached 15:cached 16:run 17:run"},
	{name: "LABEL", args: map[string]string{"VARIANT": "fp16", "PIP_VERSION": "24"}, edits: [][2]string{{"MODE=prod", "MODE=dev"}, {"rev=1", "rev=2"}},
		want: "3:cached 5:cached 6:cached 7:cached 13:cached 14:cached 15:cached 16:cached 17:cached"},
	{name: "older build", files: map[string]string{"config.yaml": "mode: prod\n"},
		want: "3:cached 5:cached 6:cached 7:cached 13:cached 14:cached 15:cached 16:cached 17:cached"},
	// deps runs again but /deps.txt comes out the same: BuildKit finds the
	// COPY --from cached by content, which the plan could only call likely.
	{name: "rebuilt stage, same files", edits: [][2]string{{"> /deps.txt\n", "> /deps.txt && echo extra > /extra\n"}},
		want: "3:cached 5:cached 6:cached 7:run 13:cached 14:uncertain 15:uncertain 16:uncertain 17:uncertain"},
	{name: "after it", edits: [][2]string{{"> /deps.txt\n", "> /deps.txt && echo extra > /extra\n"}},
		want: "3:cached 5:cached 6:cached 7:cached 13:cached 14:cached 15:cached 16:cached 17:cached"},
}

func scenarioFiles() map[string]string {
	return map[string]string{
		"requirements.txt": "torch==2.4\n",
		"src/app.py":       "print('app')\n",
		"config.yaml":      "mode: prod\n",
		"notes.log":        "notes",
		".dockerignore":    "*.log\n",
	}
}

// recording is testdata/buildkit/scenario.json: what the daemon reported.
type recording struct {
	Base       string     `json:"base"`
	Digest     string     `json:"digest"`
	Config     string     `json:"config"`
	Nonce      string     `json:"nonce"`
	BuildKit   string     `json:"buildkit"`
	Steps      [][]Vertex `json:"steps"`
	RecordedAt time.Time  `json:"recorded_at"`
}

const recordingPath = "testdata/buildkit/scenario.json"

type staticResolver struct{ digest, config string }

func (r staticResolver) ResolveImage(context.Context, string) (string, []byte, error) {
	return r.digest, []byte(r.config), nil
}

// runScenario plans each step, has build return BuildKit's vertices for
// it, and requires them to agree with the plan.
func runScenario(t *testing.T, rec *recording, build func(i int, in Input) []Vertex) {
	dir := t.TempDir()
	writeFiles(t, dir, scenarioFiles())
	hist := KeyHistory{}
	clock := time.Date(2026, 11, 20, 14, 0, 0, 0, time.UTC)
	for i, st := range scenario {
		writeFiles(t, dir, st.files)
		df := strings.ReplaceAll(scenarioDockerfile, "NONCE", rec.Nonce)
		for _, e := range st.edits {
			df = strings.Replace(df, e[0], e[1], 1)
		}
		args := map[string]string{"BASE": rec.Base}
		maps.Copy(args, st.args)
		in := Input{Dockerfile: []byte(df), ContextDir: dir, BuildArgs: args, PriorKeys: hist,
			Resolver: staticResolver{rec.Digest, rec.Config}, CacheDir: filepath.Join(dir, "..", "cache"), now: later}
		r, err := Analyze(context.Background(), in)
		if err != nil {
			t.Fatal(err)
		}
		if r.Prediction == nil || r.HasErrors() {
			t.Fatalf("step %q: findings:\n%s", st.name, render(r.Findings))
		}
		pr := r.Prediction
		if got := statuses(pr); got != st.want {
			t.Errorf("step %q planned\n  %s\nwant\n  %s", st.name, got, st.want)
		}
		vertices := build(i, in)
		for _, d := range Compare(pr, vertices) {
			t.Errorf("step %q: %s (vertex %q)", st.name, d, d.Vertex)
		}
		for _, o := range Match(pr, vertices) {
			if o.Step.Status == Uncertain {
				t.Logf("step %q: %s was uncertain; BuildKit cached=%v", st.name, o.Step.Vertex, o.Cached)
			}
		}
		clock = clock.Add(time.Hour)
		hist.Record(pr.Keys, clock)
	}
}

func TestPredictionMatchesBuildKit(t *testing.T) {
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
	rec := &recording{Base: base, Digest: desc.Digest.String(), Config: string(config),
		Nonce: fmt.Sprint(time.Now().UnixNano()), BuildKit: "v0.34.2", RecordedAt: time.Now().UTC().Truncate(time.Second)}
	runScenario(t, rec, func(i int, in Input) []Vertex {
		vs := buildctlBuild(t, buildctl, addr, in)
		rec.Steps = append(rec.Steps, vs)
		return vs
	})
	if *update && !t.Failed() {
		dt, err := json.MarshalIndent(rec, "", "  ")
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(recordingPath, append(dt, '\n'), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// TestPredictionMatchesRecordedBuildKit replays the scenario against the
// vertices a real daemon reported when it was recorded.
func TestPredictionMatchesRecordedBuildKit(t *testing.T) {
	dt, err := os.ReadFile(recordingPath)
	if err != nil {
		t.Fatalf("%v (record it: SDFORM_BUILDKIT_ADDR=… go test -run TestPredictionMatchesBuildKit -update)", err)
	}
	var rec recording
	if err := json.Unmarshal(dt, &rec); err != nil {
		t.Fatal(err)
	}
	if len(rec.Steps) != len(scenario) {
		t.Fatalf("recording has %d steps, the scenario %d: record it again", len(rec.Steps), len(scenario))
	}
	runScenario(t, &rec, func(i int, _ Input) []Vertex { return rec.Steps[i] })
}

// buildctlBuild builds in with buildctl and returns the vertices of its
// rawjson progress, one per vertex digest with its final cached flag.
func buildctlBuild(t *testing.T, buildctl, addr string, in Input) []Vertex {
	t.Helper()
	dfDir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dfDir, "Dockerfile"), in.Dockerfile, 0o644); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	args := []string{"--addr", addr, "build", "--frontend", "dockerfile.v0",
		"--local", "context=" + in.ContextDir, "--local", "dockerfile=" + dfDir, "--progress", "rawjson"}
	for _, k := range sortedKeys(in.BuildArgs) {
		args = append(args, "--opt", "build-arg:"+k+"="+in.BuildArgs[k])
	}
	// Named contexts as sdform passes them: a local directory each.
	for _, k := range sortedKeys(in.NamedContexts) {
		args = append(args, "--local", "nc-"+k+"="+in.NamedContexts[k], "--opt", "context:"+k+"=local:nc-"+k)
	}
	cmd := exec.CommandContext(ctx, buildctl, args...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("buildctl build: %v\n%s", err, stderr.String())
	}
	type rawVertex struct {
		Digest string `json:"digest"`
		Name   string `json:"name"`
		Cached bool   `json:"cached"`
	}
	var order []string
	byDigest := map[string]*Vertex{}
	sc := bufio.NewScanner(&stderr)
	sc.Buffer(make([]byte, 1<<20), 1<<24)
	for sc.Scan() {
		var st struct {
			Vertexes []rawVertex `json:"vertexes"`
		}
		if json.Unmarshal(sc.Bytes(), &st) != nil {
			continue
		}
		for _, v := range st.Vertexes {
			prev, ok := byDigest[v.Digest]
			if !ok {
				prev = &Vertex{}
				byDigest[v.Digest] = prev
				order = append(order, v.Digest)
			}
			prev.Name, prev.Cached = v.Name, prev.Cached || v.Cached
		}
	}
	out := make([]Vertex, 0, len(order))
	for _, d := range order {
		out = append(out, *byDigest[d])
	}
	return out
}
