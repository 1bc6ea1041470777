package docker

import (
	"context"
	"errors"
	"fmt"

	"github.com/sdform/sdform/providers"
	"github.com/zclconf/go-cty/cty"
)

// read refreshes docker_image: an image deleted, or a tag sdform set that
// was moved or removed outside sdform, reads as gone (with the drift in
// words), so the plan builds and promotes again.
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
	gone := func(drift string) providers.ReadResponse {
		resp.NewState = cty.NullVal(req.Prior.Type())
		resp.Drift = drift
		t.p.goneBuilds.Store(req.Address, &imagePrivate{Version: privateVersion, Builder: priv.Builder, History: priv.History})
		return resp
	}
	if b.engineStore {
		es := engineStore{b.engine}
		if _, err := es.facts(ctx, id); errors.Is(err, errNotFound) {
			return gone(fmt.Sprintf("image %s deleted outside sdform", short(id)))
		} else if err != nil {
			resp.Diagnostics = resp.Diagnostics.Warnf(nil, "Cannot refresh "+req.Address, "%v.", err)
			return resp
		}
		for _, tag := range sortedKeys(priv.Applied) {
			got, err := es.lookup(ctx, tag)
			switch {
			case errors.Is(err, errNotFound):
				return gone(fmt.Sprintf("tag %s removed outside sdform", tag))
			case err != nil:
				resp.Diagnostics = resp.Diagnostics.Warnf(nil, "Cannot refresh "+req.Address, "%v.", err)
				return resp
			case got != priv.Applied[tag]:
				return gone(fmt.Sprintf("tag %s now points to %s", tag, short(got)))
			}
		}
		return resp
	}
	digest := getString(st, "digest")
	if !getBool(st, "push") || digest == "" {
		// The image lives only in BuildKit's own store, which its API
		// does not let sdform read.
		return resp
	}
	reg := registry{cfg: t.p.cfg}
	refs := map[string]string{}
	for tag, want := range priv.Applied {
		refs[tag] = want
	}
	for _, c := range priv.Candidates {
		refs[c] = digest
	}
	for _, ref := range sortedKeys(refs) {
		got, err := reg.head(ctx, ref)
		switch {
		case errors.Is(err, errNotFound):
			return gone(fmt.Sprintf("image %s deleted outside sdform (%s no longer resolves)", short(refs[ref]), ref))
		case err != nil:
			resp.Diagnostics = resp.Diagnostics.Warnf(nil, "Cannot refresh "+req.Address, "%v.", err)
			return resp
		case got != refs[ref]:
			return gone(fmt.Sprintf("tag %s now points to %s", ref, short(got)))
		}
	}
	return resp
}
