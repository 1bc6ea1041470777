package docker

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/sdform/sdform/providers"
	"github.com/zclconf/go-cty/cty"
)

// promote moves the real tags to a new build once its tests passed. What
// each tag named before is recorded for rollback and kept under its
// previousTag, and the tags the configuration no longer lists are removed.
// When a test failed it leaves every tag alone and says where they still
// point.
func (t *imageType) promote(ctx context.Context, req providers.PromoteRequest) providers.PromoteResponse {
	resp := providers.PromoteResponse{NewState: req.State, Private: req.Private}
	out := req.UI.Out
	if out == nil {
		out = io.Discard
	}
	priv, err := decodePrivate(req.Private)
	if err != nil {
		resp.Diagnostics = resp.Diagnostics.FromError("Unreadable build record", err)
		return resp
	}
	if priv.Promoted || req.State.IsNull() {
		return resp
	}
	st := unmarked(req.State)
	tags := getList(st, "tags")
	if !req.Passed {
		var where []string
		for _, tag := range tags {
			if prev, ok := priv.Applied[tag]; ok {
				where = append(where, fmt.Sprintf("%s still points to %s", tag, short(prev)))
			} else {
				where = append(where, tag+" was not created")
			}
		}
		msg := fmt.Sprintf("tags of %s not moved: %s failed; %s. The new build %s carries %s.",
			req.Address, strings.Join(req.Failed, ", "), strings.Join(where, ", "), short(getString(st, "id")), strings.Join(priv.Candidates, ", "))
		fmt.Fprintln(out, msg)
		resp.Diagnostics = resp.Diagnostics.Warnf(nil, "Image not promoted", "%s", msg)
		return resp
	}
	b, err := t.p.builder(ctx)
	if err != nil {
		resp.Diagnostics = resp.Diagnostics.FromError("Builder unreachable", fmt.Errorf("promote %s: %w", req.Address, err))
		return resp
	}
	r := t.retagger(b, st, priv, out)
	// The build pushed the image under its candidate tags.
	r.sources = priv.Candidates
	previous := map[string]before{}
	for i, tag := range tags {
		was, err := r.promote(ctx, tag)
		if err != nil {
			// The tags moved so far keep what they named before, for a
			// rollback; the rest keep their record.
			for _, done := range tags[:i] {
				priv.setPrevious(done, previous[done])
			}
			resp.Private = priv.encode()
			resp.Diagnostics = resp.Diagnostics.FromError("Promotion failed", fmt.Errorf("promote %s: %w", req.Address, err))
			return resp
		}
		previous[tag] = was
	}
	for _, tag := range r.stale(tags) {
		if err := r.drop(ctx, tag); err != nil {
			resp.Diagnostics = resp.Diagnostics.Warnf(cty.GetAttrPath("tags"), "Old tag kept", "%v.", err)
		}
	}
	// Only this promotion's record counts: a rollback restores one step.
	priv.Previous, priv.PreviousPushed = map[string]string{}, map[string]string{}
	for tag, was := range previous {
		priv.setPrevious(tag, was)
	}
	for _, c := range priv.Candidates {
		if err := r.dropCandidate(ctx, c); err != nil {
			resp.Diagnostics = resp.Diagnostics.Warnf(nil, "Candidate tag kept", "%v.", err)
		}
	}
	priv.Candidates, priv.Promoted = nil, true
	resp.Private = priv.encode()
	return resp
}

// retagger moves the tags of one docker_image and keeps priv.Applied and
// priv.Previous in step with what it did. On the docker backend tags live
// in the Engine's store (and, when the image is pushed, in its registry
// too); on a standalone BuildKit with push, in the registry alone.
type retagger struct {
	b   *builder
	reg registry
	out io.Writer
	// priv is updated in place.
	priv *imagePrivate
	// id is the image's ID; digest its manifest digest when pushed.
	id, digest string
	pushed     bool
	// sources are references whose repositories hold the pushed manifest,
	// for a tag in a repository that does not (see registry.place).
	sources []string
}

func (t *imageType) retagger(b *builder, st cty.Value, priv *imagePrivate, out io.Writer) *retagger {
	if priv.Applied == nil {
		priv.Applied = map[string]string{}
	}
	if priv.Previous == nil {
		priv.Previous = map[string]string{}
	}
	if priv.PreviousPushed == nil {
		priv.PreviousPushed = map[string]string{}
	}
	digest := getString(st, "digest")
	return &retagger{b: b, reg: registry{cfg: t.p.cfg}, out: out, priv: priv,
		id: getString(st, "id"), digest: digest, pushed: getBool(st, "push") && digest != ""}
}

// target is what the tags must name: the image ID in the Engine, the
// manifest digest in a registry.
func (r *retagger) target() string {
	if r.b.engineStore {
		return r.id
	}
	return r.digest
}

// live returns what ref names now in the store sdform tags in; "" when
// nothing.
func (r *retagger) live(ctx context.Context, ref string) (string, error) {
	var got string
	var err error
	if r.b.engineStore {
		got, err = engineStore{r.b.engine}.lookup(ctx, ref)
	} else {
		got, err = r.reg.head(ctx, ref)
	}
	if errors.Is(err, errNotFound) {
		return "", nil
	}
	return got, err
}

// before is what a tag named before a promotion, for a rollback: target
// where sdform tags (an image ID in the Engine, a manifest digest in the
// registry), and pushed, with push on the docker backend, the manifest
// digest the registry's tag named. "" where the tag was new.
type before struct {
	target, pushed string
}

// setPrevious records what tag named before a promotion, forgetting the
// parts where it was new.
func (p *imagePrivate) setPrevious(tag string, was before) {
	if was.target != "" {
		p.Previous[tag] = was.target
	} else {
		delete(p.Previous, tag)
	}
	if was.pushed != "" {
		p.PreviousPushed[tag] = was.pushed
	} else {
		delete(p.PreviousPushed, tag)
	}
}

// promote points tag at the image, first naming what it named before with
// previousTag(tag) (in the registry too when the docker backend pushes),
// and returns what a rollback restores for it: what it named before; or,
// where it named this image already, what the last promotion that moved
// it recorded.
func (r *retagger) promote(ctx context.Context, tag string) (before, error) {
	var was before
	prev, err := r.live(ctx, tag)
	if err != nil {
		return was, err
	}
	keptPushed := false
	if r.b.engineStore && r.pushed {
		if was.pushed, keptPushed, err = r.keepPushed(ctx, tag); err != nil {
			return was, err
		}
	}
	now := r.target()
	if prev == now {
		if err := r.point(ctx, tag, prev); err != nil {
			return was, err
		}
		if p := r.priv.Previous[tag]; p != now {
			was.target = p
		}
		return was, nil
	}
	desc := "new tag"
	kept, err := previousTag(tag)
	if err != nil {
		return was, err
	}
	if prev != "" {
		if err := r.keep(ctx, tag, prev); err != nil {
			return was, err
		}
		desc = "was " + short(prev) + ", kept as " + kept
		if keptPushed {
			desc += " in the Docker Engine and the registry"
		} else if r.b.engineStore && r.pushed {
			desc += " in the Docker Engine"
		}
	} else {
		// Nothing to keep; a previous tag left from an earlier
		// promotion would name an image no rollback goes to.
		if err := r.dropPrevious(ctx, tag); err != nil {
			return was, err
		}
		if keptPushed {
			desc = "new tag in the Docker Engine; the registry's was " + short(was.pushed) + ", kept there as " + kept
		}
	}
	if err := r.point(ctx, tag, prev); err != nil {
		return was, err
	}
	fmt.Fprintf(r.out, "tag %s → %s (%s)\n", tag, short(now), desc)
	was.target = prev
	return was, nil
}

// keepPushed, with push on the docker backend, names what tag names in
// the registry with previousTag(tag) there, before point moves it. It
// returns what a rollback restores in the registry: that manifest digest;
// "" when the registry has no such tag; the last promotion's record when
// the tag names the pushed image already. kept says whether it tagged.
func (r *retagger) keepPushed(ctx context.Context, tag string) (prev string, kept bool, err error) {
	prev, err = r.reg.head(ctx, tag)
	switch {
	case errors.Is(err, errNotFound):
		return "", false, nil
	case err != nil:
		return "", false, err
	case prev == r.digest:
		if p := r.priv.PreviousPushed[tag]; p != r.digest {
			return p, false, nil
		}
		return "", false, nil
	}
	name, err := previousTag(tag)
	if err != nil {
		return "", false, err
	}
	return prev, true, r.reg.tag(ctx, repoOf(tag)+"@"+prev, name)
}

// retag points tag at the image, as an update does: the image is the one
// the last promotion recorded, so the rollback record stays as it is.
func (r *retagger) retag(ctx context.Context, tag string) error {
	prev, err := r.live(ctx, tag)
	if err != nil {
		return err
	}
	if err := r.point(ctx, tag, prev); err != nil {
		return err
	}
	if now := r.target(); prev != now {
		was := "new tag"
		if prev != "" {
			was = "was " + short(prev)
		}
		fmt.Fprintf(r.out, "tag %s → %s (%s)\n", tag, short(now), was)
	}
	return nil
}

// point makes tag name the image; live is what it names now. With push on
// the docker backend the registry goes first, so that a failure there
// leaves the Engine's tag where the state says it is.
func (r *retagger) point(ctx context.Context, tag, live string) error {
	switch {
	case r.b.engineStore:
		if r.pushed {
			if err := r.reg.place(ctx, r.digest, tag, r.sources); err != nil {
				return err
			}
		}
		if live != r.id {
			if err := (engineStore{r.b.engine}).tag(ctx, r.id, tag); err != nil {
				return err
			}
		}
	case live != r.digest:
		if err := r.reg.place(ctx, r.digest, tag, r.sources); err != nil {
			return err
		}
	}
	r.priv.Applied[tag] = r.target()
	return nil
}

// keep names prev, what tag named before a promotion, with
// previousTag(tag) where sdform tags.
func (r *retagger) keep(ctx context.Context, tag, prev string) error {
	kept, err := previousTag(tag)
	if err != nil {
		return err
	}
	if r.b.engineStore {
		return engineStore{r.b.engine}.tag(ctx, prev, kept)
	}
	return r.reg.tag(ctx, repoOf(tag)+"@"+prev, kept)
}

// stale returns the tags sdform set or kept that tags no longer lists.
func (r *retagger) stale(tags []string) []string {
	var out []string
	for _, tag := range sortedKeys(r.priv.Applied) {
		if !slices.Contains(tags, tag) {
			out = append(out, tag)
		}
	}
	for _, tag := range append(sortedKeys(r.priv.Previous), sortedKeys(r.priv.PreviousPushed)...) {
		if !slices.Contains(tags, tag) && !slices.Contains(out, tag) {
			out = append(out, tag)
		}
	}
	return out
}

// drop removes tag, and its previous tag, where they still name what
// sdform pointed them at, and forgets both. Registry tags stay (few
// registries delete tags); sdform stops watching them.
func (r *retagger) drop(ctx context.Context, tag string) error {
	delete(r.priv.PreviousPushed, tag)
	if !r.b.engineStore {
		delete(r.priv.Applied, tag)
		delete(r.priv.Previous, tag)
		return nil
	}
	var errs []error
	if want, ok := r.priv.Applied[tag]; ok {
		errs = append(errs, r.untagIf(ctx, tag, want))
		delete(r.priv.Applied, tag)
	}
	errs = append(errs, r.dropPrevious(ctx, tag))
	return errors.Join(errs...)
}

// dropPrevious removes tag's previous tag in the Engine when it still
// names the image recorded for rollback, and forgets the record.
func (r *retagger) dropPrevious(ctx context.Context, tag string) error {
	want := r.priv.Previous[tag]
	delete(r.priv.Previous, tag)
	if want == "" || !r.b.engineStore {
		return nil
	}
	kept, err := previousTag(tag)
	if err != nil {
		return err
	}
	return r.untagIf(ctx, kept, want)
}

// dropCandidate removes a candidate tag of this build from the Engine.
func (r *retagger) dropCandidate(ctx context.Context, c string) error {
	if !r.b.engineStore {
		return nil
	}
	return r.untagIf(ctx, c, r.id)
}

// untagIf removes ref from the Engine when it names want; the Engine
// deletes an image with its last tag.
func (r *retagger) untagIf(ctx context.Context, ref, want string) error {
	got, err := r.live(ctx, ref)
	switch {
	case err != nil:
		return err
	case got == "":
		return nil
	case got != want:
		return fmt.Errorf("tag %s now points to %s, not %s as sdform set it; left alone", ref, short(got), short(want))
	}
	return engineStore{r.b.engine}.untag(ctx, ref)
}

// owned returns the Engine references that destroying the object removes,
// each with the image it names: the tags sdform set, the previous tags it
// kept and the candidate tags of a build not promoted, where they still
// name what sdform pointed them at. A reference that names something else
// now is no longer sdform's; left says so for each.
func (r *retagger) owned(ctx context.Context) (refs map[string]string, left []string, err error) {
	want := map[string]string{}
	for tag, id := range r.priv.Applied {
		want[tag] = id
	}
	for tag, id := range r.priv.Previous {
		if id == "" {
			continue
		}
		kept, err := previousTag(tag)
		if err != nil {
			return nil, nil, err
		}
		want[kept] = id
	}
	for _, c := range r.priv.Candidates {
		want[c] = r.id
	}
	refs = map[string]string{}
	for _, ref := range sortedKeys(want) {
		got, err := r.live(ctx, ref)
		switch {
		case err != nil:
			return nil, nil, err
		case got == "":
		case got != want[ref]:
			left = append(left, fmt.Sprintf("tag %s now points to %s, not %s as sdform set it; left alone", ref, short(got), short(want[ref])))
		default:
			refs[ref] = got
		}
	}
	return refs, left, nil
}

// unused returns an error naming the containers that use an image which
// removing refs (reference → image ID) would delete, that is one no other
// tag names: the Engine refuses to remove the last tag of an image a
// container uses, and removing the others first would leave the object
// half destroyed.
func (r *retagger) unused(ctx context.Context, refs map[string]string) error {
	es := engineStore{r.b.engine}
	removed := map[string]bool{}
	byImage := map[string][]string{}
	for ref, id := range refs {
		removed[fullRef(ref)] = true
		byImage[id] = append(byImage[id], ref)
	}
	deleted := map[string]bool{}
	for id := range byImage {
		tags, err := es.tags(ctx, id)
		if err != nil {
			return err
		}
		if !slices.ContainsFunc(tags, func(t string) bool { return !removed[fullRef(t)] }) {
			deleted[id] = true
		}
	}
	if len(deleted) == 0 {
		return nil
	}
	users, err := es.containers(ctx)
	if err != nil {
		return err
	}
	var uses, names []string
	for _, c := range users {
		if !deleted[c.imageID] {
			continue
		}
		tags := slices.Sorted(slices.Values(byImage[c.imageID]))
		uses = append(uses, fmt.Sprintf("%s (%s, %s) uses %s (%s)", c.name, c.id[:min(12, len(c.id))], c.state, short(c.imageID), strings.Join(tags, ", ")))
		names = append(names, c.name)
	}
	if len(uses) == 0 {
		return nil
	}
	return fmt.Errorf("containers use the images it would delete: %s. The Docker Engine deletes no image a container uses, so nothing was removed; remove the containers (docker rm -f %s), then destroy again",
		strings.Join(uses, "; "), strings.Join(names, " "))
}

// fullRef spells ref in full for comparison ("busybox" is
// docker.io/library/busybox:latest); ref itself when it is not a tag.
func fullRef(ref string) string {
	if t, err := parseTag(ref); err == nil {
		return t.String()
	}
	return ref
}
