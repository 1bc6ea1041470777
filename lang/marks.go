package lang

import "github.com/zclconf/go-cty/cty"

// MarkSensitive marks a whole value as sensitive. Marks travel through
// expressions and function calls, so anything computed from the value is
// sensitive too.
func MarkSensitive(v cty.Value) cty.Value {
	return v.Mark(SensitiveMark)
}

// IsSensitive reports whether the value, or any value nested in it,
// carries SensitiveMark.
func IsSensitive(v cty.Value) bool {
	if v.HasMark(SensitiveMark) {
		return true
	}
	if !v.ContainsMarked() {
		return false
	}
	_, pvm := v.UnmarkDeepWithPaths()
	for _, pm := range pvm {
		if _, ok := pm.Marks[SensitiveMark]; ok {
			return true
		}
	}
	return false
}

// SensitivePaths lists the paths inside v whose values are marked
// sensitive (an empty path for v itself), so that a renderer or the state
// can redact exactly those.
func SensitivePaths(v cty.Value) []cty.Path {
	_, pvm := v.UnmarkDeepWithPaths()
	var out []cty.Path
	for _, pm := range pvm {
		if _, ok := pm.Marks[SensitiveMark]; ok {
			out = append(out, pm.Path)
		}
	}
	return out
}
