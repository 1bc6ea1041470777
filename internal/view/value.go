package view

import (
	"sort"
	"strings"

	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/hashicorp/hcl/v2/hclwrite"
	"github.com/sdform/sdform/lang"
	"github.com/zclconf/go-cty/cty"
)

const (
	unknownText   = "(known after apply)"
	sensitiveText = "(sensitive value)"
)

// underPath reports whether p is one of paths or lies beneath one.
func underPath(p cty.Path, paths []cty.Path) bool {
	for _, sp := range paths {
		if len(sp) <= len(p) && sp.Equals(p[:len(sp)]) {
			return true
		}
	}
	return false
}

// sensitiveAt reports whether v (at path p) is to be hidden: it carries
// the sensitive mark, or p lies under one of the plan's sensitive paths.
func sensitiveAt(v cty.Value, p cty.Path, paths []cty.Path) bool {
	return v.HasMark(lang.SensitiveMark) || underPath(p, paths)
}

// formatValue renders v on one line the way it would be written in HCL;
// unknown parts print as "(known after apply)" and sensitive ones as
// "(sensitive value)".
func formatValue(v cty.Value, p cty.Path, sens []cty.Path) string {
	var b strings.Builder
	writeValue(&b, v, p, sens)
	return b.String()
}

func writeValue(b *strings.Builder, v cty.Value, p cty.Path, sens []cty.Path) {
	if v == cty.NilVal {
		b.WriteString("null")
		return
	}
	if sensitiveAt(v, p, sens) {
		b.WriteString(sensitiveText)
		return
	}
	v, _ = v.Unmark()
	if !v.IsKnown() {
		b.WriteString(unknownText)
		return
	}
	if v.IsNull() {
		b.WriteString("null")
		return
	}
	ty := v.Type()
	switch {
	case ty == cty.String:
		b.Write(hclwrite.TokensForValue(v).Bytes())
	case ty == cty.Number:
		f := v.AsBigFloat()
		if f.IsInf() {
			if f.Sign() > 0 {
				b.WriteString("+Inf")
			} else {
				b.WriteString("-Inf")
			}
			return
		}
		b.WriteString(f.Text('f', -1))
	case ty == cty.Bool:
		if v.True() {
			b.WriteString("true")
		} else {
			b.WriteString("false")
		}
	case ty.IsListType(), ty.IsSetType(), ty.IsTupleType():
		b.WriteString("[")
		i := int64(0)
		for it := v.ElementIterator(); it.Next(); i++ {
			k, ev := it.Element()
			if i > 0 {
				b.WriteString(", ")
			}
			step := cty.IndexStep{Key: cty.NumberIntVal(i)}
			if ty.IsSetType() {
				step = cty.IndexStep{Key: k}
			}
			writeValue(b, ev, append(p, step), sens)
		}
		b.WriteString("]")
	case ty.IsMapType(), ty.IsObjectType():
		keys, vals, steps := entries(v)
		if len(keys) == 0 {
			b.WriteString("{}")
			return
		}
		b.WriteString("{ ")
		for i, k := range keys {
			if i > 0 {
				b.WriteString(", ")
			}
			b.WriteString(hclKey(k))
			b.WriteString(" = ")
			writeValue(b, vals[i], append(p, steps[i]), sens)
		}
		b.WriteString(" }")
	default:
		b.WriteString(ty.FriendlyName())
	}
}

// entries lists the attributes of an object or the elements of a map,
// sorted by name, with the path step that reaches each. Null attributes of
// an object are left out: they are what the user did not set.
func entries(v cty.Value) (keys []string, vals []cty.Value, steps []cty.PathStep) {
	v, _ = v.Unmark()
	if v.IsNull() || !v.IsKnown() {
		return nil, nil, nil
	}
	ty := v.Type()
	switch {
	case ty.IsObjectType():
		for name := range ty.AttributeTypes() {
			keys = append(keys, name)
		}
		sort.Strings(keys)
		for _, k := range keys {
			vals = append(vals, v.GetAttr(k))
			steps = append(steps, cty.GetAttrStep{Name: k})
		}
	case ty.IsMapType():
		for it := v.ElementIterator(); it.Next(); {
			k, ev := it.Element()
			keys = append(keys, k.AsString())
			vals = append(vals, ev)
			steps = append(steps, cty.IndexStep{Key: k})
		}
	}
	return keys, vals, steps
}

// hclKey writes an object key as HCL would: bare when it is an
// identifier, quoted otherwise.
func hclKey(k string) string {
	if hclsyntax.ValidIdentifier(k) {
		return k
	}
	return string(hclwrite.TokensForValue(cty.StringVal(k)).Bytes())
}

// joinPath appends a step to a display path: ".name" for identifiers,
// `["key"]` otherwise, "[i]" for list positions.
func joinPath(parent, key string, index bool) string {
	switch {
	case index:
		return parent + "[" + key + "]"
	case hclsyntax.ValidIdentifier(key) && parent == "":
		return key
	case hclsyntax.ValidIdentifier(key):
		return parent + "." + key
	default:
		return parent + "[" + string(hclwrite.TokensForValue(cty.StringVal(key)).Bytes()) + "]"
	}
}
