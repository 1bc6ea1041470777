package planner

import (
	"bytes"
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/hashicorp/hcl/v2"
	"github.com/sdform/sdform/lang"
	"github.com/sdform/sdform/planner/plan"
	"github.com/sdform/sdform/planner/state"
	"github.com/sdform/sdform/providers"
	"github.com/zclconf/go-cty/cty"
)

// Plan refreshes st through the providers (unless opts.Refresh is false),
// evaluates the configuration in dependency order and decides an action,
// with its reason, for every resource and data source. st is not changed.
// With error diagnostics the plan is partial and must not be applied.
func (c *Context) Plan(ctx context.Context, st *state.File, opts plan.Options) (*plan.Plan, hcl.Diagnostics) {
	r, diags := c.newRun(st, opts, false)
	if diags.HasErrors() {
		return nil, c.tidy(diags)
	}
	r.diags = diags
	r.walk(ctx)
	if err := ctx.Err(); err != nil {
		r.diags = append(r.diags, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Plan interrupted", Detail: "The plan was cancelled before it finished: " + err.Error() + "."})
	}
	p := r.plan() // adds the failed checks' warnings to r.diags
	return p, c.tidy(r.diags)
}

// Validate checks the configuration without state: references, cycles,
// every body against its provider's schema (with unknown values where
// variables are not given and for every resource attribute), read-only
// attributes and the providers' offline checks.
func (c *Context) Validate(ctx context.Context) hcl.Diagnostics {
	r, diags := c.newRun(nil, plan.Options{}, true)
	if diags.HasErrors() {
		return c.tidy(diags)
	}
	r.diags = diags
	r.walk(ctx)
	return c.tidy(r.diags)
}

// walk visits every node of the run.
func (r *run) walk(ctx context.Context) {
	if hasCycle(r.diags) {
		return
	}
	walk(ctx, r.keys(), r.deps, r.visit)
}

func hasCycle(diags hcl.Diagnostics) bool {
	for _, d := range diags {
		if strings.HasPrefix(d.Summary, "Cycle: ") {
			return true
		}
	}
	return false
}

// visit plans one node.
func (r *run) visit(ctx context.Context, key string) {
	if rs := r.orphans[key]; rs != nil {
		if r.depFailed(key) || !r.isSelected(key) {
			return
		}
		r.planOrphan(ctx, rs)
		return
	}
	n := r.g.nodes[key]
	if n.kind == KindVariable {
		return
	}
	if r.depFailed(key) {
		return
	}
	switch n.kind {
	case KindLocal:
		v, d := evalExpr(n.local.Expr, r.scope(n).EvalContext())
		if d.HasErrors() {
			r.fail(key, d)
			return
		}
		r.addDiags(d)
		r.setVal(key, v)
	case KindProvider:
		r.planProvider(n)
	case KindData, KindResource:
		r.planObject(ctx, n)
	case KindOutput:
		r.planOutput(n)
	case KindCheck:
		if r.opts.Destroy || !r.allSelected(key) {
			return
		}
		res, d := r.evalCheck(n)
		if r.validate {
			// Only mistakes in the expressions matter here; the values
			// are mostly unknown.
			r.addDiags(d)
			return
		}
		r.addDiags(d)
		r.mu.Lock()
		r.checks[key] = res
		r.mu.Unlock()
	}
}

func (r *run) planProvider(n *node) {
	pi, err := r.c.provider(n.provider.Name)
	if err != nil {
		r.fail(n.key, hcl.Diagnostics{{
			Severity: hcl.DiagError,
			Summary:  "Unknown provider",
			Detail:   fmt.Sprintf("There is no provider named %q; known providers: %s.", n.provider.Name, strings.Join(r.c.reg.Names(), ", ")),
			Subject:  n.provider.NameRange.Ptr(),
		}})
		return
	}
	v, d := decodeProvider(pi, n.provider, r.scope(n).EvalContext())
	if d.HasErrors() {
		r.fail(n.key, d)
		return
	}
	if !v.IsWhollyKnown() && !r.validate {
		r.fail(n.key, hcl.Diagnostics{{
			Severity: hcl.DiagError,
			Summary:  "Provider configuration depends on unknown values",
			Detail:   fmt.Sprintf("The provider %q block refers to values known only after apply; a provider must be configured from values known at plan time (variables, locals, data sources).", n.provider.Name),
			Subject:  n.decl.Ptr(),
		}})
		return
	}
	r.addDiags(d)
	u := unmarkDeep(v)
	r.mu.Lock()
	if v.IsWhollyKnown() {
		r.provCfg[n.provider.Name] = u
	}
	r.mu.Unlock()
}

// planObject handles a resource or data block.
func (r *run) planObject(ctx context.Context, n *node) {
	addr := n.key
	if !r.validate && !r.isSelected(addr) {
		// Left out by -target/-exclude: downstream nodes (left out too)
		// see the recorded value.
		r.setVal(addr, r.stateValue(addr))
		return
	}
	pi, schema, d := r.c.typeSchema(n.res)
	if d.HasErrors() {
		r.fail(addr, d)
		return
	}
	if r.opts.Destroy {
		r.setVal(addr, r.stateValue(addr))
		if rs := r.st.Resource(addr); rs != nil && n.kind == KindResource {
			r.planDelete(ctx, rs, pi, schema, n, "sdform destroy")
		}
		return
	}
	cfgM, d := r.evalConfig(n, schema, n.res.Config)
	if d.HasErrors() {
		r.fail(addr, d)
		return
	}
	r.addDiags(d)
	cfg, pvm := unmarkDeepWithPaths(cfgM)
	sens := appendPaths(sensitiveFromMarks(pvm), schemaSensitivePaths(schema, cfg)...)
	r.c.secrets.addAt(cfg, sens)
	// Validate runs the providers' offline checks only: no Configure, so
	// that it needs no daemon and no provider credentials.
	if !r.validate && !r.configureOnce(ctx, pi) {
		r.fail(addr, nil)
		return
	}
	if err := r.sem.acquire(ctx); err != nil {
		r.fail(addr, nil)
		return
	}
	defer r.sem.release()
	vresp := pi.p.ValidateResource(ctx, providers.ValidateRequest{TypeName: n.res.Addr.Type, Address: addr, Config: cfg, SensitivePaths: sens})
	d = convertDiags(addr, vresp.Diagnostics, n.res.Config, n.decl.Ptr(), r.c.env.ConfigDir)
	if d.HasErrors() {
		r.fail(addr, d)
		return
	}
	r.addDiags(d)
	if r.validate {
		r.setVal(addr, cty.UnknownVal(typeOf(schema)))
		return
	}
	if n.kind == KindData {
		r.planData(ctx, n, pi, schema, cfg, sens)
		return
	}
	r.planManaged(ctx, n, pi, schema, cfg, sens)
}

// planData reads a data source now when it can, or defers the read.
func (r *run) planData(ctx context.Context, n *node, pi *providerInst, schema *providers.Schema, cfg cty.Value, sens []cty.Path) {
	addr := n.key
	ty := typeOf(schema)
	before := cty.NullVal(ty)
	if rs := r.st.Resource(addr); rs != nil {
		before = conform(rs.Value, ty)
	}
	ch := &plan.Change{
		Address: addr, Mode: state.ModeData, Type: n.res.Addr.Type, Name: n.res.Addr.Name, Provider: pi.name,
		Before: before, Verb: schema.Verb, Test: schema.Test, Dependencies: r.resourceDeps(addr),
	}
	reason := ""
	if !cfg.IsWhollyKnown() {
		reason = "configuration depends on values known only after apply"
	} else if p := r.pendingDep(addr); p != "" {
		reason = "depends on " + p + ", which has changes pending"
	}
	var val cty.Value
	if reason != "" {
		val = unknownComputed(schema, cfg)
		ch.Action, ch.Reason = plan.Read, reason
	} else {
		resp := pi.p.ReadData(ctx, providers.ReadDataRequest{TypeName: n.res.Addr.Type, Address: addr, Config: cfg})
		d := convertDiags(addr, resp.Diagnostics, n.res.Config, n.decl.Ptr(), r.c.env.ConfigDir)
		if d.HasErrors() {
			r.fail(addr, d)
			return
		}
		r.addDiags(d)
		val = conform(resp.State, ty)
		if val.IsNull() || !val.IsWhollyKnown() {
			r.fail(addr, hcl.Diagnostics{{Severity: hcl.DiagError, Summary: addr + ": provider returned an invalid value",
				Detail: "The provider's ReadData returned a null or partly unknown value; this is a bug in the provider.", Subject: n.decl.Ptr()}})
			return
		}
		val = unmarkDeep(val)
		ch.Action, ch.Reason = plan.NoOp, "read during plan"
	}
	sens = appendPaths(sens, schemaSensitivePaths(schema, val)...)
	sens = appendPaths(sens, r.c.secrets.paths(val)...)
	ch.After = Redact(val, sens, r.key)
	ch.SensitivePaths = sens
	r.mu.Lock()
	r.changes[addr] = ch
	r.sens[addr] = sens
	r.vals[addr] = markSensitive(val, sens)
	r.mu.Unlock()
}

// depPlanned names the first resource key depends on (transitively) whose
// planned action is one of actions, or "".
func (r *run) depPlanned(key string, actions ...plan.Action) string {
	for _, d := range r.resourceDeps(key) {
		if ch := r.change(d); ch != nil && slices.Contains(actions, ch.Action) {
			return d
		}
	}
	return ""
}

// pendingDep names the first resource key depends on whose planned action
// changes something, or "".
func (r *run) pendingDep(key string) string {
	return r.depPlanned(key, plan.Create, plan.Update, plan.Replace, plan.Delete, plan.Forget, plan.Read)
}

// unknownComputed is cfg with every read-only attribute unknown: what a
// deferred read will produce.
func unknownComputed(schema *providers.Schema, cfg cty.Value) cty.Value {
	if cfg.IsNull() || !cfg.Type().IsObjectType() {
		return cty.UnknownVal(typeOf(schema))
	}
	m := cfg.AsValueMap()
	for name, a := range schema.Attributes {
		if a.Computed {
			if v, ok := m[name]; !ok || v.IsNull() {
				m[name] = cty.UnknownVal(a.Type)
			}
		}
	}
	return cty.ObjectVal(m)
}

// planManaged refreshes, plans and decides one managed resource.
func (r *run) planManaged(ctx context.Context, n *node, pi *providerInst, schema *providers.Schema, cfg cty.Value, sens []cty.Path) {
	addr := n.key
	res := n.res
	ty := typeOf(schema)
	prior, priv := cty.NullVal(ty), []byte(nil)
	rs := r.st.Resource(addr)
	if rs != nil {
		prior, priv = conform(rs.Value, ty), rs.Private
	}
	var created string
	redacted := redactedLeaves(rs, prior)
	if rs != nil && r.opts.Refresh {
		var gone bool
		var ok bool
		prior, priv, gone, created, ok = r.refresh(ctx, addr, pi, schema, prior, restore(prior, cfg, redacted, r.key), redacted, priv, sens, res.Config, n.decl.Ptr())
		if !ok {
			r.fail(addr, nil)
			return
		}
		if !gone {
			created = ""
		}
	}
	if prior.IsNull() {
		redacted = nil
	}
	clear, cfgIg := providerInputs(prior, cfg, redacted, r.key, func(cfg, prior cty.Value) cty.Value {
		return ignoreChanges(cfg, prior, schema, res.Lifecycle.IgnoreChanges, res.Lifecycle.IgnoreAllChanges)
	})
	preq := providers.PlanRequest{
		TypeName: res.Addr.Type, Address: addr, Prior: clear, PriorPrivate: priv, Config: cfgIg,
		Proposed: proposedValue(schema, clear, cfgIg),
	}
	presp := pi.p.PlanResource(ctx, preq)
	d := convertDiags(addr, presp.Diagnostics, res.Config, n.decl.Ptr(), r.c.env.ConfigDir)
	if d.HasErrors() {
		r.fail(addr, d)
		return
	}
	r.addDiags(d)
	planned := presp.Planned
	if planned == cty.NilVal || planned.IsNull() || !planned.Type().IsObjectType() {
		r.fail(addr, hcl.Diagnostics{{Severity: hcl.DiagError, Summary: addr + ": provider returned no planned value",
			Detail: "The provider's PlanResource returned a null value; this is a bug in the provider.", Subject: n.decl.Ptr()}})
		return
	}
	planned = unmarkDeep(conform(planned, ty))
	sens = appendPaths(sens, schemaSensitivePaths(schema, planned)...)
	sens = appendPaths(sens, r.c.secrets.paths(planned)...)
	sens = appendPaths(sens, r.c.secrets.paths(prior)...) // a value recorded before it held a secret
	plannedR := Redact(planned, sens, r.key)

	action, reason, replacePaths := r.decide(n, schema, prior, plannedR, presp, created)
	if res.Lifecycle.PreventDestroy && (action == plan.Replace || action == plan.Delete) {
		r.addDiags(preventDestroyDiag(n, action, reason))
	}
	verb := schema.Verb
	if presp.Plain {
		verb = ""
	}
	ch := &plan.Change{
		Address: addr, Mode: state.ModeManaged, Type: res.Addr.Type, Name: res.Addr.Name, Provider: pi.name,
		Action: action, Reason: reason, ReplacePaths: replacePaths,
		Before: prior, After: plannedR, Details: presp.Details, Verb: verb, Test: schema.Test,
		SensitivePaths: sens, Fingerprint: presp.Fingerprint, Private: presp.PlannedPrivate,
		Dependencies: r.resourceDeps(addr),
	}
	r.mu.Lock()
	r.changes[addr] = ch
	r.planCalls[addr] = planCall{req: preq, resp: presp}
	r.sens[addr] = sens
	r.vals[addr] = markSensitive(planned, sens)
	r.mu.Unlock()
}

// planCall is one PlanResource call and its answer.
type planCall struct {
	req  providers.PlanRequest
	resp providers.PlanResponse
}

// answers tells whether c was asked exactly what req asks, all of it
// known: the same configuration, prior and private data.
func (c planCall) answers(req providers.PlanRequest) bool {
	return req.Config.IsWhollyKnown() && c.req.TypeName == req.TypeName && c.req.Config.RawEquals(req.Config) &&
		c.req.Prior.RawEquals(req.Prior) && bytes.Equal(c.req.PriorPrivate, req.PriorPrivate)
}

// refresh reads one object; it records drift and returns the refreshed,
// redacted prior. gone tells that the object no longer exists; reason then
// says why.
//
// prior is the recorded (redacted) value; clear is what the provider is
// given: prior with the secrets that the configuration still holds restored.
func (r *run) refresh(ctx context.Context, addr string, pi *providerInst, schema *providers.Schema, prior, clear cty.Value, redacted []cty.Path, priv []byte, sens []cty.Path, body hcl.Body, decl *hcl.Range) (newPrior cty.Value, newPriv []byte, gone bool, reason string, ok bool) {
	typ := addr[:strings.IndexByte(addr, '.')]
	resp := pi.p.ReadResource(ctx, providers.ReadRequest{TypeName: typ, Address: addr, Prior: clear, Private: priv})
	d := convertDiags(addr, resp.Diagnostics, body, decl, r.c.env.ConfigDir)
	r.addDiags(d)
	if d.HasErrors() {
		return prior, priv, false, "", false
	}
	ns := resp.NewState
	if ns == cty.NilVal {
		ns = prior
	}
	if resp.Private != nil {
		priv = resp.Private
	}
	if ns.IsNull() {
		reason = resp.Drift
		if reason == "" {
			reason = "deleted outside sdform"
		}
		r.mu.Lock()
		r.drift = append(r.drift, &plan.Drift{Address: addr, Reason: reason, Before: prior, After: cty.NullVal(prior.Type()),
			SensitivePaths: appendPaths(appendPaths(schemaSensitivePaths(schema, prior), sens...), redacted...)})
		r.mu.Unlock()
		return cty.NullVal(prior.Type()), nil, true, reason, true
	}
	ns = unmarkDeep(conform(ns, typeOf(schema)))
	paths := appendPaths(sens, schemaSensitivePaths(schema, ns)...)
	paths = appendPaths(paths, redacted...)
	paths = appendPaths(paths, r.c.secrets.paths(ns)...)
	ns = Redact(ns, paths, r.key)
	if resp.Drift != "" || !sameValue(ns, prior) {
		why := resp.Drift
		if why == "" {
			why = strings.TrimSuffix(changedReason(diffPaths(prior, ns)), " changed") + " changed outside sdform"
		}
		r.mu.Lock()
		r.drift = append(r.drift, &plan.Drift{Address: addr, Reason: why, Before: prior, After: ns, SensitivePaths: paths})
		r.mu.Unlock()
	}
	return ns, priv, false, "", true
}

// decide turns the provider's proposal into an action and its reason. The
// engine decides, not the provider: no prior is a create; -replace and
// replace_triggered_by force a replace; RequiresReplace paths or a change
// under a ForceNew attribute replace; any other difference updates.
func (r *run) decide(n *node, schema *providers.Schema, prior, plannedR cty.Value, presp providers.PlanResponse, goneReason string) (plan.Action, string, []cty.Path) {
	addr := n.key
	override := func(reason string) string {
		if presp.Reason != "" {
			return presp.Reason
		}
		return reason
	}
	if prior.IsNull() {
		if goneReason != "" {
			return plan.Create, override(goneReason), nil
		}
		return plan.Create, override("not in state"), nil
	}
	if r.replace[addr] {
		return plan.Replace, "replacement requested with -replace=" + addr, nil
	}
	if t := r.triggered(n); t != "" {
		return plan.Replace, "replace_triggered_by " + t, nil
	}
	if schema.Test {
		// A test stands for what it tests: whatever it reads of a new
		// or rebuilt object (a tag, not only the id), it runs again.
		if d := r.depPlanned(addr, plan.Create, plan.Replace); d != "" {
			how := "is replaced"
			if r.change(d).Action == plan.Create {
				how = "is new"
			}
			return plan.Replace, "depends on " + d + ", which " + how, nil
		}
	}
	diffs := diffPaths(prior, plannedR)
	var forced []cty.Path
	for _, p := range diffs {
		if forceNewPath(schema, p) {
			forced = append(forced, p)
		}
	}
	if len(presp.RequiresReplace) > 0 {
		paths := appendPaths(append([]cty.Path(nil), presp.RequiresReplace...), forced...)
		return plan.Replace, override(changedReason(paths)), paths
	}
	if len(forced) > 0 {
		return plan.Replace, override(changedReason(forced)), forced
	}
	if len(diffs) == 0 {
		return plan.NoOp, "", nil
	}
	var cfgDiffs []cty.Path
	for _, p := range diffs {
		if len(p) == 0 {
			cfgDiffs = append(cfgDiffs, p)
			continue
		}
		if s, ok := p[0].(cty.GetAttrStep); ok {
			if a := schema.Attributes[s.Name]; a != nil && a.ReadOnly() {
				continue
			}
		}
		cfgDiffs = append(cfgDiffs, p)
	}
	if len(cfgDiffs) == 0 {
		cfgDiffs = diffs
	}
	return plan.Update, override(changedReason(cfgDiffs)), nil
}

// triggered names the first replace_triggered_by reference whose object is
// being replaced or created, or whose referenced attribute changes.
func (r *run) triggered(n *node) string {
	for _, t := range n.triggers {
		if t.Addr == nil {
			continue
		}
		ch := r.change(t.Addr.String())
		if ch == nil {
			continue
		}
		whole := 2
		if t.Addr.Mode == lang.Data {
			whole = 3
		}
		if ch.Action == plan.Replace || ch.Action == plan.Create {
			return t.Addr.String()
		}
		if len(t.Traversal) <= whole {
			// The whole object: any planned change of it triggers, an
			// update in place too (as in Terraform).
			if ch.Action == plan.Update {
				return t.Addr.String()
			}
			continue
		}
		p, ok := relPath(t.Traversal[whole:])
		if !ok {
			continue
		}
		b, _ := getPath(ch.Before, p)
		a, _ := getPath(ch.After, p)
		if b == cty.NilVal || a == cty.NilVal || !sameValue(a, b) {
			return t.Addr.String() + "." + plan.FormatPath(p)
		}
	}
	return ""
}

// relPath turns the attribute part of a reference into a path.
func relPath(t hcl.Traversal) (cty.Path, bool) {
	var p cty.Path
	for _, s := range t {
		switch s := s.(type) {
		case hcl.TraverseAttr:
			p = p.GetAttr(s.Name)
		case hcl.TraverseIndex:
			p = p.Index(s.Key)
		default:
			return nil, false
		}
	}
	return p, len(p) > 0
}

func preventDestroyDiag(n *node, action plan.Action, reason string) hcl.Diagnostics {
	verb := "replace"
	if action == plan.Delete {
		verb = "delete"
	}
	detail := fmt.Sprintf("%s has lifecycle.prevent_destroy set, but the plan would %s it", n.key, verb)
	if reason != "" {
		detail += " (" + reason + ")"
	}
	detail += ". Remove prevent_destroy, or change the configuration so that the object is kept."
	return hcl.Diagnostics{{Severity: hcl.DiagError, Summary: "Instance cannot be destroyed", Detail: detail, Subject: n.decl.Ptr()}}
}

// forgetReason is the reason of the default action for an object removed
// from config.
const forgetReason = "removed from config: forgotten (the object is left alone; set destroy_removed = true in the sdform block or run sdform destroy to delete it)"

// planOrphan plans an object that is in state but no longer in config.
func (r *run) planOrphan(ctx context.Context, rs *state.Resource) {
	res := &lang.Resource{Addr: lang.Address{Mode: lang.Managed, Type: rs.Type, Name: rs.Name}}
	pi, schema, d := r.c.typeSchema(res)
	if d.HasErrors() {
		for _, x := range d {
			x.Detail += fmt.Sprintf(" (%s is recorded in state but no longer in the configuration.)", rs.Address)
		}
		r.fail(rs.Address, d)
		return
	}
	switch {
	case r.opts.Destroy:
		r.planDelete(ctx, rs, pi, schema, nil, "sdform destroy")
	case r.c.cfg.Settings != nil && r.c.cfg.Settings.DestroyRemoved:
		r.planDelete(ctx, rs, pi, schema, nil, "removed from config (destroy_removed = true)")
	default:
		ty := typeOf(schema)
		prior := conform(rs.Value, ty)
		r.mu.Lock()
		r.changes[rs.Address] = &plan.Change{
			Address: rs.Address, Mode: state.ModeManaged, Type: rs.Type, Name: rs.Name, Provider: pi.name,
			Action: plan.Forget, Reason: forgetReason, Before: prior, After: cty.NullVal(ty),
			Verb: schema.Verb, Test: schema.Test, SensitivePaths: appendPaths(schemaSensitivePaths(schema, prior), redactedLeaves(rs, prior)...),
			Private: rs.Private, Dependencies: rs.Dependencies,
		}
		r.mu.Unlock()
	}
}

// planDelete plans the deletion of a recorded object; n is its block, nil
// for an orphan. An object that refresh finds gone is only forgotten.
func (r *run) planDelete(ctx context.Context, rs *state.Resource, pi *providerInst, schema *providers.Schema, n *node, reason string) {
	ty := typeOf(schema)
	prior, priv := conform(rs.Value, ty), rs.Private
	var body hcl.Body
	var decl *hcl.Range
	if n != nil {
		body, decl = n.res.Config, n.decl.Ptr()
	}
	action := plan.Delete
	if r.opts.Refresh {
		if !r.configureOnce(ctx, pi) {
			r.fail(rs.Address, nil)
			return
		}
		if err := r.sem.acquire(ctx); err != nil {
			r.fail(rs.Address, nil)
			return
		}
		np, npriv, gone, why, ok := r.refresh(ctx, rs.Address, pi, schema, prior, prior, redactedLeaves(rs, prior), priv, nil, body, decl)
		r.sem.release()
		if !ok {
			r.fail(rs.Address, nil)
			return
		}
		if gone {
			action, reason = plan.Forget, why+": only removed from state"
		} else {
			prior, priv = np, npriv
		}
	}
	if n != nil && n.res.Lifecycle.PreventDestroy && action == plan.Delete {
		r.addDiags(preventDestroyDiag(n, action, reason))
	}
	r.mu.Lock()
	r.changes[rs.Address] = &plan.Change{
		Address: rs.Address, Mode: state.ModeManaged, Type: rs.Type, Name: rs.Name, Provider: pi.name,
		Action: action, Reason: reason, Before: prior, After: cty.NullVal(ty),
		Verb: schema.Verb, Test: schema.Test, SensitivePaths: appendPaths(schemaSensitivePaths(schema, prior), redactedLeaves(rs, prior)...),
		Private: priv, Dependencies: rs.Dependencies,
	}
	r.mu.Unlock()
}

func (r *run) planOutput(n *node) {
	o := n.output
	var before cty.Value = cty.NullVal(cty.DynamicPseudoType)
	if so := r.st.Outputs[o.Name]; so != nil && so.Value != cty.NilVal {
		before = so.Value
	}
	if !r.allSelected(n.key) {
		return
	}
	if r.validate {
		_, d := evalExpr(o.Expr, r.scope(n).EvalContext())
		r.addDiags(d)
		return
	}
	if r.opts.Destroy {
		r.mu.Lock()
		r.outputs[o.Name] = &plan.Output{Name: o.Name, Before: before, After: cty.NullVal(cty.DynamicPseudoType), Sensitive: o.Sensitive}
		r.mu.Unlock()
		return
	}
	v, d := evalExpr(o.Expr, r.scope(n).EvalContext())
	if d.HasErrors() {
		r.fail(n.key, d)
		return
	}
	r.addDiags(d)
	after, sensitive, d := r.outputValue(o, v)
	if d.HasErrors() {
		r.fail(n.key, d)
		return
	}
	r.mu.Lock()
	r.outputs[o.Name] = &plan.Output{Name: o.Name, Before: before, After: after, Sensitive: sensitive}
	r.vals[n.key] = v
	r.mu.Unlock()
}

// outputValue is an output's value as plans and state hold it: unmarked,
// and redacted as a whole when sensitive.
func (r *run) outputValue(o *lang.Output, v cty.Value) (cty.Value, bool, hcl.Diagnostics) {
	marked := lang.IsSensitive(v)
	if marked && !o.Sensitive {
		return cty.NilVal, false, hcl.Diagnostics{{
			Severity: hcl.DiagError,
			Summary:  "Output refers to sensitive values",
			Detail:   fmt.Sprintf("The value of output %q comes from a sensitive value; set sensitive = true in the output block to confirm that it may be stored (redacted) and shown as (sensitive value).", o.Name),
			Subject:  o.DeclRange.Ptr(),
		}}
	}
	u := unmarkDeep(v)
	if o.Sensitive {
		u = Redact(u, []cty.Path{{}}, r.key)
	}
	return u, o.Sensitive, nil
}

// evalCheck evaluates a check's assertions with the values known now.
func (r *run) evalCheck(n *node) (*plan.CheckResult, hcl.Diagnostics) {
	res := &plan.CheckResult{Address: n.key, Status: plan.CheckPass}
	ectx := r.scope(n).EvalContext()
	var diags hcl.Diagnostics
	failed, unknown, allWarn := false, false, true
	for _, a := range n.check.Asserts {
		v, d := evalExpr(a.Condition, ectx)
		if d.HasErrors() {
			diags = append(diags, d...)
			failed, allWarn = true, false
			res.Messages = append(res.Messages, "condition could not be evaluated")
			continue
		}
		v = unmarkDeep(v)
		if !v.IsKnown() {
			unknown = true
			continue
		}
		if v.IsNull() || v.Type() != cty.Bool {
			diags = append(diags, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Invalid condition result",
				Detail: fmt.Sprintf("The condition of an assert in %s must be true or false.", n.key), Subject: a.Condition.Range().Ptr()})
			failed, allWarn = true, false
			continue
		}
		if v.True() {
			continue
		}
		failed = true
		if a.Severity != lang.SeverityWarning {
			allWarn = false
		}
		msg := "assertion failed"
		if a.ErrorMessage != nil {
			if mv, d := evalExpr(a.ErrorMessage, ectx); !d.HasErrors() {
				switch {
				case lang.IsSensitive(mv):
					msg = "(error message is sensitive)"
				case mv.IsKnown() && !mv.IsNull() && mv.Type() == cty.String:
					msg = mv.AsString()
				}
			}
		}
		res.Messages = append(res.Messages, msg)
	}
	switch {
	case failed:
		res.Status = plan.CheckFail
		res.Warning = allWarn
	case unknown:
		res.Status = plan.CheckUnknown
	}
	return res, diags
}

// plan assembles the run's outcome.
func (r *run) plan() *plan.Plan {
	p := &plan.Plan{
		FormatVersion: plan.FormatVersion,
		SdformVersion: lang.Version,
		CreatedAt:     time.Now().UTC(),
		Lineage:       r.st.Lineage,
		Serial:        r.st.Serial,
		Options:       r.opts,
		Variables:     map[string]cty.Value{},
	}
	for name, v := range r.vars {
		if !lang.IsSensitive(v) && v.IsWhollyKnown() {
			p.Variables[name] = v
		}
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, k := range r.keys() {
		if ch := r.changes[k]; ch != nil {
			p.Changes = append(p.Changes, ch)
		}
	}
	p.Drift = append(p.Drift, r.drift...)
	sortDrift(p.Drift)
	for _, k := range sortedKeys(r.checks) {
		p.Checks = append(p.Checks, r.checks[k])
	}
	for _, k := range sortedKeys(r.outputs) {
		p.Outputs = append(p.Outputs, r.outputs[k])
	}
	for _, ch := range p.Checks {
		if ch.Status == plan.CheckFail {
			r.diags = append(r.diags, checkDiag(r.g.nodes[ch.Address], ch, hcl.DiagWarning))
		}
	}
	p.InputsDigest = r.inputsDigest()
	return p
}

func checkDiag(n *node, ch *plan.CheckResult, sev hcl.DiagnosticSeverity) *hcl.Diagnostic {
	return &hcl.Diagnostic{
		Severity: sev,
		Summary:  ch.Address + " failed",
		Detail:   sentence(strings.Join(ch.Messages, "; ")),
		Subject:  n.decl.Ptr(),
	}
}

// sentence ends s with a full stop unless it already ends a sentence
// (error messages are written either way).
func sentence(s string) string {
	if strings.HasSuffix(s, ".") || strings.HasSuffix(s, "!") || strings.HasSuffix(s, "?") {
		return s
	}
	return s + "."
}

func sortDrift(ds []*plan.Drift) {
	for i := 1; i < len(ds); i++ {
		for j := i; j > 0 && ds[j].Address < ds[j-1].Address; j-- {
			ds[j], ds[j-1] = ds[j-1], ds[j]
		}
	}
}
