package dockerfile

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
)

// TestPredictInstructions covers instructions whose inputs reach the key in
// their own way: named contexts, bind mounts, --link, heredocs, remote
// sources, Dockerfile-specific ignore files.
func TestPredictInstructions(t *testing.T) {
	tests := map[string]struct {
		dockerfile string
		files      map[string]string
		weights    map[string]string // a named context "weights", when set
		setup      func(p *project)
		change     func(p *project)
		want       string
		reasons    map[int]string
		// unpinned are the remote sources BuildKit fetches at every build,
		// which a caller must not plan as unchanged.
		unpinned string
	}{
		"named context, selected file changed": {
			dockerfile: "FROM busybox\nRUN echo base\nCOPY --from=weights /unet.safetensors /models/\nRUN ls /models\n",
			weights:    map[string]string{"unet.safetensors": "v1", "vae.safetensors": "v1", ".dockerignore": "*.tmp\n"},
			change: func(p *project) {
				writeFiles(p.t, p.in.NamedContexts["weights"], map[string]string{"unet.safetensors": "v2"})
			},
			want:    "2:cached 3:run 4:run",
			reasons: map[int]string{3: "files changed: unet.safetensors"},
		},
		"named context, other files changed": {
			dockerfile: "FROM busybox\nRUN echo base\nCOPY --from=weights /unet.safetensors /models/\nRUN ls /models\n",
			weights:    map[string]string{"unet.safetensors": "v1", "vae.safetensors": "v1", ".dockerignore": "*.tmp\n"},
			change: func(p *project) {
				writeFiles(p.t, p.in.NamedContexts["weights"], map[string]string{"vae.safetensors": "v2", "x.tmp": "t"})
			},
			want: "2:cached 3:cached 4:cached",
		},
		// BuildKit keys a local source by session: the steps of a stage
		// FROM a named context run at every build; a COPY --from of that
		// stage is still cached when its files come out the same.
		"stage based on a named context": {
			dockerfile: "FROM busybox AS tools\nRUN echo t > /n\nFROM weights AS w\nWORKDIR /x\nCOPY --from=tools /n /x/n\nFROM tools\nCOPY --from=w /x/n /nn\n",
			weights:    map[string]string{"w.bin": "w"},
			change:     func(p *project) {},
			want:       "2:cached 4:run 5:run 7:cached",
			reasons:    map[int]string{4: "it is based on the named context weights, which BuildKit keys by build session: it runs at every build", 5: "follows Dockerfile:4, which runs"},
		},
		"bind mount of the context": {
			dockerfile: "FROM busybox\nRUN --mount=type=bind,source=requirements.txt,target=/r.txt cat /r.txt\nCOPY app.py /\n",
			files:      map[string]string{"requirements.txt": "torch\n", "app.py": "1"},
			change:     func(p *project) { p.write(map[string]string{"requirements.txt": "torch\nmmcv\n"}) },
			want:       "2:run 3:run",
			reasons:    map[int]string{2: "files changed: requirements.txt"},
		},
		"bind mount, unrelated file changed": {
			dockerfile: "FROM busybox\nRUN --mount=type=bind,source=requirements.txt,target=/r.txt cat /r.txt\nCOPY app.py /\n",
			files:      map[string]string{"requirements.txt": "torch\n", "app.py": "1", "other.py": "1"},
			change:     func(p *project) { p.write(map[string]string{"other.py": "2"}) },
			want:       "2:cached 3:cached",
		},
		"cache and secret mounts do not key": {
			dockerfile: "FROM busybox\nRUN --mount=type=cache,target=/root/.cache --mount=type=secret,id=hf_token echo hi\n",
			setup:      func(p *project) { p.in.SecretIDs = []string{"hf_token"} },
			change:     func(p *project) { p.in.SecretValues = []string{"a-new-token-value"} },
			want:       "2:cached",
		},
		"COPY --link survives an earlier change": {
			dockerfile: "FROM busybox\nARG V=1\nRUN echo $V\nCOPY --link app.py /\nRUN echo done\n",
			files:      map[string]string{"app.py": "1"},
			change:     func(p *project) { p.in.BuildArgs["V"] = "2" },
			want:       "3:run 4:cached 5:run",
			reasons:    map[int]string{5: "follows Dockerfile:3, which runs"},
		},
		"heredoc changed": {
			dockerfile: "FROM busybox\nCOPY <<EOF /etc/app.conf\nmode=prod\nEOF\nRUN cat /etc/app.conf\n",
			change: func(p *project) {
				p.in.Dockerfile = []byte(strings.Replace(string(p.in.Dockerfile), "mode=prod", "mode=dev", 1))
			},
			want:    "2:run 5:run",
			reasons: map[int]string{2: "inline document changed"},
		},
		"ADD of a URL": {
			dockerfile: "FROM busybox\nRUN echo base\nADD https://example.com/model.bin /m.bin\nRUN ls\n",
			change:     func(p *project) {},
			want:       "2:cached 3:uncertain 4:uncertain",
			reasons:    map[int]string{3: "content of example.com/model.bin is not checked at plan time"},
			unpinned:   "example.com/model.bin",
		},
		"ADD of a URL with a checksum": {
			dockerfile: "FROM busybox\nRUN echo base\nADD --checksum=sha256:" + strings.Repeat("a", 64) + " https://example.com/model.bin /m.bin\nRUN ls\n",
			change:     func(p *project) {},
			want:       "2:cached 3:cached 4:cached",
		},
		"ADD of a URL whose checksum changed": {
			dockerfile: "FROM busybox\nRUN echo base\nADD --checksum=sha256:" + strings.Repeat("a", 64) + " https://example.com/model.bin /m.bin\nRUN ls\n",
			change: func(p *project) {
				p.in.Dockerfile = []byte(strings.Replace(string(p.in.Dockerfile), strings.Repeat("a", 64), strings.Repeat("b", 64), 1))
			},
			want:    "2:cached 3:run 4:run",
			reasons: map[int]string{3: "checksum of https://example.com/model.bin changed"},
		},
		"Dockerfile.dockerignore wins over .dockerignore": {
			dockerfile: "FROM busybox\nCOPY . /src\n",
			files:      map[string]string{"a.txt": "a", "b.py": "b", ".dockerignore": "*.py\n"},
			setup: func(p *project) {
				p.in.DockerfilePath = filepath.Join(p.in.ContextDir, "Dockerfile")
				writeFiles(p.t, p.in.ContextDir, map[string]string{"Dockerfile": string(p.in.Dockerfile), "Dockerfile.dockerignore": "*.txt\n"})
			},
			change: func(p *project) { p.write(map[string]string{"a.txt": "A"}) },
			want:   "2:cached",
		},
		"USER changes later RUNs": {
			dockerfile: "FROM busybox\nRUN echo a\nUSER nobody\nCOPY app.py /\nRUN id\n",
			files:      map[string]string{"app.py": "1"},
			change: func(p *project) {
				p.in.Dockerfile = []byte(strings.Replace(string(p.in.Dockerfile), "USER nobody", "USER root", 1))
			},
			want: "2:cached 4:cached 5:run",
		},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			p := newProject(t, tt.dockerfile, tt.files)
			if tt.weights != nil {
				dir := t.TempDir()
				writeFiles(t, dir, tt.weights)
				p.in.NamedContexts = map[string]string{"weights": dir}
			}
			if tt.setup != nil {
				tt.setup(p)
			}
			p.build()
			tt.change(p)
			pr := p.plan()
			if got := statuses(pr); got != tt.want {
				t.Errorf("steps:\n got %s\nwant %s\n%s", got, tt.want, pr.Summary)
			}
			for _, s := range pr.Steps {
				if want, ok := tt.reasons[s.Line]; ok && s.Reason != want {
					t.Errorf("line %d reason = %q, want %q", s.Line, s.Reason, want)
				}
			}
			if got := strings.Join(pr.Unpinned, " "); got != tt.unpinned {
				t.Errorf("unpinned sources = %q, want %q", got, tt.unpinned)
			}
		})
	}
}

func TestNamedContextIsNotAnImage(t *testing.T) {
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{"w.bin": "w"})
	res := busybox()
	r, err := Analyze(context.Background(), Input{
		Dockerfile:    []byte("FROM busybox\nCOPY --from=weights /w.bin /\n"),
		NamedContexts: map[string]string{"weights": dir},
		Resolver:      res,
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Images) != 1 || r.Images[0].Ref != "docker.io/library/busybox:latest" {
		t.Errorf("images = %+v, want busybox only", r.Images)
	}
	if res.calls["docker.io/library/weights:latest"] != 0 {
		t.Error("the named context was resolved as an image")
	}
}

// Build-arg values that look secret never reach the plan's texts, though
// BuildKit puts them in its vertex names.
func TestSecretValuesMasked(t *testing.T) {
	p := newProject(t, "FROM busybox\nARG API_TOKEN\nARG HF\nRUN echo $API_TOKEN $HF > /t\n", nil)
	p.in.BuildArgs = map[string]string{"API_TOKEN": "tok-123456", "HF": "hf_secretvalue"}
	p.in.SecretValues = []string{"hf_secretvalue"}
	r, err := Analyze(context.Background(), p.in)
	if err != nil {
		t.Fatal(err)
	}
	pr := r.Prediction
	texts := []string{pr.Summary, render(r.Findings)}
	for _, s := range pr.Steps {
		texts = append(texts, s.Instruction, s.Vertex, s.Reason)
	}
	for _, text := range texts {
		if strings.Contains(text, "tok-123456") || strings.Contains(text, "hf_secretvalue") {
			t.Errorf("secret in %q", text)
		}
	}
	if got := pr.Steps[0].Instruction; got != "RUN echo **** **** > /t" {
		t.Errorf("instruction = %q", got)
	}
}

func TestKeysRefusesBrokenDockerfile(t *testing.T) {
	_, err := Keys(context.Background(), Input{Dockerfile: []byte("FROM busybox\nFORM x\n")})
	if err == nil || !strings.Contains(err.Error(), "unknown instruction: FORM") {
		t.Errorf("err = %v, want the Dockerfile's error", err)
	}
}

func TestUnreadableContext(t *testing.T) {
	_, err := Analyze(context.Background(), Input{Dockerfile: []byte("FROM busybox\nCOPY . .\n"), ContextDir: filepath.Join(t.TempDir(), "gone")})
	if err == nil || !strings.Contains(err.Error(), "read context") {
		t.Errorf("err = %v, want a context error", err)
	}
}

func TestEmptyDockerfile(t *testing.T) {
	r, err := Analyze(context.Background(), Input{Dockerfile: []byte("\n  \n")})
	if err != nil {
		t.Fatal(err)
	}
	if !r.HasErrors() || r.Prediction != nil {
		t.Errorf("findings %v, prediction %v", r.Findings, r.Prediction)
	}
}

func TestCancelled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := Analyze(ctx, Input{Dockerfile: []byte("FROM busybox\n"), Resolver: busybox()})
	if err == nil {
		t.Error("a cancelled analysis returned no error")
	}
}
