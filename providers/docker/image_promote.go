package docker

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/sdform/sdform/providers"
	"github.com/zclconf/go-cty/cty"
)

// promote moves the real tags to a new build once its tests passed, and
// records what each tag pointed to before (for rollback). When a test
// failed it leaves every tag alone and says where they still point.
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
	if err := t.moveTags(ctx, b, st, priv, tags, out); err != nil {
		resp.Private = priv.encode()
		resp.Diagnostics = resp.Diagnostics.FromError("Promotion failed", fmt.Errorf("promote %s: %w", req.Address, err))
		return resp
	}
	if b.engineStore {
		for _, c := range priv.Candidates {
			if err := (engineStore{b.engine}).untag(ctx, c); err != nil {
				resp.Diagnostics = resp.Diagnostics.Warnf(nil, "Candidate tag kept", "%v.", err)
			}
		}
	}
	priv.Candidates, priv.Promoted = nil, true
	resp.Private = priv.encode()
	return resp
}

// moveTags points each tag at the image in st: in the Engine (and, when
// pushed, in the registry from the pushed manifest), or in the registry
// alone on a standalone BuildKit. What a tag pointed to before goes into
// priv.Previous.
func (t *imageType) moveTags(ctx context.Context, b *builder, st cty.Value, priv *imagePrivate, tags []string, out io.Writer) error {
	id, digest := getString(st, "id"), getString(st, "digest")
	pushed := getBool(st, "push") && digest != ""
	reg := registry{cfg: t.p.cfg}
	if priv.Applied == nil {
		priv.Applied = map[string]string{}
	}
	if priv.Previous == nil {
		priv.Previous = map[string]string{}
	}
	for _, tag := range tags {
		var prev, now string
		if b.engineStore {
			es := engineStore{b.engine}
			p, err := es.lookup(ctx, tag)
			if err != nil && !errors.Is(err, errNotFound) {
				return err
			}
			prev, now = p, id
			if prev != id {
				if err := es.tag(ctx, id, tag); err != nil {
					return err
				}
			}
			if pushed {
				if err := reg.tag(ctx, repoOf(tag)+"@"+digest, tag); err != nil {
					return err
				}
			}
		} else {
			p, err := reg.head(ctx, tag)
			if err != nil && !errors.Is(err, errNotFound) {
				return err
			}
			prev, now = p, digest
			if prev != digest {
				if err := reg.tag(ctx, repoOf(tag)+"@"+digest, tag); err != nil {
					return err
				}
			}
		}
		if prev != now {
			priv.Previous[tag] = prev
			was := "new tag"
			if prev != "" {
				was = "was " + short(prev)
			}
			fmt.Fprintf(out, "tag %s → %s (%s)\n", tag, short(now), was)
		}
		priv.Applied[tag] = now
	}
	return nil
}
