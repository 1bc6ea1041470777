package lang

import (
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/zclconf/go-cty/cty"
	"github.com/zclconf/go-cty/cty/convert"
)

// EvalContext builds what an expression sees: var.*, local.*, path.module,
// data.TYPE.NAME, every managed resource type as a top-level object of its
// names (docker_image.comfyui), and Functions(s.Dir, s.Files).
func (s *Scope) EvalContext() *hcl.EvalContext {
	vars := map[string]cty.Value{
		"var":   objectOrEmpty(s.Vars),
		"local": objectOrEmpty(s.Locals),
		"path":  cty.ObjectVal(map[string]cty.Value{"module": cty.StringVal(s.Dir)}),
	}
	managed := map[string]map[string]cty.Value{}
	data := map[string]map[string]cty.Value{}
	for addr, v := range s.Resources {
		byType := managed
		if addr.Mode == Data {
			byType = data
		}
		if byType[addr.Type] == nil {
			byType[addr.Type] = map[string]cty.Value{}
		}
		byType[addr.Type][addr.Name] = v
	}
	for typ, names := range managed {
		if _, reserved := vars[typ]; reserved {
			continue // Load rejects such types; never shadow var, local or path
		}
		vars[typ] = cty.ObjectVal(names)
	}
	dataTypes := make(map[string]cty.Value, len(data))
	for typ, names := range data {
		dataTypes[typ] = cty.ObjectVal(names)
	}
	vars["data"] = objectOrEmpty(dataTypes)
	return &hcl.EvalContext{
		Variables: vars,
		Functions: Functions(s.Dir, s.Files),
	}
}

// Eval evaluates one expression in the scope and converts the result to
// want (cty.DynamicPseudoType for no conversion).
func (s *Scope) Eval(expr hcl.Expression, want cty.Type) (cty.Value, hcl.Diagnostics) {
	val, diags := expr.Value(s.EvalContext())
	diags = TidyDiagnostics(diags)
	if diags.HasErrors() {
		return cty.UnknownVal(want), diags
	}
	if want == cty.DynamicPseudoType {
		return val, diags
	}
	conv, err := convert.Convert(val, want)
	if err != nil {
		return cty.UnknownVal(want), append(diags, &hcl.Diagnostic{
			Severity:    hcl.DiagError,
			Summary:     "Incorrect value type",
			Detail:      "Invalid expression value: " + errorString(err) + ".",
			Subject:     expr.Range().Ptr(),
			Expression:  expr,
			EvalContext: s.EvalContext(),
		})
	}
	return conv, diags
}

func objectOrEmpty(m map[string]cty.Value) cty.Value {
	if len(m) == 0 {
		return cty.EmptyObjectVal
	}
	return cty.ObjectVal(m)
}

// TidyDiagnostics removes the Go stack trace that cty appends to a message
// when it recovers a panic inside a function or operator (such as
// infinity % 2): the user needs the first line, not the goroutine dump.
// It edits the diagnostics in place and returns them.
//
// A Go runtime error in such a panic (a nil pointer in math/big) is
// replaced by its usual cause in the user's terms: an infinite number.
func TidyDiagnostics(diags hcl.Diagnostics) hcl.Diagnostics {
	for _, d := range diags {
		if i := strings.Index(d.Detail, "\ngoroutine "); i >= 0 {
			d.Detail = strings.TrimRight(d.Detail[:i], ".\n ") + "."
		}
		const recovered = "panic in function implementation: "
		if i := strings.Index(d.Detail, recovered+"runtime error"); i >= 0 {
			d.Detail = d.Detail[:i] + "the result is not defined for these values (the usual cause is an infinite number, such as the result of 1/0)."
		}
		d.Detail = strings.Replace(d.Detail, recovered, "", 1)
	}
	return diags
}
