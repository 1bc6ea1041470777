package view

import (
	"fmt"
	"io"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/sdform/sdform/planner/plan"
	"github.com/zclconf/go-cty/cty"
)

// Apply reports an apply while it runs: a line when each object starts and
// one when it ends, then a summary. It is safe for concurrent use by the
// planner's parallel walk.
type Apply struct {
	o       Options
	mu      sync.Mutex
	w       io.Writer
	verbs   map[string]string
	skipped map[string]string
}

// NewApply returns a progress view for applying p. w should be shared
// with the providers' prefixed output through a SyncWriter.
func NewApply(w io.Writer, p *plan.Plan, o Options) *Apply {
	a := &Apply{o: o, w: w, verbs: map[string]string{}, skipped: map[string]string{}}
	if p != nil {
		for _, c := range p.Changes {
			a.verbs[c.Address] = c.Verb
		}
	}
	return a
}

// Progressive is the "-ing" word for an action: "Building…",
// "Downloading…", "Running…", "Checking…", "Creating…". A verb it does not
// know reads "Verb…".
func Progressive(act plan.Action, verb string) string {
	verb = plan.ActionVerb(act, verb)
	switch act {
	case plan.Create, plan.Update, plan.Replace:
		switch verb {
		case "build":
			return "Building…"
		case "download":
			return "Downloading…"
		case "run":
			return "Running…"
		case "check":
			return "Checking…"
		case "", "create":
			switch act {
			case plan.Create:
				return "Creating…"
			case plan.Update:
				return "Updating…"
			}
			return "Replacing…"
		}
		return capitalize(verb) + "…"
	case plan.Delete:
		return "Destroying…"
	case plan.Forget:
		return "Forgetting…"
	case plan.Read:
		return "Reading…"
	}
	return "Working…"
}

// Completed is the past-tense word for an action: "Built", "Downloaded",
// "Passed" (for tests that ran), "Checked", "Created", "Destroyed". A verb
// it does not know reads "Verb done".
func Completed(act plan.Action, verb string) string {
	verb = plan.ActionVerb(act, verb)
	switch act {
	case plan.Create, plan.Update, plan.Replace:
		switch verb {
		case "build":
			return "Built"
		case "download":
			return "Downloaded"
		case "run":
			return "Passed"
		case "check":
			return "Checked"
		case "", "create":
			switch act {
			case plan.Create:
				return "Created"
			case plan.Update:
				return "Updated"
			}
			return "Replaced"
		}
		return capitalize(verb) + " done"
	case plan.Delete:
		return "Destroyed"
	case plan.Forget:
		return "Forgotten"
	case plan.Read:
		return "Read"
	}
	return "Done"
}

func capitalize(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

// Duration prints d the way progress lines do: whole seconds ("3m2s"),
// or milliseconds under a second.
func Duration(d time.Duration) string {
	if d < time.Second {
		return d.Round(time.Millisecond).String()
	}
	return d.Round(time.Second).String()
}

func (a *Apply) printf(format string, args ...any) {
	a.mu.Lock()
	defer a.mu.Unlock()
	fmt.Fprintf(a.w, format, args...)
}

// Start reports that addr began.
func (a *Apply) Start(addr string, act plan.Action) {
	a.printf("%s: %s\n", a.o.paint(ansiBold, addr), Progressive(act, a.verbs[addr]))
}

// Done reports that addr ended after d; id, when not empty, is the
// object's id after apply.
func (a *Apply) Done(addr string, act plan.Action, id string, err error, d time.Duration) {
	if err != nil {
		first, _, _ := strings.Cut(err.Error(), "\n")
		a.printf("%s: %s after %s: %s\n", a.o.paint(ansiBold, addr), a.o.paint(ansiRed, "Failed"), Duration(d), Sanitize(first))
		return
	}
	suffix := ""
	if id != "" {
		suffix = " [id=" + Sanitize(id) + "]"
	}
	a.printf("%s: %s after %s%s\n", a.o.paint(ansiBold, addr), Completed(act, a.verbs[addr]), Duration(d), suffix)
}

// Skip reports that addr will not be applied, and why.
func (a *Apply) Skip(addr, reason string) {
	a.mu.Lock()
	a.skipped[addr] = reason
	a.mu.Unlock()
	line := a.o.paint(ansiBold, addr) + ": Skipped"
	if reason != "" {
		line += ": " + indentText(reason, "    ")
	}
	a.printf("%s\n", line)
}

// ApplyResult is what an apply did, as the summary reports it.
type ApplyResult struct {
	// Destroy words the summary for `sdform destroy` (a plan made with
	// -destroy): "Destroy complete! 2 destroyed, …".
	Destroy                    bool
	Succeeded, Failed, Skipped []string
	Errors                     map[string]error
	// SkipReasons fill in reasons the Skip hook did not give.
	SkipReasons map[string]string
	// Promotions are the provider promotions after the walk (tags moved
	// to a new image once its tests passed, or kept when one failed).
	Promotions []Promotion
}

// Promotion is one object's promotion after apply.
type Promotion struct {
	Address string
	Passed  bool
	Failed  []string // tests and checks that did not pass
	Err     error
}

// Summary writes the closing lines: "Apply complete! 3 succeeded, 1
// failed, 2 skipped." (for a destroy, "Destroy complete! 3 destroyed, …")
// then every failure with its full error and every skipped object with its
// reason.
func (a *Apply) Summary(r ApplyResult) {
	line := ApplySummaryLine(r)
	word, rest, _ := strings.Cut(line, "! ")
	color := ansiBold + ansiGreen
	if len(r.Failed) > 0 {
		color = ansiBold + ansiRed
	}
	a.printf("\n%s %s\n", a.o.paint(color, word+"!"), rest)
	if len(r.Failed) > 0 {
		var b strings.Builder
		b.WriteString("\nFailed:\n")
		for _, addr := range sorted(r.Failed) {
			msg := "failed"
			if err := r.Errors[addr]; err != nil {
				msg = indentText(err.Error(), "    ")
			}
			fmt.Fprintf(&b, "  %s: %s\n", addr, msg)
		}
		a.printf("%s", b.String())
	}
	if len(r.Skipped) > 0 {
		var b strings.Builder
		b.WriteString("\nSkipped:\n")
		a.mu.Lock()
		for _, addr := range sorted(r.Skipped) {
			reason := a.skipped[addr]
			if reason == "" {
				reason = r.SkipReasons[addr]
			}
			if reason != "" {
				fmt.Fprintf(&b, "  %s: %s\n", addr, indentText(reason, "    "))
			} else {
				fmt.Fprintf(&b, "  %s\n", addr)
			}
		}
		a.mu.Unlock()
		a.printf("%s", b.String())
	}
	if len(r.Promotions) > 0 {
		var b strings.Builder
		b.WriteString("\nPromotion:\n")
		for _, p := range r.Promotions {
			switch {
			case p.Err != nil:
				fmt.Fprintf(&b, "  %s: %s: %s\n", p.Address, a.o.paint(ansiRed, "promotion failed"), indentText(p.Err.Error(), "    "))
			case p.Passed:
				fmt.Fprintf(&b, "  %s: promoted: every test passed\n", p.Address)
			default:
				fmt.Fprintf(&b, "  %s: %s, because %s did not pass\n", p.Address, a.o.paint(ansiYellow, "not promoted"), strings.Join(p.Failed, ", "))
			}
		}
		a.printf("%s", b.String())
	}
}

func sorted(s []string) []string {
	out := append([]string(nil), s...)
	sort.Strings(out)
	return out
}

// Outputs writes output values after apply ("Outputs:" and `name =
// value` lines); sensitive ones print as "(sensitive value)".
func Outputs(w io.Writer, outputs []*plan.Output, o Options) error {
	ew := &errWriter{w: w}
	var shown []*plan.Output
	for _, out := range outputs {
		if out.After != cty.NilVal && !(out.After.IsKnown() && out.After.IsNull()) {
			shown = append(shown, out)
		}
	}
	if len(shown) == 0 {
		return nil
	}
	sort.Slice(shown, func(i, j int) bool { return shown[i].Name < shown[j].Name })
	ew.printf("\n%s\n\n", o.paint(ansiBold+ansiGreen, "Outputs:"))
	for _, out := range shown {
		var sens []cty.Path
		if out.Sensitive {
			sens = []cty.Path{{}}
		}
		ew.printf("%s = %s\n", out.Name, formatValue(out.After, nil, sens))
	}
	return ew.err
}
