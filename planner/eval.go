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
// tidy, for diagnostics a Context hands back: without the secrets their
// messages may quote (see secretSet).
func (c *Context) tidy(diags hcl.Diagnostics) hcl.Diagnostics {
	return c.secrets.scrubDiags(tidy(diags))
}

func tidy(diags hcl.Diagnostics) hcl.Diagnostics {
	diags = lang.TidyDiagnostics(diags)
	lang.SortDiagnostics(diags)
	return diags
}

// unmarkDeep is v.UnmarkDeep() for values that are usually unmarked
// (provider responses): cty rebuilds its walk over every attribute in
// sorted order even when there is no mark; hasMarks looks first, cheaply.
func unmarkDeep(v cty.Value) cty.Value {
	if !hasMarks(v) {
		return v
	}
	u, _ := v.UnmarkDeep()
	return u
}

// unmarkDeepWithPaths is v.UnmarkDeepWithPaths() with unmarkDeep's fast
// path.
func unmarkDeepWithPaths(v cty.Value) (cty.Value, []cty.PathValueMarks) {
	if !hasMarks(v) {
		return v, nil
	}
	return v.UnmarkDeepWithPaths()
}

// hasMarks reports whether v or anything inside it is marked.
func hasMarks(v cty.Value) bool {
	if v.IsMarked() {
		return true
	}
	if !v.IsKnown() || v.IsNull() {
		return false
	}
	ty := v.Type()
	switch {
	case ty.IsPrimitiveType():
		return false
	case ty.IsObjectType():
		for name := range ty.AttributeTypes() {
			if hasMarks(v.GetAttr(name)) {
				return true
			}
		}
		return false
	case ty.IsListType() || ty.IsTupleType() || ty.IsMapType() || ty.IsSetType():
		for it := v.ElementIterator(); it.Next(); {
			if _, e := it.Element(); hasMarks(e) {
				return true
			}
		}
	}
	return false
}
