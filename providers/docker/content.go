package docker

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/containerd/containerd/v2/core/content"
	"github.com/containerd/containerd/v2/core/content/proxy"
	bkclient "github.com/moby/buildkit/client"
	digest "github.com/opencontainers/go-digest"
	ocispecs "github.com/opencontainers/image-spec/specs-go/v1"
)

// contentFacts reads a built image's manifest and config from a standalone
// BuildKit's content store (its read-only content API), for images that were
// not pushed anywhere sdform could read them. The size is the compressed
// layers plus the config, as in a registry.
func contentFacts(ctx context.Context, bk *bkclient.Client, manifest string) (*imageFacts, error) {
	dg, err := digest.Parse(manifest)
	if err != nil {
		return nil, fmt.Errorf("read image %s: %w", manifest, err)
	}
	store := proxy.NewContentStore(bk.ContentClient())
	// A manifest, or an index (several platforms, or attestations) whose
	// first image manifest is the build's: both decode into this.
	var m struct {
		ocispecs.Manifest
		Manifests []ocispecs.Descriptor `json:"manifests"`
	}
	if err := readJSON(ctx, store, dg, &m); err != nil {
		return nil, err
	}
	if len(m.Manifests) > 0 {
		for _, d := range m.Manifests {
			if d.Platform == nil || d.Platform.OS != "unknown" {
				dg = d.Digest
				break
			}
		}
		if err := readJSON(ctx, store, dg, &m.Manifest); err != nil {
			return nil, err
		}
	}
	var img ocispecs.Image
	if err := readJSON(ctx, store, m.Config.Digest, &img); err != nil {
		return nil, err
	}
	f := &imageFacts{ID: m.Config.Digest.String(), Digest: manifest, Size: m.Config.Size, SizeKnown: true}
	for _, l := range m.Layers {
		f.Size += l.Size
	}
	if img.Created != nil {
		f.Created = *img.Created
	}
	c := img.Config
	f.Env, f.Labels, f.Entry, f.Cmd, f.Workdir, f.User = c.Env, c.Labels, c.Entrypoint, c.Cmd, c.WorkingDir, c.User
	for p := range c.ExposedPorts {
		f.Ports = append(f.Ports, p)
	}
	return f, nil
}

// readJSON decodes one blob of the content store.
func readJSON(ctx context.Context, store content.Provider, dg digest.Digest, v any) error {
	dt, err := content.ReadBlob(ctx, store, ocispecs.Descriptor{Digest: dg})
	if err != nil {
		return fmt.Errorf("read %s from BuildKit's content store: %w", dg, err)
	}
	if err := json.Unmarshal(dt, v); err != nil {
		return fmt.Errorf("decode %s: %w", dg, err)
	}
	return nil
}
