package comfytest

import (
	_ "embed"
	"encoding/json"
	"fmt"
)

// ObjectInfo080 is the full /object_info of a ComfyUI 0.8.0 server with no
// custom nodes and no models (testdata/object_info-0.8.0.json, captured from
// a real server).
//
//go:embed testdata/object_info-0.8.0.json
var ObjectInfo080 []byte

// Transcript080 is testdata/transcript-0.8.0.json: what a real ComfyUI 0.8.0
// answered to each request, the reference the fake reproduces.
//
//go:embed testdata/transcript-0.8.0.json
var Transcript080 []byte

// nodeDef is what validation and execution need from one /object_info entry.
type nodeDef struct {
	name       string
	inputs     []inputDef // required then optional, in input_order
	outputs    []any      // output types (strings, or lists for combos)
	outputNode bool
	raw        json.RawMessage
}

type inputDef struct {
	name     string
	category string // "required" or "optional"
	typ      any    // "INT", "COMBO", …, or []any for a legacy combo
	extra    omap   // the options object; empty when absent
	config   any    // the whole spec, echoed as input_config
}

func (d *nodeDef) input(name string) *inputDef {
	for i := range d.inputs {
		if d.inputs[i].name == name {
			return &d.inputs[i]
		}
	}
	return nil
}

// parseObjectInfo reads a full /object_info answer.
func parseObjectInfo(data []byte) (map[string]*nodeDef, []string, error) {
	v, err := decodeOrdered(data)
	if err != nil {
		return nil, nil, fmt.Errorf("parse object_info: %w", err)
	}
	all, ok := v.(omap)
	if !ok {
		return nil, nil, fmt.Errorf("parse object_info: not an object")
	}
	defs := make(map[string]*nodeDef, len(all))
	order := make([]string, 0, len(all))
	for _, e := range all {
		info, ok := e.V.(omap)
		if !ok {
			continue
		}
		raw, err := json.Marshal(info)
		if err != nil {
			return nil, nil, err
		}
		d := &nodeDef{name: e.K, raw: raw}
		if o, ok := info.get("output"); ok {
			d.outputs, _ = o.([]any)
		}
		if on, ok := info.get("output_node"); ok {
			d.outputNode, _ = on.(bool)
		}
		in, _ := info.get("input")
		inputs, _ := in.(omap)
		ord, _ := info.get("input_order")
		inOrder, _ := ord.(omap)
		for _, cat := range []string{"required", "optional"} {
			specs, _ := inputs.get(cat)
			sm, _ := specs.(omap)
			names := sm.keys()
			if o, ok := inOrder.get(cat); ok {
				if list, ok := o.([]any); ok {
					names = names[:0]
					for _, n := range list {
						if s, ok := n.(string); ok {
							names = append(names, s)
						}
					}
				}
			}
			for _, n := range names {
				spec, ok := sm.get(n)
				if !ok {
					continue
				}
				id := inputDef{name: n, category: cat, config: spec}
				if list, ok := spec.([]any); ok && len(list) > 0 {
					id.typ = list[0]
					if len(list) > 1 {
						id.extra, _ = list[1].(omap)
					}
				} else {
					id.typ = spec
				}
				d.inputs = append(d.inputs, id)
			}
		}
		defs[e.K] = d
		order = append(order, e.K)
	}
	return defs, order, nil
}
