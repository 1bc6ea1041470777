package testprovider

import (
	"context"

	"github.com/sdform/sdform/providers"
	"github.com/zclconf/go-cty/cty"
)

func testSchema() *providers.Schema {
	return &providers.Schema{
		Description: "A test of another resource; it passes unless told to fail.",
		Verb:        "run",
		Test:        true,
		Attributes: map[string]*providers.Attribute{
			"target": {Type: cty.String, Required: true, ForceNew: true},
			"fail":   {Type: cty.Bool, Optional: true},
			"sleep":  {Type: cty.String, Optional: true},
			"result": {Type: cty.String, Computed: true},
		},
	}
}

func planTest(req providers.PlanRequest) providers.PlanResponse {
	planned := req.Proposed
	if req.Prior.IsNull() || !req.Prior.GetAttr("target").RawEquals(planned.GetAttr("target")) {
		planned = setAttr(planned, "result", cty.UnknownVal(cty.String))
	}
	return providers.PlanResponse{Planned: planned}
}

func applyTest(ctx context.Context, req providers.ApplyRequest) providers.ApplyResponse {
	resp := providers.ApplyResponse{NewState: req.Prior}
	if req.Action == providers.Delete {
		resp.NewState = cty.NullVal(req.Prior.Type())
		return resp
	}
	d, err := sleepOf(req.Planned)
	if err != nil {
		resp.Diagnostics = resp.Diagnostics.Errorf(cty.GetAttrPath("sleep"), "Invalid sleep", "The sleep %q is not a duration: %s.", str(req.Planned, "sleep"), err)
		return resp
	}
	if err := sleep(ctx, d); err != nil {
		resp.Diagnostics = resp.Diagnostics.FromError("Interrupted", err)
		return resp
	}
	if flag(req.Planned, "fail") {
		resp.Diagnostics = resp.Diagnostics.Errorf(nil, "Test failed", "%s failed for target %s (fail = true).", req.Address, str(req.Planned, "target"))
		return resp
	}
	resp.NewState = setAttr(req.Planned, "result", cty.StringVal("passed: "+str(req.Planned, "target")))
	return resp
}

func dataSchema() *providers.Schema {
	return &providers.Schema{
		Description: "Reads a value derived from its input.",
		Attributes: map[string]*providers.Attribute{
			"input":        {Type: cty.String, Required: true},
			"value":        {Type: cty.String, Computed: true},
			"secret_value": {Type: cty.String, Computed: true, Sensitive: true},
		},
	}
}

func readData(req providers.ReadDataRequest) providers.ReadDataResponse {
	in := str(req.Config, "input")
	st := setAttr(req.Config, "value", cty.StringVal("data:"+in))
	st = setAttr(st, "secret_value", cty.StringVal("s3cr3t-"+in))
	return providers.ReadDataResponse{State: st}
}
