package docker

import (
	"sort"
	"strings"
	"time"

	"github.com/zclconf/go-cty/cty"
)

// imageFacts is what sdform reads back about a built image, from the Engine
// or a registry, in one shape for both.
type imageFacts struct {
	// ID is the config digest ("sha256:…"), the Engine's image ID.
	ID string
	// Digest is the manifest digest where a registry holds the image.
	Digest    string
	Size      int64
	SizeKnown bool
	Created   time.Time
	Env       []string
	Labels    map[string]string
	Entry     []string
	Cmd       []string
	Workdir   string
	User      string
	Ports     []string
}

// computed returns the computed attributes of docker_image that come from the
// image itself.
func (f *imageFacts) computed() map[string]cty.Value {
	env := map[string]cty.Value{}
	cuda := cty.NullVal(cty.String)
	for _, kv := range f.Env {
		k, v, _ := strings.Cut(kv, "=")
		env[k] = cty.StringVal(v)
		if k == "CUDA_VERSION" {
			cuda = cty.StringVal(v)
		}
	}
	labels := map[string]cty.Value{}
	for k, v := range f.Labels {
		labels[k] = cty.StringVal(v)
	}
	ports := append([]string(nil), f.Ports...)
	sort.Strings(ports)
	out := map[string]cty.Value{
		"id":            cty.StringVal(f.ID),
		"digest":        strOrNull(f.Digest),
		"size":          cty.NullVal(cty.Number),
		"created":       cty.NullVal(cty.String),
		"env":           mapOrEmpty(env),
		"image_labels":  mapOrEmpty(labels),
		"entrypoint":    strList(f.Entry),
		"cmd":           strList(f.Cmd),
		"workdir":       cty.StringVal(f.Workdir),
		"user":          cty.StringVal(f.User),
		"exposed_ports": strList(ports),
		"cuda_version":  cuda,
	}
	if f.SizeKnown {
		out["size"] = cty.NumberIntVal(f.Size)
	}
	if !f.Created.IsZero() {
		out["created"] = cty.StringVal(f.Created.UTC().Format(time.RFC3339))
	}
	return out
}

func strOrNull(s string) cty.Value {
	if s == "" {
		return cty.NullVal(cty.String)
	}
	return cty.StringVal(s)
}

func strList(ss []string) cty.Value {
	if len(ss) == 0 {
		return cty.ListValEmpty(cty.String)
	}
	vs := make([]cty.Value, len(ss))
	for i, s := range ss {
		vs[i] = cty.StringVal(s)
	}
	return cty.ListVal(vs)
}

func mapOrEmpty(m map[string]cty.Value) cty.Value {
	if len(m) == 0 {
		return cty.MapValEmpty(cty.String)
	}
	return cty.MapVal(m)
}
