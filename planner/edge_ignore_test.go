package planner_test

import (
	"context"
	"sync"
	"testing"

	"github.com/sdform/sdform/internal/testprovider"
	"github.com/sdform/sdform/lang"
	"github.com/sdform/sdform/planner"
	"github.com/sdform/sdform/providers"
)

type capturing struct {
	*testprovider.Provider
	mu   *sync.Mutex
	reqs *[]providers.ApplyRequest
}

func (p capturing) ApplyResource(ctx context.Context, req providers.ApplyRequest) providers.ApplyResponse {
	p.mu.Lock()
	*p.reqs = append(*p.reqs, req)
	p.mu.Unlock()
	return p.Provider.ApplyResource(ctx, req)
}

// A sensitive attribute under ignore_changes: when another attribute
// changes, the provider gets the secret in clear, never the state's keyed
// hash: the recorded one while the configuration still holds it, the
// configuration's once it was rotated.
func TestIgnoreChangesSensitive(t *testing.T) {
	f := newFixture(t, map[string]string{"main.sdf.hcl": `
variable "name" {
  type = string
}
variable "secret" {
  type      = string
  sensitive = true
}
resource "test_thing" "x" {
  name   = var.name
  secret = var.secret
  lifecycle {
    ignore_changes = [secret]
  }
}
`})
	var mu sync.Mutex
	var reqs []providers.ApplyRequest
	run := func(name, secret string) {
		c := f.contextWith(capturing{Provider: f.prov, mu: &mu, reqs: &reqs}, lang.VarInputs{CLI: []string{"name=" + name, "secret=" + secret}})
		st := f.state()
		p, diags := c.Plan(context.Background(), st, defaultOpts())
		if diags.HasErrors() {
			t.Fatal(diagString(diags))
		}
		res, diags := c.Apply(context.Background(), p, st, f.persist, planner.Hooks{})
		if diags.HasErrors() || len(res.Failed) > 0 {
			t.Fatalf("apply: %s %v", diagString(diags), res.Errors)
		}
	}
	for _, step := range []struct{ name, secret, want string }{
		{"one", "hunter2-long-random-token", "hunter2-long-random-token"},
		{"two", "hunter2-long-random-token", "hunter2-long-random-token"}, // update: the secret is unchanged
		{"three", "rotated-token-0042", "rotated-token-0042"},             // update: the secret was rotated
	} {
		run(step.name, step.secret)
		last := reqs[len(reqs)-1]
		for what, v := range map[string]string{"Config": last.Config.GetAttr("secret").AsString(), "Planned": last.Planned.GetAttr("secret").AsString()} {
			if v != step.want {
				t.Errorf("apply %q: %s.secret = %q, want %q", step.name, what, v, step.want)
			}
		}
	}
}
