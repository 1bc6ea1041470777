package workflow

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"strings"
)

// Info is a server's /object_info: every node class it can run.
type Info map[string]*NodeInfo

// NodeInfo describes one node class.
type NodeInfo struct {
	Name         string
	DisplayName  string
	Category     string
	PythonModule string
	// Inputs are the required then the optional inputs, in input_order
	// when the server gives one, else in the order of its input dict.
	Inputs []InputSpec
	// Outputs are the output socket types; a combo output is "COMBO".
	Outputs    []string
	OutputNode bool
}

// Input returns the named input, or nil.
func (n *NodeInfo) Input(name string) *InputSpec {
	for i := range n.Inputs {
		if n.Inputs[i].Name == name {
			return &n.Inputs[i]
		}
	}
	return nil
}

// InputNames lists the inputs' names in order.
func (n *NodeInfo) InputNames() []string {
	out := make([]string, len(n.Inputs))
	for i, in := range n.Inputs {
		out[i] = in.Name
	}
	return out
}

// InputSpec is one input of a node class.
type InputSpec struct {
	Name     string
	Required bool
	// Type is "INT", "FLOAT", "STRING", "BOOLEAN", "COMBO" (for both the
	// legacy list form and the V3 form) or a socket type such as "IMAGE".
	Type string
	// Options are a combo's allowed values.
	Options  []any
	Min, Max *float64
	Default  any
	// ControlAfterGenerate is the spec's control_after_generate flag; nil
	// when the spec does not say.
	ControlAfterGenerate *bool
	// ForceInput inputs are sockets only, never widgets.
	ForceInput bool
	// Upload is set when the frontend adds an upload widget after this one
	// (image_upload, video_upload, audio_upload, file_upload).
	Upload bool
}

// IsWidget reports whether the frontend shows the input as a widget, which
// then has a place in a UI node's widgets_values.
func (s *InputSpec) IsWidget() bool {
	if s.ForceInput {
		return false
	}
	switch s.Type {
	case "INT", "FLOAT", "STRING", "BOOLEAN", "COMBO":
		return true
	}
	return false
}

// HasControl reports whether the frontend adds a control_after_generate
// widget after this one: the spec's flag, or, when the spec is silent, an
// INT named seed or noise_seed (ComfyUI_frontend useIntWidget).
func (s *InputSpec) HasControl() bool {
	if s.ControlAfterGenerate != nil {
		return *s.ControlAfterGenerate && (s.Type == "INT" || s.Type == "COMBO" || s.Type == "FLOAT")
	}
	return s.Type == "INT" && (s.Name == "seed" || s.Name == "noise_seed")
}

// ParseInfo reads a /object_info answer.
func ParseInfo(data []byte) (Info, error) {
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(data, &raw); err != nil {
		return nil, fmt.Errorf("parse object_info: %w", err)
	}
	info := make(Info, len(raw))
	for name, r := range raw {
		n, err := parseNodeInfo(name, r)
		if err != nil {
			return nil, fmt.Errorf("parse object_info of %s: %w", name, err)
		}
		info[name] = n
	}
	return info, nil
}

func parseNodeInfo(name string, data json.RawMessage) (*NodeInfo, error) {
	var r struct {
		Input        map[string]json.RawMessage `json:"input"`
		InputOrder   map[string][]string        `json:"input_order"`
		Output       []json.RawMessage          `json:"output"`
		OutputNode   bool                       `json:"output_node"`
		DisplayName  *string                    `json:"display_name"`
		Category     string                     `json:"category"`
		PythonModule string                     `json:"python_module"`
	}
	if err := json.Unmarshal(data, &r); err != nil {
		return nil, err
	}
	n := &NodeInfo{Name: name, Category: r.Category, PythonModule: r.PythonModule, OutputNode: r.OutputNode}
	if r.DisplayName != nil {
		n.DisplayName = *r.DisplayName
	}
	for _, o := range r.Output {
		var s string
		if json.Unmarshal(o, &s) == nil {
			n.Outputs = append(n.Outputs, s)
		} else {
			n.Outputs = append(n.Outputs, "COMBO")
		}
	}
	for _, cat := range []string{"required", "optional"} {
		specs := r.Input[cat]
		if len(specs) == 0 || string(specs) == "null" {
			continue
		}
		var m map[string]json.RawMessage
		if err := json.Unmarshal(specs, &m); err != nil {
			return nil, err
		}
		order, ok := r.InputOrder[cat]
		if !ok {
			var err error
			if order, err = objectKeys(specs); err != nil {
				return nil, err
			}
		}
		for _, in := range order {
			spec, ok := m[in]
			if !ok {
				continue
			}
			s, err := parseInputSpec(in, cat == "required", spec)
			if err != nil {
				return nil, fmt.Errorf("input %s: %w", in, err)
			}
			n.Inputs = append(n.Inputs, s)
		}
	}
	return n, nil
}

func parseInputSpec(name string, required bool, data json.RawMessage) (InputSpec, error) {
	s := InputSpec{Name: name, Required: required}
	var parts []json.RawMessage
	if err := json.Unmarshal(data, &parts); err != nil || len(parts) == 0 {
		// A bare type string ("hidden" inputs use this form).
		var t string
		if json.Unmarshal(data, &t) == nil {
			s.Type = t
			return s, nil
		}
		return s, fmt.Errorf("spec is neither a list nor a type name")
	}
	var opts map[string]json.RawMessage
	if len(parts) > 1 {
		_ = json.Unmarshal(parts[1], &opts)
	}
	var t string
	if json.Unmarshal(parts[0], &t) == nil {
		s.Type = t
		if t == "COMBO" {
			if o, ok := opts["options"]; ok {
				if err := decodeNumbers(o, &s.Options); err != nil {
					return s, err
				}
			}
		}
	} else {
		s.Type = "COMBO"
		if err := decodeNumbers(parts[0], &s.Options); err != nil {
			return s, err
		}
	}
	num := func(k string) *float64 {
		var f float64
		if v, ok := opts[k]; ok && json.Unmarshal(v, &f) == nil {
			return &f
		}
		return nil
	}
	s.Min, s.Max = num("min"), num("max")
	if v, ok := opts["default"]; ok {
		_ = decodeNumbers(v, &s.Default)
	}
	if v, ok := opts["control_after_generate"]; ok {
		var b bool
		if json.Unmarshal(v, &b) == nil {
			s.ControlAfterGenerate = &b
		} else {
			// A string names the control's default mode ("fixed"): on.
			t := true
			s.ControlAfterGenerate = &t
		}
	}
	var b bool
	if v, ok := opts["forceInput"]; ok && json.Unmarshal(v, &b) == nil {
		s.ForceInput = b
	}
	for _, k := range []string{"image_upload", "video_upload", "audio_upload", "file_upload"} {
		if v, ok := opts[k]; ok && json.Unmarshal(v, &b) == nil && b {
			s.Upload = true
		}
	}
	return s, nil
}

// decodeNumbers unmarshals keeping JSON numbers as json.Number.
func decodeNumbers(data []byte, v any) error {
	d := json.NewDecoder(bytes.NewReader(data))
	d.UseNumber()
	return d.Decode(v)
}

// objectKeys lists the keys of a JSON object in document order.
func objectKeys(data []byte) ([]string, error) {
	d := json.NewDecoder(bytes.NewReader(data))
	t, err := d.Token()
	if err != nil {
		return nil, err
	}
	if t != json.Delim('{') {
		return nil, fmt.Errorf("not an object")
	}
	var keys []string
	for d.More() {
		k, err := d.Token()
		if err != nil {
			return nil, err
		}
		keys = append(keys, k.(string))
		var skip json.RawMessage
		if err := d.Decode(&skip); err != nil {
			return nil, err
		}
	}
	return keys, nil
}

// readLimited reads at most n bytes of r, for error messages.
func readLimited(r io.Reader, n int64) string {
	b, _ := io.ReadAll(io.LimitReader(r, n))
	return strings.TrimSpace(string(b))
}
