package view

import (
	"io"
	"sort"

	"github.com/sdform/sdform/planner/state"
	"github.com/zclconf/go-cty/cty"
)

// StateResource writes one object of the state as `sdform state show`
// prints it: a block in HCL syntax with one line per attribute that has a
// value. Sensitive attributes are stored redacted ("sha256:<hmac>"); those
// the state records as sensitive (r.SensitivePaths) print as
// "(sensitive value)". A state written before sdform recorded them has no
// such paths, and its redacted values print as stored.
func StateResource(w io.Writer, r *state.Resource, o Options) error {
	ew := &errWriter{w: w}
	ew.printf("%s\n", o.paint(ansiBold, "# "+r.Address+":"))
	kind := "resource"
	if r.Mode == state.ModeData {
		kind = "data"
	}
	ew.printf("%s %q %q {\n", kind, r.Type, r.Name)
	keys, vals, steps := entries(r.Value)
	width := 0
	var shown []int
	for i, k := range keys {
		if isNull(vals[i]) {
			continue
		}
		shown = append(shown, i)
		width = max(width, len(hclKey(k)))
	}
	for _, i := range shown {
		ew.printf("    %-*s = %s\n", width, hclKey(keys[i]), formatValue(vals[i], cty.Path{steps[i]}, r.SensitivePaths))
	}
	ew.printf("}\n")
	return ew.err
}

// State writes every object of st and its outputs, as `sdform show`
// prints it without a plan file.
func State(w io.Writer, st *state.File, o Options) error {
	ew := &errWriter{w: w}
	if len(st.Resources) == 0 && len(st.Outputs) == 0 {
		ew.printf("The state is empty: nothing has been applied yet.\n")
		return ew.err
	}
	for _, r := range st.Resources {
		if err := StateResource(w, r, o); err != nil {
			return err
		}
		ew.printf("\n")
	}
	if len(st.Outputs) > 0 {
		names := make([]string, 0, len(st.Outputs))
		for n := range st.Outputs {
			names = append(names, n)
		}
		sort.Strings(names)
		ew.printf("%s\n\n", o.paint(ansiBold, "Outputs:"))
		for _, n := range names {
			out := st.Outputs[n]
			text := formatValue(out.Value, nil, nil)
			if out.Sensitive {
				text = sensitiveText
			}
			ew.printf("%s = %s\n", n, text)
		}
	}
	return ew.err
}
