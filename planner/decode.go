package planner

import (
	"fmt"
	"path/filepath"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/sdform/sdform/planner/plan"
	"github.com/sdform/sdform/providers"
	"github.com/zclconf/go-cty/cty"
)

// readOnlyDiags reports every computed-only attribute that the user set in
// body (v is body decoded by schema), at the attribute's source range.
func readOnlyDiags(schema *providers.Schema, v cty.Value, body hcl.Body, decl *hcl.Range, path cty.Path, what string) hcl.Diagnostics {
	var diags hcl.Diagnostics
	if schema == nil || v.IsNull() || !v.IsKnown() || !v.Type().IsObjectType() {
		return nil
	}
	for _, name := range sortedKeys(schema.Attributes) {
		a := schema.Attributes[name]
		if !a.ReadOnly() || !v.Type().HasAttribute(name) || v.GetAttr(name).IsNull() {
			continue
		}
		p := path.Copy().GetAttr(name)
		diags = append(diags, &hcl.Diagnostic{
			Severity: hcl.DiagError,
			Summary:  "Read-only attribute",
			Detail:   fmt.Sprintf("%s: %s is set by the provider and cannot be set in configuration; remove it.", what, plan.FormatPath(p)),
			Subject:  rangeFor(body, p, decl).Ptr(),
		})
	}
	for _, name := range sortedKeys(schema.Blocks) {
		b := schema.Blocks[name]
		if !v.Type().HasAttribute(name) {
			continue
		}
		bv := v.GetAttr(name)
		if bv.IsNull() || !bv.IsKnown() {
			continue
		}
		if b.Nesting == providers.NestingSingle {
			diags = append(diags, readOnlyDiags(&b.Block, bv, body, decl, path.Copy().GetAttr(name), what)...)
			continue
		}
		for it := bv.ElementIterator(); it.Next(); {
			k, e := it.Element()
			diags = append(diags, readOnlyDiags(&b.Block, e, body, decl, path.Copy().GetAttr(name).Index(k), what)...)
		}
	}
	return diags
}

// rangeFor finds the source range of the argument at path inside body: the
// attribute, the item of an object or tuple constructor, or the nested
// block, as deep as the path can be followed. It falls back to decl, then
// to the body's range.
func rangeFor(body hcl.Body, path cty.Path, decl *hcl.Range) hcl.Range {
	fallback := hcl.Range{}
	if decl != nil {
		fallback = *decl
	} else if body != nil {
		fallback = body.MissingItemRange()
	}
	sb, ok := body.(*hclsyntax.Body)
	if !ok || len(path) == 0 {
		return fallback
	}
	best := fallback
	for len(path) > 0 {
		step, ok := path[0].(cty.GetAttrStep)
		if !ok {
			return best
		}
		if a, ok := sb.Attributes[step.Name]; ok {
			return exprRange(a.Expr, path[1:], a.SrcRange)
		}
		var blocks []*hclsyntax.Block
		for _, b := range sb.Blocks {
			if b.Type == step.Name {
				blocks = append(blocks, b)
			}
		}
		if len(blocks) == 0 {
			return best
		}
		path = path[1:]
		blk := blocks[0]
		if len(path) > 0 {
			if is, ok := path[0].(cty.IndexStep); ok && is.Key.IsKnown() && !is.Key.IsNull() {
				found := false
				switch is.Key.Type() {
				case cty.Number:
					i, _ := is.Key.AsBigFloat().Int64()
					if i >= 0 && int(i) < len(blocks) {
						blk, found = blocks[i], true
					}
				case cty.String:
					for _, b := range blocks {
						if len(b.Labels) > 0 && b.Labels[0] == is.Key.AsString() {
							blk, found = b, true
							break
						}
					}
				}
				if !found {
					return blocks[0].DefRange()
				}
				path = path[1:]
			}
		}
		best = blk.DefRange()
		sb = blk.Body
	}
	return best
}

// exprRange follows path into object and tuple constructors.
func exprRange(e hclsyntax.Expression, path cty.Path, whole hcl.Range) hcl.Range {
	best := whole
	for len(path) > 0 {
		var key cty.Value
		switch s := path[0].(type) {
		case cty.GetAttrStep:
			key = cty.StringVal(s.Name)
		case cty.IndexStep:
			key = s.Key
		default:
			return best
		}
		if !key.IsKnown() || key.IsNull() {
			return best
		}
		switch ex := e.(type) {
		case *hclsyntax.ObjectConsExpr:
			if key.Type() != cty.String {
				return best
			}
			found := false
			for _, item := range ex.Items {
				kv, diags := item.KeyExpr.Value(nil)
				if diags.HasErrors() || kv.Type() != cty.String || !kv.IsKnown() || kv.IsNull() {
					// A bare identifier key (ENABLE_X = …) is a traversal
					// that evaluates only as a keyword.
					if kw := hclKeyword(item.KeyExpr); kw != "" {
						kv = cty.StringVal(kw)
					} else {
						continue
					}
				}
				if kv.AsString() == key.AsString() {
					best = hcl.RangeBetween(item.KeyExpr.Range(), item.ValueExpr.Range())
					e = item.ValueExpr
					found = true
					break
				}
			}
			if !found {
				return best
			}
		case *hclsyntax.TupleConsExpr:
			if key.Type() != cty.Number {
				return best
			}
			i, _ := key.AsBigFloat().Int64()
			if i < 0 || int(i) >= len(ex.Exprs) {
				return best
			}
			e = ex.Exprs[i]
			best = e.Range()
		default:
			return best
		}
		path = path[1:]
	}
	return best
}

func hclKeyword(e hclsyntax.Expression) string {
	if k, ok := e.(*hclsyntax.ObjectConsKeyExpr); ok {
		return hcl.ExprAsKeyword(k.Wrapped)
	}
	return hcl.ExprAsKeyword(e)
}

// convertDiags turns a provider's diagnostics about one object into HCL
// diagnostics: an Attribute path becomes the source range of that argument
// in body, File/Line a subject in that file; the summary is prefixed with
// what (the resource address or "provider NAME").
func convertDiags(what string, pd providers.Diagnostics, body hcl.Body, decl *hcl.Range, configDir string) hcl.Diagnostics {
	var diags hcl.Diagnostics
	for _, d := range pd {
		sev := hcl.DiagError
		if d.Severity == providers.Warning {
			sev = hcl.DiagWarning
		}
		hd := &hcl.Diagnostic{Severity: sev, Summary: what + ": " + d.Summary, Detail: d.Detail}
		switch {
		case d.File != "":
			name := d.File
			if rel, err := filepath.Rel(configDir, name); err == nil && filepath.IsAbs(name) && !startsWithDotDot(rel) {
				name = rel
			}
			line := max(d.Line, 1)
			hd.Subject = &hcl.Range{Filename: name, Start: hcl.Pos{Line: line, Column: 1}, End: hcl.Pos{Line: line, Column: 1}}
			if d.Line == 0 {
				hd.Subject = &hcl.Range{Filename: name}
			}
		case len(d.Attribute) > 0 && body != nil:
			r := rangeFor(body, d.Attribute, decl)
			hd.Subject = &r
		case decl != nil:
			r := *decl
			hd.Subject = &r
		}
		diags = append(diags, hd)
	}
	return diags
}

func startsWithDotDot(p string) bool {
	return p == ".." || len(p) > 2 && p[:3] == ".."+string(filepath.Separator)
}
