package planner

import (
	"fmt"
	"sort"
	"strings"

	"github.com/sdform/sdform/planner/plan"
	"github.com/sdform/sdform/providers"
	"github.com/zclconf/go-cty/cty"
	"github.com/zclconf/go-cty/cty/convert"
)

// sameValue reports whether a and b are wholly known and identical.
func sameValue(a, b cty.Value) bool {
	if a == cty.NilVal || b == cty.NilVal {
		return a == b
	}
	if !a.IsWhollyKnown() || !b.IsWhollyKnown() {
		return false
	}
	return a.RawEquals(b)
}

// diffPaths lists the paths of the leaves that differ between a (prior) and
// b (planned). A value that is unknown in b differs. Lists of different
// lengths and sets differ as a whole.
func diffPaths(a, b cty.Value) []cty.Path {
	var out []cty.Path
	diffInto(a, b, nil, &out)
	return out
}

func diffInto(a, b cty.Value, path cty.Path, out *[]cty.Path) {
	add := func() { *out = append(*out, path.Copy()) }
	if !a.IsKnown() || !b.IsKnown() {
		add()
		return
	}
	if a.IsNull() || b.IsNull() {
		if a.IsNull() != b.IsNull() {
			add()
		}
		return
	}
	ta, tb := a.Type(), b.Type()
	switch {
	case ta.IsObjectType() && tb.IsObjectType():
		names := map[string]bool{}
		for n := range ta.AttributeTypes() {
			names[n] = true
		}
		for n := range tb.AttributeTypes() {
			names[n] = true
		}
		for _, n := range sortedKeys(names) {
			x, y := cty.NullVal(cty.DynamicPseudoType), cty.NullVal(cty.DynamicPseudoType)
			if ta.HasAttribute(n) {
				x = a.GetAttr(n)
			}
			if tb.HasAttribute(n) {
				y = b.GetAttr(n)
			}
			diffInto(x, y, path.GetAttr(n), out)
		}
	case (ta.IsMapType() || ta.IsObjectType()) && (tb.IsMapType() || tb.IsObjectType()):
		am, bm := a.AsValueMap(), b.AsValueMap()
		keys := map[string]bool{}
		for k := range am {
			keys[k] = true
		}
		for k := range bm {
			keys[k] = true
		}
		for _, k := range sortedKeys(keys) {
			x, okx := am[k]
			y, oky := bm[k]
			if !okx || !oky {
				*out = append(*out, path.Copy().IndexString(k))
				continue
			}
			diffInto(x, y, path.IndexString(k), out)
		}
	case (ta.IsListType() || ta.IsTupleType()) && (tb.IsListType() || tb.IsTupleType()):
		if a.LengthInt() != b.LengthInt() {
			add()
			return
		}
		al, bl := a.AsValueSlice(), b.AsValueSlice()
		for i := range al {
			diffInto(al[i], bl[i], path.IndexInt(i), out)
		}
	case ta.IsPrimitiveType() && tb.IsPrimitiveType():
		if !ta.Equals(tb) || !a.RawEquals(b) {
			add()
		}
	default:
		if !a.RawEquals(b) {
			add()
		}
	}
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// getPath returns the value at p, or ok=false when v has nothing there.
func getPath(v cty.Value, p cty.Path) (cty.Value, bool) {
	for _, step := range p {
		if v.IsNull() || !v.IsKnown() {
			return cty.NilVal, false
		}
		switch s := step.(type) {
		case cty.GetAttrStep:
			if !v.Type().IsObjectType() || !v.Type().HasAttribute(s.Name) {
				if v.Type().IsMapType() {
					if !v.HasIndex(cty.StringVal(s.Name)).True() {
						return cty.NilVal, false
					}
					v = v.Index(cty.StringVal(s.Name))
					continue
				}
				return cty.NilVal, false
			}
			v = v.GetAttr(s.Name)
		case cty.IndexStep:
			ty := v.Type()
			if ty.IsObjectType() && s.Key.Type() == cty.String {
				if !ty.HasAttribute(s.Key.AsString()) {
					return cty.NilVal, false
				}
				v = v.GetAttr(s.Key.AsString())
				continue
			}
			if !(ty.IsMapType() || ty.IsListType() || ty.IsTupleType()) {
				return cty.NilVal, false
			}
			if !v.HasIndex(s.Key).True() {
				return cty.NilVal, false
			}
			v = v.Index(s.Key)
		default:
			return cty.NilVal, false
		}
	}
	return v, true
}

// setPath returns v with the value at p replaced by nv. A null nv removes a
// map key. It reports false when v has no place at p.
func setPath(v cty.Value, p cty.Path, nv cty.Value) (cty.Value, bool) {
	if len(p) == 0 {
		if v != cty.NilVal && !v.Type().Equals(nv.Type()) && nv.Type() != cty.DynamicPseudoType {
			if c, err := convert.Convert(nv, v.Type()); err == nil {
				return c, true
			}
		}
		return nv, true
	}
	if v.IsNull() || !v.IsKnown() {
		return v, false
	}
	ty := v.Type()
	var key string
	var idx int
	isIdx := false
	switch s := p[0].(type) {
	case cty.GetAttrStep:
		key = s.Name
	case cty.IndexStep:
		switch {
		case s.Key.Type() == cty.String && s.Key.IsKnown() && !s.Key.IsNull():
			key = s.Key.AsString()
		case s.Key.Type() == cty.Number && s.Key.IsKnown() && !s.Key.IsNull():
			bf := s.Key.AsBigFloat()
			i, _ := bf.Int64()
			idx, isIdx = int(i), true
		default:
			return v, false
		}
	default:
		return v, false
	}
	switch {
	case ty.IsObjectType() && !isIdx:
		if !ty.HasAttribute(key) {
			return v, false
		}
		m := v.AsValueMap()
		nvv, ok := setPath(m[key], p[1:], nv)
		if !ok {
			return v, false
		}
		if c, err := convert.Convert(nvv, ty.AttributeType(key)); err == nil {
			nvv = c
		}
		m[key] = nvv
		return cty.ObjectVal(m), true
	case ty.IsMapType() && !isIdx:
		m := v.AsValueMap()
		if m == nil {
			m = map[string]cty.Value{}
		}
		old, exists := m[key]
		if !exists {
			if len(p) > 1 {
				return v, false
			}
			old = cty.NullVal(ty.ElementType())
		}
		nvv, ok := setPath(old, p[1:], nv)
		if !ok {
			return v, false
		}
		if nvv.IsNull() && len(p) == 1 {
			delete(m, key)
		} else {
			if c, err := convert.Convert(nvv, ty.ElementType()); err == nil {
				nvv = c
			}
			m[key] = nvv
		}
		if len(m) == 0 {
			return cty.MapValEmpty(ty.ElementType()), true
		}
		return cty.MapVal(m), true
	case (ty.IsListType() || ty.IsTupleType()) && isIdx:
		l := v.AsValueSlice()
		if idx < 0 || idx >= len(l) {
			return v, false
		}
		nvv, ok := setPath(l[idx], p[1:], nv)
		if !ok {
			return v, false
		}
		l[idx] = nvv
		if ty.IsListType() {
			if c, err := convert.Convert(nvv, ty.ElementType()); err == nil {
				l[idx] = c
			}
			return cty.ListVal(l), true
		}
		return cty.TupleVal(l), true
	}
	return v, false
}

// ignoreChanges returns cfg with the value at each path taken from prior,
// as lifecycle.ignore_changes asks; all takes every configurable attribute
// from prior.
func ignoreChanges(cfg, prior cty.Value, schema *providers.Schema, paths []cty.Path, all bool) cty.Value {
	if prior.IsNull() || !prior.IsKnown() || cfg.IsNull() || !cfg.IsKnown() {
		return cfg
	}
	if all {
		m := cfg.AsValueMap()
		for name := range m {
			if pv, ok := getPath(prior, cty.GetAttrPath(name)); ok {
				m[name] = pv
			}
		}
		return cty.ObjectVal(m)
	}
	for _, p := range paths {
		pv, ok := getPath(prior, p)
		if !ok {
			pv = cty.NullVal(cty.DynamicPseudoType)
		}
		if nv, ok := setPath(cfg, p, pv); ok {
			cfg = nv
		}
	}
	return cfg
}

// proposedValue is cfg with every computed attribute that cfg leaves null
// taken from prior, recursively through nested blocks: what the object
// would be if nothing changed but the config.
func proposedValue(schema *providers.Schema, prior, cfg cty.Value) cty.Value {
	if prior.IsNull() || !prior.IsKnown() || cfg.IsNull() || !cfg.IsKnown() || schema == nil {
		return cfg
	}
	if !cfg.Type().IsObjectType() || !prior.Type().IsObjectType() {
		return cfg
	}
	m := cfg.AsValueMap()
	if m == nil {
		return cfg
	}
	for name, a := range schema.Attributes {
		if !a.Computed || !prior.Type().HasAttribute(name) {
			continue
		}
		if cv, ok := m[name]; ok && cv.IsNull() {
			m[name] = prior.GetAttr(name)
		}
	}
	for name, b := range schema.Blocks {
		cv, ok := m[name]
		if !ok || !prior.Type().HasAttribute(name) || cv.IsNull() || !cv.IsKnown() {
			continue
		}
		pv := prior.GetAttr(name)
		if pv.IsNull() || !pv.IsKnown() {
			continue
		}
		switch b.Nesting {
		case providers.NestingSingle:
			m[name] = proposedValue(&b.Block, pv, cv)
		case providers.NestingList:
			if cv.LengthInt() != pv.LengthInt() || cv.LengthInt() == 0 {
				continue
			}
			cl, pl := cv.AsValueSlice(), pv.AsValueSlice()
			for i := range cl {
				cl[i] = proposedValue(&b.Block, pl[i], cl[i])
			}
			if cv.Type().IsListType() {
				m[name] = cty.ListVal(cl)
			} else {
				m[name] = cty.TupleVal(cl)
			}
		case providers.NestingMap:
			if cv.LengthInt() == 0 {
				continue
			}
			cm, pm := cv.AsValueMap(), pv.AsValueMap()
			for k, e := range cm {
				if pe, ok := pm[k]; ok {
					cm[k] = proposedValue(&b.Block, pe, e)
				}
			}
			if cv.Type().IsMapType() {
				m[name] = cty.MapVal(cm)
			} else {
				m[name] = cty.ObjectVal(cm)
			}
		}
	}
	return cty.ObjectVal(m)
}

// forceNewPath reports whether a change at p replaces the object by the
// schema: p goes through a ForceNew attribute.
func forceNewPath(schema *providers.Schema, p cty.Path) bool {
	for len(p) > 0 && schema != nil {
		s, ok := p[0].(cty.GetAttrStep)
		if !ok {
			return false
		}
		if a, ok := schema.Attributes[s.Name]; ok {
			return a.ForceNew
		}
		b, ok := schema.Blocks[s.Name]
		if !ok {
			return false
		}
		p = p[1:]
		if b.Nesting != providers.NestingSingle {
			if len(p) == 0 {
				return false
			}
			if _, ok := p[0].(cty.IndexStep); !ok {
				return false
			}
			p = p[1:]
		}
		schema = &b.Block
	}
	return false
}

// schemaSensitivePaths lists the paths of v that the schema marks
// sensitive, through nested blocks.
func schemaSensitivePaths(schema *providers.Schema, v cty.Value) []cty.Path {
	var out []cty.Path
	schemaSensitiveInto(schema, v, nil, &out)
	return out
}

func schemaSensitiveInto(schema *providers.Schema, v cty.Value, path cty.Path, out *[]cty.Path) {
	if schema == nil {
		return
	}
	si := sensitiveOf(schema)
	for _, name := range si.attrs {
		*out = append(*out, path.Copy().GetAttr(name))
	}
	if len(si.blocks) == 0 || v.IsNull() || !v.IsKnown() || !v.Type().IsObjectType() {
		return
	}
	for _, name := range si.blocks {
		b := schema.Blocks[name]
		if !v.Type().HasAttribute(name) {
			continue
		}
		bv := v.GetAttr(name)
		if bv.IsNull() || !bv.IsKnown() {
			continue
		}
		switch b.Nesting {
		case providers.NestingSingle:
			schemaSensitiveInto(&b.Block, bv, path.Copy().GetAttr(name), out)
		default:
			for it := bv.ElementIterator(); it.Next(); {
				k, e := it.Element()
				schemaSensitiveInto(&b.Block, e, path.Copy().GetAttr(name).Index(k), out)
			}
		}
	}
}

func hasSensitive(s *providers.Schema) bool {
	for _, a := range s.Attributes {
		if a.Sensitive {
			return true
		}
	}
	for _, b := range s.Blocks {
		if hasSensitive(&b.Block) {
			return true
		}
	}
	return false
}

// changedReason words a list of changed paths: "args.X changed",
// "name and tags changed", "a, b, c and 2 more changed".
func changedReason(paths []cty.Path) string {
	var names []string
	seen := map[string]bool{}
	for _, p := range paths {
		n := plan.FormatPath(p)
		if n == "" {
			n = "the object"
		}
		if !seen[n] {
			seen[n] = true
			names = append(names, n)
		}
	}
	switch {
	case len(names) == 0:
		return ""
	case len(names) == 1:
		return names[0] + " changed"
	case len(names) <= 3:
		return strings.Join(names[:len(names)-1], ", ") + " and " + names[len(names)-1] + " changed"
	default:
		return fmt.Sprintf("%s and %d more changed", strings.Join(names[:3], ", "), len(names)-3)
	}
}
