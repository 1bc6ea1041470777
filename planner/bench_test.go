package planner_test

import (
	"context"
	"fmt"
	"io"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/sdform/sdform/internal/testprovider"
	"github.com/sdform/sdform/internal/view"
	"github.com/sdform/sdform/lang"
	"github.com/sdform/sdform/planner"
	"github.com/sdform/sdform/planner/plan"
	"github.com/sdform/sdform/planner/state"
	"github.com/sdform/sdform/providers"
)

// BenchmarkNoopPlan200 measures what `sdform plan` does on a configuration
// of 200 test_thing resources that all exist and match: load the
// configuration and the state, refresh every object (one world file read
// each), plan and diff them, and render the plan.
func BenchmarkNoopPlan200(b *testing.B) {
	var cfg strings.Builder
	cfg.WriteString("variable \"variant\" { default = \"fp8\" }\n")
	for i := range 200 {
		dep := ""
		if i > 0 && i%10 != 0 {
			dep = fmt.Sprintf("\n  tags = [test_thing.r%03d.out]", i-1)
		}
		fmt.Fprintf(&cfg, "resource \"test_thing\" \"r%03d\" {\n  name    = \"r%03d\"\n  variant = var.variant\n  args    = { N = \"%d\" }%s\n}\n", i, i, i, dep)
	}
	f := newFixture(b, map[string]string{"main.sdf.hcl": cfg.String()})
	load := func() (*planner.Context, *state.File, *lang.Config) {
		c, err := lang.Load(f.dir)
		if err.HasErrors() {
			b.Fatal(diagString(err))
		}
		vals, d := c.VariableValues(lang.VarInputs{})
		if d.HasErrors() {
			b.Fatal(diagString(d))
		}
		// A fresh provider per run, as in a new process.
		reg := providers.NewRegistry(map[string]providers.Factory{"test": testprovider.New})
		st, serr := state.Load(f.statePath)
		if serr != nil {
			b.Fatal(serr)
		}
		return planner.NewContext(c, vals, reg, providers.Env{ConfigDir: c.Dir, DataDir: f.dataDir()}, planner.ContextOptions{}), st, c
	}
	ctx := context.Background()
	{
		c, st, _ := load()
		p, diags := c.Plan(ctx, st, plan.Options{Refresh: true})
		if diags.HasErrors() {
			b.Fatal(diagString(diags))
		}
		// Persist once at the end: the setup is not what is measured.
		if _, d := c.Apply(ctx, p, st, func(*state.File) error { return nil }, planner.Hooks{}); d.HasErrors() {
			b.Fatal(diagString(d))
		}
		if err := f.persist(st); err != nil {
			b.Fatal(err)
		}
		_ = c.Close()
	}
	cpu0 := cpuTime()
	b.ResetTimer()
	for range b.N {
		c, st, _ := load()
		p, diags := c.Plan(ctx, st, plan.Options{Refresh: true})
		if diags.HasErrors() {
			b.Fatal(diagString(diags))
		}
		for _, ch := range p.Changes {
			if ch.Action != plan.NoOp {
				b.Fatalf("%s: %s %s", ch.Address, ch.Action, ch.Reason)
			}
		}
		if len(p.Changes) != 200 {
			b.Fatalf("%d changes", len(p.Changes))
		}
		if err := view.Plan(io.Discard, p, view.Options{}); err != nil {
			b.Fatal(err)
		}
		_ = c.Close()
	}
	b.StopTimer()
	// CPU time per plan (user+system, all threads): unlike ns/op it does
	// not grow when other processes compete for the cores.
	b.ReportMetric(float64((cpuTime()-cpu0).Nanoseconds())/float64(b.N), "cpu-ns/op")
}

func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
