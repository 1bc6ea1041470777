package docker

import (
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"

	dockerconfig "github.com/docker/cli/cli/config"
	bkclient "github.com/moby/buildkit/client"
	"github.com/moby/buildkit/session/auth/authprovider"
	"github.com/moby/buildkit/session/secrets/secretsprovider"
	"github.com/moby/buildkit/solver/errdefs"
	"github.com/sdform/sdform/providers"
	"github.com/sdform/sdform/providers/docker/dockerfile"
	"github.com/tonistiigi/fsutil"
	"golang.org/x/sync/errgroup"
)

// errBuildTimeout marks a solve stopped by the resource's timeout.
var errBuildTimeout = errors.New("build timed out")

// buildResult is what one solve produced.
type buildResult struct {
	exporter map[string]string
	vertices []*bkclient.Vertex
}

// buildError is a failed solve, naming the step and Dockerfile line.
type buildError struct {
	step string // vertex name, "" when no step failed
	file string
	line int
	err  error
}

func (e *buildError) Error() string {
	var b strings.Builder
	b.WriteString("build failed")
	if e.step != "" {
		fmt.Fprintf(&b, " at step %q", e.step)
	}
	if e.line > 0 {
		fmt.Fprintf(&b, " (%s:%d)", e.file, e.line)
	}
	fmt.Fprintf(&b, ": %v", e.err)
	return b.String()
}

func (e *buildError) Unwrap() error { return e.err }

// solveOpt turns a docker_image config into BuildKit's solve options.
func solveOpt(b *builder, cfg *imageConfig, names []string) (bkclient.SolveOpt, error) {
	ctxFS, err := fsutil.NewFS(cfg.ContextDir)
	if err != nil {
		return bkclient.SolveOpt{}, fmt.Errorf("open build context %s: %w", cfg.ContextDir, err)
	}
	dfFS, err := fsutil.NewFS(filepath.Dir(cfg.Dockerfile))
	if err != nil {
		return bkclient.SolveOpt{}, fmt.Errorf("open Dockerfile directory %s: %w", filepath.Dir(cfg.Dockerfile), err)
	}
	attrs := map[string]string{"filename": filepath.Base(cfg.Dockerfile)}
	if cfg.Target != "" {
		attrs["target"] = cfg.Target
	}
	if cfg.Platform != "" {
		attrs["platform"] = cfg.Platform
	}
	if cfg.NoCache {
		attrs["no-cache"] = ""
	}
	for k, v := range cfg.Args {
		attrs["build-arg:"+k] = v
	}
	for k, v := range cfg.Labels {
		attrs["label:"+k] = v
	}
	opt := bkclient.SolveOpt{
		Frontend:      "dockerfile.v0",
		FrontendAttrs: attrs,
		LocalMounts:   map[string]fsutil.FS{"context": ctxFS, "dockerfile": dfFS},
	}
	for name, dir := range cfg.Contexts {
		fs, err := fsutil.NewFS(dir)
		if err != nil {
			return bkclient.SolveOpt{}, fmt.Errorf("open named context %s at %s: %w", name, dir, err)
		}
		// The local mount's key is the context name, prefixed so it never
		// collides with "context" or "dockerfile".
		key := "named-" + name
		opt.LocalMounts[key] = fs
		attrs["context:"+name] = "local:" + key
	}
	if b.caps.hostNetwork {
		attrs["force-network-mode"] = "host"
		opt.AllowedEntitlements = []string{"network.host"}
	}
	insecure := false
	for _, n := range names {
		if b.cfg.insecureRegistry(registryHost(n)) {
			insecure = true
		}
	}
	if b.engineStore {
		ex := bkclient.ExportEntry{Type: "moby", Attrs: map[string]string{}}
		if len(names) > 0 {
			ex.Attrs["name"] = strings.Join(names, ",")
		}
		opt.Exports = []bkclient.ExportEntry{ex}
	} else {
		ex := bkclient.ExportEntry{Type: "image", Attrs: map[string]string{}}
		if len(names) > 0 {
			ex.Attrs["name"] = strings.Join(names, ",")
		}
		if cfg.Push && len(names) > 0 {
			ex.Attrs["push"] = "true"
			if insecure {
				ex.Attrs["registry.insecure"] = "true"
			}
		}
		opt.Exports = []bkclient.ExportEntry{ex}
	}
	for _, s := range cfg.CacheFrom {
		e, err := cacheEntry(b.cfg, s, false)
		if err != nil {
			return bkclient.SolveOpt{}, err
		}
		opt.CacheImports = append(opt.CacheImports, e)
	}
	for _, s := range cfg.CacheTo {
		e, err := cacheEntry(b.cfg, s, true)
		if err != nil {
			return bkclient.SolveOpt{}, err
		}
		opt.CacheExports = append(opt.CacheExports, e)
	}
	opt.Session = append(opt.Session, authprovider.NewDockerAuthProvider(authprovider.DockerAuthProviderConfig{
		AuthConfigProvider: authprovider.LoadAuthConfig(dockerconfig.LoadDefaultConfigFile(io.Discard)),
	}))
	if len(cfg.Secrets) > 0 {
		m := make(map[string][]byte, len(cfg.Secrets))
		for k, v := range cfg.Secrets {
			m[k] = []byte(v)
		}
		opt.Session = append(opt.Session, secretsprovider.FromMap(m))
	}
	return opt, nil
}

// cacheEntry reads a cache_from/cache_to entry: a plain registry reference,
// or BuildKit's CSV form ("type=registry,ref=…,mode=max").
func cacheEntry(cfg config, s string, export bool) (bkclient.CacheOptionsEntry, error) {
	e := bkclient.CacheOptionsEntry{Type: "registry", Attrs: map[string]string{}}
	if strings.Contains(s, "=") {
		fields, err := csv.NewReader(strings.NewReader(s)).Read()
		if err != nil {
			return e, fmt.Errorf("parse cache entry %q: %w", s, err)
		}
		for _, f := range fields {
			k, v, _ := strings.Cut(f, "=")
			if k == "type" {
				e.Type = v
			} else {
				e.Attrs[k] = v
			}
		}
	} else {
		e.Attrs["ref"] = s
	}
	if export && e.Attrs["mode"] == "" {
		e.Attrs["mode"] = "max"
	}
	if ref := e.Attrs["ref"]; ref != "" && cfg.insecureRegistry(registryHost(ref)) {
		e.Attrs["registry.insecure"] = "true"
	}
	return e, nil
}

// registryHost is the registry part of an image reference.
func registryHost(ref string) string {
	first, _, ok := strings.Cut(ref, "/")
	if ok && (strings.ContainsAny(first, ".:") || first == "localhost") {
		return first
	}
	return "docker.io"
}

// solve runs one build: Solve beside the progress display in an errgroup,
// the display on an uncancelled context so errors still print.
func (p *Provider) solve(ctx context.Context, b *builder, addr string, cfg *imageConfig, names []string, ui providers.UI) (*buildResult, error) {
	opt, err := solveOpt(b, cfg, names)
	if err != nil {
		return nil, err
	}
	if cfg.Timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, cfg.Timeout)
		defer cancel()
	}
	log := &vertexLog{}
	ch, wait := p.showProgress(addr, ui, log)
	p.solves.Add(1)
	var resp *bkclient.SolveResponse
	eg, ectx := errgroup.WithContext(ctx)
	eg.Go(func() error {
		var err error
		resp, err = b.bk.Solve(ectx, nil, opt, ch)
		return err
	})
	eg.Go(func() error {
		wait()
		return nil
	})
	err = eg.Wait()
	res := &buildResult{vertices: log.list()}
	if err != nil {
		if errors.Is(ctx.Err(), context.DeadlineExceeded) && cfg.Timeout > 0 {
			err = fmt.Errorf("%w after %s (timeout): %v", errBuildTimeout, cfg.Timeout, err)
		}
		return res, describeFailure(err, res.vertices, cfg)
	}
	res.exporter = resp.ExporterResponse
	return res, nil
}

// describeFailure names the failed step and its Dockerfile line.
func describeFailure(err error, vertices []*bkclient.Vertex, cfg *imageConfig) error {
	be := &buildError{err: err, file: cfg.DockerfileRel}
	for _, v := range vertices {
		if v.Error != "" && !strings.Contains(v.Error, context.Canceled.Error()) {
			be.step = v.Name
			break
		}
	}
	for _, src := range errdefs.Sources(err) {
		if src.Info != nil && len(src.Ranges) > 0 && src.Ranges[0].Start != nil {
			be.line = int(src.Ranges[0].Start.Line)
			break
		}
	}
	if be.line == 0 && be.step != "" {
		be.line = lineOfStep(cfg.Dockerfile, be.step)
	}
	return be
}

// instruction strips the "[stage n/m] " prefix from a step vertex's name;
// ok is false for vertices that are not Dockerfile steps (FROM is a pull).
func instruction(name string) (string, bool) {
	_, _, _, ins, ok := dockerfile.ParseVertexName(name)
	if !ok || strings.HasPrefix(strings.ToUpper(ins), "FROM ") {
		return "", false
	}
	return ins, true
}

// lineOfStep finds the first Dockerfile line that starts with the step's
// instruction, for BuildKits that send no source location with errors.
func lineOfStep(dockerfile, step string) int {
	ins, ok := instruction(step)
	if !ok {
		return 0
	}
	dt, err := os.ReadFile(dockerfile)
	if err != nil {
		return 0
	}
	want := strings.Join(strings.Fields(ins), " ")
	for i, l := range strings.Split(string(dt), "\n") {
		got := strings.Join(strings.Fields(l), " ")
		if got != "" && strings.HasPrefix(want, got) || (got != "" && strings.EqualFold(got, want)) {
			return i + 1
		}
	}
	return 0
}

// stepsOf lists the Dockerfile steps among the vertices in the order
// BuildKit numbers them ("[2/3]" before "[3/3]"); stages keep the order in
// which BuildKit first announced them.
func stepsOf(vertices []*bkclient.Vertex) []*bkclient.Vertex {
	var out []*bkclient.Vertex
	stageOrder := map[string]int{}
	for _, v := range vertices {
		if _, ok := instruction(v.Name); ok {
			out = append(out, v)
			st, _ := stepIndex(v.Name)
			if _, seen := stageOrder[st]; !seen {
				stageOrder[st] = len(stageOrder)
			}
		}
	}
	sort.SliceStable(out, func(i, j int) bool {
		si, ni := stepIndex(out[i].Name)
		sj, nj := stepIndex(out[j].Name)
		if si != sj {
			return stageOrder[si] < stageOrder[sj]
		}
		return ni < nj
	})
	return out
}

// stepIndex returns the stage name and step number of a step vertex.
func stepIndex(name string) (string, int) {
	stage, n, _, _, _ := dockerfile.ParseVertexName(name)
	return stage, n
}
