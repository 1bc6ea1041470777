package view

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"sync"
	"time"

	"github.com/hashicorp/hcl/v2"
	"github.com/sdform/sdform/planner/plan"
	"github.com/zclconf/go-cty/cty"
)

// ApplyJSON reports an apply as a stream of JSON objects, one per line
// (`sdform apply -json`, described in docs/json-format.md). Every object
// has "@level", "@message" (the line the text view would print),
// "@timestamp" and "type". It is safe for concurrent use.
type ApplyJSON struct {
	mu    sync.Mutex
	w     io.Writer
	verbs map[string]string
	now   func() time.Time
}

// NewApplyJSON returns a JSON progress stream for applying p.
func NewApplyJSON(w io.Writer, p *plan.Plan) *ApplyJSON {
	a := &ApplyJSON{w: w, verbs: map[string]string{}, now: time.Now}
	if p != nil {
		for _, c := range p.Changes {
			a.verbs[c.Address] = c.Verb
		}
	}
	return a
}

func (a *ApplyJSON) emit(level, msg, typ string, fields map[string]any) {
	obj := map[string]any{"@level": level, "@message": msg, "@timestamp": a.now().UTC().Format(time.RFC3339Nano), "type": typ}
	for k, v := range fields {
		obj[k] = v
	}
	line, err := json.Marshal(obj)
	if err != nil {
		line, _ = json.Marshal(map[string]any{"@level": "error", "@message": "encode event: " + err.Error(), "type": "diagnostic"})
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	a.w.Write(append(line, '\n'))
}

// Plan emits the plan that is about to be applied, as the plan view.
func (a *ApplyJSON) Plan(p *plan.Plan) error {
	doc, err := plan.NewJSONView(p)
	if err != nil {
		return err
	}
	a.emit("info", "Plan: "+SummaryLine(plan.Summarize(p)), "planned_changes", map[string]any{"plan": doc})
	return nil
}

// Start implements the planner's Start hook.
func (a *ApplyJSON) Start(addr string, act plan.Action) {
	a.emit("info", addr+": "+Progressive(act, a.verbs[addr]), "apply_start",
		map[string]any{"address": addr, "action": plan.ActionString(act), "verb": a.verbs[addr]})
}

// Done implements the planner's Done hook; id is the object's id after
// apply, when it has one.
func (a *ApplyJSON) Done(addr string, act plan.Action, id string, err error, d time.Duration) {
	fields := map[string]any{"address": addr, "action": plan.ActionString(act), "elapsed_seconds": d.Seconds()}
	if err != nil {
		first, _, _ := strings.Cut(err.Error(), "\n")
		fields["error"] = err.Error()
		a.emit("error", addr+": Failed after "+Duration(d)+": "+first, "apply_errored", fields)
		return
	}
	msg := addr + ": " + Completed(act, a.verbs[addr]) + " after " + Duration(d)
	if id != "" {
		fields["id"] = id
		msg += " [id=" + id + "]"
	}
	a.emit("info", msg, "apply_complete", fields)
}

// Skip implements the planner's Skip hook.
func (a *ApplyJSON) Skip(addr, reason string) {
	a.emit("warn", addr+": Skipped: "+reason, "apply_skipped", map[string]any{"address": addr, "reason": reason})
}

// Summary emits the outcome: what succeeded, failed (with errors) and was
// skipped (with reasons), and the promotions.
func (a *ApplyJSON) Summary(r ApplyResult) {
	errs := map[string]string{}
	for addr, err := range r.Errors {
		if err != nil {
			errs[addr] = err.Error()
		}
	}
	var promotions []map[string]any
	for _, p := range r.Promotions {
		pm := map[string]any{"address": p.Address, "passed": p.Passed, "failed": orEmpty(p.Failed)}
		if p.Err != nil {
			pm["error"] = p.Err.Error()
		}
		promotions = append(promotions, pm)
	}
	level := "info"
	if len(r.Failed) > 0 {
		level = "error"
	}
	reasons := map[string]string{}
	for k, v := range r.SkipReasons {
		reasons[k] = v
	}
	a.emit(level, ApplySummaryLine(r), "apply_summary", map[string]any{
		"succeeded": orEmpty(sorted(r.Succeeded)), "failed": orEmpty(sorted(r.Failed)), "skipped": orEmpty(sorted(r.Skipped)),
		"errors": errs, "skip_reasons": reasons, "promotions": orEmptyMaps(promotions),
	})
}

// Checks emits check results after apply.
func (a *ApplyJSON) Checks(checks []*plan.CheckResult) {
	var out []JSONCheckResult
	for _, c := range checks {
		out = append(out, JSONCheckResult{Address: c.Address, Status: string(c.Status), Messages: c.Messages, Warning: c.Warning})
	}
	a.emit("info", "Checks", "checks", map[string]any{"checks": out})
}

// JSONCheckResult is one check in the apply stream.
type JSONCheckResult struct {
	Address  string   `json:"address"`
	Status   string   `json:"status"`
	Messages []string `json:"messages,omitempty"`
	Warning  bool     `json:"warning,omitempty"`
}

// Outputs emits output values after apply; sensitive ones are
// "(sensitive value)".
func (a *ApplyJSON) Outputs(outputs []*plan.Output) error {
	m := map[string]any{}
	for _, o := range outputs {
		if o.After == cty.NilVal {
			continue
		}
		var v any = plan.SensitiveString
		if !o.Sensitive {
			var err error
			if v, err = plan.JSONValue(o.After); err != nil {
				return err
			}
		}
		m[o.Name] = map[string]any{"value": v, "sensitive": o.Sensitive}
	}
	a.emit("info", "Outputs", "outputs", map[string]any{"outputs": m})
	return nil
}

// Diagnostics emits one event per diagnostic.
func (a *ApplyJSON) Diagnostics(diags hcl.Diagnostics, files map[string]*hcl.File) {
	for i, d := range NewJSONDiagnostics(diags, files) {
		level := "error"
		if diags[i].Severity == hcl.DiagWarning {
			level = "warn"
		}
		a.emit(level, d.Summary, "diagnostic", map[string]any{"diagnostic": d})
	}
}

// Writer returns a writer whose lines become "provider_output" events of
// addr, for providers.UI.Out under -json. They are not sanitised: JSON
// escapes control characters, and a provider's JSON object must stay
// intact.
func (a *ApplyJSON) Writer(addr string) *PrefixWriter {
	pw := NewPrefixWriter(&jsonLineWriter{a: a, addr: addr}, "")
	pw.raw = true
	return pw
}

type jsonLineWriter struct {
	a    *ApplyJSON
	addr string
}

// Write emits one provider line. A provider that writes JSON (told so by
// providers.UI.JSON) has its object carried as "progress", not as a string
// inside a string; "output" and "@message" then hold its own "@message",
// or for an object without one (BuildKit's status), what kind of object
// it is.
func (j *jsonLineWriter) Write(p []byte) (int, error) {
	line := strings.TrimRight(string(p), "\r\n")
	fields := map[string]any{"address": j.addr, "output": line}
	var obj map[string]any
	if strings.HasPrefix(line, "{") && json.Unmarshal([]byte(line), &obj) == nil {
		text, _ := obj["@message"].(string)
		if text == "" {
			text = "progress"
			if _, ok := obj["vertexes"]; ok {
				text = "BuildKit status"
			}
		}
		fields["output"], fields["progress"] = text, obj
		line = text
	}
	j.a.emit("info", j.addr+": "+line, "provider_output", fields)
	return len(p), nil
}

// ApplySummaryLine is "Apply complete! 3 succeeded, 1 failed, 2 skipped.",
// or for a destroy "Destroy complete! 3 destroyed, 1 failed, 2 skipped."
func ApplySummaryLine(r ApplyResult) string {
	if r.Destroy {
		return fmt.Sprintf("Destroy complete! %d destroyed, %d failed, %d skipped.", len(r.Succeeded), len(r.Failed), len(r.Skipped))
	}
	return fmt.Sprintf("Apply complete! %d succeeded, %d failed, %d skipped.", len(r.Succeeded), len(r.Failed), len(r.Skipped))
}

func orEmpty(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

func orEmptyMaps(s []map[string]any) []map[string]any {
	if s == nil {
		return []map[string]any{}
	}
	return s
}
