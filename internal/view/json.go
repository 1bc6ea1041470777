package view

import (
	"encoding/json"
	"fmt"
	"io"

	"github.com/hashicorp/hcl/v2"
	"github.com/sdform/sdform/lang"
	"github.com/sdform/sdform/planner/plan"
)

// PlanJSON writes the `plan -json` document (docs/json-format.md): the
// plan as plan.NewJSONView derives it, plus diags. p may be nil when
// planning failed; the document then carries only diagnostics.
func PlanJSON(w io.Writer, p *plan.Plan, diags hcl.Diagnostics, files map[string]*hcl.File) error {
	doc := &plan.JSONView{}
	if p != nil {
		var err error
		if doc, err = plan.NewJSONView(p); err != nil {
			return err
		}
	} else {
		doc = &plan.JSONView{
			FormatVersion: plan.FormatVersion, SdformVersion: lang.Version, ResourceChanges: []plan.JSONResourceChange{},
			ResourceDrift: []plan.JSONResourceChange{}, Checks: []plan.JSONCheck{},
			OutputChanges: map[string]plan.JSONOutputChange{}, Summary: map[string]int{},
		}
	}
	raw, err := rawDiagnostics(diags, files)
	if err != nil {
		return err
	}
	doc.Diagnostics = raw
	doc.Errored = diags.HasErrors()
	return writeJSON(w, doc)
}

// ValidateJSON writes the `validate -json` document:
// {"format_version", "valid", "error_count", "warning_count", "diagnostics"}.
func ValidateJSON(w io.Writer, diags hcl.Diagnostics, files map[string]*hcl.File) error {
	errs, warns := 0, 0
	for _, d := range diags {
		if d.Severity == hcl.DiagError {
			errs++
		} else {
			warns++
		}
	}
	return writeJSON(w, struct {
		FormatVersion string           `json:"format_version"`
		Valid         bool             `json:"valid"`
		ErrorCount    int              `json:"error_count"`
		WarningCount  int              `json:"warning_count"`
		Diagnostics   []JSONDiagnostic `json:"diagnostics"`
	}{plan.FormatVersion, errs == 0, errs, warns, NewJSONDiagnostics(diags, files)})
}

func rawDiagnostics(diags hcl.Diagnostics, files map[string]*hcl.File) ([]json.RawMessage, error) {
	out := []json.RawMessage{}
	for _, d := range NewJSONDiagnostics(diags, files) {
		b, err := json.Marshal(d)
		if err != nil {
			return nil, fmt.Errorf("encode diagnostic: %w", err)
		}
		out = append(out, b)
	}
	return out, nil
}

func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return fmt.Errorf("write JSON: %w", err)
	}
	return nil
}
