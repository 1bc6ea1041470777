package planner

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/hashicorp/hcl/v2"
	"github.com/sdform/sdform/lang"
	"github.com/sdform/sdform/planner/plan"
	"github.com/sdform/sdform/planner/state"
	"github.com/sdform/sdform/providers"
	"github.com/zclconf/go-cty/cty"
)

// Hooks receive apply progress, from several goroutines at once. Any may
// be nil. Done runs with the engine's state lock held, so it may read the
// *state.File last given to persist (for an id to print) but must not
// block.
type Hooks struct {
	Start func(addr string, a plan.Action)
	Done  func(addr string, a plan.Action, err error, d time.Duration)
	Skip  func(addr, reason string)
}

// Result is the outcome of an apply.
type Result struct {
	// Succeeded, Failed and Skipped list the addresses of objects (and
	// failed checks) whose planned action ran, failed or did not start,
	// sorted. No-op objects are in none of them.
	Succeeded, Failed, Skipped []string
	// Errors holds one error per failed address: "apply ADDR: …",
	// "promote ADDR: …", "check.NAME failed: …".
	Errors map[string]error
	// SkipReasons says why each skipped address did not run.
	SkipReasons map[string]string
	Checks      []*plan.CheckResult
	Outputs     []*plan.Output
	// Promotions lists the Promote calls made after the walk.
	Promotions []*Promotion
}

// Promotion is one call of a providers.Promoter.
type Promotion struct {
	Address string
	Passed  bool
	// Failed names the tests and checks that did not pass.
	Failed []string
	Err    error
}

// Apply carries out p against st. It first checks that p is still what a
// plan would say now (the state's lineage and serial, the inputs digest and
// every changing object's provider fingerprint) and refuses with "saved
// plan is stale: …" otherwise. It then walks the graph in parallel, each
// object after its dependencies, and calls persist after every object it
// changes; a failure skips the object's dependents, not its neighbours.
// Cancelling ctx starts nothing new, lets calls in flight return and
// persists what finished. After the walk it evaluates checks and outputs
// with the final values and calls Promote for every object created,
// replaced or updated whose provider is a Promoter.
func (c *Context) Apply(ctx context.Context, p *plan.Plan, st *state.File, persist func(*state.File) error, hooks Hooks) (*Result, hcl.Diagnostics) {
	res := &Result{Errors: map[string]error{}, SkipReasons: map[string]string{}}
	if p == nil {
		return res, hcl.Diagnostics{{Severity: hcl.DiagError, Summary: "No plan to apply"}}
	}
	if st == nil {
		st = state.New()
	}
	if persist == nil {
		persist = func(*state.File) error { return nil }
	}
	if st.Serial == 0 && len(st.Resources) == 0 && p.Serial == 0 && p.Lineage != "" {
		// A plan made against no state at all was given a fresh lineage
		// that this (also fresh) state must adopt.
		st.Lineage = p.Lineage
	}
	switch {
	case st.Lineage != p.Lineage && p.Serial == 0:
		return res, stale(fmt.Sprintf("the plan was made before there was a state, and one was written since (lineage %s)", st.Lineage))
	case st.Lineage != p.Lineage:
		return res, stale(fmt.Sprintf("the state was replaced since the plan was made (lineage %s, now %s)", p.Lineage, st.Lineage))
	case st.Serial != p.Serial:
		return res, stale(fmt.Sprintf("the state changed since the plan was made (serial %d, now %d)", p.Serial, st.Serial))
	}
	opts := p.Options
	opts.Refresh = false
	r, diags := c.newRun(st, opts, false)
	if diags.HasErrors() {
		return res, c.tidy(diags)
	}
	r.diags = nil
	r.walk(ctx)
	if ctx.Err() != nil {
		// A walk cut short plans less: that is no staleness.
		return res, hcl.Diagnostics{{Severity: hcl.DiagError, Summary: "Apply interrupted",
			Detail: "The apply was interrupted while it checked the plan against the state and the configuration; nothing was changed."}}
	}
	if r.diags.HasErrors() {
		return res, c.tidy(r.diags)
	}
	if d := r.plan().InputsDigest; d != p.InputsDigest {
		return res, stale("the configuration or an input file changed since the plan was made")
	}
	// Every managed object must plan as it did: the same outside inputs
	// (fingerprint) and, unless the plan's refresh found it changed (this
	// re-plan does not refresh), the same action and the same shown value,
	// no-ops included. The value catches what the inputs digest cannot
	// see, such as a data source that reads another value now.
	for _, ch := range p.Changes {
		if ch.Mode != state.ModeManaged || ch.Action == plan.Delete || ch.Action == plan.Forget {
			continue
		}
		now := r.changes[ch.Address]
		refreshed := now != nil && !now.Before.RawEquals(ch.Before)
		switch {
		case now == nil,
			ch.Action != plan.NoOp && now.Fingerprint != ch.Fingerprint,
			!refreshed && (now.Fingerprint != ch.Fingerprint || now.Action != ch.Action || !now.After.RawEquals(ch.After)):
			return res, stale(fmt.Sprintf("inputs of %s changed since the plan was made", ch.Address))
		}
	}
	r.diags = nil // the re-plan's warnings were the plan's to show
	a := &applier{r: r, p: p, st: st, persist: persist, hooks: hooks, res: res, changes: map[string]*plan.Change{}, cause: map[string]string{}, notRun: map[string]string{}}
	for _, ch := range p.Changes {
		a.changes[ch.Address] = ch
	}
	a.deleteAfter = a.orderDeletes()
	// Objects being deleted keep their recorded values for whatever still
	// refers to them.
	for addr, ch := range a.changes {
		if ch.Action == plan.Delete || ch.Action == plan.Forget {
			r.vals[addr] = r.stateValue(addr)
		}
	}
	walk(ctx, r.keys(), a.deps, a.visit)
	a.finish(ctx)
	sort.Strings(res.Succeeded)
	sort.Strings(res.Failed)
	sort.Strings(res.Skipped)
	for addr, err := range res.Errors { // errors from promotion too
		res.Errors[addr] = c.secrets.scrubErr(err)
	}
	return res, c.tidy(append(r.diags, a.diags...))
}

func stale(why string) hcl.Diagnostics {
	return hcl.Diagnostics{{
		Severity: hcl.DiagError,
		Summary:  "saved plan is stale: " + why,
		Detail:   "The plan no longer describes what applying would do. Run sdform plan again and apply the new plan.",
	}}
}

// applier is the state of one apply walk.
type applier struct {
	r       *run
	p       *plan.Plan
	st      *state.File
	persist func(*state.File) error
	hooks   Hooks
	changes map[string]*plan.Change

	// stMu serialises changes to st and calls of persist.
	stMu sync.Mutex

	mu  sync.Mutex
	res *Result
	// cause maps a failed or skipped key to the address whose failure
	// made it so.
	cause map[string]string
	// deleteAfter lists, for each object being deleted, the objects being
	// deleted that must go first: those that depend on it (see
	// orderDeletes).
	deleteAfter map[string][]string
	// notRun says why an object with changes did not run at all
	// ("was cancelled"); like a failure, it stops its dependents, fails
	// the tests it stands for and leaves checks and outputs on it
	// unevaluated.
	notRun  map[string]string
	stopped bool // persist failed: start nothing new
	diags   hcl.Diagnostics
}

func isDelete(ch *plan.Change) bool {
	return ch != nil && (ch.Action == plan.Delete || ch.Action == plan.Forget)
}

// deps orders the apply walk: the graph's edges, except that objects being
// deleted go in reverse order (an object before what it depends on) and
// wait for nothing else but their provider block.
func (a *applier) deps(key string) []string {
	if ch := a.changes[key]; isDelete(ch) {
		var out []string
		if p := "provider." + ch.Provider; a.r.g.nodes[p] != nil {
			out = append(out, p)
		}
		return append(out, a.deleteAfter[key]...)
	}
	var out []string
	for _, d := range a.r.deps(key) {
		if !isDelete(a.changes[d]) {
			out = append(out, d)
		}
	}
	return out
}

// orderDeletes decides which deletions wait for which: an object goes
// after everything being deleted that depends on it, by the configuration
// (for objects still in it) and by the dependencies the state recorded.
// Recorded dependencies can be out of date and even circular (state
// written before an object's references changed): an edge that would
// close a cycle is left out, so the walk always ends.
func (a *applier) orderDeletes() map[string][]string {
	var deleting []string
	for addr, ch := range a.changes {
		if isDelete(ch) {
			deleting = append(deleting, addr)
		}
	}
	sort.Strings(deleting)
	after := map[string][]string{}
	// reaches reports whether from already waits, directly or not, for to.
	var reaches func(from, to string, seen map[string]bool) bool
	reaches = func(from, to string, seen map[string]bool) bool {
		if from == to {
			return true
		}
		if seen[from] {
			return false
		}
		seen[from] = true
		return slices.ContainsFunc(after[from], func(next string) bool { return reaches(next, to, seen) })
	}
	wait := func(first, then string) { // then is deleted after first
		if first != then && !slices.Contains(after[then], first) && !reaches(first, then, map[string]bool{}) {
			after[then] = append(after[then], first)
		}
	}
	for _, dependent := range deleting {
		if a.r.c.cfg.Resources[dependent] != nil {
			for _, dep := range a.r.resourceDeps(dependent) {
				if isDelete(a.changes[dep]) {
					wait(dependent, dep)
				}
			}
		}
	}
	for _, dependent := range deleting {
		for _, dep := range a.changes[dependent].Dependencies {
			if isDelete(a.changes[dep]) {
				wait(dependent, dep)
			}
		}
	}
	for _, list := range after {
		sort.Strings(list)
	}
	return after
}

func (a *applier) hasAction(key string) bool {
	ch := a.changes[key]
	return ch != nil && ch.Action != plan.NoOp
}

func (a *applier) skip(key, reason string) {
	a.mu.Lock()
	a.res.Skipped = append(a.res.Skipped, key)
	a.res.SkipReasons[key] = reason
	a.mu.Unlock()
	if a.hooks.Skip != nil {
		a.hooks.Skip(key, reason)
	}
}

// blocked reports whether key must not run because a dependency failed or
// was skipped; it records key as skipped (when it has an action) and
// passes the cause on.
func (a *applier) blocked(key string) bool {
	a.mu.Lock()
	cause := ""
	for _, d := range a.deps(key) {
		if c, ok := a.cause[d]; ok {
			cause = c
			break
		}
	}
	if cause != "" {
		a.cause[key] = cause
	}
	a.mu.Unlock()
	if cause == "" {
		return false
	}
	a.r.mu.Lock()
	a.r.failed[key] = true
	a.r.mu.Unlock()
	if a.hasAction(key) {
		a.skip(key, fmt.Sprintf("depends on %s, which %s", cause, a.outcome(cause)))
	}
	return true
}

// outcome is how key, a cause, ended: "failed", or why it did not run.
func (a *applier) outcome(key string) string {
	a.mu.Lock()
	defer a.mu.Unlock()
	if why, ok := a.notRun[key]; ok {
		return why
	}
	return "failed"
}

// didNotRun skips key, which has changes, for why ("was cancelled"), and
// makes it the cause of whatever depends on it.
func (a *applier) didNotRun(key, why, reason string) {
	a.mu.Lock()
	a.cause[key] = key
	a.notRun[key] = why
	a.mu.Unlock()
	a.r.mu.Lock()
	a.r.failed[key] = true
	a.r.mu.Unlock()
	a.skip(key, reason)
}

func (a *applier) failed(key string, err error, d hcl.Diagnostics) {
	a.mu.Lock()
	a.cause[key] = key
	if err != nil {
		a.res.Failed = append(a.res.Failed, key)
		a.res.Errors[key] = err
	}
	a.diags = append(a.diags, d...)
	a.mu.Unlock()
	a.r.mu.Lock()
	a.r.failed[key] = true
	a.r.mu.Unlock()
}

func (a *applier) succeeded(key string) {
	a.mu.Lock()
	a.res.Succeeded = append(a.res.Succeeded, key)
	a.mu.Unlock()
}

// record changes the state under the state lock and persists it.
func (a *applier) record(key string, change func(st *state.File)) error {
	a.stMu.Lock()
	defer a.stMu.Unlock()
	change(a.st)
	if err := a.persist(a.st); err != nil {
		a.mu.Lock()
		a.stopped = true
		a.mu.Unlock()
		return fmt.Errorf("persist state after %s: %w", key, err)
	}
	return nil
}

// resource returns a copy of the recorded object at key, or nil.
func (a *applier) resource(key string) *state.Resource {
	a.stMu.Lock()
	defer a.stMu.Unlock()
	return a.st.Resource(key).Copy()
}

func (a *applier) isStopped() bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.stopped
}

// visit runs one node of the apply walk.
func (a *applier) visit(ctx context.Context, key string) {
	if a.blocked(key) {
		return
	}
	ch := a.changes[key]
	n := a.r.g.nodes[key]
	if n != nil && n.kind == KindLocal {
		v, d := evalExpr(n.local.Expr, a.r.scope(n).EvalContext())
		if d.HasErrors() {
			a.failed(key, nil, d)
			return
		}
		a.r.setVal(key, v)
		return
	}
	if ch == nil || ch.Action == plan.NoOp {
		return
	}
	if err := ctx.Err(); err != nil {
		a.didNotRun(key, "was cancelled", "cancelled")
		return
	}
	if a.isStopped() {
		a.didNotRun(key, "was not run (the state could not be saved)", "the state could not be saved")
		return
	}
	// A slot first (-parallelism): what waits for one when Ctrl-C comes
	// has not started, and is skipped as cancelled.
	if err := a.r.sem.acquire(ctx); err != nil || ctx.Err() != nil {
		if err == nil {
			a.r.sem.release()
		}
		a.didNotRun(key, "was cancelled", "cancelled")
		return
	}
	defer a.r.sem.release()
	start := time.Now()
	if a.hooks.Start != nil {
		a.hooks.Start(key, ch.Action)
	}
	d, err := a.run(ctx, key, n, ch)
	err = a.r.c.secrets.scrubErr(err) // for the hooks and the result alike
	if err != nil {
		a.failed(key, err, d)
	} else {
		a.mu.Lock()
		a.diags = append(a.diags, d...)
		a.mu.Unlock()
		a.succeeded(key)
	}
	if a.hooks.Done != nil {
		// Under the state lock: a hook may look at the state it was last
		// given through persist without racing the other writers.
		a.stMu.Lock()
		a.hooks.Done(key, ch.Action, err, time.Since(start))
		a.stMu.Unlock()
	}
}

// run carries out one change.
func (a *applier) run(ctx context.Context, key string, n *node, ch *plan.Change) (hcl.Diagnostics, error) {
	if ch.Action == plan.Forget {
		return nil, a.record(key, func(st *state.File) { st.Remove(key) })
	}
	res := &lang.Resource{Addr: lang.Address{Mode: lang.Managed, Type: ch.Type, Name: ch.Name}}
	if n != nil {
		res = n.res
	} else if ch.Mode == state.ModeData {
		res.Addr.Mode = lang.Data
	}
	pi, schema, d := a.r.c.typeSchema(res)
	if d.HasErrors() {
		return d, fmt.Errorf("apply %s: %s", key, d[0].Detail)
	}
	if !a.r.configureOnce(ctx, pi) {
		return nil, fmt.Errorf("apply %s: provider %s is not configured", key, pi.name)
	}
	switch {
	case ch.Action == plan.Delete:
		return a.delete(ctx, key, pi, schema, n, ch)
	case ch.Action == plan.Read:
		return a.read(ctx, key, pi, schema, n)
	}
	return a.change(ctx, key, pi, schema, n, ch)
}

func providerError(pd providers.Diagnostics) error {
	var parts []string
	for _, d := range pd {
		if d.Severity != providers.Error {
			continue
		}
		s := d.Summary
		if d.Detail != "" {
			s += ": " + d.Detail
		}
		parts = append(parts, s)
	}
	if len(parts) == 0 {
		return errors.New("failed")
	}
	return errors.New(strings.Join(parts, "; "))
}

func (a *applier) delete(ctx context.Context, key string, pi *providerInst, schema *providers.Schema, n *node, ch *plan.Change) (hcl.Diagnostics, error) {
	ty := typeOf(schema)
	prior := conform(ch.Before, ty)
	var priv []byte
	if rs := a.resource(key); rs != nil {
		priv = rs.Private
	}
	var body hcl.Body
	var decl *hcl.Range
	if n != nil {
		body, decl = n.res.Config, n.decl.Ptr()
	}
	resp := pi.p.ApplyResource(ctx, providers.ApplyRequest{
		TypeName: ch.Type, Address: key, Action: plan.Delete, Prior: prior, Planned: cty.NullVal(ty),
		Config: cty.NullVal(ty), PlannedPrivate: priv, UI: a.r.c.uiFor(key),
	})
	d := convertDiags(key, resp.Diagnostics, body, decl, a.r.c.env.ConfigDir)
	if resp.Diagnostics.HasErrors() {
		return d, fmt.Errorf("apply %s: %w", key, providerError(resp.Diagnostics))
	}
	return d, a.record(key, func(st *state.File) { st.Remove(key) })
}

// read carries out a data source read deferred to apply.
func (a *applier) read(ctx context.Context, key string, pi *providerInst, schema *providers.Schema, n *node) (hcl.Diagnostics, error) {
	cfgM, d := a.r.evalConfig(n, schema, n.res.Config)
	if d.HasErrors() {
		return d, fmt.Errorf("apply %s: the configuration could not be evaluated", key)
	}
	cfg, pvm := unmarkDeepWithPaths(cfgM)
	if !cfg.IsWhollyKnown() {
		return d, fmt.Errorf("apply %s: the configuration is still not known", key)
	}
	resp := pi.p.ReadData(ctx, providers.ReadDataRequest{TypeName: n.res.Addr.Type, Address: key, Config: cfg})
	d = append(d, convertDiags(key, resp.Diagnostics, n.res.Config, n.decl.Ptr(), a.r.c.env.ConfigDir)...)
	if resp.Diagnostics.HasErrors() {
		return d, fmt.Errorf("read %s: %w", key, providerError(resp.Diagnostics))
	}
	val := unmarkDeep(conform(resp.State, typeOf(schema)))
	if val.IsNull() || !val.IsWhollyKnown() {
		return d, fmt.Errorf("read %s: the provider returned a null or partly unknown value", key)
	}
	sens := appendPaths(sensitiveFromMarks(pvm), schemaSensitivePaths(schema, val)...)
	sens = appendPaths(sens, a.r.c.secrets.paths(val)...)
	a.r.setVal(key, markSensitive(val, sens))
	now := time.Now().UTC()
	return d, a.record(key, func(st *state.File) {
		st.Set(&state.Resource{
			Address: key, Mode: state.ModeData, Type: n.res.Addr.Type, Name: n.res.Addr.Name, Provider: pi.name,
			Value: Redact(val, sens, a.r.key), Dependencies: a.r.resourceDeps(key), SensitivePaths: record(sens), CreatedAt: now, UpdatedAt: now,
		})
	})
}

// change carries out a create, update or replace: it evaluates the
// configuration with the values known now, re-plans to fill in what was
// unknown, keeps the planned action and applies it.
func (a *applier) change(ctx context.Context, key string, pi *providerInst, schema *providers.Schema, n *node, ch *plan.Change) (hcl.Diagnostics, error) {
	res := n.res
	ty := typeOf(schema)
	cfgM, d := a.r.evalConfig(n, schema, res.Config)
	if d.HasErrors() {
		return d, fmt.Errorf("apply %s: the configuration could not be evaluated", key)
	}
	cfg, pvm := unmarkDeepWithPaths(cfgM)
	if !cfg.IsWhollyKnown() {
		// Everything it refers to was applied or planned as a no-op.
		return d, fmt.Errorf("apply %s: the configuration is still not known: %s (a bug in sdform)", key, changedReason(unknownPaths(cfg)))
	}
	sens := appendPaths(sensitiveFromMarks(pvm), schemaSensitivePaths(schema, cfg)...)
	a.r.c.secrets.addAt(cfg, sens)
	prior, priv := cty.NullVal(ty), []byte(nil)
	var created time.Time
	var rs *state.Resource
	if ch.Action != plan.Create {
		prior = conform(ch.Before, ty)
		if rs = a.resource(key); rs != nil {
			priv, created = rs.Private, rs.CreatedAt
		}
	}
	clear, cfgIg := providerInputs(prior, cfg, redactedLeaves(rs, prior), a.r.key, func(cfg, prior cty.Value) cty.Value {
		return ignoreChanges(cfg, prior, schema, res.Lifecycle.IgnoreChanges, res.Lifecycle.IgnoreAllChanges)
	})
	preq := providers.PlanRequest{
		TypeName: res.Addr.Type, Address: key, Prior: clear, PriorPrivate: priv, Config: cfgIg,
		Proposed: proposedValue(schema, clear, cfgIg),
	}
	// The staleness check planned every object moments ago. Where nothing
	// this object depends on has been applied since and its inputs are the
	// same, that answer stands (a weight's source is not asked again). An
	// object applied before this one may have changed what the provider
	// reads outside the configuration (a file in a build context), so a
	// dependent is planned again.
	a.r.mu.Lock()
	prev, ok := a.r.planCalls[key]
	a.r.mu.Unlock()
	var presp providers.PlanResponse
	if ok && prev.answers(preq) && !a.dependsOnChange(key) {
		presp = prev.resp
	} else {
		presp = pi.p.PlanResource(ctx, preq)
	}
	d = append(d, convertDiags(key, presp.Diagnostics, res.Config, n.decl.Ptr(), a.r.c.env.ConfigDir)...)
	if presp.Diagnostics.HasErrors() {
		return d, fmt.Errorf("plan %s: %w", key, providerError(presp.Diagnostics))
	}
	if presp.Planned == cty.NilVal || presp.Planned.IsNull() {
		return d, fmt.Errorf("plan %s: the provider returned no planned value", key)
	}
	planned := unmarkDeep(conform(presp.Planned, ty))
	aresp := pi.p.ApplyResource(ctx, providers.ApplyRequest{
		TypeName: res.Addr.Type, Address: key, Action: ch.Action, Prior: clear, Planned: planned,
		Config: cfgIg, PlannedPrivate: presp.PlannedPrivate, UI: a.r.c.uiFor(key),
	})
	d = append(d, convertDiags(key, aresp.Diagnostics, res.Config, n.decl.Ptr(), a.r.c.env.ConfigDir)...)
	ns := aresp.NewState
	if ns != cty.NilVal {
		ns = unmarkDeep(conform(ns, ty))
	}
	now := time.Now().UTC()
	if created.IsZero() || ch.Action != plan.Update {
		created = now
	}
	store := func(v cty.Value, fingerprint string) func(st *state.File) {
		sens := appendPaths(sens, schemaSensitivePaths(schema, v)...)
		sens = appendPaths(sens, a.r.c.secrets.paths(v)...)
		a.r.mu.Lock()
		a.r.sens[key] = sens
		a.r.mu.Unlock()
		return func(st *state.File) {
			st.Set(&state.Resource{
				Address: key, Mode: state.ModeManaged, Type: res.Addr.Type, Name: res.Addr.Name, Provider: pi.name,
				Value: Redact(v, sens, a.r.key), Fingerprint: fingerprint, Private: aresp.Private,
				Dependencies: a.r.resourceDeps(key), SensitivePaths: record(sens), CreatedAt: created, UpdatedAt: now,
			})
		}
	}
	if aresp.Diagnostics.HasErrors() {
		err := fmt.Errorf("apply %s: %w", key, providerError(aresp.Diagnostics))
		// Record what the provider says exists now, so that no half-done
		// object is lost; a null or absent value leaves the state alone.
		if ns != cty.NilVal && !ns.IsNull() && ns.IsWhollyKnown() && !sameValue(Redact(ns, sens, a.r.key), prior) {
			fp := ""
			if rs := a.resource(key); rs != nil {
				fp = rs.Fingerprint
			}
			if perr := a.record(key, store(ns, fp)); perr != nil {
				err = errors.Join(err, perr)
			}
		}
		return d, err
	}
	if ns == cty.NilVal || ns.IsNull() {
		return d, fmt.Errorf("apply %s: the provider returned no object", key)
	}
	if !ns.IsWhollyKnown() {
		return d, fmt.Errorf("apply %s: the provider left values unknown after apply: %s", key, changedReason(unknownPaths(ns)))
	}
	if err := a.record(key, store(ns, presp.Fingerprint)); err != nil {
		return d, err
	}
	a.r.mu.Lock()
	a.r.vals[key] = markSensitive(ns, a.r.sens[key])
	a.r.mu.Unlock()
	return d, nil
}

// dependsOnChange reports whether an object key depends on is created,
// updated, replaced or deleted by this apply.
func (a *applier) dependsOnChange(key string) bool {
	return slices.ContainsFunc(a.r.resourceDeps(key), func(dep string) bool {
		ch := a.changes[dep]
		return ch != nil && ch.Action != plan.NoOp && ch.Action != plan.Read
	})
}

// unknownPaths lists where v is unknown.
func unknownPaths(v cty.Value) []cty.Path {
	var out []cty.Path
	_ = cty.Walk(v, func(p cty.Path, e cty.Value) (bool, error) {
		if !e.IsKnown() {
			out = append(out, p.Copy())
			return false, nil
		}
		return true, nil
	})
	return out
}

// finish evaluates checks and outputs with the final values, updates what
// the state holds besides objects, promotes, and persists.
func (a *applier) finish(ctx context.Context) {
	r := a.r
	destroy := a.p.Options.Destroy
	a.stMu.Lock()
	st := a.st
	// Refreshed values of unchanged objects, and data read during plan.
	for _, ch := range a.p.Changes {
		if ch.Action != plan.NoOp || !r.isSelected(ch.Address) {
			continue
		}
		rs := st.Resource(ch.Address)
		switch {
		case ch.Mode == state.ModeData && ch.After.IsWhollyKnown():
			now := time.Now().UTC()
			nr := &state.Resource{Address: ch.Address, Mode: state.ModeData, Type: ch.Type, Name: ch.Name, Provider: ch.Provider,
				Value: ch.After, Dependencies: ch.Dependencies, SensitivePaths: record(ch.SensitivePaths), CreatedAt: now, UpdatedAt: now}
			if rs != nil {
				nr.CreatedAt = rs.CreatedAt
				if sameValue(rs.Value, ch.After) {
					nr.UpdatedAt = rs.UpdatedAt
				}
			}
			st.Set(nr)
		case ch.Mode == state.ModeManaged && rs != nil:
			if a.p.Options.Refresh && ch.Before.IsWhollyKnown() && !sameValue(rs.Value, ch.Before) {
				rs.Value = ch.Before
				rs.SensitivePaths = appendPaths(record(rs.SensitivePaths), ch.SensitivePaths...)
				rs.UpdatedAt = time.Now().UTC()
			}
			// What it depends on now, as for every other object: a later
			// destroy deletes in this order.
			if !destroy && r.c.cfg.Resources[ch.Address] != nil {
				rs.Dependencies = r.resourceDeps(ch.Address)
			}
		}
	}
	// Data sources no longer in config (or all of them, on destroy).
	for _, rs := range append([]*state.Resource(nil), st.Resources...) {
		if rs.Mode == state.ModeData && (destroy || r.c.cfg.Resources[rs.Address] == nil) {
			st.Remove(rs.Address)
		}
	}
	a.stMu.Unlock()

	if !destroy {
		a.finishChecks()
	}
	a.finishOutputs(destroy)
	if !destroy {
		a.promote(ctx)
	}
	if err := a.record("apply", func(*state.File) {}); err != nil {
		a.mu.Lock()
		a.res.Errors["state"] = err
		a.mu.Unlock()
		a.diags = append(a.diags, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Failed to save state", Detail: err.Error()})
	}
}

// blockedBy reports the failed or skipped address a key depends on, or "".
func (a *applier) blockedBy(key string) string {
	a.mu.Lock()
	defer a.mu.Unlock()
	for _, d := range a.r.resourceDeps(key) {
		if c, ok := a.cause[d]; ok {
			return c
		}
	}
	return ""
}

func (a *applier) finishChecks() {
	r := a.r
	now := time.Now().UTC()
	for _, name := range sortedKeys(r.c.cfg.Checks) {
		key := "check." + name
		n := r.g.nodes[key]
		if !r.allSelected(key) {
			continue
		}
		var res *plan.CheckResult
		if cause := a.blockedBy(key); cause != "" {
			res = &plan.CheckResult{Address: key, Status: plan.CheckUnknown, Messages: []string{"not evaluated: depends on " + cause + ", which " + a.outcome(cause)}}
		} else {
			var d hcl.Diagnostics
			res, d = r.evalCheck(n)
			a.diags = append(a.diags, d...)
		}
		a.res.Checks = append(a.res.Checks, res)
		a.stMu.Lock()
		a.st.SetCheck(&state.Check{Address: key, Status: string(res.Status), Messages: res.Messages, UpdatedAt: now})
		a.stMu.Unlock()
		if res.Status != plan.CheckFail {
			continue
		}
		if res.Warning {
			a.diags = append(a.diags, checkDiag(n, res, hcl.DiagWarning))
			continue
		}
		a.diags = append(a.diags, checkDiag(n, res, hcl.DiagError))
		a.mu.Lock()
		a.cause[key] = key
		a.res.Failed = append(a.res.Failed, key)
		a.res.Errors[key] = fmt.Errorf("%s failed: %s", key, strings.Join(res.Messages, "; "))
		a.mu.Unlock()
	}
}

func (a *applier) finishOutputs(destroy bool) {
	r := a.r
	a.stMu.Lock()
	defer a.stMu.Unlock()
	if a.st.Outputs == nil {
		a.st.Outputs = map[string]*state.Output{}
	}
	for name := range a.st.Outputs {
		if destroy || r.c.cfg.Outputs[name] == nil {
			delete(a.st.Outputs, name)
		}
	}
	if destroy {
		return
	}
	for _, name := range sortedKeys(r.c.cfg.Outputs) {
		o := r.c.cfg.Outputs[name]
		key := "output." + name
		if !r.allSelected(key) || a.blockedBy(key) != "" {
			continue
		}
		before := cty.NullVal(cty.DynamicPseudoType)
		if so := a.st.Outputs[name]; so != nil && so.Value != cty.NilVal {
			before = so.Value
		}
		v, d := evalExpr(o.Expr, r.scope(r.g.nodes[key]).EvalContext())
		if d.HasErrors() {
			a.diags = append(a.diags, d...)
			continue
		}
		after, sensitive, d := r.outputValue(o, v)
		if d.HasErrors() {
			a.diags = append(a.diags, d...)
			continue
		}
		a.res.Outputs = append(a.res.Outputs, &plan.Output{Name: name, Before: before, After: after, Sensitive: sensitive})
		if after.IsWhollyKnown() {
			a.st.Outputs[name] = &state.Output{Value: after, Sensitive: sensitive}
		}
	}
}

// promote calls Promote for every object created, replaced or updated in
// this apply whose provider promotes, telling it whether every test
// resource and check that depends on the object passed. Updates count: an
// object whose earlier promotion failed is planned as an update (docker
// image: "tags not moved yet") so that tests fixed since can promote it.
func (a *applier) promote(ctx context.Context) {
	r := a.r
	a.mu.Lock()
	succeeded := append([]string(nil), a.res.Succeeded...)
	a.mu.Unlock()
	sort.Strings(succeeded)
	for _, key := range succeeded {
		ch := a.changes[key]
		if ch == nil || ch.Mode != state.ModeManaged || (ch.Action != plan.Create && ch.Action != plan.Replace && ch.Action != plan.Update) {
			continue
		}
		pi, err := r.c.provider(ch.Provider)
		if err != nil {
			continue
		}
		prom, ok := pi.p.(providers.Promoter)
		if !ok {
			continue
		}
		failed := a.testsFailing(key)
		r.mu.Lock()
		val := unmarkDeep(r.vals[key])
		sens := r.sens[key]
		r.mu.Unlock()
		rs := a.resource(key)
		var priv []byte
		if rs != nil {
			priv = rs.Private
		}
		// Promotion is the short last step of work that already ran;
		// after an interrupt it still runs, so that tags are never left
		// half moved (a second interrupt ends the process anyway).
		resp := prom.Promote(context.WithoutCancel(ctx), providers.PromoteRequest{
			TypeName: ch.Type, Address: key, State: val, Private: priv,
			Passed: len(failed) == 0, Failed: failed, UI: r.c.uiFor(key),
		})
		pr := &Promotion{Address: key, Passed: len(failed) == 0, Failed: failed}
		var body hcl.Body
		var decl *hcl.Range
		if n := r.g.nodes[key]; n != nil {
			body, decl = n.res.Config, n.decl.Ptr()
		}
		a.diags = append(a.diags, convertDiags(key, resp.Diagnostics, body, decl, r.c.env.ConfigDir)...)
		if resp.Diagnostics.HasErrors() {
			pr.Err = fmt.Errorf("promote %s: %w", key, providerError(resp.Diagnostics))
		}
		if ns := resp.NewState; ns != cty.NilVal && !ns.IsNull() && ns.IsWhollyKnown() && rs != nil {
			ns = unmarkDeep(ns)
			sens = appendPaths(sens, schemaSensitivePaths(pi.schema.Resources[ch.Type], ns)...)
			nr := rs.Copy()
			nr.Value = Redact(ns, sens, r.key)
			nr.SensitivePaths = record(sens)
			nr.UpdatedAt = time.Now().UTC()
			if resp.Private != nil {
				nr.Private = resp.Private
			}
			if err := a.record(key, func(st *state.File) { st.Set(nr) }); err != nil {
				pr.Err = errors.Join(pr.Err, err)
			}
			r.setVal(key, markSensitive(ns, sens))
		}
		a.res.Promotions = append(a.res.Promotions, pr)
		if pr.Err != nil {
			a.mu.Lock()
			a.res.Succeeded = remove(a.res.Succeeded, key)
			a.res.Failed = append(a.res.Failed, key)
			a.res.Errors[key] = pr.Err
			a.mu.Unlock()
		}
	}
}

// testsFailing lists the test resources and checks that depend on key and
// did not pass in this apply (failed, skipped, left out by -target or
// -exclude, or a check that failed or stayed unknown).
func (a *applier) testsFailing(key string) []string {
	r := a.r
	var out []string
	for _, k := range r.g.order {
		n := r.g.nodes[k]
		if !slices.Contains(r.resourceDeps(k), key) {
			continue
		}
		switch n.kind {
		case KindResource:
			_, schema, d := r.c.typeSchema(n.res)
			if d.HasErrors() || !schema.Test {
				continue
			}
			a.mu.Lock()
			_, bad := a.cause[k]
			why, notRun := a.notRun[k]
			a.mu.Unlock()
			switch {
			case !r.isSelected(k):
				out = append(out, k+" (not run: left out by -target/-exclude)")
			case notRun:
				out = append(out, k+" ("+why+")")
			case bad:
				out = append(out, k)
			}
		case KindCheck:
			for _, c := range a.res.Checks {
				if c.Address == k && (c.Status == plan.CheckUnknown || c.Status == plan.CheckFail && !c.Warning) {
					out = append(out, k)
				}
			}
			if !r.allSelected(k) {
				out = append(out, k+" (not run: left out by -target/-exclude)")
			}
		}
	}
	return out
}

func remove(list []string, s string) []string {
	out := list[:0]
	for _, x := range list {
		if x != s {
			out = append(out, x)
		}
	}
	return out
}
