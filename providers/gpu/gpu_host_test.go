//go:build cgo

package gpu

import (
	"context"
	"testing"

	"github.com/NVIDIA/go-nvml/pkg/nvml"
	"github.com/NVIDIA/go-nvml/pkg/nvml/mock/gpus"
	"github.com/zclconf/go-cty/cty"

	"github.com/sdform/sdform/providers"
)

func hostConfig(optional bool) cty.Value {
	v := cty.NullVal(cty.Bool)
	if optional {
		v = cty.True
	}
	return cty.ObjectVal(map[string]cty.Value{
		"optional":       v,
		"driver_version": cty.NullVal(cty.String),
		"cuda_version":   cty.NullVal(cty.String),
		"nvml_version":   cty.NullVal(cty.String),
		"device_count":   cty.NullVal(cty.Number),
		"devices":        cty.NullVal(cty.List(deviceType)),
	})
}

func TestReadHost(t *testing.T) {
	const gib = 1 << 30
	tests := map[string]struct {
		lib      func(t *testing.T) nvmlLib
		optional bool
		// want: driver, cuda, nvml; "" means null.
		driver, cuda, nvmlVer string
		count                 int
		device0               map[string]cty.Value // attributes of devices[0] to check
		device1               map[string]cty.Value
		diag                  *providers.Diagnostic
	}{
		"dgx h100": {
			lib:    func(*testing.T) nvmlLib { return h100x8() },
			driver: "550.54.15", cuda: "12.4", nvmlVer: "12.550.54.15", count: 8,
			device0: map[string]cty.Value{
				"index": cty.NumberIntVal(0), "name": cty.StringVal("NVIDIA H100 80GB HBM3"),
				"memory_total": cty.NumberIntVal(80 * gib), "compute_capability": cty.StringVal("9.0"),
				"pci_bus_id": cty.StringVal("00000000:00:00.0"), "temperature_c": cty.NumberIntVal(30),
				"power_w": cty.NumberFloatVal(118.25),
			},
			device1: map[string]cty.Value{"index": cty.NumberIntVal(1), "pci_bus_id": cty.StringVal("00000000:01:00.0")},
		},
		"dgx a100": {
			lib:    func(*testing.T) nvmlLib { return a100x8() },
			driver: "550.54.15", cuda: "12.4", nvmlVer: "12.550.54.15", count: 8,
			device0: map[string]cty.Value{
				"name": cty.StringVal("Mock NVIDIA A100-SXM4-40GB"), "memory_total": cty.NumberIntVal(40 * gib),
				"compute_capability": cty.StringVal("8.0"),
			},
		},
		"CUDA 13 driver": {
			lib: func(t *testing.T) nvmlLib {
				return serverWith(t, "580.159.04", 13000, gpus.H100_SXM5_80GB)
			},
			driver: "580.159.04", cuda: "13.0", nvmlVer: "12.580.159.04", count: 1,
			device0: map[string]cty.Value{"name": cty.StringVal("NVIDIA H100 80GB HBM3")},
		},
		"temperature and power not supported are null": {
			lib: func(t *testing.T) nvmlLib {
				s := serverWith(t, "550.54.15", 12040, gpus.A100_PCIE_40GB, gpus.A100_PCIE_40GB)
				device(s, 1).GetTemperatureFunc = func(nvml.TemperatureSensors) (uint32, nvml.Return) { return 0, nvml.ERROR_NOT_SUPPORTED }
				device(s, 1).GetPowerUsageFunc = func() (uint32, nvml.Return) { return 0, nvml.ERROR_NOT_SUPPORTED }
				return s
			},
			driver: "550.54.15", cuda: "12.4", nvmlVer: "12.550.54.15", count: 2,
			device0: map[string]cty.Value{"temperature_c": cty.NumberIntVal(30), "power_w": cty.NumberFloatVal(118.25)},
			device1: map[string]cty.Value{"temperature_c": cty.NullVal(cty.Number), "power_w": cty.NullVal(cty.Number)},
		},
		"no driver": {
			lib: func(*testing.T) nvmlLib { return noLibrary() },
			diag: &providers.Diagnostic{Severity: providers.Error,
				Summary: "no NVIDIA driver found: libnvidia-ml.so.1 could not be loaded",
				Detail:  "data.gpu_host.local needs NVML, which comes with the NVIDIA driver. Set optional = true in its block to plan on a machine without a GPU."},
		},
		"no driver, optional": {
			lib: func(*testing.T) nvmlLib { return noLibrary() }, optional: true,
			diag: &providers.Diagnostic{Severity: providers.Warning,
				Summary: "no NVIDIA driver found: libnvidia-ml.so.1 could not be loaded",
				Detail:  "data.gpu_host.local sets optional = true, so sdform goes on without GPU facts: its values are null and no GPU requirement is met."},
		},
		"driver not loaded": {
			lib: func(t *testing.T) nvmlLib {
				s := serverWith(t, "550.54.15", 12040)
				s.InitFunc = func() nvml.Return { return nvml.ERROR_DRIVER_NOT_LOADED }
				return s
			},
			diag: &providers.Diagnostic{Severity: providers.Error,
				Summary: "no NVIDIA driver loaded: libnvidia-ml.so.1 is installed but the kernel driver is not running (ERROR_DRIVER_NOT_LOADED)",
				Detail:  "data.gpu_host.local needs NVML, which comes with the NVIDIA driver. Set optional = true in its block to plan on a machine without a GPU."},
		},
		"zero devices": {
			lib:    func(t *testing.T) nvmlLib { return serverWith(t, "550.54.15", 12040) },
			driver: "550.54.15", cuda: "12.4", nvmlVer: "12.550.54.15",
			diag: &providers.Diagnostic{Severity: providers.Error,
				Summary: "no NVIDIA GPU found: driver 550.54.15 reports 0 devices",
				Detail:  "data.gpu_host.local needs NVML, which comes with the NVIDIA driver. Set optional = true in its block to plan on a machine without a GPU."},
		},
		"zero devices, optional": {
			lib:      func(t *testing.T) nvmlLib { return serverWith(t, "550.54.15", 12040) },
			optional: true,
			driver:   "550.54.15", cuda: "12.4", nvmlVer: "12.550.54.15",
			diag: &providers.Diagnostic{Severity: providers.Warning,
				Summary: "no NVIDIA GPU found: driver 550.54.15 reports 0 devices",
				Detail:  "data.gpu_host.local sets optional = true, so sdform goes on without GPU facts: its values are null and no GPU requirement is met."},
		},
		"lost GPU": {
			lib: func(t *testing.T) nvmlLib {
				s := serverWith(t, "550.54.15", 12040, gpus.H100_SXM5_80GB, gpus.H100_SXM5_80GB, gpus.H100_SXM5_80GB)
				device(s, 2).GetNameFunc = func() (string, nvml.Return) { return "", nvml.ERROR_GPU_IS_LOST }
				return s
			},
			diag: &providers.Diagnostic{Severity: providers.Error,
				Summary: "read GPU 2 name: ERROR_GPU_IS_LOST",
				Detail:  "data.gpu_host.local needs NVML, which comes with the NVIDIA driver. Set optional = true in its block to plan on a machine without a GPU."},
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			p := providerFor(tc.lib(t))
			defer p.Close()
			resp := p.ReadData(context.Background(), providers.ReadDataRequest{
				TypeName: "gpu_host", Address: "data.gpu_host.local", Config: hostConfig(tc.optional),
			})
			checkDiags(t, resp.Diagnostics, tc.diag)
			got := resp.State
			if !got.Type().Equals(hostSchema.ImpliedType()) {
				t.Fatalf("state type = %#v, want the schema's type", got.Type())
			}
			checkString(t, got, "driver_version", tc.driver)
			checkString(t, got, "cuda_version", tc.cuda)
			checkString(t, got, "nvml_version", tc.nvmlVer)
			if c := got.GetAttr("device_count"); !c.RawEquals(cty.NumberIntVal(int64(tc.count))) {
				t.Errorf("device_count = %#v, want %d", c, tc.count)
			}
			devs := got.GetAttr("devices")
			if n := devs.LengthInt(); n != tc.count {
				t.Fatalf("len(devices) = %d, want %d", n, tc.count)
			}
			for i, want := range []map[string]cty.Value{tc.device0, tc.device1} {
				if want == nil {
					continue
				}
				d := devs.Index(cty.NumberIntVal(int64(i)))
				for k, w := range want {
					if g := d.GetAttr(k); !g.RawEquals(w) {
						t.Errorf("devices[%d].%s = %#v, want %#v", i, k, g, w)
					}
				}
				if u := d.GetAttr("uuid").AsString(); len(u) != len("GPU-")+36 {
					t.Errorf("devices[%d].uuid = %q, want a GPU- UUID", i, u)
				}
			}
		})
	}
}

func checkString(t *testing.T, obj cty.Value, attr, want string) {
	t.Helper()
	got := obj.GetAttr(attr)
	if want == "" {
		if !got.IsNull() {
			t.Errorf("%s = %#v, want null", attr, got)
		}
		return
	}
	if got.IsNull() || got.AsString() != want {
		t.Errorf("%s = %#v, want %q", attr, got, want)
	}
}

// checkDiags asserts exactly the wanted diagnostic (or none).
func checkDiags(t *testing.T, got providers.Diagnostics, want ...*providers.Diagnostic) {
	t.Helper()
	var ws []providers.Diagnostic
	for _, w := range want {
		if w != nil {
			ws = append(ws, *w)
		}
	}
	if len(got) != len(ws) {
		t.Fatalf("got %d diagnostics, want %d:\n%s", len(got), len(ws), dumpDiags(got))
	}
	for i := range ws {
		g, w := got[i], ws[i]
		if g.Severity != w.Severity || g.Summary != w.Summary || g.Detail != w.Detail || !g.Attribute.Equals(w.Attribute) {
			t.Errorf("diagnostic %d:\n got  %s\n want %s", i, dumpDiag(g), dumpDiag(w))
		}
	}
}

func dumpDiags(ds providers.Diagnostics) string {
	s := ""
	for _, d := range ds {
		s += dumpDiag(d) + "\n"
	}
	return s
}

func dumpDiag(d providers.Diagnostic) string {
	sev := "error"
	if d.Severity == providers.Warning {
		sev = "warning"
	}
	path := ""
	for _, st := range d.Attribute {
		switch st := st.(type) {
		case cty.GetAttrStep:
			path += "." + st.Name
		case cty.IndexStep:
			path += "[" + st.Key.AsBigFloat().String() + "]"
		}
	}
	return sev + " " + path + ": " + d.Summary + " | " + d.Detail
}
