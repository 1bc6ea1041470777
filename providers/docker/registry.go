package docker

import (
	"context"
	"errors"
	"fmt"
	"net/http"
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

// tag points tag at the manifest that src (a digest reference) names.
func (r registry) tag(ctx context.Context, src, tag string) error {
	s, err := r.parseRef(src)
	if err != nil {
		return err
	}
	d, err := remote.Get(s, r.options(ctx)...)
	if err != nil {
		return registryErr("read "+src, err)
	}
	t, err := r.parseRef(tag)
	if err != nil {
		return err
	}
	tt, ok := t.(name.Tag)
	if !ok {
		return fmt.Errorf("tag %s: not a tag reference", tag)
	}
	if err := remote.Tag(tt, d, r.options(ctx)...); err != nil {
		return registryErr("tag "+tag, err)
	}
	return nil
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
