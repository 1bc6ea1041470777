package docker

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

	mobyclient "github.com/moby/moby/client"
	"github.com/sdform/sdform/providers"
)

// TestIntegrationAddURLWithoutChecksum: an ADD of a URL without --checksum
// is fetched by BuildKit at every build, and the plan cannot see whether
// its content changed. So the plan never calls such an image unchanged: it
// builds, says why, and counts the steps after the ADD as uncertain, not
// cached. When the content is the same BuildKit finds every step cached
// and the image is the same; when it changed, the new content is built.
func TestIntegrationAddURLWithoutChecksum(t *testing.T) {
	forEachBackend(t, func(t *testing.T, be itBackend) {
		var body atomic.Value
		body.Store("v1")
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			fmt.Fprint(w, body.Load().(string))
		}))
		defer srv.Close()
		url := srv.URL + "/model.txt"
		h := newHarness(t, be.provider, map[string]string{
			"Dockerfile": "FROM " + be.base + "\nRUN echo " + nonce() + " > /n\nADD " + url + " /model.txt\nRUN cat /model.txt > /copy\n",
		})
		cfg := h.image(nil)
		h.mustBuild(cfg)
		first := h.attr("id")

		pr := h.plan(cfg)
		if h.action(pr) == providers.NoOp {
			t.Fatalf("plan with the same URL: no-op, want a build: %q", pr.Details)
		}
		if !strings.Contains(pr.Reason, "without --checksum") || !strings.Contains(pr.Reason, "/model.txt") {
			t.Errorf("reason %q does not say the URL is fetched without a checksum", pr.Reason)
		}
		if d := detail(pr, "steps:"); !strings.Contains(d, "up to 2 to run if") {
			t.Errorf("steps detail %q: the steps after the ADD are not uncertain", d)
		}
		if ar := h.apply(cfg, pr); ar.Diagnostics.HasErrors() {
			t.Fatalf("apply: %v", ar.Diagnostics)
		}
		h.promote(true)
		if got := h.attr("id"); got != first {
			t.Errorf("same content built %s, want the same image %s", short(got), short(first))
		}

		body.Store("v2-changed")
		pr = h.plan(cfg)
		if h.action(pr) == providers.NoOp {
			t.Fatalf("plan after the content changed: no-op")
		}
		if ar := h.apply(cfg, pr); ar.Diagnostics.HasErrors() {
			t.Fatalf("apply: %v", ar.Diagnostics)
		}
		h.promote(true)
		if got := h.attr("id"); got == first {
			t.Errorf("changed content built the old image %s", short(first))
		}
		if m := h.state.GetAttr("prediction_missed"); m.LengthInt() != 0 {
			t.Errorf("prediction_missed = %#v", m)
		}
	})
}

// TestIntegrationOwnerAndDirectoryMode: BuildKit's keys leave out the owner
// of context files (its client sends them as 0) and the mode of a
// directory it received before. A checkout under another user, a sudo edit
// or a chmod of the source directory must not rebuild the image (and rerun
// its tests) for an image that comes out the same; the mode of a file
// still counts.
func TestIntegrationOwnerAndDirectoryMode(t *testing.T) {
	forEachBackend(t, func(t *testing.T, be itBackend) {
		h := newHarness(t, be.provider, map[string]string{"Dockerfile": "FROM " + be.base + "\nRUN echo " + nonce() + " > /n\nCOPY d /d\nRUN ls -ln /d > /ls\n", "d/a.txt": "A"})
		cfg := h.image(nil)
		h.mustBuild(cfg)
		if be.engine != nil {
			t.Cleanup(func() { be.engine.ImageRemove(context.Background(), h.attr("id"), mobyclient.ImageRemoveOptions{}) })
		}
		for _, c := range []struct {
			what    string
			do      func() error
			rebuild bool
		}{
			{"chown a file", func() error { return os.Lchown(filepath.Join(h.dir, "d/a.txt"), 4321, 4321) }, false},
			{"chmod the source directory", func() error { return os.Chmod(filepath.Join(h.dir, "d"), 0o700) }, false},
			{"chmod a file", func() error { return os.Chmod(filepath.Join(h.dir, "d/a.txt"), 0o600) }, true},
		} {
			if err := c.do(); err != nil {
				t.Fatalf("%s: %v", c.what, err)
			}
			pr := h.plan(cfg)
			if got := h.action(pr) != providers.NoOp; got != c.rebuild {
				t.Errorf("%s: plan %s (%q); should it build: %v", c.what, h.action(pr), pr.Reason, c.rebuild)
			}
			if h.action(pr) == providers.NoOp {
				continue
			}
			if ar := h.apply(cfg, pr); ar.Diagnostics.HasErrors() {
				t.Fatalf("%s: %v", c.what, ar.Diagnostics)
			}
			h.promote(true)
			if m := h.state.GetAttr("prediction_missed"); m.LengthInt() > 0 {
				t.Errorf("%s: prediction_missed %v", c.what, m.AsValueSlice())
			}
		}
	})
}

// TestIntegrationOldEngineRefusesNewerSyntax: without a `# syntax=` line
// the Docker Engine 20.10 parses a Dockerfile with its own frontend
// (syntax 1.2), which fails on a heredoc. The plan refuses it there, on
// the heredoc's line, rather than letting apply fail; a standalone
// BuildKit builds it.
func TestIntegrationOldEngineRefusesNewerSyntax(t *testing.T) {
	forEachBackend(t, func(t *testing.T, be itBackend) {
		h := newHarness(t, be.provider, map[string]string{"Dockerfile": "FROM " + be.base + "\nRUN echo " + nonce() + " > /n\nCOPY <<EOF /etc/c\nk=v\nEOF\n"})
		cfg := h.image(nil)
		pr := h.plan(cfg)
		if be.engine == nil {
			if pr.Diagnostics.HasErrors() {
				t.Fatalf("plan on a standalone BuildKit: %v", pr.Diagnostics)
			}
			if ar := h.apply(cfg, pr); ar.Diagnostics.HasErrors() {
				t.Fatalf("apply on a standalone BuildKit: %v", ar.Diagnostics)
			}
			return
		}
		b, err := h.p.builder(context.Background())
		if err != nil || b.detect(context.Background()) != nil {
			t.Fatalf("builder: %v", err)
		}
		if b.caps.infoAPI {
			t.Skip("this Docker Engine's BuildKit is v0.11 or later, whose frontend parses heredocs")
		}
		if !pr.Diagnostics.HasErrors() {
			t.Fatalf("plan of a heredoc on the Engine's old frontend: no error")
		}
		d := pr.Diagnostics[0]
		if d.Summary != "Dockerfile syntax unsupported by this builder" || d.Line != 3 || !strings.Contains(d.Detail, "heredoc <<EOF") || !strings.Contains(d.Detail, "# syntax=docker/dockerfile:1") {
			t.Errorf("diagnostic: %s (line %d): %s", d.Summary, d.Line, d.Detail)
		}
	})
}
