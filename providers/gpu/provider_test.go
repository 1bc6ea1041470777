//go:build cgo

package gpu

import (
	"context"
	"sync"
	"testing"

	"github.com/NVIDIA/go-nvml/pkg/nvml"
	"github.com/NVIDIA/go-nvml/pkg/nvml/mock/gpus"
	"github.com/zclconf/go-cty/cty"

	"github.com/sdform/sdform/providers"
)

// TestApplyRequirement covers the check right after the build: the image's
// CUDA version was unknown at plan and is known at apply.
func TestApplyRequirement(t *testing.T) {
	prior := cty.NullVal(requirementSchema.ImpliedType())
	tests := map[string]struct {
		lib       func(t *testing.T) nvmlLib
		imageCUDA string
		optional  bool
		met       cty.Value
		diags     []*providers.Diagnostic
		wantPrior bool // failure: NewState stays the prior value
		summary   string
	}{
		"old driver fails after the build": {
			lib:       func(t *testing.T) nvmlLib { return serverWith(t, "535.104.05", 12020, gpus.H100_SXM5_80GB) },
			imageCUDA: "12.4.1",
			diags: []*providers.Diagnostic{errAt("image_cuda", "Image needs a newer NVIDIA driver",
				"driver 535.104.05 supports CUDA 12.2; image needs 12.4.1. "+upgradeDriver)},
			wantPrior: true,
		},
		"new driver passes after the build": {
			lib:       func(t *testing.T) nvmlLib { return serverWith(t, "580.159.04", 13000, gpus.H100_SXM5_80GB) },
			imageCUDA: "12.8",
			met:       cty.True,
			summary:   "GPU 0 matches; driver 580.159.04 supports CUDA 13.0",
		},
		"no driver, optional": {
			lib:       func(*testing.T) nvmlLib { return noLibrary() },
			imageCUDA: "12.8", optional: true,
			met: cty.False,
			diags: []*providers.Diagnostic{{Severity: providers.Warning,
				Summary: "no NVIDIA driver found: libnvidia-ml.so.1 could not be loaded",
				Detail:  "gpu_requirement.host sets optional = true, so sdform goes on without GPU facts: its values are null and no GPU requirement is met."}},
			summary: "not checked: no NVIDIA driver found: libnvidia-ml.so.1 could not be loaded",
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			p := providerFor(tc.lib(t))
			defer p.Close()
			set := map[string]cty.Value{"min_cuda": cty.StringVal("12.1"), "image_cuda": cty.UnknownVal(cty.String)}
			if tc.optional {
				set["optional"] = cty.True
			}
			planCfg := reqConfig(set)
			plan := p.PlanResource(context.Background(), providers.PlanRequest{
				TypeName: "gpu_requirement", Address: addr, Prior: prior, Config: planCfg, Proposed: planCfg,
			})
			if plan.Diagnostics.HasErrors() {
				t.Fatalf("plan failed:\n%s", dumpDiags(plan.Diagnostics))
			}
			set["image_cuda"] = cty.StringVal(tc.imageCUDA)
			cfg := reqConfig(set)
			resp := p.ApplyResource(context.Background(), providers.ApplyRequest{
				TypeName: "gpu_requirement", Address: addr, Action: providers.Create,
				Prior: prior, Planned: plan.Planned, Config: cfg,
			})
			checkDiags(t, resp.Diagnostics, tc.diags...)
			if tc.wantPrior {
				if !resp.NewState.RawEquals(prior) {
					t.Errorf("NewState = %#v, want the prior value", resp.NewState)
				}
				return
			}
			if !resp.NewState.IsWhollyKnown() {
				t.Fatalf("NewState has unknowns: %#v", resp.NewState)
			}
			if g := resp.NewState.GetAttr("met"); !g.RawEquals(tc.met) {
				t.Errorf("met = %#v, want %#v", g, tc.met)
			}
			if g := resp.NewState.GetAttr("summary").AsString(); g != tc.summary {
				t.Errorf("summary = %q, want %q", g, tc.summary)
			}
			if g := resp.NewState.GetAttr("image_cuda").AsString(); g != tc.imageCUDA {
				t.Errorf("image_cuda = %q, want %q", g, tc.imageCUDA)
			}
		})
	}
}

// TestUnchangedHostIsNoOp: a second plan against the same host proposes the
// value the first apply stored, so the engine sees no change.
func TestUnchangedHostIsNoOp(t *testing.T) {
	p := providerFor(h100x8())
	defer p.Close()
	cfg := reqConfig(map[string]cty.Value{"min_memory": cty.StringVal("80GB"), "image_cuda": cty.StringVal("12.4")})
	applied := p.ApplyResource(context.Background(), providers.ApplyRequest{
		TypeName: "gpu_requirement", Address: addr, Action: providers.Create,
		Prior: cty.NullVal(requirementSchema.ImpliedType()), Config: cfg, Planned: cfg,
	})
	if applied.Diagnostics.HasErrors() {
		t.Fatalf("apply: %s", dumpDiags(applied.Diagnostics))
	}
	again := p.PlanResource(context.Background(), providers.PlanRequest{
		TypeName: "gpu_requirement", Address: addr, Prior: applied.NewState, Config: cfg, Proposed: cfg,
	})
	if !again.Planned.RawEquals(applied.NewState) {
		t.Errorf("second plan = %#v\nwant the applied state %#v", again.Planned, applied.NewState)
	}
}

// countingLib counts Init and Shutdown calls, concurrently safe.
type countingLib struct {
	nvmlLib
	mu             sync.Mutex
	init, shutdown int
}

func (c *countingLib) Init() nvml.Return {
	c.mu.Lock()
	c.init++
	c.mu.Unlock()
	return c.nvmlLib.Init()
}

func (c *countingLib) Shutdown() nvml.Return {
	c.mu.Lock()
	c.shutdown++
	c.mu.Unlock()
	return c.nvmlLib.Shutdown()
}

func TestInitOnceShutdownOnClose(t *testing.T) {
	tests := map[string]struct {
		lib          nvmlLib
		reads        int
		wantInit     int
		wantShutdown int
	}{
		"never used":               {lib: h100x8(), reads: 0, wantInit: 0, wantShutdown: 0},
		"many concurrent reads":    {lib: h100x8(), reads: 16, wantInit: 1, wantShutdown: 1},
		"init failed: no Shutdown": {lib: noLibrary(), reads: 4, wantInit: 1, wantShutdown: 0},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			lib := &countingLib{nvmlLib: tc.lib}
			p := providerFor(lib)
			var wg sync.WaitGroup
			for range tc.reads {
				wg.Add(1)
				go func() {
					defer wg.Done()
					p.ReadData(context.Background(), providers.ReadDataRequest{TypeName: "gpu_host", Address: "data.gpu_host.x", Config: hostConfig(true)})
				}()
			}
			wg.Wait()
			if err := p.Close(); err != nil {
				t.Fatalf("Close: %v", err)
			}
			if lib.init != tc.wantInit || lib.shutdown != tc.wantShutdown {
				t.Errorf("Init called %d times, Shutdown %d; want %d and %d", lib.init, lib.shutdown, tc.wantInit, tc.wantShutdown)
			}
		})
	}
}

func TestShutdownError(t *testing.T) {
	s := serverWith(t, "550.54.15", 12040, gpus.H100_SXM5_80GB)
	s.ShutdownFunc = func() nvml.Return { return nvml.ERROR_UNKNOWN }
	p := providerFor(s)
	p.ReadData(context.Background(), providers.ReadDataRequest{TypeName: "gpu_host", Address: "data.gpu_host.x", Config: hostConfig(false)})
	err := p.Close()
	if want := "shut down NVML: ERROR_UNKNOWN"; err == nil || err.Error() != want {
		t.Errorf("Close() = %v, want %q", err, want)
	}
}
