package state

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"reflect"
	"slices"
	"strings"
	"time"

	"github.com/zclconf/go-cty/cty"
	ctyjson "github.com/zclconf/go-cty/cty/json"
)

// ErrCorrupt is wrapped by the error Load returns for a file that is not a
// valid state file.
var ErrCorrupt = errors.New("state file is corrupt")

// ErrNewerVersion is wrapped by the error Load returns for a file written in
// a newer format than this sdform reads.
var ErrNewerVersion = errors.New("state file was written by a newer sdform")

// The JSON shapes. Field order here is the order in the file.
type fileJSON struct {
	Version       int                    `json:"version"`
	Serial        uint64                 `json:"serial"`
	Lineage       string                 `json:"lineage"`
	SdformVersion string                 `json:"sdform_version"`
	Resources     []resourceJSON         `json:"resources"`
	Checks        []checkJSON            `json:"checks"`
	Outputs       map[string]*outputJSON `json:"outputs"`
}

type resourceJSON struct {
	Address      string          `json:"address"`
	Mode         string          `json:"mode"`
	Type         string          `json:"type"`
	Name         string          `json:"name"`
	Provider     string          `json:"provider"`
	Attributes   json.RawMessage `json:"attributes"`
	Fingerprint  string          `json:"fingerprint"`
	Private      []byte          `json:"private,omitempty"`
	Dependencies []string        `json:"dependencies"`
	// SensitivePaths is omitted when not recorded; [] records none.
	SensitivePaths *[]pathJSON `json:"sensitive_paths,omitempty"`
	CreatedAt      time.Time   `json:"created_at"`
	UpdatedAt      time.Time   `json:"updated_at"`
}

type checkJSON struct {
	Address   string    `json:"address"`
	Status    string    `json:"status"`
	Messages  []string  `json:"messages"`
	UpdatedAt time.Time `json:"updated_at"`
}

// outputJSON is go-cty's typed form ({"value", "type"}) plus the flag.
type outputJSON struct {
	Value     json.RawMessage `json:"value"`
	Type      json.RawMessage `json:"type"`
	Sensitive bool            `json:"sensitive"`
}

// marshal renders f as the canonical, indented file content: resources and
// checks sorted by address, so that two saves of the same state are
// byte-identical and diffs of the file are readable.
func marshal(f *File) ([]byte, error) {
	out := fileJSON{
		Version:       f.Version,
		Serial:        f.Serial,
		Lineage:       f.Lineage,
		SdformVersion: f.SdformVersion,
		Resources:     make([]resourceJSON, 0, len(f.Resources)),
		Checks:        make([]checkJSON, 0, len(f.Checks)),
		Outputs:       make(map[string]*outputJSON, len(f.Outputs)),
	}
	if out.Version == 0 {
		out.Version = Version
	}
	seen := make(map[string]bool, len(f.Resources))
	for _, r := range f.Resources {
		if seen[r.Address] {
			return nil, fmt.Errorf("encode resource %s: address recorded twice", r.Address)
		}
		seen[r.Address] = true
		attrs, err := marshalValue(r.Value)
		if err != nil {
			return nil, fmt.Errorf("encode resource %s attributes: %w", r.Address, err)
		}
		var sens *[]pathJSON
		if r.SensitivePaths != nil {
			ps, err := encodePaths(r.SensitivePaths)
			if err != nil {
				return nil, fmt.Errorf("encode resource %s sensitive paths: %w", r.Address, err)
			}
			sens = &ps
		}
		out.Resources = append(out.Resources, resourceJSON{
			Address:        r.Address,
			Mode:           r.Mode,
			Type:           r.Type,
			Name:           r.Name,
			Provider:       r.Provider,
			Attributes:     attrs,
			Fingerprint:    r.Fingerprint,
			Private:        r.Private,
			Dependencies:   sortedOrEmpty(r.Dependencies),
			SensitivePaths: sens,
			CreatedAt:      r.CreatedAt.UTC(),
			UpdatedAt:      r.UpdatedAt.UTC(),
		})
	}
	slices.SortFunc(out.Resources, func(a, b resourceJSON) int { return strings.Compare(a.Address, b.Address) })
	for _, c := range f.Checks {
		msgs := c.Messages
		if msgs == nil {
			msgs = []string{}
		}
		out.Checks = append(out.Checks, checkJSON{
			Address:   c.Address,
			Status:    c.Status,
			Messages:  msgs,
			UpdatedAt: c.UpdatedAt.UTC(),
		})
	}
	slices.SortStableFunc(out.Checks, func(a, b checkJSON) int { return strings.Compare(a.Address, b.Address) })
	for name, o := range f.Outputs {
		v := o.Value
		if v == cty.NilVal {
			v = cty.NullVal(cty.DynamicPseudoType)
		}
		if err := checkStorable(v); err != nil {
			return nil, fmt.Errorf("encode output %s: %w", name, err)
		}
		val, err := ctyjson.Marshal(v, v.Type())
		if err != nil {
			return nil, fmt.Errorf("encode output %s: %w", name, err)
		}
		ty, err := ctyjson.MarshalType(v.Type())
		if err != nil {
			return nil, fmt.Errorf("encode output %s type: %w", name, err)
		}
		out.Outputs[name] = &outputJSON{Value: val, Type: ty, Sensitive: o.Sensitive}
	}

	b, err := json.MarshalIndent(out, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("encode state: %w", err)
	}
	return append(b, '\n'), nil
}

// marshalValue writes v in go-cty's typed form, {"value": …, "type": …}.
func marshalValue(v cty.Value) (json.RawMessage, error) {
	if v == cty.NilVal {
		v = cty.NullVal(cty.DynamicPseudoType)
	}
	if err := checkStorable(v); err != nil {
		return nil, err
	}
	if v.Type() == cty.DynamicPseudoType {
		// A null of unknown type: ctyjson would write a bare null, which
		// the typed reader below could not tell from a missing field.
		return json.RawMessage(`{"value":null,"type":"dynamic"}`), nil
	}
	return ctyjson.Marshal(v, cty.DynamicPseudoType)
}

// checkStorable refuses values that must never reach the file: marked ones
// (a sensitive value the planner forgot to redact would be written in clear)
// and unknown ones (they have no JSON form).
func checkStorable(v cty.Value) error {
	if v.ContainsMarked() {
		return errors.New("value carries marks (a sensitive value not yet redacted); refusing to write it")
	}
	if !v.IsWhollyKnown() {
		return errors.New("value is not wholly known")
	}
	return nil
}

func newerError(v int) error {
	return fmt.Errorf("%w: it is in state format version %d and this sdform reads up to version %d; upgrade sdform", ErrNewerVersion, v, Version)
}

// describeJSONError turns encoding/json's errors into a sentence that points
// into the file.
func describeJSONError(data []byte, err error) string {
	var syn *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.As(err, &syn):
		line, col := lineCol(data, syn.Offset)
		return fmt.Sprintf("invalid JSON at line %d, column %d (byte offset %d): %v", line, col, syn.Offset, syn)
	case errors.As(err, &typ):
		if typ.Field == "" {
			return fmt.Sprintf("the file holds a JSON %s, not an object", typ.Value)
		}
		line, col := lineCol(data, typ.Offset)
		return fmt.Sprintf("%s at line %d, column %d (byte offset %d) is a JSON %s, want %s", typ.Field, line, col, typ.Offset, typ.Value, kindWord(typ.Type.Kind()))
	case errors.Is(err, io.ErrUnexpectedEOF):
		return fmt.Sprintf("the JSON ends early (after %d bytes): the file is truncated", len(data))
	}
	return err.Error()
}

// kindWord names what a Go field of kind k takes, in JSON terms.
func kindWord(k reflect.Kind) string {
	switch k {
	case reflect.String:
		return "a string"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return "a whole number"
	case reflect.Float32, reflect.Float64:
		return "a number"
	case reflect.Bool:
		return "true or false"
	case reflect.Slice, reflect.Array:
		return "an array"
	default:
		return "an object"
	}
}

// describeValueError adds the attribute path that go-cty's JSON decoder
// records to its message.
func describeValueError(err error) string {
	var pe cty.PathError
	if !errors.As(err, &pe) || len(pe.Path) == 0 {
		return err.Error()
	}
	var b strings.Builder
	for _, step := range pe.Path {
		switch s := step.(type) {
		case cty.GetAttrStep:
			b.WriteString("." + s.Name)
		case cty.IndexStep:
			if s.Key.Type() == cty.String {
				fmt.Fprintf(&b, "[%q]", s.Key.AsString())
			} else if s.Key.Type() == cty.Number {
				fmt.Fprintf(&b, "[%s]", s.Key.AsBigFloat().Text('f', -1))
			} else {
				b.WriteString("[…]")
			}
		}
	}
	return fmt.Sprintf("%s: %v", b.String(), err)
}

// lineCol converts a byte offset as encoding/json reports it (the number of
// bytes read, so the offending byte is the last one read) into a 1-based
// line and column.
func lineCol(data []byte, off int64) (line, col int) {
	off = min(max(off-1, 0), int64(len(data)))
	prefix := data[:off]
	line = 1 + bytes.Count(prefix, []byte{'\n'})
	col = int(off) - bytes.LastIndexByte(prefix, '\n')
	return line, col
}

// prefixColon joins a path-first message ("…size: a number is required")
// or a plain one to what precedes it.
func prefixColon(msg string) string {
	if strings.HasPrefix(msg, ".") || strings.HasPrefix(msg, "[") {
		return msg
	}
	return ": " + msg
}

func sortedOrEmpty(s []string) []string {
	if len(s) == 0 {
		return []string{}
	}
	s = slices.Clone(s)
	slices.Sort(s)
	return s
}
