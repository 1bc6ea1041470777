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
	test  *imageTestType
	// testRefs maps image IDs to references, for tests on a standalone
	// BuildKit (see testRefs.note).
	testRefs testRefs
	// tags records the tags each docker_image was validated or planned
	// with, so that two that share one are refused.
	tags tagClaims
	// pending records the tags that wait for a build's promotion, so that
	// a docker_image_test naming one tests that build.
	pending pendingBuilds
	// goneBuilds keeps, by address, the build record of an image that a
	// refresh found deleted or retagged: the engine forgets a gone object's
	// private data, but BuildKit still has the steps cached, and plan
	// predicts with the record (see imageType.read).
	goneBuilds sync.Map // address → *imagePrivate
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
	p.test = &imageTestType{p: p}
	return p
}

// Schema returns the provider block, docker_image and docker_image_test.
func (p *Provider) Schema() providers.ProviderSchema {
	return providers.ProviderSchema{
		Provider:  providerSchema(),
		Resources: map[string]*providers.Schema{"docker_image": imageSchema(), "docker_image_test": imageTestSchema()},
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
	return providers.Diagnostics{}.Errorf(nil, "Unknown resource type", "The docker provider has no resource type %q; it has docker_image and docker_image_test.", typeName)
}

// ValidateResource checks a config offline.
func (p *Provider) ValidateResource(ctx context.Context, req providers.ValidateRequest) providers.ValidateResponse {
	switch req.TypeName {
	case "docker_image":
		return p.image.validate(ctx, req)
	case "docker_image_test":
		return p.test.validate(ctx, req)
	}
	return providers.ValidateResponse{Diagnostics: unknownType(req.TypeName)}
}

// ReadResource refreshes a managed resource.
func (p *Provider) ReadResource(ctx context.Context, req providers.ReadRequest) providers.ReadResponse {
	switch req.TypeName {
	case "docker_image":
		resp := p.image.read(ctx, req)
		p.testRefs.note(resp.NewState, resp.Private)
		p.pending.note(req.Address, resp.NewState, resp.Private)
		return resp
	case "docker_image_test":
		return p.test.read(ctx, req)
	}
	return providers.ReadResponse{NewState: req.Prior, Diagnostics: unknownType(req.TypeName)}
}

// ReadData reads a data source; the docker provider has none.
func (p *Provider) ReadData(_ context.Context, req providers.ReadDataRequest) providers.ReadDataResponse {
	return providers.ReadDataResponse{State: cty.NullVal(cty.DynamicPseudoType), Diagnostics: providers.Diagnostics{}.Errorf(nil, "Unknown data source", "The docker provider has no data source %q.", req.TypeName)}
}

// PlanResource proposes the new value of a managed resource.
func (p *Provider) PlanResource(ctx context.Context, req providers.PlanRequest) providers.PlanResponse {
	switch req.TypeName {
	case "docker_image":
		p.testRefs.note(req.Prior, req.PriorPrivate)
		p.pending.note(req.Address, req.Prior, req.PriorPrivate)
		return p.image.plan(ctx, req)
	case "docker_image_test":
		return p.test.plan(ctx, req)
	}
	return providers.PlanResponse{Planned: req.Prior, Diagnostics: unknownType(req.TypeName)}
}

// ApplyResource carries out a planned action.
func (p *Provider) ApplyResource(ctx context.Context, req providers.ApplyRequest) providers.ApplyResponse {
	switch req.TypeName {
	case "docker_image":
		resp := p.image.apply(ctx, req)
		p.testRefs.note(resp.NewState, resp.Private)
		p.pending.note(req.Address, resp.NewState, resp.Private)
		return resp
	case "docker_image_test":
		return p.test.apply(ctx, req)
	}
	return providers.ApplyResponse{NewState: req.Prior, Diagnostics: unknownType(req.TypeName)}
}

// Promote moves an image's tags once its tests passed. A test result has
// nothing to promote.
func (p *Provider) Promote(ctx context.Context, req providers.PromoteRequest) providers.PromoteResponse {
	switch req.TypeName {
	case "docker_image":
		resp := p.image.promote(ctx, req)
		p.testRefs.note(resp.NewState, resp.Private)
		p.pending.note(req.Address, resp.NewState, resp.Private)
		return resp
	case "docker_image_test":
		return providers.PromoteResponse{NewState: req.State, Private: req.Private}
	}
	return providers.PromoteResponse{NewState: req.State, Private: req.Private, Diagnostics: unknownType(req.TypeName)}
}

// Rollback moves an image's tags back to what they pointed to before its
// last promotion. A test result has no earlier version to go back to.
func (p *Provider) Rollback(ctx context.Context, req providers.RollbackRequest) providers.RollbackResponse {
	switch req.TypeName {
	case "docker_image":
		return p.image.rollback(ctx, req)
	case "docker_image_test":
		return providers.RollbackResponse{NewState: req.State, Private: req.Private, Diagnostics: providers.Diagnostics{}.Errorf(nil, "Rollback unsupported",
			"%s records a test run and keeps no previous version; roll back the docker_image it tests (sdform rollback docker_image.NAME).", req.Address)}
	}
	return providers.RollbackResponse{NewState: req.State, Private: req.Private, Diagnostics: unknownType(req.TypeName)}
}
