package docker

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"iter"
	"strings"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/moby/moby/api/types/jsonstream"
	mobyclient "github.com/moby/moby/client"
)

// engineStore is the Docker Engine's image store, reached through its API.
type engineStore struct {
	c *mobyclient.Client
}

// facts inspects an image by ID or reference.
func (e engineStore) facts(ctx context.Context, ref string) (*imageFacts, error) {
	res, err := e.c.ImageInspect(ctx, ref)
	if err != nil {
		return nil, engineErr("inspect image "+ref, err)
	}
	f := &imageFacts{ID: res.ID, Size: res.Size, SizeKnown: true}
	if t, err := time.Parse(time.RFC3339Nano, res.Created); err == nil {
		f.Created = t
	}
	if c := res.Config; c != nil {
		f.Env, f.Labels, f.Entry, f.Cmd = c.Env, c.Labels, c.Entrypoint, c.Cmd
		f.Workdir, f.User = c.WorkingDir, c.User
		for p := range c.ExposedPorts {
			f.Ports = append(f.Ports, p)
		}
	}
	return f, nil
}

// engineErr wraps an Engine API error, turning "no such image" into
// errNotFound.
func engineErr(what string, err error) error {
	if cerrdefs.IsNotFound(err) {
		return fmt.Errorf("%s: %w", what, errNotFound)
	}
	return fmt.Errorf("%s: %w", what, err)
}

// lookup returns the image ID a reference points to in the Engine.
func (e engineStore) lookup(ctx context.Context, ref string) (string, error) {
	f, err := e.facts(ctx, ref)
	if err != nil {
		return "", err
	}
	return f.ID, nil
}

// tags returns the references that name the image id.
func (e engineStore) tags(ctx context.Context, id string) ([]string, error) {
	res, err := e.c.ImageInspect(ctx, id)
	if err != nil {
		return nil, engineErr("inspect image "+id, err)
	}
	return res.RepoTags, nil
}

// engineContainer is a container of the Engine, as messages name it.
type engineContainer struct {
	id, name, state, imageID string
}

// containers lists the Engine's containers, stopped ones too: a stopped
// container keeps its image as a running one does.
func (e engineStore) containers(ctx context.Context) ([]engineContainer, error) {
	res, err := e.c.ContainerList(ctx, mobyclient.ContainerListOptions{All: true})
	if err != nil {
		return nil, fmt.Errorf("list containers: %w", err)
	}
	var out []engineContainer
	for _, c := range res.Items {
		name := c.ID
		if len(c.Names) > 0 {
			name = strings.TrimPrefix(c.Names[0], "/")
		}
		out = append(out, engineContainer{id: c.ID, name: name, state: string(c.State), imageID: c.ImageID})
	}
	return out, nil
}

// tag points tag at the image src.
func (e engineStore) tag(ctx context.Context, src, tag string) error {
	if _, err := e.c.ImageTag(ctx, mobyclient.ImageTagOptions{Source: src, Target: tag}); err != nil {
		return fmt.Errorf("tag %s as %s: %w", src, tag, err)
	}
	return nil
}

// untag removes one tag; the image goes only when no tag is left on it.
func (e engineStore) untag(ctx context.Context, tag string) error {
	_, err := e.c.ImageRemove(ctx, tag, mobyclient.ImageRemoveOptions{})
	if err != nil && !cerrdefs.IsNotFound(err) {
		return fmt.Errorf("untag %s: %w", tag, err)
	}
	return nil
}

// push pushes ref through the Engine's image-push API, copying its progress
// messages to out, and fails on the first error message the stream carries.
func (e engineStore) push(ctx context.Context, ref string, out io.Writer) error {
	auth, err := registryAuth(ref)
	if err != nil {
		return err
	}
	resp, err := e.c.ImagePush(ctx, ref, mobyclient.ImagePushOptions{RegistryAuth: auth})
	if err != nil {
		return fmt.Errorf("push %s: %w", ref, err)
	}
	defer resp.Close()
	return follow("push "+ref, resp.JSONMessages(ctx), out)
}

// pull pulls ref through the Engine's image-pull API, as push pushes.
func (e engineStore) pull(ctx context.Context, ref string, out io.Writer) error {
	auth, err := registryAuth(ref)
	if err != nil {
		return err
	}
	resp, err := e.c.ImagePull(ctx, ref, mobyclient.ImagePullOptions{RegistryAuth: auth})
	if err != nil {
		return fmt.Errorf("pull %s: %w", ref, err)
	}
	defer resp.Close()
	return follow("pull "+ref, resp.JSONMessages(ctx), out)
}

// follow copies the status lines of a push or pull stream to out, each
// prefixed with what, and returns the first error message it carries.
func follow(what string, msgs iter.Seq2[jsonstream.Message, error], out io.Writer) error {
	for msg, err := range msgs {
		if err != nil {
			return fmt.Errorf("%s: %w", what, err)
		}
		if msg.Error != nil {
			return fmt.Errorf("%s: %s", what, msg.Error.Message)
		}
		if msg.Status != "" && msg.Progress == nil {
			if msg.ID != "" {
				fmt.Fprintf(out, "%s: %s %s\n", what, msg.ID, msg.Status)
			} else {
				fmt.Fprintf(out, "%s: %s\n", what, msg.Status)
			}
		}
	}
	return nil
}

// registryAuth encodes the user's credentials for ref's registry the way the
// Engine's X-Registry-Auth header wants them; "{}" when there are none.
func registryAuth(ref string) (string, error) {
	n, err := name.ParseReference(ref, name.WeakValidation)
	if err != nil {
		return "", fmt.Errorf("parse image reference %q: %w", ref, err)
	}
	a, err := authn.DefaultKeychain.Resolve(n.Context().Registry)
	if err != nil {
		return "", fmt.Errorf("read credentials for %s: %w", n.Context().RegistryStr(), err)
	}
	cfg, err := a.Authorization()
	if err != nil {
		return "", fmt.Errorf("read credentials for %s: %w", n.Context().RegistryStr(), err)
	}
	b, err := json.Marshal(map[string]string{
		"username":      cfg.Username,
		"password":      cfg.Password,
		"identitytoken": cfg.IdentityToken,
		"registrytoken": cfg.RegistryToken,
		"serveraddress": n.Context().RegistryStr(),
	})
	if err != nil {
		return "", err
	}
	return base64.URLEncoding.EncodeToString(b), nil
}
