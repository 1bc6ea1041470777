package testprovider

import (
	"encoding/json"
	"math/big"

	"github.com/zclconf/go-cty/cty"
)

// thingRecord is how a test_thing object is stored in the world: plain
// JSON that encoding/json reads quickly (refresh reads one file per object,
// and the engine's no-op benchmark refreshes hundreds). A nil pointer,
// slice or map is a null attribute.
type thingRecord struct {
	Name      *string               `json:"name"`
	Variant   *string               `json:"variant"`
	Args      map[string]string     `json:"args"`
	Secret    *string               `json:"secret"`
	Tags      []string              `json:"tags"`
	InputFile *string               `json:"input_file"`
	Fail      *bool                 `json:"fail"`
	Sleep     *string               `json:"sleep"`
	ID        *string               `json:"id"`
	Out       *string               `json:"out"`
	Digest    *string               `json:"digest"`
	Promoted  *bool                 `json:"promoted"`
	Step      []stepRecord          `json:"step"`
	Port      map[string]portRecord `json:"port"`
	// Pending is not an attribute: it is the provider's own record that
	// the object was applied but its Promote has not passed yet, as a
	// docker image whose tags still point to the previous build.
	Pending bool `json:"promotion_pending,omitempty"`
}

type stepRecord struct {
	Name *string `json:"name"`
	Run  *string `json:"run"`
}

type portRecord struct {
	Number *json.Number `json:"number"`
}

func strPtr(v cty.Value) *string {
	if v.IsNull() {
		return nil
	}
	s := v.AsString()
	return &s
}

func boolPtr(v cty.Value) *bool {
	if v.IsNull() {
		return nil
	}
	b := v.True()
	return &b
}

func strVal(p *string) cty.Value {
	if p == nil {
		return cty.NullVal(cty.String)
	}
	return cty.StringVal(*p)
}

func boolVal(p *bool) cty.Value {
	if p == nil {
		return cty.NullVal(cty.Bool)
	}
	return cty.BoolVal(*p)
}

// encodeThing turns a wholly known test_thing value and its pending flag
// into its record.
func encodeThing(v cty.Value, pending bool) ([]byte, error) {
	r := thingRecord{
		Name: strPtr(v.GetAttr("name")), Variant: strPtr(v.GetAttr("variant")), Secret: strPtr(v.GetAttr("secret")),
		InputFile: strPtr(v.GetAttr("input_file")), Fail: boolPtr(v.GetAttr("fail")), Sleep: strPtr(v.GetAttr("sleep")),
		ID: strPtr(v.GetAttr("id")), Out: strPtr(v.GetAttr("out")), Digest: strPtr(v.GetAttr("digest")),
		Promoted: boolPtr(v.GetAttr("promoted")), Pending: pending,
	}
	if a := v.GetAttr("args"); !a.IsNull() {
		r.Args = map[string]string{}
		for k, e := range a.AsValueMap() {
			r.Args[k] = e.AsString()
		}
	}
	if t := v.GetAttr("tags"); !t.IsNull() {
		r.Tags = []string{}
		for _, e := range t.AsValueSlice() {
			r.Tags = append(r.Tags, e.AsString())
		}
	}
	if s := v.GetAttr("step"); !s.IsNull() {
		r.Step = []stepRecord{}
		for _, e := range s.AsValueSlice() {
			r.Step = append(r.Step, stepRecord{Name: strPtr(e.GetAttr("name")), Run: strPtr(e.GetAttr("run"))})
		}
	}
	if p := v.GetAttr("port"); !p.IsNull() {
		r.Port = map[string]portRecord{}
		for k, e := range p.AsValueMap() {
			var pr portRecord
			if n := e.GetAttr("number"); !n.IsNull() {
				num := json.Number(n.AsBigFloat().Text('g', -1))
				pr.Number = &num
			}
			r.Port[k] = pr
		}
	}
	return json.Marshal(r)
}

// decodeThing reads a record back into a value of thingType and its
// pending flag.
func decodeThing(b []byte) (cty.Value, bool, error) {
	var r thingRecord
	if err := json.Unmarshal(b, &r); err != nil {
		return cty.NilVal, false, err
	}
	ty := thingType
	m := map[string]cty.Value{
		"name": strVal(r.Name), "variant": strVal(r.Variant), "secret": strVal(r.Secret),
		"input_file": strVal(r.InputFile), "fail": boolVal(r.Fail), "sleep": strVal(r.Sleep),
		"id": strVal(r.ID), "out": strVal(r.Out), "digest": strVal(r.Digest), "promoted": boolVal(r.Promoted),
		"args": cty.NullVal(ty.AttributeType("args")), "tags": cty.NullVal(ty.AttributeType("tags")),
		"step": cty.NullVal(ty.AttributeType("step")), "port": cty.NullVal(ty.AttributeType("port")),
	}
	if r.Args != nil {
		if len(r.Args) == 0 {
			m["args"] = cty.MapValEmpty(cty.String)
		} else {
			args := map[string]cty.Value{}
			for k, v := range r.Args {
				args[k] = cty.StringVal(v)
			}
			m["args"] = cty.MapVal(args)
		}
	}
	if r.Tags != nil {
		if len(r.Tags) == 0 {
			m["tags"] = cty.ListValEmpty(cty.String)
		} else {
			var l []cty.Value
			for _, t := range r.Tags {
				l = append(l, cty.StringVal(t))
			}
			m["tags"] = cty.ListVal(l)
		}
	}
	stepTy := ty.AttributeType("step").ElementType()
	if r.Step != nil {
		if len(r.Step) == 0 {
			m["step"] = cty.ListValEmpty(stepTy)
		} else {
			var l []cty.Value
			for _, s := range r.Step {
				l = append(l, cty.ObjectVal(map[string]cty.Value{"name": strVal(s.Name), "run": strVal(s.Run)}))
			}
			m["step"] = cty.ListVal(l)
		}
	}
	portTy := ty.AttributeType("port").ElementType()
	if r.Port != nil {
		if len(r.Port) == 0 {
			m["port"] = cty.MapValEmpty(portTy)
		} else {
			ports := map[string]cty.Value{}
			for k, p := range r.Port {
				n := cty.NullVal(cty.Number)
				if p.Number != nil {
					f, _, err := big.ParseFloat(string(*p.Number), 10, 512, big.ToNearestEven)
					if err != nil {
						return cty.NilVal, false, err
					}
					n = cty.NumberVal(f)
				}
				ports[k] = cty.ObjectVal(map[string]cty.Value{"number": n})
			}
			m["port"] = cty.MapVal(ports)
		}
	}
	return cty.ObjectVal(m), r.Pending, nil
}
