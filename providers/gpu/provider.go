package gpu

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/zclconf/go-cty/cty"

	"github.com/sdform/sdform/providers"
)

// Type names owned by this provider.
const (
	typeHost        = "gpu_host"
	typeRequirement = "gpu_requirement"
)

// Provider is the gpu provider. NVML is initialised on first use, once, and
// shut down by Close; a plan that reads no gpu type never touches it.
type Provider struct {
	drv driver

	once    sync.Once
	initErr error
	inited  bool // init succeeded, so Close must shut NVML down
}

var _ providers.Provider = (*Provider)(nil)

// New returns an unconfigured gpu provider. It does no I/O.
func New() providers.Provider { return newWithDriver(newDriver()) }

func newWithDriver(d driver) *Provider { return &Provider{drv: d} }

// Schema implements providers.Provider.
func (p *Provider) Schema() providers.ProviderSchema {
	return providers.ProviderSchema{
		Provider:    &providers.Schema{Description: "The gpu provider has no settings."},
		Resources:   map[string]*providers.Schema{typeRequirement: requirementSchema},
		DataSources: map[string]*providers.Schema{typeHost: hostSchema},
	}
}

// Configure implements providers.Provider. It opens nothing: NVML loads on
// first use so that configurations without gpu types never need a driver.
func (p *Provider) Configure(context.Context, providers.ConfigureRequest) providers.ConfigureResponse {
	return providers.ConfigureResponse{}
}

// ValidateResource implements providers.Provider.
func (p *Provider) ValidateResource(_ context.Context, req providers.ValidateRequest) providers.ValidateResponse {
	switch req.TypeName {
	case typeHost:
		return providers.ValidateResponse{}
	case typeRequirement:
		_, diags := decodeRequirement(req.Config)
		return providers.ValidateResponse{Diagnostics: diags}
	}
	return providers.ValidateResponse{Diagnostics: unknownType(req.TypeName)}
}

// ReadResource implements providers.Provider. A gpu_requirement has nothing
// outside sdform that could drift: PlanResource re-evaluates it every plan.
func (p *Provider) ReadResource(_ context.Context, req providers.ReadRequest) providers.ReadResponse {
	if req.TypeName != typeRequirement {
		return providers.ReadResponse{NewState: req.Prior, Diagnostics: unknownType(req.TypeName)}
	}
	return providers.ReadResponse{NewState: req.Prior, Private: req.Private}
}

// ReadData implements providers.Provider.
func (p *Provider) ReadData(_ context.Context, req providers.ReadDataRequest) providers.ReadDataResponse {
	if req.TypeName != typeHost {
		return providers.ReadDataResponse{State: cty.NullVal(hostSchema.ImpliedType()), Diagnostics: unknownType(req.TypeName)}
	}
	return p.readHostData(req)
}

// PlanResource implements providers.Provider.
func (p *Provider) PlanResource(_ context.Context, req providers.PlanRequest) providers.PlanResponse {
	if req.TypeName != typeRequirement {
		return providers.PlanResponse{Planned: req.Proposed, Diagnostics: unknownType(req.TypeName)}
	}
	return p.planRequirement(req)
}

// ApplyResource implements providers.Provider.
func (p *Provider) ApplyResource(_ context.Context, req providers.ApplyRequest) providers.ApplyResponse {
	if req.TypeName != typeRequirement {
		return providers.ApplyResponse{NewState: req.Prior, Diagnostics: unknownType(req.TypeName)}
	}
	return p.applyRequirement(req)
}

// Close implements providers.Provider: it shuts NVML down if it was
// initialised.
func (p *Provider) Close() error {
	// Run the Once so that an init racing with Close cannot happen after it.
	p.once.Do(func() { p.initErr = errors.New("provider closed") })
	if !p.inited {
		return nil
	}
	p.inited = false
	return p.drv.shutdown()
}

// host initialises NVML once and reads the host's facts.
func (p *Provider) host() (*Host, error) {
	p.once.Do(func() {
		p.initErr = p.drv.init()
		p.inited = p.initErr == nil
	})
	if p.initErr != nil {
		return nil, p.initErr
	}
	return p.drv.read()
}

// errNoGPU reports a driver that sees no device (a CPU-only cloud image
// with the driver installed, or all GPUs hidden by the container runtime).
func errNoGPU(h *Host) error {
	return fmt.Errorf("no NVIDIA GPU found: driver %s reports 0 devices", h.DriverVersion)
}

// unavailable turns a failure to read the host into one diagnostic: an
// error, or a warning when the block says optional = true.
func unavailable(err error, optional bool, addr string) providers.Diagnostic {
	if optional {
		return providers.Diagnostic{
			Severity: providers.Warning,
			Summary:  err.Error(),
			Detail:   fmt.Sprintf("%s sets optional = true, so sdform goes on without GPU facts: its values are null and no GPU requirement is met.", addr),
		}
	}
	return providers.Diagnostic{
		Severity: providers.Error,
		Summary:  err.Error(),
		Detail:   fmt.Sprintf("%s needs NVML, which comes with the NVIDIA driver. Set optional = true in its block to plan on a machine without a GPU.", addr),
	}
}

func unknownType(name string) providers.Diagnostics {
	return providers.Diagnostics{}.Errorf(nil, "Unknown type", "The gpu provider has no type named %q; it has gpu_host (data) and gpu_requirement.", name)
}
