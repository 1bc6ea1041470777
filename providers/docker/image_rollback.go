package docker

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/sdform/sdform/lang"
	"github.com/sdform/sdform/providers"
	"github.com/zclconf/go-cty/cty"
)

// rollback moves each tag that the last promotion moved back to what it
// pointed to before, where sdform tags and, when the image is pushed, in
// the registry. That image was kept under the tag's previousTag, so a
// prune did not delete it. The state then describes the image the tags
// point to again, and the record says it was rolled back, so the next plan
// proposes, with that reason, to build and promote what the configuration
// asks for.
//
// Only the tags that req.Config, the configuration as `sdform rollback`
// evaluates it, still lists move.
func (t *imageType) rollback(ctx context.Context, req providers.RollbackRequest) providers.RollbackResponse {
	resp := providers.RollbackResponse{NewState: req.State, Private: req.Private}
	out := req.UI.Out
	if out == nil {
		out = io.Discard
	}
	priv, err := decodePrivate(req.Private)
	if err != nil {
		resp.Diagnostics = resp.Diagnostics.FromError("Unreadable build record", err)
		return resp
	}
	st := unmarked(req.State)
	listed, err := configuredTags(st, req.Config)
	if err != nil {
		resp.Diagnostics = resp.Diagnostics.Errorf(nil, "Nothing to roll back", "%s: %v.", req.Address, err)
		return resp
	}
	// Only the tags the object has now and the configuration lists: one
	// it dropped is no longer sdform's to move.
	var tags, unlisted, unrecorded []string
	for _, tag := range getList(st, "tags") {
		switch {
		case priv.Previous[tag] == "" && priv.PreviousPushed[tag] == "":
			unrecorded = append(unrecorded, tag)
		case !slices.Contains(listed, fullRef(tag)):
			unlisted = append(unlisted, tag)
		default:
			tags = append(tags, tag)
		}
	}
	if len(tags) == 0 {
		detail := fmt.Sprintf("No tag of %s named another image before its last promotion (or it has no tags), so there is no previous image to restore.", req.Address)
		if len(unlisted) > 0 {
			detail = fmt.Sprintf("The configuration no longer lists %s, the tags of %s that named another image before its last promotion; sdform moves only the tags it lists.", lang.JoinAnd(unlisted), req.Address)
		}
		resp.Diagnostics = resp.Diagnostics.Errorf(nil, "Nothing to roll back", "%s", detail)
		return resp
	}
	b, err := t.p.builder(ctx)
	if err != nil {
		resp.Diagnostics = resp.Diagnostics.FromError("Builder unreachable", fmt.Errorf("roll back %s: %w", req.Address, err))
		return resp
	}
	r := t.retagger(b, st, priv, out)
	var facts *imageFacts
	already := map[string]string{} // tag → the previous build it names already
	moved := 0
	for _, tag := range tags {
		from, err := r.live(ctx, tag)
		if err != nil {
			resp.Diagnostics = resp.Diagnostics.FromError("Rollback failed", fmt.Errorf("roll back %s: %w", req.Address, err))
			break
		}
		now, changed, err := r.restore(ctx, tag, from)
		if err != nil {
			resp.Diagnostics = resp.Diagnostics.FromError("Rollback failed", fmt.Errorf("roll back %s: %w", req.Address, err))
			break
		}
		if !changed {
			already[tag] = now
			continue
		}
		if facts == nil {
			if b.engineStore {
				facts, err = engineStore{b.engine}.facts(ctx, now)
			} else {
				facts, err = r.reg.facts(ctx, tag, getString(st, "platform"))
			}
			if err != nil && !errors.Is(err, errNotFound) {
				resp.Diagnostics = resp.Diagnostics.Warnf(nil, "Previous image not read back", "%v.", err)
			}
		}
		fromText := short(from)
		if from == "" {
			fromText = "(no image)"
		}
		resp.Messages = append(resp.Messages, fmt.Sprintf("tag %s: %s -> %s", tag, fromText, short(now)))
		// Previous keeps the image recorded at the last promotion: it is
		// still where a rollback goes, and the next promotion records
		// afresh.
		priv.Applied[tag] = now
		moved++
	}
	if len(already) > 0 {
		if moved == 0 && !resp.Diagnostics.HasErrors() {
			resp.Messages = append(resp.Messages, fmt.Sprintf("tags already point to the previous build %s; nothing to roll back", short(already[tags[0]])))
			return resp
		}
		for _, tag := range sortedKeys(already) {
			resp.Messages = append(resp.Messages, fmt.Sprintf("tag %s: already points to the previous build %s", tag, short(already[tag])))
		}
	}
	if moved+len(already) == 0 {
		return resp
	}
	for _, tag := range unlisted {
		resp.Messages = append(resp.Messages, fmt.Sprintf("tag %s: left on %s: the configuration no longer lists it", tag, short(r.target())))
	}
	for _, tag := range unrecorded {
		resp.Messages = append(resp.Messages, fmt.Sprintf("tag %s: left on %s: it named no other image before the last promotion", tag, short(r.target())))
	}
	priv.RolledBack = true
	resp.Private = priv.encode()
	if facts != nil {
		attrs := st.AsValueMap()
		for k, v := range facts.computed() {
			attrs[k] = v
		}
		if r.pushed && b.engineStore {
			if dg, err := r.reg.head(ctx, tags[0]); err == nil {
				attrs["digest"] = cty.StringVal(dg)
			}
		}
		resp.NewState = cty.ObjectVal(attrs)
	}
	return resp
}

// configuredTags returns, in full, the tags config lists; those st records
// when config is cty.NilVal (not given).
func configuredTags(st, config cty.Value) ([]string, error) {
	tags := getList(st, "tags")
	if config != cty.NilVal {
		config = unmarked(config)
		switch {
		case config.IsNull():
			return nil, errors.New("the configuration no longer declares it, so none of its tags is sdform's to move")
		case !config.GetAttr("tags").IsWhollyKnown():
			return nil, errors.New("its tags in the configuration are not known before an apply, so sdform cannot tell which tags to move")
		}
		tags = getList(config, "tags")
	}
	var out []string
	for _, tag := range tags {
		out = append(out, fullRef(tag))
	}
	return out, nil
}

// restore moves tag back to what it named before the last promotion (from
// is what it names now), and returns what it names afterwards where sdform
// tags (an image ID in the Engine, a manifest digest in the registry).
// changed is false when it named that already: an earlier rollback moved
// it back, and rolling back again would otherwise move it forward to the
// build it was rolled back from.
func (r *retagger) restore(ctx context.Context, tag, from string) (now string, changed bool, err error) {
	prev := r.priv.Previous[tag]
	switch {
	case !r.b.engineStore:
		if from == prev {
			return prev, false, nil
		}
		return prev, true, r.reg.tag(ctx, repoOf(tag)+"@"+prev, tag)
	case r.priv.PreviousPushed[tag] != "":
		return r.restorePushed(ctx, tag, from)
	case from == prev:
		return prev, false, nil
	}
	es := engineStore{r.b.engine}
	if err := es.tag(ctx, prev, tag); err != nil {
		if kept, kerr := previousTag(tag); kerr == nil && cerrdefs.IsNotFound(err) {
			err = fmt.Errorf("the previous image %s is no longer in the Docker Engine (%s, which kept it, was removed): %w", short(prev), kept, err)
		}
		return "", false, err
	}
	// Pushed, but the registry kept nothing: the promotion was recorded
	// before sdform kept previous images there, or the registry's tag
	// was new. The Engine's image goes back up.
	if r.pushed {
		if err := es.push(ctx, tag, r.out); err != nil {
			return "", false, err
		}
	}
	return prev, true, nil
}

// restorePushed moves tag back with push on the docker backend: in the
// registry to the manifest kept there, which needs nothing of the
// Engine's, then in the Engine to the image kept there or, where the
// Engine lost it (a prune, another machine), to the image pulled back
// from the registry.
func (r *retagger) restorePushed(ctx context.Context, tag, from string) (now string, changed bool, err error) {
	prev, prevPushed := r.priv.Previous[tag], r.priv.PreviousPushed[tag]
	inRegistry, err := r.reg.head(ctx, tag)
	if err != nil && !errors.Is(err, errNotFound) {
		return "", false, err
	}
	if inRegistry == prevPushed && (prev == "" || from == prev) {
		return from, false, nil
	}
	if inRegistry != prevPushed {
		if err := r.reg.tag(ctx, repoOf(tag)+"@"+prevPushed, tag); err != nil {
			return "", false, err
		}
	}
	es := engineStore{r.b.engine}
	if prev != "" {
		err := es.tag(ctx, prev, tag)
		if err == nil {
			return prev, true, nil
		}
		if !cerrdefs.IsNotFound(err) {
			return "", false, err
		}
	}
	if err := es.pull(ctx, tag, r.out); err != nil {
		return "", false, err
	}
	now, err = es.lookup(ctx, tag)
	return now, err == nil, err
}
