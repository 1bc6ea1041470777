package planner

import (
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/sdform/sdform/lang"
)

// Kind is what a graph node stands for.
type Kind int

// Node kinds.
const (
	KindVariable Kind = iota
	KindLocal
	KindProvider
	KindData
	KindResource
	KindOutput
	KindCheck
	// KindOrphan is an object recorded in state whose block is gone from
	// the configuration; only plans and applies have them.
	KindOrphan
)

func (k Kind) String() string {
	return [...]string{"variable", "local", "provider", "data", "resource", "output", "check", "orphan"}[k]
}

// node is one vertex: something that has a value or an action.
type node struct {
	key  string
	kind Kind
	// deps are the keys this node waits for, sorted.
	deps []string
	// refs are the references of the node's expressions (for scopes).
	refs []lang.Reference
	// via remembers, per dependency, the first reference that made it, for
	// cycle messages.
	via  map[string]hcl.Range
	decl hcl.Range

	res      *lang.Resource
	local    *lang.Local
	output   *lang.Output
	check    *lang.Check
	provider *lang.ProviderBlock
	// triggers are the references of lifecycle.replace_triggered_by.
	triggers []lang.Reference
	// explicit are the depends_on addresses.
	explicit []string
}

// Graph is the dependency graph of a configuration: one node per variable,
// local, provider block, data source, resource, output and check, with an
// edge from each node to every node its expressions, depends_on or
// replace_triggered_by refer to.
type Graph struct {
	nodes map[string]*node
	// order lists the keys dependencies first; ties broken by key so that
	// the order is stable.
	order []string
	// dependents is the reverse of deps.
	dependents map[string][]string
}

// Nodes lists the node keys ("var.x", "local.y", "provider.docker",
// "docker_image.z", "data.gpu_host.h", "output.o", "check.c") in dependency
// order: every node after everything it depends on.
func (g *Graph) Nodes() []string { return append([]string(nil), g.order...) }

// Dependencies lists the keys a node depends on directly, sorted.
func (g *Graph) Dependencies(key string) []string {
	if n := g.nodes[key]; n != nil {
		return append([]string(nil), n.deps...)
	}
	return nil
}

// Kind returns the kind of a node; ok is false when there is none.
func (g *Graph) Kind(key string) (k Kind, ok bool) {
	if n := g.nodes[key]; n != nil {
		return n.kind, true
	}
	return 0, false
}

// buildGraph makes the graph of cfg. It reports undefined and malformed
// references and cycles; the graph is usable for display even then, but
// order leaves out the members of cycles.
func buildGraph(cfg *lang.Config) (*Graph, hcl.Diagnostics) {
	refs, diags := cfg.References()
	g := &Graph{nodes: map[string]*node{}, dependents: map[string][]string{}}
	add := func(n *node) {
		n.refs = refs[n.key]
		n.via = map[string]hcl.Range{}
		g.nodes[n.key] = n
	}
	for name, v := range cfg.Variables {
		// Validation rules refer only to their own variable, and variables
		// are resolved before the graph is walked: no edges.
		g.nodes["var."+name] = &node{key: "var." + name, kind: KindVariable, decl: v.DeclRange, via: map[string]hcl.Range{}}
	}
	for name, l := range cfg.Locals {
		add(&node{key: "local." + name, kind: KindLocal, local: l, decl: l.DeclRange})
	}
	for name, p := range cfg.Providers {
		add(&node{key: "provider." + name, kind: KindProvider, provider: p, decl: p.DeclRange})
	}
	for key, r := range cfg.Resources {
		k := KindResource
		if r.Addr.Mode == lang.Data {
			k = KindData
		}
		n := &node{key: key, kind: k, res: r, decl: r.DeclRange}
		add(n)
		for _, e := range r.Lifecycle.ReplaceTriggeredBy {
			n.triggers = append(n.triggers, lang.ReferencesInExpr(e)...)
		}
		for _, t := range r.DependsOn {
			if ref, _ := lang.ParseReference(t); ref != nil && ref.Addr != nil {
				n.explicit = append(n.explicit, ref.Addr.String())
			}
		}
	}
	for name, o := range cfg.Outputs {
		add(&node{key: "output." + name, kind: KindOutput, output: o, decl: o.DeclRange})
	}
	for name, c := range cfg.Checks {
		add(&node{key: "check." + name, kind: KindCheck, check: c, decl: c.DeclRange})
	}
	for _, n := range g.nodes {
		deps := map[string]bool{}
		for _, ref := range n.refs {
			if _, ok := g.nodes[ref.Subject]; ok {
				deps[ref.Subject] = true
				if _, seen := n.via[ref.Subject]; !seen {
					n.via[ref.Subject] = ref.SrcRange
				}
			}
		}
		if n.res != nil {
			if p := "provider." + n.res.Provider(); g.nodes[p] != nil {
				deps[p] = true
			}
		}
		n.deps = sortedKeys(deps)
		for _, d := range n.deps {
			g.dependents[d] = append(g.dependents[d], n.key)
		}
	}
	for _, ds := range g.dependents {
		sort.Strings(ds)
	}
	diags = append(diags, g.cycles()...)
	g.order = g.topo()
	return g, diags
}

// topo orders the nodes dependencies first (Kahn's algorithm, smallest key
// first among the ready ones). Members of cycles never become ready and are
// left out.
func (g *Graph) topo() []string {
	indeg := map[string]int{}
	for k, n := range g.nodes {
		indeg[k] = len(n.deps)
	}
	var ready []string
	for k, d := range indeg {
		if d == 0 {
			ready = append(ready, k)
		}
	}
	sort.Strings(ready)
	var order []string
	for len(ready) > 0 {
		k := ready[0]
		ready = ready[1:]
		order = append(order, k)
		grew := false
		for _, d := range g.dependents[k] {
			indeg[d]--
			if indeg[d] == 0 {
				ready = append(ready, d)
				grew = true
			}
		}
		if grew {
			sort.Strings(ready)
		}
	}
	return order
}

// cycles finds the strongly connected components with more than one node
// (or a node that refers to itself) and reports each as one diagnostic that
// names every member in the order of the references.
func (g *Graph) cycles() hcl.Diagnostics {
	index := map[string]int{}
	low := map[string]int{}
	onStack := map[string]bool{}
	var stack []string
	var sccs [][]string
	next := 0
	var strong func(v string)
	strong = func(v string) {
		index[v], low[v] = next, next
		next++
		stack = append(stack, v)
		onStack[v] = true
		for _, w := range g.nodes[v].deps {
			if _, seen := index[w]; !seen {
				strong(w)
				low[v] = min(low[v], low[w])
			} else if onStack[w] {
				low[v] = min(low[v], index[w])
			}
		}
		if low[v] == index[v] {
			var scc []string
			for {
				w := stack[len(stack)-1]
				stack = stack[:len(stack)-1]
				onStack[w] = false
				scc = append(scc, w)
				if w == v {
					break
				}
			}
			sccs = append(sccs, scc)
		}
	}
	keys := sortedKeys(g.nodes)
	for _, k := range keys {
		if _, seen := index[k]; !seen {
			strong(k)
		}
	}
	var diags hcl.Diagnostics
	for _, scc := range sccs {
		if len(scc) == 1 && !slices.Contains(g.nodes[scc[0]].deps, scc[0]) {
			continue
		}
		diags = append(diags, g.cycleDiag(scc))
	}
	sort.SliceStable(diags, func(i, j int) bool { return rangeLess(*diags[i].Subject, *diags[j].Subject) })
	return diags
}

func rangeLess(a, b hcl.Range) bool {
	if a.Filename != b.Filename {
		return a.Filename < b.Filename
	}
	if a.Start.Line != b.Start.Line {
		return a.Start.Line < b.Start.Line
	}
	return a.Start.Column < b.Start.Column
}

// cycleDiag words one cycle: a closed walk from the member declared first
// that visits every member (for a simple cycle, the cycle itself).
func (g *Graph) cycleDiag(scc []string) *hcl.Diagnostic {
	in := map[string]bool{}
	for _, k := range scc {
		in[k] = true
	}
	sort.Slice(scc, func(i, j int) bool {
		a, b := g.nodes[scc[i]].decl, g.nodes[scc[j]].decl
		if a == b {
			return scc[i] < scc[j]
		}
		return rangeLess(a, b)
	})
	start := scc[0]
	walkPath := []string{start}
	visited := map[string]bool{start: true}
	cur := start
	for len(visited) < len(scc) {
		p := g.shortest(cur, func(k string) bool { return !visited[k] }, in)
		if p == nil {
			break
		}
		for _, k := range p[1:] {
			visited[k] = true
		}
		walkPath = append(walkPath, p[1:]...)
		cur = p[len(p)-1]
	}
	if back := g.shortest(cur, func(k string) bool { return k == start }, in); back != nil {
		walkPath = append(walkPath, back[1:]...)
	}
	var steps []string
	for i := 0; i+1 < len(walkPath); i++ {
		from, to := walkPath[i], walkPath[i+1]
		where := ""
		if r, ok := g.nodes[from].via[to]; ok {
			where = fmt.Sprintf(" (%s:%d)", r.Filename, r.Start.Line)
		}
		steps = append(steps, fmt.Sprintf("%s refers to %s%s", from, to, where))
	}
	decl := g.nodes[start].decl
	return &hcl.Diagnostic{
		Severity: hcl.DiagError,
		Summary:  "Cycle: " + strings.Join(walkPath, " → "),
		Detail: fmt.Sprintf("These objects depend on each other in a loop, so none of them can be evaluated first: %s. Remove one of these references to break the loop.",
			strings.Join(steps, "; ")),
		Subject: &decl,
	}
}

// shortest returns the shortest path, starting with from, along dependency
// edges inside in to the first node that satisfies goal, taking at least
// one step (so a path back to from itself is found too).
func (g *Graph) shortest(from string, goal func(string) bool, in map[string]bool) []string {
	prev := map[string]string{}
	queue := []string{from}
	seen := map[string]bool{}
	for len(queue) > 0 {
		k := queue[0]
		queue = queue[1:]
		for _, d := range g.nodes[k].deps {
			if !in[d] || seen[d] {
				continue
			}
			if goal(d) {
				path := []string{d}
				for c := k; ; c = prev[c] {
					path = append([]string{c}, path...)
					if c == from {
						return path
					}
				}
			}
			seen[d] = true
			prev[d] = k
			queue = append(queue, d)
		}
	}
	return nil
}

// Dot renders the graph in Graphviz's language. An edge points from a
// node to what it depends on, as in `terraform graph`.
func (g *Graph) Dot() string {
	var b strings.Builder
	b.WriteString("digraph sdform {\n  compound = \"true\"\n  newrank = \"true\"\n  rankdir = \"RL\"\n")
	for _, k := range sortedKeys(g.nodes) {
		n := g.nodes[k]
		fmt.Fprintf(&b, "  %q [label = %q, shape = %q]\n", k, k, dotShape(n.kind))
	}
	for _, k := range sortedKeys(g.nodes) {
		for _, d := range g.nodes[k].deps {
			fmt.Fprintf(&b, "  %q -> %q\n", k, d)
		}
	}
	b.WriteString("}\n")
	return b.String()
}

func dotShape(k Kind) string {
	switch k {
	case KindVariable, KindLocal, KindOutput:
		return "note"
	case KindProvider:
		return "diamond"
	case KindCheck:
		return "octagon"
	case KindData:
		return "ellipse"
	}
	return "box"
}

// Mermaid renders the graph as a Mermaid flowchart; as in Dot, an arrow
// points from a node to what it depends on.
func (g *Graph) Mermaid() string {
	var b strings.Builder
	b.WriteString("flowchart RL\n")
	keys := sortedKeys(g.nodes)
	id := map[string]string{}
	for i, k := range keys {
		id[k] = fmt.Sprintf("n%d", i)
		open, closing := mermaidShape(g.nodes[k].kind)
		fmt.Fprintf(&b, "  %s%s\"%s\"%s\n", id[k], open, k, closing)
	}
	for _, k := range keys {
		for _, d := range g.nodes[k].deps {
			fmt.Fprintf(&b, "  %s --> %s\n", id[k], id[d])
		}
	}
	return b.String()
}

func mermaidShape(k Kind) (string, string) {
	switch k {
	case KindVariable, KindLocal, KindOutput:
		return "([", "])"
	case KindProvider:
		return "{{", "}}"
	case KindCheck:
		return "{", "}"
	case KindData:
		return "[(", ")]"
	}
	return "[", "]"
}
