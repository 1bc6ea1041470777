package planner_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/hashicorp/hcl/v2"
	"github.com/sdform/sdform/internal/testprovider"
	"github.com/sdform/sdform/lang"
	"github.com/sdform/sdform/planner"
	"github.com/sdform/sdform/planner/plan"
	"github.com/sdform/sdform/planner/state"
	"github.com/sdform/sdform/providers"
	"github.com/zclconf/go-cty/cty"
)

// rollbackProvider is the test provider with a Rollbacker: it sets out to
// "rolled back" and records what it was asked.
type rollbackProvider struct {
	*testprovider.Provider
	calls    []providers.RollbackRequest
	fail     bool
	noChange bool
}

func (p *rollbackProvider) Rollback(_ context.Context, req providers.RollbackRequest) providers.RollbackResponse {
	p.calls = append(p.calls, req)
	if p.fail {
		return providers.RollbackResponse{NewState: req.State, Diagnostics: providers.Diagnostics{}.Errorf(nil, "Nothing to roll back", "No previous version of %s.", req.Address)}
	}
	if p.noChange {
		return providers.RollbackResponse{}
	}
	attrs := req.State.AsValueMap()
	attrs["out"] = cty.StringVal("rolled back")
	return providers.RollbackResponse{
		NewState: cty.ObjectVal(attrs),
		Private:  []byte(`{"rolled_back":true}`),
		Messages: []string{"tag x:1: sha256:new -> sha256:old"},
	}
}

func rollbackContext(t *testing.T, f *fixture, p providers.Provider) *planner.Context {
	t.Helper()
	cfg, diags := lang.Load(f.dir)
	if diags.HasErrors() {
		t.Fatalf("load: %s", diagString(diags))
	}
	vals, d := cfg.VariableValues(lang.VarInputs{})
	if d.HasErrors() {
		t.Fatalf("vars: %s", diagString(d))
	}
	reg := providers.NewRegistry(map[string]providers.Factory{"test": func() providers.Provider { return p }})
	c := planner.NewContext(cfg, vals, reg, providers.Env{ConfigDir: cfg.Dir, DataDir: f.dataDir()}, planner.ContextOptions{})
	t.Cleanup(func() { _ = c.Close() })
	return c
}

const rollbackConfig = `
variable "label" {
  type    = string
  default = "from-var"
}
locals { label = "l-${var.label}" }
provider "test" { label = local.label }
resource "test_thing" "img" {
  name   = "one"
  secret = "hunter2"
}
`

func TestRollback(t *testing.T) {
	f := newFixture(t, map[string]string{"main.sdf.hcl": rollbackConfig})
	f.mustApply(defaultOpts())
	before := f.state()
	recorded := before.Resource("test_thing.img")
	if recorded == nil {
		t.Fatal("test_thing.img not recorded by apply")
	}

	rp := &rollbackProvider{Provider: f.prov}
	c := rollbackContext(t, f, rp)
	st := f.state()
	res, diags := c.Rollback(context.Background(), st, "test_thing.img", f.persist)
	if diags.HasErrors() {
		t.Fatalf("rollback: %s", diagString(diags))
	}
	if len(rp.calls) != 1 || rp.calls[0].Address != "test_thing.img" || string(rp.calls[0].Private) != string(recorded.Private) {
		t.Fatalf("provider calls: %+v", rp.calls)
	}
	if got := rp.calls[0].State.GetAttr("name").AsString(); got != "one" {
		t.Errorf("provider got state name %q", got)
	}
	if len(res.Messages) != 1 || !strings.Contains(res.Messages[0], "sha256:old") {
		t.Errorf("messages: %q", res.Messages)
	}
	// The provider was configured from its block, with the local and the
	// variable it refers to evaluated.
	var configured bool
	for _, e := range f.prov.Events() {
		if e.Op == "configure" {
			configured = true
		}
	}
	if !configured {
		t.Error("provider not configured before rollback")
	}

	after := f.state()
	rs := after.Resource("test_thing.img")
	if got := rs.Value.GetAttr("out").AsString(); got != "rolled back" {
		t.Errorf("state out = %q, want the provider's value", got)
	}
	if string(rs.Private) != `{"rolled_back":true}` {
		t.Errorf("state private = %s", rs.Private)
	}
	if after.Serial <= before.Serial {
		t.Errorf("state not persisted: serial %d → %d", before.Serial, after.Serial)
	}
	// The secret stays redacted, and redacted once: the same string as
	// before, not a hash of the hash.
	if got, want := rs.Value.GetAttr("secret").AsString(), recorded.Value.GetAttr("secret").AsString(); got != want || !planner.IsRedacted(got) {
		t.Errorf("secret in state after rollback = %q, want %q (redacted)", got, want)
	}
	if !rs.UpdatedAt.After(recorded.UpdatedAt) {
		t.Errorf("UpdatedAt not moved: %v → %v", recorded.UpdatedAt, rs.UpdatedAt)
	}
}

func TestRollbackRefusals(t *testing.T) {
	tests := map[string]struct {
		addr    string
		prov    func(*fixture) providers.Provider
		persist func(*state.File) error
		want    string
		// changes: whether the state file must change
		changes bool
	}{
		"not in state": {
			addr: "test_thing.nope", want: "test_thing.nope is not in the state, so there is nothing to roll back (recorded: test_thing.img)",
			prov: func(f *fixture) providers.Provider { return &rollbackProvider{Provider: f.prov} },
		},
		"data source": {
			addr: "data.test_data.d", want: "is a data source",
			prov: func(f *fixture) providers.Provider { return &rollbackProvider{Provider: f.prov} },
		},
		"provider without rollback": {
			addr: "test_thing.img", want: "The test provider cannot roll back test_thing.img",
			prov: func(f *fixture) providers.Provider { return f.prov },
		},
		"provider refuses": {
			addr: "test_thing.img", want: "No previous version of test_thing.img",
			prov: func(f *fixture) providers.Provider { return &rollbackProvider{Provider: f.prov, fail: true} },
		},
		"persist fails": {
			addr: "test_thing.img", want: "persist state after rollback of test_thing.img: disk full",
			prov:    func(f *fixture) providers.Provider { return &rollbackProvider{Provider: f.prov} },
			persist: func(*state.File) error { return errors.New("disk full") },
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			f := newFixture(t, map[string]string{"main.sdf.hcl": rollbackConfig + `
data "test_data" "d" { input = "x" }
`})
			f.mustApply(defaultOpts())
			before := f.state()
			persist := f.persist
			if tc.persist != nil {
				persist = tc.persist
			}
			_, diags := rollbackContext(t, f, tc.prov(f)).Rollback(context.Background(), f.state(), tc.addr, persist)
			if !hasDiag(diags, hcl.DiagError, tc.want) {
				t.Fatalf("diagnostics %q lack %q", diagString(diags), tc.want)
			}
			if after := f.state(); after.Serial != before.Serial {
				t.Errorf("state changed by a refused rollback: serial %d → %d", before.Serial, after.Serial)
			}
		})
	}
}

// TestRollbackThenPlan shows what the next plan sees: the recorded value
// the rollback left, compared with the configuration.
func TestRollbackThenPlan(t *testing.T) {
	f := newFixture(t, map[string]string{"main.sdf.hcl": rollbackConfig})
	f.mustApply(defaultOpts())
	rp := &rollbackProvider{Provider: f.prov}
	if _, diags := rollbackContext(t, f, rp).Rollback(context.Background(), f.state(), "test_thing.img", f.persist); diags.HasErrors() {
		t.Fatalf("rollback: %s", diagString(diags))
	}
	p := f.plan(plan.Options{Refresh: false})
	ch := change(t, p, "test_thing.img")
	if got := ch.Before.GetAttr("out").AsString(); got != "rolled back" {
		t.Errorf("plan's prior out = %q, want the rolled-back value", got)
	}
}

// TestRollbackOutputs: the outputs computed from the rolled-back object say
// what the state records now, through locals too; others stay as applied,
// and a sensitive output stays redacted.
func TestRollbackOutputs(t *testing.T) {
	f := newFixture(t, map[string]string{"main.sdf.hcl": rollbackConfig + `
resource "test_thing" "other" { name = "two" }
locals { via = "v-${test_thing.img.out}" }
output "direct" { value = test_thing.img.out }
output "via_local" { value = local.via }
output "other" { value = test_thing.other.out }
output "secret" {
  value     = test_thing.img.secret
  sensitive = true
}
`})
	f.mustApply(defaultOpts())
	applied := f.state()
	rp := &rollbackProvider{Provider: f.prov}
	res, diags := rollbackContext(t, f, rp).Rollback(context.Background(), f.state(), "test_thing.img", f.persist)
	if diags.HasErrors() || len(diags) != 0 {
		t.Fatalf("rollback diagnostics: %s", diagString(diags))
	}
	if !res.Changed {
		t.Error("Changed = false after a rollback that changed the object")
	}
	after := f.state()
	tests := []struct {
		name string
		want cty.Value
	}{
		{"direct", cty.StringVal("rolled back")},
		{"via_local", cty.StringVal("v-rolled back")},
		{"other", applied.Outputs["other"].Value},
		{"secret", applied.Outputs["secret"].Value},
	}
	for _, tc := range tests {
		o := after.Outputs[tc.name]
		if o == nil {
			t.Errorf("output %s gone from the state", tc.name)
			continue
		}
		if !o.Value.RawEquals(tc.want) {
			t.Errorf("output %s = %#v, want %#v", tc.name, o.Value, tc.want)
		}
	}
	if !after.Outputs["secret"].Sensitive || !planner.IsRedacted(after.Outputs["secret"].Value.AsString()) {
		t.Errorf("sensitive output after rollback: %#v", after.Outputs["secret"])
	}
	if got := applied.Outputs["direct"].Value.AsString(); got == "rolled back" {
		t.Fatalf("the apply already gave %q: the test proves nothing", got)
	}
	// The next plan starts from the rolled-back value.
	p := f.plan(plan.Options{Refresh: false})
	for _, o := range p.Outputs {
		if o.Name == "direct" && !o.Before.RawEquals(cty.StringVal("rolled back")) {
			t.Errorf("plan's output direct before = %#v, want the rolled-back value", o.Before)
		}
	}
}

// TestRollbackNothingMoved: a provider that moves nothing leaves the state
// as it was and the result says so.
func TestRollbackNothingMoved(t *testing.T) {
	f := newFixture(t, map[string]string{"main.sdf.hcl": rollbackConfig})
	f.mustApply(defaultOpts())
	before := f.state()
	res, diags := rollbackContext(t, f, &rollbackProvider{Provider: f.prov, noChange: true}).Rollback(context.Background(), f.state(), "test_thing.img", f.persist)
	if diags.HasErrors() {
		t.Fatalf("rollback: %s", diagString(diags))
	}
	if res.Changed {
		t.Error("Changed = true though the provider moved nothing")
	}
	if after := f.state(); after.Serial != before.Serial {
		t.Errorf("state written: serial %d → %d", before.Serial, after.Serial)
	}
}

// The provider is told the configuration as it stands, evaluated over the
// recorded values of what it refers to, so that it rolls back only what
// is still asked for; null once the block is gone.
func TestRollbackGetsConfiguration(t *testing.T) {
	cfg := `
variable "tag" {
  type    = string
  default = "x:1"
}
resource "test_thing" "base" { name = "base" }
resource "test_thing" "img" {
  name = "one"
  tags = [var.tag, test_thing.base.id]
}
`
	f := newFixture(t, map[string]string{"main.sdf.hcl": cfg})
	f.mustApply(defaultOpts())
	baseID := f.state().Resource("test_thing.base").Value.GetAttr("id")

	f.write("main.sdf.hcl", strings.Replace(cfg, `"x:1"`, `"x:2"`, 1))
	rp := &rollbackProvider{Provider: f.prov}
	if _, diags := rollbackContext(t, f, rp).Rollback(context.Background(), f.state(), "test_thing.img", f.persist); diags.HasErrors() {
		t.Fatalf("rollback: %s", diagString(diags))
	}
	got := rp.calls[0].Config.GetAttr("tags")
	if want := cty.ListVal([]cty.Value{cty.StringVal("x:2"), baseID}); !got.RawEquals(want) {
		t.Errorf("Config.tags = %#v, want %#v", got, want)
	}

	f.write("main.sdf.hcl", `resource "test_thing" "base" { name = "base" }`)
	rp = &rollbackProvider{Provider: f.prov}
	if _, diags := rollbackContext(t, f, rp).Rollback(context.Background(), f.state(), "test_thing.img", f.persist); diags.HasErrors() {
		t.Fatalf("rollback of a removed block: %s", diagString(diags))
	}
	if c := rp.calls[0].Config; c == cty.NilVal || !c.IsNull() {
		t.Errorf("Config of a block no longer declared = %#v, want null", c)
	}
}
