package state

import (
	"bytes"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"time"

	"github.com/zclconf/go-cty/cty"
	ctyjson "github.com/zclconf/go-cty/cty/json"
)

// The shapes the file is decoded into. Values arrive as generic JSON trees
// (numbers kept exact as json.Number) in the same pass that reads the rest
// of the file, and are then converted with their recorded type: reading the
// file once is several times faster than handing each value's raw bytes to
// go-cty's token-by-token decoder, and Load runs on every plan.
type fileIn struct {
	Version       int                  `json:"version"`
	Serial        uint64               `json:"serial"`
	Lineage       string               `json:"lineage"`
	SdformVersion string               `json:"sdform_version"`
	Resources     []resourceIn         `json:"resources"`
	Checks        []checkJSON          `json:"checks"`
	Outputs       map[string]*outputIn `json:"outputs"`
}

type resourceIn struct {
	Address      string   `json:"address"`
	Mode         string   `json:"mode"`
	Type         string   `json:"type"`
	Name         string   `json:"name"`
	Provider     string   `json:"provider"`
	Attributes   *typedIn `json:"attributes"`
	Fingerprint  string   `json:"fingerprint"`
	Private      []byte   `json:"private"`
	Dependencies []string `json:"dependencies"`
	// SensitivePaths is nil when the field is absent.
	SensitivePaths []pathJSON `json:"sensitive_paths"`
	CreatedAt      time.Time  `json:"created_at"`
	UpdatedAt      time.Time  `json:"updated_at"`
}

// typedIn is go-cty's typed form, {"value": …, "type": …}.
type typedIn struct {
	Value any             `json:"value"`
	Type  json.RawMessage `json:"type"`
}

type outputIn struct {
	Value     any             `json:"value"`
	Type      json.RawMessage `json:"type"`
	Sensitive bool            `json:"sensitive"`
}

// unmarshal decodes and validates file content. Every error wraps
// ErrCorrupt or ErrNewerVersion.
func unmarshal(data []byte) (*File, error) {
	var in fileIn
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	// Unknown fields are refused rather than dropped: a field this version
	// does not know would be lost by the next Save.
	dec.DisallowUnknownFields()
	err := dec.Decode(&in)
	if err == nil && dec.More() {
		_, err = dec.Token() // a syntax error naming what follows the object
		if err == nil {
			err = fmt.Errorf("unexpected content after the JSON object (byte offset %d)", dec.InputOffset())
		}
	}
	if err != nil {
		// A newer format may not decode as ours; "written by a newer
		// sdform" is then the message its user needs.
		var head struct {
			Version int `json:"version"`
		}
		if json.Unmarshal(data, &head) == nil && head.Version > Version {
			return nil, newerError(head.Version)
		}
		return nil, fmt.Errorf("%w: %s", ErrCorrupt, describeJSONError(data, err))
	}
	switch {
	case in.Version > Version:
		return nil, newerError(in.Version)
	case in.Version < 1:
		return nil, fmt.Errorf(`%w: it has no "version" field (or version %d, which does not exist)`, ErrCorrupt, in.Version)
	}
	if in.Lineage == "" {
		return nil, fmt.Errorf(`%w: it has no "lineage"`, ErrCorrupt)
	}

	f := &File{
		Version:       in.Version,
		Serial:        in.Serial,
		Lineage:       in.Lineage,
		SdformVersion: in.SdformVersion,
		Outputs:       make(map[string]*Output, len(in.Outputs)),
	}
	vd := valueDecoder{types: map[string]cty.Type{}}
	seen := make(map[string]bool, len(in.Resources))
	for i, r := range in.Resources {
		if r.Address == "" {
			return nil, fmt.Errorf(`%w: resources[%d] has no "address"`, ErrCorrupt, i)
		}
		if seen[r.Address] {
			return nil, fmt.Errorf("%w: resource %s is recorded twice", ErrCorrupt, r.Address)
		}
		seen[r.Address] = true
		if r.Mode != ModeManaged && r.Mode != ModeData {
			return nil, fmt.Errorf(`%w: resource %s has mode %q; want "managed" or "data"`, ErrCorrupt, r.Address, r.Mode)
		}
		var v cty.Value
		if r.Attributes == nil {
			v = cty.NullVal(cty.DynamicPseudoType)
		} else if v, err = vd.decode(r.Attributes.Value, r.Attributes.Type); err != nil {
			return nil, fmt.Errorf("%w: resource %s attributes%s", ErrCorrupt, r.Address, prefixColon(describeValueError(err)))
		}
		sens, err := decodePaths(r.SensitivePaths)
		if err != nil {
			return nil, fmt.Errorf("%w: resource %s sensitive_paths: %v", ErrCorrupt, r.Address, err)
		}
		f.Resources = append(f.Resources, &Resource{
			Address:        r.Address,
			Mode:           r.Mode,
			Type:           r.Type,
			Name:           r.Name,
			Provider:       r.Provider,
			Value:          v,
			Fingerprint:    r.Fingerprint,
			Private:        r.Private,
			Dependencies:   r.Dependencies,
			SensitivePaths: sens,
			CreatedAt:      r.CreatedAt,
			UpdatedAt:      r.UpdatedAt,
		})
	}
	for i, c := range in.Checks {
		if c.Address == "" {
			return nil, fmt.Errorf(`%w: checks[%d] has no "address"`, ErrCorrupt, i)
		}
		f.Checks = append(f.Checks, &Check{Address: c.Address, Status: c.Status, Messages: c.Messages, UpdatedAt: c.UpdatedAt})
	}
	for name, o := range in.Outputs {
		if o == nil {
			return nil, fmt.Errorf("%w: output %s is null", ErrCorrupt, name)
		}
		v, err := vd.decode(o.Value, o.Type)
		if err != nil {
			return nil, fmt.Errorf("%w: output %s%s", ErrCorrupt, name, prefixColon(describeValueError(err)))
		}
		f.Outputs[name] = &Output{Value: v, Sensitive: o.Sensitive}
	}
	return f, nil
}

// maxBinaryExponent bounds the numbers a state file may hold: 2^±4000 is
// about 10^±1200.
const maxBinaryExponent = 4000

// valueDecoder turns typed JSON values into cty values. It caches parsed
// types, since most resources of one type share theirs.
type valueDecoder struct {
	types map[string]cty.Type
}

func (d *valueDecoder) decode(value any, rawType json.RawMessage) (cty.Value, error) {
	if len(rawType) == 0 {
		return cty.NilVal, fmt.Errorf(`typed value has no "type"`)
	}
	ty, ok := d.types[string(rawType)]
	if !ok {
		var err error
		if ty, err = ctyjson.UnmarshalType(rawType); err != nil {
			return cty.NilVal, fmt.Errorf("type: %w", err)
		}
		d.types[string(rawType)] = ty
	}
	return d.fromJSON(value, ty, nil)
}

// fromJSON converts j, as encoding/json decoded it into an interface value
// with UseNumber, to a value of type ty. It accepts exactly what
// ctyjson.Marshal writes for ty.
func (d *valueDecoder) fromJSON(j any, ty cty.Type, path cty.Path) (cty.Value, error) {
	if j == nil {
		return cty.NullVal(ty), nil
	}
	switch {
	case ty == cty.String:
		s, ok := j.(string)
		if !ok {
			return cty.NilVal, path.NewErrorf("a string is required")
		}
		return cty.StringVal(s), nil
	case ty == cty.Number:
		n, ok := j.(json.Number)
		if !ok {
			return cty.NilVal, path.NewErrorf("a number is required")
		}
		v, err := cty.ParseNumberVal(string(n))
		if err != nil {
			return cty.NilVal, path.NewErrorf("a number is required: %s", err)
		}
		// Written back in plain decimal, 1e100000000 would take 100 MB
		// and as long to format: refuse magnitudes no real state holds.
		if exp := v.AsBigFloat().MantExp(nil); exp > maxBinaryExponent || exp < -maxBinaryExponent {
			return cty.NilVal, path.NewErrorf("number %.40s is out of the range sdform stores (about 1e±1200)", n)
		}
		return v, nil
	case ty == cty.Bool:
		b, ok := j.(bool)
		if !ok {
			return cty.NilVal, path.NewErrorf("true or false is required")
		}
		return cty.BoolVal(b), nil
	case ty.IsListType(), ty.IsSetType(), ty.IsTupleType():
		arr, ok := j.([]any)
		if !ok {
			return cty.NilVal, path.NewErrorf("an array is required")
		}
		return d.sequence(arr, ty, path)
	case ty.IsMapType():
		obj, ok := j.(map[string]any)
		if !ok {
			return cty.NilVal, path.NewErrorf("an object is required")
		}
		ety := ty.ElementType()
		if len(obj) == 0 {
			return cty.MapValEmpty(ety), nil
		}
		vals := make(map[string]cty.Value, len(obj))
		for k, ej := range obj {
			v, err := d.fromJSON(ej, ety, append(path, cty.IndexStep{Key: cty.StringVal(k)}))
			if err != nil {
				return cty.NilVal, err
			}
			vals[k] = v
		}
		if err := sameTypes(slices.Collect(maps.Values(vals)), path); err != nil {
			return cty.NilVal, err
		}
		return cty.MapVal(vals), nil
	case ty.IsObjectType():
		obj, ok := j.(map[string]any)
		if !ok {
			return cty.NilVal, path.NewErrorf("an object is required")
		}
		atys := ty.AttributeTypes()
		for k := range obj {
			if _, ok := atys[k]; !ok {
				return cty.NilVal, path.NewErrorf("unsupported attribute %q", k)
			}
		}
		if len(atys) == 0 {
			return cty.EmptyObjectVal, nil
		}
		vals := make(map[string]cty.Value, len(atys))
		for k, aty := range atys {
			v, err := d.fromJSON(obj[k], aty, append(path, cty.GetAttrStep{Name: k}))
			if err != nil {
				return cty.NilVal, err
			}
			vals[k] = v
		}
		return cty.ObjectVal(vals), nil
	case ty == cty.DynamicPseudoType:
		obj, ok := j.(map[string]any)
		if !ok {
			return cty.NilVal, path.NewErrorf(`a typed value {"value", "type"} is required`)
		}
		rawType, err := json.Marshal(obj["type"])
		if err != nil || obj["type"] == nil {
			return cty.NilVal, path.NewErrorf(`a typed value {"value", "type"} is required`)
		}
		inner, ok := d.types[string(rawType)]
		if !ok {
			if inner, err = ctyjson.UnmarshalType(rawType); err != nil {
				return cty.NilVal, path.NewErrorf("type: %s", err)
			}
		}
		if inner == cty.DynamicPseudoType {
			if obj["value"] != nil {
				return cty.NilVal, path.NewErrorf(`a value of type "dynamic" must be null`)
			}
			return cty.NullVal(cty.DynamicPseudoType), nil
		}
		return d.fromJSON(obj["value"], inner, path)
	}
	return cty.NilVal, path.NewErrorf("values of type %s cannot be stored", ty.FriendlyName())
}

// sequence converts a JSON array to a list, set or tuple.
func (d *valueDecoder) sequence(arr []any, ty cty.Type, path cty.Path) (cty.Value, error) {
	var etys []cty.Type
	if ty.IsTupleType() {
		etys = ty.TupleElementTypes()
		if len(arr) != len(etys) {
			return cty.NilVal, path.NewErrorf("a tuple of %d elements is required, not %d", len(etys), len(arr))
		}
	}
	vals := make([]cty.Value, len(arr))
	for i, ej := range arr {
		var ety cty.Type
		if etys != nil {
			ety = etys[i]
		} else {
			ety = ty.ElementType()
		}
		v, err := d.fromJSON(ej, ety, append(path, cty.IndexStep{Key: cty.NumberIntVal(int64(i))}))
		if err != nil {
			return cty.NilVal, err
		}
		vals[i] = v
	}
	if !ty.IsTupleType() {
		if err := sameTypes(vals, path); err != nil {
			return cty.NilVal, err
		}
	}
	switch {
	case ty.IsTupleType():
		if len(vals) == 0 {
			return cty.EmptyTupleVal, nil
		}
		return cty.TupleVal(vals), nil
	case len(vals) == 0 && ty.IsListType():
		return cty.ListValEmpty(ty.ElementType()), nil
	case len(vals) == 0:
		return cty.SetValEmpty(ty.ElementType()), nil
	case ty.IsListType():
		return cty.ListVal(vals), nil
	default:
		return cty.SetVal(vals), nil
	}
}

// sameTypes checks that collection elements agree on a type, as cty requires
// (it panics otherwise). They can differ only where the element type has
// dynamic parts and a hand-edited file filled them differently.
func sameTypes(vals []cty.Value, path cty.Path) error {
	for _, v := range vals[min(1, len(vals)):] {
		if !v.Type().Equals(vals[0].Type()) {
			return path.NewErrorf("elements of a collection have differing types (%s and %s)", vals[0].Type().FriendlyName(), v.Type().FriendlyName())
		}
	}
	return nil
}
