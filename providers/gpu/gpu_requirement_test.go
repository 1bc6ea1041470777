//go:build cgo

package gpu

import (
	"context"
	"slices"
	"testing"

	"github.com/NVIDIA/go-nvml/pkg/nvml/mock/gpus"
	"github.com/zclconf/go-cty/cty"

	"github.com/sdform/sdform/providers"
)

// reqConfig is a gpu_requirement config value with the given attributes
// set and the others null.
func reqConfig(set map[string]cty.Value) cty.Value {
	attrs := map[string]cty.Value{}
	for name, a := range requirementSchema.Attributes {
		attrs[name] = cty.NullVal(a.Type)
		if v, ok := set[name]; ok {
			attrs[name] = v
		}
	}
	return cty.ObjectVal(attrs)
}

func names(ns ...string) cty.Value {
	vs := make([]cty.Value, len(ns))
	for i, n := range ns {
		vs[i] = cty.StringVal(n)
	}
	return cty.ListVal(vs)
}

func errAt(attr, summary, detail string) *providers.Diagnostic {
	return &providers.Diagnostic{Severity: providers.Error, Summary: summary, Detail: detail, Attribute: cty.GetAttrPath(attr)}
}

const (
	upgradeDriver = "Containers from this image would fail to start CUDA here; upgrade the driver or build on an older CUDA base image."
	addr          = "gpu_requirement.host"
)

func TestPlanRequirement(t *testing.T) {
	oldDriver := func(t *testing.T) nvmlLib { return serverWith(t, "535.104.05", 12020, gpus.A100_SXM4_80GB) }
	mixed := func(t *testing.T) nvmlLib {
		return serverWith(t, "580.159.04", 13000, gpus.H100_SXM5_80GB, gpus.A100_PCIE_40GB)
	}
	tests := map[string]struct {
		lib     func(t *testing.T) nvmlLib
		config  map[string]cty.Value
		met     cty.Value // cty.True, cty.False or unknown
		devices []int     // nil: unknown
		details []string
		diags   []*providers.Diagnostic
	}{
		"dgx h100 meets everything": {
			lib: func(*testing.T) nvmlLib { return h100x8() },
			config: map[string]cty.Value{
				"min_count": cty.NumberIntVal(8), "min_memory": cty.StringVal("24GiB"), "min_cuda": cty.StringVal("12.1"),
				"min_compute_capability": cty.StringVal("8.0"), "names": names("H100|A100|4090"), "image_cuda": cty.StringVal("12.4.1"),
			},
			met: cty.True, devices: []int{0, 1, 2, 3, 4, 5, 6, 7},
			details: []string{
				"min_cuda 12.1: met (driver 550.54.15 supports CUDA 12.4)",
				"image CUDA 12.4.1: met (driver 550.54.15 supports CUDA 12.4)",
				`names "H100|A100|4090": met by GPUs 0-7`,
				"min_memory 24GiB: met by GPUs 0-7",
				"min_compute_capability 8.0: met by GPUs 0-7",
				"min_count 8: met (GPUs 0-7 match)",
			},
		},
		"old driver vs newer image CUDA": {
			lib:    oldDriver,
			config: map[string]cty.Value{"min_cuda": cty.StringVal("12.1"), "image_cuda": cty.StringVal("12.4")},
			met:    cty.False, devices: []int{0},
			details: []string{
				"min_cuda 12.1: met (driver 535.104.05 supports CUDA 12.2)",
				"image CUDA 12.4: not met (driver 535.104.05 supports CUDA 12.2)",
				"min_count 1: met (GPU 0 matches)",
			},
			diags: []*providers.Diagnostic{errAt("image_cuda", "Image needs a newer NVIDIA driver",
				"driver 535.104.05 supports CUDA 12.2; image needs 12.4. "+upgradeDriver)},
		},
		"old driver vs min_cuda": {
			lib:    oldDriver,
			config: map[string]cty.Value{"min_cuda": cty.StringVal("12.4")},
			met:    cty.False, devices: []int{0},
			details: []string{
				"min_cuda 12.4: not met (driver 535.104.05 supports CUDA 12.2)",
				"min_count 1: met (GPU 0 matches)",
			},
			diags: []*providers.Diagnostic{errAt("min_cuda", "Driver CUDA version too old",
				"driver 535.104.05 supports CUDA 12.2; needs 12.4. Upgrade the NVIDIA driver or lower min_cuda.")},
		},
		"versions compare per component": {
			lib:    func(t *testing.T) nvmlLib { return serverWith(t, "999.1", 12100, gpus.H100_SXM5_80GB) },
			config: map[string]cty.Value{"min_cuda": cty.StringVal("12.9"), "image_cuda": cty.StringVal("12.10.2")},
			met:    cty.True, devices: []int{0},
			details: []string{
				"min_cuda 12.9: met (driver 999.1 supports CUDA 12.10)",
				"image CUDA 12.10.2: met (driver 999.1 supports CUDA 12.10)",
				"min_count 1: met (GPU 0 matches)",
			},
		},
		"image CUDA unknown at plan": {
			lib:    func(*testing.T) nvmlLib { return h100x8() },
			config: map[string]cty.Value{"min_memory": cty.StringVal("80GiB"), "image_cuda": cty.UnknownVal(cty.String)},
			met:    cty.UnknownVal(cty.Bool), devices: []int{0, 1, 2, 3, 4, 5, 6, 7},
			details: []string{
				"image CUDA: checked after the image is built",
				"min_memory 80GiB: met by GPUs 0-7",
				"min_count 1: met (GPUs 0-7 match)",
			},
		},
		"image without CUDA": {
			lib:    func(*testing.T) nvmlLib { return h100x8() },
			config: map[string]cty.Value{"image_cuda": cty.StringVal("")},
			met:    cty.True, devices: []int{0, 1, 2, 3, 4, 5, 6, 7},
			details: []string{
				"image CUDA: the image declares no CUDA version; not checked",
				"min_count 1: met (GPUs 0-7 match)",
			},
		},
		"a100 40GB lacks memory": {
			lib:    func(*testing.T) nvmlLib { return a100x8() },
			config: map[string]cty.Value{"min_memory": cty.StringVal("80GiB")},
			met:    cty.False, devices: []int{},
			details: []string{
				"min_memory 80GiB: not met by any GPU",
				"min_count 1: not met (no GPU matches)",
			},
			diags: []*providers.Diagnostic{errAt("min_memory", "Not enough GPU memory",
				"GPUs 0-7 Mock NVIDIA A100-SXM4-40GB have 40.0 GiB; needs 80 GiB.")},
		},
		"one a100 40GB lacks memory": {
			lib:    func(t *testing.T) nvmlLib { return serverWith(t, "550.54.15", 12040, gpus.A100_PCIE_40GB) },
			config: map[string]cty.Value{"min_memory": cty.StringVal("80 GiB")},
			met:    cty.False, devices: []int{},
			details: []string{
				"min_memory 80 GiB: not met by any GPU",
				"min_count 1: not met (no GPU matches)",
			},
			diags: []*providers.Diagnostic{errAt("min_memory", "Not enough GPU memory",
				"GPU 0 NVIDIA A100-PCIE-40GB has 40.0 GiB; needs 80 GiB.")},
		},
		"decimal memory units": {
			lib:    func(t *testing.T) nvmlLib { return serverWith(t, "550.54.15", 12040, gpus.H100_SXM5_80GB) },
			config: map[string]cty.Value{"min_memory": cty.StringVal("100GB")},
			met:    cty.False, devices: []int{},
			details: []string{
				"min_memory 100GB: not met by any GPU",
				"min_count 1: not met (no GPU matches)",
			},
			diags: []*providers.Diagnostic{errAt("min_memory", "Not enough GPU memory",
				"GPU 0 NVIDIA H100 80GB HBM3 has 85.9 GB; needs 100 GB.")},
		},
		"names do not match": {
			lib:    func(*testing.T) nvmlLib { return a100x8() },
			config: map[string]cty.Value{"names": names("H100|4090", "H200")},
			met:    cty.False, devices: []int{},
			details: []string{
				`names "H100|4090", "H200": not met by any GPU`,
				"min_count 1: not met (no GPU matches)",
			},
			diags: []*providers.Diagnostic{errAt("names", "GPU model not allowed",
				`GPUs 0-7 Mock NVIDIA A100-SXM4-40GB do not match "H100|4090" or "H200".`)},
		},
		"names match case-insensitively and pick devices": {
			lib:    mixed,
			config: map[string]cty.Value{"names": names("h100")},
			met:    cty.True, devices: []int{0},
			details: []string{
				`names "h100": met by GPU 0`,
				"min_count 1: met (GPU 0 matches)",
			},
		},
		"names match too few for min_count": {
			lib:    mixed,
			config: map[string]cty.Value{"names": names("H100"), "min_count": cty.NumberIntVal(2)},
			met:    cty.False, devices: []int{0},
			details: []string{
				`names "H100": not met (only GPU 0; needs 2)`,
				"min_count 2: not met (only GPU 0 matches)",
			},
			diags: []*providers.Diagnostic{errAt("names", "GPU model not allowed",
				`GPU 1 NVIDIA A100-PCIE-40GB does not match "H100". Only GPU 0 meets it; min_count is 2.`)},
		},
		"compute capability too old": {
			lib:    func(*testing.T) nvmlLib { return a100x8() },
			config: map[string]cty.Value{"min_compute_capability": cty.StringVal("9.0")},
			met:    cty.False, devices: []int{},
			details: []string{
				"min_compute_capability 9.0: not met by any GPU",
				"min_count 1: not met (no GPU matches)",
			},
			diags: []*providers.Diagnostic{errAt("min_compute_capability", "GPU compute capability too old",
				"GPUs 0-7 Mock NVIDIA A100-SXM4-40GB have compute capability 8.0; needs 9.0.")},
		},
		"each requirement met by a different GPU": {
			lib:    mixed,
			config: map[string]cty.Value{"names": names("A100"), "min_compute_capability": cty.StringVal("9.0")},
			met:    cty.False, devices: []int{},
			details: []string{
				`names "A100": met by GPU 1`,
				"min_compute_capability 9.0: met by GPU 0",
				"min_count 1: not met (no GPU matches)",
			},
			diags: []*providers.Diagnostic{errAt("min_count", "Not enough matching GPUs",
				"no GPU meets every requirement at once; needs 1.")},
		},
		"too few GPUs": {
			lib:    func(t *testing.T) nvmlLib { return serverWith(t, "550.54.15", 12040, gpus.H100_SXM5_80GB) },
			config: map[string]cty.Value{"min_count": cty.NumberIntVal(2), "min_memory": cty.StringVal("24GiB")},
			met:    cty.False, devices: []int{0},
			details: []string{
				"min_memory 24GiB: met by GPU 0",
				"min_count 2: not met (found 1 GPU)",
			},
			diags: []*providers.Diagnostic{errAt("min_count", "Not enough GPUs", "found 1 GPU; needs 2.")},
		},
		"no driver": {
			lib:    func(*testing.T) nvmlLib { return noLibrary() },
			config: map[string]cty.Value{"min_cuda": cty.StringVal("12.1")},
			met:    cty.False, devices: []int{},
			details: []string{"not checked: no NVIDIA driver found: libnvidia-ml.so.1 could not be loaded"},
			diags: []*providers.Diagnostic{{Severity: providers.Error,
				Summary: "no NVIDIA driver found: libnvidia-ml.so.1 could not be loaded",
				Detail:  "gpu_requirement.host needs NVML, which comes with the NVIDIA driver. Set optional = true in its block to plan on a machine without a GPU."}},
		},
		"no driver, optional": {
			lib:    func(*testing.T) nvmlLib { return noLibrary() },
			config: map[string]cty.Value{"min_cuda": cty.StringVal("12.1"), "image_cuda": cty.UnknownVal(cty.String), "optional": cty.True},
			met:    cty.False, devices: []int{},
			details: []string{"not checked: no NVIDIA driver found: libnvidia-ml.so.1 could not be loaded"},
			diags: []*providers.Diagnostic{{Severity: providers.Warning,
				Summary: "no NVIDIA driver found: libnvidia-ml.so.1 could not be loaded",
				Detail:  "gpu_requirement.host sets optional = true, so sdform goes on without GPU facts: its values are null and no GPU requirement is met."}},
		},
		"zero devices, optional": {
			lib:    func(t *testing.T) nvmlLib { return serverWith(t, "550.54.15", 12040) },
			config: map[string]cty.Value{"optional": cty.True},
			met:    cty.False, devices: []int{},
			details: []string{"not checked: no NVIDIA GPU found: driver 550.54.15 reports 0 devices"},
			diags: []*providers.Diagnostic{{Severity: providers.Warning,
				Summary: "no NVIDIA GPU found: driver 550.54.15 reports 0 devices",
				Detail:  "gpu_requirement.host sets optional = true, so sdform goes on without GPU facts: its values are null and no GPU requirement is met."}},
		},
		"unmet requirement on a real GPU stays an error under optional": {
			lib:    func(*testing.T) nvmlLib { return a100x8() },
			config: map[string]cty.Value{"min_memory": cty.StringVal("80GiB"), "optional": cty.True},
			met:    cty.False, devices: []int{},
			details: []string{
				"min_memory 80GiB: not met by any GPU",
				"min_count 1: not met (no GPU matches)",
			},
			diags: []*providers.Diagnostic{errAt("min_memory", "Not enough GPU memory",
				"GPUs 0-7 Mock NVIDIA A100-SXM4-40GB have 40.0 GiB; needs 80 GiB.")},
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			p := providerFor(tc.lib(t))
			defer p.Close()
			cfg := reqConfig(tc.config)
			resp := p.PlanResource(context.Background(), providers.PlanRequest{
				TypeName: "gpu_requirement", Address: addr,
				Prior: cty.NullVal(requirementSchema.ImpliedType()), Config: cfg, Proposed: cfg,
			})
			checkDiags(t, resp.Diagnostics, tc.diags...)
			if !slices.Equal(resp.Details, tc.details) {
				t.Errorf("details:\n got  %q\n want %q", resp.Details, tc.details)
			}
			checkVerdict(t, resp.Planned, tc.met, tc.devices)
			if resp.Fingerprint == "" {
				t.Error("fingerprint is empty")
			}
		})
	}
}

// checkVerdict asserts met and devices of a gpu_requirement value.
func checkVerdict(t *testing.T, v cty.Value, met cty.Value, devices []int) {
	t.Helper()
	if !v.Type().Equals(requirementSchema.ImpliedType()) {
		t.Fatalf("value type = %#v, want the schema's type", v.Type())
	}
	if g := v.GetAttr("met"); !g.RawEquals(met) {
		t.Errorf("met = %#v, want %#v", g, met)
	}
	d := v.GetAttr("devices")
	if devices == nil {
		if d.IsKnown() {
			t.Errorf("devices = %#v, want unknown", d)
		}
		return
	}
	if !d.IsKnown() || d.IsNull() {
		t.Fatalf("devices = %#v, want %v", d, devices)
	}
	var got []int
	for _, e := range d.AsValueSlice() {
		n, _ := e.AsBigFloat().Int64()
		got = append(got, int(n))
	}
	if !slices.Equal(got, devices) && !(len(got) == 0 && len(devices) == 0) {
		t.Errorf("devices = %v, want %v", got, devices)
	}
}
