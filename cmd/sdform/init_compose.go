package main

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/sdform/sdform/lang"
)

// composeStarter reads the docker compose file at path and returns the
// configuration `sdform init -from-compose` writes, and the words init
// prints about it ("2 images (api, worker); skipped: db").
//
// What is translated is each service's build section (context, dockerfile,
// args, target, secrets, labels, cache, contexts) and its image (the tags);
// compose variables (${TAG:-dev}) become sdform variables with the same
// defaults. Paths are rewritten relative to the current directory, where
// the configuration is written. Everything else in the file (ports,
// volumes, profiles, extends, services without a build section) is left
// out, with a comment where a reader would look for it.
func composeStarter(path string) ([]byte, string, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, "", fmt.Errorf("read compose file: %w", err)
	}
	wd, err := os.Getwd()
	if err != nil {
		return nil, "", fmt.Errorf("find the current directory: %w", err)
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, "", fmt.Errorf("resolve %s: %w", path, err)
	}
	return translateCompose(data, path, filepath.Dir(abs), wd)
}

// translateCompose does composeStarter's work on the file's content:
// composePath is the file as the user named it (for comments), composeDir
// the folder compose resolves relative paths against, and configDir the
// folder the configuration is written to.
func translateCompose(data []byte, composePath, composeDir, configDir string) ([]byte, string, error) {
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, "", fmt.Errorf("parse compose file %s: %w", composePath, err)
	}
	if err := duplicateKeys(&doc); err != nil {
		// Compose refuses them; reading the node tree, sdform would
		// silently take one of the two.
		return nil, "", fmt.Errorf("parse compose file %s: %w", composePath, err)
	}
	resolved, err := resolveYAML(&doc, 0)
	if err != nil {
		return nil, "", fmt.Errorf("parse compose file %s: %w", composePath, err)
	}
	doc = *resolved
	if len(doc.Content) == 0 || doc.Content[0].Kind != yaml.MappingNode {
		return nil, "", fmt.Errorf("parse compose file %s: the top level is not a mapping of keys such as services", composePath)
	}
	root := doc.Content[0]
	services := mapValue(root, "services")
	if services == nil || services.Kind != yaml.MappingNode || len(services.Content) == 0 {
		return nil, "", fmt.Errorf("parse compose file %s: it has no services", composePath)
	}
	t := &composeTranslation{
		composePath: composePath,
		composeDir:  composeDir,
		configDir:   configDir,
		project:     composeProject(root, composeDir),
		topSecrets:  mapValue(root, "secrets"),
		vars:        map[string]*composeVar{},
		names:       map[string]bool{},
	}
	var built, skipped []string
	for i := 0; i+1 < len(services.Content); i += 2 {
		name, svc := services.Content[i].Value, services.Content[i+1]
		if svc.Kind != yaml.MappingNode {
			return nil, "", fmt.Errorf("parse compose file %s: service %q (line %d) is not a mapping", composePath, name, services.Content[i].Line)
		}
		if t.service(name, svc) {
			built = append(built, name)
		} else {
			skipped = append(skipped, name)
		}
	}
	if len(t.errs) > 0 {
		return nil, "", errors.Join(t.errs...)
	}
	if err := t.applyDotEnv(); err != nil {
		return nil, "", err
	}
	out, diags := lang.Format(t.render(), "main"+lang.FileSuffix)
	if diags.HasErrors() {
		// A bug in the translation, not in the compose file.
		return nil, "", fmt.Errorf("format the configuration made from %s: %s", composePath, diags.Error())
	}
	summary := fmt.Sprintf("%d image%s", len(built), plural(len(built)))
	if len(built) > 0 {
		summary += " (" + strings.Join(built, ", ") + ")"
	}
	summary += " from " + filepath.ToSlash(composePath)
	if len(skipped) > 0 {
		summary += "; skipped, no build section: " + strings.Join(skipped, ", ")
	}
	return out, summary, nil
}

func plural(n int) string {
	if n == 1 {
		return ""
	}
	return "s"
}

// composeTranslation accumulates the configuration made from one compose
// file.
type composeTranslation struct {
	composePath, composeDir, configDir string
	project                            string
	topSecrets                         *yaml.Node

	vars   map[string]*composeVar
	names  map[string]bool // resource names taken
	blocks []string        // rendered blocks, in service order
	errs   []error
}

// composeVar is a compose variable (${NAME:-default}) turned into an
// sdform variable.
type composeVar struct {
	name       string
	def        *string  // nil: no default (required, or null)
	required   bool     // ${NAME:?message}
	sensitive  bool     // feeds a secret
	nullable   bool     // a build arg without value: not passed when unset
	usedBy     []string // addresses of the resources that read it
	errMessage string   // ${NAME:?message}: compose's words when unset
	fromDotEnv bool     // def is the value of the .env file
}

// applyDotEnv gives each variable the value the .env file beside the
// compose file sets, as compose would read it, as its default; secrets
// excepted: their values stay out of a file that is checked in.
func (t *composeTranslation) applyDotEnv() error {
	path := filepath.Join(t.composeDir, ".env")
	data, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("read %s, which compose reads variables from: %w", path, err)
	}
	env := parseDotEnv(data)
	for name, v := range t.vars {
		val, ok := env[name]
		if !ok || val == "" || v.sensitive {
			// An empty value leaves ${NAME:-default} its default, as
			// compose does.
			continue
		}
		v.def, v.required, v.nullable, v.fromDotEnv = &val, false, false, true
	}
	return nil
}

// parseDotEnv reads a compose .env file: NAME=VALUE lines, "export "
// allowed before the name, # comments, values in single quotes taken as
// they are, in double quotes with backslash escapes, and unquoted ones up
// to an inline " #" comment.
func parseDotEnv(data []byte) map[string]string {
	env := map[string]string{}
	for _, line := range strings.Split(string(data), "\n") {
		line = strings.TrimSpace(strings.TrimSuffix(line, "\r"))
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		line = strings.TrimPrefix(line, "export ")
		name, val, ok := strings.Cut(line, "=")
		name = strings.TrimSpace(name)
		if !ok || name == "" {
			continue
		}
		val = strings.TrimSpace(val)
		switch {
		case len(val) >= 2 && val[0] == '\'' && strings.LastIndexByte(val, '\'') > 0:
			val = val[1:strings.LastIndexByte(val, '\'')]
		case len(val) >= 2 && val[0] == '"' && strings.LastIndexByte(val, '"') > 0:
			q := val[:strings.LastIndexByte(val, '"')+1]
			if u, err := strconv.Unquote(q); err == nil {
				val = u
			} else {
				val = q[1 : len(q)-1]
			}
		default:
			if i := strings.Index(val, " #"); i >= 0 {
				val = strings.TrimSpace(val[:i])
			}
		}
		env[name] = val
	}
	return env
}

// Patterns of names, compiled once: the characters compose drops from a
// folder's name to make a project name, the characters that cannot stand in
// an HCL identifier, and a map key that HCL reads without quotes.
var (
	composeProjectStrip = regexp.MustCompile(`[^a-z0-9_-]+`)
	nonIdentChar        = regexp.MustCompile(`[^A-Za-z0-9_-]`)
	bareKey             = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_-]*$`)
)

// composeProject is the project name compose would use: the file's name
// key, else the folder's name, lower-cased as compose does.
func composeProject(root *yaml.Node, dir string) string {
	if n := mapValue(root, "name"); n != nil && n.Kind == yaml.ScalarNode && n.Value != "" {
		return n.Value
	}
	name := strings.ToLower(filepath.Base(dir))
	return composeProjectStrip.ReplaceAllString(name, "")
}

// service translates one service; it reports false when the service has
// no build section and was only noted in a comment.
func (t *composeTranslation) service(name string, svc *yaml.Node) bool {
	var b strings.Builder
	image := mapValue(svc, "image")
	build := mapValue(svc, "build")
	var notes []string
	if p := mapValue(svc, "profiles"); p != nil {
		notes = append(notes, "profiles "+strings.Join(scalars(p), ", ")+" ignored: sdform builds the image whatever the profile")
	}
	if mapValue(svc, "extends") != nil {
		notes = append(notes, "extends is not followed: settings of the service it extends are not merged here")
	}
	if build == nil {
		fmt.Fprintf(&b, "# Service %q has no build section", name)
		if image != nil {
			fmt.Fprintf(&b, " (image %s)", image.Value)
		}
		b.WriteString(": nothing to build.\n")
		for _, n := range notes {
			fmt.Fprintf(&b, "# %s.\n", n)
		}
		t.blocks = append(t.blocks, b.String())
		return false
	}
	res := t.resourceName(name)
	attrs := &attrWriter{t: t, user: "docker_image." + res}

	var context, dockerfile, target string
	var args, labels, contexts []kv
	var cacheFrom, cacheTo, tags, secrets []string
	var noCache bool
	switch build.Kind {
	case yaml.ScalarNode:
		context = build.Value
	case yaml.MappingNode:
		for i := 0; i+1 < len(build.Content); i += 2 {
			key, v := build.Content[i].Value, build.Content[i+1]
			switch key {
			case "context":
				context = v.Value
			case "dockerfile":
				dockerfile = v.Value
			case "target":
				target = v.Value
			case "args", "labels":
				if v.Kind != yaml.MappingNode && v.Kind != yaml.SequenceNode && v.Tag != "!!null" {
					t.errs = append(t.errs, fmt.Errorf("%s: service %q: build.%s (line %d) must be a mapping or a list of KEY=VALUE", t.composePath, name, key, v.Line))
					continue
				}
				if key == "args" {
					args = keyValues(v)
				} else {
					labels = keyValues(v)
				}
			case "cache_from":
				cacheFrom = scalars(v)
			case "cache_to":
				cacheTo = scalars(v)
			case "tags":
				tags = scalars(v)
			case "no_cache":
				noCache = v.Value == "true"
			case "additional_contexts":
				for _, c := range keyValues(v) {
					if c.value == nil || strings.Contains(*c.value, "://") || strings.HasPrefix(*c.value, "service:") {
						notes = append(notes, fmt.Sprintf("additional context %s (%s) left out: sdform's contexts are local folders", c.key, deref(c.value)))
						continue
					}
					p := t.path(*c.value)
					contexts = append(contexts, kv{key: c.key, value: &p})
				}
			case "secrets":
				secrets = t.buildSecrets(v, res, &notes)
			case "platforms":
				if ps := scalars(v); len(ps) == 1 {
					attrs.platform = ps[0]
				} else {
					notes = append(notes, "platforms "+strings.Join(ps, ", ")+" left out: a docker_image builds one platform")
				}
			case "dockerfile_inline":
				notes = append(notes, "dockerfile_inline left out: write it to a file and set dockerfile")
			default:
				notes = append(notes, "build."+key+" left out: sdform has no equivalent")
			}
		}
	default:
		t.errs = append(t.errs, fmt.Errorf("parse compose file %s: build of service %q (line %d) is neither a path nor a mapping", t.composePath, name, build.Line))
		return true
	}
	if p := scalarValue(mapValue(svc, "platform")); p != "" && attrs.platform == "" && !hasKey(build, "platforms") {
		// Compose builds for the service's platform when the build
		// names none: how an image for RunPod's amd64 hosts is built on
		// an arm64 laptop.
		attrs.platform = p
	}
	if context == "" {
		context = "."
	}
	remote := strings.Contains(context, "://") || strings.HasPrefix(context, "git@")
	if remote {
		notes = append(notes, "the build context "+context+" is remote; sdform builds from a local folder, so clone it and set context")
		context = "."
	}
	ctxPath := t.path(context)
	if dockerfile != "" && !filepath.IsAbs(dockerfile) {
		// compose resolves dockerfile against the context, sdform against
		// the configuration.
		dockerfile = filepath.ToSlash(filepath.Join(ctxPath, dockerfile))
		if dockerfile == filepath.ToSlash(filepath.Join(ctxPath, "Dockerfile")) {
			dockerfile = ""
		}
	}
	if image != nil && image.Value != "" {
		tags = append([]string{image.Value}, tags...)
	} else {
		tags = append([]string{t.project + "-" + name}, tags...)
		notes = append(notes, fmt.Sprintf("no image key: tagged %s-%s, the name compose gives a built image", t.project, name))
	}

	fmt.Fprintf(&b, "# Service %q of %s.\n", name, filepath.ToSlash(t.composePath))
	for _, n := range notes {
		fmt.Fprintf(&b, "# %s.\n", n)
	}
	fmt.Fprintf(&b, "resource \"docker_image\" %q {\n", res)
	attrs.b = &b
	attrs.str("context", ctxPath)
	if dockerfile != "" {
		attrs.str("dockerfile", dockerfile)
	}
	if target != "" {
		attrs.str("target", target)
	}
	attrs.list("tags", tags)
	if attrs.platform != "" {
		attrs.str("platform", attrs.platform)
	}
	attrs.dict("args", args, true)
	attrs.dict("labels", labels, false)
	attrs.dict("contexts", contexts, false)
	if len(secrets) > 0 {
		b.WriteString("  secrets = {\n")
		for _, s := range secrets {
			b.WriteString(s)
		}
		b.WriteString("  }\n")
	}
	attrs.list("cache_from", cacheFrom)
	attrs.list("cache_to", cacheTo)
	if noCache {
		b.WriteString("  no_cache = true\n")
	}
	b.WriteString("}\n")
	if gpus := composeGPUs(svc); gpus != "" {
		fmt.Fprintf(&b, "\n# The service reserves NVIDIA GPUs (deploy.resources.reservations.devices).\nresource \"gpu_requirement\" %q {\n  min_count = %s\n}\n", t.resourceName(res+"_gpu"), gpus)
	}
	t.blocks = append(t.blocks, b.String())
	return true
}

// composeGPUs returns the GPU count a service reserves ("1"; "1" for
// "all" too, the least that satisfies it), or "" when it reserves none.
func composeGPUs(svc *yaml.Node) string {
	devices := mapValue(mapValue(mapValue(mapValue(svc, "deploy"), "resources"), "reservations"), "devices")
	if devices == nil || devices.Kind != yaml.SequenceNode {
		return ""
	}
	for _, d := range devices.Content {
		isGPU := false
		for _, c := range scalars(mapValue(d, "capabilities")) {
			isGPU = isGPU || c == "gpu"
		}
		if drv := mapValue(d, "driver"); drv != nil && drv.Value == "nvidia" {
			isGPU = true
		}
		if !isGPU {
			continue
		}
		if n := mapValue(d, "count"); n != nil {
			if _, err := strconv.Atoi(n.Value); err == nil {
				return n.Value
			}
		}
		if ids := mapValue(d, "device_ids"); ids != nil && len(ids.Content) > 0 {
			return strconv.Itoa(len(ids.Content))
		}
		return "1"
	}
	return ""
}

// buildSecrets translates build.secrets: each id the build mounts, with
// its value from the top-level secret's file (read with file(), marked
// sensitive) or environment variable (an sdform variable, sensitive).
func (t *composeTranslation) buildSecrets(v *yaml.Node, res string, notes *[]string) []string {
	var out []string
	for _, s := range v.Content {
		source, id := s.Value, s.Value
		if s.Kind == yaml.MappingNode {
			source = scalarValue(mapValue(s, "source"))
			id = source
			if tgt := scalarValue(mapValue(s, "target")); tgt != "" {
				id = tgt
			}
		}
		if source == "" {
			continue
		}
		def := mapValue(t.topSecrets, source)
		switch {
		case def != nil && scalarValue(mapValue(def, "file")) != "":
			out = append(out, fmt.Sprintf("    %s = sensitive(file(%s))\n", hclKey(id), hclString(t.path(scalarValue(mapValue(def, "file"))))))
		case def != nil && scalarValue(mapValue(def, "environment")) != "":
			env := scalarValue(mapValue(def, "environment"))
			cv := t.variable(env)
			cv.sensitive = true
			cv.usedBy = appendOnce(cv.usedBy, "docker_image."+res)
			out = append(out, fmt.Sprintf("    %s = var.%s\n", hclKey(id), cv.name))
		default:
			*notes = append(*notes, fmt.Sprintf("secret %s left out: the compose file does not say where it comes from (a top-level secrets entry with file or environment)", source))
		}
	}
	return out
}

// resourceName turns a service name into a unique HCL identifier.
func (t *composeTranslation) resourceName(service string) string {
	n := nonIdentChar.ReplaceAllString(service, "_")
	if n == "" || !(n[0] == '_' || n[0] >= 'a' && n[0] <= 'z' || n[0] >= 'A' && n[0] <= 'Z') {
		n = "_" + n
	}
	base := n
	for i := 2; t.names[n]; i++ {
		n = fmt.Sprintf("%s_%d", base, i)
	}
	t.names[n] = true
	return n
}

// path rewrites a path compose resolves against its file's folder so that
// it resolves the same against the configuration's folder.
func (t *composeTranslation) path(p string) string {
	if filepath.IsAbs(p) || strings.HasPrefix(p, "~") {
		return p
	}
	abs := filepath.Join(t.composeDir, p)
	rel, err := filepath.Rel(t.configDir, abs)
	if err != nil {
		return filepath.ToSlash(abs)
	}
	return filepath.ToSlash(rel)
}

func (t *composeTranslation) variable(name string) *composeVar {
	v := t.vars[name]
	if v == nil {
		v = &composeVar{name: name}
		t.vars[name] = v
	}
	return v
}

// render assembles the file: a header, the variables, the blocks.
func (t *composeTranslation) render() []byte {
	var b bytes.Buffer
	fmt.Fprintf(&b, `# Made by "sdform init -from-compose %s" from the compose file's build
# sections: one docker_image per service that builds one. Review it, add
# what compose did not say (tests, weight files, a size budget), then run
# "sdform validate" and "sdform plan".

sdform {
  required_version = ">= 0.1"
}
`, filepath.ToSlash(t.composePath))
	names := make([]string, 0, len(t.vars))
	for n := range t.vars {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		v := t.vars[n]
		b.WriteString("\n")
		fmt.Fprintf(&b, "variable %q {\n  type = string\n", v.name)
		desc := fmt.Sprintf("The compose file's variable %s, read by %s; set it with -var %s=… or SDF_VAR_%s, as the environment set it for compose.",
			v.name, lang.JoinAnd(v.usedBy), v.name, v.name)
		switch {
		case v.sensitive:
			desc = fmt.Sprintf("The secret compose read from the environment variable %s, for %s; set it with SDF_VAR_%s. Never printed, stored hashed.",
				v.name, lang.JoinAnd(v.usedBy), v.name)
		case v.required && v.errMessage != "":
			desc += " Required: " + v.errMessage
		case v.fromDotEnv:
			desc += " The default is the value in .env."
		}
		fmt.Fprintf(&b, "  description = %s\n", hclString(desc))
		switch {
		case v.def != nil:
			fmt.Fprintf(&b, "  default = %s\n", hclString(*v.def))
		case v.sensitive || v.nullable:
			b.WriteString("  default = null\n")
		case !v.required:
			// Compose substitutes an empty string for an unset variable.
			b.WriteString("  default = \"\"\n")
		}
		if v.sensitive {
			b.WriteString("  sensitive = true\n")
		}
		b.WriteString("}\n")
	}
	for _, blk := range t.blocks {
		b.WriteString("\n")
		b.WriteString(blk)
	}
	return b.Bytes()
}

// attrWriter writes attributes of one block, turning compose
// interpolation into sdform variables.
type attrWriter struct {
	t        *composeTranslation
	b        *strings.Builder
	user     string
	platform string
}

func (a *attrWriter) str(name, value string) {
	fmt.Fprintf(a.b, "  %s = %s\n", name, a.t.expr(value, a.user))
}

func (a *attrWriter) list(name string, values []string) {
	if len(values) == 0 {
		return
	}
	parts := make([]string, len(values))
	for i, v := range values {
		parts[i] = a.t.expr(v, a.user)
	}
	fmt.Fprintf(a.b, "  %s = [%s]\n", name, strings.Join(parts, ", "))
}

// dict writes a map attribute. A key without value (a build arg compose
// takes from the environment when set) becomes a variable that defaults
// to null, so that it is passed only when given, as with compose.
func (a *attrWriter) dict(name string, kvs []kv, fromEnv bool) {
	if len(kvs) == 0 {
		return
	}
	fmt.Fprintf(a.b, "  %s = {\n", name)
	for _, e := range kvs {
		var val string
		switch {
		case e.value != nil:
			val = a.t.expr(*e.value, a.user)
		case fromEnv:
			v := a.t.variable(e.key)
			v.nullable = true
			v.usedBy = appendOnce(v.usedBy, a.user)
			val = "var." + v.name
		default:
			val = `""`
		}
		fmt.Fprintf(a.b, "    %s = %s\n", hclKey(e.key), val)
	}
	a.b.WriteString("  }\n")
}

// composeVarRef matches compose interpolation: $$, ${NAME}, ${NAME:-def},
// ${NAME-def}, ${NAME:?err}, ${NAME?err}, ${NAME:+alt} and $NAME.
var composeVarRef = regexp.MustCompile(`\$\$|\$\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?[-?+])([^}]*))?\}|\$([A-Za-z_][A-Za-z0-9_]*)`)

// expr returns the HCL expression for a compose string: a quoted
// template, with compose variables as var.NAME.
func (t *composeTranslation) expr(s, user string) string {
	var b strings.Builder
	b.WriteByte('"')
	last := 0
	for _, m := range composeVarRef.FindAllStringSubmatchIndex(s, -1) {
		b.WriteString(escapeTemplate(s[last:m[0]]))
		last = m[1]
		whole := s[m[0]:m[1]]
		if whole == "$$" {
			// A literal $: HCL's template needs $${ where a { follows,
			// or "$${HOME}" would turn into an interpolation.
			if strings.HasPrefix(s[last:], "{") {
				b.WriteString("$$")
			} else {
				b.WriteString("$")
			}
			continue
		}
		name := ""
		if m[2] >= 0 {
			name = s[m[2]:m[3]]
		} else {
			name = s[m[8]:m[9]]
		}
		v := t.variable(name)
		v.usedBy = appendOnce(v.usedBy, user)
		if m[4] >= 0 {
			op, arg := s[m[4]:m[5]], s[m[6]:m[7]]
			switch strings.TrimPrefix(op, ":") {
			case "-":
				if v.def == nil {
					d := arg
					v.def = &d
				}
			case "?":
				v.required = true
				v.errMessage = arg
			case "+":
				// ${NAME:+alt}: alt when set. Rare in build sections;
				// the variable's value is used as is.
			}
		}
		b.WriteString("${var." + v.name + "}")
	}
	b.WriteString(escapeTemplate(s[last:]))
	b.WriteByte('"')
	out := b.String()
	// A lone reference is written as one, not as a template around it.
	if m := loneRef.FindStringSubmatch(out); m != nil {
		return m[1]
	}
	return out
}

var loneRef = regexp.MustCompile(`^"\$\{(var\.[A-Za-z_][A-Za-z0-9_]*)\}"$`)

// escapeTemplate escapes literal text for an HCL quoted template.
func escapeTemplate(s string) string {
	q := strconv.Quote(s)
	q = q[1 : len(q)-1]
	q = strings.ReplaceAll(q, "${", "$${")
	return strings.ReplaceAll(q, "%{", "%%{")
}

func hclString(s string) string { return `"` + escapeTemplate(s) + `"` }

// hclKey writes a map key: bare when it is an identifier, else quoted.
func hclKey(k string) string {
	if bareKey.MatchString(k) {
		return k
	}
	return hclString(k)
}

// kv is one entry of a compose map, which may be written as a mapping or
// as a list of "KEY=VALUE" (or "KEY", no value).
type kv struct {
	key   string
	value *string
}

func keyValues(n *yaml.Node) []kv {
	var out []kv
	switch n.Kind {
	case yaml.MappingNode:
		for i := 0; i+1 < len(n.Content); i += 2 {
			e := kv{key: n.Content[i].Value}
			if v := n.Content[i+1]; !(v.Kind == yaml.ScalarNode && v.Tag == "!!null") {
				s := v.Value
				e.value = &s
			}
			out = append(out, e)
		}
	case yaml.SequenceNode:
		for _, item := range n.Content {
			k, v, ok := strings.Cut(item.Value, "=")
			e := kv{key: k}
			if ok {
				e.value = &v
			}
			out = append(out, e)
		}
	}
	return out
}

// duplicateKeys finds a key given twice in one mapping ("<<" merge keys
// aside), which compose refuses.
func duplicateKeys(n *yaml.Node) error {
	if n.Kind == yaml.MappingNode {
		first := map[string]int{}
		for i := 0; i+1 < len(n.Content); i += 2 {
			k := n.Content[i]
			if k.Value == "<<" {
				continue
			}
			if line, ok := first[k.Value]; ok {
				return fmt.Errorf("line %d: key %q is defined twice (first at line %d)", k.Line, k.Value, line)
			}
			first[k.Value] = k.Line
		}
	}
	for _, c := range n.Content {
		if err := duplicateKeys(c); err != nil {
			return err
		}
	}
	return nil
}

// maxYAMLDepth bounds resolveYAML: aliases nested deeper than any compose
// file needs are refused rather than expanded without end.
const maxYAMLDepth = 64

// resolveYAML returns a copy of n with aliases replaced by what their
// anchors name and merge keys ("<<: *base", "<<: [*a, *b]") applied as
// compose applies them: the mapping's own keys win over merged ones, and
// among merged mappings the first that has a key wins. Compose files share
// build settings this way (an x- extension field with an anchor), so
// without it a service's build would lose everything it inherits.
func resolveYAML(n *yaml.Node, depth int) (*yaml.Node, error) {
	if n == nil {
		return nil, nil
	}
	if depth > maxYAMLDepth {
		return nil, fmt.Errorf("line %d: aliases nested more than %d deep", n.Line, maxYAMLDepth)
	}
	switch n.Kind {
	case yaml.AliasNode:
		if n.Alias == nil {
			return nil, fmt.Errorf("line %d: alias *%s names no anchor", n.Line, n.Value)
		}
		return resolveYAML(n.Alias, depth+1)
	case yaml.MappingNode:
		return resolveMapping(n, depth)
	}
	c := *n
	c.Content = nil
	for _, child := range n.Content {
		r, err := resolveYAML(child, depth+1)
		if err != nil {
			return nil, err
		}
		c.Content = append(c.Content, r)
	}
	return &c, nil
}

// resolveMapping is resolveYAML for a mapping: the merged keys first, in
// the order of the mappings they come from, each replaced by the
// mapping's own value when it has one; then the mapping's other keys.
func resolveMapping(n *yaml.Node, depth int) (*yaml.Node, error) {
	var merged, own []*yaml.Node // key, value pairs
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if k.Kind == yaml.ScalarNode && k.Tag == "!!merge" {
			r, err := resolveYAML(v, depth+1)
			if err != nil {
				return nil, err
			}
			sources := []*yaml.Node{r}
			if r.Kind == yaml.SequenceNode {
				sources = r.Content
			}
			for _, src := range sources {
				if src.Kind != yaml.MappingNode {
					return nil, fmt.Errorf("line %d: a merge key (<<) takes a mapping or a list of mappings", k.Line)
				}
				for j := 0; j+1 < len(src.Content); j += 2 {
					if pairIndex(merged, src.Content[j].Value) < 0 {
						merged = append(merged, src.Content[j], src.Content[j+1])
					}
				}
			}
			continue
		}
		r, err := resolveYAML(v, depth+1)
		if err != nil {
			return nil, err
		}
		own = append(own, k, r)
	}
	c := *n
	c.Content = nil
	for i := 0; i+1 < len(merged); i += 2 {
		if j := pairIndex(own, merged[i].Value); j >= 0 {
			continue
		}
		c.Content = append(c.Content, merged[i], merged[i+1])
	}
	// The mapping's own keys: one that overrides a merged key takes that
	// key's place, so that merged args keep their order.
	for i := 0; i+1 < len(own); i += 2 {
		if j := pairIndex(merged, own[i].Value); j >= 0 {
			c.Content = insertPair(c.Content, merged, j, own[i], own[i+1])
			continue
		}
		c.Content = append(c.Content, own[i], own[i+1])
	}
	return &c, nil
}

// pairIndex returns the index of key among the keys of a key, value list,
// or -1.
func pairIndex(pairs []*yaml.Node, key string) int {
	for i := 0; i+1 < len(pairs); i += 2 {
		if pairs[i].Value == key {
			return i
		}
	}
	return -1
}

// insertPair puts k, v into content where the merged key at index at of
// merged would have been: before the first merged key after it that
// content holds.
func insertPair(content, merged []*yaml.Node, at int, k, v *yaml.Node) []*yaml.Node {
	for i := at + 2; i+1 < len(merged); i += 2 {
		if j := pairIndex(content, merged[i].Value); j >= 0 {
			return append(content[:j], append([]*yaml.Node{k, v}, content[j:]...)...)
		}
	}
	return append(content, k, v)
}

// hasKey reports whether the mapping n has key.
func hasKey(n *yaml.Node, key string) bool { return mapValue(n, key) != nil }

// mapValue returns the value of key in a mapping node, or nil.
func mapValue(n *yaml.Node, key string) *yaml.Node {
	if n == nil || n.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value == key {
			return n.Content[i+1]
		}
	}
	return nil
}

func scalarValue(n *yaml.Node) string {
	if n == nil || n.Kind != yaml.ScalarNode {
		return ""
	}
	return n.Value
}

// scalars returns a sequence's scalar items, or a lone scalar as one item.
func scalars(n *yaml.Node) []string {
	if n == nil {
		return nil
	}
	if n.Kind == yaml.ScalarNode {
		return []string{n.Value}
	}
	var out []string
	for _, c := range n.Content {
		if c.Kind == yaml.ScalarNode {
			out = append(out, c.Value)
		}
	}
	return out
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

func appendOnce(list []string, s string) []string {
	for _, x := range list {
		if x == s {
			return list
		}
	}
	return append(list, s)
}
