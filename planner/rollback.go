package planner

import (
	"bytes"
	"context"
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/hashicorp/hcl/v2"
	"github.com/sdform/sdform/lang"
	"github.com/sdform/sdform/planner/plan"
	"github.com/sdform/sdform/planner/state"
	"github.com/sdform/sdform/providers"
	"github.com/zclconf/go-cty/cty"
)

// RollbackResult is what `sdform rollback ADDR` did.
type RollbackResult struct {
	Address string
	// Messages are the provider's words for what it moved back, one per
	// tag or part ("tag runpod/x:fp8: sha256:new… -> sha256:old…").
	Messages []string
	// Changed is true when the rollback changed what the state records
	// for the object: false when the provider found nothing to move (its
	// messages say why) or failed before moving anything.
	Changed bool
}

// Rollback asks the provider of the managed object at addr to put it back
// to what it was before its last apply (providers.Rollbacker), records the
// object the provider describes afterwards in st, and persists st. The
// provider's private record says the object was rolled back, so that the
// next plan shows, with that reason, what applying the configuration again
// would change. Nothing is planned or applied; what is evaluated is the
// provider block (with the variables, locals and data sources it needs) and
// then the outputs that depend on addr, from the values the state records
// now, so that `sdform show` and the next plan start from what the object
// is after the rollback.
func (c *Context) Rollback(ctx context.Context, st *state.File, addr string, persist func(*state.File) error) (*RollbackResult, hcl.Diagnostics) {
	res := &RollbackResult{Address: addr}
	if st == nil {
		st = state.New()
	}
	rs := st.Resource(addr)
	switch {
	case rs == nil:
		return res, hcl.Diagnostics{{Severity: hcl.DiagError, Summary: "No such object in the state",
			Detail: fmt.Sprintf("%s is not in the state, so there is nothing to roll back%s.", addr, nearAddresses(st, addr))}}
	case rs.Mode != state.ModeManaged:
		return res, hcl.Diagnostics{{Severity: hcl.DiagError, Summary: "Data sources cannot be rolled back",
			Detail: fmt.Sprintf("%s is a data source: sdform reads it and changes nothing, so there is nothing to roll back.", addr)}}
	}
	name := rs.Provider
	if name == "" {
		name = lang.ProviderForType(rs.Type)
	}
	pi, err := c.provider(name)
	if err != nil {
		return res, hcl.Diagnostics{{Severity: hcl.DiagError, Summary: "No provider for " + rs.Type, Detail: sentenceOf(err)}}
	}
	rb, ok := pi.p.(providers.Rollbacker)
	if !ok {
		return res, hcl.Diagnostics{{Severity: hcl.DiagError, Summary: "Rollback unsupported",
			Detail: fmt.Sprintf("The %s provider cannot roll back %s: it keeps no previous version of its objects.", name, addr)}}
	}
	schema := pi.schema.Resources[rs.Type]
	if schema == nil {
		return res, hcl.Diagnostics{{Severity: hcl.DiagError, Summary: "Unknown resource type",
			Detail: fmt.Sprintf("%s is recorded as a %s, which the %s provider no longer has.", addr, rs.Type, name)}}
	}
	diags := c.configureFor(ctx, st, pi)
	if diags.HasErrors() {
		return res, diags
	}
	ty := typeOf(schema)
	prior := conform(rs.Value, ty)
	cfg, d := c.rollbackConfig(ctx, st, addr, schema)
	if diags = append(diags, d...); diags.HasErrors() {
		return res, diags
	}
	resp := rb.Rollback(ctx, providers.RollbackRequest{
		TypeName: rs.Type, Address: addr, State: prior, Private: rs.Private, Config: cfg, UI: c.uiFor(addr),
	})
	var body hcl.Body
	var decl *hcl.Range
	if r := c.cfg.Resources[addr]; r != nil {
		body, decl = r.Config, r.DeclRange.Ptr()
	}
	diags = append(diags, convertDiags(addr, resp.Diagnostics, body, decl, c.env.ConfigDir)...)
	res.Messages = resp.Messages
	ns := resp.NewState
	changed := ns != cty.NilVal && !ns.IsNull() && ns.IsWhollyKnown()
	if changed {
		ns, _ = conform(ns, ty).UnmarkDeep()
		// The recorded value's redacted leaves stay as they are (Redact
		// leaves them alone); what the provider adds that its schema
		// marks sensitive is redacted now.
		sens := appendPaths(schemaSensitivePaths(schema, ns), redactedPaths(prior)...)
		ns = Redact(ns, sens, st.Lineage)
	}
	if changed && sameValue(ns, rs.Value) {
		changed = false
	}
	newPriv := resp.Private != nil && !bytes.Equal(resp.Private, rs.Private)
	if !changed && !newPriv {
		return res, diags
	}
	// Even a rollback that failed part way records what the provider says
	// exists now, so the state does not claim tags it no longer has.
	nr := rs.Copy()
	if changed {
		nr.Value = ns
	}
	if newPriv {
		nr.Private = resp.Private
	}
	nr.UpdatedAt = time.Now().UTC()
	st.Set(nr)
	res.Changed = true
	// Outputs computed from the object must now say what it is after the
	// rollback (the image the tags point to), not what the last apply
	// built: `sdform show` prints them, and the next plan diffs from them.
	diags = append(diags, c.rollbackOutputs(ctx, st, addr)...)
	if persist != nil {
		if err := persist(st); err != nil {
			diags = append(diags, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Failed to save state",
				Detail: fmt.Sprintf("persist state after rollback of %s: %v. The provider moved things back already; run sdform plan to see where they stand.", addr, err)})
		}
	}
	return res, diags
}

// rollbackOutputs evaluates again, into st, each output that depends on
// addr, seeing the values st records now (locals on the way evaluated
// again too). An output that cannot be evaluated keeps its recorded value
// and gets a warning: the rollback itself is done.
func (c *Context) rollbackOutputs(ctx context.Context, st *state.File, addr string) hcl.Diagnostics {
	r, diags := c.newRun(st, plan.Options{}, false)
	if diags.HasErrors() {
		return asWarnings(diags)
	}
	r.diags = nil
	var outs []string
	for _, name := range sortedKeys(c.cfg.Outputs) {
		key := "output." + name
		if r.g.nodes[key] == nil {
			continue
		}
		if slices.Contains(r.resourceDeps(key), addr) {
			outs = append(outs, key)
		}
	}
	if len(outs) == 0 {
		return nil
	}
	need := map[string]bool{}
	for _, o := range outs {
		for _, k := range closureOf(r.g, o) {
			need[k] = true
		}
	}
	if st.Outputs == nil {
		st.Outputs = map[string]*state.Output{}
	}
	var out hcl.Diagnostics
	for _, key := range r.g.order {
		n := r.g.nodes[key]
		if !need[key] || n == nil {
			continue
		}
		switch n.kind {
		case KindResource, KindData, KindLocal:
			r.recorded(ctx, key)
		case KindOutput:
			if r.depFailed(key) {
				continue
			}
			o := n.output
			v, d := evalExpr(o.Expr, r.scope(n).EvalContext())
			if !d.HasErrors() {
				var after cty.Value
				var sensitive bool
				after, sensitive, d = r.outputValue(o, v)
				if !d.HasErrors() && after.IsWhollyKnown() {
					st.Outputs[o.Name] = &state.Output{Value: after, Sensitive: sensitive}
				}
			}
			out = append(out, d...)
		}
	}
	out = append(r.diags, out...)
	return asWarnings(out)
}

// recorded gives key, a resource, data source or local, its value from
// what the state records, not from a plan: an object's recorded value,
// with the leaves it holds redacted marked sensitive (so that an output of
// a secret is refused or redacted as apply would), or a local evaluated
// over such values.
func (r *run) recorded(ctx context.Context, key string) {
	n := r.g.nodes[key]
	switch n.kind {
	case KindResource, KindData:
		v := r.stateValue(key)
		if v.IsKnown() {
			v = markSensitive(v, redactedLeaves(r.st.Resource(key), v))
		}
		r.setVal(key, v)
	case KindLocal:
		r.visit(ctx, key)
	}
}

// rollbackConfig evaluates the configuration of addr as it stands, over
// the values the state records for what it refers to: the provider rolls
// back only what the configuration still asks for (the tags it lists). It
// is null when the configuration no longer declares addr.
func (c *Context) rollbackConfig(ctx context.Context, st *state.File, addr string, schema *providers.Schema) (cty.Value, hcl.Diagnostics) {
	res := c.cfg.Resources[addr]
	if res == nil {
		return cty.NullVal(typeOf(schema)), nil
	}
	r, diags := c.newRun(st, plan.Options{}, false)
	if diags.HasErrors() {
		return cty.NilVal, diags
	}
	r.diags = nil
	for _, key := range closureOf(r.g, addr) {
		if key != addr {
			r.recorded(ctx, key)
		}
	}
	if r.diags.HasErrors() {
		return cty.NilVal, r.diags
	}
	cfg, d := r.evalConfig(r.g.nodes[addr], schema, res.Config)
	if d.HasErrors() {
		return cty.NilVal, d
	}
	return unmarkDeep(cfg), nil
}

// asWarnings turns errors into warnings.
func asWarnings(diags hcl.Diagnostics) hcl.Diagnostics {
	for _, d := range diags {
		if d.Severity == hcl.DiagError {
			d.Severity = hcl.DiagWarning
			d.Summary = "Output not updated after rollback: " + d.Summary
		}
	}
	return diags
}

// configureFor configures pi from its provider block, evaluating first the
// variables, locals and data sources the block refers to.
func (c *Context) configureFor(ctx context.Context, st *state.File, pi *providerInst) hcl.Diagnostics {
	r, diags := c.newRun(st, plan.Options{Refresh: true}, false)
	if diags.HasErrors() {
		return diags
	}
	r.diags = diags
	key := "provider." + pi.name
	if r.g.nodes[key] != nil {
		keys := closureOf(r.g, key)
		walk(ctx, keys, r.deps, r.visit)
		if r.diags.HasErrors() {
			return r.diags
		}
	}
	r.configureOnce(ctx, pi)
	return r.diags
}

// closureOf lists key and every node it depends on, transitively, in
// dependency order.
func closureOf(g *Graph, key string) []string {
	seen := map[string]bool{}
	var visit func(k string)
	visit = func(k string) {
		if seen[k] || g.nodes[k] == nil {
			return
		}
		seen[k] = true
		for _, d := range g.nodes[k].deps {
			visit(d)
		}
	}
	visit(key)
	var out []string
	for _, k := range g.order {
		if seen[k] {
			out = append(out, k)
		}
	}
	return out
}

// nearAddresses suggests recorded addresses that share the type or the
// name of addr.
func nearAddresses(st *state.File, addr string) string {
	typ, name, _ := strings.Cut(addr, ".")
	var near []string
	for _, r := range st.Resources {
		if r.Mode == state.ModeManaged && (r.Type == typ || r.Name == name) {
			near = append(near, r.Address)
		}
	}
	sort.Strings(near)
	if len(near) == 0 {
		return ""
	}
	return " (recorded: " + strings.Join(near, ", ") + ")"
}

func sentenceOf(err error) string {
	s := err.Error()
	if s == "" {
		return s
	}
	return sentence(strings.ToUpper(s[:1]) + s[1:])
}
