package comfytest

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
)

// ComfyUI is Python: its JSON objects keep their key order, its ints and
// floats print differently ("6" and "6.0"), and its messages embed values
// through str() and repr(). These helpers reproduce that much, so the fake's
// answers read like the real server's.

// kv is one member of an ordered JSON object.
type kv struct {
	K string
	V any
}

// omap is a JSON object that keeps its key order.
type omap []kv

func (m omap) get(k string) (any, bool) {
	for _, e := range m {
		if e.K == k {
			return e.V, true
		}
	}
	return nil, false
}

func (m *omap) set(k string, v any) {
	for i, e := range *m {
		if e.K == k {
			(*m)[i].V = v
			return
		}
	}
	*m = append(*m, kv{k, v})
}

func (m omap) keys() []string {
	out := make([]string, len(m))
	for i, e := range m {
		out[i] = e.K
	}
	return out
}

// MarshalJSON writes the members in order.
func (m omap) MarshalJSON() ([]byte, error) {
	var b bytes.Buffer
	b.WriteByte('{')
	for i, e := range m {
		if i > 0 {
			b.WriteByte(',')
		}
		k, _ := json.Marshal(e.K)
		b.Write(k)
		b.WriteByte(':')
		v, err := json.Marshal(e.V)
		if err != nil {
			return nil, err
		}
		b.Write(v)
	}
	b.WriteByte('}')
	return b.Bytes(), nil
}

// pyFloat is a Python float: it marshals as Python's json.dumps writes it
// (6.0, not 6).
type pyFloat float64

// MarshalJSON implements json.Marshaler.
func (f pyFloat) MarshalJSON() ([]byte, error) {
	v := float64(f)
	switch {
	case math.IsNaN(v):
		return []byte("NaN"), nil
	case math.IsInf(v, 1):
		return []byte("Infinity"), nil
	case math.IsInf(v, -1):
		return []byte("-Infinity"), nil
	}
	return []byte(pyFloatRepr(v)), nil
}

// pyFloatRepr formats like Python's repr(float).
func pyFloatRepr(v float64) string {
	a := math.Abs(v)
	if a != 0 && (a < 1e-4 || a >= 1e16) {
		s := strconv.FormatFloat(v, 'e', -1, 64)
		// Go writes 1e-05 and 1e+16 as Python does.
		return s
	}
	s := strconv.FormatFloat(v, 'f', -1, 64)
	if !strings.ContainsAny(s, ".") {
		s += ".0"
	}
	return s
}

// decodeOrdered decodes JSON keeping key order: objects become omap,
// arrays []any, numbers json.Number.
func decodeOrdered(data []byte) (any, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	v, err := decodeValue(dec)
	if err != nil {
		return nil, err
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, errors.New("trailing data after JSON value")
	}
	return v, nil
}

func decodeValue(dec *json.Decoder) (any, error) {
	tok, err := dec.Token()
	if err != nil {
		return nil, err
	}
	switch t := tok.(type) {
	case json.Delim:
		switch t {
		case '{':
			m := omap{}
			for dec.More() {
				kt, err := dec.Token()
				if err != nil {
					return nil, err
				}
				k, ok := kt.(string)
				if !ok {
					return nil, fmt.Errorf("object key is %T", kt)
				}
				v, err := decodeValue(dec)
				if err != nil {
					return nil, err
				}
				m = append(m, kv{k, v})
			}
			if _, err := dec.Token(); err != nil {
				return nil, err
			}
			return m, nil
		case '[':
			a := []any{}
			for dec.More() {
				v, err := decodeValue(dec)
				if err != nil {
					return nil, err
				}
				a = append(a, v)
			}
			if _, err := dec.Token(); err != nil {
				return nil, err
			}
			return a, nil
		}
		return nil, fmt.Errorf("unexpected %v", t)
	default:
		return tok, nil
	}
}

// isPyInt reports whether a JSON number literal is what Python's json
// module reads as an int.
func isPyInt(n json.Number) bool { return !strings.ContainsAny(string(n), ".eE") }

// pyNumber turns a JSON literal into the value Python would hold: int64 for
// an int literal, pyFloat otherwise.
func pyNumber(n json.Number) any {
	if isPyInt(n) {
		if i, err := n.Int64(); err == nil {
			return i
		}
	}
	f, _ := n.Float64()
	return pyFloat(f)
}

// toFloat returns a numeric value as float64.
func toFloat(v any) (float64, bool) {
	switch x := v.(type) {
	case int64:
		return float64(x), true
	case pyFloat:
		return float64(x), true
	case json.Number:
		f, err := x.Float64()
		return f, err == nil
	case bool:
		if x {
			return 1, true
		}
		return 0, true
	}
	return 0, false
}

// pyStr formats a value as Python's str() would.
func pyStr(v any) string {
	switch x := v.(type) {
	case string:
		return x
	default:
		return pyRepr(v)
	}
}

// pyRepr formats a value as Python's repr() would.
func pyRepr(v any) string {
	switch x := v.(type) {
	case nil:
		return "None"
	case bool:
		if x {
			return "True"
		}
		return "False"
	case int64:
		return strconv.FormatInt(x, 10)
	case int:
		return strconv.Itoa(x)
	case pyFloat:
		return pyFloatRepr(float64(x))
	case float64:
		return pyFloatRepr(x)
	case json.Number:
		return pyRepr(pyNumber(x))
	case string:
		q := "'"
		if strings.Contains(x, "'") && !strings.Contains(x, `"`) {
			q = `"`
		}
		r := strings.NewReplacer(`\`, `\\`, "\n", `\n`, "\t", `\t`, "\r", `\r`)
		s := r.Replace(x)
		if q == "'" {
			s = strings.ReplaceAll(s, "'", `\'`)
		}
		return q + s + q
	case []any:
		parts := make([]string, len(x))
		for i, e := range x {
			parts[i] = pyRepr(e)
		}
		return "[" + strings.Join(parts, ", ") + "]"
	case []string:
		parts := make([]string, len(x))
		for i, e := range x {
			parts[i] = pyRepr(e)
		}
		return "[" + strings.Join(parts, ", ") + "]"
	case omap:
		parts := make([]string, len(x))
		for i, e := range x {
			parts[i] = pyRepr(e.K) + ": " + pyRepr(e.V)
		}
		return "{" + strings.Join(parts, ", ") + "}"
	}
	return fmt.Sprint(v)
}

// pyEqual is Python's == for JSON-shaped values (1 == 1.0 == True).
func pyEqual(a, b any) bool {
	fa, oka := toFloat(a)
	fb, okb := toFloat(b)
	if oka && okb {
		return fa == fb
	}
	sa, oka := a.(string)
	sb, okb := b.(string)
	if oka && okb {
		return sa == sb
	}
	if a == nil && b == nil {
		return true
	}
	return false
}
