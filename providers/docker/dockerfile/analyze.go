package dockerfile

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
	"unicode/utf8"

	"github.com/containerd/platforms"
	"github.com/moby/buildkit/client/llb"
	"github.com/moby/buildkit/frontend/dockerfile/dockerfile2llb"
	"github.com/moby/buildkit/frontend/dockerfile/parser"
	"github.com/moby/buildkit/frontend/dockerui"
	"github.com/moby/buildkit/solver/pb"
	digest "github.com/opencontainers/go-digest"
	ocispecs "github.com/opencontainers/image-spec/specs-go/v1"
)

type analysis struct {
	file   string
	result *Result
}

// predictor carries one prediction's state through the graph walk.
type predictor struct {
	file   string
	hist   KeyHistory
	res    *metaResolver
	locals map[string]*contextFS
	// localNames maps a named context's normalized reference (the key of
	// locals) to the name the user gave it, for messages.
	localNames map[string]string
	noCache    bool
	// lint: only findings are wanted, so context selections are checked
	// for existence rather than hashed.
	lint     bool
	findings []Finding
	keys     map[string]bool

	stageArgs, stageEnvs map[string]map[string]bool

	unresolved    map[string]bool
	unresolvedErr map[string]error
	err           error
}

func (p *predictor) recorded(k string) bool { _, ok := p.hist[k]; return ok }

func (p *predictor) addKeys(ks ...string) {
	for _, k := range ks {
		if k != "" {
			p.keys[k] = true
		}
	}
}

func (p *predictor) finding(f Finding) { p.findings = append(p.findings, f) }

func analyze(ctx context.Context, in Input, lint bool) (*analysis, error) {
	file := in.DisplayName
	if file == "" {
		file = in.DockerfilePath
	}
	if file == "" {
		file = "Dockerfile"
	}
	if lint {
		in.CacheDir, in.PriorKeys = "", nil
	}
	a := &analysis{file: file, result: &Result{}}
	var findings []Finding
	defer func() {
		for i := range findings {
			findings[i].File = file
		}
		findings = dedupFindings(findings)
		sortFindings(findings)
		a.result.Findings = findings
	}()

	if len(bytes.TrimSpace(in.Dockerfile)) == 0 {
		findings = append(findings, Finding{Severity: Error, Rule: "Syntax", Summary: "Empty Dockerfile", Message: "The Dockerfile is empty."})
		return a, nil
	}
	var platform *ocispecs.Platform
	if in.Platform != "" {
		pl, err := platforms.Parse(in.Platform)
		if err != nil {
			findings = append(findings, Finding{Severity: Error, Rule: "InvalidPlatform", Summary: "Invalid platform",
				Message: fmt.Sprintf("Platform %q is not a platform BuildKit understands: %v.", in.Platform, err)})
			return a, nil
		}
		pl = platforms.Normalize(pl)
		platform = &pl
	}
	named := map[string]string{}
	localNames := map[string]string{}
	for _, name := range sortedKeys(in.NamedContexts) {
		ref, _, err := normalizeRef(name)
		if err != nil {
			findings = append(findings, Finding{Severity: Error, Rule: "InvalidNamedContext", Summary: "Invalid named context",
				Message: fmt.Sprintf("Named context %q is not a valid name: %v.", name, err)})
			continue
		}
		named[ref] = in.NamedContexts[name]
		localNames[ref] = name
	}

	mr := newMetaResolver(in.Resolver, named)
	var mu sync.Mutex // dockerfile2llb lints base images concurrently
	warn := func(rule, description, url, msg string, loc []parser.Range) {
		mu.Lock()
		defer mu.Unlock()
		findings = append(findings, Finding{Severity: Warning, Rule: rule, Line: firstLine(loc), Summary: description, Message: msg, URL: url})
	}
	caps := pb.Caps.CapSet(pb.Caps.All())
	buildArgs := maps.Clone(in.BuildArgs) // dockerfile2llb may edit it
	if buildArgs == nil {
		buildArgs = map[string]string{}
	}
	conv, convErr := dockerfile2llb.Dockerfile2LLB(ctx, in.Dockerfile, dockerfile2llb.ConvertOpt{
		Config:         dockerui.Config{BuildArgs: buildArgs, Target: in.Target},
		SourceMap:      llb.NewSourceMap(nil, file, "Dockerfile", in.Dockerfile),
		TargetPlatform: platform,
		MetaResolver:   mr,
		LLBCaps:        &caps,
		Warn:           warn,
		// Lint every stage, as `docker build --check` does; only the
		// target's stages end up in its LLB.
		AllStages: true,
	})
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("analyze %s: %w", file, err)
	}
	if convErr != nil {
		findings = append(findings, syntaxFinding(convErr))
	} else if conv.Image != nil {
		// The config as dockerfile2llb leaves it, before the exporter
		// stamps creation times: deterministic for the same inputs.
		dt, err := json.Marshal(conv.Image)
		if err != nil {
			return nil, fmt.Errorf("analyze %s: encode image config: %w", file, err)
		}
		a.result.ImageConfig = digest.FromBytes(dt).String()
	}

	pf, err := parseFile(in.Dockerfile)
	if err != nil {
		return a, nil // BuildKit's error above says it better
	}
	meta := pf.metaValues(in.BuildArgs)
	reach := pf.reachable(in.Target, meta)
	findings = append(findings, pf.checkArgs(in, meta, reach)...)
	findings = append(findings, pf.checkSecrets(in, reach)...)
	findings = append(findings, pf.checkNamedContexts(in)...)
	if convErr != nil {
		return a, nil
	}

	def, err := conv.State.Marshal(ctx)
	if err != nil {
		return nil, fmt.Errorf("analyze %s: marshal LLB: %w", file, err)
	}
	p := &predictor{
		file: file, hist: in.PriorKeys, res: mr, noCache: in.NoCache, lint: lint,
		locals: map[string]*contextFS{}, localNames: localNames, keys: map[string]bool{},
		unresolved: map[string]bool{}, unresolvedErr: map[string]error{},
	}
	p.stageArgs, p.stageEnvs = pf.stageVars(meta)
	var caches []*statCache
	if in.ContextDir != "" {
		ignore := []string{filepath.Join(in.ContextDir, ".dockerignore")}
		if in.DockerfilePath != "" {
			if _, err := os.Stat(in.DockerfilePath); err == nil {
				ignore = append([]string{in.DockerfilePath + ".dockerignore"}, ignore...)
			}
		}
		fs, err := p.openLocal(in, in.ContextDir, ignore)
		if err != nil {
			return nil, fmt.Errorf("analyze %s: %w", file, err)
		}
		p.locals["context"] = fs
		caches = append(caches, fs.cache)
	}
	for ref, dir := range named {
		fs, err := p.openLocal(in, dir, []string{filepath.Join(dir, ".dockerignore")})
		if err != nil {
			return nil, fmt.Errorf("analyze %s: named context %s: %w", file, ref, err)
		}
		p.locals[ref] = fs
		caches = append(caches, fs.cache)
	}

	root, nodes, err := loadGraph(def)
	if err != nil {
		return nil, fmt.Errorf("analyze %s: %w", file, err)
	}
	for _, n := range nodes {
		if err := p.classify(n); err != nil {
			return nil, fmt.Errorf("analyze %s: %w", file, err)
		}
	}
	if !lint {
		if err := p.prefetch(nodes); err != nil {
			return nil, fmt.Errorf("analyze %s: %w", file, err)
		}
	}
	if err := p.compute(root); err != nil {
		return nil, fmt.Errorf("analyze %s: %w", file, err)
	}
	if p.err != nil {
		return nil, fmt.Errorf("analyze %s: %w", file, p.err)
	}
	for _, c := range caches {
		if err := c.save(); err != nil {
			findings = append(findings, Finding{Severity: Warning, Rule: "StatCache", Summary: "Context stat cache not saved",
				Message: fmt.Sprintf("The context stat cache could not be saved (%v), so the next plan reads the context's files again.", err)})
		}
	}
	findings = append(findings, p.findings...)
	mask := newMasker(in)
	a.result.Images = images(nodes, p)
	for _, img := range a.result.Images {
		if err := p.unresolvedErr[img.Ref]; err != nil {
			findings = append(findings, Finding{Severity: Error, Rule: "BaseImageUnresolved", Line: firstOf(img.Lines),
				Summary: "Base image not found",
				Message: fmt.Sprintf("Base image %s could not be resolved: %s.", img.Ref, mask(err.Error()))})
		}
	}
	if lint {
		return a, nil
	}
	a.result.Prediction = p.prediction(nodes, mask)
	return a, nil
}

func (p *predictor) openLocal(in Input, dir string, ignore []string) (*contextFS, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, fmt.Errorf("resolve context %s: %w", dir, err)
	}
	return newContextFS(abs, ignore, openStatCache(in.CacheDir, abs), in.open, in.now)
}

// syntaxFinding turns a BuildKit conversion error into a finding on the
// line it names.
func syntaxFinding(err error) Finding {
	f := Finding{Severity: Error, Rule: "Syntax", Summary: "Dockerfile error", Message: err.Error()}
	var le *parser.LocationError
	if errors.As(err, &le) {
		for _, loc := range le.Locations {
			if l := firstLine(loc); l > 0 {
				f.Line = l
				break
			}
		}
	}
	if !strings.HasSuffix(f.Message, ".") {
		f.Message += "."
	}
	return f
}

func firstOf(lines []int) int {
	if len(lines) == 0 {
		return 0
	}
	return lines[0]
}

func images(nodes map[digest.Digest]*node, p *predictor) []Image {
	byRef := map[string]*Image{}
	for _, n := range nodes {
		if n.kind != imageNode {
			continue
		}
		img, ok := byRef[n.ref]
		if !ok {
			img = &Image{Ref: n.ref, Digest: n.digest}
			byRef[n.ref] = img
		}
		img.Lines = append(img.Lines, n.lines...)
	}
	out := make([]Image, 0, len(byRef))
	for _, img := range byRef {
		sort.Ints(img.Lines)
		out = append(out, *img)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Ref < out[j].Ref })
	return out
}

// prediction gathers the steps in Dockerfile order and sums them up.
func (p *predictor) prediction(nodes map[digest.Digest]*node, mask func(string) string) *Prediction {
	pr := &Prediction{File: p.file}
	latest := p.hist.Latest()
	conds := causeSet{}
	var steps []*node
	for _, n := range nodes {
		if n.kind == stepNode && n.done {
			steps = append(steps, n)
		}
	}
	sort.Slice(steps, func(i, j int) bool {
		if steps[i].line() != steps[j].line() {
			return steps[i].line() < steps[j].line()
		}
		return steps[i].name < steps[j].name
	})
	first := -1
	for _, n := range steps {
		s := Step{
			Stage: n.stage, Line: n.line(), Instruction: shorten(mask(n.instr), 60), Vertex: mask(n.name),
			Key: n.exact, Status: n.status, Reason: mask(n.reason),
		}
		if s.Status == Cached {
			if t := p.hist[n.exact]; t.Before(latest) {
				s.CachedFrom = t
			}
		}
		if s.Status == Uncertain {
			conds.add(n.blocking)
			conds.add(n.content)
		}
		pr.Steps = append(pr.Steps, s)
		if s.Status == Run && n.root && first < 0 {
			first = len(pr.Steps) - 1
		}
	}
	if first >= 0 {
		fc := pr.Steps[first]
		pr.FirstChange = &fc
	}
	var conditions []string
	for _, c := range conds.sorted() {
		conditions = append(conditions, mask(c.condition()))
	}
	pr.summarize(conditions, len(p.hist) == 0, latest)
	for ref := range p.unresolved {
		pr.Unresolved = append(pr.Unresolved, ref)
	}
	sort.Strings(pr.Unresolved)
	for _, c := range conds.sorted() {
		if c.kind == remoteContent {
			pr.Unpinned = append(pr.Unpinned, mask(c.subject))
		}
	}
	for k := range p.keys {
		pr.Keys = append(pr.Keys, k)
	}
	sort.Strings(pr.Keys)
	return pr
}

func shorten(s string, n int) string {
	s = strings.Join(strings.Fields(s), " ")
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	r := []rune(s)
	return string(r[:n-1]) + "…"
}

// newMasker hides secret values in texts derived from the Dockerfile:
// BuildKit's vertex names carry build-arg values, and a secret passed as a
// build arg would show there.
func newMasker(in Input) func(string) string {
	var secrets []string
	for _, v := range in.SecretValues {
		if len(v) >= 4 {
			secrets = append(secrets, v)
		}
	}
	for _, k := range sortedKeys(in.BuildArgs) {
		isID := slices.ContainsFunc(in.SecretIDs, func(id string) bool { return strings.EqualFold(id, k) })
		if v := in.BuildArgs[k]; len(v) >= 4 && (looksSecret(k) || isID) {
			secrets = append(secrets, v)
		}
	}
	sort.Slice(secrets, func(i, j int) bool { return len(secrets[i]) > len(secrets[j]) })
	return func(s string) string {
		for _, v := range secrets {
			s = strings.ReplaceAll(s, v, "****")
		}
		return s
	}
}
