package planner

import (
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/sdform/sdform/lang"
	"github.com/sdform/sdform/planner/plan"
	"github.com/sdform/sdform/providers"
)

// TestResourceDepsMatchesWalk compares the memoised transitive dependencies
// with a plain walk of the graph, on random graphs of resources, data
// sources and locals (locals pass dependencies through without being
// listed).
func TestResourceDepsMatchesWalk(t *testing.T) {
	for seed := range uint64(20) {
		rng := rand.New(rand.NewPCG(seed, 1))
		var cfg strings.Builder
		names := []string{}
		for i := range 40 {
			var refs []string
			for _, n := range names {
				if rng.IntN(8) == 0 {
					refs = append(refs, n)
				}
			}
			list := "[" + strings.Join(refs, ", ") + "]"
			switch rng.IntN(3) {
			case 0:
				fmt.Fprintf(&cfg, "locals { l%d = %s }\n", i, list)
				names = append(names, fmt.Sprintf("local.l%d", i))
			case 1:
				fmt.Fprintf(&cfg, "data \"test_data\" \"d%d\" {\n  input = jsonencode(%s)\n}\n", i, list)
				names = append(names, fmt.Sprintf("data.test_data.d%d", i))
			default:
				fmt.Fprintf(&cfg, "resource \"test_thing\" \"r%d\" {\n  tags = [jsonencode(%s)]\n}\n", i, list)
				names = append(names, fmt.Sprintf("test_thing.r%d", i))
			}
		}
		dir := t.TempDir()
		if err := os.WriteFile(filepath.Join(dir, "main.sdf.hcl"), []byte(cfg.String()), 0o644); err != nil {
			t.Fatal(err)
		}
		c, diags := lang.Load(dir)
		if diags.HasErrors() {
			t.Fatalf("seed %d: %v", seed, diags)
		}
		r, diags := NewContext(c, nil, nil, providers.Env{}, ContextOptions{}).newRun(nil, plan.Options{}, true)
		if diags.HasErrors() {
			t.Fatalf("seed %d: %v", seed, diags)
		}
		longest := 0
		for _, key := range r.g.Nodes() {
			got, want := r.resourceDeps(key), walkDeps(r.g, key)
			if !slices.Equal(got, want) {
				t.Fatalf("seed %d, %s: resourceDeps = %v, want %v", seed, key, got, want)
			}
			longest = max(longest, len(got))
		}
		if longest < 5 {
			t.Fatalf("seed %d: the longest list has %d entries; the graph is too sparse to test anything", seed, longest)
		}
	}
}

// walkDeps is the definition of resourceDeps: every resource and data
// source reachable from key, sorted.
func walkDeps(g *Graph, key string) []string {
	seen := map[string]bool{}
	var visit func(k string)
	visit = func(k string) {
		for _, d := range g.nodes[k].deps {
			if !seen[d] {
				seen[d] = true
				visit(d)
			}
		}
	}
	visit(key)
	var out []string
	for k := range seen {
		if n := g.nodes[k]; n.kind == KindResource || n.kind == KindData {
			out = append(out, k)
		}
	}
	sort.Strings(out)
	return out
}
