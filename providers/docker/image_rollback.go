package docker

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/sdform/sdform/providers"
	"github.com/zclconf/go-cty/cty"
)

// rollback moves each tag sdform moved at the last promotion back to what
// it pointed to before (and pushes it there when the image is pushed). The
// state then describes the image the tags point to again, and the record
// says it was rolled back, so the next plan proposes, with that reason, to
// build and promote what the configuration asks for.
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
	var tags []string
	for _, tag := range sortedKeys(priv.Previous) {
		if priv.Previous[tag] != "" {
			tags = append(tags, tag)
		}
	}
	if len(tags) == 0 {
		resp.Diagnostics = resp.Diagnostics.Errorf(nil, "Nothing to roll back",
			"No tag of %s pointed to another image before sdform last moved it, so there is no previous image to restore.", req.Address)
		return resp
	}
	b, err := t.p.builder(ctx)
	if err != nil {
		resp.Diagnostics = resp.Diagnostics.FromError("Builder unreachable", fmt.Errorf("roll back %s: %w", req.Address, err))
		return resp
	}
	st := unmarked(req.State)
	pushed := getBool(st, "push")
	reg := registry{cfg: t.p.cfg}
	// live says what tag names now, in the store its Previous digest
	// came from.
	live := func(tag string) (string, error) {
		if b.engineStore {
			return engineStore{b.engine}.lookup(ctx, tag)
		}
		return reg.head(ctx, tag)
	}
	var facts *imageFacts
	var already []string
	moved, back := 0, 0
	for _, tag := range tags {
		prev, cur := priv.Previous[tag], priv.Applied[tag]
		// A tag an earlier rollback moved back (the record says so, and
		// it still names that image) stays: rolling back again would
		// otherwise move it forward to the build it was rolled back from.
		if cur == prev {
			if now, err := live(tag); err == nil && now == prev {
				already = append(already, tag)
				back++
				continue
			}
		}
		if b.engineStore {
			es := engineStore{b.engine}
			if err := es.tag(ctx, prev, tag); err != nil {
				resp.Diagnostics = resp.Diagnostics.FromError("Rollback failed", fmt.Errorf("roll back %s: %w", req.Address, err))
				break
			}
			if pushed {
				if err := es.push(ctx, tag, out); err != nil {
					resp.Diagnostics = resp.Diagnostics.FromError("Rollback push failed", fmt.Errorf("roll back %s: %w", req.Address, err))
					break
				}
			}
			if facts == nil {
				facts, err = es.facts(ctx, prev)
			}
		} else {
			if err := reg.tag(ctx, repoOf(tag)+"@"+prev, tag); err != nil {
				resp.Diagnostics = resp.Diagnostics.FromError("Rollback failed", fmt.Errorf("roll back %s: %w", req.Address, err))
				break
			}
			if facts == nil {
				facts, err = reg.facts(ctx, tag, getString(st, "platform"))
			}
		}
		if err != nil && !errors.Is(err, errNotFound) {
			resp.Diagnostics = resp.Diagnostics.Warnf(nil, "Previous image not read back", "%v.", err)
		}
		resp.Messages = append(resp.Messages, fmt.Sprintf("tag %s: %s -> %s", tag, short(cur), short(prev)))
		// Previous keeps the digest recorded before the last promotion:
		// it is still where a rollback goes, and the next promotion
		// records it afresh.
		priv.Applied[tag] = prev
		moved++
		back++
	}
	if len(already) > 0 {
		if moved == 0 && !resp.Diagnostics.HasErrors() {
			resp.Messages = append(resp.Messages, fmt.Sprintf("tags already point to the previous build %s; nothing to roll back", short(priv.Previous[already[0]])))
			return resp
		}
		for _, tag := range already {
			resp.Messages = append(resp.Messages, fmt.Sprintf("tag %s: already points to the previous build %s", tag, short(priv.Previous[tag])))
		}
	}
	if back == 0 {
		return resp
	}
	priv.RolledBack = true
	resp.Private = priv.encode()
	if facts != nil {
		attrs := st.AsValueMap()
		for k, v := range facts.computed() {
			attrs[k] = v
		}
		if pushed && b.engineStore {
			if dg, err := reg.head(ctx, tags[0]); err == nil {
				attrs["digest"] = cty.StringVal(dg)
			}
		}
		resp.NewState = cty.ObjectVal(attrs)
	}
	return resp
}
