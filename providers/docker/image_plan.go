package docker

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"syscall"

	"github.com/sdform/sdform/providers"
	"github.com/zclconf/go-cty/cty"
)

// imageType implements docker_image.
type imageType struct {
	p *Provider
}

// validate checks what can be checked offline: the arguments, and the
// Dockerfile with BuildKit's parser and linter (package dockerfile, without
// resolving base images). Plan reports only what needs the builder, so
// findings are not shown twice.
func (t *imageType) validate(ctx context.Context, req providers.ValidateRequest) providers.ValidateResponse {
	cfg, diags := decodeImage(req.Config, t.p.env.ConfigDir)
	if lintable(req.Config) && !diags.HasErrors() {
		// Lint, not predict: plan hashes the context once, after this.
		// Args and secrets whose values are not known yet (variables in
		// validate) are checked by name only; see dockerfile.Lint.
		diags = append(diags, t.p.lint(ctx, cfg).Diagnostics...)
	}
	diags = append(diags, sensitiveArgs(req.SensitivePaths)...)
	tags, tagDiags := checkTags(req.Config)
	diags = append(diags, tagDiags...)
	if req.Address != "" {
		// Tags known here (literals) are claimed now, so that `sdform
		// validate` refuses two objects with one; plan claims the rest.
		diags = append(diags, t.claimTags(req.Address, tags)...)
	}
	return providers.ValidateResponse{Diagnostics: diags}
}

// sensitiveArgs warns about build args with sensitive values: an arg is
// kept in the image (its history, and its config when an ENV repeats it),
// readable by anyone who can pull it. sdform hides the value in plans and
// state; it cannot take it out of the image.
func sensitiveArgs(paths []cty.Path) providers.Diagnostics {
	var diags providers.Diagnostics
	for _, p := range paths {
		var steps []string // the path in words: "args", "GREETING"
		for _, st := range p {
			switch st := st.(type) {
			case cty.GetAttrStep:
				steps = append(steps, st.Name)
			case cty.IndexStep:
				if st.Key.Type() == cty.String {
					steps = append(steps, st.Key.AsString())
				}
			}
		}
		if len(steps) > 0 && steps[0] == "fallback" {
			steps = steps[1:]
		}
		if len(steps) == 0 || steps[0] != "args" {
			continue
		}
		what, id := "The build args have", "token"
		if len(steps) > 1 {
			what, id = "The build arg "+steps[1]+" has", strings.ToLower(steps[1])
		}
		diags = diags.Warnf(p, "Sensitive build arg",
			"%s a sensitive value, but build args are kept in the image (its history, and its config where an ENV repeats them) for anyone who can pull it. Pass it as a build secret instead: secrets = { %s = … } here, and RUN --mount=type=secret,id=%s in the Dockerfile.",
			what, id, id)
	}
	return diags
}

// lintAttrs are the docker_image attributes the Dockerfile checks cannot do
// without: which file, which context, which stage, which platform.
var lintAttrs = []string{"context", "dockerfile", "target", "platform", "contexts"}

// lintable reports whether the Dockerfile checks can run on config: the
// attributes they need are known. Unknown args and secrets are not in the
// way (their names are known, or the checks of names are skipped).
func lintable(config cty.Value) bool {
	if config.IsWhollyKnown() {
		return true
	}
	if !config.IsKnown() || config.IsNull() {
		return false
	}
	for _, name := range lintAttrs {
		if config.Type().HasAttribute(name) && !config.GetAttr(name).IsWhollyKnown() {
			return false
		}
	}
	return true
}

// plan predicts the build and decides between no change, an in-place
// update (tags, push settings) and a rebuild. It first claims the object's
// tags, which no other docker_image may share; tags known only now (at
// apply) are checked here too, as validate saw them unknown.
func (t *imageType) plan(ctx context.Context, req providers.PlanRequest) providers.PlanResponse {
	p := t.p
	var resp providers.PlanResponse
	tags, diags := checkTags(req.Config)
	if diags = append(diags, t.claimTags(req.Address, tags)...); diags.HasErrors() {
		resp.Planned = plannedValue(req.Config, req.Prior)
		resp.Diagnostics = diags
		return resp
	}
	priv, err := decodePrivate(req.PriorPrivate)
	if err != nil {
		resp.Diagnostics = resp.Diagnostics.Warnf(nil, "Unreadable build record", "%v; the image will be rebuilt to record it again.", err)
	}
	if g, ok := p.goneBuilds.Load(req.Address); ok && req.Prior.IsNull() && len(req.PriorPrivate) == 0 && g.(*imagePrivate).Builder == p.cfg.address() {
		// The image went away outside sdform, not its steps in BuildKit's
		// cache: predict the rebuild with the builds recorded before.
		priv.History = g.(*imagePrivate).History
	}
	if !req.Config.IsWhollyKnown() {
		resp.Planned = plannedValue(req.Config, cty.NullVal(req.Config.Type()))
		resp.Details = []string{"steps: not predicted: some inputs are known only after apply"}
		if !req.Prior.IsNull() {
			resp.RequiresReplace = []cty.Path{cty.GetAttrPath("id")}
			resp.Reason = "inputs known only after apply"
		}
		// The build record (history, tags) travels on; apply analyses
		// the build once the inputs are known.
		priv.Planned = nil
		p.pending.set(req.Address, getList(unmarked(req.Config), "tags"), nil)
		resp.PlannedPrivate = priv.encode()
		return resp
	}
	cfg, diags := decodeImage(req.Config, p.env.ConfigDir)
	resp.Diagnostics = append(resp.Diagnostics, diags...)
	if diags.HasErrors() {
		resp.Planned = plannedValue(req.Config, req.Prior)
		return resp
	}

	b, connErr := p.builder(ctx)
	pred := p.predict(ctx, cfg, p.resolverFor(b, cfg), priv.history())
	// Validate reported the Dockerfile's findings already; plan adds those
	// only the builder can tell (a base image that does not exist).
	resp.Diagnostics = append(resp.Diagnostics, onlyErrors(pred.Diagnostics)...)
	if resp.Diagnostics.HasErrors() {
		resp.Planned = plannedValue(req.Config, req.Prior)
		return resp
	}
	resp.Fingerprint = pred.Fingerprint

	rebuild, reason := decide(req.Prior, priv, cfg, pred)
	switch {
	case rebuild:
	case priv.Builder != "" && priv.Builder != p.cfg.address():
		// The image lives in the store of the builder that made it.
		rebuild, reason = true, "builder changed from "+priv.Builder+" to "+p.cfg.address()
	case p.cfg.kind() != backendDocker && !cfg.Push && !slices.Equal(getList(unmarked(req.Prior), "tags"), cfg.Tags):
		// A standalone BuildKit names an unpushed image only when it
		// exports it; there is no store sdform could retag in.
		rebuild, reason = true, "tags changed, and a standalone BuildKit without push names an image only when it exports it"
	}
	if rebuild {
		// Until this build is promoted, a test naming one of its tags
		// tests it.
		p.pending.set(req.Address, cfg.Tags, nil)
	}
	var details []string
	if !rebuild {
		resp.Planned = plannedValue(req.Config, req.Prior)
		details = append(details, unchangedLine(pred, priv))
		details = append(details, retagDetails(unmarked(req.Prior), cfg)...)
	} else {
		resp.Planned = plannedValue(req.Config, cty.NullVal(req.Config.Type()))
		if !req.Prior.IsNull() {
			resp.RequiresReplace = []cty.Path{cty.GetAttrPath("id")}
			resp.Reason = reason
		}
		if b != nil {
			if err := b.detect(ctx); err != nil {
				b, connErr = nil, err
			}
		}
		if b != nil {
			details = append(details, "builder: "+b.describe())
		}
		details = append(details, stepsLine(pred, cfg))
		if !req.Prior.IsNull() && getBool(unmarked(req.Prior), "used_fallback") && cfg.FallbackArgs != nil {
			details = append(details, "fallback: the last build needed the fallback args ("+strings.Join(sortedKeys(cfg.FallbackArgs), ", ")+"); this one tries the configured args first, as predicted above, and the fallback once if they fail")
		}
		if b != nil {
			resp.Diagnostics = append(resp.Diagnostics, capabilityDiags(b, cfg, pred, p.env.ConfigDir)...)
			pre, pdiags := preflight(ctx, b, p.cfg)
			details = append(details, pre...)
			resp.Diagnostics = append(resp.Diagnostics, pdiags...)
			details = append(details, backendNotes(b, cfg)...)
		}
	}
	for _, n := range pred.Notes {
		details = append(details, "cannot know: "+n)
	}
	if connErr != nil {
		resp.Diagnostics = resp.Diagnostics.Warnf(nil, "Builder unreachable",
			"%v. The plan cannot know whether base images resolve in the builder's store, how much disk is free or how large the build cache is; apply will fail until a builder answers.", connErr)
		details = append(details, "cannot know: builder unreachable ("+p.cfg.address()+"): base images in its store, free disk, build cache size")
	}
	resp.Details = details
	priv.Planned = pred
	resp.PlannedPrivate = priv.encode()
	return resp
}

// resolverFor returns how base images resolve for a build on b, or nil when
// nothing can be asked: without a builder, the docker backend's images live
// in an Engine that does not answer, while a standalone BuildKit's bases can
// still be resolved in their registries.
func (p *Provider) resolverFor(b *builder, cfg *imageConfig) *baseResolver {
	if b == nil && p.cfg.kind() == backendDocker {
		return nil
	}
	return &baseResolver{p: p, b: b, platform: cfg.Platform}
}

// onlyErrors keeps the error diagnostics.
func onlyErrors(ds providers.Diagnostics) providers.Diagnostics {
	var out providers.Diagnostics
	for _, d := range ds {
		if d.Severity == providers.Error {
			out = append(out, d)
		}
	}
	return out
}

// decide says whether the image must be built, and why in words.
func decide(prior cty.Value, priv *imagePrivate, cfg *imageConfig, pred *prediction) (bool, string) {
	if prior.IsNull() {
		return true, ""
	}
	if priv.Fingerprint == "" {
		return true, "no build record in state"
	}
	if priv.RolledBack {
		return true, "rolled back by `sdform rollback`: the tags point to the previous image, the configuration asks for the build it replaced"
	}
	if !priv.Promoted && len(cfg.Tags) > 0 {
		return true, "its tags still point to the previous image: the last build was never promoted (its tests did not pass)"
	}
	if cfg.Push && !getBool(prior, "push") {
		return true, "push enabled"
	}
	if cfg.Push && len(cfg.Tags) > 0 && getString(prior, "digest") == "" {
		return true, "push: the image was built without tags, so it was never pushed"
	}
	if pred.Fingerprint == priv.Fingerprint {
		if pred.Steps != nil && len(pred.Steps.Unpinned) > 0 {
			return true, unpinnedReason(pred.Steps.Unpinned)
		}
		return false, ""
	}
	return true, changeReason(prior, priv, cfg, pred)
}

// unpinnedReason says why an image whose inputs are unchanged is built
// again: what it downloads without a checksum may have changed, which only
// BuildKit finds out, at build time (cheaply, when nothing changed).
func unpinnedReason(urls []string) string {
	return "ADD " + strings.Join(urls, ", ") + " without --checksum: BuildKit fetches it at every build and runs the steps after it if its content changed, which the plan cannot see (ADD --checksum=sha256:… pins it)"
}

// changeReason names the first input that differs from the last build.
func changeReason(prior cty.Value, priv *imagePrivate, cfg *imageConfig, pred *prediction) string {
	prior, _ = prior.UnmarkDeep()
	old := getMap(prior, "args")
	for _, k := range sortedKeys(cfg.Args) {
		if ov, ok := old[k]; !ok || ov != cfg.Args[k] {
			return "build arg " + k + " changed"
		}
	}
	for _, k := range sortedKeys(old) {
		if _, ok := cfg.Args[k]; !ok {
			return "build arg " + k + " removed"
		}
	}
	switch {
	case getString(prior, "target") != cfg.Target:
		return "target changed"
	case getString(prior, "platform") != cfg.Platform:
		return "platform changed"
	case !equalMaps(getMap(prior, "labels"), cfg.Labels):
		return "labels changed"
	case pred.FirstChange != "" && pred.FirstReason != "":
		return pred.FirstReason + " (" + pred.FirstChange + ")"
	case pred.FirstChange != "":
		return pred.FirstChange + " changed"
	case pred.Steps != nil && len(pred.Steps.Unresolved) > 0:
		return "cannot tell whether base image " + strings.Join(pred.Steps.Unresolved, ", ") + " changed: the plan could not resolve it"
	case pred.Steps != nil && pred.Steps.ToRun == 0 && pred.Steps.Uncertain == 0 && priv.ImageConfig == "":
		return "the build record is from an older sdform: no step runs, the image is exported again"
	case pred.Steps != nil && pred.Steps.ToRun == 0 && pred.Steps.Uncertain == 0 && priv.ImageConfig != pred.ImageConfig:
		return "the image config changed (CMD, ENV, LABEL…): no step runs, the image is exported again"
	}
	return "the Dockerfile, the build context or a base image changed"
}

func equalMaps(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || w != v {
			return false
		}
	}
	return true
}

// stepsLine is the plan's "steps: …" detail for a build.
func stepsLine(pred *prediction, cfg *imageConfig) string {
	if pred.Steps == nil {
		return "steps: not predicted (the Dockerfile could not be analysed); every step may run"
	}
	return "steps: " + pred.Summary
}

// unchangedLine is the plan's detail for an image that will not be built.
// It counts the steps as the prediction does: a step it cannot call cached
// (one over a named context runs at every build) is named as what a build
// would do, not counted as cached.
func unchangedLine(pred *prediction, priv *imagePrivate) string {
	since := "the last build"
	if n := len(priv.History); n > 0 {
		since = "the build of " + priv.History[n-1].Time.Local().Format("2006-01-02 15:04:05")
	}
	st := pred.Steps
	switch {
	case st == nil:
		return "steps: 0 to run (inputs unchanged since " + since + ")"
	case st.ToRun > 0 || st.Uncertain > 0:
		return "steps: no build, the inputs are unchanged since " + since + " (a build would do: " + st.Summary + ")"
	}
	return fmt.Sprintf("steps: %d cached, 0 to run (inputs unchanged since %s)", st.Cached, since)
}

// retagDetails say how an update moves a pushed image's new tags: a tag in
// a repository the image was not pushed to gets a copy of it there.
func retagDetails(prior cty.Value, cfg *imageConfig) []string {
	oldTags := getList(prior, "tags")
	if !cfg.Push || getString(prior, "digest") == "" || len(oldTags) == 0 {
		return nil
	}
	var pushedTo []string
	for _, tag := range oldTags {
		pushedTo = append(pushedTo, repoOf(tag))
	}
	var out []string
	for _, tag := range cfg.Tags {
		if slices.Contains(pushedTo, repoOf(tag)) {
			continue
		}
		out = append(out, fmt.Sprintf("tags: %s is in a repository the image was not pushed to; the pushed image is copied there from %s (no build)", tag, pushedTo[0]))
	}
	return out
}

// capabilityDiags reports what this config asks of a builder that lacks it.
func capabilityDiags(b *builder, cfg *imageConfig, pred *prediction, dir string) providers.Diagnostics {
	var diags providers.Diagnostics
	if len(cfg.Contexts) > 0 && b.engineStore && !b.caps.infoAPI {
		diags = diags.Errorf(cty.GetAttrPath("contexts"), "Named contexts unsupported by this builder",
			"The BuildKit built into the Docker Engine at %s (older than v0.11) has no named build contexts. Remove contexts, or build with a standalone BuildKit (provider \"docker\" { buildkit = \"unix://…\" }).", b.cfg.dockerHost)
	}
	if len(cfg.CacheTo) > 0 && b.engineStore {
		diags = diags.Errorf(cty.GetAttrPath("cache_to"), "Registry cache export unsupported by this builder",
			"The Docker Engine's own BuildKit at %s cannot export a registry cache. Remove cache_to, or build with a standalone BuildKit (provider \"docker\" { buildkit = \"unix://…\" }).", b.cfg.dockerHost)
	}
	if pred.Syntax == "" && b.engineStore && !b.caps.infoAPI {
		// Without a syntax line the Engine parses the Dockerfile with the
		// frontend built into it, and the build would fail at once.
		for _, u := range pred.After12 {
			diags = append(diags, providers.Diagnostic{Severity: providers.Error,
				Summary: "Dockerfile syntax unsupported by this builder",
				Detail: fmt.Sprintf("The Dockerfile uses %s, which the Dockerfile frontend built into the Docker Engine at %s (BuildKit older than v0.11, Dockerfile syntax 1.2) cannot parse. Add `# syntax=docker/dockerfile:1` as the first line (the Engine then pulls that frontend, which needs a reachable registry), rewrite it without, or build with a standalone BuildKit (provider \"docker\" { buildkit = \"unix://…\" }).",
					u.What, b.cfg.dockerHost),
				File: rel(dir, cfg.Dockerfile), Line: u.Line})
		}
	}
	if pred.Syntax != "" && b.engineStore && !b.caps.infoAPI {
		diags = append(diags, providers.Diagnostic{Severity: providers.Warning,
			Summary: "# syntax= with an old built-in BuildKit",
			Detail:  fmt.Sprintf("The Dockerfile asks for the frontend %s. The BuildKit built into this Docker Engine (older than v0.11) must pull that image to honour it and fails where no registry is reachable; remove the line to use the built-in frontend, or build with a standalone BuildKit.", pred.Syntax),
			File:    rel(dir, cfg.Dockerfile), Line: pred.SyntaxLine})
	}
	if cfg.Push && len(cfg.Tags) == 0 {
		diags = diags.Warnf(cty.GetAttrPath("push"), "Nothing to push", "push = true but the image has no tags, so there is no name to push it under.")
	}
	return diags
}

// backendNotes say how this backend will carry out what the config asks.
func backendNotes(b *builder, cfg *imageConfig) []string {
	if b == nil {
		return nil
	}
	var out []string
	switch {
	case cfg.Push && b.engineStore && !b.caps.infoAPI:
		out = append(out, "push: through the Docker Engine's image-push API (its built-in BuildKit ignores push=true)")
	case cfg.Push && b.engineStore:
		out = append(out, "push: through the Docker Engine's image-push API")
	case !b.engineStore && !cfg.Push && len(cfg.Tags) > 0:
		out = append(out, "tags: without push the image stays in BuildKit's own store under its tags, which sdform can neither read back nor hold back until tests pass")
	}
	return out
}

// preflight measures free disk where the builder keeps its data (when it is
// on this machine) and the build cache's size. It never prunes.
func preflight(ctx context.Context, b *builder, cfg config) ([]string, providers.Diagnostics) {
	var details []string
	var diags providers.Diagnostics
	if root := b.caps.dataRoot; root != "" {
		var st syscall.Statfs_t
		if err := syscall.Statfs(root, &st); err != nil {
			details = append(details, fmt.Sprintf("cannot know: free disk at %s (%v)", root, err))
		} else {
			free := int64(st.Bavail) * int64(st.Bsize)
			details = append(details, fmt.Sprintf("free disk: %s at %s", formatSize(free), root))
			if cfg.minFreeDisk > 0 && free < cfg.minFreeDisk {
				diags = diags.Errorf(nil, "Not enough free disk for the build",
					"%s has %s free, below the provider's min_free_disk of %s. Free space (sdform never prunes the build cache itself: `docker builder prune` or `buildctl prune` does) or lower min_free_disk.", root, formatSize(free), cfg.minFreeDiskText)
			}
		}
	} else if cfg.minFreeDisk > 0 {
		details = append(details, "cannot know: free disk of a remote builder (min_free_disk not checked)")
	}
	du, err := b.bk.DiskUsage(ctx)
	if err != nil {
		details = append(details, fmt.Sprintf("cannot know: build cache size (%v)", err))
	} else {
		var total int64
		for _, u := range du {
			total += u.Size
		}
		details = append(details, fmt.Sprintf("build cache: %s in %d records", formatSize(total), len(du)))
	}
	return details, diags
}

// plannedValue is config with the computed attributes taken from prior, or
// unknown where prior is null. Marks on config (sensitive values) are kept.
func plannedValue(config, prior cty.Value) cty.Value {
	cfg, marks := config.UnmarkDeepWithPaths()
	attrs := cfg.AsValueMap()
	if attrs == nil {
		attrs = map[string]cty.Value{}
	}
	pr, _ := prior.UnmarkDeep()
	ty := config.Type()
	for _, name := range computedAttrs {
		if !ty.HasAttribute(name) {
			continue
		}
		if pr.IsNull() {
			attrs[name] = cty.UnknownVal(ty.AttributeType(name))
		} else {
			attrs[name] = pr.GetAttr(name)
		}
	}
	return cty.ObjectVal(attrs).MarkWithPaths(marks)
}
