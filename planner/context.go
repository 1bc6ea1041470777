package planner

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"

	"github.com/hashicorp/hcl/v2"
	"github.com/sdform/sdform/lang"
	"github.com/sdform/sdform/providers"
	"github.com/zclconf/go-cty/cty"
)

// DefaultParallelism is how many provider calls run at once unless told
// otherwise.
const DefaultParallelism = 4

// ContextOptions tune a Context.
type ContextOptions struct {
	// Parallelism bounds the provider calls in flight (refresh, plan,
	// apply); 0 means DefaultParallelism. plan.Options.Parallelism, when
	// set, wins for that plan and its apply.
	Parallelism int
	// UIFor returns the UI handed to the provider for one object's apply or
	// promotion (the CLI prefixes lines with the address). Nil means no
	// output.
	UIFor func(addr string) providers.UI
}

// Context plans and applies one configuration. It owns the providers it
// instantiates: each is configured once, on first use, and closed by Close.
// A Context may run Validate, Plan and Apply in any order, but one at a
// time.
type Context struct {
	cfg  *lang.Config
	vars map[string]cty.Value
	reg  *providers.Registry
	env  providers.Env
	opts ContextOptions

	mu        sync.Mutex
	providers map[string]*providerInst
	// secrets are found and hidden in what providers return and print.
	secrets *secretSet
}

// NewContext returns a Context for cfg with resolved variable values (from
// lang.Config.VariableValues: sensitive ones marked).
func NewContext(cfg *lang.Config, vars map[string]cty.Value, reg *providers.Registry, env providers.Env, opts ContextOptions) *Context {
	if env.UI.Out == nil {
		env.UI.Out = io.Discard
	}
	if env.ConfigDir == "" {
		env.ConfigDir = cfg.Dir
	}
	c := &Context{cfg: cfg, vars: vars, reg: reg, env: env, opts: opts, providers: map[string]*providerInst{}, secrets: &secretSet{}}
	for _, v := range vars {
		c.secrets.addMarked(v)
	}
	c.env.UI.Out = c.secrets.writer(env.UI.Out)
	c.env.UI.Scrub = c.secrets.scrub
	return c
}

// Graph returns the dependency graph of the configuration, with diagnostics
// for undefined references and cycles.
func (c *Context) Graph() (*Graph, hcl.Diagnostics) { return buildGraph(c.cfg) }

// Close closes every provider this Context configured or instantiated.
func (c *Context) Close() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	var errs []error
	for _, name := range sortedKeys(c.providers) {
		if err := c.providers[name].p.Close(); err != nil {
			errs = append(errs, fmt.Errorf("close provider %s: %w", name, err))
		}
	}
	c.providers = map[string]*providerInst{}
	return errors.Join(errs...)
}

func (c *Context) parallelism(n int) int {
	switch {
	case n > 0:
		return n
	case c.opts.Parallelism > 0:
		return c.opts.Parallelism
	}
	return DefaultParallelism
}

func (c *Context) uiFor(addr string) providers.UI {
	if c.opts.UIFor != nil {
		ui := c.opts.UIFor(addr)
		if ui.Out == nil {
			ui.Out = io.Discard
		}
		ui.Out = c.secrets.writer(ui.Out)
		ui.Scrub = c.secrets.scrub
		return ui
	}
	return providers.UI{Out: io.Discard}
}

// providerInst is one provider of this Context.
type providerInst struct {
	name   string
	p      providers.Provider
	schema providers.ProviderSchema

	once  sync.Once
	diags hcl.Diagnostics
}

// provider returns the instance for a provider name, creating it on first
// use (no I/O: factories and Schema do none).
func (c *Context) provider(name string) (*providerInst, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if pi := c.providers[name]; pi != nil {
		return pi, nil
	}
	if c.reg == nil {
		return nil, errors.New("no provider registry")
	}
	f, err := c.reg.Factory(name)
	if err != nil {
		return nil, err
	}
	p := f()
	pi := &providerInst{name: name, p: p, schema: p.Schema()}
	c.providers[name] = pi
	return pi, nil
}

// configure configures the provider once with cfg (the decoded provider
// block, or the decoding of an empty body); later calls return the first
// call's diagnostics.
func (pi *providerInst) configure(ctx context.Context, cfg cty.Value, env providers.Env, decl *hcl.Range, body hcl.Body) hcl.Diagnostics {
	pi.once.Do(func() {
		resp := pi.p.Configure(ctx, providers.ConfigureRequest{Config: cfg, Env: env})
		pi.diags = convertDiags("provider "+pi.name, resp.Diagnostics, body, decl, env.ConfigDir)
	})
	return pi.diags
}

// typeSchema finds the schema of a resource or data type, with a
// diagnostic when the provider or the type does not exist.
func (c *Context) typeSchema(r *lang.Resource) (*providerInst, *providers.Schema, hcl.Diagnostics) {
	typ := r.Addr.Type
	name := r.Provider()
	pi, err := c.provider(name)
	if err != nil {
		known := "none"
		if c.reg != nil && len(c.reg.Names()) > 0 {
			known = strings.Join(c.reg.Names(), ", ")
		}
		detail := fmt.Sprintf("There is no provider %q for the type %s (a type's provider is the part of its name before the first underscore); known providers: %s.", name, typ, known)
		if sug := lang.Suggest(typ, c.allTypes(r.Addr.Mode)); sug != "" {
			detail += fmt.Sprintf(" Did you mean %s?", sug)
		}
		return nil, nil, hcl.Diagnostics{{
			Severity: hcl.DiagError,
			Summary:  "No provider for type " + typ,
			Detail:   detail,
			Subject:  r.TypeRange.Ptr(),
		}}
	}
	types := pi.schema.Resources
	what := "resource type"
	if r.Addr.Mode == lang.Data {
		types = pi.schema.DataSources
		what = "data source"
	}
	s := types[typ]
	if s == nil {
		detail := fmt.Sprintf("The %s provider has no %s %s.", name, what, typ)
		if sug := lang.Suggest(typ, sortedKeys(types)); sug != "" {
			detail += fmt.Sprintf(" Did you mean %s?", sug)
		} else if len(types) > 0 {
			detail += fmt.Sprintf(" It has: %s.", strings.Join(sortedKeys(types), ", "))
		}
		return nil, nil, hcl.Diagnostics{{
			Severity: hcl.DiagError,
			Summary:  "Unknown " + what,
			Detail:   detail,
			Subject:  r.TypeRange.Ptr(),
		}}
	}
	return pi, s, nil
}

// allTypes lists the resource types (or data sources) of every registered
// provider, for "did you mean" when a type's prefix names none. Only
// mistakes get here, so instantiating providers (no I/O) is fine.
func (c *Context) allTypes(mode lang.Mode) []string {
	if c.reg == nil {
		return nil
	}
	var out []string
	for _, name := range c.reg.Names() {
		pi, err := c.provider(name)
		if err != nil {
			continue
		}
		types := pi.schema.Resources
		if mode == lang.Data {
			types = pi.schema.DataSources
		}
		out = append(out, sortedKeys(types)...)
	}
	return out
}

// decodeProvider decodes a provider block (or nothing) with the provider's
// schema in ectx.
func decodeProvider(pi *providerInst, pb *lang.ProviderBlock, ectx *hcl.EvalContext) (cty.Value, hcl.Diagnostics) {
	var body hcl.Body = hcl.EmptyBody()
	if pb != nil {
		body = pb.Config
	}
	spec := pi.schema.Provider.DecoderSpec()
	v, diags := decodeBody(body, spec, ectx)
	if pi.schema.Provider != nil {
		diags = append(diags, readOnlyDiags(pi.schema.Provider, v, body, declOf(pb), nil, "provider "+pi.name)...)
	}
	return v, diags
}

func declOf(pb *lang.ProviderBlock) *hcl.Range {
	if pb == nil {
		return nil
	}
	return pb.DeclRange.Ptr()
}
