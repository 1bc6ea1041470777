package dockerfile

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// The image config digest follows what reaches the exported config (CMD,
// ENV, LABEL, USER, the history of the target's instructions) and nothing
// else: a comment or a blank line changes no image.
func TestImageConfigDigest(t *testing.T) {
	const base = "FROM busybox AS deps\nRUN echo deps > /d\n\nFROM busybox\nCOPY --from=deps /d /d\nENV A=1\nCMD [\"sh\"]\n"
	tests := map[string]struct {
		dockerfile string
		target     string
		args       map[string]string
		same       bool
	}{
		"identical":                {dockerfile: base, same: true},
		"comment":                  {dockerfile: "# a comment\n" + base, same: true},
		"comment in another stage": {dockerfile: strings.Replace(base, "RUN echo deps", "# why\nRUN echo deps", 1), same: true},
		"blank lines":              {dockerfile: strings.ReplaceAll(base, "\n", "\n\n"), same: true},
		"unused build arg value":   {dockerfile: "ARG UNUSED\n" + base, args: map[string]string{"UNUSED": "x"}, same: true},
		"cmd":                      {dockerfile: strings.Replace(base, `CMD ["sh"]`, `CMD ["sh", "-c", "true"]`, 1)},
		"env":                      {dockerfile: strings.Replace(base, "ENV A=1", "ENV A=2", 1)},
		"label":                    {dockerfile: base + "LABEL org.example=1\n"},
		"user":                     {dockerfile: base + "USER nobody\n"},
		"target":                   {dockerfile: base, target: "deps"},
	}
	digestOf := func(t *testing.T, dockerfile, target string, args map[string]string) string {
		t.Helper()
		r, err := Analyze(context.Background(), Input{Dockerfile: []byte(dockerfile), Target: target, BuildArgs: args, Resolver: busybox()})
		if err != nil {
			t.Fatal(err)
		}
		if r.HasErrors() {
			t.Fatalf("findings: %v", r.Findings)
		}
		if !strings.HasPrefix(r.ImageConfig, "sha256:") {
			t.Fatalf("ImageConfig = %q, want a digest", r.ImageConfig)
		}
		return r.ImageConfig
	}
	want := digestOf(t, base, "", nil)
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			got := digestOf(t, tt.dockerfile, tt.target, tt.args)
			if (got == want) != tt.same {
				t.Errorf("same digest = %v, want %v", got == want, tt.same)
			}
		})
	}
}

// DisplayName names the Dockerfile in findings and the summary, while
// DockerfilePath still finds "<Dockerfile>.dockerignore" beside it.
func TestDisplayName(t *testing.T) {
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{
		"ctx/a.txt":                      "a",
		"ctx/secret.txt":                 "s",
		"docker/Dockerfile":              "from busybox\nCOPY a.txt /a\nCOPY secret.txt /s\nRUN cat /a\n",
		"docker/Dockerfile.dockerignore": "secret.txt\n",
		"ctx/.dockerignore":              "a.txt\n",
	})
	in := Input{
		DockerfilePath: filepath.Join(dir, "docker", "Dockerfile"),
		DisplayName:    "docker/Dockerfile",
		ContextDir:     filepath.Join(dir, "ctx"),
		Resolver:       busybox(),
		PriorKeys:      KeyHistory{},
	}
	var err error
	if in.Dockerfile, err = os.ReadFile(in.DockerfilePath); err != nil {
		t.Fatal(err)
	}
	r, err := Analyze(context.Background(), in)
	if err != nil {
		t.Fatal(err)
	}
	var rules []string
	for _, f := range r.Findings {
		rules = append(rules, f.Rule)
		if f.File != "docker/Dockerfile" {
			t.Errorf("finding %s names %q, want the display name", f.Rule, f.File)
		}
		if strings.Contains(f.Message, dir) {
			t.Errorf("finding %s shows the absolute path: %s", f.Rule, f.Message)
		}
	}
	// The Dockerfile's own .dockerignore (which excludes secret.txt, not
	// a.txt) applied, not the context's.
	if !slices.Contains(rules, "CopySourceNotFound") || !strings.Contains(render(r.Findings), "secret.txt") || strings.Contains(render(r.Findings), `"a.txt"`) {
		t.Errorf("findings = %s, want secret.txt excluded by docker/Dockerfile.dockerignore only", render(r.Findings))
	}
	if r.Prediction == nil {
		t.Fatal("no prediction")
	}
	if r.Prediction.File != "docker/Dockerfile" || strings.Contains(r.Prediction.Summary, dir) {
		t.Errorf("prediction names %q: %s", r.Prediction.File, r.Prediction.Summary)
	}
}

// Lint reports what Analyze reports without hashing the context: no file
// of it is read, no stat cache is written, and there is no prediction.
func TestLint(t *testing.T) {
	files := map[string]string{
		"a.txt":         "a",
		"ignored.txt":   "i",
		"src/x.py":      "x",
		"src/y.py":      "y",
		".dockerignore": "ignored.txt\n",
	}
	dockerfiles := map[string]string{
		"clean":          "FROM busybox\nCOPY a.txt /a\nCOPY src/ /src/\nCOPY src/*.py /py/\nCOPY . /all\nRUN true\n",
		"missing source": "FROM busybox\nCOPY missing.txt /m\nCOPY nomatch*.txt /n/\nRUN true\n",
		"ignored source": "FROM busybox\nCOPY ignored.txt /i\n",
		"lint and args":  "from busybox\nMAINTAINER me\nARG NODEFAULT\nCOPY a.txt /a\nCMD sh\n",
		"syntax error":   "FROM busybox\nCOPY a.txt\n",
		"missing secret": "FROM busybox\nRUN --mount=type=secret,id=tok,required=true true\n",
	}
	for name, df := range dockerfiles {
		t.Run(name, func(t *testing.T) {
			p := newProject(t, df, files)
			p.in.BuildArgs = map[string]string{"UNDECLARED": "1"}
			full, err := Analyze(context.Background(), p.in)
			if err != nil {
				t.Fatal(err)
			}
			reads := &countingOpen{}
			p.in.open = reads.open
			p.in.CacheDir = filepath.Join(t.TempDir(), "cache")
			lint, err := Lint(context.Background(), p.in)
			if err != nil {
				t.Fatal(err)
			}
			if got, want := render(lint.Findings), render(full.Findings); got != want {
				t.Errorf("Lint findings:\n%s\nAnalyze findings:\n%s", got, want)
			}
			if lint.Prediction != nil {
				t.Errorf("Lint predicted: %s", lint.Prediction.Summary)
			}
			if n := reads.n.Load(); n != 0 {
				t.Errorf("Lint read %d context files", n)
			}
			if _, err := os.Stat(p.in.CacheDir); err == nil {
				t.Errorf("Lint wrote a stat cache")
			}
		})
	}
}

// cannotTell is a resolver that can check no image (a registry that does
// not answer): it returns no digest and no error.
type cannotTell struct{}

func (cannotTell) ResolveImage(context.Context, string) (string, []byte, error) {
	return "", nil, nil
}

// A base image the resolver cannot check is unresolved, not missing: no
// error finding, and the steps over it are uncertain.
func TestResolverCannotTell(t *testing.T) {
	p := newProject(t, "FROM busybox\nRUN echo hi > /hi\n", nil)
	p.build()
	p.in.Resolver = cannotTell{}
	r, err := Analyze(context.Background(), p.in)
	if err != nil {
		t.Fatal(err)
	}
	if r.HasErrors() {
		t.Errorf("findings = %s, want none", render(r.Findings))
	}
	if r.Prediction == nil {
		t.Fatal("no prediction")
	}
	if got := statuses(r.Prediction); got != "2:uncertain" {
		t.Errorf("steps = %s, want 2:uncertain", got)
	}
	if !slices.Equal(r.Prediction.Unresolved, []string{"docker.io/library/busybox:latest"}) {
		t.Errorf("unresolved = %v", r.Prediction.Unresolved)
	}
}
