package state

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"

	"github.com/zclconf/go-cty/cty"
)

// pathJSON is one cty.Path in the file: its steps in order, each
// {"type": "get_attr", "value": NAME} or {"type": "index", "value": KEY}
// where KEY is a JSON string or number (Terraform's form for paths).
type pathJSON []stepJSON

type stepJSON struct {
	Type  string          `json:"type"`
	Value json.RawMessage `json:"value"`
}

// encodePaths converts paths for the file; an empty list stays an empty,
// non-nil list.
func encodePaths(paths []cty.Path) ([]pathJSON, error) {
	out := make([]pathJSON, 0, len(paths))
	for _, p := range paths {
		pj := make(pathJSON, 0, len(p))
		for _, step := range p {
			var sj stepJSON
			var err error
			switch s := step.(type) {
			case cty.GetAttrStep:
				sj.Type = "get_attr"
				sj.Value, err = json.Marshal(s.Name)
			case cty.IndexStep:
				sj.Type = "index"
				k := s.Key
				switch {
				case k.IsNull() || !k.IsKnown() || k.IsMarked():
					return nil, errors.New("an index step with a null, unknown or marked key")
				case k.Type() == cty.String:
					sj.Value, err = json.Marshal(k.AsString())
				case k.Type() == cty.Number:
					sj.Value = json.RawMessage(k.AsBigFloat().Text('f', -1))
				default:
					// Set elements have no key that can be written down;
					// such a path covers the set as a whole.
					return nil, fmt.Errorf("an index step keyed by a %s", k.Type().FriendlyName())
				}
			default:
				return nil, fmt.Errorf("a path step of type %T", step)
			}
			if err != nil {
				return nil, err
			}
			pj = append(pj, sj)
		}
		out = append(out, pj)
	}
	return out, nil
}

func decodePaths(in []pathJSON) ([]cty.Path, error) {
	if in == nil {
		return nil, nil
	}
	out := make([]cty.Path, 0, len(in))
	for i, pj := range in {
		p := make(cty.Path, 0, len(pj))
		for _, sj := range pj {
			switch sj.Type {
			case "get_attr":
				var name string
				if err := json.Unmarshal(sj.Value, &name); err != nil {
					return nil, fmt.Errorf("path %d: a get_attr step needs a string value", i)
				}
				p = append(p, cty.GetAttrStep{Name: name})
			case "index":
				var key any
				dec := json.NewDecoder(bytes.NewReader(sj.Value))
				dec.UseNumber()
				if err := dec.Decode(&key); err != nil {
					return nil, fmt.Errorf("path %d: an index step needs a string or number value", i)
				}
				switch k := key.(type) {
				case string:
					p = append(p, cty.IndexStep{Key: cty.StringVal(k)})
				case json.Number:
					f, _, err := big.ParseFloat(string(k), 10, 512, big.ToNearestEven)
					if err != nil {
						return nil, fmt.Errorf("path %d: index %s is not a number", i, k)
					}
					p = append(p, cty.IndexStep{Key: cty.NumberVal(f)})
				default:
					return nil, fmt.Errorf("path %d: an index step needs a string or number value", i)
				}
			default:
				return nil, fmt.Errorf("path %d: unknown step type %q", i, sj.Type)
			}
		}
		out = append(out, p)
	}
	return out, nil
}
