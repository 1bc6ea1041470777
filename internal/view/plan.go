package view

import (
	"fmt"
	"io"
	"sort"
	"strings"

	"github.com/sdform/sdform/planner/plan"
	"github.com/zclconf/go-cty/cty"
)

// Plan writes p for people, as DESIGN.md shows it: changes found outside
// sdform first, then each action with its reason and the attributes that
// change, output changes, check results, and a last line that sums up.
func Plan(w io.Writer, p *plan.Plan, o Options) error {
	ew := &errWriter{w: w}
	if len(p.Drift) > 0 {
		ew.printf("%s\n\n", o.paint(ansiBold, "Objects have changed outside of sdform:"))
		for _, d := range p.Drift {
			renderDrift(ew, d, o)
		}
		ew.printf("The plan below takes these changes into account.\n\n")
	}
	sum := plan.Summarize(p)
	outputs := changedOutputs(p)
	if sum.Changes() == 0 && sum.Read == 0 {
		if len(outputs) > 0 {
			renderOutputs(ew, outputs, o)
		}
		renderChecks(ew, p.Checks, o)
		if len(outputs) > 0 {
			ew.printf("%s Only output values change; applying this plan saves them without changing anything else.\n", o.paint(ansiBold+ansiGreen, "No changes to objects."))
		} else {
			ew.printf("%s Your infrastructure matches the configuration.\n", o.paint(ansiBold+ansiGreen, "No changes."))
		}
		return ew.err
	}
	ew.printf("sdform will perform the following actions:\n\n")
	for _, c := range p.Changes {
		if c.Action == plan.NoOp {
			continue
		}
		renderChange(ew, c, o)
	}
	if len(outputs) > 0 {
		renderOutputs(ew, outputs, o)
	}
	renderChecks(ew, p.Checks, o)
	ew.printf("%s %s.\n", o.paint(ansiBold, "Plan:"), SummaryLine(sum))
	return ew.err
}

// SummaryLine words a plan's counts: "1 to build, 1 to download, 2 checks
// to run, 3 unchanged". Verbs come first in a fixed order (create, build,
// download, other verbs, run), then update, replace, destroy, forget,
// unchanged; zero counts are left out.
func SummaryLine(s plan.Summary) string {
	var parts []string
	add := func(n int, format string) {
		if n > 0 {
			parts = append(parts, fmt.Sprintf(format, n))
		}
	}
	add(s.Create+s.ByVerb["create"], "%d to create")
	add(s.ByVerb["build"], "%d to build")
	add(s.ByVerb["download"], "%d to download")
	var others []string
	for verb := range s.ByVerb {
		switch verb {
		case "create", "build", "download", "run":
		default:
			others = append(others, verb)
		}
	}
	sort.Strings(others)
	for _, verb := range others {
		add(s.ByVerb[verb], "%d to "+strings.ReplaceAll(verb, "%", "%%"))
	}
	if n := s.ByVerb["run"]; n == 1 {
		parts = append(parts, "1 check to run")
	} else {
		add(n, "%d checks to run")
	}
	add(s.Update, "%d to update")
	add(s.Replace, "%d to replace")
	add(s.Delete, "%d to destroy")
	add(s.Forget, "%d to forget")
	add(s.Read, "%d to read")
	add(s.Unchanged, "%d unchanged")
	if len(parts) == 0 {
		return "nothing to do"
	}
	return strings.Join(parts, ", ")
}

// Symbol is the sign a change is drawn with.
func Symbol(a plan.Action) string {
	switch a {
	case plan.Create:
		return "+"
	case plan.Update:
		return "~"
	case plan.Replace:
		return "-/+"
	case plan.Delete:
		return "-"
	case plan.Forget:
		return "."
	case plan.Read:
		return "<="
	}
	return " "
}

func (o Options) symbol(a plan.Action) string {
	s := Symbol(a)
	switch a {
	case plan.Create:
		return o.paint(ansiGreen, s)
	case plan.Update:
		return o.paint(ansiYellow, s)
	case plan.Replace:
		if !o.Color {
			return s
		}
		return o.paint(ansiRed, "-") + "/" + o.paint(ansiGreen, "+")
	case plan.Delete:
		return o.paint(ansiRed, s)
	case plan.Read:
		return o.paint(ansiCyan, s)
	case plan.Forget:
		return o.paint(ansiMagenta, s)
	}
	return s
}

// Heading is what a change will do, in the words of its type's verb:
// "will be built", "will be rebuilt", "will be downloaded", "will run",
// "will be created", "will be updated in place", "must be replaced",
// "will be destroyed", "will be forgotten", "will be read during apply".
// An in-place update of a build type builds nothing: it reads "will be
// updated in place" (plan.ActionVerb).
func Heading(a plan.Action, verb string) string {
	verb = plan.ActionVerb(a, verb)
	switch a {
	case plan.Create:
		switch verb {
		case "", "create":
			return "will be created"
		case "build":
			return "will be built"
		case "download":
			return "will be downloaded"
		}
		return "will " + verb
	case plan.Update, plan.Replace:
		switch verb {
		case "build":
			return "will be rebuilt"
		case "download":
			return "will be downloaded again"
		case "", "create":
			if a == plan.Update {
				return "will be updated in place"
			}
			return "must be replaced"
		}
		return "will " + verb
	case plan.Delete:
		return "will be destroyed"
	case plan.Forget:
		return "will be forgotten"
	case plan.Read:
		return "will be read during apply"
	}
	return "is unchanged"
}

func renderChange(ew *errWriter, c *plan.Change, o Options) {
	head := fmt.Sprintf("# %s %s", c.Address, Heading(c.Action, c.Verb))
	if c.Reason != "" {
		head += ": " + indentText(c.Reason, "    ")
	}
	ew.printf("  %s\n", o.paint(ansiBold, head))
	block := blockLabel(c.Mode, c.Type, c.Name)
	if c.Action == plan.Forget {
		ew.printf("%3s %s\n\n", o.symbol(c.Action), block)
		return
	}
	d := &differ{sens: c.SensitivePaths, replace: c.ReplacePaths}
	d.diff("", nil, c.Before, c.After)
	ew.printf("%s %s {\n", padSymbol(o.symbol(c.Action), Symbol(c.Action)), block)
	d.write(ew, o)
	for _, line := range c.Details {
		ew.printf("        %s\n", indentText(line, "        "))
	}
	ew.printf("    }\n\n")
}

func renderDrift(ew *errWriter, dr *plan.Drift, o Options) {
	mode, typ, name := plan.SplitAddress(dr.Address)
	action, what := plan.Update, "has changed"
	if dr.After == cty.NilVal || (dr.After.IsKnown() && dr.After.IsNull()) {
		action, what = plan.Delete, "has been deleted"
	}
	head := fmt.Sprintf("# %s %s", dr.Address, what)
	if dr.Reason != "" {
		head += ": " + indentText(dr.Reason, "    ")
	}
	ew.printf("  %s\n", o.paint(ansiBold, head))
	// A sensitive leaf holds its redacted form ("sha256:<hmac>"), which
	// tells a reader nothing but is no value either: it prints as
	// "(sensitive value)", as it does in the changes below.
	d := &differ{sens: dr.SensitivePaths}
	d.diff("", nil, dr.Before, dr.After)
	ew.printf("%s %s {\n", padSymbol(o.symbol(action), Symbol(action)), blockLabel(mode, typ, name))
	d.write(ew, o)
	ew.printf("    }\n\n")
}

// padSymbol right-aligns a (possibly coloured) symbol in three columns.
func padSymbol(colored, plain string) string {
	return strings.Repeat(" ", max(0, 3-len(plain))) + colored
}

func blockLabel(mode, typ, name string) string {
	if mode == "data" {
		return fmt.Sprintf("data %q %q", typ, name)
	}
	return fmt.Sprintf("%s %q", typ, name)
}

// attrLine is one changed attribute of a change's body.
type attrLine struct {
	sym    byte // '+', '~' or '-'
	path   string
	text   string
	forces bool
}

// differ walks a change's before and after values side by side and
// collects the attributes to show. Objects and maps are entered, so a
// change deep inside shows as `~ args.X = "a" -> "b"`; lists of equal
// length are entered by position; anything else that differs is shown
// whole.
type differ struct {
	sens      []cty.Path
	replace   []cty.Path
	lines     []attrLine
	unchanged int
}

func isNull(v cty.Value) bool {
	if v == cty.NilVal {
		return true
	}
	v, _ = v.Unmark()
	return v.IsKnown() && v.IsNull()
}

func sameValue(a, b cty.Value) bool {
	if a == cty.NilVal || b == cty.NilVal {
		return isNull(a) && isNull(b)
	}
	ua, _ := a.UnmarkDeep()
	ub, _ := b.UnmarkDeep()
	return ua.RawEquals(ub)
}

func enterable(v cty.Value) bool {
	if v == cty.NilVal {
		return false
	}
	v, _ = v.Unmark()
	if !v.IsKnown() || v.IsNull() {
		return false
	}
	ty := v.Type()
	return ty.IsObjectType() || ty.IsMapType()
}

func (d *differ) add(sym byte, name string, p cty.Path, text string) {
	forces := underPath(p, d.replace)
	for _, rp := range d.replace {
		if len(p) < len(rp) && p.Equals(rp[:len(p)]) {
			forces = true
		}
	}
	d.lines = append(d.lines, attrLine{sym: sym, path: name, text: text, forces: forces})
}

func (d *differ) diff(name string, p cty.Path, before, after cty.Value) {
	bNull, aNull := isNull(before), isNull(after)
	if bNull && aNull {
		return
	}
	if (before != cty.NilVal && sensitiveAt(before, p, d.sens)) || (after != cty.NilVal && sensitiveAt(after, p, d.sens)) {
		switch {
		case sameValue(before, after):
			d.unchanged++
		case bNull:
			d.add('+', name, p, sensitiveText)
		case aNull:
			d.add('-', name, p, sensitiveText+" -> null")
		default:
			d.add('~', name, p, sensitiveText)
		}
		return
	}
	if !aNull && !after.IsKnown() {
		if bNull {
			d.add('+', name, p, unknownText)
		} else {
			d.add('~', name, p, formatValue(before, p, d.sens)+" -> "+unknownText)
		}
		return
	}
	if sameValue(before, after) {
		d.unchanged++
		return
	}
	// An empty collection next to nothing says nothing: `+ step = []` on
	// every create would be noise.
	if (bNull && emptyCollection(after)) || (aNull && emptyCollection(before)) {
		return
	}
	switch {
	case bNull && enterable(after) && name != "" && entryCount(after) == 0:
		d.add('+', name, p, formatValue(after, p, d.sens))
	case bNull && enterable(after):
		d.enter(name, p, cty.NilVal, after)
	case bNull:
		d.add('+', name, p, formatValue(after, p, d.sens))
	case aNull && enterable(before) && (name == "" || entryCount(before) > 0):
		d.enter(name, p, before, cty.NilVal)
	case aNull:
		d.add('-', name, p, formatValue(before, p, d.sens)+" -> null")
	case enterable(before) && enterable(after) && sameKind(before, after):
		d.enter(name, p, before, after)
	case sameLengthLists(before, after):
		b, _ := before.Unmark()
		a, _ := after.Unmark()
		// Unchanged list elements are not attributes: they are not counted
		// in "# (N unchanged attributes hidden)".
		unchanged := d.unchanged
		defer func() { d.unchanged = unchanged }()
		for i := 0; i < b.LengthInt(); i++ {
			idx := cty.NumberIntVal(int64(i))
			d.diff(joinPath(name, fmt.Sprint(i), true), append(p, cty.IndexStep{Key: idx}), b.Index(idx), a.Index(idx))
		}
	default:
		d.add('~', name, p, formatValue(before, p, d.sens)+" -> "+formatValue(after, p, d.sens))
	}
}

func emptyCollection(v cty.Value) bool {
	v, _ = v.Unmark()
	if !v.IsKnown() || v.IsNull() {
		return false
	}
	ty := v.Type()
	return (ty.IsCollectionType() || ty.IsTupleType() || ty.IsObjectType()) && v.LengthInt() == 0
}

func entryCount(v cty.Value) int {
	keys, _, _ := entries(v)
	return len(keys)
}

func (d *differ) enter(name string, p cty.Path, before, after cty.Value) {
	bk, bv, bs := entries(before)
	ak, av, as := entries(after)
	type side struct {
		v    cty.Value
		step cty.PathStep
	}
	bm := map[string]side{}
	for i, k := range bk {
		bm[k] = side{bv[i], bs[i]}
	}
	am := map[string]side{}
	for i, k := range ak {
		am[k] = side{av[i], as[i]}
	}
	keys := append([]string(nil), bk...)
	for _, k := range ak {
		if _, ok := bm[k]; !ok {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	for _, k := range keys {
		b, a := bm[k], am[k]
		step := b.step
		if step == nil {
			step = a.step
		}
		d.diff(joinPath(name, k, false), append(p[:len(p):len(p)], step), b.v, a.v)
	}
}

func sameKind(a, b cty.Value) bool {
	a, _ = a.Unmark()
	b, _ = b.Unmark()
	return a.Type().IsObjectType() == b.Type().IsObjectType()
}

func sameLengthLists(a, b cty.Value) bool {
	a, _ = a.Unmark()
	b, _ = b.Unmark()
	if !a.IsKnown() || !b.IsKnown() || a.IsNull() || b.IsNull() {
		return false
	}
	at, bt := a.Type(), b.Type()
	if !(at.IsListType() && bt.IsListType() || at.IsTupleType() && bt.IsTupleType()) {
		return false
	}
	return a.LengthInt() == b.LengthInt()
}

func (d *differ) write(ew *errWriter, o Options) {
	for _, l := range d.lines {
		sym := string(l.sym)
		switch l.sym {
		case '+':
			sym = o.paint(ansiGreen, sym)
		case '~':
			sym = o.paint(ansiYellow, sym)
		case '-':
			sym = o.paint(ansiRed, sym)
		}
		suffix := ""
		if l.forces {
			suffix = " " + o.paint(ansiRed, "# forces replacement")
		}
		ew.printf("      %s %s = %s%s\n", sym, l.path, l.text, suffix)
	}
	switch d.unchanged {
	case 0:
	case 1:
		ew.printf("        # (1 unchanged attribute hidden)\n")
	default:
		ew.printf("        # (%d unchanged attributes hidden)\n", d.unchanged)
	}
}

type outputChange struct {
	out    *plan.Output
	action plan.Action
}

func changedOutputs(p *plan.Plan) []outputChange {
	var out []outputChange
	for _, o := range p.Outputs {
		if a := plan.OutputAction(o); a != plan.NoOp {
			out = append(out, outputChange{o, a})
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].out.Name < out[j].out.Name })
	return out
}

func renderOutputs(ew *errWriter, outs []outputChange, o Options) {
	ew.printf("%s\n", o.paint(ansiBold, "Changes to Outputs:"))
	width := 0
	for _, oc := range outs {
		width = max(width, len(oc.out.Name))
	}
	for _, oc := range outs {
		var sens []cty.Path
		if oc.out.Sensitive {
			sens = []cty.Path{{}}
		}
		var text string
		switch oc.action {
		case plan.Create:
			text = formatValue(oc.out.After, nil, sens)
		case plan.Delete:
			text = formatValue(oc.out.Before, nil, sens) + " -> null"
		default:
			text = formatValue(oc.out.Before, nil, sens) + " -> " + formatValue(oc.out.After, nil, sens)
			if oc.out.Sensitive {
				text = sensitiveText
			}
		}
		ew.printf("%s %-*s = %s\n", padSymbol(o.symbol(oc.action), Symbol(oc.action)), width, oc.out.Name, text)
	}
	ew.printf("\n")
}

func renderChecks(ew *errWriter, checks []*plan.CheckResult, o Options) {
	if len(checks) == 0 {
		return
	}
	ew.printf("%s\n", o.paint(ansiBold, "Checks:"))
	for _, c := range checks {
		switch c.Status {
		case plan.CheckPass:
			ew.printf("  %s: %s\n", c.Address, o.paint(ansiGreen, "passed"))
		case plan.CheckUnknown:
			why := "will be evaluated after apply"
			if len(c.Messages) > 0 { // after an apply: why it could not be
				why = indentText(strings.Join(c.Messages, "; "), "    ")
			}
			ew.printf("  %s: %s\n", c.Address, why)
		default:
			word := o.paint(ansiRed, "failed")
			if c.Warning {
				word = o.paint(ansiYellow, "failed (warning)")
			}
			switch len(c.Messages) {
			case 0:
				ew.printf("  %s: %s\n", c.Address, word)
			case 1:
				ew.printf("  %s: %s: %s\n", c.Address, word, indentText(c.Messages[0], "    "))
			default:
				ew.printf("  %s: %s:\n", c.Address, word)
				for _, m := range c.Messages {
					ew.printf("    - %s\n", indentText(m, "      "))
				}
			}
		}
	}
	ew.printf("\n")
}

// errWriter keeps the first write error so that rendering code can print
// without checking every call.
type errWriter struct {
	w   io.Writer
	err error
}

func (e *errWriter) printf(format string, args ...any) {
	if e.err != nil {
		return
	}
	_, e.err = fmt.Fprintf(e.w, format, args...)
}

// Checks writes check results after an apply, as the plan shows them.
func Checks(w io.Writer, checks []*plan.CheckResult, o Options) error {
	ew := &errWriter{w: w}
	renderChecks(ew, checks, o)
	return ew.err
}
