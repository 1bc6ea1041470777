package docker

import (
	"context"
	"os"
	"sync"
	"sync/atomic"

	"github.com/sdform/sdform/providers"
	"github.com/zclconf/go-cty/cty"
)

// Provider is the docker provider. The zero value is not usable; call New.
type Provider struct {
	env providers.Env
	cfg config

	mu      sync.Mutex
	conn    *builder
	connErr error
	dialed  bool

	// resolved caches base image resolutions for one command.
	resolved sync.Map // platform + "\x00" + ref → resolution

	progress progressHub
	// solves counts Solve calls, so tests can prove a no-op made none.
	solves atomic.Int64

	image *imageType
}

var (
	_ providers.Provider   = (*Provider)(nil)
	_ providers.Promoter   = (*Provider)(nil)
	_ providers.Rollbacker = (*Provider)(nil)
)

// New returns an unconfigured docker provider; it does no I/O.
func New() providers.Provider {
	p := &Provider{}
	p.image = &imageType{p: p}
	return p
}

// Schema returns the provider block and docker_image.
func (p *Provider) Schema() providers.ProviderSchema {
	return providers.ProviderSchema{
		Provider:  providerSchema(),
		Resources: map[string]*providers.Schema{"docker_image": imageSchema()},
	}
}

// Configure decodes the provider block. The builder is not dialled here: plan
// must work on a machine without a daemon.
func (p *Provider) Configure(_ context.Context, req providers.ConfigureRequest) providers.ConfigureResponse {
	cfg, diags := decodeConfig(req.Config, os.Getenv)
	p.cfg, p.env = cfg, req.Env
	return providers.ConfigureResponse{Diagnostics: diags}
}

// builder opens the connection on first need and remembers the outcome for
// the rest of the command, so that a missing daemon costs one attempt.
func (p *Provider) builder(ctx context.Context) (*builder, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if !p.dialed {
		p.conn, p.connErr = dial(ctx, p.cfg)
		p.dialed = true
	}
	return p.conn, p.connErr
}

// Close releases the builder connection.
func (p *Provider) Close() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.conn != nil {
		err := p.conn.close()
		p.conn = nil
		return err
	}
	return nil
}

func unknownType(typeName string) providers.Diagnostics {
	return providers.Diagnostics{}.Errorf(nil, "Unknown resource type", "The docker provider has no resource type %q; it has docker_image.", typeName)
}

// ValidateResource checks a config offline.
func (p *Provider) ValidateResource(ctx context.Context, req providers.ValidateRequest) providers.ValidateResponse {
	if req.TypeName != "docker_image" {
		return providers.ValidateResponse{Diagnostics: unknownType(req.TypeName)}
	}
	return p.image.validate(ctx, req)
}

// ReadResource refreshes a managed resource.
func (p *Provider) ReadResource(ctx context.Context, req providers.ReadRequest) providers.ReadResponse {
	if req.TypeName != "docker_image" {
		return providers.ReadResponse{NewState: req.Prior, Diagnostics: unknownType(req.TypeName)}
	}
	return p.image.read(ctx, req)
}

// ReadData reads a data source; the docker provider has none.
func (p *Provider) ReadData(_ context.Context, req providers.ReadDataRequest) providers.ReadDataResponse {
	return providers.ReadDataResponse{State: cty.NullVal(cty.DynamicPseudoType), Diagnostics: providers.Diagnostics{}.Errorf(nil, "Unknown data source", "The docker provider has no data source %q.", req.TypeName)}
}

// PlanResource proposes the new value of a managed resource.
func (p *Provider) PlanResource(ctx context.Context, req providers.PlanRequest) providers.PlanResponse {
	if req.TypeName != "docker_image" {
		return providers.PlanResponse{Planned: req.Prior, Diagnostics: unknownType(req.TypeName)}
	}
	return p.image.plan(ctx, req)
}

// ApplyResource carries out a planned action.
func (p *Provider) ApplyResource(ctx context.Context, req providers.ApplyRequest) providers.ApplyResponse {
	if req.TypeName != "docker_image" {
		return providers.ApplyResponse{NewState: req.Prior, Diagnostics: unknownType(req.TypeName)}
	}
	return p.image.apply(ctx, req)
}

// Promote moves an image's tags once its tests passed.
func (p *Provider) Promote(ctx context.Context, req providers.PromoteRequest) providers.PromoteResponse {
	if req.TypeName != "docker_image" {
		return providers.PromoteResponse{NewState: req.State, Private: req.Private, Diagnostics: unknownType(req.TypeName)}
	}
	return p.image.promote(ctx, req)
}

// Rollback moves an image's tags back to what they pointed to before its
// last promotion.
func (p *Provider) Rollback(ctx context.Context, req providers.RollbackRequest) providers.RollbackResponse {
	if req.TypeName != "docker_image" {
		return providers.RollbackResponse{NewState: req.State, Private: req.Private, Diagnostics: unknownType(req.TypeName)}
	}
	return p.image.rollback(ctx, req)
}
