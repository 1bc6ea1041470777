package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"time"

	"github.com/hashicorp/hcl/v2"
	"github.com/sdform/sdform/internal/view"
	"github.com/sdform/sdform/planner"
	"github.com/sdform/sdform/planner/plan"
	"github.com/sdform/sdform/planner/state"
	"github.com/zclconf/go-cty/cty"
)

const applyUsage = `Usage: sdform apply [options] [PLANFILE]

Does what "sdform plan" shows: builds images, downloads weight files and
runs tests, in parallel where the dependency graph allows, and records each
object in the state as soon as it is done. A failure stops what depends on
it, not its neighbours; the summary lists what succeeded, failed and was
skipped, and the exit status is 1 if anything failed.

Without PLANFILE, apply plans first and asks for confirmation ("yes") on a
terminal; without a terminal it refuses unless -auto-approve is given. With
PLANFILE (from "sdform plan -out=PLANFILE") it applies exactly that plan,
without asking, and refuses with "saved plan is stale" if the state, the
configuration or any input file changed since. The plan's variables travel
with it: give only sensitive ones again (a plan does not store them); a
-var that would change another variable is refused.

Ctrl-C once stops gracefully (providers clean up, finished work is saved);
twice exits at once.

Examples:
  sdform apply
  sdform apply -auto-approve -var variant=fp16
  sdform plan -out=release.plan && sdform apply release.plan
`

const destroyUsage = `Usage: sdform destroy [options]

Deletes every object this configuration manages (as "sdform apply" of
"sdform plan -destroy" would) and removes them from the state. It asks for
confirmation ("yes") on a terminal; without one it refuses unless
-auto-approve is given.

Objects removed from the configuration are forgotten by plan and apply (left
alone, dropped from state); destroy is how to delete them.

Examples:
  sdform destroy
  sdform destroy -auto-approve -target=docker_image.old
`

type applyCmd struct {
	planFlags
	autoApprove bool
}

func (c *cli) runApply(ctx context.Context, args []string) int {
	return c.apply(ctx, args, "apply", applyUsage, false)
}

func (c *cli) runDestroy(ctx context.Context, args []string) int {
	return c.apply(ctx, args, "destroy", destroyUsage, true)
}

// applyRun is one apply or destroy: its flags and where its output goes,
// text for people or a JSON stream (-json).
type applyRun struct {
	c       *cli
	f       applyCmd
	name    string
	destroy bool
	files   map[string]*hcl.File
	// progress receives progress lines and providers' prefixed output
	// (text mode); aj is the JSON stream (-json).
	progress *view.SyncWriter
	aj       *view.ApplyJSON
	// shown are the warnings already printed (the plan's, above it), so
	// that the same warning from apply is not printed again: a check that
	// fails as a warning at plan time fails the same way after apply.
	shown map[string]bool
}

func (c *cli) apply(ctx context.Context, args []string, name, usage string, destroy bool) int {
	r := &applyRun{c: c, name: name, destroy: destroy}
	fs := c.commandFlags(name)
	r.f.register(fs)
	fs.BoolVar(&r.f.autoApprove, "auto-approve", false, "Do not ask for confirmation")
	fs.BoolVar(&r.f.json, "json", false, "Print a stream of JSON objects, one per line (docs/json-format.md); needs -auto-approve or a plan file")
	rest, code, ok := c.parse(fs, args, usage)
	if !ok {
		return code
	}
	if r.f.json {
		r.aj = view.NewApplyJSON(view.NewSyncWriter(c.stdout), nil)
	} else {
		r.progress = view.NewSyncWriter(c.stdout)
	}
	var planFile string
	switch {
	case len(rest) == 1 && !destroy:
		planFile = rest[0]
	case len(rest) > 0:
		return c.usageError(name, fmt.Sprintf("unexpected arguments %q", rest))
	}
	if planFile == "" && !r.f.autoApprove && (r.f.json || !stdinIsTerminal()) {
		return r.fail(fmt.Errorf("%s needs confirmation: run with -auto-approve or apply a saved plan", name))
	}

	var saved *plan.Plan
	if planFile != "" {
		// What to plan was decided when the plan was made: a flag that
		// changes it would be ignored, so it is refused.
		for _, flag := range []string{"target", "exclude", "replace", "refresh"} {
			if fs.Changed(flag) {
				return c.usageError(name, fmt.Sprintf("-%s cannot be used with a saved plan: it changes what is planned, and %s was planned already; plan again with it", flag, planFile))
			}
		}
		var err error
		if saved, err = readPlanFile(planFile); err != nil {
			return r.fail(err)
		}
		if fs.Changed("parallelism") {
			saved.Options.Parallelism = r.f.parallelism // how fast, not what: the plan stays as it is
		} else {
			r.f.parallelism = max(saved.Options.Parallelism, 0)
		}
	}
	opts := sessionOptions{
		vars: r.f.varFlags, lockOp: name, lockTimeout: r.f.lockTimeout, noLock: !r.f.lock,
		parallelism: r.f.parallelism, json: r.f.json, output: r.providerOutput,
	}
	if saved != nil {
		opts.saved, opts.savedPlan = saved.Variables, true
	}
	s, cfg, diags := c.open(ctx, opts)
	r.files = cfg.Files
	if s == nil {
		r.diagnostics(diags)
		return exitError
	}
	code = r.run(ctx, s, saved, &diags)
	diags = append(diags, s.close()...)
	if r.diagnostics(diags) {
		code = exitError
	}
	return code
}

// providerOutput is where a provider's output for addr goes.
func (r *applyRun) providerOutput(addr string) *view.PrefixWriter {
	if r.aj != nil {
		return r.aj.Writer(addr)
	}
	return view.NewPrefixWriter(r.progress, addr+": ")
}

func (r *applyRun) diagnostics(diags hcl.Diagnostics) bool {
	var fresh hcl.Diagnostics
	for _, d := range diags {
		if d.Severity == hcl.DiagWarning {
			k := diagKey(d)
			if r.shown[k] {
				continue
			}
			if r.shown == nil {
				r.shown = map[string]bool{}
			}
			r.shown[k] = true
		}
		fresh = append(fresh, d)
	}
	diags = fresh
	if r.aj != nil {
		r.aj.Diagnostics(diags, r.files)
		return diags.HasErrors()
	}
	return r.c.diagnostics(diags, r.files)
}

// diagKey identifies a diagnostic by what it prints.
func diagKey(d *hcl.Diagnostic) string {
	subject := ""
	if d.Subject != nil {
		subject = d.Subject.String()
	}
	return fmt.Sprintf("%d\x00%s\x00%s\x00%s", d.Severity, d.Summary, d.Detail, subject)
}

func (r *applyRun) fail(err error) int {
	if r.aj != nil {
		r.aj.Diagnostics(hcl.Diagnostics{errorDiag("Cannot "+r.name, err)}, nil)
		return exitError
	}
	return r.c.fail(err)
}

// run plans (unless a saved plan is given), confirms and applies within
// an open session; diagnostics accumulate in diags.
func (r *applyRun) run(ctx context.Context, s *session, p *plan.Plan, diags *hcl.Diagnostics) int {
	c := r.c
	o := c.viewOptions(c.stdout)
	if p == nil {
		var pdiags hcl.Diagnostics
		p, pdiags = s.pctx.Plan(ctx, s.st, r.f.options(r.destroy))
		*diags = append(*diags, pdiags...)
		if p == nil || diags.HasErrors() {
			return exitError
		}
		// Warnings about the plan belong above it, where the user looks
		// before answering.
		r.diagnostics(*diags)
		*diags = nil
		var err error
		if r.aj != nil {
			err = r.aj.Plan(p)
		} else {
			err = view.Plan(c.stdout, p, o)
		}
		if err != nil {
			return r.fail(err)
		}
		if !hasChanges(p) {
			return exitOK
		}
		if !r.f.autoApprove {
			question := "Do you want to perform these actions?"
			if r.destroy {
				question = "Do you really want to destroy every object listed above?"
			}
			if !c.confirm(ctx, question) || ctx.Err() != nil {
				what := "Apply"
				if r.destroy {
					what = "Destroy"
				}
				fmt.Fprintf(c.stdout, "\n%s cancelled: nothing was changed.\n", what)
				return exitError
			}
		}
		if r.aj == nil {
			fmt.Fprintln(c.stdout)
		}
	}

	var progress interface {
		Start(addr string, a plan.Action)
		Done(addr string, a plan.Action, id string, err error, d time.Duration)
		Skip(addr, reason string)
		Summary(res view.ApplyResult)
	}
	if r.aj != nil {
		progress = view.NewApplyJSON(view.NewSyncWriter(c.stdout), p)
		r.aj = progress.(*view.ApplyJSON)
	} else {
		progress = view.NewApply(r.progress, p, o)
	}
	var mu sync.Mutex
	var last *state.File
	persist := func(st *state.File) error {
		err := s.persist(st)
		mu.Lock()
		last = st
		mu.Unlock()
		return err
	}
	idOf := func(addr string) string {
		mu.Lock()
		defer mu.Unlock()
		if last == nil {
			return ""
		}
		return objectID(last.Resource(addr))
	}
	hooks := planner.Hooks{
		Start: progress.Start,
		Done: func(addr string, a plan.Action, err error, d time.Duration) {
			id := ""
			if err == nil {
				id = idOf(addr)
			}
			progress.Done(addr, a, id, err, d)
		},
		Skip: progress.Skip,
	}
	res, adiags := s.pctx.Apply(ctx, p, s.st, persist, hooks)
	c.flushProgress()
	*diags = append(*diags, adiags...)
	if res == nil {
		return exitError
	}
	if len(res.Succeeded)+len(res.Failed)+len(res.Skipped) == 0 && diags.HasErrors() {
		// Refused before anything ran (a stale plan): the diagnostics say
		// why, and a summary of zeros would only distract.
		return exitError
	}
	tests := map[string]bool{}
	for _, c := range p.Changes {
		tests[c.Address] = c.Test
	}
	summary := view.ApplyResult{Destroy: p.Options.Destroy, Succeeded: res.Succeeded, Failed: res.Failed, Skipped: res.Skipped, Errors: res.Errors, SkipReasons: res.SkipReasons}
	for _, p := range res.Promotions {
		if p.Passed && p.Err == nil && tests[p.Address] {
			continue // a test passing its own tests is no news
		}
		summary.Promotions = append(summary.Promotions, view.Promotion{Address: p.Address, Passed: p.Passed, Failed: p.Failed, Err: p.Err})
	}
	progress.Summary(summary)
	if r.aj != nil {
		if len(res.Checks) > 0 {
			r.aj.Checks(res.Checks)
		}
		if err := r.aj.Outputs(res.Outputs); err != nil {
			return r.fail(err)
		}
	} else {
		if len(res.Checks) > 0 {
			fmt.Fprintln(c.stdout)
			if err := view.Checks(c.stdout, res.Checks, o); err != nil {
				return c.fail(err)
			}
		}
		if err := view.Outputs(c.stdout, res.Outputs, o); err != nil {
			return c.fail(err)
		}
	}
	if ctx.Err() != nil {
		*diags = append(*diags, &hcl.Diagnostic{Severity: hcl.DiagWarning, Summary: "Interrupted",
			Detail: "The " + r.name + " was interrupted: what finished before the interrupt is saved in the state; run it again to do the rest."})
		return exitError
	}
	if len(res.Failed) > 0 || diags.HasErrors() {
		return exitError
	}
	return exitOK
}

// objectID is the "id" attribute of an applied object, for progress
// lines; empty when it has none.
func objectID(r *state.Resource) string {
	if r == nil || r.Value == cty.NilVal || r.Value.IsNull() || !r.Value.Type().IsObjectType() || !r.Value.Type().HasAttribute("id") {
		return ""
	}
	id := r.Value.GetAttr("id")
	if id.Type() != cty.String || !id.IsKnown() || id.IsNull() || id.IsMarked() {
		return ""
	}
	return id.AsString()
}

// confirm asks question on stdout and reads the answer from stdin; only
// "yes" confirms. Ctrl-C (ctx done) answers no at once.
func (c *cli) confirm(ctx context.Context, question string) bool {
	fmt.Fprintf(c.stdout, "%s Only 'yes' will be accepted.\n  Enter a value: ", question)
	answer := make(chan string, 1)
	go func() { // left blocked on stdin after a Ctrl-C; the process ends soon after
		line, err := bufio.NewReader(stdin).ReadString('\n')
		if err != nil && !errors.Is(err, io.EOF) {
			line = ""
		}
		answer <- line
	}()
	select {
	case line := <-answer:
		return strings.TrimSpace(line) == "yes"
	case <-ctx.Done():
		fmt.Fprintln(c.stdout)
		return false
	}
}
