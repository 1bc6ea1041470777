package comfyui

import (
	"context"
	"errors"
	"math/big"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/zclconf/go-cty/cty"

	"github.com/sdform/sdform/lang"
	"github.com/sdform/sdform/providers"
	"github.com/sdform/sdform/providers/comfyui/download"
)

// Provider is the comfyui provider. It holds the settings of the provider
// block and dispatches each call to the resource type named in it.
type Provider struct {
	env    providers.Env
	cfg    settings
	client *download.Client
	types  map[string]resourceType
}

var _ providers.Provider = (*Provider)(nil)

// resourceType is one resource type of this provider, one file each. The
// Provider calls it only after Configure, except for schema.
type resourceType interface {
	schema() *providers.Schema
	validate(ctx context.Context, req providers.ValidateRequest) providers.ValidateResponse
	read(ctx context.Context, req providers.ReadRequest) providers.ReadResponse
	plan(ctx context.Context, req providers.PlanRequest) providers.PlanResponse
	apply(ctx context.Context, req providers.ApplyRequest) providers.ApplyResponse
}

// closer is implemented by types that hold something until Close (the
// ComfyUI servers of comfyui_workflow).
type closer interface{ close() error }

// New returns an unconfigured comfyui provider. It does no I/O.
func New() providers.Provider {
	p := &Provider{}
	// Every resource type of the provider is listed here.
	p.types = map[string]resourceType{
		"comfyui_model":    &modelType{p: p},
		"comfyui_workflow": newWorkflowType(p),
	}
	return p
}

// settings are the provider block's values after defaults.
type settings struct {
	// ModelsDir is the default models folder as written ("models") and
	// ModelsDirAbs the same resolved against the config directory.
	ModelsDir, ModelsDirAbs string
	Token                   string
	Endpoint                string
	Connections             int
}

var providerSchema = &providers.Schema{
	Description: "Settings shared by comfyui_model downloads.",
	Attributes: map[string]*providers.Attribute{
		"models_dir": {Type: cty.String, Optional: true,
			Description: `ComfyUI's models folder, relative to the configuration directory; "models" by default. A comfyui_model may name another.`},
		"token": {Type: cty.String, Optional: true, Sensitive: true,
			Description: "Hugging Face token, sent only to the hub's own host; HF_TOKEN from the environment when unset."},
		"hf_endpoint": {Type: cty.String, Optional: true,
			Description: "Hugging Face endpoint or mirror; HF_ENDPOINT from the environment, else https://huggingface.co."},
		"connections": {Type: cty.Number, Optional: true,
			Description: "Most parallel ranged connections per large file (default 8): one opens first and more join while the hash keeps up, so a fast local server is read on one and a server capped per connection on all 8."},
	},
}

// Schema implements providers.Provider.
func (p *Provider) Schema() providers.ProviderSchema {
	res := make(map[string]*providers.Schema, len(p.types))
	for name, t := range p.types {
		res[name] = t.schema()
	}
	return providers.ProviderSchema{Provider: providerSchema, Resources: res, DataSources: map[string]*providers.Schema{}}
}

// Configure implements providers.Provider. It reads the provider block and
// HF_TOKEN/HF_ENDPOINT; it opens no connection.
func (p *Provider) Configure(_ context.Context, req providers.ConfigureRequest) providers.ConfigureResponse {
	var diags providers.Diagnostics
	p.env = req.Env
	s := settings{ModelsDir: "models", Connections: 8, Token: os.Getenv("HF_TOKEN"), Endpoint: os.Getenv("HF_ENDPOINT")}
	cfg := req.Config
	if !cfg.IsNull() && cfg.IsKnown() {
		cfg, _ = cfg.UnmarkDeep()
		if v, ok := str(cfg, "models_dir"); ok {
			if v == "" {
				diags = diags.Errorf(cty.GetAttrPath("models_dir"), "Empty models_dir", "The comfyui provider's models_dir must name a folder.")
			}
			s.ModelsDir = v
		}
		if v, ok := str(cfg, "token"); ok && v != "" {
			s.Token = v
		}
		if v, ok := str(cfg, "hf_endpoint"); ok {
			s.Endpoint = v
		}
		if n, ok, isInt := num(cfg, "connections"); ok {
			if !isInt || n < 1 || n > 64 {
				diags = diags.Errorf(cty.GetAttrPath("connections"), "Invalid connections",
					"The comfyui provider's connections must be a whole number from 1 to 64.")
			} else {
				s.Connections = int(n)
			}
		}
	}
	if s.Endpoint != "" {
		u, err := url.Parse(s.Endpoint)
		if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
			diags = diags.Errorf(cty.GetAttrPath("hf_endpoint"), "Invalid hf_endpoint",
				"The Hugging Face endpoint %q (from the provider block or HF_ENDPOINT) must be an http(s) URL.", download.Redact(s.Endpoint))
		}
	}
	s.ModelsDirAbs = p.abs(s.ModelsDir)
	p.cfg = s
	p.client = &download.Client{Endpoint: s.Endpoint, Token: s.Token, UserAgent: "sdform/" + lang.Version, BaseDir: p.abs(".")}
	return providers.ConfigureResponse{Diagnostics: diags}
}

// configured reports whether Configure ran: validate runs without it.
func (p *Provider) configured() bool { return p.client != nil }

// abs resolves a path from the configuration against its directory.
func (p *Provider) abs(path string) string {
	if filepath.IsAbs(path) {
		return filepath.Clean(path)
	}
	base := p.env.ConfigDir
	if base == "" {
		base, _ = os.Getwd()
	}
	return filepath.Join(base, path)
}

// ValidateResource implements providers.Provider.
func (p *Provider) ValidateResource(ctx context.Context, req providers.ValidateRequest) providers.ValidateResponse {
	t, diags := p.typeOf(req.TypeName)
	if t == nil {
		return providers.ValidateResponse{Diagnostics: diags}
	}
	return t.validate(ctx, req)
}

// ReadResource implements providers.Provider.
func (p *Provider) ReadResource(ctx context.Context, req providers.ReadRequest) providers.ReadResponse {
	t, diags := p.typeOf(req.TypeName)
	if t == nil {
		return providers.ReadResponse{NewState: req.Prior, Private: req.Private, Diagnostics: diags}
	}
	return t.read(ctx, req)
}

// ReadData implements providers.Provider; the provider has no data sources.
func (p *Provider) ReadData(_ context.Context, req providers.ReadDataRequest) providers.ReadDataResponse {
	_, diags := p.typeOf(req.TypeName)
	return providers.ReadDataResponse{State: cty.NullVal(cty.DynamicPseudoType), Diagnostics: diags}
}

// PlanResource implements providers.Provider.
func (p *Provider) PlanResource(ctx context.Context, req providers.PlanRequest) providers.PlanResponse {
	t, diags := p.typeOf(req.TypeName)
	if t == nil {
		return providers.PlanResponse{Planned: req.Prior, Diagnostics: diags}
	}
	return t.plan(ctx, req)
}

// ApplyResource implements providers.Provider.
func (p *Provider) ApplyResource(ctx context.Context, req providers.ApplyRequest) providers.ApplyResponse {
	t, diags := p.typeOf(req.TypeName)
	if t == nil {
		return providers.ApplyResponse{NewState: req.Prior, Diagnostics: diags}
	}
	return t.apply(ctx, req)
}

// Close implements providers.Provider.
func (p *Provider) Close() error {
	var errs []error
	for _, t := range p.types {
		if c, ok := t.(closer); ok {
			if err := c.close(); err != nil {
				errs = append(errs, err)
			}
		}
	}
	// The engine adds "close provider comfyui: "; Join keeps each error
	// wrapped and on a line of its own.
	return errors.Join(errs...)
}

func (p *Provider) typeOf(name string) (resourceType, providers.Diagnostics) {
	if t, ok := p.types[name]; ok {
		return t, nil
	}
	known := make([]string, 0, len(p.types))
	for n := range p.types {
		known = append(known, n)
	}
	sort.Strings(known)
	return nil, providers.Diagnostics{}.Errorf(nil, "Unknown resource type",
		"The comfyui provider has no type %q; it has %s.", name, strings.Join(known, ", "))
}

// str returns a known, non-null string attribute (marks removed).
func str(obj cty.Value, name string) (string, bool) {
	v, _ := obj.GetAttr(name).UnmarkDeep()
	if !v.IsKnown() || v.IsNull() {
		return "", false
	}
	return v.AsString(), true
}

// num returns a known, non-null number attribute as an int64 and whether it
// is a whole number.
func num(obj cty.Value, name string) (n int64, ok, isInt bool) {
	v, _ := obj.GetAttr(name).UnmarkDeep()
	if !v.IsKnown() || v.IsNull() {
		return 0, false, false
	}
	bf := v.AsBigFloat()
	if !bf.IsInt() {
		return 0, true, false
	}
	i, acc := bf.Int64()
	return i, true, acc == big.Exact
}
