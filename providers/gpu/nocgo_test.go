//go:build !cgo

package gpu

import (
	"context"
	"testing"

	"github.com/zclconf/go-cty/cty"

	"github.com/sdform/sdform/providers"
)

// TestNoCGO: a binary built without cgo treats NVML like a missing driver.
func TestNoCGO(t *testing.T) {
	tests := map[string]struct {
		optional bool
		severity providers.Severity
	}{
		"required": {false, providers.Error},
		"optional": {true, providers.Warning},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			p := New()
			defer p.Close()
			cfg := cty.NullVal(cty.Bool)
			if tc.optional {
				cfg = cty.True
			}
			resp := p.ReadData(context.Background(), providers.ReadDataRequest{
				TypeName: "gpu_host", Address: "data.gpu_host.local",
				Config: cty.ObjectVal(map[string]cty.Value{
					"optional": cfg, "driver_version": cty.NullVal(cty.String), "cuda_version": cty.NullVal(cty.String),
					"nvml_version": cty.NullVal(cty.String), "device_count": cty.NullVal(cty.Number),
					"devices": cty.NullVal(cty.List(deviceType)),
				}),
			})
			if len(resp.Diagnostics) != 1 {
				t.Fatalf("got %d diagnostics, want 1", len(resp.Diagnostics))
			}
			d := resp.Diagnostics[0]
			if d.Severity != tc.severity || d.Summary != "sdform was built without cgo: NVML is unavailable" {
				t.Errorf("got %+v", d)
			}
			if !resp.State.GetAttr("driver_version").IsNull() || resp.State.GetAttr("devices").LengthInt() != 0 {
				t.Errorf("state = %#v, want null facts and no devices", resp.State)
			}
		})
	}
}
