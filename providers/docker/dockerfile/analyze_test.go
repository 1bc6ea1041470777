package dockerfile

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

type wantFinding struct {
	severity Severity
	rule     string
	line     int
	contains string
}

func TestFindings(t *testing.T) {
	tests := map[string]struct {
		in    func(*Input)
		files map[string]string
		want  []wantFinding
		// prediction says whether BuildKit accepts the Dockerfile.
		prediction bool
	}{
		"unknown-instruction": {
			want: []wantFinding{{Error, "Syntax", 3, "unknown instruction: FORM (did you mean FROM?)"}},
		},
		"copy-one-arg": {
			want: []wantFinding{{Error, "Syntax", 3, "COPY requires at least two arguments"}},
		},
		"lowercase-from": {
			want:       []wantFinding{{Warning, "ConsistentInstructionCasing", 1, "Command 'from' should match"}},
			prediction: true,
		},
		"maintainer": {
			want:       []wantFinding{{Warning, "MaintainerDeprecated", 2, "deprecated"}},
			prediction: true,
		},
		"json-args": {
			want:       []wantFinding{{Warning, "JSONArgsRecommended", 3, "JSON arguments recommended for CMD"}},
			prediction: true,
		},
		"undefined-var": {
			want:       []wantFinding{{Warning, "UndefinedVar", 3, "Usage of undefined variable '$APP_DIR'"}},
			prediction: true,
		},
		"build-args": {
			in: func(in *Input) {
				in.BuildArgs = map[string]string{"VARIANT": "fp16", "ENABLE_FLASH_ATN": "false", "variant": "x", "HTTP_PROXY": "http://127.0.0.1:3128"}
			},
			want: []wantFinding{
				{Error, "UndeclaredBuildArg", 0, `"ENABLE_FLASH_ATN", but no ARG instruction declares it, so BuildKit would ignore it. Did you mean "ENABLE_FLASH_ATTN"?`},
				{Error, "UndeclaredBuildArg", 0, `"variant", but no ARG instruction declares it, so BuildKit would ignore it. Did you mean "VARIANT"?`},
			},
			prediction: true,
		},
		"arg-without-default": {
			want: []wantFinding{
				{Warning, "BuildArgWithoutValue", 1, "ARG BASE_TAG (global) has no default"},
				{Warning, "BuildArgWithoutValue", 3, "ARG MODEL_URL has no default"},
			},
			prediction: true,
		},
		"secrets": {
			in: func(in *Input) {
				in.BuildArgs = map[string]string{"HF_TOKEN": "hf_abcdefgh"}
				in.SecretIDs = []string{"civitai"}
				in.SecretValues = []string{"hf_abcdefgh"}
			},
			want: []wantFinding{
				{Error, "SecretInBuildArg", 0, "Pass it as a secret mount: secrets = { hf_token = … }"},
				{Warning, "SecretsUsedInArgOrEnv", 2, `Do not use ARG or ENV instructions for sensitive data (ARG "HF_TOKEN")`},
				{Error, "MissingSecret", 3, `RUN mounts secret "hf_token", but the build passes no secret with that id, so BuildKit would fail this step`},
			},
			prediction: true,
		},
		"target": {
			in:   func(in *Input) { in.Target = "ap" },
			want: []wantFinding{{Error, "Syntax", 0, `target stage "ap" could not be found`}},
		},
		"copy-missing": {
			files: map[string]string{"secret.env": "A=1", ".dockerignore": "*.env\n"},
			want: []wantFinding{
				{Error, "CopySourceNotFound", 2, `needs "missing.txt" from the build context`},
				{Error, "CopySourceNotFound", 3, `excludes it`},
			},
			prediction: true,
		},
		"unresolved": {
			want: []wantFinding{
				{Error, "BaseImageUnresolved", 3, "Base image example.com/nope/nope:1 could not be resolved: example.com/nope/nope:1: not found."},
			},
			prediction: true,
		},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			path := filepath.Join("testdata", "findings", name+".Dockerfile")
			df, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			dir := t.TempDir()
			writeFiles(t, dir, tt.files)
			in := Input{Dockerfile: df, DockerfilePath: "docker/Dockerfile", ContextDir: dir, Resolver: busybox()}
			if tt.in != nil {
				tt.in(&in)
			}
			r, err := Analyze(context.Background(), in)
			if err != nil {
				t.Fatal(err)
			}
			for _, w := range tt.want {
				i := slices.IndexFunc(r.Findings, func(f Finding) bool {
					return f.Severity == w.severity && f.Rule == w.rule && f.Line == w.line && strings.Contains(f.Message, w.contains)
				})
				if i < 0 {
					t.Errorf("missing %s %s at line %d containing %q; got:\n%s", w.severity, w.rule, w.line, w.contains, render(r.Findings))
				}
			}
			for _, f := range r.Findings {
				if f.File != "docker/Dockerfile" {
					t.Errorf("finding %s names file %q", f, f.File)
				}
				if f.Summary == "" || f.Message == "" {
					t.Errorf("finding %s lacks a summary or message", f)
				}
				if strings.Contains(f.Message, "hf_abcdefgh") {
					t.Errorf("finding prints a secret: %s", f)
				}
			}
			if got := r.Prediction != nil; got != tt.prediction {
				t.Errorf("prediction present = %v, want %v", got, tt.prediction)
			}
			if r.HasErrors() != slices.ContainsFunc(tt.want, func(w wantFinding) bool { return w.severity == Error }) {
				t.Errorf("HasErrors = %v with findings:\n%s", r.HasErrors(), render(r.Findings))
			}
			golden(t, filepath.Join("testdata", "findings", name+".golden"), render(r.Findings))
		})
	}
}

func render(fs []Finding) string {
	var b strings.Builder
	for _, f := range fs {
		b.WriteString(f.String())
		b.WriteByte('\n')
	}
	return b.String()
}

// golden compares got with a file under testdata, rewriting it with -update.
func golden(t *testing.T, path, got string) {
	t.Helper()
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if string(want) != got {
		t.Errorf("%s differs (go test -update rewrites it):\n--- want\n%s--- got\n%s", path, want, got)
	}
}

func TestImages(t *testing.T) {
	df := "ARG BASE=busybox\nARG TAG=1.36\nFROM ${BASE}:${TAG} AS base\nRUN echo\nFROM base AS app\nCOPY --from=alpine:3 /etc/alpine-release /\nFROM ubuntu AS unused\n"
	tests := map[string]struct {
		args map[string]string
		want []Image
	}{
		"defaults": {
			want: []Image{
				{Ref: "docker.io/library/alpine:3", Digest: digestN(2), Lines: []int{6}},
				{Ref: "docker.io/library/busybox:1.36", Digest: digestN(1), Lines: []int{3}},
			},
		},
		"build arg replaces the base": {
			args: map[string]string{"BASE": "registry.example.com/team/base", "TAG": "2"},
			want: []Image{
				{Ref: "docker.io/library/alpine:3", Digest: digestN(2), Lines: []int{6}},
				{Ref: "registry.example.com/team/base:2", Digest: digestN(3), Lines: []int{3}},
			},
		},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			res := newResolver(map[string]string{
				"docker.io/library/busybox:1.36":   digestN(1),
				"docker.io/library/alpine:3":       digestN(2),
				"registry.example.com/team/base:2": digestN(3),
				"docker.io/library/ubuntu:latest":  digestN(4),
			})
			r, err := Analyze(context.Background(), Input{Dockerfile: []byte(df), BuildArgs: tt.args, Target: "app", Resolver: res})
			if err != nil {
				t.Fatal(err)
			}
			if !slices.EqualFunc(r.Images, tt.want, func(a, b Image) bool {
				return a.Ref == b.Ref && a.Digest == b.Digest && slices.Equal(a.Lines, b.Lines)
			}) {
				t.Errorf("images = %+v, want %+v", r.Images, tt.want)
			}
			for ref, n := range res.calls {
				if n != 1 {
					t.Errorf("resolved %s %d times, want once", ref, n)
				}
			}
		})
	}
}

func TestOfflineImagesListed(t *testing.T) {
	r, err := Analyze(context.Background(), Input{Dockerfile: []byte("FROM busybox:1.36\nRUN echo\n")})
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Images) != 1 || r.Images[0].Ref != "docker.io/library/busybox:1.36" || r.Images[0].Digest != "" {
		t.Errorf("images = %+v, want busybox:1.36 without digest", r.Images)
	}
	if got := r.Prediction.Unresolved; !slices.Equal(got, []string{"docker.io/library/busybox:1.36"}) {
		t.Errorf("unresolved = %v", got)
	}
}
