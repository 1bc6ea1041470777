package planner

import (
	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hcldec"
	"github.com/sdform/sdform/lang"
	"github.com/zclconf/go-cty/cty"
)

// evalExpr evaluates expr. Every evaluation of the engine goes through it
// (or decodeBody), so that a panic cty recovered inside a function or an
// operator ((1/0) % 2) reaches the user as one sentence, not a Go stack
// trace.
func evalExpr(expr hcl.Expression, ectx *hcl.EvalContext) (cty.Value, hcl.Diagnostics) {
	v, diags := expr.Value(ectx)
	return v, lang.TidyDiagnostics(diags)
}

// decodeBody is hcldec.Decode with evalExpr's tidy diagnostics.
func decodeBody(body hcl.Body, spec hcldec.Spec, ectx *hcl.EvalContext) (cty.Value, hcl.Diagnostics) {
	v, diags := hcldec.Decode(body, spec, ectx)
	return v, lang.TidyDiagnostics(diags)
}

// tidy is what the engine's entry points return: diagnostics without stack
// traces (a safety net behind evalExpr), in source order whatever order the
// parallel walk produced them in.
func tidy(diags hcl.Diagnostics) hcl.Diagnostics {
	diags = lang.TidyDiagnostics(diags)
	lang.SortDiagnostics(diags)
	return diags
}
