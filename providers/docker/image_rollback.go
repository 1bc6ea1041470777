package docker

import (
	"context"
	"errors"
	"fmt"
	"io"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/sdform/sdform/providers"
	"github.com/zclconf/go-cty/cty"
)

// rollback moves each tag of the configuration that the last promotion
// moved back to what it pointed to before (and pushes it there when the
// image is pushed). That image was kept under the tag's previousTag, so a
// prune did not delete it. The state then describes the image the tags
// point to again, and the record says it was rolled back, so the next plan
// proposes, with that reason, to build and promote what the configuration
// asks for.
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
	// Only the tags the object has now: one the configuration dropped is
	// no longer sdform's to move.
	var tags, unrecorded []string
	for _, tag := range getList(st, "tags") {
		if priv.Previous[tag] != "" {
			tags = append(tags, tag)
		} else {
			unrecorded = append(unrecorded, tag)
		}
	}
	if len(tags) == 0 {
		resp.Diagnostics = resp.Diagnostics.Errorf(nil, "Nothing to roll back",
			"No tag of %s named another image before its last promotion (or it has no tags), so there is no previous image to restore.", req.Address)
		return resp
	}
	b, err := t.p.builder(ctx)
	if err != nil {
		resp.Diagnostics = resp.Diagnostics.FromError("Builder unreachable", fmt.Errorf("roll back %s: %w", req.Address, err))
		return resp
	}
	pushed := getBool(st, "push")
	r := t.retagger(b, st, priv, out)
	reg := registry{cfg: t.p.cfg}
	var facts *imageFacts
	var already []string
	moved := 0
	for _, tag := range tags {
		prev := priv.Previous[tag]
		from, err := r.live(ctx, tag)
		if err != nil {
			resp.Diagnostics = resp.Diagnostics.FromError("Rollback failed", fmt.Errorf("roll back %s: %w", req.Address, err))
			break
		}
		// A tag an earlier rollback moved back stays: rolling back again
		// would otherwise move it forward to the build it was rolled back
		// from.
		if from == prev {
			already = append(already, tag)
			continue
		}
		if b.engineStore {
			es := engineStore{b.engine}
			if err := es.tag(ctx, prev, tag); err != nil {
				if kept, kerr := previousTag(tag); kerr == nil && cerrdefs.IsNotFound(err) {
					err = fmt.Errorf("the previous image %s is no longer in the Docker Engine (%s, which kept it, was removed): %w", short(prev), kept, err)
				}
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
		fromText := short(from)
		if from == "" {
			fromText = "(no image)"
		}
		resp.Messages = append(resp.Messages, fmt.Sprintf("tag %s: %s -> %s", tag, fromText, short(prev)))
		// Previous keeps the image recorded at the last promotion: it is
		// still where a rollback goes, and the next promotion records
		// afresh.
		priv.Applied[tag] = prev
		moved++
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
	if moved+len(already) == 0 {
		return resp
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
		if pushed && b.engineStore {
			if dg, err := reg.head(ctx, tags[0]); err == nil {
				attrs["digest"] = cty.StringVal(dg)
			}
		}
		resp.NewState = cty.ObjectVal(attrs)
	}
	return resp
}
