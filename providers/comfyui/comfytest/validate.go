package comfytest

import (
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// pnode is one node of a submitted prompt. Inputs are converted in place
// by validation (int("5") → 5), as ComfyUI does, and the converted prompt is
// what history echoes.
type pnode struct {
	id     string
	class  string
	inputs omap
	raw    omap // the node object as submitted
}

// prompt is an API-format workflow in submission order.
type prompt struct {
	order []string
	nodes map[string]*pnode
}

func (p *prompt) marshal() omap {
	out := omap{}
	for _, id := range p.order {
		n := p.nodes[id]
		obj := omap{}
		for _, e := range n.raw {
			if e.K == "inputs" {
				obj = append(obj, kv{"inputs", n.inputs})
				continue
			}
			obj = append(obj, e)
		}
		out = append(out, kv{id, obj})
	}
	return out
}

// pyError is a Python exception raised during validation.
type pyError struct {
	typ string // "KeyError", "IndexError"
	msg string
}

func (e *pyError) Error() string { return e.msg }

type vresult struct {
	valid   bool
	reasons []omap
}

// validator is execution.validate_prompt for the fake.
type validator struct {
	s         *Server
	p         *prompt
	validated map[string]*vresult
	order     []string // insertion order of validated, as Python's dict keeps it
}

func (v *validator) remember(id string, r *vresult) {
	if _, ok := v.validated[id]; !ok {
		v.order = append(v.order, id)
	}
	v.validated[id] = r
}

func errObj(typ, msg, details string, extra omap) omap {
	if extra == nil {
		extra = omap{}
	}
	return omap{{"type", typ}, {"message", msg}, {"details", details}, {"extra_info", extra}}
}

// validatePrompt returns (ok, error, good outputs, node_errors).
func (s *Server) validatePrompt(p *prompt, partial []string) (bool, omap, []string, omap) {
	var outputs []string
	for _, id := range p.order {
		n := p.nodes[id]
		def, ok := s.defs[n.class]
		if !ok {
			return false, errObj("invalid_prompt", fmt.Sprintf("Cannot execute because node %s does not exist.", n.class), fmt.Sprintf("Node ID '#%s'", id), nil), nil, omap{}
		}
		if def.outputNode && (partial == nil || slices.Contains(partial, id)) {
			outputs = append(outputs, id)
		}
	}
	if len(outputs) == 0 {
		return false, errObj("prompt_no_outputs", "Prompt has no outputs", "", nil), nil, omap{}
	}
	v := &validator{s: s, p: p, validated: map[string]*vresult{}}
	var good []string
	type failed struct {
		out     string
		reasons []omap
	}
	var errs []failed
	nodeErrors := omap{}
	for _, o := range outputs {
		r, err := v.validateInputs(o)
		if err != nil {
			r = &vresult{reasons: []omap{errObj("exception_during_validation", "Exception when validating node", err.Error(),
				omap{{"exception_type", err.(*pyError).typ}, {"traceback", []any{}}})}}
			v.remember(o, r)
		}
		if r.valid {
			good = append(good, o)
			continue
		}
		s.logf("Failed to validate prompt for output %s:", o)
		errs = append(errs, failed{o, r.reasons})
		for _, id := range v.order {
			res := v.validated[id]
			if res.valid || len(res.reasons) == 0 {
				continue
			}
			e, ok := nodeErrors.get(id)
			if !ok {
				reasons := make([]any, len(res.reasons))
				for i, r := range res.reasons {
					reasons[i] = r
				}
				e = &omap{{"errors", reasons}, {"dependent_outputs", []any{}}, {"class_type", p.nodes[id].class}}
				nodeErrors = append(nodeErrors, kv{id, e})
			}
			m := e.(*omap)
			deps, _ := m.get("dependent_outputs")
			m.set("dependent_outputs", append(deps.([]any), o))
		}
		s.logf("Output will be ignored")
	}
	if len(good) == 0 {
		var lines []string
		for _, f := range errs {
			for _, r := range f.reasons {
				msg, _ := r.get("message")
				det, _ := r.get("details")
				lines = append(lines, fmt.Sprintf("%s: %s", msg, det))
			}
		}
		return false, errObj("prompt_outputs_failed_validation", "Prompt outputs failed validation", strings.Join(lines, "\n"), nil), nil, nodeErrors
	}
	return true, nil, good, nodeErrors
}

// customValidated lists inputs whose node has a VALIDATE_INPUTS of its own
// in ComfyUI, which replaces the min/max/combo checks for them.
var customValidated = map[string]string{
	"LoadImage":       "image",
	"LoadImageMask":   "image",
	"LoadImageOutput": "image",
}

// validateInputs is execution.validate_inputs.
func (v *validator) validateInputs(id string) (*vresult, error) {
	if r, ok := v.validated[id]; ok {
		return r, nil
	}
	n := v.p.nodes[id]
	def := v.s.defs[n.class]
	var errs []omap
	valid := true
	custom := customValidated[n.class]
	for _, in := range def.inputs {
		val, ok := n.inputs.get(in.name)
		if !ok {
			if in.category == "required" {
				errs = append(errs, errObj("required_input_missing", "Required input is missing", in.name, omap{{"input_name", in.name}}))
			}
			continue
		}
		info := []any{in.typ, in.extra}
		if in.extra == nil {
			info = []any{in.typ, omap{}}
		}
		if list, ok := val.([]any); ok {
			if len(list) != 2 {
				errs = append(errs, errObj("bad_linked_input", "Bad linked input, must be a length-2 list of [node_id, slot_index]", in.name,
					omap{{"input_name", in.name}, {"input_config", info}, {"received_value", val}}))
				continue
			}
			oid, ok := list[0].(string)
			from, exists := v.p.nodes[oid]
			if !ok || !exists {
				return nil, &pyError{"KeyError", pyRepr(list[0])}
			}
			outs := v.s.defs[from.class].outputs
			slot, ok := list[1].(json.Number)
			idx, err := slot.Int64()
			if !ok || err != nil || idx < 0 || int(idx) >= len(outs) {
				return nil, &pyError{"IndexError", "tuple index out of range"}
			}
			received := outs[idx]
			if !typesMatch(received, in.typ) {
				errs = append(errs, errObj("return_type_mismatch", "Return type mismatch between linked nodes",
					fmt.Sprintf("%s, received_type(%s) mismatch input_type(%s)", in.name, pyStr(received), pyStr(in.typ)),
					omap{{"input_name", in.name}, {"input_config", info}, {"received_type", received}, {"linked_node", val}}))
				continue
			}
			r, err := v.validateInputs(oid)
			if err != nil {
				valid = false
				pe := err.(*pyError)
				v.remember(oid, &vresult{reasons: []omap{errObj("exception_during_inner_validation", "Exception when validating inner node", pe.msg,
					omap{{"input_name", in.name}, {"input_config", info}, {"exception_message", pe.msg}, {"exception_type", pe.typ}, {"traceback", []any{}}, {"linked_node", val}})}})
				continue
			}
			if !r.valid {
				valid = false
			}
			continue
		}
		if m, ok := val.(omap); ok {
			if inner, ok := m.get("__value__"); ok {
				val = inner
				n.inputs.set(in.name, val)
			}
		}
		conv, err := convert(val, in.typ)
		if err != nil {
			errs = append(errs, errObj("invalid_input_type", fmt.Sprintf("Failed to convert an input value to a %s value", pyStr(in.typ)),
				fmt.Sprintf("%s, %s, %s", in.name, pyStr(val), err), omap{{"input_name", in.name}, {"input_config", info}, {"received_value", val}, {"exception_message", err.Error()}}))
			continue
		}
		if conv != nil {
			val = conv
			n.inputs.set(in.name, val)
		}
		if custom == in.name {
			if !v.s.inputFileExists(pyStr(val)) {
				errs = append(errs, errObj("custom_validation_failed", "Custom validation failed for node",
					fmt.Sprintf("%s - Invalid image file: %s", in.name, pyStr(val)), omap{{"input_name", in.name}}))
			}
			continue
		}
		if lo, ok := in.extra.get("min"); ok {
			if f, ok1 := toFloat(val); ok1 {
				if m, ok2 := toFloat(lo); ok2 && f < m {
					errs = append(errs, errObj("value_smaller_than_min", fmt.Sprintf("Value %s smaller than min of %s", pyStr(val), pyStr(lo)), in.name,
						omap{{"input_name", in.name}, {"input_config", info}, {"received_value", val}}))
					continue
				}
			}
		}
		if hi, ok := in.extra.get("max"); ok {
			if f, ok1 := toFloat(val); ok1 {
				if m, ok2 := toFloat(hi); ok2 && f > m {
					errs = append(errs, errObj("value_bigger_than_max", fmt.Sprintf("Value %s bigger than max of %s", pyStr(val), pyStr(hi)), in.name,
						omap{{"input_name", in.name}, {"input_config", info}, {"received_value", val}}))
					continue
				}
			}
		}
		options, isCombo := comboOptions(in)
		if isCombo {
			found := false
			for _, o := range options {
				if pyEqual(o, val) {
					found = true
					break
				}
			}
			if !found {
				var config any = info
				listInfo := pyRepr(options)
				if len(options) > 20 {
					listInfo = fmt.Sprintf("(list of length %d)", len(options))
					config = nil
				}
				errs = append(errs, errObj("value_not_in_list", "Value not in list", fmt.Sprintf("%s: '%s' not in %s", in.name, pyStr(val), listInfo),
					omap{{"input_name", in.name}, {"input_config", config}, {"received_value", val}}))
				continue
			}
		}
	}
	r := &vresult{valid: valid && len(errs) == 0, reasons: errs}
	if r.reasons == nil {
		r.reasons = []omap{}
	}
	v.remember(id, r)
	return r, nil
}

// comboOptions returns the allowed values of a combo input.
func comboOptions(in inputDef) ([]any, bool) {
	if list, ok := in.typ.([]any); ok {
		return list, true
	}
	if in.typ == "COMBO" {
		o, _ := in.extra.get("options")
		list, _ := o.([]any)
		return list, true
	}
	return nil, false
}

// convert applies Python's int()/float()/str()/bool() for the input's
// type; nil means "unchanged".
func convert(val any, typ any) (any, error) {
	switch typ {
	case "INT":
		switch x := val.(type) {
		case json.Number:
			if isPyInt(x) {
				i, err := x.Int64()
				if err != nil {
					return nil, fmt.Errorf("int too large")
				}
				return i, nil
			}
			f, _ := x.Float64()
			return int64(f), nil
		case bool:
			if x {
				return int64(1), nil
			}
			return int64(0), nil
		case string:
			i, err := strconv.ParseInt(strings.TrimSpace(x), 10, 64)
			if err != nil {
				return nil, fmt.Errorf("invalid literal for int() with base 10: %s", pyRepr(x))
			}
			return i, nil
		case nil:
			return nil, fmt.Errorf("int() argument must be a string, a bytes-like object or a real number, not 'NoneType'")
		case omap:
			return nil, fmt.Errorf("int() argument must be a string, a bytes-like object or a real number, not 'dict'")
		}
	case "FLOAT":
		switch x := val.(type) {
		case json.Number:
			f, _ := x.Float64()
			return pyFloat(f), nil
		case bool:
			if x {
				return pyFloat(1), nil
			}
			return pyFloat(0), nil
		case string:
			f, err := strconv.ParseFloat(strings.TrimSpace(x), 64)
			if err != nil {
				return nil, fmt.Errorf("could not convert string to float: %s", pyRepr(x))
			}
			return pyFloat(f), nil
		case nil:
			return nil, fmt.Errorf("float() argument must be a string or a real number, not 'NoneType'")
		case omap:
			return nil, fmt.Errorf("float() argument must be a string or a real number, not 'dict'")
		}
	case "STRING":
		return pyStr(val), nil
	case "BOOLEAN":
		switch x := val.(type) {
		case bool:
			return x, nil
		case string:
			return x != "", nil
		case nil:
			return false, nil
		default:
			f, _ := toFloat(x)
			return f != 0, nil
		}
	}
	if n, ok := val.(json.Number); ok {
		return pyNumber(n), nil
	}
	return nil, nil
}

// typesMatch is comfy_execution.validation.validate_node_input: equal
// types, a "*" on either side, or overlapping comma-separated unions.
func typesMatch(received, input any) bool {
	rs, ok1 := received.(string)
	is, ok2 := input.(string)
	if !ok1 || !ok2 {
		// A combo output feeding a combo input.
		_, rl := received.([]any)
		return rl && (!ok2 || is == "COMBO")
	}
	if rs == is || rs == "*" || is == "*" || rs == "COMFY_MATCHTYPE_V3" || is == "COMFY_MATCHTYPE_V3" {
		return true
	}
	if rs == "COMBO" && is == "COMBO" {
		return true
	}
	rset := strings.Split(rs, ",")
	iset := strings.Split(is, ",")
	for _, r := range rset {
		for _, i := range iset {
			if strings.TrimSpace(r) == strings.TrimSpace(i) {
				return true
			}
		}
	}
	return false
}
