package planner_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"sync"
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

// fixture is a configuration directory, a state file and a test provider
// whose world lives in the directory's .sdform.
type fixture struct {
	t         testing.TB
	dir       string
	statePath string
	prov      *testprovider.Provider

	mu       sync.Mutex
	persists int
	// saved holds the state file's bytes after each persist.
	saved [][]byte
}

func newFixture(t testing.TB, files map[string]string) *fixture {
	t.Helper()
	dir := t.TempDir()
	f := &fixture{t: t, dir: dir, statePath: filepath.Join(dir, ".sdform", "state.json"), prov: testprovider.New().(*testprovider.Provider)}
	for name, content := range files {
		f.write(name, content)
	}
	return f
}

func (f *fixture) write(name, content string) {
	f.t.Helper()
	p := filepath.Join(f.dir, name)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		f.t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		f.t.Fatal(err)
	}
}

func (f *fixture) dataDir() string { return filepath.Join(f.dir, ".sdform") }

// context loads the configuration with -var values and returns a Context
// over the test provider; the test fails on configuration errors.
func (f *fixture) context(vars ...string) *planner.Context {
	f.t.Helper()
	c, diags := f.tryContext(vars...)
	if diags.HasErrors() {
		f.t.Fatalf("load: %s", diagString(diags))
	}
	return c
}

func (f *fixture) tryContext(vars ...string) (*planner.Context, hcl.Diagnostics) {
	f.t.Helper()
	return f.tryContextWith(f.prov, lang.VarInputs{CLI: vars})
}

// contextWith is context with another provider (f.prov wrapped, to change
// one call) and variables from any source; the test fails on errors.
func (f *fixture) contextWith(prov providers.Provider, in lang.VarInputs) *planner.Context {
	f.t.Helper()
	c, diags := f.tryContextWith(prov, in)
	if diags.HasErrors() {
		f.t.Fatalf("load: %s", diagString(diags))
	}
	return c
}

func (f *fixture) tryContextWith(prov providers.Provider, in lang.VarInputs) (*planner.Context, hcl.Diagnostics) {
	f.t.Helper()
	cfg, diags := lang.Load(f.dir)
	if diags.HasErrors() {
		return nil, diags
	}
	vals, d := cfg.VariableValues(in)
	diags = append(diags, d...)
	if diags.HasErrors() {
		return nil, diags
	}
	reg := providers.NewRegistry(map[string]providers.Factory{"test": func() providers.Provider { return prov }})
	c := planner.NewContext(cfg, vals, reg, providers.Env{ConfigDir: cfg.Dir, DataDir: f.dataDir()}, planner.ContextOptions{Parallelism: 4})
	f.t.Cleanup(func() { _ = c.Close() })
	return c, diags
}

func (f *fixture) state() *state.File {
	f.t.Helper()
	st, err := state.Load(f.statePath)
	if err != nil {
		f.t.Fatal(err)
	}
	return st
}

func (f *fixture) persist(st *state.File) error {
	st.SdformVersion = lang.Version
	if err := st.Save(f.statePath); err != nil {
		return err
	}
	b, err := os.ReadFile(f.statePath)
	if err != nil {
		return err
	}
	f.mu.Lock()
	f.persists++
	f.saved = append(f.saved, b)
	f.mu.Unlock()
	return nil
}

func defaultOpts() plan.Options { return plan.Options{Refresh: true} }

// plan plans with a fresh context and fails the test on errors.
func (f *fixture) plan(opts plan.Options, vars ...string) *plan.Plan {
	f.t.Helper()
	p, diags := f.context(vars...).Plan(context.Background(), f.state(), opts)
	if diags.HasErrors() {
		f.t.Fatalf("plan: %s", diagString(diags))
	}
	return p
}

// apply plans and applies in one context, like `sdform apply`.
func (f *fixture) apply(opts plan.Options, vars ...string) (*plan.Plan, *planner.Result, hcl.Diagnostics) {
	f.t.Helper()
	c := f.context(vars...)
	st := f.state()
	p, diags := c.Plan(context.Background(), st, opts)
	if diags.HasErrors() {
		f.t.Fatalf("plan: %s", diagString(diags))
	}
	res, d := c.Apply(context.Background(), p, st, f.persist, planner.Hooks{})
	return p, res, append(diags, d...)
}

// mustApply applies and fails the test on any error.
func (f *fixture) mustApply(opts plan.Options, vars ...string) (*plan.Plan, *planner.Result) {
	f.t.Helper()
	p, res, diags := f.apply(opts, vars...)
	if diags.HasErrors() || len(res.Failed) > 0 {
		f.t.Fatalf("apply: %s; failed %v: %v", diagString(diags), res.Failed, res.Errors)
	}
	return p, res
}

func diagString(diags hcl.Diagnostics) string {
	var parts []string
	for _, d := range diags {
		s := d.Summary
		if d.Detail != "" {
			s += ": " + d.Detail
		}
		if d.Subject != nil {
			s = d.Subject.String() + ": " + s
		}
		parts = append(parts, s)
	}
	return strings.Join(parts, "\n")
}

// actions maps each change's address to its action.
func actions(p *plan.Plan) map[string]plan.Action {
	out := map[string]plan.Action{}
	for _, c := range p.Changes {
		out[c.Address] = c.Action
	}
	return out
}

func change(t *testing.T, p *plan.Plan, addr string) *plan.Change {
	t.Helper()
	for _, c := range p.Changes {
		if c.Address == addr {
			return c
		}
	}
	t.Fatalf("no change for %s in plan (have %v)", addr, actions(p))
	return nil
}

func attr(v cty.Value, name string) cty.Value {
	if v.IsNull() || !v.IsKnown() {
		return cty.NilVal
	}
	return v.GetAttr(name)
}

func hasDiag(diags hcl.Diagnostics, sev hcl.DiagnosticSeverity, substr string) bool {
	for _, d := range diags {
		if d.Severity == sev && (strings.Contains(d.Summary, substr) || strings.Contains(d.Detail, substr)) {
			return true
		}
	}
	return false
}

func noopHooks() planner.Hooks { return planner.Hooks{} }

func ctyInt(i int) cty.Value { return cty.NumberIntVal(int64(i)) }
