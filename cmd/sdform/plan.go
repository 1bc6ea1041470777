package main

import (
	"context"
	"fmt"
	"os"
	"time"

	"github.com/hashicorp/hcl/v2"
	"github.com/sdform/sdform/internal/view"
	"github.com/sdform/sdform/planner/plan"
	"github.com/sdform/sdform/planner/state"
	"github.com/spf13/pflag"
)

// planFlags are the flags plan, apply and destroy share.
type planFlags struct {
	varFlags
	targets     []string
	excludes    []string
	replace     []string
	refresh     bool
	parallelism int
	lockTimeout time.Duration
	lock        bool
	json        bool
}

func (f *planFlags) register(fs *pflag.FlagSet) {
	f.varFlags.register(fs)
	fs.StringArrayVar(&f.targets, "target", nil, "Plan only `ADDRESS` and what it depends on (repeatable)")
	fs.StringArrayVar(&f.excludes, "exclude", nil, "Leave `ADDRESS` and what depends on it out of the plan (repeatable)")
	fs.StringArrayVar(&f.replace, "replace", nil, "Rebuild, re-download or re-run `ADDRESS` even if nothing changed (repeatable)")
	fs.BoolVar(&f.refresh, "refresh", true, "Read every object's real state first; -refresh=false trusts the state file")
	fs.IntVar(&f.parallelism, "parallelism", 4, "Run at most `N` provider calls at once")
	fs.DurationVar(&f.lockTimeout, "lock-timeout", 0, "Wait up to `DURATION` (\"30s\", \"5m\") for the state lock; 0 fails at once")
	fs.BoolVar(&f.lock, "lock", true, "Take the state lock; -lock=false skips it (only where nothing else can write the state)")
}

func (f *planFlags) options(destroy bool) plan.Options {
	return plan.Options{
		Destroy: destroy, Refresh: f.refresh, Targets: f.targets, Excludes: f.excludes,
		Replace: f.replace, Parallelism: f.parallelism,
	}
}

const planUsage = `Usage: sdform plan [options]

Shows what "sdform apply" would do and why, without doing it: which images
would be built (and which Dockerfile steps are cache hits), which weight
files downloaded, which tests run. It refreshes every object first, so
changes made outside sdform show up under "Objects have changed outside of
sdform". Nothing is built or written, except the plan file with -out.

Examples:
  sdform plan
  sdform plan -var variant=fp16 -out=fp16.plan   then: sdform apply fp16.plan
  sdform plan -json | jq '.resource_changes[] | {address, action, reason}'
  sdform plan -detailed-exitcode                 exit 2 when there are changes
`

type planCmd struct {
	planFlags
	out              string
	detailedExitcode bool
	destroy          bool
}

func (c *cli) runPlan(ctx context.Context, args []string) int {
	var f planCmd
	fs := c.commandFlags("plan")
	f.register(fs)
	fs.StringVar(&f.out, "out", "", "Save the plan to `FILE`, for \"sdform apply FILE\" (written with mode 0600)")
	fs.BoolVar(&f.detailedExitcode, "detailed-exitcode", false, "Exit 0 when there are no changes, 2 when there are, 1 on error")
	fs.BoolVar(&f.destroy, "destroy", false, "Plan to delete every object this configuration manages")
	fs.BoolVar(&f.json, "json", false, "Print the plan as JSON (docs/json-format.md) instead of text")
	rest, code, ok := c.parse(fs, args, planUsage)
	if !ok {
		return code
	}
	if len(rest) > 0 {
		return c.usageError("plan", fmt.Sprintf("plan takes no arguments, got %q", rest))
	}

	s, cfg, diags := c.open(ctx, sessionOptions{vars: f.varFlags, lockOp: "plan", lockTimeout: f.lockTimeout, noLock: !f.lock, parallelism: f.parallelism, json: f.json})
	var p *plan.Plan
	if s != nil {
		var pdiags hcl.Diagnostics
		p, pdiags = s.pctx.Plan(ctx, s.st, f.options(f.destroy))
		diags = append(diags, pdiags...)
		diags = append(diags, s.close()...)
	}
	if p != nil && f.out != "" && !diags.HasErrors() {
		if err := writePlanFile(f.out, p); err != nil {
			diags = append(diags, errorDiag("Cannot save the plan", err))
		}
	}
	if f.json {
		if err := view.PlanJSON(c.stdout, p, diags, cfg.Files); err != nil {
			return c.fail(err)
		}
	} else {
		c.diagnostics(diags, cfg.Files)
		if p != nil && diags.HasErrors() && hasChanges(p) {
			// What did plan is still worth seeing (a GPU requirement that
			// holds beside one that fails), marked so nobody mistakes it
			// for a plan to apply.
			fmt.Fprintf(c.stdout, "The errors above stop this plan. What could be planned is shown below; it is incomplete and cannot be applied.\n\n")
			if err := view.Plan(c.stdout, p, c.viewOptions(c.stdout)); err != nil {
				return c.fail(err)
			}
		}
		if p != nil && !diags.HasErrors() {
			if err := view.Plan(c.stdout, p, c.viewOptions(c.stdout)); err != nil {
				return c.fail(err)
			}
			if f.out != "" {
				fmt.Fprintf(c.stdout, "\nSaved the plan to %s. Apply exactly this plan with:\n  sdform apply %s\n", f.out, f.out)
			}
		}
	}
	switch {
	case diags.HasErrors() || p == nil:
		return exitError
	case f.detailedExitcode && hasChanges(p):
		return exitChanges
	}
	return exitOK
}

// hasChanges reports whether applying p would change anything: an object
// or an output.
func hasChanges(p *plan.Plan) bool {
	s := plan.Summarize(p)
	if s.Changes() > 0 || s.Read > 0 {
		return true
	}
	for _, o := range p.Outputs {
		if plan.OutputAction(o) != plan.NoOp {
			return true
		}
	}
	return false
}

// writePlanFile saves p with mode 0600 (a saved plan holds variable values
// and planned attributes), atomically: a failed save keeps the plan that
// was there, and a reader never sees half a plan.
func writePlanFile(path string, p *plan.Plan) error {
	data, err := plan.Marshal(p)
	if err != nil {
		return fmt.Errorf("encode plan: %w", err)
	}
	if err := state.WriteFile(path, data); err != nil {
		return fmt.Errorf("write plan %s: %w", path, err)
	}
	return nil
}

// readPlanFile loads a plan saved with -out.
func readPlanFile(path string) (*plan.Plan, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read plan %s: %w", path, err)
	}
	p, err := plan.Unmarshal(data)
	if err != nil {
		return nil, fmt.Errorf("read plan %s: %w", path, err)
	}
	return p, nil
}

// usageError reports a misuse of a command's arguments.
func (c *cli) usageError(cmd, msg string) int {
	fmt.Fprintf(c.stderr, "sdform %s: %s\nRun \"sdform %s -h\" for its usage.\n", cmd, msg, cmd)
	return exitError
}
