package docker

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/moby/buildkit/frontend/dockerfile/parser"
	digest "github.com/opencontainers/go-digest"
	ocispecs "github.com/opencontainers/image-spec/specs-go/v1"
	"github.com/sdform/sdform/providers"
	"github.com/sdform/sdform/providers/docker/dockerfile"
	"github.com/zclconf/go-cty/cty"
)

// prediction is what a build of a config would do, as far as the plan can
// know: package dockerfile's analysis, plus sdform's fingerprint of the
// image the build would produce.
type prediction struct {
	// Fingerprint digests every input that shapes the image; equal
	// fingerprints mean the build would give the same image.
	Fingerprint string `json:"fingerprint"`
	// Steps is dockerfile's per-step prediction; nil when the Dockerfile
	// could not be analysed.
	Steps *dockerfile.Prediction `json:"steps,omitempty"`
	// Summary is the "N cached, M to run (first change: …)" line with the
	// Dockerfile named relative to the configuration.
	Summary string `json:"summary,omitempty"`
	// FirstChange names the first step that runs: "docker/Dockerfile:42
	// RUN make"; FirstReason says why it runs ("files changed: a.txt").
	FirstChange string `json:"first_change,omitempty"`
	FirstReason string `json:"first_reason,omitempty"`
	// ImageConfig is the digest of the image config the build would give
	// (dockerfile.Result.ImageConfig), to word a rebuild in which no step
	// runs.
	ImageConfig string `json:"image_config,omitempty"`
	// Notes are what the plan cannot know.
	Notes []string `json:"notes,omitempty"`
	// Syntax is the `# syntax=` frontend image, "" when none.
	Syntax     string `json:"-"`
	SyntaxLine int    `json:"-"`
	// After12 is what in the Dockerfile an old built-in frontend cannot
	// parse (dockerfile.SyntaxAfter12).
	After12 []dockerfile.SyntaxUse `json:"-"`
	// Diagnostics are the analysis' findings about what the user wrote.
	Diagnostics providers.Diagnostics `json:"-"`
}

// keys are the keys to remember once the build succeeded.
func (pr *prediction) keys() []string {
	if pr.Steps == nil {
		return nil
	}
	return pr.Steps.Keys
}

// analysis is the dockerfile.Input for cfg.
func (p *Provider) analysis(cfg *imageConfig, res dockerfile.BaseImageResolver, history dockerfile.KeyHistory) (dockerfile.Input, error) {
	dt, err := os.ReadFile(cfg.Dockerfile)
	if err != nil {
		return dockerfile.Input{}, err
	}
	in := dockerfile.Input{
		Dockerfile:     dt,
		DockerfilePath: cfg.Dockerfile,
		DisplayName:    rel(p.env.ConfigDir, cfg.Dockerfile),
		ContextDir:     cfg.ContextDir,
		Target:         cfg.Target,
		BuildArgs:      cfg.Args,
		NamedContexts:  cfg.Contexts,
		Platform:       cfg.Platform,
		Resolver:       res,
		PriorKeys:      history,
		NoCache:        cfg.NoCache,
	}
	for _, id := range sortedKeys(cfg.Secrets) {
		in.SecretIDs = append(in.SecretIDs, id)
		in.SecretValues = append(in.SecretValues, cfg.Secrets[id])
	}
	// A secret whose value is not known yet is passed all the same; its
	// value is compared with nothing.
	in.SecretIDs = append(in.SecretIDs, cfg.UnknownSecrets...)
	in.UnsetSecretIDs = cfg.UnsetSecrets
	in.UnknownArgs, in.ArgNamesUnknown, in.SecretIDsUnknown = cfg.UnknownArgs, cfg.ArgsUnknown, cfg.SecretsUnknown
	if p.env.DataDir != "" {
		in.CacheDir = filepath.Join(p.env.DataDir, "cache", "docker-context")
	}
	return in, nil
}

// predict analyses the Dockerfile with package dockerfile (parse, lint,
// build-arg and secret checks, per-step cache prediction against history)
// and digests the inputs into a fingerprint. res is nil when no builder or
// registry can be asked; steps over base images are then uncertain.
func (p *Provider) predict(ctx context.Context, cfg *imageConfig, res *baseResolver, history dockerfile.KeyHistory) *prediction {
	return p.examine(ctx, cfg, res, history, dockerfile.Analyze)
}

// lint is predict without the prediction (dockerfile.Lint): the findings
// only, without hashing the build context, for validate.
func (p *Provider) lint(ctx context.Context, cfg *imageConfig) *prediction {
	return p.examine(ctx, cfg, nil, nil, dockerfile.Lint)
}

func (p *Provider) examine(ctx context.Context, cfg *imageConfig, res *baseResolver, history dockerfile.KeyHistory, analyze func(context.Context, dockerfile.Input) (*dockerfile.Result, error)) *prediction {
	pr := &prediction{}
	relFile := rel(p.env.ConfigDir, cfg.Dockerfile)
	var r dockerfile.BaseImageResolver
	if res != nil {
		r = res
	}
	in, err := p.analysis(cfg, r, history)
	if err != nil {
		pr.Diagnostics = pr.Diagnostics.Errorf(cty.GetAttrPath("dockerfile"), "Unreadable Dockerfile", "sdform could not read the Dockerfile %s: %v.", relFile, err)
		return pr
	}
	if syn, _, rng, ok := parser.DetectSyntax(in.Dockerfile); ok {
		pr.Syntax = syn
		if len(rng) > 0 {
			pr.SyntaxLine = rng[0].Start.Line
		}
	}
	pr.After12 = dockerfile.SyntaxAfter12(in.Dockerfile)
	result, err := analyze(ctx, in)
	if err != nil {
		pr.Diagnostics = pr.Diagnostics.Errorf(cty.GetAttrPath("context"), "Build inputs unreadable", "sdform could not analyse the build of %s: %v.", relFile, err)
		return pr
	}
	pr.Diagnostics = findingDiags(result.Findings, cfg, relFile)
	if res != nil {
		pr.Notes = append(pr.Notes, res.notes()...)
	}
	if result.Prediction == nil {
		return pr
	}
	pr.Steps = result.Prediction
	pr.Summary = result.Prediction.Summary
	if fc := result.Prediction.FirstChange; fc != nil {
		pr.FirstChange = fmt.Sprintf("%s:%d %s", relFile, fc.Line, fc.Instruction)
		pr.FirstReason = fc.Reason
	}
	pr.ImageConfig = result.ImageConfig
	pr.Fingerprint = fingerprint(cfg, pr.Syntax, result)
	return pr
}

// fingerprint digests what shapes the image: the step and part keys of the
// prediction (content of what COPY selects, the environment each RUN sees,
// base image digests), the image config the Dockerfile gives the target
// (CMD, ENV, LABEL…), the frontend (`# syntax=`), build args, labels,
// target and platform. Equal fingerprints mean no build is needed; the
// Dockerfile's text is not in it, so a comment rebuilds nothing.
func fingerprint(cfg *imageConfig, syntax string, r *dockerfile.Result) string {
	h := sha256.New()
	field := func(k, v string) { fmt.Fprintf(h, "%s\x00%s\x00", k, v) }
	field("image-config", r.ImageConfig)
	field("syntax", syntax)
	field("target", cfg.Target)
	field("platform", cfg.Platform)
	for _, k := range sortedKeys(cfg.Args) {
		field("arg:"+k, cfg.Args[k])
	}
	for _, k := range sortedKeys(cfg.Labels) {
		field("label:"+k, cfg.Labels[k])
	}
	for _, img := range r.Images {
		field("image:"+img.Ref, img.Digest)
	}
	for _, k := range r.Prediction.Keys {
		field("key", k)
	}
	return "sha256:" + hex.EncodeToString(h.Sum(nil))
}

// findingDiags turns the analysis' findings into diagnostics on the
// Dockerfile's lines.
func findingDiags(fs []dockerfile.Finding, cfg *imageConfig, relFile string) providers.Diagnostics {
	var out providers.Diagnostics
	for _, f := range fs {
		d := providers.Diagnostic{Severity: providers.Warning, Summary: f.Summary, Detail: f.Message, File: relFile, Line: f.Line}
		if f.Severity == dockerfile.Error {
			d.Severity = providers.Error
		}
		if d.Summary == "" {
			d.Summary = f.Rule
		}
		if f.URL != "" {
			// BuildKit's lint messages have no full stop of their own.
			if !strings.HasSuffix(d.Detail, ".") && !strings.HasSuffix(d.Detail, "?") && !strings.HasSuffix(d.Detail, "!") {
				d.Detail += "."
			}
			d.Detail += " See " + f.URL + "."
		}
		if f.Line == 0 {
			// Findings about what the resource passes (a build arg no ARG
			// declares) point at the argument rather than the file.
			d.File = ""
			switch f.Rule {
			case "UndeclaredBuildArg", "SecretInBuildArg":
				d.Attribute = cty.GetAttrPath("args")
			case "MissingSecret":
				d.Attribute = cty.GetAttrPath("secrets")
			}
		}
		out = append(out, d)
	}
	return out
}

// history turns the remembered builds into the analysis' key history.
func (priv *imagePrivate) history() dockerfile.KeyHistory {
	h := dockerfile.KeyHistory{}
	for _, b := range priv.History {
		h.Record(b.Keys, b.Time)
	}
	return h
}

// resolveTimeout bounds one base image lookup in a registry.
const resolveTimeout = 10 * time.Second

// baseResolver resolves base images for the analysis: in the Docker Engine's
// store first on the docker backend (its BuildKit builds from it), then in
// the registry. A reference that does not exist is an error (the plan fails
// naming it); one that cannot be checked (registry unreachable, no builder)
// is left unresolved, which the prediction reports as uncertain.
type baseResolver struct {
	p        *Provider
	b        *builder // nil when no builder answered
	platform string
}

// resolution is one cached base image lookup.
type resolution struct {
	digest string
	config []byte
	err    error
	note   string
}

func (r *baseResolver) ResolveImage(ctx context.Context, ref string) (string, []byte, error) {
	key := r.platform + "\x00" + ref
	if v, ok := r.p.resolved.Load(key); ok {
		res := v.(resolution)
		return res.digest, res.config, res.err
	}
	res := r.resolve(ctx, ref)
	r.p.resolved.Store(key, res)
	return res.digest, res.config, res.err
}

func (r *baseResolver) resolve(ctx context.Context, ref string) resolution {
	var engineErr error
	if r.b != nil && r.b.engineStore {
		dg, cfg, err := engineStore{r.b.engine}.config(ctx, ref)
		if err == nil {
			return resolution{digest: dg, config: cfg}
		}
		if !errors.Is(err, errNotFound) {
			return resolution{note: fmt.Sprintf("cannot resolve %s in the Docker Engine: %v", ref, err)}
		}
		engineErr = err
	}
	// A registry that does not answer must not hold up the plan: the base
	// then stays unresolved, which the prediction reports as uncertain.
	rctx, cancel := context.WithTimeout(ctx, resolveTimeout)
	defer cancel()
	dg, cfg, err := (registry{cfg: r.p.cfg}).config(rctx, ref, r.platform)
	switch {
	case err == nil:
		return resolution{digest: dg, config: cfg}
	case errors.Is(err, errNotFound) && engineErr != nil:
		return resolution{err: fmt.Errorf("not in the Docker Engine's image store, and %w", err)}
	case errors.Is(err, errNotFound):
		return resolution{err: err}
	case engineErr != nil:
		return resolution{note: fmt.Sprintf("cannot resolve %s: it is not in the Docker Engine's image store, and its registry could not be asked (%v)", ref, err)}
	}
	return resolution{note: fmt.Sprintf("cannot resolve %s: %v", ref, err)}
}

// notes lists the base images that could not be checked.
func (r *baseResolver) notes() []string {
	var out []string
	r.p.resolved.Range(func(k, v any) bool {
		if n := v.(resolution).note; n != "" && strings.HasPrefix(k.(string), r.platform+"\x00") {
			out = append(out, n)
		}
		return true
	})
	return out
}

// config returns an Engine image's ID and an OCI config for it, built from
// the inspect response (the Engine API has no raw config endpoint).
func (e engineStore) config(ctx context.Context, ref string) (string, []byte, error) {
	res, err := e.c.ImageInspect(ctx, ref)
	if err != nil {
		return "", nil, engineErr("inspect image "+ref, err)
	}
	img := ocispecs.Image{Platform: ocispecs.Platform{OS: res.Os, Architecture: res.Architecture, Variant: res.Variant}}
	if res.Config != nil {
		img.Config = res.Config.ImageConfig
	}
	img.RootFS.Type = "layers"
	for _, l := range res.RootFS.Layers {
		img.RootFS.DiffIDs = append(img.RootFS.DiffIDs, digest.Digest(l))
	}
	dt, err := json.Marshal(img)
	if err != nil {
		return "", nil, fmt.Errorf("encode config of %s: %w", ref, err)
	}
	return res.ID, dt, nil
}

// config returns the manifest digest and raw config of an image in its
// registry, for the given platform (this machine's when empty).
func (r registry) config(ctx context.Context, ref, platform string) (string, []byte, error) {
	n, err := r.parseRef(ref)
	if err != nil {
		return "", nil, err
	}
	pl := v1.Platform{OS: "linux", Architecture: runtime.GOARCH}
	if platform != "" {
		p, err := v1.ParsePlatform(platform)
		if err != nil {
			return "", nil, fmt.Errorf("parse platform %q: %w", platform, err)
		}
		pl = *p
	}
	opts := append(r.options(ctx), remote.WithPlatform(pl))
	img, err := remote.Image(n, opts...)
	if err != nil {
		return "", nil, registryErr("resolve "+ref, err)
	}
	dg, err := img.Digest()
	if err != nil {
		return "", nil, registryErr("resolve "+ref, err)
	}
	cfg, err := img.RawConfigFile()
	if err != nil {
		return "", nil, registryErr("read config of "+ref, err)
	}
	return dg.String(), cfg, nil
}

// rel shows p relative to the configuration directory when it is inside it.
func rel(dir, p string) string {
	if r, err := filepath.Rel(dir, p); err == nil && !strings.HasPrefix(r, "..") {
		return r
	}
	return p
}
