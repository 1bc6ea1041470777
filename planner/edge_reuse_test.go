package planner_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/sdform/sdform/internal/testprovider"
	"github.com/sdform/sdform/lang"
	"github.com/sdform/sdform/planner"
	"github.com/sdform/sdform/planner/plan"
	"github.com/sdform/sdform/providers"
)

// writingProvider is the test provider, except that applying test_thing.gen
// writes a file into the configuration directory (as a weight download or a
// generated build-context file would).
type writingProvider struct {
	*testprovider.Provider
	dir string
}

func (p writingProvider) ApplyResource(ctx context.Context, req providers.ApplyRequest) providers.ApplyResponse {
	resp := p.Provider.ApplyResource(ctx, req)
	if req.Address == "test_thing.gen" && req.Action != providers.Delete {
		_ = os.WriteFile(filepath.Join(p.dir, "generated.txt"), []byte("written by gen's apply\n"), 0o644)
	}
	return resp
}

// An object whose build input is written by
// an object it depends on, during the same apply: apply must plan it again
// (the staleness check's answer predates the file), so the next plan is
// empty.
func TestReplanAfterDependencyWroteInput(t *testing.T) {
	f := newFixture(t, map[string]string{
		"generated.txt": "placeholder\n",
		"main.sdf.hcl": `
resource "test_thing" "gen" {
  name = "gen"
}
resource "test_thing" "consumer" {
  name       = "consumer"
  input_file = "generated.txt"
  depends_on = [test_thing.gen]
}
`})
	ctxFor := func() *planner.Context {
		return f.contextWith(writingProvider{Provider: f.prov, dir: f.dir}, lang.VarInputs{})
	}
	c := ctxFor()
	st := f.state()
	p, diags := c.Plan(context.Background(), st, defaultOpts())
	if diags.HasErrors() {
		t.Fatal(diagString(diags))
	}
	res, diags := c.Apply(context.Background(), p, st, f.persist, planner.Hooks{})
	if diags.HasErrors() || len(res.Failed) > 0 {
		t.Fatalf("apply: %s %v", diagString(diags), res.Errors)
	}
	// The apply is done; nothing changed since. A second plan must be empty.
	p2, diags := ctxFor().Plan(context.Background(), f.state(), defaultOpts())
	if diags.HasErrors() {
		t.Fatal(diagString(diags))
	}
	for _, ch := range p2.Changes {
		if ch.Action != plan.NoOp {
			t.Errorf("plan right after apply: %s %s (%s)", ch.Address, ch.Action, ch.Reason)
		}
	}
	t.Logf("state fingerprint of consumer: %q", f.state().Resource("test_thing.consumer").Fingerprint)
}
