package docker

import (
	"bytes"
	"encoding/base64"
	"strings"
	"testing"
	"time"

	bkclient "github.com/moby/buildkit/client"
	digest "github.com/opencontainers/go-digest"
	"github.com/sdform/sdform/providers"
)

// BuildKit's own display (raw JSON here, base64 logs; on a terminal it
// writes to the terminal directly) shows a step's output past the engine's
// scrubbing of Out: the provider scrubs the status first.
func TestProgressScrubsSecrets(t *testing.T) {
	const secret = "hunter2-long-token"
	scrub := func(s string) string { return strings.ReplaceAll(s, secret, "(sensitive value)") }
	now := time.Now()
	d := digest.FromString("step")
	ss := &bkclient.SolveStatus{
		Vertexes: []*bkclient.Vertex{{Digest: d, Name: "RUN echo " + secret, Started: &now}},
		Logs:     []*bkclient.VertexLog{{Vertex: d, Stream: 1, Data: []byte("the token is " + secret + "\n"), Timestamp: now}},
	}
	for _, json := range []bool{true, false} {
		var out bytes.Buffer
		p := New().(*Provider)
		in, wait := p.showProgress("docker_image.app", providers.UI{Out: &out, JSON: json, Scrub: scrub}, &vertexLog{vertices: map[digest.Digest]*bkclient.Vertex{}})
		in <- ss
		close(in)
		wait()
		got := out.String()
		if strings.Contains(got, secret) || strings.Contains(got, base64.StdEncoding.EncodeToString([]byte("the token is "+secret))) {
			t.Errorf("json=%v: the display shows the secret:\n%s", json, got)
		}
		if !strings.Contains(got, "RUN echo (sensitive value)") {
			t.Errorf("json=%v: the step is not shown scrubbed:\n%s", json, got)
		}
	}
	if ss.Vertexes[0].Name != "RUN echo "+secret {
		t.Error("the original status was changed")
	}
}
