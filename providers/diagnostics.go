package providers

import (
	"fmt"

	"github.com/zclconf/go-cty/cty"
)

// Severity of a Diagnostic.
type Severity int

const (
	Error Severity = iota
	Warning
)

// Diagnostic is a provider's finding about a resource. Attribute, when set,
// points into the resource's value (cty.GetAttrPath("args").Index(...)); the
// engine turns it into the source range of that argument in the user's file,
// so providers never deal with HCL ranges. File/Line point into another file
// the provider read (a Dockerfile line, a workflow JSON).
type Diagnostic struct {
	Severity  Severity
	Summary   string
	Detail    string
	Attribute cty.Path
	File      string // path relative to the config directory, or absolute
	Line      int    // 1-based; 0 when unknown
}

// Diagnostics is a list of findings; a response with any Error is a failure.
type Diagnostics []Diagnostic

// HasErrors reports whether any diagnostic is an error.
func (ds Diagnostics) HasErrors() bool {
	for _, d := range ds {
		if d.Severity == Error {
			return true
		}
	}
	return false
}

// Errorf appends an error diagnostic for an attribute (nil path for the
// whole resource).
func (ds Diagnostics) Errorf(path cty.Path, summary, detailFormat string, args ...any) Diagnostics {
	return append(ds, Diagnostic{Severity: Error, Summary: summary, Detail: fmt.Sprintf(detailFormat, args...), Attribute: path})
}

// Warnf appends a warning diagnostic.
func (ds Diagnostics) Warnf(path cty.Path, summary, detailFormat string, args ...any) Diagnostics {
	return append(ds, Diagnostic{Severity: Warning, Summary: summary, Detail: fmt.Sprintf(detailFormat, args...), Attribute: path})
}

// FromError wraps a runtime error (what the world did) as one diagnostic.
func (ds Diagnostics) FromError(summary string, err error) Diagnostics {
	if err == nil {
		return ds
	}
	return append(ds, Diagnostic{Severity: Error, Summary: summary, Detail: err.Error()})
}
