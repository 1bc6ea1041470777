package dockerfile

import (
	"strconv"
	"strings"
	"testing"
)

func TestParseVertexName(t *testing.T) {
	type parsed struct {
		stage        string
		index, total int
		instruction  string
	}
	tests := map[string]struct {
		name string
		want *parsed // nil: not a step vertex
	}{
		"stage step":         {"[deps 4/4] RUN echo 1 > /v", &parsed{"deps", 4, 4, "RUN echo 1 > /v"}},
		"unnamed stage":      {"[stage-1 2/4] COPY --from=deps /v /v", &parsed{"stage-1", 2, 4, "COPY --from=deps /v /v"}},
		"single stage":       {"[3/5] COPY . .", &parsed{"", 3, 5, "COPY . ."}},
		"padded number":      {"[deps  2/12] WORKDIR /app", &parsed{"deps", 2, 12, "WORKDIR /app"}},
		"platform prefix":    {"[linux/arm64 deps 2/5] RUN make", &parsed{"deps", 2, 5, "RUN make"}},
		"cross platform":     {"[linux/amd64->arm64 build 1/3] FROM docker.io/library/golang:1.26", &parsed{"build", 1, 3, "FROM docker.io/library/golang:1.26"}},
		"link":               {"[stage-1 5/6] LINK COPY --link a /a", &parsed{"stage-1", 5, 6, "LINK COPY --link a /a"}},
		"internal":           {"[internal] load build context", nil},
		"image of COPY":      {"FROM docker.io/library/alpine:3", nil},
		"index beyond total": {"[deps 5/4] RUN x", nil},
		"no brackets":        {"RUN x", nil},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			stage, i, n, instr, ok := ParseVertexName(tt.name)
			if tt.want == nil {
				if ok {
					t.Errorf("parsed %q as a step", tt.name)
				}
				return
			}
			got := parsed{stage, i, n, instr}
			if !ok || got != *tt.want {
				t.Errorf("got %+v ok=%v, want %+v", got, ok, *tt.want)
			}
		})
	}
}

func TestCompare(t *testing.T) {
	pred := &Prediction{Steps: []Step{
		{Stage: "deps", Line: 4, Instruction: "WORKDIR /app", Vertex: "[deps 2/4] WORKDIR /app", Status: Cached},
		{Stage: "deps", Line: 6, Instruction: "RUN echo 2 > /v", Vertex: "[deps 4/4] RUN echo 2 > /v", Status: Run},
		{Stage: "stage-1", Line: 9, Instruction: "COPY --from=deps /v /v", Vertex: "[stage-1 2/4] COPY --from=deps /v /v", Status: Uncertain},
		{Stage: "stage-1", Line: 11, Instruction: "COPY b.txt /b", Vertex: "[stage-1 4/4] COPY b.txt /b", Status: Cached},
	}}
	tests := map[string]struct {
		vertices []Vertex
		want     []string // "LINE: message"
	}{
		"agrees": {
			vertices: []Vertex{
				{Name: "[internal] load build context"},
				{Name: "[deps 1/4] FROM 127.0.0.1:5000/base:busybox@sha256:9c18cd94", Cached: true},
				{Name: "[deps 2/4] WORKDIR /app", Cached: true},
				{Name: "[deps 4/4] RUN echo 2 > /v"},
				{Name: "[stage-1 2/4] COPY --from=deps /v /v", Cached: true},
				{Name: "[stage-1 4/4] COPY b.txt /b", Cached: true},
			},
		},
		"both ways wrong": {
			vertices: []Vertex{
				{Name: "[deps 2/4] WORKDIR /app"},
				{Name: "[deps 4/4] RUN echo 2 > /v", Cached: true},
				{Name: "[stage-1 2/4] COPY --from=deps /v /v"},
				{Name: "[stage-1 4/4] COPY b.txt /b", Cached: true},
			},
			want: []string{"4: predicted cached, BuildKit ran it", "6: predicted to run, BuildKit had it cached"},
		},
		"a vertex reported twice is cached if either report says so": {
			vertices: []Vertex{
				{Name: "[deps 2/4] WORKDIR /app"},
				{Name: "[deps 2/4] WORKDIR /app", Cached: true},
				{Name: "[deps 4/4] RUN echo 2 > /v"},
				{Name: "[stage-1 2/4] COPY --from=deps /v /v"},
				{Name: "[stage-1 4/4] COPY b.txt /b", Cached: true},
			},
		},
		"names from another frontend version, matched by position": {
			vertices: []Vertex{
				{Name: "[deps  2/4] WORKDIR /app", Cached: true},
				{Name: "[deps 4/4] RUN echo 2 >/v"},
				{Name: "[stage-1 2/4] COPY --from=deps /v /v"},
				{Name: "[stage-1 4/4] COPY b.txt /b"},
			},
			want: []string{"11: predicted cached, BuildKit ran it"},
		},
		"a vertex shared with a concurrent build keeps that build's name": {
			vertices: []Vertex{
				{Name: "[deps 2/4] WORKDIR /app", Cached: true},
				{Name: "[builder 7/9] RUN echo 2 > /v", Cached: true},
				{Name: "[stage-1 2/4] COPY --from=deps /v /v"},
				{Name: "[stage-1 4/4] COPY b.txt /b", Cached: true},
			},
			want: []string{"6: predicted to run, BuildKit had it cached"},
		},
		"a step BuildKit did not report": {
			vertices: []Vertex{
				{Name: "[deps 2/4] WORKDIR /app", Cached: true},
				{Name: "[deps 4/4] RUN echo 2 > /v"},
				{Name: "[stage-1 4/4] COPY b.txt /b", Cached: true},
			},
			want: []string{"9: BuildKit reported no vertex for this step"},
		},
		"no vertices at all": {},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			var got []string
			for _, d := range Compare(pred, tt.vertices) {
				got = append(got, strconv.Itoa(d.Step.Line)+": "+d.Message)
			}
			if strings.Join(got, "\n") != strings.Join(tt.want, "\n") {
				t.Errorf("disagreements:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(tt.want, "\n"))
			}
		})
	}
}
