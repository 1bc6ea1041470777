package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"strings"
	"time"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclwrite"
	"github.com/sdform/sdform/internal/view"
	"github.com/sdform/sdform/lang"
	"github.com/sdform/sdform/planner"
	"github.com/sdform/sdform/planner/state"
	"github.com/sdform/sdform/providers"
	"github.com/spf13/pflag"
	"github.com/zclconf/go-cty/cty"
)

// varFlags are -var and -var-file.
type varFlags struct {
	vars     []string
	varFiles []string
}

func (v *varFlags) register(fs *pflag.FlagSet) {
	// StringArray, not StringSlice: a value may contain commas.
	fs.StringArrayVar(&v.vars, "var", nil, "Set a variable, as `NAME=VALUE` (repeatable; later wins)")
	fs.StringArrayVar(&v.varFiles, "var-file", nil, "Read variables from an HCL `FILE` such as prod.sdfvars (repeatable)")
}

// session is a loaded configuration with its variables, a planner
// context, and (for commands that touch state) the locked state.
type session struct {
	cfg       *lang.Config
	vars      map[string]cty.Value
	pctx      *planner.Context
	statePath string
	lock      *state.Locker
	st        *state.File
}

// sessionOptions say what a command needs from open.
type sessionOptions struct {
	vars varFlags
	// saved are the variable values of a saved plan; they win over every
	// other source. savedPlan is set when a saved plan is applied: -var
	// and -var-file may then only give sensitive variables (which a plan
	// does not store) or repeat the plan's values.
	saved     map[string]cty.Value
	savedPlan bool
	// noVars skips variables (validate, graph: values are not needed).
	noVars bool
	// optionalVars leaves required variables without a value unknown
	// instead of failing (rollback needs only what the provider block
	// refers to).
	optionalVars bool
	// lockOp, when set, takes the state lock for that operation and loads
	// the state.
	lockOp      string
	lockTimeout time.Duration
	// noLock loads the state without taking the lock (-lock=false).
	noLock      bool
	parallelism int
	// output, when set, gives the writer for a provider's output about
	// one object during apply (prefixed lines, or JSON events); nil
	// discards it.
	output func(addr string) *view.PrefixWriter
	json   bool
}

// open loads the configuration in the working directory and prepares
// what the command asked for. The diagnostics hold everything worth
// showing; the session is nil when they hold an error.
func (c *cli) open(ctx context.Context, o sessionOptions) (*session, *lang.Config, hcl.Diagnostics) {
	cfg, diags := lang.Load(".")
	if diags.HasErrors() {
		return nil, cfg, diags
	}
	s := &session{cfg: cfg, statePath: cfg.StateFile()}
	if !o.noVars {
		if o.savedPlan {
			diags = append(diags, savedPlanVarDiags(cfg, o.vars, o.saved, c.env)...)
			if diags.HasErrors() {
				return nil, cfg, diags
			}
		}
		in := lang.VarInputs{CLI: o.vars.vars, Files: o.vars.varFiles, Env: c.env, Saved: map[string]cty.Value{}}
		for name, v := range o.saved {
			if !v.IsMarked() && v.IsWhollyKnown() { // sensitive ones are given again
				in.Saved[name] = v
			}
		}
		vars, vdiags := cfg.VariableValues(in)
		if o.optionalVars {
			vdiags = withoutMissingVars(vdiags)
		}
		diags = append(diags, vdiags...)
		if diags.HasErrors() {
			return nil, cfg, diags
		}
		s.vars = vars
	}
	dataDir := filepath.Join(cfg.Dir, ".sdform")
	env := providers.Env{ConfigDir: cfg.Dir, DataDir: dataDir, UI: providers.UI{Out: c.stderr, Color: c.color(c.stderr), JSON: o.json}}
	popts := planner.ContextOptions{Parallelism: o.parallelism}
	if o.output != nil {
		// Bars and BuildKit's tty display only on a terminal; plain
		// periodic lines otherwise (CI logs, pipes).
		terminal := isTerminal(c.stdout) && !o.json
		popts.UIFor = func(addr string) providers.UI {
			return providers.UI{Out: c.prefixed(addr, o.output), Terminal: terminal, Color: c.color(c.stdout) && !o.json, JSON: o.json}
		}
	}
	s.pctx = planner.NewContext(cfg, s.vars, registry(), env, popts)
	if o.lockOp != "" {
		if !o.noLock {
			lock, err := state.Lock(ctx, s.statePath, o.lockOp, o.lockTimeout)
			if err != nil {
				s.pctx.Close()
				return nil, cfg, append(diags, lockDiag(err, o.lockTimeout))
			}
			s.lock = lock
		}
		st, err := state.Load(s.statePath)
		if err != nil {
			s.close()
			return nil, cfg, append(diags, errorDiag("Cannot read state", err))
		}
		s.st = st
	}
	return s, cfg, diags
}

// close releases the lock and the providers. Errors are returned as
// diagnostics for the caller to print.
func (s *session) close() hcl.Diagnostics {
	var diags hcl.Diagnostics
	if s.pctx != nil {
		if err := s.pctx.Close(); err != nil {
			diags = append(diags, warningDiag("Provider did not close cleanly", err))
		}
	}
	if s.lock != nil {
		if err := s.lock.Unlock(); err != nil {
			diags = append(diags, errorDiag("Cannot release the state lock", err))
		}
	}
	return diags
}

// persist saves st as the state, recording this sdform's version.
func (s *session) persist(st *state.File) error {
	st.SdformVersion = lang.Version
	return st.Save(s.statePath)
}

// savedPlanVarDiags refuses -var and -var-file values that would change a
// non-sensitive variable of a saved plan: the plan applies the values it
// was made with, and ignoring the option silently would apply something
// other than what the user asked for. Sensitive variables are not stored
// in a plan and are given again this way (the plan's digest of them makes
// a different value stale); a value equal to the plan's is accepted.
func savedPlanVarDiags(cfg *lang.Config, vf varFlags, saved map[string]cty.Value, env []string) hcl.Diagnostics {
	if len(vf.vars) == 0 && len(vf.varFiles) == 0 {
		return nil
	}
	// The options' effect is the difference they make over the other
	// sources (a -var-file names its variables only inside the file).
	// Problems with the values themselves are reported by the caller's
	// own VariableValues.
	without, _ := cfg.VariableValues(lang.VarInputs{Env: env})
	with, _ := cfg.VariableValues(lang.VarInputs{CLI: vf.vars, Files: vf.varFiles, Env: env})
	named := map[string]bool{}
	for _, kv := range vf.vars {
		name, _, _ := strings.Cut(kv, "=")
		named[strings.TrimSpace(name)] = true
	}
	var diags hcl.Diagnostics
	for _, name := range sortedKeys(cfg.Variables) {
		decl := cfg.Variables[name]
		planned, inPlan := saved[name]
		given, ok := with[name]
		if decl.Sensitive || !inPlan || !ok || !given.IsWhollyKnown() {
			continue
		}
		if !named[name] && given.RawEquals(without[name]) {
			continue // not set by an option
		}
		g, _ := given.UnmarkDeep()
		pv, _ := planned.UnmarkDeep()
		if g.RawEquals(pv) {
			continue
		}
		option := "-var-file"
		if named[name] {
			option = "-var"
		}
		diags = append(diags, &hcl.Diagnostic{
			Severity: hcl.DiagError,
			Summary:  "Cannot change a variable of a saved plan",
			Detail: fmt.Sprintf("The saved plan was made with var.%s = %s, and %s sets it to %s. A saved plan applies exactly what it showed: "+
				"run sdform plan -out=FILE with this option and apply the new plan, or leave the option out. "+
				"Only sensitive variables, which a plan does not store, are given again when applying one.",
				name, hclValue(pv), option, hclValue(g)),
			Subject: decl.DeclRange.Ptr(),
		})
	}
	return diags
}

// hclValue writes a non-sensitive value as HCL, for a message.
func hclValue(v cty.Value) string {
	return strings.TrimSpace(string(hclwrite.TokensForValue(v).Bytes()))
}

// lockDiag says why the state lock was not had; waited is -lock-timeout.
func lockDiag(err error, waited time.Duration) *hcl.Diagnostic {
	var locked *state.LockedError
	if errors.As(err, &locked) {
		advice := " Use -lock-timeout=5m to wait for it."
		if waited > 0 {
			advice = fmt.Sprintf(" sdform waited %s for it (-lock-timeout); give a longer one to wait more.", waited)
		}
		return &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "State is locked", Detail: sentence(err.Error()) + advice}
	}
	return errorDiag("Cannot lock state", err)
}

func errorDiag(summary string, err error) *hcl.Diagnostic {
	return &hcl.Diagnostic{Severity: hcl.DiagError, Summary: summary, Detail: sentence(err.Error())}
}

func warningDiag(summary string, err error) *hcl.Diagnostic {
	return &hcl.Diagnostic{Severity: hcl.DiagWarning, Summary: summary, Detail: sentence(err.Error())}
}

// sentence capitalises and ends an error message, for a diagnostic's
// Detail.
func sentence(s string) string {
	if s == "" {
		return s
	}
	s = strings.ToUpper(s[:1]) + s[1:]
	if !strings.HasSuffix(s, ".") {
		s += "."
	}
	return s
}

// prefixed returns the one output writer of addr for this command, made
// by mk on first use, so that flushProgress can end its last line.
func (c *cli) prefixed(addr string, mk func(string) *view.PrefixWriter) io.Writer {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.prefixWriters == nil {
		c.prefixWriters = map[string]*view.PrefixWriter{}
	}
	if pw, ok := c.prefixWriters[addr]; ok {
		return pw
	}
	pw := mk(addr)
	c.prefixWriters[addr] = pw
	return pw
}

// flushProgress ends every provider's last unterminated line.
func (c *cli) flushProgress() {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, addr := range sortedKeys(c.prefixWriters) {
		if err := c.prefixWriters[addr].Flush(); err != nil {
			fmt.Fprintf(c.stderr, "sdform: %v\n", err)
		}
	}
}

// withoutMissingVars drops the "no value for required variable" errors;
// those variables stay unknown.
func withoutMissingVars(diags hcl.Diagnostics) hcl.Diagnostics {
	var out hcl.Diagnostics
	for _, d := range diags {
		if d.Summary != "No value for required variable" {
			out = append(out, d)
		}
	}
	return out
}
