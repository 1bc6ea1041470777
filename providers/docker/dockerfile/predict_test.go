package dockerfile

import (
	"strings"
	"testing"
	"time"
)

// appDockerfile is a two-stage build shaped like the ComfyUI images: a deps
// stage, then an app stage that copies its result, its sources and config.
const appDockerfile = `FROM busybox AS deps
ARG PIP_VERSION=23
WORKDIR /app
COPY requirements.txt ./
RUN echo pip $PIP_VERSION install -r requirements.txt > /deps.txt
FROM busybox
ARG VARIANT=fp8
ENV MODE=prod
LABEL org.example.rev=1
WORKDIR /srv
COPY --from=deps /deps.txt ./
COPY src/ ./src/
RUN echo build $VARIANT $MODE > build.txt
COPY config.yaml ./
`

func appFiles() map[string]string {
	return map[string]string{
		"requirements.txt": "torch==2.4\n",
		"src/app.py":       "print('app')\n",
		"src/util.py":      "X = 1\n",
		"config.yaml":      "mode: prod\n",
		"notes.log":        "build notes\n",
		".dockerignore":    "*.log\n",
	}
}

func TestPredict(t *testing.T) {
	tests := map[string]struct {
		// change runs after the first recorded build, before the plan.
		change  func(p *project)
		noBuild bool
		want    string
		summary string
		reasons map[int]string // line → reason
	}{
		"first build": {
			noBuild: true,
			want:    "3:run 4:run 5:run 10:run 11:run 12:run 13:run 14:run",
			summary: "8 to run (no earlier build recorded)",
			reasons: map[int]string{5: "no earlier build recorded"},
		},
		"no-op": {
			change:  func(p *project) {},
			want:    "3:cached 4:cached 5:cached 10:cached 11:cached 12:cached 13:cached 14:cached",
			summary: "8 cached",
		},
		"file copied by the last COPY changed": {
			change:  func(p *project) { p.write(map[string]string{"config.yaml": "mode: dev\n"}) },
			want:    "3:cached 4:cached 5:cached 10:cached 11:cached 12:cached 13:cached 14:run",
			summary: "7 cached, 1 to run (first change: Dockerfile:14 COPY config.yaml ./)",
			reasons: map[int]string{14: "files changed: config.yaml"},
		},
		"file excluded by .dockerignore changed": {
			change:  func(p *project) { p.write(map[string]string{"notes.log": "more notes\n"}) },
			want:    "3:cached 4:cached 5:cached 10:cached 11:cached 12:cached 13:cached 14:cached",
			summary: "8 cached",
		},
		"file no COPY selects added": {
			change:  func(p *project) { p.write(map[string]string{"docs/readme.md": "# app\n"}) },
			want:    "3:cached 4:cached 5:cached 10:cached 11:cached 12:cached 13:cached 14:cached",
			summary: "8 cached",
		},
		"late step's source changed": {
			change:  func(p *project) { p.write(map[string]string{"src/util.py": "X = 2\n"}) },
			want:    "3:cached 4:cached 5:cached 10:cached 11:cached 12:run 13:run 14:run",
			summary: "5 cached, 3 to run (first change: Dockerfile:12 COPY src/ ./src/)",
			reasons: map[int]string{12: "files changed: src", 13: "follows Dockerfile:12, which runs", 14: "follows Dockerfile:13, which runs"},
		},
		"build arg used only by the later stage": {
			change:  func(p *project) { p.in.BuildArgs["VARIANT"] = "fp16" },
			want:    "3:cached 4:cached 5:cached 10:cached 11:cached 12:cached 13:run 14:run",
			summary: "6 cached, 2 to run (first change: Dockerfile:13 RUN echo build fp16 prod > build.txt)",
			reasons: map[int]string{13: "build arg VARIANT changed"},
		},
		"build arg of the first stage": {
			change:  func(p *project) { p.in.BuildArgs["PIP_VERSION"] = "24" },
			want:    "3:cached 4:cached 5:run 10:cached 11:uncertain 12:uncertain 13:uncertain 14:uncertain",
			summary: "3 cached, 1 to run (first change: Dockerfile:5 RUN echo pip 24 install -r requirements.txt > /deps.txt), up to 4 more if stage deps produces different files",
			reasons: map[int]string{5: "build arg PIP_VERSION changed", 11: "stage deps runs and may produce different files"},
		},
		"rebuilt stage and a changed COPY --from": {
			change: func(p *project) {
				p.in.BuildArgs["PIP_VERSION"] = "24"
				p.in.Dockerfile = []byte(strings.Replace(appDockerfile, "/deps.txt ./", "/deps.txt ./deps/", 1))
			},
			want:    "3:cached 4:cached 5:run 10:cached 11:run 12:run 13:run 14:run",
			summary: "3 cached, 5 to run (first change: Dockerfile:5 RUN echo pip 24 install -r requirements.txt > /deps.txt)",
			reasons: map[int]string{11: "instruction changed", 12: "follows Dockerfile:11, which runs"},
		},
		"ENV changed": {
			change: func(p *project) {
				p.in.Dockerfile = []byte(strings.Replace(appDockerfile, "MODE=prod", "MODE=dev", 1))
			},
			want:    "3:cached 4:cached 5:cached 10:cached 11:cached 12:cached 13:run 14:run",
			summary: "6 cached, 2 to run (first change: Dockerfile:13 RUN echo build fp8 dev > build.txt)",
			reasons: map[int]string{13: "ENV MODE changed"},
		},
		"LABEL changed": {
			change: func(p *project) {
				p.in.Dockerfile = []byte(strings.Replace(appDockerfile, "rev=1", "rev=2", 1))
			},
			want:    "3:cached 4:cached 5:cached 10:cached 11:cached 12:cached 13:cached 14:cached",
			summary: "8 cached",
		},
		"WORKDIR changed": {
			change: func(p *project) {
				p.in.Dockerfile = []byte(strings.Replace(appDockerfile, "WORKDIR /srv", "WORKDIR /opt", 1))
			},
			want:    "3:cached 4:cached 5:cached 10:run 11:run 12:run 13:run 14:run",
			summary: "3 cached, 5 to run (first change: Dockerfile:10 WORKDIR /opt)",
			reasons: map[int]string{10: "instruction changed"},
		},
		"base image changed": {
			change:  func(p *project) { p.in.Resolver.(*fakeResolver).set("docker.io/library/busybox:latest", digestN(7)) },
			want:    "3:run 4:run 5:run 10:run 11:run 12:run 13:run 14:run",
			summary: "8 to run (first change: Dockerfile:3 WORKDIR /app)",
			reasons: map[int]string{3: "base image docker.io/library/busybox:latest changed", 4: "follows Dockerfile:3, which runs"},
		},
		"offline": {
			change:  func(p *project) { p.in.Resolver = nil },
			want:    "3:uncertain 4:uncertain 5:uncertain 10:uncertain 11:uncertain 12:uncertain 13:uncertain 14:uncertain",
			summary: "up to 8 to run if base image docker.io/library/busybox:latest changed (not resolved offline)",
			reasons: map[int]string{3: "base image docker.io/library/busybox:latest not resolved (offline)"},
		},
		"offline with a changed source": {
			change: func(p *project) {
				p.in.Resolver = nil
				p.write(map[string]string{"config.yaml": "mode: dev\n"})
			},
			want:    "3:uncertain 4:uncertain 5:uncertain 10:uncertain 11:uncertain 12:uncertain 13:uncertain 14:uncertain",
			summary: "up to 8 to run if base image docker.io/library/busybox:latest changed (not resolved offline)",
		},
		"no cache": {
			change:  func(p *project) { p.in.NoCache = true },
			want:    "3:run 4:run 5:run 10:run 11:run 12:run 13:run 14:run",
			summary: "8 to run (first change: Dockerfile:3 WORKDIR /app)",
			reasons: map[int]string{13: "no_cache is set"},
		},
		"target stage only": {
			change: func(p *project) {
				p.in.Target = "deps"
				p.in.BuildArgs["VARIANT"] = "fp16"
			},
			want:    "3:cached 4:cached 5:cached",
			summary: "3 cached",
		},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			p := newProject(t, appDockerfile, appFiles())
			if !tt.noBuild {
				p.build()
			}
			if tt.change != nil {
				tt.change(p)
			}
			pr := p.plan()
			if got := statuses(pr); got != tt.want {
				t.Errorf("steps:\n got %s\nwant %s", got, tt.want)
			}
			if pr.Summary != tt.summary {
				t.Errorf("summary:\n got %q\nwant %q", pr.Summary, tt.summary)
			}
			for _, s := range pr.Steps {
				want, ok := tt.reasons[s.Line]
				if ok && s.Reason != want {
					t.Errorf("line %d reason = %q, want %q", s.Line, s.Reason, want)
				}
				if s.Status == Cached && s.Reason != "" {
					t.Errorf("cached line %d has a reason: %q", s.Line, s.Reason)
				}
				if s.Status != Cached && s.Reason == "" {
					t.Errorf("line %d (%s) has no reason", s.Line, s.Status)
				}
			}
			if n := pr.Cached + pr.ToRun + pr.Uncertain; n != len(pr.Steps) {
				t.Errorf("counts %d+%d+%d != %d steps", pr.Cached, pr.ToRun, pr.Uncertain, len(pr.Steps))
			}
		})
	}
}

func TestPredictOlderBuild(t *testing.T) {
	p := newProject(t, appDockerfile, appFiles())
	first := p.build()
	p.in.BuildArgs["VARIANT"] = "fp16"
	if got := statuses(p.plan()); got != "3:cached 4:cached 5:cached 10:cached 11:cached 12:cached 13:run 14:run" {
		t.Fatalf("after changing VARIANT: %s", got)
	}
	p.build()
	p.in.BuildArgs["VARIANT"] = "fp8"
	pr := p.plan()
	if got, want := statuses(pr), "3:cached 4:cached 5:cached 10:cached 11:cached 12:cached 13:cached 14:cached"; got != want {
		t.Fatalf("back to fp8:\n got %s\nwant %s", got, want)
	}
	for _, s := range pr.Steps {
		older := s.Line >= 13
		if older && !s.CachedFrom.Equal(first) {
			t.Errorf("line %d cached from %v, want the first build (%v)", s.Line, s.CachedFrom, first)
		}
		if !older && !s.CachedFrom.IsZero() {
			t.Errorf("line %d cached from %v, want the latest build (zero)", s.Line, s.CachedFrom)
		}
	}
	if want := "8 cached (from the build of 2026-11-20 15:02)"; pr.Summary != want {
		t.Errorf("summary = %q, want %q", pr.Summary, want)
	}
}

// A stage rebuilt with different args makes the steps over its output
// uncertain only while some recorded build had them; once both variants
// were built, either is cached.
func TestPredictRebuiltStageHistory(t *testing.T) {
	p := newProject(t, appDockerfile, appFiles())
	p.build()
	p.in.BuildArgs["PIP_VERSION"] = "24"
	p.build()
	p.in.BuildArgs["PIP_VERSION"] = "23"
	if got, want := statuses(p.plan()), "3:cached 4:cached 5:cached 10:cached 11:cached 12:cached 13:cached 14:cached"; got != want {
		t.Errorf("back to 23:\n got %s\nwant %s", got, want)
	}
	p.in.BuildArgs["PIP_VERSION"] = "25"
	pr := p.plan()
	if got, want := statuses(pr), "3:cached 4:cached 5:run 10:cached 11:uncertain 12:uncertain 13:uncertain 14:uncertain"; got != want {
		t.Errorf("new version:\n got %s\nwant %s", got, want)
	}
	// With a changed config the last COPY runs whatever deps produces.
	p.write(map[string]string{"config.yaml": "mode: dev\n"})
	pr = p.plan()
	if got, want := statuses(pr), "3:cached 4:cached 5:run 10:cached 11:uncertain 12:uncertain 13:uncertain 14:run"; got != want {
		t.Errorf("new version and config:\n got %s\nwant %s", got, want)
	}
	if want := "3 cached, 2 to run (first change: Dockerfile:5 RUN echo pip 25 install -r requirements.txt > /deps.txt), up to 3 more if stage deps produces different files"; pr.Summary != want {
		t.Errorf("summary = %q, want %q", pr.Summary, want)
	}
}

func TestPredictKeysStable(t *testing.T) {
	p := newProject(t, appDockerfile, appFiles())
	a, b := p.plan(), p.plan()
	for i := range a.Steps {
		if a.Steps[i].Key != b.Steps[i].Key || a.Steps[i].Key == "" {
			t.Errorf("line %d key %q then %q", a.Steps[i].Line, a.Steps[i].Key, b.Steps[i].Key)
		}
	}
	if strings.Join(a.Keys, ",") != strings.Join(b.Keys, ",") {
		t.Error("recorded keys differ between two plans of the same inputs")
	}
	// A moved context with the same files is the same build.
	q := newProject(t, appDockerfile, appFiles())
	if c := q.plan(); c.Steps[len(c.Steps)-1].Key != a.Steps[len(a.Steps)-1].Key {
		t.Error("the same files in another directory give another key")
	}
}

func TestKeyHistory(t *testing.T) {
	t1 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	t2 := t1.Add(time.Hour)
	h := KeyHistory{}
	h.Record([]string{"a", "b"}, t2)
	h.Record([]string{"b", "c"}, t1)
	if !h["a"].Equal(t2) || !h["b"].Equal(t2) || !h["c"].Equal(t1) {
		t.Errorf("history = %v: a key keeps the time of its newest build", h)
	}
	if !h.Latest().Equal(t2) {
		t.Errorf("latest = %v", h.Latest())
	}
	if n := h.Prune(t2); n != 1 || len(h) != 2 {
		t.Errorf("prune dropped %d, left %v", n, h)
	}
}
