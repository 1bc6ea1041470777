package docker

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/sdform/sdform/providers"
	"github.com/zclconf/go-cty/cty"
)

// harness drives one docker_image through the provider contract the way
// the engine does: read, plan, apply, promote, with state carried between.
type harness struct {
	t       testing.TB
	p       *Provider
	dir     string
	addr    string
	state   cty.Value
	private []byte
	out     *syncBuffer
}

// syncBuffer is an io.Writer for progress that parallel builds may share.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// newHarness configures a provider with the given provider-block attributes
// over a fresh config directory holding files.
func newHarness(t testing.TB, provider map[string]cty.Value, files map[string]string) *harness {
	t.Helper()
	dir := t.TempDir()
	writeFiles(t, dir, files)
	p := New().(*Provider)
	cfg := objectOf(p.Schema().Provider, provider)
	resp := p.Configure(context.Background(), providers.ConfigureRequest{Config: cfg, Env: providers.Env{ConfigDir: dir, DataDir: filepath.Join(dir, ".sdform")}})
	if resp.Diagnostics.HasErrors() {
		t.Fatalf("configure: %v", resp.Diagnostics)
	}
	t.Cleanup(func() { p.Close() })
	ty := p.Schema().Resources["docker_image"].ImpliedType()
	return &harness{t: t, p: p, dir: dir, addr: "docker_image.test", state: cty.NullVal(ty), out: &syncBuffer{}}
}

func writeFiles(t testing.TB, dir string, files map[string]string) {
	t.Helper()
	for name, body := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// objectOf builds a value of s's implied type: given attributes, null for
// the rest.
func objectOf(s *providers.Schema, given map[string]cty.Value) cty.Value {
	ty := s.ImpliedType()
	attrs := map[string]cty.Value{}
	for name, at := range ty.AttributeTypes() {
		if v, ok := given[name]; ok {
			attrs[name] = v
		} else {
			attrs[name] = cty.NullVal(at)
		}
	}
	return cty.ObjectVal(attrs)
}

// image is a docker_image config value.
func (h *harness) image(given map[string]cty.Value) cty.Value {
	return objectOf(h.p.Schema().Resources["docker_image"], given)
}

func (h *harness) ui() providers.UI { return providers.UI{Out: h.out} }

// refresh runs ReadResource and keeps its result as the state.
func (h *harness) refresh() providers.ReadResponse {
	h.t.Helper()
	r := h.p.ReadResource(context.Background(), providers.ReadRequest{TypeName: "docker_image", Address: h.addr, Prior: h.state, Private: h.private})
	if r.Diagnostics.HasErrors() {
		h.t.Fatalf("read: %v", r.Diagnostics)
	}
	h.state, h.private = r.NewState, r.Private
	return r
}

// plan runs PlanResource against the current state.
func (h *harness) plan(cfg cty.Value) providers.PlanResponse {
	h.t.Helper()
	return h.p.PlanResource(context.Background(), providers.PlanRequest{TypeName: "docker_image", Address: h.addr, Prior: h.state, PriorPrivate: h.private, Config: cfg, Proposed: cfg})
}

// action is what the engine would decide from a plan response.
func (h *harness) action(pr providers.PlanResponse) providers.Action {
	switch {
	case h.state.IsNull():
		return providers.Create
	case len(pr.RequiresReplace) > 0:
		return providers.Replace
	case !pr.Planned.RawEquals(h.state):
		return providers.Update
	}
	return providers.NoOp
}

// apply applies a plan; on success it keeps the new state.
func (h *harness) apply(cfg cty.Value, pr providers.PlanResponse) providers.ApplyResponse {
	h.t.Helper()
	a := h.action(pr)
	r := h.p.ApplyResource(context.Background(), providers.ApplyRequest{TypeName: "docker_image", Address: h.addr, Action: a, Prior: h.state, Planned: pr.Planned, Config: cfg, PlannedPrivate: pr.PlannedPrivate, UI: h.ui()})
	h.state, h.private = r.NewState, r.Private
	return r
}

// promote runs Promote as the engine does after the image's tests.
func (h *harness) promote(passed bool, failed ...string) providers.PromoteResponse {
	h.t.Helper()
	r := h.p.Promote(context.Background(), providers.PromoteRequest{TypeName: "docker_image", Address: h.addr, State: h.state, Private: h.private, Passed: passed, Failed: failed, UI: h.ui()})
	h.state, h.private = r.NewState, r.Private
	return r
}

// mustBuild plans and applies cfg, expecting a build, and promotes it.
func (h *harness) mustBuild(cfg cty.Value) providers.PlanResponse {
	h.t.Helper()
	pr := h.plan(cfg)
	if pr.Diagnostics.HasErrors() {
		h.t.Fatalf("plan: %v", pr.Diagnostics)
	}
	ar := h.apply(cfg, pr)
	if ar.Diagnostics.HasErrors() {
		h.t.Fatalf("apply: %v\noutput:\n%s", ar.Diagnostics, h.out.String())
	}
	if r := h.promote(true); r.Diagnostics.HasErrors() {
		h.t.Fatalf("promote: %v", r.Diagnostics)
	}
	return pr
}

// attr reads a string attribute of the state.
func (h *harness) attr(name string) string {
	v := h.state.GetAttr(name)
	if v.IsNull() || !v.IsKnown() {
		return ""
	}
	return v.AsString()
}

// detail returns the plan detail line starting with prefix.
func detail(pr providers.PlanResponse, prefix string) string {
	for _, d := range pr.Details {
		if strings.HasPrefix(d, prefix) {
			return d
		}
	}
	return ""
}

// rollback runs Rollback as `sdform rollback` does; on success it keeps
// the new state.
func (h *harness) rollback() providers.RollbackResponse {
	h.t.Helper()
	r := h.p.Rollback(context.Background(), h.rollbackRequest())
	if !r.Diagnostics.HasErrors() {
		h.state, h.private = r.NewState, r.Private
	}
	return r
}

// rollbackConfigured runs the rollback of docker_image given the object's
// configuration, as `sdform rollback` passes it; on success it keeps the
// new state.
func (h *harness) rollbackConfigured(config cty.Value) providers.RollbackResponse {
	h.t.Helper()
	req := h.rollbackRequest()
	req.Config = config
	r := h.p.Rollback(context.Background(), req)
	if !r.Diagnostics.HasErrors() {
		h.state, h.private = r.NewState, r.Private
	}
	return r
}

func (h *harness) rollbackRequest() providers.RollbackRequest {
	return providers.RollbackRequest{TypeName: "docker_image", Address: h.addr, State: h.state, Private: h.private, UI: h.ui()}
}

// destroy applies the deletion of the object, as `sdform destroy` does.
func (h *harness) destroy() providers.ApplyResponse {
	h.t.Helper()
	r := h.p.ApplyResource(context.Background(), providers.ApplyRequest{TypeName: "docker_image", Address: h.addr, Action: providers.Delete,
		Prior: h.state, Planned: cty.NullVal(h.state.Type()), PlannedPrivate: h.private, UI: h.ui()})
	if !r.Diagnostics.HasErrors() {
		h.state, h.private = r.NewState, r.Private
	}
	return r
}
