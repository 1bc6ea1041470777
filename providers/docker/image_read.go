package docker

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/sdform/sdform/lang"
	"github.com/sdform/sdform/providers"
	"github.com/zclconf/go-cty/cty"
)

// read refreshes docker_image. An image deleted outside sdform reads as
// gone (with the drift in words), so the plan builds and promotes again. A
// tag sdform set that was moved or removed outside sdform is drift of that
// tag alone: it leaves the state's tags, so the plan points it back at
// the image (an update, no build), and the object keeps the tags it still
// owns, which destroy then removes.
func (t *imageType) read(ctx context.Context, req providers.ReadRequest) providers.ReadResponse {
	resp := providers.ReadResponse{NewState: req.Prior, Private: req.Private}
	if req.Prior.IsNull() {
		return resp
	}
	st := unmarked(req.Prior)
	id := getString(st, "id")
	if id == "" {
		return resp
	}
	priv, err := decodePrivate(req.Private)
	if err != nil {
		resp.Diagnostics = resp.Diagnostics.Warnf(nil, "Unreadable build record", "%v.", err)
	}
	b, err := t.p.builder(ctx)
	if err != nil {
		resp.Diagnostics = resp.Diagnostics.Warnf(nil, "Cannot refresh "+req.Address,
			"%v. The image's state is taken as recorded; whether it still exists is not known.", err)
		return resp
	}
	digest := getString(st, "digest")
	pushed := getBool(st, "push") && digest != ""
	if !b.engineStore && !pushed {
		// The image lives only in BuildKit's own store, which its API
		// does not let sdform read.
		return resp
	}
	gone, err := t.gone(ctx, b, st, priv)
	if err != nil {
		resp.Diagnostics = resp.Diagnostics.Warnf(nil, "Cannot refresh "+req.Address, "%v.", err)
		return resp
	}
	if gone != "" {
		resp.NewState = cty.NullVal(req.Prior.Type())
		resp.Drift = gone
		t.p.goneBuilds.Store(req.Address, &imagePrivate{Version: privateVersion, Builder: priv.Builder, History: priv.History})
		return resp
	}
	moved, err := t.movedTags(ctx, b, st, priv)
	if err != nil {
		resp.Diagnostics = resp.Diagnostics.Warnf(nil, "Cannot refresh "+req.Address, "%v.", err)
		return resp
	}
	if len(moved) == 0 {
		return resp
	}
	var drift []string
	for _, tag := range sortedKeys(moved) {
		drift = append(drift, moved[tag])
		delete(priv.Applied, tag)
	}
	resp.Drift = strings.Join(drift, "; ")
	resp.NewState = withoutTags(req.Prior, moved)
	resp.Private = priv.encode()
	return resp
}

// gone says, in words, how the image went away outside sdform; "" while
// it exists: in the Engine on the docker backend, else in a registry.
func (t *imageType) gone(ctx context.Context, b *builder, st cty.Value, priv *imagePrivate) (string, error) {
	id := getString(st, "id")
	if b.engineStore {
		_, err := engineStore{b.engine}.facts(ctx, id)
		if errors.Is(err, errNotFound) {
			return fmt.Sprintf("image %s deleted outside sdform", short(id)), nil
		}
		return "", err
	}
	// The manifest is looked for in each repository it was pushed to.
	digest := getString(st, "digest")
	reg := registry{cfg: t.p.cfg}
	var repos []string
	refs := append(append(slices.Clone(priv.Candidates), getList(st, "tags")...), sortedKeys(priv.Applied)...)
	for _, ref := range refs {
		if repo := repoOf(ref); !slices.Contains(repos, repo) {
			repos = append(repos, repo)
		}
	}
	for _, repo := range repos {
		_, err := reg.head(ctx, repo+"@"+digest)
		if err == nil {
			return "", nil
		}
		if !errors.Is(err, errNotFound) {
			return "", err
		}
	}
	if len(repos) == 0 {
		return "", nil
	}
	return fmt.Sprintf("image %s deleted outside sdform (no longer in %s)", short(digest), lang.JoinAnd(repos)), nil
}

// movedTags returns, with the drift in words, each tag sdform set that
// now names something else, or nothing: in the Engine on the docker
// backend and, for a promoted pushed image, in the registry as well; in
// the registry on a standalone BuildKit.
func (t *imageType) movedTags(ctx context.Context, b *builder, st cty.Value, priv *imagePrivate) (map[string]string, error) {
	reg := registry{cfg: t.p.cfg}
	digest := getString(st, "digest")
	moved := map[string]string{}
	for _, tag := range sortedKeys(priv.Applied) {
		want := priv.Applied[tag]
		var got string
		var err error
		if b.engineStore {
			got, err = engineStore{b.engine}.lookup(ctx, tag)
		} else {
			got, err = reg.head(ctx, tag)
		}
		switch {
		case errors.Is(err, errNotFound):
			moved[tag] = fmt.Sprintf("tag %s removed outside sdform", tag)
			continue
		case err != nil:
			return nil, err
		case got != want:
			moved[tag] = fmt.Sprintf("tag %s now points to %s, not %s", tag, short(got), short(want))
			continue
		}
		// The Engine's tag is right; the registry's, which is what gets
		// deployed, must name the pushed manifest too. Before promotion
		// the tags name the previous build, whose digest is not kept.
		if !b.engineStore || !getBool(st, "push") || digest == "" || !priv.Promoted {
			continue
		}
		got, err = reg.head(ctx, tag)
		switch {
		case errors.Is(err, errNotFound):
			moved[tag] = fmt.Sprintf("tag %s removed from the registry outside sdform", tag)
		case err != nil:
			return nil, err
		case got != digest:
			moved[tag] = fmt.Sprintf("tag %s in the registry now points to %s, not the pushed %s", tag, short(got), short(digest))
		}
	}
	return moved, nil
}

// withoutTags is v with the given tags left out of its tags list.
func withoutTags(v cty.Value, drop map[string]string) cty.Value {
	u, pvm := v.UnmarkDeepWithPaths()
	attrs := u.AsValueMap()
	// Marks inside the list would point at elements that may be gone.
	var marks []cty.PathValueMarks
	for _, m := range pvm {
		if len(m.Path) > 0 && m.Path[0] == (cty.GetAttrStep{Name: "tags"}) && len(m.Path) > 1 {
			continue
		}
		marks = append(marks, m)
	}
	var keep []cty.Value
	for _, tag := range getList(u, "tags") {
		if _, ok := drop[tag]; !ok {
			keep = append(keep, cty.StringVal(tag))
		}
	}
	if len(keep) == 0 {
		attrs["tags"] = cty.ListValEmpty(cty.String)
	} else {
		attrs["tags"] = cty.ListVal(keep)
	}
	return cty.ObjectVal(attrs).MarkWithPaths(marks)
}
