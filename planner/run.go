package planner

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"

	"github.com/hashicorp/hcl/v2"
	"github.com/sdform/sdform/lang"
	"github.com/sdform/sdform/planner/plan"
	"github.com/sdform/sdform/planner/state"
	"github.com/sdform/sdform/providers"
	"github.com/zclconf/go-cty/cty"
	"github.com/zclconf/go-cty/cty/convert"
)

// run is one walk of the graph: a plan, the re-plan of an apply, or a
// validation. Values, changes and diagnostics accumulate in it under mu.
type run struct {
	c        *Context
	g        *Graph
	st       *state.File
	opts     plan.Options
	key      string // HMAC key for redaction: the state's lineage
	sem      semaphore
	files    *lang.FileRecord
	vars     map[string]cty.Value
	validate bool // Validate: no state, no provider reads or plans

	// orphans are managed objects in state with no block in config, keyed
	// by address.
	orphans map[string]*state.Resource
	// selected holds the resource and data addresses the plan covers under
	// -target/-exclude; nil means all.
	selected map[string]bool
	replace  map[string]bool

	mu      sync.Mutex
	vals    map[string]cty.Value // what expressions see (marked)
	failed  map[string]bool      // nodes whose value could not be made
	sens    map[string][]cty.Path
	changes map[string]*plan.Change
	// planCalls holds each managed object's PlanResource call, so that
	// apply can reuse the answer its staleness re-plan got when the
	// object's inputs are still the same (see applier.change).
	planCalls map[string]planCall
	drift     []*plan.Drift
	checks    map[string]*plan.CheckResult
	outputs   map[string]*plan.Output
	provCfg   map[string]cty.Value
	diags     hcl.Diagnostics
	// closure caches resourceDeps, under closureMu.
	closureMu sync.Mutex
	closure   map[string][]string
}

// newRun prepares a walk over c's configuration and st.
func (c *Context) newRun(st *state.File, opts plan.Options, validate bool) (*run, hcl.Diagnostics) {
	g, diags := buildGraph(c.cfg)
	if st == nil {
		st = state.New()
	}
	r := &run{
		c: c, g: g, st: st, opts: opts, key: st.Lineage, validate: validate,
		sem:     newSemaphore(c.parallelism(opts.Parallelism)),
		files:   &lang.FileRecord{},
		vars:    map[string]cty.Value{},
		orphans: map[string]*state.Resource{},
		replace: map[string]bool{},
		vals:    map[string]cty.Value{}, failed: map[string]bool{}, sens: map[string][]cty.Path{},
		changes: map[string]*plan.Change{}, planCalls: map[string]planCall{}, checks: map[string]*plan.CheckResult{},
		outputs: map[string]*plan.Output{}, provCfg: map[string]cty.Value{},
		closure: map[string][]string{},
	}
	for name, v := range c.cfg.Variables {
		val, ok := c.vars[name]
		switch {
		case ok:
		case validate:
			val = cty.UnknownVal(v.Type)
			if v.Sensitive { // still sensitive: providers' checks of where it goes hold
				val = lang.MarkSensitive(val)
			}
		case v.Default != cty.NilVal:
			val = v.Default
			if v.Sensitive {
				val = lang.MarkSensitive(val)
			}
		default:
			diags = append(diags, &hcl.Diagnostic{
				Severity: hcl.DiagError,
				Summary:  "No value for required variable",
				Detail:   fmt.Sprintf("The variable %q has no default and was given no value; set it with -var, -var-file, a *.auto.sdfvars file or SDF_VAR_%s.", name, name),
				Subject:  v.DeclRange.Ptr(),
			})
			val = cty.UnknownVal(v.Type)
		}
		r.vars[name] = val
		r.vals["var."+name] = val
	}
	if diags.HasErrors() {
		return r, diags
	}
	if !validate {
		for _, rs := range st.Resources {
			if rs.Mode == state.ModeData {
				continue
			}
			if _, ok := c.cfg.Resources[rs.Address]; !ok {
				r.orphans[rs.Address] = rs
			}
		}
		diags = append(diags, r.selectTargets()...)
	}
	return r, diags
}

// keys lists what the walk visits: the graph's nodes and the orphans.
func (r *run) keys() []string {
	return append(r.g.Nodes(), sortedKeys(r.orphans)...)
}

// deps returns what a key waits for in a plan walk. An orphan waits for its
// provider block, if any.
func (r *run) deps(key string) []string {
	if n := r.g.nodes[key]; n != nil {
		return n.deps
	}
	if rs := r.orphans[key]; rs != nil {
		if p := "provider." + rs.Provider; r.g.nodes[p] != nil {
			return []string{p}
		}
	}
	return nil
}

func (r *run) addDiags(d hcl.Diagnostics) {
	if len(d) == 0 {
		return
	}
	r.mu.Lock()
	r.diags = append(r.diags, d...)
	r.mu.Unlock()
}

func (r *run) setVal(key string, v cty.Value) {
	r.mu.Lock()
	r.vals[key] = v
	r.mu.Unlock()
}

func (r *run) fail(key string, d hcl.Diagnostics) {
	r.mu.Lock()
	r.failed[key] = true
	if _, ok := r.vals[key]; !ok {
		r.vals[key] = cty.DynamicVal
	}
	r.diags = append(r.diags, d...)
	r.mu.Unlock()
}

// depFailed reports whether a dependency of key failed; then key fails too,
// silently (the dependency's diagnostics say why). A failed node's value is
// unknown.
func (r *run) depFailed(key string) bool {
	if r.validate {
		// Validation goes on with unknown values, so that one mistake
		// does not hide the next.
		return false
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, d := range r.deps(key) {
		if r.failed[d] {
			r.failed[key] = true
			r.vals[key] = cty.DynamicVal
			return true
		}
	}
	return false
}

func (r *run) change(addr string) *plan.Change {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.changes[addr]
}

// scope is what n's expressions see: every variable and the current values
// of the locals and objects n refers to.
func (r *run) scope(n *node) *lang.Scope {
	s := &lang.Scope{Dir: r.c.cfg.Dir, Vars: r.vars, Locals: map[string]cty.Value{}, Resources: map[lang.Address]cty.Value{}, Files: r.files}
	r.mu.Lock()
	defer r.mu.Unlock()
	refs := n.refs
	for _, ref := range refs {
		v, ok := r.vals[ref.Subject]
		if !ok {
			v = cty.DynamicVal
		}
		switch {
		case ref.Addr != nil:
			s.Resources[*ref.Addr] = v
		case strings.HasPrefix(ref.Subject, "local."):
			s.Locals[strings.TrimPrefix(ref.Subject, "local.")] = v
		}
	}
	return s
}

// resourceDeps lists, transitively, the resources and data sources key
// depends on, sorted. Every key's list is built once, from the lists of its
// dependencies (a chain of n objects costs n merges, not n walks of the
// chain).
func (r *run) resourceDeps(key string) []string {
	r.closureMu.Lock()
	defer r.closureMu.Unlock()
	return r.depsClosure(key, map[string]bool{})
}

// depsClosure is resourceDeps with closureMu held; busy holds the keys
// being computed, so that a cycle (reported by buildGraph, and the walk does
// not start then) ends the recursion.
func (r *run) depsClosure(key string, busy map[string]bool) []string {
	if c, ok := r.closure[key]; ok {
		return c
	}
	n := r.g.nodes[key]
	if n == nil {
		return nil
	}
	busy[key] = true
	var out []string
	for _, d := range n.deps {
		if busy[d] {
			continue
		}
		if dn := r.g.nodes[d]; dn != nil && (dn.kind == KindResource || dn.kind == KindData) {
			out = mergeSorted(out, []string{d})
		}
		out = mergeSorted(out, r.depsClosure(d, busy))
	}
	delete(busy, key)
	r.closure[key] = out
	return out
}

// mergeSorted returns the sorted union of two sorted lists without
// duplicates, in a new slice unless one of them is empty (lists are never
// modified once made, so sharing them is safe).
func mergeSorted(a, b []string) []string {
	switch {
	case len(b) == 0:
		return a
	case len(a) == 0:
		return b
	}
	out := make([]string, 0, len(a)+len(b))
	i, j := 0, 0
	for i < len(a) && j < len(b) {
		switch {
		case a[i] < b[j]:
			out = append(out, a[i])
			i++
		case a[i] > b[j]:
			out = append(out, b[j])
			j++
		default:
			out = append(out, a[i])
			i, j = i+1, j+1
		}
	}
	out = append(out, a[i:]...)
	return append(out, b[j:]...)
}

// stateValue is an object's value as recorded in state (redacted), or
// unknown when there is none.
func (r *run) stateValue(addr string) cty.Value {
	if rs := r.st.Resource(addr); rs != nil && rs.Value != cty.NilVal {
		return rs.Value
	}
	return cty.DynamicVal
}

// conform converts v to ty when it has drifted from the schema (an older
// state); it returns v unchanged when it cannot.
func conform(v cty.Value, ty cty.Type) cty.Value {
	if v == cty.NilVal {
		return cty.NullVal(ty)
	}
	if v.Type().Equals(ty) {
		return v
	}
	if c, err := convert.Convert(v, ty); err == nil {
		return c
	}
	return v
}

// markSensitive marks the paths of v as sensitive. Null values hide
// nothing and are left unmarked, which spares most objects the rebuild.
func markSensitive(v cty.Value, paths []cty.Path) cty.Value {
	var pvm []cty.PathValueMarks
	for _, p := range paths {
		if pv, ok := getPath(v, p); ok && pv.IsNull() {
			continue
		}
		pvm = append(pvm, cty.PathValueMarks{Path: p, Marks: cty.NewValueMarks(lang.SensitiveMark)})
	}
	if len(pvm) == 0 {
		return v
	}
	return v.MarkWithPaths(pvm)
}

// evalConfig decodes a resource, data or provider body with its schema in
// n's scope and rejects read-only attributes.
func (r *run) evalConfig(n *node, schema *providers.Schema, body hcl.Body) (cty.Value, hcl.Diagnostics) {
	ectx := r.scope(n).EvalContext()
	v, diags := decodeBody(body, specOf(schema), ectx)
	if n.res != nil {
		// replace_triggered_by items must name attributes that exist.
		for _, e := range n.res.Lifecycle.ReplaceTriggeredBy {
			_, d := evalExpr(e, ectx)
			diags = append(diags, d...)
		}
	}
	if diags.HasErrors() {
		return v, diags
	}
	return v, append(diags, readOnlyDiags(schema, v, body, n.decl.Ptr(), nil, n.key)...)
}

// configured makes sure the provider is configured, decoding an absent
// provider block as empty.
func (r *run) configured(ctx context.Context, pi *providerInst) hcl.Diagnostics {
	pb := r.c.cfg.Providers[pi.name]
	r.mu.Lock()
	cfg, ok := r.provCfg[pi.name]
	failed := r.failed["provider."+pi.name]
	r.mu.Unlock()
	if failed {
		return hcl.Diagnostics{{Severity: hcl.DiagError, Summary: "Provider " + pi.name + " is not configured", Detail: "Its provider block has errors (see above)."}}
	}
	var body hcl.Body
	var decl *hcl.Range
	if pb != nil {
		body, decl = pb.Config, pb.DeclRange.Ptr()
	}
	if !ok {
		v, d := decodeProvider(pi, nil, nil)
		if d.HasErrors() {
			return d
		}
		cfg = v
	}
	d := pi.configure(ctx, cfg, r.c.env, decl, body)
	if d.HasErrors() {
		return d
	}
	return nil
}

// configureOnce wraps configured so that its diagnostics are reported once
// per run, not once per resource.
func (r *run) configureOnce(ctx context.Context, pi *providerInst) (ok bool) {
	d := r.configured(ctx, pi)
	if !d.HasErrors() {
		return true
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	key := "configure." + pi.name
	if !r.failed[key] {
		r.failed[key] = true
		r.diags = append(r.diags, d...)
	}
	return false
}

// selectTargets works out -target, -exclude and -replace.
func (r *run) selectTargets() hcl.Diagnostics {
	var diags hcl.Diagnostics
	exists := func(addr string) bool {
		_, inCfg := r.c.cfg.Resources[addr]
		return inCfg || r.st.Resource(addr) != nil
	}
	for _, flag := range []struct {
		name  string
		addrs []string
	}{{"-target", r.opts.Targets}, {"-exclude", r.opts.Excludes}, {"-replace", r.opts.Replace}} {
		for _, a := range flag.addrs {
			if _, err := lang.ParseAddress(a); err != nil {
				diags = append(diags, &hcl.Diagnostic{
					Severity: hcl.DiagError,
					Summary:  "Invalid " + flag.name + " address",
					Detail:   fmt.Sprintf("%s=%s: %v.", flag.name, a, err),
				})
			}
		}
	}
	if diags.HasErrors() {
		return diags
	}
	for _, a := range r.opts.Replace {
		if r.c.cfg.Resources[a] == nil || strings.HasPrefix(a, "data.") {
			diags = append(diags, &hcl.Diagnostic{
				Severity: hcl.DiagError,
				Summary:  "Invalid -replace address",
				Detail:   fmt.Sprintf("-replace=%s names no managed resource of the configuration.", a),
			})
			continue
		}
		r.replace[a] = true
	}
	if len(r.opts.Targets) == 0 && len(r.opts.Excludes) == 0 {
		return diags
	}
	for _, list := range [][]string{r.opts.Targets, r.opts.Excludes} {
		for _, a := range list {
			if !exists(a) {
				diags = append(diags, &hcl.Diagnostic{
					Severity: hcl.DiagWarning,
					Summary:  "Target matches nothing",
					Detail:   fmt.Sprintf("%s is neither in the configuration nor in the state, so it selects nothing.", a),
				})
			}
		}
	}
	// dependents of a resource: through the graph, and through the
	// dependencies recorded in state (for objects gone from config).
	dependents := func(addr string) []string {
		var out []string
		seen := map[string]bool{addr: true}
		var visit func(k string)
		visit = func(k string) {
			for _, d := range r.g.dependents[k] {
				if !seen[d] {
					seen[d] = true
					out = append(out, d)
					visit(d)
				}
			}
			for _, rs := range r.st.Resources {
				if !seen[rs.Address] && slices.Contains(rs.Dependencies, k) {
					seen[rs.Address] = true
					out = append(out, rs.Address)
					visit(rs.Address)
				}
			}
		}
		visit(addr)
		return out
	}
	sel := map[string]bool{}
	if len(r.opts.Targets) == 0 {
		for a := range r.c.cfg.Resources {
			sel[a] = true
		}
		for a := range r.orphans {
			sel[a] = true
		}
	}
	for _, t := range r.opts.Targets {
		if !exists(t) {
			continue
		}
		sel[t] = true
		if r.opts.Destroy {
			for _, d := range dependents(t) {
				sel[d] = true
			}
		} else {
			for _, d := range r.resourceDeps(t) {
				sel[d] = true
			}
		}
	}
	for _, x := range r.opts.Excludes {
		delete(sel, x)
		for _, d := range dependents(x) {
			delete(sel, d)
		}
	}
	r.selected = sel
	diags = append(diags, &hcl.Diagnostic{
		Severity: hcl.DiagWarning,
		Summary:  "Resource targeting is in effect",
		Detail:   "This plan covers only part of the configuration (-target/-exclude): changes to objects left out are not shown and the result may be incomplete. Run a plan without -target and -exclude to see every change.",
	})
	return diags
}

func (r *run) isSelected(addr string) bool { return r.selected == nil || r.selected[addr] }

// allSelected reports whether every resource key depends on is selected.
func (r *run) allSelected(key string) bool {
	if r.selected == nil {
		return true
	}
	for _, d := range r.resourceDeps(key) {
		if !r.selected[d] {
			return false
		}
	}
	return true
}
