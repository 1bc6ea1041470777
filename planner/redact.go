package planner

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"regexp"

	"github.com/sdform/sdform/lang"
	"github.com/sdform/sdform/planner/state"
	"github.com/zclconf/go-cty/cty"
)

// redactedPrefix starts every redacted leaf.
const redactedPrefix = "sha256:"

var redactedRE = regexp.MustCompile(`^sha256:[0-9a-f]{64}$`)

// IsRedacted reports whether s has the form of a redacted leaf. Redact
// leaves such strings alone, so that redacting twice changes nothing.
func IsRedacted(s string) bool { return redactedRE.MatchString(s) }

// RedactString returns "sha256:" and the hex HMAC-SHA256 of s keyed with
// key (the state's lineage). Equal secrets give equal strings within one
// state, so plans can compare them without storing them; the key keeps
// the hash from being looked up in a table of common secrets.
func RedactString(s, key string) string {
	m := hmac.New(sha256.New, []byte(key))
	m.Write([]byte(s))
	return redactedPrefix + hex.EncodeToString(m.Sum(nil))
}

// Redact returns v with every known, non-null primitive leaf at or under one
// of paths replaced by its RedactString. Numbers and bools become strings
// (a collection whose elements then differ in type becomes a tuple or an
// object). Unknown and null leaves stay as they are, and so do strings that
// are already redacted. v must not be marked.
func Redact(v cty.Value, paths []cty.Path, key string) cty.Value {
	if len(paths) == 0 || v.IsMarked() {
		return v
	}
	return redact(v, nil, paths, key, false)
}

// RedactMarked unmarks v and redacts every path that carried
// lang.SensitiveMark, plus extra. It returns the redacted value and the
// sensitive paths (marks first, then extra).
func RedactMarked(v cty.Value, extra []cty.Path, key string) (cty.Value, []cty.Path) {
	u, pvm := unmarkDeepWithPaths(v)
	paths := sensitiveFromMarks(pvm)
	paths = appendPaths(paths, extra...)
	return Redact(u, paths, key), paths
}

func sensitiveFromMarks(pvm []cty.PathValueMarks) []cty.Path {
	var out []cty.Path
	for _, pm := range pvm {
		if pm.Marks.Has(lang.SensitiveMark) {
			p := pm.Path
			if p.HasUnknownTail() {
				p = p[:len(p)-1]
			}
			out = appendPaths(out, p)
		}
	}
	return out
}

// appendPaths appends the paths not already in list.
func appendPaths(list []cty.Path, add ...cty.Path) []cty.Path {
next:
	for _, p := range add {
		for _, q := range list {
			if q.Equals(p) {
				continue next
			}
		}
		list = append(list, p.Copy())
	}
	return list
}

// under reports whether path is at or under one of paths.
func under(path cty.Path, paths []cty.Path) bool {
	for _, p := range paths {
		if path.HasPrefix(p) {
			return true
		}
	}
	return false
}

// mayContain reports whether some path in paths is at or under path, so
// that the walk must descend.
func mayContain(path cty.Path, paths []cty.Path) bool {
	for _, p := range paths {
		if p.HasPrefix(path) {
			return true
		}
	}
	return false
}

func redact(v cty.Value, path cty.Path, paths []cty.Path, key string, all bool) cty.Value {
	nv, _ := redactValue(v, path, paths, key, all)
	return nv
}

// redactValue is redact that also reports whether anything changed, so that
// a collection or object whose leaves all stay as they are is returned as it
// is rather than rebuilt (refresh redacts every object, and the sensitive
// attributes of most are null).
func redactValue(v cty.Value, path cty.Path, paths []cty.Path, key string, all bool) (cty.Value, bool) {
	if !all {
		all = under(path, paths)
		if !all && !mayContain(path, paths) {
			return v, false
		}
	}
	if !v.IsKnown() || v.IsNull() {
		return v, false
	}
	ty := v.Type()
	switch {
	case ty.IsPrimitiveType():
		if !all {
			return v, false
		}
		var s string
		switch ty {
		case cty.String:
			s = v.AsString()
			if IsRedacted(s) {
				return v, false
			}
		case cty.Number:
			s = v.AsBigFloat().Text('g', -1)
		case cty.Bool:
			s = "false"
			if v.True() {
				s = "true"
			}
		}
		return cty.StringVal(RedactString(s, key)), true
	case ty.IsObjectType():
		var m map[string]cty.Value
		for name := range ty.AttributeTypes() {
			e := v.GetAttr(name)
			ne, changed := redactValue(e, path.GetAttr(name), paths, key, all)
			if !changed {
				continue
			}
			if m == nil {
				m = v.AsValueMap()
			}
			m[name] = ne
		}
		if m == nil {
			return v, false
		}
		return cty.ObjectVal(m), true
	case ty.IsMapType():
		if v.LengthInt() == 0 {
			return v, false
		}
		m := map[string]cty.Value{}
		changed := false
		for k, e := range v.AsValueMap() {
			ne, c := redactValue(e, path.IndexString(k), paths, key, all)
			m[k], changed = ne, changed || c
		}
		if !changed {
			return v, false
		}
		if sameTypes(m) {
			return cty.MapVal(m), true
		}
		return cty.ObjectVal(m), true
	case ty.IsListType(), ty.IsTupleType():
		if v.LengthInt() == 0 {
			return v, false
		}
		var l []cty.Value
		changed := false
		i := 0
		for it := v.ElementIterator(); it.Next(); i++ {
			_, e := it.Element()
			ne, c := redactValue(e, path.IndexInt(i), paths, key, all)
			l, changed = append(l, ne), changed || c
		}
		if !changed {
			return v, false
		}
		if ty.IsListType() && sameTypesList(l) {
			return cty.ListVal(l), true
		}
		return cty.TupleVal(l), true
	case ty.IsSetType():
		if v.LengthInt() == 0 {
			return v, false
		}
		var l []cty.Value
		changed := false
		for it := v.ElementIterator(); it.Next(); {
			_, e := it.Element()
			// Set elements have no stable index: a sensitive path reaches
			// them only through the set as a whole.
			ne, c := redactValue(e, path.Index(e), paths, key, all)
			l, changed = append(l, ne), changed || c
		}
		if !changed {
			return v, false
		}
		if sameTypesList(l) {
			return cty.SetVal(l), true
		}
		return cty.TupleVal(l), true
	}
	return v, false
}

func sameTypes(m map[string]cty.Value) bool {
	var ty cty.Type
	first := true
	for _, v := range m {
		if first {
			ty, first = v.Type(), false
			continue
		}
		if !v.Type().Equals(ty) {
			return false
		}
	}
	return true
}

func sameTypesList(l []cty.Value) bool {
	for _, v := range l[1:] {
		if !v.Type().Equals(l[0].Type()) {
			return false
		}
	}
	return true
}

// redactedLeaves lists the redacted leaves of prior, the value recorded for
// rs: the leaves that look redacted and lie under a path rs records as
// sensitive, so that a value that only looks redacted (an image digest is
// "sha256:" and 64 hex digits too) is not taken for a secret. A state
// written before sensitive paths were recorded has no record; then every
// leaf that looks redacted counts.
func redactedLeaves(rs *state.Resource, prior cty.Value) []cty.Path {
	if rs == nil || rs.SensitivePaths == nil {
		return redactedPaths(prior)
	}
	// Only the recorded paths need a look (refresh calls this for every
	// object, and most record one null secret or nothing).
	var out []cty.Path
	for _, p := range rs.SensitivePaths {
		if v, ok := getPath(prior, p); ok {
			var found []cty.Path
			findRedacted(v, p.Copy(), &found)
			out = appendPaths(out, found...)
		}
	}
	return out
}

// record is paths as state.Resource.SensitivePaths holds them: a copy,
// never nil, since nil means "not recorded".
func record(paths []cty.Path) []cty.Path {
	return appendPaths(make([]cty.Path, 0, len(paths)), paths...)
}

// redactedPaths lists the paths of the leaves of v that are already
// redacted strings: refresh must keep them redacted even when the
// configuration that made them sensitive is gone.
func redactedPaths(v cty.Value) []cty.Path {
	var out []cty.Path
	findRedacted(v, nil, &out)
	return out
}

// findRedacted walks v without cty.Walk's per-node path copies: refresh
// calls it for every object.
func findRedacted(v cty.Value, path cty.Path, out *[]cty.Path) {
	if !v.IsKnown() || v.IsNull() || v.IsMarked() {
		return
	}
	ty := v.Type()
	switch {
	case ty == cty.String:
		if s := v.AsString(); len(s) == len(redactedPrefix)+64 && IsRedacted(s) {
			*out = append(*out, path.Copy())
		}
	case ty.IsObjectType():
		for name := range ty.AttributeTypes() {
			findRedacted(v.GetAttr(name), append(path, cty.GetAttrStep{Name: name}), out)
		}
	case ty.IsMapType() || ty.IsListType() || ty.IsTupleType() || ty.IsSetType():
		if v.LengthInt() == 0 {
			return
		}
		if et := collectionElem(ty); et != cty.NilType && et.IsPrimitiveType() && et != cty.String {
			return
		}
		for it := v.ElementIterator(); it.Next(); {
			k, e := it.Element()
			findRedacted(e, append(path, cty.IndexStep{Key: k}), out)
		}
	}
}

// collectionElem is the element type of a list, map or set, or NilType.
func collectionElem(ty cty.Type) cty.Type {
	if ty.IsListType() || ty.IsMapType() || ty.IsSetType() {
		return ty.ElementType()
	}
	return cty.NilType
}

// restore gives back the clear value of every redacted leaf of prior whose
// counterpart in cfg redacts to the same string: the secret did not change,
// and the provider may compare prior and config as it would without
// redaction. A secret that changed stays redacted, so it still differs.
//
// redacted lists the redacted leaves of prior (redactedPaths).
func restore(prior, cfg cty.Value, redacted []cty.Path, key string) cty.Value {
	if len(redacted) == 0 || prior.IsNull() || !prior.IsKnown() || cfg.IsNull() || !cfg.IsKnown() {
		return prior
	}
	for _, p := range redacted {
		cv, ok := getPath(cfg, p)
		if !ok || cv.IsNull() || !cv.IsKnown() || cv.IsMarked() || cv.Type() != cty.String {
			continue
		}
		pv, _ := getPath(prior, p)
		if RedactString(cv.AsString(), key) != pv.AsString() {
			continue
		}
		if nv, ok := setPath(prior, p, cv); ok {
			prior = nv
		}
	}
	return prior
}

// providerInputs returns what a provider is given to plan one object: the
// prior with the secrets the configuration still holds restored, and the
// configuration with ignore_changes applied against that clear prior. A
// secret under ignore_changes that the configuration no longer holds (it
// was rotated) cannot be restored: the configuration's value goes there,
// never the state's keyed hash.
func providerInputs(prior, cfg cty.Value, redacted []cty.Path, key string, ignore func(cfg, prior cty.Value) cty.Value) (clearPrior, cfgIg cty.Value) {
	clearPrior = restore(prior, cfg, redacted, key)
	cfgIg = ignore(cfg, clearPrior)
	for _, p := range redacted {
		v, ok := getPath(cfgIg, p)
		if !ok || !v.IsKnown() || v.IsNull() || v.Type() != cty.String || !IsRedacted(v.AsString()) {
			continue
		}
		if cv, ok := getPath(cfg, p); ok {
			if nv, ok := setPath(cfgIg, p, cv); ok {
				cfgIg = nv
			}
		}
	}
	return clearPrior, cfgIg
}
