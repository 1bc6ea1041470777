package docker

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	bkclient "github.com/moby/buildkit/client"
	"github.com/moby/buildkit/exporter/containerimage/exptypes"
	"github.com/sdform/sdform/providers"
	"github.com/sdform/sdform/providers/docker/dockerfile"
	"github.com/zclconf/go-cty/cty"
)

// apply carries out a planned action on docker_image.
func (t *imageType) apply(ctx context.Context, req providers.ApplyRequest) providers.ApplyResponse {
	switch req.Action {
	case providers.Create, providers.Replace:
		return t.build(ctx, req)
	case providers.Update:
		return t.update(ctx, req)
	case providers.Delete:
		return t.delete(ctx, req)
	}
	return providers.ApplyResponse{NewState: req.Planned, Private: req.PlannedPrivate}
}

// build runs the build (and the fallback, once), reads the image back,
// checks max_size and pushes. Tags are left to Promote.
func (t *imageType) build(ctx context.Context, req providers.ApplyRequest) providers.ApplyResponse {
	p := t.p
	ui := req.UI
	if ui.Out == nil {
		ui.Out = io.Discard
	}
	priv, _ := decodePrivate(req.PlannedPrivate)
	planned := priv.Planned
	priv.Planned = nil
	fail := func(diags providers.Diagnostics) providers.ApplyResponse {
		return providers.ApplyResponse{NewState: req.Prior, Private: priv.encode(), Diagnostics: diags}
	}
	var diags providers.Diagnostics
	cfg, d := decodeImage(req.Config, p.env.ConfigDir)
	if d.HasErrors() {
		return fail(d)
	}
	b, err := p.builder(ctx)
	if err == nil {
		err = b.detect(ctx)
	}
	if err != nil {
		return fail(diags.FromError("Builder unreachable", fmt.Errorf("build %s: %w", req.Address, err)))
	}
	pred := planned
	if pred == nil || pred.Fingerprint == "" {
		// The plan did not know every input; analyse now that they are.
		pred = p.predict(ctx, cfg, p.resolverFor(b, cfg), priv.history())
	}
	if d := append(onlyErrors(pred.Diagnostics), capabilityDiags(b, cfg, pred, p.env.ConfigDir)...); d.HasErrors() {
		return fail(d)
	}

	names, err := buildNames(b, cfg, req.Address)
	if err != nil {
		return fail(diags.FromError("Invalid tag", err))
	}
	start := time.Now()
	res, err := p.solve(ctx, b, req.Address, cfg, names, ui)
	usedFallback := false
	// Steps of a failed first try that finished are in BuildKit's cache:
	// the fallback's prediction counts them, and the build remembers them.
	var firstTry []string
	// A failed first try gets the fallback; a cancelled or timed-out one
	// does not (the timeout bounds each try, not their sum).
	if err != nil && cfg.FallbackArgs != nil && ctx.Err() == nil && !errors.Is(err, errBuildTimeout) {
		fmt.Fprintf(ui.Out, "%v\nretrying once with the fallback args (%s)\n", err, strings.Join(sortedKeys(cfg.FallbackArgs), ", "))
		fb := cfg.withArgs(cfg.FallbackArgs)
		res2, err2 := p.solve(ctx, b, req.Address, fb, names, ui)
		if err2 != nil {
			return fail(diags.FromError("Build failed", fmt.Errorf("build %s: first try: %v; fallback: %w", req.Address, err, err2)))
		}
		firstTry = finishedKeys(pred, res.vertices)
		res, err, usedFallback = res2, nil, true
		// The steps that ran are the fallback's: compare against its
		// prediction and remember its keys, but keep the first try's
		// fingerprint so the next plan does not retry what failed.
		fp, ic := pred.Fingerprint, pred.ImageConfig
		hist := priv.history()
		hist.Record(firstTry, start)
		pred = p.predict(ctx, fb, p.resolverFor(b, fb), hist)
		pred.Fingerprint, pred.ImageConfig = fp, ic
	}
	if err != nil {
		return fail(diags.FromError("Build failed", fmt.Errorf("build %s: %w", req.Address, err)))
	}

	facts, err := t.readBack(ctx, b, cfg, res, names)
	if err != nil {
		return fail(diags.FromError("Image read-back failed", fmt.Errorf("read back %s: %w", req.Address, err)))
	}
	if cfg.MaxSize > 0 {
		if !facts.SizeKnown {
			return fail(diags.Errorf(cty.GetAttrPath("max_size"), "Image size unknown",
				"max_size needs the image's size, but a standalone BuildKit without push keeps the image where sdform cannot measure it. Set push = true, or build with the Docker Engine (buildkit = \"docker\")."))
		}
		if facts.Size > cfg.MaxSize {
			where := "it is kept untagged"
			if len(names) > 0 {
				where = "it is kept as " + strings.Join(names, ", ")
			}
			return fail(diags.Errorf(cty.GetAttrPath("max_size"), "Image over max_size",
				"The image is %s, over max_size %s; the tags were not moved (%s).", formatSize(facts.Size), cfg.MaxSizeText, where))
		}
	}
	if cfg.Push && b.engineStore {
		for _, n := range names {
			if err := (engineStore{b.engine}).push(ctx, n, ui.Out); err != nil {
				return fail(diags.FromError("Push failed", fmt.Errorf("push %s: %w", req.Address, err)))
			}
		}
		if len(names) > 0 {
			dg, err := (registry{cfg: p.cfg}).head(ctx, names[0])
			if err != nil {
				return fail(diags.FromError("Push read-back failed", fmt.Errorf("read back %s: %w", req.Address, err)))
			}
			facts.Digest = dg
		}
	}

	steps, missed := compareSteps(pred, res.vertices, rel(p.env.ConfigDir, cfg.Dockerfile))
	for _, m := range missed {
		fmt.Fprintf(ui.Out, "prediction missed: %s\n", m)
	}
	priv.Fingerprint = pred.Fingerprint
	priv.ImageConfig = pred.ImageConfig
	priv.Builder = p.cfg.address()
	priv.remember(start, union(firstTry, pred.keys()))
	priv.Candidates = nil
	priv.Promoted, priv.RolledBack = true, false
	if len(cfg.Tags) > 0 && gated(b, cfg) {
		priv.Candidates, priv.Promoted = names, false
	}
	return providers.ApplyResponse{NewState: builtValue(req.Config, facts, steps, missed, usedFallback), Private: priv.encode(), Diagnostics: diags}
}

// gated reports whether tags wait for promotion: true unless a standalone
// BuildKit keeps the image in its own store (no push), where sdform cannot
// move tags after the build.
func gated(b *builder, cfg *imageConfig) bool {
	return b.engineStore || cfg.Push
}

// buildNames are the names the build of the object at address exports:
// candidate tags when tags wait for promotion, the tags themselves otherwise.
func buildNames(b *builder, cfg *imageConfig, address string) ([]string, error) {
	if !gated(b, cfg) {
		return cfg.Tags, nil
	}
	var out []string
	for _, tag := range cfg.Tags {
		c, err := candidateTag(tag, address)
		if err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	return out, nil
}

// readBack reads the built image's facts: from the Engine on the docker
// backend, else from the exporter's response and, when pushed, the registry.
func (t *imageType) readBack(ctx context.Context, b *builder, cfg *imageConfig, res *buildResult, names []string) (*imageFacts, error) {
	if b.engineStore {
		// By the ID the build returned: a name can be moved by another
		// process between the build and this read.
		id := res.exporter[exptypes.ExporterImageDigestKey]
		ref := id
		if ref == "" && len(names) > 0 {
			ref = names[0] // an Engine that returns no ID
		}
		if ref == "" {
			return nil, errors.New("the Docker Engine's BuildKit returned no image ID")
		}
		f, err := engineStore{b.engine}.facts(ctx, ref)
		if err != nil || id == "" || len(names) == 0 {
			return f, err
		}
		named, err := engineStore{b.engine}.facts(ctx, names[0])
		if err != nil {
			return nil, err
		}
		if named.ID != f.ID {
			return nil, fmt.Errorf("%s names %s, not the image just built (%s): something else tagged it meanwhile", names[0], named.ID, f.ID)
		}
		return f, nil
	}
	f, err := contentFacts(ctx, b.bk, res.exporter[exptypes.ExporterImageDigestKey])
	if err != nil {
		return nil, err
	}
	if cfg.Push && len(names) > 0 {
		rf, err := (registry{cfg: t.p.cfg}).facts(ctx, names[0], cfg.Platform)
		if err != nil {
			return nil, err
		}
		if rf.ID != f.ID {
			return nil, fmt.Errorf("registry holds %s under %s, not the image just built (%s)", rf.ID, names[0], f.ID)
		}
		return rf, nil
	}
	return f, nil
}

// builtValue is the state after a build: config plus what the build told.
func builtValue(config cty.Value, f *imageFacts, steps []stepOutcome, missed []string, usedFallback bool) cty.Value {
	cfg, marks := config.UnmarkDeepWithPaths()
	attrs := cfg.AsValueMap()
	for k, v := range f.computed() {
		attrs[k] = v
	}
	sv := make([]cty.Value, len(steps))
	for i, s := range steps {
		sv[i] = cty.ObjectVal(map[string]cty.Value{"name": cty.StringVal(s.Name), "key": cty.StringVal(s.Key), "cached": cty.BoolVal(s.Cached)})
	}
	if len(sv) == 0 {
		attrs["steps"] = cty.ListValEmpty(stepType)
	} else {
		attrs["steps"] = cty.ListVal(sv)
	}
	attrs["prediction_missed"] = strList(missed)
	attrs["used_fallback"] = cty.BoolVal(usedFallback)
	return cty.ObjectVal(attrs).MarkWithPaths(marks)
}

// stepOutcome is one step as BuildKit ran it.
type stepOutcome struct {
	Name   string
	Key    string
	Cached bool
}

// compareSteps pairs the predicted steps with BuildKit's step vertices and
// lists where the prediction was wrong. Without a prediction it records
// what BuildKit reported.
func compareSteps(pred *prediction, vertices []*bkclient.Vertex, file string) ([]stepOutcome, []string) {
	var out []stepOutcome
	if pred.Steps == nil {
		for _, v := range stepsOf(vertices) {
			ins, _ := instruction(v.Name)
			out = append(out, stepOutcome{Name: ins, Key: v.Digest.String(), Cached: v.Cached})
		}
		return out, nil
	}
	vs := make([]dockerfile.Vertex, 0, len(vertices))
	for _, v := range vertices {
		vs = append(vs, dockerfile.Vertex{Name: v.Name, Cached: v.Cached})
	}
	for _, o := range dockerfile.Match(pred.Steps, vs) {
		out = append(out, stepOutcome{Name: o.Step.Instruction, Key: o.Step.Key, Cached: o.Cached})
	}
	var missed []string
	for _, d := range dockerfile.Compare(pred.Steps, vs) {
		missed = append(missed, fmt.Sprintf("%s:%d %s: %s", file, d.Step.Line, d.Step.Instruction, d.Message))
	}
	return out, missed
}

// finishedKeys are the keys to remember of a failed solve: those of its
// prediction (steps, base images, parts) less the steps it did not finish
// (run or find cached) before it failed; none when no step finished.
func finishedKeys(pred *prediction, vertices []*bkclient.Vertex) []string {
	if pred.Steps == nil {
		return nil
	}
	var done []dockerfile.Vertex
	for _, v := range vertices {
		if v.Completed != nil && v.Error == "" {
			done = append(done, dockerfile.Vertex{Name: v.Name, Cached: v.Cached})
		}
	}
	unfinished := map[string]bool{}
	finished := 0
	for _, o := range dockerfile.Match(pred.Steps, done) {
		if o.Vertex == "" {
			unfinished[o.Step.Key] = true
		} else {
			finished++
		}
	}
	if finished == 0 {
		return nil
	}
	var keys []string
	for _, k := range pred.Steps.Keys {
		if !unfinished[k] {
			keys = append(keys, k)
		}
	}
	return keys
}

// union returns the strings of a and b, each once, in order.
func union(a, b []string) []string {
	seen := map[string]bool{}
	var out []string
	for _, s := range append(append([]string(nil), a...), b...) {
		if !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	return out
}

// update changes what needs no build: tags of a promoted image, settings
// that only matter for the next build. Tags the configuration no longer
// lists are removed, with their previous tags.
func (t *imageType) update(ctx context.Context, req providers.ApplyRequest) providers.ApplyResponse {
	priv, _ := decodePrivate(req.PlannedPrivate)
	priv.Planned = nil
	resp := providers.ApplyResponse{NewState: req.Planned, Private: priv.encode()}
	oldTags, newTags := getList(unmarked(req.Prior), "tags"), getList(unmarked(req.Planned), "tags")
	if slices.Equal(oldTags, newTags) {
		return resp
	}
	fail := func(err error) providers.ApplyResponse {
		return providers.ApplyResponse{NewState: req.Prior, Private: priv.encode(), Diagnostics: providers.Diagnostics{}.FromError("Retag failed", fmt.Errorf("retag %s: %w", req.Address, err))}
	}
	b, err := t.p.builder(ctx)
	if err != nil {
		return providers.ApplyResponse{NewState: req.Prior, Private: priv.encode(), Diagnostics: providers.Diagnostics{}.FromError("Builder unreachable", fmt.Errorf("retag %s: %w", req.Address, err))}
	}
	out := req.UI.Out
	if out == nil {
		out = io.Discard
	}
	r := t.retagger(b, unmarked(req.Planned), priv, out)
	// A promoted image's tags, and those the last promotion moved, are in
	// repositories that hold its pushed manifest.
	r.sources = append(slices.Clone(oldTags), sortedKeys(priv.Previous)...)
	if priv.Promoted {
		for _, tag := range newTags {
			if err := r.retag(ctx, tag); err != nil {
				return fail(err)
			}
		}
	} else if len(newTags) == 0 {
		// Nothing waits for promotion any more: the build's candidate
		// tags go, and so do the tags of the build before it.
		for _, c := range priv.Candidates {
			if err := r.dropCandidate(ctx, c); err != nil {
				resp.Diagnostics = resp.Diagnostics.Warnf(nil, "Candidate tag kept", "%v.", err)
			}
		}
		priv.Candidates, priv.Promoted = nil, true
	}
	for _, tag := range r.stale(newTags) {
		if err := r.drop(ctx, tag); err != nil {
			resp.Diagnostics = resp.Diagnostics.Warnf(cty.GetAttrPath("tags"), "Old tag kept", "%v.", err)
		}
	}
	resp.Private = priv.encode()
	return resp
}

// delete removes the tags sdform set or kept, where they still name what
// it set them to (the Engine deletes the image with its last tag), and the
// candidate tags of a build never promoted. The Engine deletes no image a
// container uses: delete then removes nothing and fails naming the
// containers, so the state keeps the object, as it does for any removal
// that failed. Registry tags are left: registries rarely allow deleting
// them.
func (t *imageType) delete(ctx context.Context, req providers.ApplyRequest) providers.ApplyResponse {
	fail := func(summary string, err error) providers.ApplyResponse {
		return providers.ApplyResponse{NewState: req.Prior, Private: req.PlannedPrivate,
			Diagnostics: providers.Diagnostics{}.FromError(summary, fmt.Errorf("delete %s: %w", req.Address, err))}
	}
	priv, _ := decodePrivate(req.PlannedPrivate)
	b, err := t.p.builder(ctx)
	if err != nil {
		return fail("Builder unreachable", err)
	}
	var diags providers.Diagnostics
	st := unmarked(req.Prior)
	if b.engineStore {
		r := t.retagger(b, st, priv, io.Discard)
		owned, left, err := r.owned(ctx)
		if err != nil {
			return fail("Destroy failed", err)
		}
		for _, l := range left {
			diags = diags.Warnf(nil, "Tag kept", "%s.", l)
		}
		if err := r.unused(ctx, owned); err != nil {
			return fail("Image in use", err)
		}
		es := engineStore{b.engine}
		var errs []error
		for _, ref := range sortedKeys(owned) {
			errs = append(errs, es.untag(ctx, ref))
		}
		if err := errors.Join(errs...); err != nil {
			return fail("Destroy failed", err)
		}
	}
	if getBool(st, "push") {
		diags = diags.Warnf(nil, "Registry tags kept", "%s was pushed; sdform leaves its tags in the registry (%s).", req.Address, strings.Join(getList(st, "tags"), ", "))
	}
	return providers.ApplyResponse{NewState: cty.NullVal(req.Prior.Type()), Diagnostics: diags}
}

func unmarked(v cty.Value) cty.Value {
	u, _ := v.UnmarkDeep()
	return u
}

// short shortens a digest for messages: "sha256:3f1c0a9b7d2e".
func short(d string) string {
	if algo, hex, ok := strings.Cut(d, ":"); ok && len(hex) > 12 {
		return algo + ":" + hex[:12]
	}
	return d
}
