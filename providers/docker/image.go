package docker

import (
	"path/filepath"
	"slices"
	"sort"
	"time"

	"github.com/sdform/sdform/lang"
	"github.com/sdform/sdform/providers"
	"github.com/zclconf/go-cty/cty"
)

// stepType is one entry of docker_image.steps.
var stepType = cty.Object(map[string]cty.Type{"name": cty.String, "key": cty.String, "cached": cty.Bool})

// imageSchema is docker_image's schema. Every input that shapes the image is
// judged by the step prediction rather than marked ForceNew: an argument no
// step uses changes nothing, and the plan says so.
func imageSchema() *providers.Schema {
	opt := func(t cty.Type, desc string) *providers.Attribute {
		return &providers.Attribute{Type: t, Optional: true, Description: desc}
	}
	comp := func(t cty.Type, desc string) *providers.Attribute {
		return &providers.Attribute{Type: t, Computed: true, Description: desc}
	}
	strs := cty.List(cty.String)
	strMap := cty.Map(cty.String)
	return &providers.Schema{
		Description: "A container image built with BuildKit from a Dockerfile.",
		Verb:        "build",
		Attributes: map[string]*providers.Attribute{
			"context":    opt(cty.String, "Build context directory, relative to the configuration (default \".\")."),
			"dockerfile": opt(cty.String, "Dockerfile path relative to the configuration (default <context>/Dockerfile)."),
			"target":     opt(cty.String, "Stage to build."),
			"args":       opt(strMap, "Build arguments."),
			"secrets": {Type: strMap, Optional: true, Sensitive: true,
				Description: "Secrets mounted into RUN --mount=type=secret,id=NAME steps; never build args."},
			"contexts":          opt(strMap, "Named build contexts: name → local directory."),
			"tags":              opt(strs, "Tags moved to the image once every test of it passed."),
			"labels":            opt(strMap, "Labels added to the image config."),
			"platform":          opt(cty.String, "Target platform (\"linux/amd64\")."),
			"cache_from":        opt(strs, "Registry cache references to import (\"host/repo:cache\" or \"type=registry,ref=…\")."),
			"cache_to":          opt(strs, "Registry cache references to export (mode=max unless given)."),
			"push":              opt(cty.Bool, "Push the image to the registries its tags name."),
			"no_cache":          opt(cty.Bool, "Build without BuildKit's cache when a build runs."),
			"timeout":           opt(cty.String, "Build time limit (\"45m\")."),
			"max_size":          opt(cty.String, "Apply fails, and tags are not moved, when the image is larger (\"50GB\")."),
			"id":                comp(cty.String, "Image config digest (the Docker Engine's image ID)."),
			"digest":            comp(cty.String, "Manifest digest where a registry holds the image."),
			"size":              comp(cty.Number, "Bytes: uncompressed in the Docker Engine, compressed layers in a registry."),
			"created":           comp(cty.String, "Creation time from the image config (RFC 3339)."),
			"env":               comp(strMap, "Environment of the image config."),
			"image_labels":      comp(strMap, "Labels of the image config, the base image's included."),
			"entrypoint":        comp(strs, "Entrypoint of the image config."),
			"cmd":               comp(strs, "Cmd of the image config."),
			"workdir":           comp(cty.String, "Working directory of the image config."),
			"user":              comp(cty.String, "User of the image config."),
			"exposed_ports":     comp(strs, "Exposed ports of the image config."),
			"cuda_version":      comp(cty.String, "CUDA_VERSION from the image's environment, when set."),
			"steps":             comp(cty.List(stepType), "Dockerfile steps of the last build, with their cache keys and whether BuildKit reported them cached."),
			"prediction_missed": comp(strs, "Steps whose cache outcome the plan predicted wrongly at the last build."),
			"used_fallback":     comp(cty.Bool, "Whether the last build succeeded only with the fallback arguments."),
		},
		Blocks: map[string]*providers.NestedBlock{
			"fallback": {Nesting: providers.NestingSingle, MaxItems: 1, Block: providers.Schema{
				Description: "Arguments retried once when the first build fails.",
				Attributes: map[string]*providers.Attribute{
					"args": {Type: strMap, Required: true, Description: "Build arguments that replace those of the first try."},
				},
			}},
		},
	}
}

// computedAttrs are docker_image's attributes that only a build tells.
var computedAttrs = []string{"id", "digest", "size", "created", "env", "image_labels", "entrypoint", "cmd", "workdir", "user", "exposed_ports", "cuda_version", "steps", "prediction_missed", "used_fallback"}

// imageConfig is a decoded, known docker_image configuration.
type imageConfig struct {
	// ContextDir and Dockerfile are absolute; the *Rel fields are as the
	// user wrote them (for messages).
	ContextDir    string
	Dockerfile    string
	DockerfileRel string
	Target        string
	Platform      string
	Args          map[string]string
	Secrets       map[string]string
	// UnsetSecrets are secrets declared with a null value (a token that is
	// optional, like HF_TOKEN for public weights): not passed to the build,
	// and not reported as forgotten by the Dockerfile checks.
	UnsetSecrets []string
	Contexts     map[string]string // name → absolute directory
	// UnknownArgs and UnknownSecrets are the names set to values not known
	// yet (validate evaluates variables as unknown); ArgsUnknown and
	// SecretsUnknown say the whole map is. Args and Secrets hold only the
	// known values. All are empty once the config is wholly known (plan).
	UnknownArgs    []string
	UnknownSecrets []string
	ArgsUnknown    bool
	SecretsUnknown bool
	Tags           []string
	Labels         map[string]string
	CacheFrom      []string
	CacheTo        []string
	Push           bool
	NoCache        bool
	Timeout        time.Duration
	MaxSize        int64
	MaxSizeText    string
	// FallbackArgs is nil without a fallback block.
	FallbackArgs map[string]string
}

// withArgs returns a copy whose args are overlaid with over.
func (c *imageConfig) withArgs(over map[string]string) *imageConfig {
	cp := *c
	cp.Args = map[string]string{}
	for k, v := range c.Args {
		cp.Args[k] = v
	}
	for k, v := range over {
		cp.Args[k] = v
	}
	return &cp
}

// decodeImage reads a docker_image value. Unknown values (validate) are
// left out and their names noted. Relative paths resolve against dir.
func decodeImage(v cty.Value, dir string) (*imageConfig, providers.Diagnostics) {
	var diags providers.Diagnostics
	v, _ = v.UnmarkDeep()
	c := &imageConfig{
		Args: getMap(v, "args"), Secrets: getMap(v, "secrets"), Labels: getMap(v, "labels"),
		Tags: getList(v, "tags"), CacheFrom: getList(v, "cache_from"), CacheTo: getList(v, "cache_to"),
		Target: getString(v, "target"), Platform: getString(v, "platform"),
		Push: getBool(v, "push"), NoCache: getBool(v, "no_cache"),
		UnsetSecrets: nullKeys(v, "secrets"),
	}
	c.UnknownArgs, c.ArgsUnknown = unknownKeys(v, "args")
	c.UnknownSecrets, c.SecretsUnknown = unknownKeys(v, "secrets")
	abs := func(p string) string {
		if filepath.IsAbs(p) {
			return filepath.Clean(p)
		}
		return filepath.Join(dir, p)
	}
	ctxRel := getString(v, "context")
	if ctxRel == "" {
		ctxRel = "."
	}
	c.ContextDir = abs(ctxRel)
	c.DockerfileRel = getString(v, "dockerfile")
	if c.DockerfileRel == "" {
		c.DockerfileRel = filepath.Join(ctxRel, "Dockerfile")
	}
	c.Dockerfile = abs(c.DockerfileRel)
	if cs := getMap(v, "contexts"); len(cs) > 0 {
		c.Contexts = map[string]string{}
		for k, p := range cs {
			c.Contexts[k] = abs(p)
		}
	}
	if s := getString(v, "timeout"); s != "" {
		d, err := lang.ParseDuration(s)
		if err != nil || d <= 0 {
			diags = diags.Errorf(cty.GetAttrPath("timeout"), "Invalid timeout", "timeout = %q is not a positive duration; write it like \"45m\" or \"1h30m\".", s)
		}
		c.Timeout = d
	}
	if s := getString(v, "max_size"); s != "" {
		n, err := lang.ParseSize(s)
		if err != nil {
			diags = diags.Errorf(cty.GetAttrPath("max_size"), "Invalid max_size", "max_size = %q is not a size: %v.", s, err)
		}
		c.MaxSize, c.MaxSizeText = n, s
	}
	if v.Type().HasAttribute("fallback") {
		if fb := v.GetAttr("fallback"); !fb.IsNull() {
			c.FallbackArgs = getMap(fb, "args")
			if c.FallbackArgs == nil {
				c.FallbackArgs = map[string]string{}
			}
		}
	}
	secretIDs := append(append(sortedKeys(c.Secrets), c.UnsetSecrets...), c.UnknownSecrets...)
	if slices.Contains(secretIDs, "") {
		// BuildKit mounts a secret of any other id (a Dockerfile can quote
		// one: --mount=type=secret,"id=my token"), but none without one.
		diags = diags.Errorf(cty.GetAttrPath("secrets").Index(cty.StringVal("")), "Empty secret id",
			"secrets has an entry with an empty id (\"\"). A Dockerfile mounts a secret by its id (RUN --mount=type=secret,id=NAME), and BuildKit refuses a secret without one; give it a name.")
	}
	argNames := append(sortedKeys(c.Args), c.UnknownArgs...)
	for _, name := range append(sortedKeys(c.Secrets), c.UnknownSecrets...) {
		if slices.Contains(argNames, name) {
			diags = diags.Errorf(cty.GetAttrPath("args").Index(cty.StringVal(name)), "Secret passed as a build argument",
				"%q is both a secret and a build argument. Build arguments are stored in the image's history; read the secret with RUN --mount=type=secret,id=%s instead.", name, name)
		}
	}
	return c, diags
}

func getString(v cty.Value, name string) string {
	if !v.Type().HasAttribute(name) {
		return ""
	}
	a := v.GetAttr(name)
	if a.IsNull() || !a.IsKnown() {
		return ""
	}
	return a.AsString()
}

func getBool(v cty.Value, name string) bool {
	if !v.Type().HasAttribute(name) {
		return false
	}
	a := v.GetAttr(name)
	return !a.IsNull() && a.IsKnown() && a.True()
}

func getList(v cty.Value, name string) []string {
	if !v.Type().HasAttribute(name) {
		return nil
	}
	a := v.GetAttr(name)
	if a.IsNull() || !a.IsKnown() {
		return nil
	}
	var out []string
	for it := a.ElementIterator(); it.Next(); {
		_, e := it.Element()
		if e.IsKnown() && !e.IsNull() {
			out = append(out, e.AsString())
		}
	}
	return out
}

func getMap(v cty.Value, name string) map[string]string {
	if !v.Type().HasAttribute(name) {
		return nil
	}
	a := v.GetAttr(name)
	if a.IsNull() || !a.IsKnown() {
		return nil
	}
	out := map[string]string{}
	for it := a.ElementIterator(); it.Next(); {
		k, e := it.Element()
		if e.IsKnown() && !e.IsNull() {
			out[k.AsString()] = e.AsString()
		}
	}
	return out
}

// nullKeys returns the keys of map attribute name whose values are null.
func nullKeys(v cty.Value, name string) []string {
	if !v.Type().HasAttribute(name) {
		return nil
	}
	a := v.GetAttr(name)
	if a.IsNull() || !a.IsKnown() {
		return nil
	}
	var out []string
	for it := a.ElementIterator(); it.Next(); {
		k, e := it.Element()
		if e.IsNull() {
			out = append(out, k.AsString())
		}
	}
	sort.Strings(out)
	return out
}

// unknownKeys returns the keys of map attribute name whose values are not
// known yet, and whether the map itself is not (then no key is known).
func unknownKeys(v cty.Value, name string) (keys []string, whole bool) {
	if !v.Type().HasAttribute(name) {
		return nil, false
	}
	a := v.GetAttr(name)
	if !a.IsKnown() {
		return nil, true
	}
	if a.IsNull() {
		return nil, false
	}
	for it := a.ElementIterator(); it.Next(); {
		k, e := it.Element()
		if !e.IsKnown() {
			keys = append(keys, k.AsString())
		}
	}
	sort.Strings(keys)
	return keys, false
}

// sortedKeys returns m's keys in order, for stable output and digests.
func sortedKeys[V any](m map[string]V) []string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return ks
}
