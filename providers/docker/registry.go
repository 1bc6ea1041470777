package docker

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
)

// errNotFound marks an image or tag that does not exist where it was looked
// for (engine store or registry).
var errNotFound = errors.New("not found")

// registry reads and tags images in registries with go-containerregistry,
// using the user's docker credentials.
type registry struct {
	cfg config
}

// parseRef parses an image reference, reaching insecure hosts over HTTP.
func (r registry) parseRef(ref string) (name.Reference, error) {
	n, err := name.ParseReference(ref)
	if err != nil {
		return nil, fmt.Errorf("parse image reference %q: %w", ref, err)
	}
	if r.cfg.insecureRegistry(n.Context().RegistryStr()) {
		return name.ParseReference(ref, name.Insecure)
	}
	return n, nil
}

func (r registry) options(ctx context.Context) []remote.Option {
	return []remote.Option{remote.WithContext(ctx), remote.WithAuthFromKeychain(authn.DefaultKeychain)}
}

// head returns the manifest digest a reference resolves to.
func (r registry) head(ctx context.Context, ref string) (string, error) {
	n, err := r.parseRef(ref)
	if err != nil {
		return "", err
	}
	d, err := remote.Head(n, r.options(ctx)...)
	if err != nil {
		return "", registryErr("resolve "+ref, err)
	}
	return d.Digest.String(), nil
}

// facts reads an image's manifest and config from its registry. The size is
// the sum of the compressed layers and the config, what a pull transfers.
func (r registry) facts(ctx context.Context, ref string, platform string) (*imageFacts, error) {
	n, err := r.parseRef(ref)
	if err != nil {
		return nil, err
	}
	opts := r.options(ctx)
	if platform != "" {
		p, err := v1.ParsePlatform(platform)
		if err != nil {
			return nil, fmt.Errorf("parse platform %q: %w", platform, err)
		}
		opts = append(opts, remote.WithPlatform(*p))
	}
	img, err := remote.Image(n, opts...)
	if err != nil {
		return nil, registryErr("read "+ref, err)
	}
	m, err := img.Manifest()
	if err != nil {
		return nil, registryErr("read manifest of "+ref, err)
	}
	cf, err := img.ConfigFile()
	if err != nil {
		return nil, registryErr("read config of "+ref, err)
	}
	dg, err := img.Digest()
	if err != nil {
		return nil, fmt.Errorf("digest manifest of %s: %w", ref, err)
	}
	size := m.Config.Size
	for _, l := range m.Layers {
		size += l.Size
	}
	f := &imageFacts{
		ID:        m.Config.Digest.String(),
		Digest:    dg.String(),
		Size:      size,
		SizeKnown: true,
		Created:   cf.Created.Time,
		Env:       cf.Config.Env,
		Labels:    cf.Config.Labels,
		Entry:     cf.Config.Entrypoint,
		Cmd:       cf.Config.Cmd,
		Workdir:   cf.Config.WorkingDir,
		User:      cf.Config.User,
	}
	for p := range cf.Config.ExposedPorts {
		f.Ports = append(f.Ports, p)
	}
	return f, nil
}

// tag points tag at the manifest that src (a digest reference in tag's
// repository) names.
func (r registry) tag(ctx context.Context, src, tag string) error {
	s, err := r.parseRef(src)
	if err != nil {
		return err
	}
	d, err := remote.Get(s, r.options(ctx)...)
	if err != nil {
		return registryErr("read "+src, err)
	}
	tt, err := r.parseTag(tag)
	if err != nil {
		return err
	}
	if err := remote.Tag(tt, d, r.options(ctx)...); err != nil {
		return registryErr("tag "+tag, err)
	}
	return nil
}

// place points tag at the manifest dg. A registry serves a manifest only
// from the repositories it was pushed to, so when tag's repository lacks it
// the image is copied there from the first of sources (references whose
// repositories hold it) that has it: blobs are mounted across repositories
// of one registry, or streamed from another registry, and the manifest is
// written unchanged, so its digest stays dg.
func (r registry) place(ctx context.Context, dg, tag string, sources []string) error {
	tt, err := r.parseTag(tag)
	if err != nil {
		return err
	}
	repos := []string{repoOf(tag)}
	for _, s := range sources {
		if repo := repoOf(s); !slices.Contains(repos, repo) {
			repos = append(repos, repo)
		}
	}
	for i, repo := range repos {
		src := repo + "@" + dg
		s, err := r.parseRef(src)
		if err != nil {
			return err
		}
		d, err := remote.Get(s, r.options(ctx)...)
		if err != nil {
			if err := registryErr("read "+src, err); errors.Is(err, errNotFound) {
				continue
			}
			return registryErr("read "+src, err)
		}
		if i == 0 {
			if err := remote.Tag(tt, d, r.options(ctx)...); err != nil {
				return registryErr("tag "+tag, err)
			}
			return nil
		}
		if err := r.copy(ctx, d, tt); err != nil {
			return fmt.Errorf("copy %s to %s: %w", src, tag, err)
		}
		return nil
	}
	return fmt.Errorf("place %s at %s: no repository of %s holds it: %w", short(dg), tag, strings.Join(repos, ", "), errNotFound)
}

// copy writes the image or index d under tag, with its blobs.
func (r registry) copy(ctx context.Context, d *remote.Descriptor, tag name.Tag) error {
	if d.MediaType.IsIndex() {
		idx, err := d.ImageIndex()
		if err != nil {
			return err
		}
		return remote.WriteIndex(tag, idx, r.options(ctx)...)
	}
	img, err := d.Image()
	if err != nil {
		return err
	}
	return remote.Write(tag, img, r.options(ctx)...)
}

// parseTag parses a tag reference, reaching insecure hosts over HTTP.
func (r registry) parseTag(tag string) (name.Tag, error) {
	t, err := r.parseRef(tag)
	if err != nil {
		return name.Tag{}, err
	}
	tt, ok := t.(name.Tag)
	if !ok {
		return name.Tag{}, fmt.Errorf("tag %s: not a tag reference", tag)
	}
	return tt, nil
}

// registryErr wraps err, turning "no such manifest/repository" into
// errNotFound so callers can tell absence from failure.
func registryErr(what string, err error) error {
	var te *transport.Error
	if errors.As(err, &te) {
		if te.StatusCode == http.StatusNotFound {
			return fmt.Errorf("%s: %w", what, errNotFound)
		}
		for _, d := range te.Errors {
			if d.Code == transport.ManifestUnknownErrorCode || d.Code == transport.NameUnknownErrorCode {
				return fmt.Errorf("%s: %w", what, errNotFound)
			}
		}
	}
	return fmt.Errorf("%s: %w", what, err)
}

// repoOf returns the repository part of a tag reference ("host/repo").
func repoOf(ref string) string {
	if n, err := name.ParseReference(ref, name.WeakValidation); err == nil {
		return n.Context().Name()
	}
	if i := strings.LastIndex(ref, ":"); i > strings.LastIndex(ref, "/") {
		return ref[:i]
	}
	return ref
}
