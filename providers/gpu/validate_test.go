package gpu

import (
	"context"
	"testing"

	"github.com/zclconf/go-cty/cty"

	"github.com/sdform/sdform/providers"
)

// These tests need no NVML, so they also run without cgo.

func TestValidateRequirement(t *testing.T) {
	tests := map[string]struct {
		set  map[string]cty.Value
		path cty.Path
		want string // detail of the single error; "" for none
	}{
		"all valid": {set: map[string]cty.Value{
			"min_count": cty.NumberIntVal(2), "min_memory": cty.StringVal("24GiB"), "min_cuda": cty.StringVal("12.1"),
			"min_compute_capability": cty.StringVal("8.6"), "names": cty.ListVal([]cty.Value{cty.StringVal("H100|A100|4090")}),
			"image_cuda": cty.StringVal("12.4.1"),
		}},
		"unknowns are fine": {set: map[string]cty.Value{
			"min_memory": cty.UnknownVal(cty.String), "image_cuda": cty.UnknownVal(cty.String),
			"names": cty.UnknownVal(cty.List(cty.String)),
		}},
		"min_count zero": {
			set:  map[string]cty.Value{"min_count": cty.NumberIntVal(0)},
			path: cty.GetAttrPath("min_count"), want: "min_count must be a whole number of at least 1; got 0.",
		},
		"min_count fraction": {
			set:  map[string]cty.Value{"min_count": cty.NumberFloatVal(1.5)},
			path: cty.GetAttrPath("min_count"), want: "min_count must be a whole number of at least 1; got 1.5.",
		},
		"bad memory": {
			set:  map[string]cty.Value{"min_memory": cty.StringVal("lots")},
			path: cty.GetAttrPath("min_memory"), want: `min_memory must be a size like "24GiB" or "80GB"; got "lots".`,
		},
		"bad cuda": {
			set:  map[string]cty.Value{"min_cuda": cty.StringVal("twelve")},
			path: cty.GetAttrPath("min_cuda"), want: `min_cuda must be a version like "12.1"; got "twelve".`,
		},
		"bad compute capability": {
			set:  map[string]cty.Value{"min_compute_capability": cty.StringVal("sm_80")},
			path: cty.GetAttrPath("min_compute_capability"), want: `min_compute_capability must be a version like "8.0"; got "sm_80".`,
		},
		"bad image cuda": {
			set:  map[string]cty.Value{"image_cuda": cty.StringVal("12.4-devel")},
			path: cty.GetAttrPath("image_cuda"), want: `image_cuda must be a version like "12.4"; got "12.4-devel".`,
		},
		"bad regexp": {
			set:  map[string]cty.Value{"names": cty.ListVal([]cty.Value{cty.StringVal("H100"), cty.StringVal("A100(")})},
			path: cty.GetAttrPath("names").IndexInt(1),
			want: "names[1] \"A100(\" is not a valid regular expression: error parsing regexp: missing closing ): `(?i)A100(`.",
		},
	}
	p := newWithDriver(failingDriver{})
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			attrs := map[string]cty.Value{}
			for n, a := range requirementSchema.Attributes {
				attrs[n] = cty.NullVal(a.Type)
				if v, ok := tc.set[n]; ok {
					attrs[n] = v
				}
			}
			resp := p.ValidateResource(context.Background(), providers.ValidateRequest{TypeName: "gpu_requirement", Config: cty.ObjectVal(attrs)})
			if tc.want == "" {
				if len(resp.Diagnostics) != 0 {
					t.Fatalf("unexpected diagnostics: %+v", resp.Diagnostics)
				}
				return
			}
			if len(resp.Diagnostics) != 1 {
				t.Fatalf("got %d diagnostics, want 1: %+v", len(resp.Diagnostics), resp.Diagnostics)
			}
			d := resp.Diagnostics[0]
			if d.Severity != providers.Error || d.Detail != tc.want || !d.Attribute.Equals(tc.path) {
				t.Errorf("got %+v\nwant error at %#v: %s", d, tc.path, tc.want)
			}
		})
	}
}

// failingDriver must never be reached: validation is offline.
type failingDriver struct{}

func (failingDriver) init() error          { panic("validation touched NVML") }
func (failingDriver) read() (*Host, error) { panic("validation touched NVML") }
func (failingDriver) shutdown() error      { return nil }

func TestSchemaShape(t *testing.T) {
	s := New().Schema()
	req := s.Resources["gpu_requirement"]
	if req == nil || !req.Test || req.Verb != "check" {
		t.Fatalf("gpu_requirement schema = %+v, want Test and Verb check", req)
	}
	for _, name := range []string{"met", "devices", "summary"} {
		if !req.Attributes[name].ReadOnly() {
			t.Errorf("gpu_requirement.%s is not read-only", name)
		}
	}
	host := s.DataSources["gpu_host"]
	if host == nil {
		t.Fatal("no gpu_host data source")
	}
	for _, name := range []string{"driver_version", "cuda_version", "nvml_version", "device_count", "devices"} {
		if !host.Attributes[name].ReadOnly() {
			t.Errorf("gpu_host.%s is not read-only", name)
		}
	}
	if !host.ImpliedType().AttributeType("devices").ElementType().Equals(deviceType) {
		t.Error("gpu_host.devices has the wrong element type")
	}
}
