package lang

import (
	"fmt"
	"sort"

	"github.com/agext/levenshtein"
	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
)

// unsupportedRoots are names Terraform users may reach for that sdform does
// not have, with what to write instead.
var unsupportedRoots = map[string]string{
	"count":     "sdform has no count: declare one block per instance.",
	"each":      "sdform has no for_each: declare one block per instance.",
	"self":      "self is not available in sdform; refer to the resource by its address, such as docker_image.comfyui.",
	"module":    "sdform has no modules: every block lives in the one configuration directory.",
	"terraform": "This is sdform, not Terraform: there is no terraform object.",
	"sdform":    "The sdform block holds settings; it has no values to refer to.",
}

// ParseReference turns a traversal from an expression into a Reference, or
// diagnoses a malformed one (var alone, data.TYPE without a name,
// count.index, …). Any traversal rooted at a name that is not var, local,
// path, data or check is taken as a managed resource reference.
func ParseReference(t hcl.Traversal) (*Reference, hcl.Diagnostics) {
	if len(t) == 0 {
		return nil, nil
	}
	root := t.RootName()
	rng := t.SourceRange()
	invalid := func(detail string) (*Reference, hcl.Diagnostics) {
		return nil, hcl.Diagnostics{{
			Severity: hcl.DiagError,
			Summary:  "Invalid reference",
			Detail:   detail,
			Subject:  rng.Ptr(),
		}}
	}
	// attr returns the name of step i when it is an attribute access.
	attr := func(i int) (string, bool) {
		if i >= len(t) {
			return "", false
		}
		a, ok := t[i].(hcl.TraverseAttr)
		return a.Name, ok
	}
	ref := &Reference{Traversal: t}
	subject := func(n int) {
		ref.SrcRange = hcl.RangeBetween(t[0].SourceRange(), t[n-1].SourceRange())
	}

	if why, bad := unsupportedRoots[root]; bad {
		return invalid(fmt.Sprintf("The name %q is not available here. %s", root, why))
	}
	switch root {
	case "var", "local", "check":
		name, ok := attr(1)
		if !ok {
			example := map[string]string{"var": "var.variant", "local": "local.files", "check": "check.size"}[root]
			return invalid(fmt.Sprintf("The %q object cannot be used on its own: follow it with a name, as in %s.", root, example))
		}
		ref.Subject = root + "." + name
		subject(2)
	case "path":
		name, ok := attr(1)
		if !ok || name != "module" {
			return invalid("The only path value is path.module, the configuration directory.")
		}
		ref.Subject = "path.module"
		subject(2)
	case "data":
		typ, ok1 := attr(1)
		name, ok2 := attr(2)
		if !ok1 || !ok2 {
			return invalid("A data source reference is data.TYPE.NAME, as in data.gpu_host.local.")
		}
		ref.Addr = &Address{Mode: Data, Type: typ, Name: name}
		ref.Subject = ref.Addr.String()
		subject(3)
	default:
		name, ok := attr(1)
		if !ok {
			return invalid(fmt.Sprintf("A reference to a resource is TYPE.NAME, as in docker_image.comfyui; %q needs a name after it.", root))
		}
		ref.Addr = &Address{Mode: Managed, Type: root, Name: name}
		ref.Subject = ref.Addr.String()
		subject(2)
	}
	return ref, nil
}

// ReferencesInExpr returns the well-formed references of an expression, in
// source order. Malformed ones are left out; ReferencesInExprDiags reports
// them.
func ReferencesInExpr(expr hcl.Expression) []Reference {
	refs, _ := ReferencesInExprDiags(expr)
	return refs
}

// ReferencesInExprDiags is ReferencesInExpr that also diagnoses malformed
// references.
func ReferencesInExprDiags(expr hcl.Expression) ([]Reference, hcl.Diagnostics) {
	if expr == nil {
		return nil, nil
	}
	var refs []Reference
	var diags hcl.Diagnostics
	for _, t := range expr.Variables() {
		ref, d := ParseReference(t)
		diags = append(diags, d...)
		if ref != nil {
			refs = append(refs, *ref)
		}
	}
	return refs, diags
}

// ReferencesInBody returns the well-formed references of every attribute
// in a body and, recursively, in its nested blocks, without a schema. On a
// body left by PartialContent (Resource.Config), the arguments taken out
// (depends_on, lifecycle) are not visited.
func ReferencesInBody(body hcl.Body) []Reference {
	refs, _ := ReferencesInBodyDiags(body)
	return refs
}

// ReferencesInBodyDiags is ReferencesInBody that also diagnoses malformed
// references.
func ReferencesInBodyDiags(body hcl.Body) ([]Reference, hcl.Diagnostics) {
	var refs []Reference
	var diags hcl.Diagnostics
	for _, e := range bodyExprs(body) {
		r, d := ReferencesInExprDiags(e)
		refs = append(refs, r...)
		diags = append(diags, d...)
	}
	return refs, diags
}

// bodyExprs lists the expressions of a body's visible attributes and of
// its nested blocks, in source order.
func bodyExprs(body hcl.Body) []hcl.Expression {
	if body == nil {
		return nil
	}
	sb, ok := body.(*hclsyntax.Body)
	if !ok {
		// Not native syntax: only its attributes are reachable without a
		// schema.
		attrs, _ := body.JustAttributes()
		var out []hcl.Expression
		for _, a := range sortedAttributes(attrs) {
			out = append(out, a.Expr)
		}
		return out
	}
	var out []hcl.Expression
	// JustAttributes honours what PartialContent took out of the body; its
	// complaint about blocks does not matter here.
	attrs, _ := sb.JustAttributes()
	for _, a := range sortedAttributes(attrs) {
		out = append(out, a.Expr)
	}
	for _, b := range visibleBlocks(sb) {
		out = append(out, bodyExprs(b.Body)...)
	}
	return out
}

// visibleBlocks returns the nested blocks of a body that PartialContent did
// not take out. hclsyntax keeps that record unexported; asking
// PartialContent for the first block of each type tells whether the type is
// hidden.
func visibleBlocks(b *hclsyntax.Body) []*hclsyntax.Block {
	hidden := map[string]bool{}
	for _, blk := range b.Blocks {
		if _, known := hidden[blk.Type]; known {
			continue
		}
		schema := &hcl.BodySchema{Blocks: []hcl.BlockHeaderSchema{{Type: blk.Type, LabelNames: make([]string, len(blk.Labels))}}}
		content, _, _ := b.PartialContent(schema)
		hidden[blk.Type] = len(content.Blocks) == 0
	}
	var out []*hclsyntax.Block
	for _, blk := range b.Blocks {
		if !hidden[blk.Type] {
			out = append(out, blk)
		}
	}
	return out
}

// CheckReferences reports each reference to something the configuration
// does not declare, with a suggestion when a declared name is close.
// Each undefined subject is reported once per source range.
func (c *Config) CheckReferences(refs []Reference) hcl.Diagnostics {
	var diags hcl.Diagnostics
	seen := map[hcl.Range]bool{}
	for _, ref := range refs {
		d := c.checkReference(ref)
		if d == nil || seen[ref.SrcRange] {
			continue
		}
		seen[ref.SrcRange] = true
		diags = append(diags, d)
	}
	return diags
}

func (c *Config) checkReference(ref Reference) *hcl.Diagnostic {
	undeclared := func(summary, detail string, candidates []string, given string) *hcl.Diagnostic {
		if s := Suggest(given, candidates); s != "" {
			detail += fmt.Sprintf(" Did you mean %s?", s)
		}
		return &hcl.Diagnostic{
			Severity: hcl.DiagError,
			Summary:  summary,
			Detail:   detail,
			Subject:  ref.SrcRange.Ptr(),
		}
	}
	if ref.Addr != nil {
		if _, ok := c.Resources[ref.Addr.String()]; ok {
			return nil
		}
		var candidates []string
		for key, r := range c.Resources {
			if r.Addr.Mode == ref.Addr.Mode {
				candidates = append(candidates, key)
			}
		}
		if ref.Addr.Mode == Data {
			return undeclared("Reference to undeclared data source",
				fmt.Sprintf("A data source %q %q has not been declared.", ref.Addr.Type, ref.Addr.Name), candidates, ref.Subject)
		}
		return undeclared("Reference to undeclared resource",
			fmt.Sprintf("A managed resource %q %q has not been declared.", ref.Addr.Type, ref.Addr.Name), candidates, ref.Subject)
	}
	root, name, _ := cutDot(ref.Subject)
	switch root {
	case "var":
		if _, ok := c.Variables[name]; ok {
			return nil
		}
		return undeclared("Reference to undeclared input variable",
			fmt.Sprintf("An input variable named %q has not been declared; declare it with a variable %q {} block.", name, name),
			prefixed("var.", keys(c.Variables)), ref.Subject)
	case "local":
		if _, ok := c.Locals[name]; ok {
			return nil
		}
		return undeclared("Reference to undeclared local value",
			fmt.Sprintf("A local value named %q has not been declared.", name),
			prefixed("local.", keys(c.Locals)), ref.Subject)
	case "check":
		if _, ok := c.Checks[name]; ok {
			return nil
		}
		return undeclared("Reference to undeclared check",
			fmt.Sprintf("A check named %q has not been declared.", name),
			prefixed("check.", keys(c.Checks)), ref.Subject)
	}
	return nil
}

func cutDot(s string) (before, after string, ok bool) {
	for i := 0; i < len(s); i++ {
		if s[i] == '.' {
			return s[:i], s[i+1:], true
		}
	}
	return s, "", false
}

func keys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	return out
}

func prefixed(prefix string, names []string) []string {
	for i, n := range names {
		names[i] = prefix + n
	}
	return names
}

// Suggest returns the candidate closest to given, if any is close enough to
// be a likely typo, for "Did you mean …?" in diagnostics; ties go to the
// lexically first candidate so that the answer does not depend on map
// order. It sorts candidates in place.
func Suggest(given string, candidates []string) string {
	sort.Strings(candidates)
	best, bestDist := "", 3 // hcl's threshold: a distance under 3
	for _, c := range candidates {
		if d := levenshtein.Distance(given, c, nil); d < bestDist {
			best, bestDist = c, d
		}
	}
	return best
}

// References returns, for every object of the configuration that holds
// expressions, the references it makes, with diagnostics for malformed and
// undefined ones. Keys: "local.NAME", "output.NAME", "provider.NAME",
// "check.NAME", and resource addresses ("docker_image.x",
// "data.gpu_host.y"); objects without references have no key. For
// resources the list includes depends_on and
// lifecycle.replace_triggered_by. Variables are absent: their validation
// rules may refer only to the variable itself (Load checks that), so they
// add no edges. The planner builds its graph, and finds cycles
// (self-references among locals included), from this.
func (c *Config) References() (map[string][]Reference, hcl.Diagnostics) {
	out := map[string][]Reference{}
	var diags hcl.Diagnostics
	addExprs := func(key string, exprs ...hcl.Expression) {
		for _, e := range exprs {
			r, d := ReferencesInExprDiags(e)
			out[key] = append(out[key], r...)
			diags = append(diags, d...)
		}
	}
	addTraversals := func(key string, ts []hcl.Traversal) {
		for _, t := range ts {
			if r, d := ParseReference(t); r != nil {
				out[key] = append(out[key], *r)
			} else {
				diags = append(diags, d...)
			}
		}
	}
	for _, l := range c.Locals {
		addExprs("local."+l.Name, l.Expr)
	}
	for _, o := range c.Outputs {
		addExprs("output."+o.Name, o.Expr)
		addTraversals("output."+o.Name, o.DependsOn)
	}
	for _, p := range c.Providers {
		r, d := ReferencesInBodyDiags(p.Config)
		out["provider."+p.Name] = append(out["provider."+p.Name], r...)
		diags = append(diags, d...)
	}
	for key, r := range c.Resources {
		refs, d := ReferencesInBodyDiags(r.Config)
		out[key] = append(out[key], refs...)
		diags = append(diags, d...)
		addTraversals(key, r.DependsOn)
		addExprs(key, r.Lifecycle.ReplaceTriggeredBy...)
	}
	for _, ch := range c.Checks {
		for _, a := range ch.Asserts {
			addExprs("check."+ch.Name, a.Condition, a.ErrorMessage)
		}
	}
	var all []Reference
	for _, refs := range out {
		all = append(all, refs...)
	}
	diags = append(diags, c.CheckReferences(all)...)
	SortDiagnostics(diags)
	return out, dedupeDiagnostics(diags)
}

// dedupeDiagnostics drops repeats of the same finding at the same place,
// which happen when one expression is reached twice.
func dedupeDiagnostics(diags hcl.Diagnostics) hcl.Diagnostics {
	type key struct {
		summary, detail string
		rng             hcl.Range
	}
	seen := map[key]bool{}
	out := diags[:0]
	for _, d := range diags {
		k := key{summary: d.Summary, detail: d.Detail}
		if d.Subject != nil {
			k.rng = *d.Subject
		}
		if seen[k] {
			continue
		}
		seen[k] = true
		out = append(out, d)
	}
	return out
}
