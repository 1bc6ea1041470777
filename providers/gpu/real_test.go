//go:build cgo

package gpu

import (
	"context"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/zclconf/go-cty/cty"

	"github.com/sdform/sdform/providers"
)

// TestRealNVML reads this machine's GPUs through the real driver and prints
// what it read. It runs only with SDFORM_REAL_NVML=1, on a GPU machine:
//
//	CGO_ENABLED=1 go test -c -o .device/gpu.test ./providers/gpu
//	SDFORM_REAL_NVML=1 ./.device/gpu.test -test.run Real -test.v
func TestRealNVML(t *testing.T) {
	if os.Getenv("SDFORM_REAL_NVML") != "1" {
		t.Skip("set SDFORM_REAL_NVML=1 on a machine with an NVIDIA GPU to read it through NVML")
	}
	p := New()
	defer func() {
		if err := p.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	}()
	ctx := context.Background()

	start := time.Now()
	resp := p.ReadData(ctx, providers.ReadDataRequest{TypeName: "gpu_host", Address: "data.gpu_host.local", Config: hostConfig(false)})
	first := time.Since(start)
	start = time.Now()
	again := p.ReadData(ctx, providers.ReadDataRequest{TypeName: "gpu_host", Address: "data.gpu_host.local", Config: hostConfig(false)})
	second := time.Since(start)
	t.Logf("gpu_host read: first (with nvmlInit) %v, second %v", first, second)
	if len(resp.Diagnostics) > 0 || len(again.Diagnostics) > 0 {
		t.Fatalf("gpu_host diagnostics:\n%s%s", dumpDiags(resp.Diagnostics), dumpDiags(again.Diagnostics))
	}
	h := resp.State
	driver, cuda := h.GetAttr("driver_version").AsString(), h.GetAttr("cuda_version").AsString()
	t.Logf("driver_version = %q, cuda_version = %q, nvml_version = %q, device_count = %s",
		driver, cuda, h.GetAttr("nvml_version").AsString(), h.GetAttr("device_count").AsBigFloat().String())
	if driver == "" {
		t.Error("driver_version is empty")
	}
	if v, err := parseVersion(cuda); err != nil || v.compare(version{12}) < 0 {
		t.Errorf("cuda_version %q: want a version >= 12 (err %v)", cuda, err)
	}
	devs := h.GetAttr("devices").AsValueSlice()
	if len(devs) < 1 {
		t.Fatal("no devices")
	}
	for _, d := range devs {
		t.Logf("device: index=%s name=%q uuid=%q memory_total=%s memory_free=%s compute_capability=%q pci_bus_id=%q temperature_c=%s power_w=%s",
			num(d.GetAttr("index")), d.GetAttr("name").AsString(), d.GetAttr("uuid").AsString(),
			num(d.GetAttr("memory_total")), num(d.GetAttr("memory_free")), d.GetAttr("compute_capability").AsString(),
			d.GetAttr("pci_bus_id").AsString(), num(d.GetAttr("temperature_c")), num(d.GetAttr("power_w")))
		if d.GetAttr("name").AsString() == "" || !strings.HasPrefix(d.GetAttr("uuid").AsString(), "GPU-") {
			t.Errorf("device without name or GPU- UUID: %#v", d)
		}
		if d.GetAttr("memory_total").AsBigFloat().Sign() <= 0 {
			t.Errorf("memory_total is not positive")
		}
		bus := d.GetAttr("pci_bus_id").AsString()
		if bus == "" || strings.ContainsRune(bus, 0) || !strings.Contains(bus, ":") {
			t.Errorf("pci_bus_id %q: want a bus id without NULs", bus)
		}
		if cc, err := parseVersion(d.GetAttr("compute_capability").AsString()); err != nil || len(cc) != 2 {
			t.Errorf("compute_capability %q is not major.minor", d.GetAttr("compute_capability").AsString())
		}
	}

	plan := func(name string, set map[string]cty.Value) providers.PlanResponse {
		cfg := reqConfig(set)
		r := p.PlanResource(ctx, providers.PlanRequest{TypeName: "gpu_requirement", Address: "gpu_requirement." + name,
			Prior: cty.NullVal(requirementSchema.ImpliedType()), Config: cfg, Proposed: cfg})
		t.Logf("gpu_requirement.%s: met = %#v", name, r.Planned.GetAttr("met"))
		for _, l := range r.Details {
			t.Logf("  %s", l)
		}
		for _, d := range r.Diagnostics {
			t.Logf("  %s", dumpDiag(d))
		}
		return r
	}
	holds := plan("holds", map[string]cty.Value{
		"min_cuda": cty.StringVal("12.1"), "min_memory": cty.StringVal("24GiB"), "min_compute_capability": cty.StringVal("8.0"),
		"names": names("H100|H200|A100|4090"), "image_cuda": cty.StringVal("12.4.1"),
	})
	if holds.Diagnostics.HasErrors() || !holds.Planned.GetAttr("met").RawEquals(cty.True) {
		t.Errorf("requirement that should hold did not")
	}
	fails := plan("fails", map[string]cty.Value{
		"min_memory": cty.StringVal("200GiB"), "image_cuda": cty.StringVal("99.0"), "min_count": cty.NumberIntVal(64),
	})
	if !fails.Diagnostics.HasErrors() || len(fails.Diagnostics) != 3 {
		t.Errorf("requirement that should fail gave %d diagnostics, want 3 errors", len(fails.Diagnostics))
	}
}

func num(v cty.Value) string {
	if v.IsNull() {
		return "null"
	}
	return v.AsBigFloat().Text('g', 12)
}
