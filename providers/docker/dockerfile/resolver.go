package dockerfile

import (
	"context"
	"encoding/json"
	"strings"
	"sync"

	"github.com/distribution/reference"
	"github.com/moby/buildkit/client/llb/sourceresolver"
	digest "github.com/opencontainers/go-digest"
	ocispecs "github.com/opencontainers/image-spec/specs-go/v1"
)

// resolution is what became of one base image reference.
type resolution struct {
	once   sync.Once
	digest string
	config []byte
	err    error // from the caller's resolver
}

// metaResolver is the image config resolver dockerfile2llb asks for every
// base image. It answers from the caller's BaseImageResolver, once per
// reference, and never fails the conversion: an image it cannot resolve
// (offline, or an error) gets a stand-in config so that the rest of the
// Dockerfile is still converted, and is reported by the prediction instead.
// Named contexts are answered here too, since without a frontend client
// dockerfile2llb treats them as image references.
type metaResolver struct {
	r     BaseImageResolver
	named map[string]string // normalized reference → local directory

	mu      sync.Mutex
	results map[string]*resolution
}

func newMetaResolver(r BaseImageResolver, named map[string]string) *metaResolver {
	return &metaResolver{r: r, named: named, results: map[string]*resolution{}}
}

func (m *metaResolver) ResolveImageConfig(ctx context.Context, ref string, opt sourceresolver.Opt) (string, digest.Digest, []byte, error) {
	var platform *ocispecs.Platform
	if opt.ImageOpt != nil {
		platform = opt.ImageOpt.Platform
	}
	if _, ok := m.named[ref]; ok || m.r == nil {
		return ref, "", standInConfig(platform), nil
	}
	m.mu.Lock()
	res, ok := m.results[ref]
	if !ok {
		res = &resolution{}
		m.results[ref] = res
	}
	m.mu.Unlock()
	res.once.Do(func() {
		var d string
		d, res.config, res.err = m.r.ResolveImage(ctx, ref)
		// No digest and no error: the resolver could not check (a
		// registry that does not answer); the image stays unresolved.
		if res.err == nil && d != "" {
			if _, err := digest.Parse(d); err != nil {
				res.err = err
			} else {
				res.digest = d
			}
		}
	})
	if res.err != nil || res.digest == "" {
		return ref, "", standInConfig(platform), nil
	}
	if !hasLayers(res.config) {
		return ref, digest.Digest(res.digest), standInConfig(platform), nil
	}
	return ref, digest.Digest(res.digest), res.config, nil
}

// state says whether the image named norm (as normalizeRef gives it) was
// resolved to a digest and config, and the resolver's error if it failed.
// Offline, and for named contexts, nothing is resolved. It is read after
// the conversion, when no resolution is under way.
func (m *metaResolver) state(norm string) (resolved bool, err error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for raw, res := range m.results {
		if r, _, nerr := normalizeRef(raw); nerr == nil && r == norm {
			if res.err != nil {
				return false, res.err
			}
			if res.digest != "" {
				return true, nil
			}
		}
	}
	return false, nil
}

// standInConfig is an image config with one layer and the target platform:
// with no layers dockerfile2llb would treat the image as scratch and drop its
// FROM, and a wrong platform would raise a lint warning about nothing.
func standInConfig(p *ocispecs.Platform) []byte {
	img := ocispecs.Image{RootFS: ocispecs.RootFS{Type: "layers", DiffIDs: []digest.Digest{digest.FromString("sdform: unresolved base image")}}}
	if p != nil {
		img.Platform = *p
	}
	dt, _ := json.Marshal(img)
	return dt
}

func hasLayers(config []byte) bool {
	var img ocispecs.Image
	return json.Unmarshal(config, &img) == nil && len(img.RootFS.DiffIDs) > 0
}

// normalizeRef turns a reference as written into the form dockerfile2llb
// resolves ("busybox" → "docker.io/library/busybox:latest") and splits off
// a digest.
func normalizeRef(s string) (ref, dgst string, err error) {
	named, err := reference.ParseNormalizedNamed(strings.TrimPrefix(s, "docker-image://"))
	if err != nil {
		return "", "", err
	}
	if c, ok := named.(reference.Canonical); ok {
		dgst = c.Digest().String()
	}
	if t, ok := named.(reference.Tagged); ok {
		tagged, err := reference.WithTag(reference.TrimNamed(named), t.Tag())
		if err != nil {
			return "", "", err
		}
		return tagged.String(), dgst, nil
	}
	if dgst != "" {
		return reference.TrimNamed(named).String(), dgst, nil
	}
	return reference.TagNameOnly(named).String(), "", nil
}
