package plan

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"sort"
	"strings"
	"time"

	"github.com/sdform/sdform/lang"
	"github.com/zclconf/go-cty/cty"
	ctyjson "github.com/zclconf/go-cty/cty/json"
)

// fileKind tells a saved plan from any other JSON file handed to
// `apply PLANFILE` (a state file, a `plan -json` document).
const fileKind = "sdform-plan"

// ActionString is the word for an action used in both JSON formats:
// "create", "update", "replace", "delete", "forget", "read" or "no-op".
func ActionString(a Action) string {
	if a == Forget {
		return "forget"
	}
	return a.String()
}

// ParseAction is the inverse of ActionString.
func ParseAction(s string) (Action, error) {
	for _, a := range []Action{NoOp, Create, Update, Replace, Delete, Read, Forget} {
		if ActionString(a) == s {
			return a, nil
		}
	}
	return 0, fmt.Errorf("unknown action %q", s)
}

// Marshal encodes p as a saved-plan file. Every value is written with its
// type, its unknowns (with their refinements) and its sensitive marks, so
// that Unmarshal gives back values that are RawEquals to the originals:
// apply of a saved plan works on exactly what plan showed.
func Marshal(p *Plan) ([]byte, error) {
	f := planFile{
		FormatVersion: p.FormatVersion,
		Kind:          fileKind,
		SdformVersion: p.SdformVersion,
		CreatedAt:     p.CreatedAt,
		Lineage:       p.Lineage,
		Serial:        p.Serial,
		InputsDigest:  p.InputsDigest,
		Options: optionsJSON{
			Destroy: p.Options.Destroy, Refresh: p.Options.Refresh,
			Targets: p.Options.Targets, Excludes: p.Options.Excludes,
			Replace: p.Options.Replace, Parallelism: p.Options.Parallelism,
		},
	}
	if f.FormatVersion == "" {
		f.FormatVersion = FormatVersion
	}
	var err error
	if len(p.Variables) > 0 {
		f.Variables = make(map[string]*typedValue, len(p.Variables))
		for name, v := range p.Variables {
			if f.Variables[name], err = encodeTyped(v); err != nil {
				return nil, fmt.Errorf("encode variable %s: %w", name, err)
			}
		}
	}
	for _, c := range p.Changes {
		cj := changeJSON{
			Address: c.Address, Mode: c.Mode, Type: c.Type, Name: c.Name, Provider: c.Provider,
			Action: ActionString(c.Action), Reason: c.Reason, Details: c.Details,
			Verb: c.Verb, Test: c.Test, Fingerprint: c.Fingerprint, Private: c.Private,
			Dependencies: c.Dependencies,
		}
		if cj.Before, err = encodeTyped(c.Before); err != nil {
			return nil, fmt.Errorf("encode %s before: %w", c.Address, err)
		}
		if cj.After, err = encodeTyped(c.After); err != nil {
			return nil, fmt.Errorf("encode %s after: %w", c.Address, err)
		}
		if cj.ReplacePaths, err = encodePaths(c.ReplacePaths); err != nil {
			return nil, fmt.Errorf("encode %s replace paths: %w", c.Address, err)
		}
		if cj.SensitivePaths, err = encodePaths(c.SensitivePaths); err != nil {
			return nil, fmt.Errorf("encode %s sensitive paths: %w", c.Address, err)
		}
		f.Changes = append(f.Changes, cj)
	}
	for _, d := range p.Drift {
		dj := driftJSON{Address: d.Address, Reason: d.Reason}
		if dj.SensitivePaths, err = encodePaths(d.SensitivePaths); err != nil {
			return nil, fmt.Errorf("encode drift %s sensitive paths: %w", d.Address, err)
		}
		if dj.Before, err = encodeTyped(d.Before); err != nil {
			return nil, fmt.Errorf("encode drift %s: %w", d.Address, err)
		}
		if dj.After, err = encodeTyped(d.After); err != nil {
			return nil, fmt.Errorf("encode drift %s: %w", d.Address, err)
		}
		f.Drift = append(f.Drift, dj)
	}
	for _, c := range p.Checks {
		f.Checks = append(f.Checks, checkJSON{Address: c.Address, Status: string(c.Status), Messages: c.Messages, Warning: c.Warning})
	}
	for _, o := range p.Outputs {
		oj := outputJSON{Name: o.Name, Sensitive: o.Sensitive}
		if oj.Before, err = encodeTyped(o.Before); err != nil {
			return nil, fmt.Errorf("encode output %s: %w", o.Name, err)
		}
		if oj.After, err = encodeTyped(o.After); err != nil {
			return nil, fmt.Errorf("encode output %s: %w", o.Name, err)
		}
		f.Outputs = append(f.Outputs, oj)
	}
	return json.MarshalIndent(f, "", "  ")
}

// Unmarshal decodes a saved-plan file written by Marshal. It refuses a file
// that is not a saved plan and one written in another major format version.
func Unmarshal(data []byte) (*Plan, error) {
	var head struct {
		FormatVersion string `json:"format_version"`
		Kind          string `json:"kind"`
		SdformVersion string `json:"sdform_version"`
	}
	if err := json.Unmarshal(data, &head); err != nil || head.Kind != fileKind {
		return nil, errors.New("not an sdform saved plan (write one with `sdform plan -out=FILE`)")
	}
	if major(head.FormatVersion) != major(FormatVersion) {
		return nil, fmt.Errorf("saved plan has format version %q, written by sdform %s; this sdform reads format %s.x: run `sdform plan -out=FILE` again with this version",
			head.FormatVersion, head.SdformVersion, major(FormatVersion))
	}
	var f planFile
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	if err := dec.Decode(&f); err != nil {
		return nil, fmt.Errorf("decode saved plan: %w", err)
	}
	p := &Plan{
		FormatVersion: f.FormatVersion,
		SdformVersion: f.SdformVersion,
		CreatedAt:     f.CreatedAt,
		Lineage:       f.Lineage,
		Serial:        f.Serial,
		InputsDigest:  f.InputsDigest,
		Options: Options{
			Destroy: f.Options.Destroy, Refresh: f.Options.Refresh,
			Targets: f.Options.Targets, Excludes: f.Options.Excludes,
			Replace: f.Options.Replace, Parallelism: f.Options.Parallelism,
		},
	}
	var err error
	if len(f.Variables) > 0 {
		p.Variables = make(map[string]cty.Value, len(f.Variables))
		for name, tv := range f.Variables {
			if p.Variables[name], err = tv.decode(); err != nil {
				return nil, fmt.Errorf("decode variable %s: %w", name, err)
			}
		}
	}
	for _, cj := range f.Changes {
		c := &Change{
			Address: cj.Address, Mode: cj.Mode, Type: cj.Type, Name: cj.Name, Provider: cj.Provider,
			Reason: cj.Reason, Details: cj.Details, Verb: cj.Verb, Test: cj.Test,
			Fingerprint: cj.Fingerprint, Private: cj.Private, Dependencies: cj.Dependencies,
		}
		if c.Action, err = ParseAction(cj.Action); err != nil {
			return nil, fmt.Errorf("decode %s: %w", cj.Address, err)
		}
		if c.Before, err = cj.Before.decode(); err != nil {
			return nil, fmt.Errorf("decode %s before: %w", cj.Address, err)
		}
		if c.After, err = cj.After.decode(); err != nil {
			return nil, fmt.Errorf("decode %s after: %w", cj.Address, err)
		}
		if c.ReplacePaths, err = decodePaths(cj.ReplacePaths); err != nil {
			return nil, fmt.Errorf("decode %s replace paths: %w", cj.Address, err)
		}
		if c.SensitivePaths, err = decodePaths(cj.SensitivePaths); err != nil {
			return nil, fmt.Errorf("decode %s sensitive paths: %w", cj.Address, err)
		}
		p.Changes = append(p.Changes, c)
	}
	for _, dj := range f.Drift {
		d := &Drift{Address: dj.Address, Reason: dj.Reason}
		if d.SensitivePaths, err = decodePaths(dj.SensitivePaths); err != nil {
			return nil, fmt.Errorf("decode drift %s sensitive paths: %w", dj.Address, err)
		}
		if d.Before, err = dj.Before.decode(); err != nil {
			return nil, fmt.Errorf("decode drift %s: %w", dj.Address, err)
		}
		if d.After, err = dj.After.decode(); err != nil {
			return nil, fmt.Errorf("decode drift %s: %w", dj.Address, err)
		}
		p.Drift = append(p.Drift, d)
	}
	for _, cj := range f.Checks {
		p.Checks = append(p.Checks, &CheckResult{Address: cj.Address, Status: CheckStatus(cj.Status), Messages: cj.Messages, Warning: cj.Warning})
	}
	for _, oj := range f.Outputs {
		o := &Output{Name: oj.Name, Sensitive: oj.Sensitive}
		if o.Before, err = oj.Before.decode(); err != nil {
			return nil, fmt.Errorf("decode output %s: %w", oj.Name, err)
		}
		if o.After, err = oj.After.decode(); err != nil {
			return nil, fmt.Errorf("decode output %s: %w", oj.Name, err)
		}
		p.Outputs = append(p.Outputs, o)
	}
	return p, nil
}

func major(version string) string {
	m, _, _ := strings.Cut(version, ".")
	return m
}

type planFile struct {
	FormatVersion string                 `json:"format_version"`
	Kind          string                 `json:"kind"`
	SdformVersion string                 `json:"sdform_version"`
	CreatedAt     time.Time              `json:"created_at"`
	Lineage       string                 `json:"lineage"`
	Serial        uint64                 `json:"serial"`
	InputsDigest  string                 `json:"inputs_digest"`
	Options       optionsJSON            `json:"options"`
	Variables     map[string]*typedValue `json:"variables,omitempty"`
	Changes       []changeJSON           `json:"changes"`
	Drift         []driftJSON            `json:"drift,omitempty"`
	Checks        []checkJSON            `json:"checks,omitempty"`
	Outputs       []outputJSON           `json:"outputs,omitempty"`
}

type optionsJSON struct {
	Destroy     bool     `json:"destroy,omitempty"`
	Refresh     bool     `json:"refresh"`
	Targets     []string `json:"targets,omitempty"`
	Excludes    []string `json:"excludes,omitempty"`
	Replace     []string `json:"replace,omitempty"`
	Parallelism int      `json:"parallelism,omitempty"`
}

type changeJSON struct {
	Address        string      `json:"address"`
	Mode           string      `json:"mode"`
	Type           string      `json:"type"`
	Name           string      `json:"name"`
	Provider       string      `json:"provider"`
	Action         string      `json:"action"`
	Reason         string      `json:"reason,omitempty"`
	ReplacePaths   [][]any     `json:"replace_paths,omitempty"`
	Before         *typedValue `json:"before,omitempty"`
	After          *typedValue `json:"after,omitempty"`
	Details        []string    `json:"details,omitempty"`
	Verb           string      `json:"verb,omitempty"`
	Test           bool        `json:"test,omitempty"`
	SensitivePaths [][]any     `json:"sensitive_paths,omitempty"`
	Fingerprint    string      `json:"fingerprint,omitempty"`
	// Private is the provider's opaque data; encoding/json writes []byte
	// as base64.
	Private      []byte   `json:"private,omitempty"`
	Dependencies []string `json:"dependencies,omitempty"`
}

type driftJSON struct {
	Address        string      `json:"address"`
	Reason         string      `json:"reason,omitempty"`
	Before         *typedValue `json:"before,omitempty"`
	After          *typedValue `json:"after,omitempty"`
	SensitivePaths [][]any     `json:"sensitive_paths,omitempty"`
}

type checkJSON struct {
	Address  string   `json:"address"`
	Status   string   `json:"status"`
	Messages []string `json:"messages,omitempty"`
	Warning  bool     `json:"warning,omitempty"`
}

type outputJSON struct {
	Name      string      `json:"name"`
	Sensitive bool        `json:"sensitive,omitempty"`
	Before    *typedValue `json:"before,omitempty"`
	After     *typedValue `json:"after,omitempty"`
}

// typedValue is one cty value in the saved plan. Value is the plain JSON
// form with null where the value is unknown; Unknown lists those places
// (with what is already known about them) and Sensitive the places that
// carry lang.SensitiveMark. Places are "positional paths": a list of steps
// read against the type, an attribute or map key as a string and a list,
// tuple or set element as its position in Value.
type typedValue struct {
	Type      json.RawMessage `json:"type"`
	Value     any             `json:"value"`
	Unknown   []unknownJSON   `json:"unknown,omitempty"`
	Sensitive [][]any         `json:"sensitive,omitempty"`
}

// unknownJSON is one unknown value and its refinements.
type unknownJSON struct {
	Path         []any  `json:"path"`
	NotNull      bool   `json:"not_null,omitempty"`
	StringPrefix string `json:"string_prefix,omitempty"`
	NumberLower  *bound `json:"number_lower,omitempty"`
	NumberUpper  *bound `json:"number_upper,omitempty"`
	LengthLower  int    `json:"length_lower,omitempty"`
	LengthUpper  *int   `json:"length_upper,omitempty"`
}

type bound struct {
	Value     any  `json:"value"`
	Inclusive bool `json:"inclusive"`
}

// encodeTyped encodes v; cty.NilVal (a value never set) encodes as nil so
// that it decodes back as cty.NilVal.
func encodeTyped(v cty.Value) (*typedValue, error) {
	if v == cty.NilVal {
		return nil, nil
	}
	e := &valueEncoder{}
	j, err := e.encode(v, nil)
	if err != nil {
		return nil, err
	}
	ty, err := ctyjson.MarshalType(e.topType)
	if err != nil {
		return nil, err
	}
	return &typedValue{Type: ty, Value: j, Unknown: e.unknown, Sensitive: e.sensitive}, nil
}

type valueEncoder struct {
	topType   cty.Type
	unknown   []unknownJSON
	sensitive [][]any
}

func (e *valueEncoder) encode(v cty.Value, path []any) (any, error) {
	if v.IsMarked() {
		var marks cty.ValueMarks
		v, marks = v.Unmark()
		if marks.Has(lang.SensitiveMark) {
			e.sensitive = append(e.sensitive, clonePath(path))
		}
	}
	if path == nil {
		e.topType = v.Type()
	}
	if !v.IsKnown() {
		u, err := encodeUnknown(v, path)
		if err != nil {
			return nil, err
		}
		e.unknown = append(e.unknown, u)
		return nil, nil
	}
	if v.IsNull() {
		return nil, nil
	}
	ty := v.Type()
	switch {
	case ty == cty.String:
		return v.AsString(), nil
	case ty == cty.Number:
		return encodeNumber(v), nil
	case ty == cty.Bool:
		return v.True(), nil
	case ty.IsListType(), ty.IsSetType(), ty.IsTupleType():
		out := make([]any, 0, v.LengthInt())
		i := 0
		for it := v.ElementIterator(); it.Next(); i++ {
			_, ev := it.Element()
			j, err := e.encode(ev, append(path, i))
			if err != nil {
				return nil, err
			}
			out = append(out, j)
		}
		return out, nil
	case ty.IsMapType():
		out := map[string]any{}
		for it := v.ElementIterator(); it.Next(); {
			k, ev := it.Element()
			j, err := e.encode(ev, append(path, k.AsString()))
			if err != nil {
				return nil, err
			}
			out[k.AsString()] = j
		}
		return out, nil
	case ty.IsObjectType():
		out := map[string]any{}
		for name := range ty.AttributeTypes() {
			j, err := e.encode(v.GetAttr(name), append(path, name))
			if err != nil {
				return nil, err
			}
			out[name] = j
		}
		return out, nil
	}
	return nil, fmt.Errorf("cannot encode a value of type %s", ty.FriendlyName())
}

// encodeNumber writes a cty number exactly; infinities, which JSON has no
// number for, as strings.
func encodeNumber(v cty.Value) any {
	f := v.AsBigFloat()
	if f.IsInf() {
		if f.Sign() > 0 {
			return "+Inf"
		}
		return "-Inf"
	}
	return json.Number(f.Text('f', -1))
}

func decodeNumber(j any) (cty.Value, error) {
	switch n := j.(type) {
	case json.Number:
		return cty.ParseNumberVal(string(n))
	case string:
		switch n {
		case "+Inf":
			return cty.PositiveInfinity, nil
		case "-Inf":
			return cty.NegativeInfinity, nil
		}
	}
	return cty.NilVal, fmt.Errorf("expected a number, got %v", j)
}

func encodeUnknown(v cty.Value, path []any) (unknownJSON, error) {
	u := unknownJSON{Path: clonePath(path)}
	ty := v.Type()
	if ty == cty.DynamicPseudoType {
		return u, nil
	}
	rng := v.Range()
	u.NotNull = rng.DefinitelyNotNull()
	switch {
	case ty == cty.String:
		u.StringPrefix = rng.StringPrefix()
	case ty == cty.Number:
		if lo, inc := rng.NumberLowerBound(); lo.IsKnown() && !(lo.RawEquals(cty.NegativeInfinity) && !inc) {
			u.NumberLower = &bound{Value: encodeNumber(lo), Inclusive: inc}
		}
		if hi, inc := rng.NumberUpperBound(); hi.IsKnown() && !(hi.RawEquals(cty.PositiveInfinity) && !inc) {
			u.NumberUpper = &bound{Value: encodeNumber(hi), Inclusive: inc}
		}
	case ty.IsCollectionType():
		u.LengthLower = rng.LengthLowerBound()
		if hi := rng.LengthUpperBound(); hi != math.MaxInt {
			u.LengthUpper = &hi
		}
	}
	return u, nil
}

func (u *unknownJSON) value(ty cty.Type) (cty.Value, error) {
	v := cty.UnknownVal(ty)
	if ty == cty.DynamicPseudoType {
		return v, nil
	}
	b := v.Refine()
	if u.NotNull {
		b = b.NotNull()
	}
	if u.StringPrefix != "" {
		if ty != cty.String {
			return cty.NilVal, errors.New("string prefix on a value that is not a string")
		}
		b = b.StringPrefixFull(u.StringPrefix)
	}
	if u.NumberLower != nil || u.NumberUpper != nil {
		if ty != cty.Number {
			return cty.NilVal, errors.New("number bounds on a value that is not a number")
		}
		if u.NumberLower != nil {
			lo, err := decodeNumber(u.NumberLower.Value)
			if err != nil {
				return cty.NilVal, err
			}
			b = b.NumberRangeLowerBound(lo, u.NumberLower.Inclusive)
		}
		if u.NumberUpper != nil {
			hi, err := decodeNumber(u.NumberUpper.Value)
			if err != nil {
				return cty.NilVal, err
			}
			b = b.NumberRangeUpperBound(hi, u.NumberUpper.Inclusive)
		}
	}
	if u.LengthLower != 0 || u.LengthUpper != nil {
		if !ty.IsCollectionType() {
			return cty.NilVal, errors.New("length bounds on a value that is not a collection")
		}
		if u.LengthLower != 0 {
			b = b.CollectionLengthLowerBound(u.LengthLower)
		}
		if u.LengthUpper != nil {
			b = b.CollectionLengthUpperBound(*u.LengthUpper)
		}
	}
	return b.NewValue(), nil
}

func (tv *typedValue) decode() (v cty.Value, err error) {
	if tv == nil {
		return cty.NilVal, nil
	}
	ty, err := ctyjson.UnmarshalType(tv.Type)
	if err != nil {
		return cty.NilVal, fmt.Errorf("decode type: %w", err)
	}
	d := &valueDecoder{unknown: map[string]*unknownJSON{}, sensitive: map[string]bool{}}
	for i := range tv.Unknown {
		d.unknown[pathKey(tv.Unknown[i].Path)] = &tv.Unknown[i]
	}
	for _, p := range tv.Sensitive {
		d.sensitive[pathKey(p)] = true
	}
	// Refinement builders panic on inconsistent input; a hand-edited file
	// must give an error, not a crash.
	defer func() {
		if r := recover(); r != nil {
			v, err = cty.NilVal, fmt.Errorf("inconsistent value: %v", r)
		}
	}()
	return d.decode(tv.Value, ty, nil)
}

type valueDecoder struct {
	unknown   map[string]*unknownJSON
	sensitive map[string]bool
}

func (d *valueDecoder) decode(j any, ty cty.Type, path []any) (cty.Value, error) {
	v, err := d.decodeUnmarked(j, ty, path)
	if err != nil {
		return cty.NilVal, err
	}
	if d.sensitive[pathKey(path)] {
		v = v.Mark(lang.SensitiveMark)
	}
	return v, nil
}

func (d *valueDecoder) decodeUnmarked(j any, ty cty.Type, path []any) (cty.Value, error) {
	if u, ok := d.unknown[pathKey(path)]; ok {
		return u.value(ty)
	}
	if j == nil {
		return cty.NullVal(ty), nil
	}
	at := func() string {
		if len(path) == 0 {
			return "the top level"
		}
		return pathString(path)
	}
	switch {
	case ty == cty.String:
		s, ok := j.(string)
		if !ok {
			return cty.NilVal, fmt.Errorf("at %s: expected a string", at())
		}
		return cty.StringVal(s), nil
	case ty == cty.Number:
		v, err := decodeNumber(j)
		if err != nil {
			return cty.NilVal, fmt.Errorf("at %s: %w", at(), err)
		}
		return v, nil
	case ty == cty.Bool:
		b, ok := j.(bool)
		if !ok {
			return cty.NilVal, fmt.Errorf("at %s: expected a bool", at())
		}
		return cty.BoolVal(b), nil
	case ty.IsListType(), ty.IsSetType(), ty.IsTupleType():
		arr, ok := j.([]any)
		if !ok {
			return cty.NilVal, fmt.Errorf("at %s: expected an array", at())
		}
		var elems []cty.Value
		for i, ej := range arr {
			var ety cty.Type
			switch {
			case ty.IsTupleType():
				if i >= len(ty.TupleElementTypes()) {
					return cty.NilVal, fmt.Errorf("at %s: too many tuple elements", at())
				}
				ety = ty.TupleElementTypes()[i]
			default:
				ety = ty.ElementType()
			}
			ev, err := d.decode(ej, ety, append(path, i))
			if err != nil {
				return cty.NilVal, err
			}
			elems = append(elems, ev)
		}
		switch {
		case ty.IsTupleType():
			if len(elems) != len(ty.TupleElementTypes()) {
				return cty.NilVal, fmt.Errorf("at %s: wrong number of tuple elements", at())
			}
			return cty.TupleVal(elems), nil
		case len(elems) == 0 && ty.IsListType():
			return cty.ListValEmpty(ty.ElementType()), nil
		case len(elems) == 0:
			return cty.SetValEmpty(ty.ElementType()), nil
		case ty.IsListType():
			return cty.ListVal(elems), nil
		default:
			return cty.SetVal(elems), nil
		}
	case ty.IsMapType():
		obj, ok := j.(map[string]any)
		if !ok {
			return cty.NilVal, fmt.Errorf("at %s: expected an object", at())
		}
		if len(obj) == 0 {
			return cty.MapValEmpty(ty.ElementType()), nil
		}
		elems := make(map[string]cty.Value, len(obj))
		for k, ej := range obj {
			ev, err := d.decode(ej, ty.ElementType(), append(path, k))
			if err != nil {
				return cty.NilVal, err
			}
			elems[k] = ev
		}
		return cty.MapVal(elems), nil
	case ty.IsObjectType():
		obj, ok := j.(map[string]any)
		if !ok {
			return cty.NilVal, fmt.Errorf("at %s: expected an object", at())
		}
		attrs := make(map[string]cty.Value, len(ty.AttributeTypes()))
		for name, aty := range ty.AttributeTypes() {
			av, err := d.decode(obj[name], aty, append(path, name))
			if err != nil {
				return cty.NilVal, err
			}
			attrs[name] = av
		}
		if len(attrs) == 0 {
			return cty.EmptyObjectVal, nil
		}
		return cty.ObjectVal(attrs), nil
	}
	return cty.NilVal, fmt.Errorf("at %s: cannot decode a value of type %s", at(), ty.FriendlyName())
}

func clonePath(p []any) []any {
	out := make([]any, len(p))
	copy(out, p)
	return out
}

// pathKey makes a positional path comparable whether its numbers came from
// the encoder (int) or from JSON (json.Number).
func pathKey(p []any) string {
	var b strings.Builder
	for _, s := range p {
		switch s := s.(type) {
		case string:
			b.WriteString("s")
			b.WriteString(fmt.Sprintf("%q", s))
		default:
			b.WriteString(fmt.Sprintf("i%v", s))
		}
	}
	return b.String()
}

func pathString(p []any) string {
	var b strings.Builder
	for _, s := range p {
		switch s := s.(type) {
		case string:
			fmt.Fprintf(&b, "[%q]", s)
		default:
			fmt.Fprintf(&b, "[%v]", s)
		}
	}
	return b.String()
}

// encodePaths writes cty paths for the saved plan: each step is
// {"attr": NAME} or {"key": STRING}, {"index": NUMBER}, or {"elem": VALUE}
// for a set element (a typed value).
func encodePaths(paths []cty.Path) ([][]any, error) {
	var out [][]any
	for _, p := range paths {
		steps := make([]any, 0, len(p))
		for _, s := range p {
			switch s := s.(type) {
			case cty.GetAttrStep:
				steps = append(steps, map[string]any{"attr": s.Name})
			case cty.IndexStep:
				switch {
				case s.Key.Type() == cty.String && s.Key.IsKnown() && !s.Key.IsNull() && !s.Key.IsMarked():
					steps = append(steps, map[string]any{"key": s.Key.AsString()})
				case s.Key.Type() == cty.Number && s.Key.IsKnown() && !s.Key.IsNull() && !s.Key.IsMarked():
					steps = append(steps, map[string]any{"index": encodeNumber(s.Key)})
				default:
					tv, err := encodeTyped(s.Key)
					if err != nil {
						return nil, err
					}
					steps = append(steps, map[string]any{"elem": tv})
				}
			default:
				return nil, fmt.Errorf("cannot encode path step %#v", s)
			}
		}
		out = append(out, steps)
	}
	return out, nil
}

func decodePaths(in [][]any) ([]cty.Path, error) {
	var out []cty.Path
	for _, steps := range in {
		p := make(cty.Path, 0, len(steps))
		for _, raw := range steps {
			m, ok := raw.(map[string]any)
			if !ok || len(m) != 1 {
				return nil, fmt.Errorf("bad path step %v", raw)
			}
			switch {
			case m["attr"] != nil:
				name, ok := m["attr"].(string)
				if !ok {
					return nil, fmt.Errorf("bad attribute step %v", raw)
				}
				p = append(p, cty.GetAttrStep{Name: name})
			case m["key"] != nil:
				k, ok := m["key"].(string)
				if !ok {
					return nil, fmt.Errorf("bad key step %v", raw)
				}
				p = append(p, cty.IndexStep{Key: cty.StringVal(k)})
			case m["index"] != nil:
				n, err := decodeNumber(m["index"])
				if err != nil {
					return nil, fmt.Errorf("bad index step: %w", err)
				}
				p = append(p, cty.IndexStep{Key: n})
			case m["elem"] != nil:
				buf, err := json.Marshal(m["elem"])
				if err != nil {
					return nil, err
				}
				var tv typedValue
				dec := json.NewDecoder(bytes.NewReader(buf))
				dec.UseNumber()
				if err := dec.Decode(&tv); err != nil {
					return nil, fmt.Errorf("bad element step: %w", err)
				}
				k, err := tv.decode()
				if err != nil {
					return nil, fmt.Errorf("bad element step: %w", err)
				}
				p = append(p, cty.IndexStep{Key: k})
			default:
				return nil, fmt.Errorf("bad path step %v", raw)
			}
		}
		out = append(out, p)
	}
	return out, nil
}

// JSONView is the document `sdform plan -json` and `sdform show -json`
// print, described in docs/json-format.md. It is derived from a Plan
// field by field; nothing is re-planned. Diagnostics are filled by the
// caller (internal/view renders them), since a Plan does not carry them.
type JSONView struct {
	FormatVersion string `json:"format_version"`
	SdformVersion string `json:"sdform_version"`
	// Errored says that planning failed: the changes are only what could
	// be planned, and the plan cannot be applied (since 1.1).
	Errored         bool                        `json:"errored"`
	ResourceChanges []JSONResourceChange        `json:"resource_changes"`
	ResourceDrift   []JSONResourceChange        `json:"resource_drift"`
	Checks          []JSONCheck                 `json:"checks"`
	OutputChanges   map[string]JSONOutputChange `json:"output_changes"`
	Summary         map[string]int              `json:"summary"`
	Diagnostics     []json.RawMessage           `json:"diagnostics"`
}

// JSONResourceChange is one entry of resource_changes or resource_drift.
type JSONResourceChange struct {
	Address         string   `json:"address"`
	Mode            string   `json:"mode,omitempty"`
	Type            string   `json:"type,omitempty"`
	Name            string   `json:"name,omitempty"`
	Provider        string   `json:"provider,omitempty"`
	Action          string   `json:"action"`
	Reason          string   `json:"reason,omitempty"`
	ReplacePaths    [][]any  `json:"replace_paths,omitempty"`
	Before          any      `json:"before"`
	After           any      `json:"after"`
	AfterUnknown    any      `json:"after_unknown"`
	BeforeSensitive any      `json:"before_sensitive"`
	AfterSensitive  any      `json:"after_sensitive"`
	Details         []string `json:"details,omitempty"`
	Verb            string   `json:"verb,omitempty"`
	Test            bool     `json:"test,omitempty"`
}

// JSONCheck is one check block's result at plan time.
type JSONCheck struct {
	Address  string   `json:"address"`
	Status   string   `json:"status"`
	Messages []string `json:"messages,omitempty"`
	Warning  bool     `json:"warning,omitempty"`
}

// JSONOutputChange is one output's change.
type JSONOutputChange struct {
	Action          string `json:"action"`
	Before          any    `json:"before"`
	After           any    `json:"after"`
	AfterUnknown    any    `json:"after_unknown"`
	Sensitive       bool   `json:"sensitive"`
	BeforeSensitive any    `json:"before_sensitive"`
	AfterSensitive  any    `json:"after_sensitive"`
}

// SensitiveString replaces every sensitive value in the JSON view, so that
// a reader never needs to consult the markers to stay safe.
const SensitiveString = "(sensitive value)"

// MarshalJSONView returns the `plan -json` document for p, without
// diagnostics; see NewJSONView to add them.
func MarshalJSONView(p *Plan) ([]byte, error) {
	v, err := NewJSONView(p)
	if err != nil {
		return nil, err
	}
	return json.Marshal(v)
}

// NewJSONView derives the `plan -json` document from p.
func NewJSONView(p *Plan) (*JSONView, error) {
	out := &JSONView{
		FormatVersion:   FormatVersion,
		SdformVersion:   p.SdformVersion,
		ResourceChanges: []JSONResourceChange{},
		ResourceDrift:   []JSONResourceChange{},
		Checks:          []JSONCheck{},
		OutputChanges:   map[string]JSONOutputChange{},
		Summary:         Summarize(p).Map(),
		Diagnostics:     []json.RawMessage{},
	}
	for _, c := range p.Changes {
		rc := JSONResourceChange{
			Address: c.Address, Mode: c.Mode, Type: c.Type, Name: c.Name, Provider: c.Provider,
			Action: ActionString(c.Action), Reason: c.Reason, Details: c.Details, Verb: changeVerb(c), Test: c.Test,
		}
		for _, rp := range c.ReplacePaths {
			rc.ReplacePaths = append(rc.ReplacePaths, viewPath(rp))
		}
		var err error
		if rc.Before, _, rc.BeforeSensitive, err = viewValue(c.Before, c.SensitivePaths); err != nil {
			return nil, fmt.Errorf("render %s: %w", c.Address, err)
		}
		if rc.After, rc.AfterUnknown, rc.AfterSensitive, err = viewValue(c.After, c.SensitivePaths); err != nil {
			return nil, fmt.Errorf("render %s: %w", c.Address, err)
		}
		out.ResourceChanges = append(out.ResourceChanges, rc)
	}
	for _, d := range p.Drift {
		action := Update
		if d.After == cty.NilVal || d.After.IsNull() {
			action = Delete
		}
		rc := JSONResourceChange{Address: d.Address, Action: ActionString(action), Reason: d.Reason}
		rc.Mode, rc.Type, rc.Name = SplitAddress(d.Address)
		var err error
		if rc.Before, _, rc.BeforeSensitive, err = viewValue(d.Before, d.SensitivePaths); err != nil {
			return nil, fmt.Errorf("render drift %s: %w", d.Address, err)
		}
		if rc.After, rc.AfterUnknown, rc.AfterSensitive, err = viewValue(d.After, d.SensitivePaths); err != nil {
			return nil, fmt.Errorf("render drift %s: %w", d.Address, err)
		}
		out.ResourceDrift = append(out.ResourceDrift, rc)
	}
	for _, c := range p.Checks {
		out.Checks = append(out.Checks, JSONCheck{Address: c.Address, Status: string(c.Status), Messages: c.Messages, Warning: c.Warning})
	}
	for _, o := range p.Outputs {
		oc := JSONOutputChange{Action: ActionString(OutputAction(o)), Sensitive: o.Sensitive}
		var sens []cty.Path
		if o.Sensitive {
			sens = []cty.Path{nil}
		}
		var err error
		if oc.Before, _, oc.BeforeSensitive, err = viewValue(o.Before, sens); err != nil {
			return nil, fmt.Errorf("render output %s: %w", o.Name, err)
		}
		if oc.After, oc.AfterUnknown, oc.AfterSensitive, err = viewValue(o.After, sens); err != nil {
			return nil, fmt.Errorf("render output %s: %w", o.Name, err)
		}
		out.OutputChanges[o.Name] = oc
	}
	return out, nil
}

// OutputAction is what a plan does to an output: create when it had no
// value, delete when it will have none, update when the values differ
// (an unknown new value counts as a difference), no-op otherwise.
func OutputAction(o *Output) Action {
	before := o.Before != cty.NilVal && !o.Before.IsNull()
	after := o.After != cty.NilVal && (!o.After.IsKnown() || !o.After.IsNull())
	switch {
	case !before && !after:
		return NoOp
	case !before:
		return Create
	case !after:
		return Delete
	}
	b, _ := o.Before.UnmarkDeep()
	a, _ := o.After.UnmarkDeep()
	if !a.IsWhollyKnown() || !b.RawEquals(a) {
		return Update
	}
	return NoOp
}

// SplitAddress splits "TYPE.NAME" or "data.TYPE.NAME" into its mode
// ("managed" or "data", as Change.Mode), type and name, for values such as
// Drift that carry only the address.
func SplitAddress(addr string) (mode, typ, name string) {
	mode = "managed"
	rest := addr
	if r, ok := strings.CutPrefix(addr, "data."); ok {
		mode, rest = "data", r
	}
	typ, name, _ = strings.Cut(rest, ".")
	return mode, typ, name
}

// viewPath writes a cty path as the JSON view's list of steps: attribute
// names and string keys as strings, list indexes as numbers.
func viewPath(p cty.Path) []any {
	out := []any{}
	for _, s := range p {
		switch s := s.(type) {
		case cty.GetAttrStep:
			out = append(out, s.Name)
		case cty.IndexStep:
			switch {
			case s.Key.Type() == cty.String && s.Key.IsKnown() && !s.Key.IsNull():
				out = append(out, s.Key.AsString())
			case s.Key.Type() == cty.Number && s.Key.IsKnown() && !s.Key.IsNull():
				out = append(out, encodeNumber(s.Key))
			default:
				// A set element has no name a reader could use; the path
				// stops at the set.
				return out
			}
		}
	}
	return out
}

// JSONValue renders v as plain JSON the way the JSON view does: unknown
// values as null and sensitive ones (marked) as SensitiveString. It is for
// documents beside the plan view, such as `show -json` of the state.
func JSONValue(v cty.Value) (any, error) {
	val, _, _, err := viewValue(v, nil)
	return val, err
}

// JSONValueSensitive is JSONValue that also hides the values at
// sensitivePaths (a state resource's recorded sensitive paths), and
// returns the marker tree of what it hid, as before_sensitive is written.
func JSONValueSensitive(v cty.Value, sensitivePaths []cty.Path) (val, sensitive any, err error) {
	val, _, sensitive, err = viewValue(v, sensitivePaths)
	return val, sensitive, err
}

// viewValue renders v as plain JSON for the view: unknowns become null
// and are flagged in the unknown tree, sensitive values (marked, or at one
// of sensitivePaths) become SensitiveString and are flagged in the
// sensitive tree. A tree is true for a whole value, an object of subtrees
// for objects and maps (only keys that have something to flag), an array
// for lists, sets and tuples, and false where nothing is flagged.
func viewValue(v cty.Value, sensitivePaths []cty.Path) (val, unknown, sensitive any, err error) {
	if v == cty.NilVal {
		return nil, false, false, nil
	}
	val, unknown, sensitive, err = viewWalk(v, nil, sensitivePaths)
	return val, unknown, sensitive, err
}

func viewWalk(v cty.Value, path cty.Path, sensitivePaths []cty.Path) (val, unknown, sensitive any, err error) {
	isSensitive := false
	if v.IsMarked() {
		var marks cty.ValueMarks
		v, marks = v.Unmark()
		isSensitive = marks.Has(lang.SensitiveMark)
	}
	for _, sp := range sensitivePaths {
		if sp.Equals(path) {
			isSensitive = true
		}
	}
	if isSensitive {
		// Whether a sensitive value is known is itself not shown: it would
		// tell a reader when the secret changes.
		if v.IsNull() && v.IsKnown() {
			return nil, false, false, nil
		}
		return SensitiveString, false, true, nil
	}
	if !v.IsKnown() {
		return nil, true, false, nil
	}
	if v.IsNull() {
		return nil, false, false, nil
	}
	ty := v.Type()
	switch {
	case ty == cty.String:
		return v.AsString(), false, false, nil
	case ty == cty.Number:
		return encodeNumber(v), false, false, nil
	case ty == cty.Bool:
		return v.True(), false, false, nil
	case ty.IsListType(), ty.IsSetType(), ty.IsTupleType():
		vals, unks, senss := []any{}, []any{}, []any{}
		anyUnk, anySens := false, false
		i := int64(0)
		for it := v.ElementIterator(); it.Next(); i++ {
			k, ev := it.Element()
			step := cty.IndexStep{Key: cty.NumberIntVal(i)}
			if ty.IsSetType() {
				step = cty.IndexStep{Key: k}
			}
			ej, eu, es, err := viewWalk(ev, append(path, step), sensitivePaths)
			if err != nil {
				return nil, nil, nil, err
			}
			vals, unks, senss = append(vals, ej), append(unks, eu), append(senss, es)
			anyUnk = anyUnk || eu != false
			anySens = anySens || es != false
		}
		var u, s any = false, false
		if anyUnk {
			u = unks
		}
		if anySens {
			s = senss
		}
		return vals, u, s, nil
	case ty.IsMapType(), ty.IsObjectType():
		vals, unks, senss := map[string]any{}, map[string]any{}, map[string]any{}
		visit := func(name string, ev cty.Value, step cty.PathStep) error {
			ej, eu, es, err := viewWalk(ev, append(path, step), sensitivePaths)
			if err != nil {
				return err
			}
			vals[name] = ej
			if eu != false {
				unks[name] = eu
			}
			if es != false {
				senss[name] = es
			}
			return nil
		}
		if ty.IsMapType() {
			for it := v.ElementIterator(); it.Next(); {
				k, ev := it.Element()
				if err := visit(k.AsString(), ev, cty.IndexStep{Key: k}); err != nil {
					return nil, nil, nil, err
				}
			}
		} else {
			names := make([]string, 0, len(ty.AttributeTypes()))
			for name := range ty.AttributeTypes() {
				names = append(names, name)
			}
			sort.Strings(names)
			for _, name := range names {
				if err := visit(name, v.GetAttr(name), cty.GetAttrStep{Name: name}); err != nil {
					return nil, nil, nil, err
				}
			}
		}
		var u, s any = false, false
		if len(unks) > 0 {
			u = unks
		}
		if len(senss) > 0 {
			s = senss
		}
		return vals, u, s, nil
	}
	return nil, nil, nil, fmt.Errorf("cannot render a value of type %s", ty.FriendlyName())
}

// changeVerb is the verb c is done under (see ActionVerb); none for what
// does no work of the type's kind: a no-op, a delete, a forget or a read.
func changeVerb(c *Change) string {
	switch c.Action {
	case Create, Update, Replace:
		return ActionVerb(c.Action, c.Verb)
	}
	return ""
}

// ActionVerb is the verb a change is worded and counted under: its type's
// verb (Change.Verb), except none for an in-place update of a "build" type.
// Providers plan a rebuild as a replace, so such an update builds nothing
// (it moves tags, promotes, records): "will be updated in place", "1 to
// update".
func ActionVerb(a Action, verb string) string {
	if a == Update && verb == "build" {
		return ""
	}
	return verb
}

// Summary counts a plan's changes the way its last line reads: changes of
// types with a verb (build, download, run) count under the verb (see
// ActionVerb), the rest under their action.
type Summary struct {
	// ByVerb counts creates, updates and replaces of types with a Verb.
	ByVerb    map[string]int
	Create    int
	Update    int
	Replace   int
	Delete    int
	Forget    int
	Read      int
	Unchanged int
}

// Summarize counts p's changes.
func Summarize(p *Plan) Summary {
	s := Summary{ByVerb: map[string]int{}}
	for _, c := range p.Changes {
		if c.Verb != "" && c.Verb != "create" {
			s.ByVerb[c.Verb] += 0 // a verb the configuration uses has its key, at 0 if nothing does it
		}
		switch c.Action {
		case Create, Update, Replace:
			if v := ActionVerb(c.Action, c.Verb); v != "" && v != "create" {
				s.ByVerb[v]++
				continue
			}
			switch c.Action {
			case Create:
				s.Create++
			case Update:
				s.Update++
			default:
				s.Replace++
			}
		case Delete:
			s.Delete++
		case Forget:
			s.Forget++
		case Read:
			s.Read++
		case NoOp:
			s.Unchanged++
		}
	}
	return s
}

// Changes is the number of changes that apply would carry out (reads of
// data sources deferred to apply are not counted: they change nothing).
func (s Summary) Changes() int {
	n := s.Create + s.Update + s.Replace + s.Delete + s.Forget
	for _, c := range s.ByVerb {
		n += c
	}
	return n
}

// Map is the summary as the JSON view writes it: every action key always
// present, verbs only when used.
func (s Summary) Map() map[string]int {
	m := map[string]int{
		"create": s.Create, "update": s.Update, "replace": s.Replace,
		"delete": s.Delete, "forget": s.Forget, "read": s.Read, "unchanged": s.Unchanged,
	}
	for verb, n := range s.ByVerb {
		m[verb] += n
	}
	return m
}
