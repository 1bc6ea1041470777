package lang

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/ext/typeexpr"
	"github.com/hashicorp/hcl/v2/hclparse"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/zclconf/go-cty/cty"
	"github.com/zclconf/go-cty/cty/convert"
)

// FileSuffix is the suffix of configuration files.
const FileSuffix = ".sdf.hcl"

var fileSchema = &hcl.BodySchema{
	Blocks: []hcl.BlockHeaderSchema{
		{Type: "sdform"},
		{Type: "variable", LabelNames: []string{"name"}},
		{Type: "locals"},
		{Type: "output", LabelNames: []string{"name"}},
		{Type: "provider", LabelNames: []string{"name"}},
		{Type: "resource", LabelNames: []string{"type", "name"}},
		{Type: "data", LabelNames: []string{"type", "name"}},
		{Type: "check", LabelNames: []string{"name"}},
	},
}

var settingsSchema = &hcl.BodySchema{
	Attributes: []hcl.AttributeSchema{
		{Name: "required_version"},
		{Name: "destroy_removed"},
	},
	Blocks: []hcl.BlockHeaderSchema{{Type: "state"}},
}

var stateSchema = &hcl.BodySchema{
	Attributes: []hcl.AttributeSchema{{Name: "path"}},
}

var variableSchema = &hcl.BodySchema{
	Attributes: []hcl.AttributeSchema{
		{Name: "type"},
		{Name: "default"},
		{Name: "description"},
		{Name: "sensitive"},
		{Name: "nullable"},
	},
	Blocks: []hcl.BlockHeaderSchema{{Type: "validation"}},
}

var validationSchema = &hcl.BodySchema{
	Attributes: []hcl.AttributeSchema{
		{Name: "condition", Required: true},
		{Name: "error_message", Required: true},
	},
}

var outputSchema = &hcl.BodySchema{
	Attributes: []hcl.AttributeSchema{
		{Name: "value", Required: true},
		{Name: "description"},
		{Name: "sensitive"},
		{Name: "depends_on"},
	},
}

// resourceMetaSchema lists what lang takes out of a resource body; the rest
// belongs to the provider's schema. count and for_each are listed only to
// reject them with a clear message instead of the provider's "unsupported
// argument".
var resourceMetaSchema = &hcl.BodySchema{
	Attributes: []hcl.AttributeSchema{
		{Name: "depends_on"},
		{Name: "count"},
		{Name: "for_each"},
	},
	Blocks: []hcl.BlockHeaderSchema{{Type: "lifecycle"}},
}

var lifecycleSchema = &hcl.BodySchema{
	Attributes: []hcl.AttributeSchema{
		{Name: "prevent_destroy"},
		{Name: "replace_triggered_by"},
		{Name: "ignore_changes"},
	},
}

var checkSchema = &hcl.BodySchema{
	Blocks: []hcl.BlockHeaderSchema{{Type: "assert"}},
}

var assertSchema = &hcl.BodySchema{
	Attributes: []hcl.AttributeSchema{
		{Name: "condition", Required: true},
		{Name: "error_message", Required: true},
		{Name: "severity"},
	},
}

// Load parses every *.sdf.hcl file of dir, in lexical order, into one
// Config. It always returns a non-nil Config holding whatever could be
// decoded (and every parsed file, so that diagnostics print with source
// snippets); the diagnostics say whether it is usable. File names in
// diagnostics are dir joined with the file name, so Load(".") reports
// "main.sdf.hcl".
func Load(dir string) (*Config, hcl.Diagnostics) {
	cfg := &Config{
		Dir:       dir,
		loadDir:   dir,
		Files:     map[string]*hcl.File{},
		Settings:  &Settings{StatePath: DefaultStatePath},
		Variables: map[string]*Variable{},
		Locals:    map[string]*Local{},
		Outputs:   map[string]*Output{},
		Providers: map[string]*ProviderBlock{},
		Resources: map[string]*Resource{},
		Checks:    map[string]*Check{},
	}
	if abs, err := filepath.Abs(dir); err == nil {
		cfg.Dir = abs
	}

	names, err := configFileNames(dir)
	if err != nil {
		return cfg, hcl.Diagnostics{{
			Severity: hcl.DiagError,
			Summary:  "Cannot read configuration directory",
			Detail:   fmt.Sprintf("sdform could not list the configuration files in %s: %s.", dir, err),
		}}
	}
	if len(names) == 0 {
		return cfg, hcl.Diagnostics{{
			Severity: hcl.DiagError,
			Summary:  "No configuration files",
			Detail: fmt.Sprintf("The directory %s contains no *%s files. Run sdform in the directory that holds the configuration, "+
				"pass -chdir=DIR, or create one with sdform init.", cfg.Dir, FileSuffix),
		}}
	}

	l := &loader{cfg: cfg, seen: map[string]hcl.Range{}}
	parser := hclparse.NewParser()
	for _, name := range names {
		file, diags := parser.ParseHCLFile(filepath.Join(dir, name))
		l.diags = append(l.diags, diags...)
		if file == nil {
			continue
		}
		cfg.Files[filepath.Join(dir, name)] = file
		l.file(file)
	}
	if cfg.Settings.RequiredVersion != "" {
		l.diags = append(l.diags, CheckRequiredVersion(cfg.Settings.RequiredVersion, Version, l.versionRange)...)
	}
	SortDiagnostics(l.diags)
	// Constants (defaults, settings) are evaluated here too, and cty may
	// recover a panic in them: keep its stack trace from the user.
	return cfg, TidyDiagnostics(l.diags)
}

// configFileNames lists the configuration files of dir, sorted. Symlinks
// to regular files count; directories named *.sdf.hcl do not.
func configFileNames(dir string) ([]string, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	var names []string
	for _, e := range entries {
		name := e.Name()
		if !strings.HasSuffix(name, FileSuffix) || strings.HasPrefix(name, ".") {
			continue
		}
		if e.Type().IsRegular() {
			names = append(names, name)
			continue
		}
		if st, err := os.Stat(filepath.Join(dir, name)); err == nil && st.Mode().IsRegular() {
			names = append(names, name)
		}
	}
	sort.Strings(names)
	return names, nil
}

// SortDiagnostics orders diags by where they point: those without a source
// range first (in their order), then by file and position, so that output
// is stable: hcl reports some problems in map order, and the engine's walk
// finishes nodes in whatever order the scheduler picks.
func SortDiagnostics(diags hcl.Diagnostics) {
	sort.SliceStable(diags, func(i, j int) bool {
		a, b := diags[i].Subject, diags[j].Subject
		switch {
		case a == nil || b == nil:
			return a == nil && b != nil
		case a.Filename != b.Filename:
			return a.Filename < b.Filename
		case a.Start.Byte != b.Start.Byte:
			return a.Start.Byte < b.Start.Byte
		case a.End.Byte != b.End.Byte:
			return a.End.Byte < b.End.Byte
		case diags[i].Severity != diags[j].Severity:
			return diags[i].Severity == hcl.DiagError
		case diags[i].Summary != diags[j].Summary:
			return diags[i].Summary < diags[j].Summary
		}
		return diags[i].Detail < diags[j].Detail
	})
}

type loader struct {
	cfg          *Config
	diags        hcl.Diagnostics
	seen         map[string]hcl.Range // "variable x" → first declaration
	versionRange hcl.Range
}

func (l *loader) file(f *hcl.File) {
	content, diags := f.Body.Content(fileSchema)
	l.diags = append(l.diags, diags...)
	for _, b := range content.Blocks {
		switch b.Type {
		case "sdform":
			l.settings(b)
		case "variable":
			l.variable(b)
		case "locals":
			l.locals(b)
		case "output":
			l.output(b)
		case "provider":
			l.provider(b)
		case "resource":
			l.resource(b, Managed)
		case "data":
			l.resource(b, Data)
		case "check":
			l.check(b)
		}
	}
}

// declare records a name and reports a duplicate, naming the first
// declaration. It returns false for a duplicate.
func (l *loader) declare(kind, what, name string, rng hcl.Range) bool {
	return l.declareKey(kind+" "+name, kind, what, name, rng)
}

// declareKey is declare with the key that must be unique given apart:
// resources are unique per type (docker_image.app and
// docker_image_test.app may both exist), everything else per kind.
func (l *loader) declareKey(key, kind, what, name string, rng hcl.Range) bool {
	if first, dup := l.seen[key]; dup {
		scope := "within the configuration directory"
		if kind == "resource" || kind == "data source" {
			scope = "among the " + kind + "s of its type"
		}
		l.diags = append(l.diags, &hcl.Diagnostic{
			Severity: hcl.DiagError,
			Summary:  "Duplicate " + kind + " declaration",
			Detail: fmt.Sprintf("%s %s was already declared at %s. Each %s must have a unique name %s.",
				what, name, first, kind, scope),
			Subject: rng.Ptr(),
		})
		return false
	}
	l.seen[key] = rng
	return true
}

// validName reports an invalid block label.
func (l *loader) validName(kind, name string, rng hcl.Range) bool {
	if hclsyntax.ValidIdentifier(name) {
		return true
	}
	l.diags = append(l.diags, &hcl.Diagnostic{
		Severity: hcl.DiagError,
		Summary:  "Invalid " + kind + " name",
		Detail: fmt.Sprintf("%q is not a valid %s name. A name must start with a letter or underscore and may contain only letters, digits, underscores and dashes.",
			name, kind),
		Subject: rng.Ptr(),
	})
	return false
}

func (l *loader) settings(b *hcl.Block) {
	if first, dup := l.seen["sdform"]; dup {
		l.diags = append(l.diags, &hcl.Diagnostic{
			Severity: hcl.DiagError,
			Summary:  "Duplicate sdform block",
			Detail:   fmt.Sprintf("An sdform block was already declared at %s. Put all settings in one sdform block.", first),
			Subject:  b.DefRange.Ptr(),
		})
		return
	}
	l.seen["sdform"] = b.DefRange
	s := l.cfg.Settings
	s.DeclRange = b.DefRange
	content, diags := b.Body.Content(settingsSchema)
	l.diags = append(l.diags, diags...)
	if a := content.Attributes["required_version"]; a != nil {
		s.RequiredVersion, _ = l.constString(a)
		l.versionRange = a.Expr.Range()
	}
	if a := content.Attributes["destroy_removed"]; a != nil {
		s.DestroyRemoved = l.constBool(a)
	}
	for i, sb := range content.Blocks {
		if i > 0 {
			l.diags = append(l.diags, &hcl.Diagnostic{
				Severity: hcl.DiagError,
				Summary:  "Duplicate state block",
				Detail:   fmt.Sprintf("The state was already configured at %s. An sdform block may have only one state block.", content.Blocks[0].DefRange),
				Subject:  sb.DefRange.Ptr(),
			})
			continue
		}
		sc, diags := sb.Body.Content(stateSchema)
		l.diags = append(l.diags, diags...)
		if a := sc.Attributes["path"]; a != nil {
			if p, ok := l.constString(a); p != "" {
				s.StatePath = p
			} else if ok {
				l.diags = append(l.diags, &hcl.Diagnostic{
					Severity: hcl.DiagError,
					Summary:  "Invalid state path",
					Detail:   "The state path must not be empty. Remove the argument to use the default, " + DefaultStatePath + ".",
					Subject:  a.Expr.Range().Ptr(),
				})
			}
		}
	}
}

func (l *loader) variable(b *hcl.Block) {
	name := b.Labels[0]
	v := &Variable{Name: name, Type: cty.DynamicPseudoType, Nullable: true, DeclRange: b.DefRange}
	valid := l.validName("variable", name, b.LabelRanges[0])
	if valid && !l.declare("variable", "A variable named", strconv.Quote(name), b.DefRange) {
		valid = false
	}
	content, diags := b.Body.Content(variableSchema)
	l.diags = append(l.diags, diags...)

	if a := content.Attributes["description"]; a != nil {
		v.Description, _ = l.constString(a)
	}
	if a := content.Attributes["sensitive"]; a != nil {
		v.Sensitive = l.constBool(a)
	}
	if a := content.Attributes["nullable"]; a != nil {
		v.Nullable = l.constBool(a)
	}
	typeOK := true
	if a := content.Attributes["type"]; a != nil {
		ty, defaults, diags := typeexpr.TypeConstraintWithDefaults(a.Expr)
		if diags.HasErrors() {
			if s, d := a.Expr.Value(nil); !d.HasErrors() && s.Type() == cty.String && s.IsKnown() && !s.IsNull() {
				diags = hcl.Diagnostics{{
					Severity: hcl.DiagError,
					Summary:  "Invalid type specification",
					Detail:   fmt.Sprintf("A type is written without quotes: type = %s, not type = %q. sdform fmt rewrites the legacy quoted forms.", s.AsString(), s.AsString()),
					Subject:  a.Expr.Range().Ptr(),
				}}
			}
		}
		l.diags = append(l.diags, diags...)
		if diags.HasErrors() {
			typeOK = false
		} else {
			v.Type, v.TypeDefaults = ty, defaults
		}
	}
	if a := content.Attributes["default"]; a != nil {
		val, diags := a.Expr.Value(nil)
		l.diags = append(l.diags, diags...)
		if !diags.HasErrors() {
			v.Default = l.defaultValue(v, val, a.Expr.Range(), typeOK)
		}
	}
	for _, vb := range content.Blocks {
		if val := l.validation(v, vb); val != nil {
			v.Validations = append(v.Validations, val)
		}
	}
	if valid {
		l.cfg.Variables[name] = v
	}
}

// defaultValue converts a default to the variable's type and reports a
// mismatch at the default.
func (l *loader) defaultValue(v *Variable, val cty.Value, rng hcl.Range, typeOK bool) cty.Value {
	if val.IsNull() {
		if !v.Nullable {
			l.diags = append(l.diags, &hcl.Diagnostic{
				Severity: hcl.DiagError,
				Summary:  "Invalid default value for variable",
				Detail:   fmt.Sprintf("Variable %q has nullable = false, so its default cannot be null. Remove the default to make the variable required.", v.Name),
				Subject:  rng.Ptr(),
			})
			return cty.NilVal
		}
		return cty.NullVal(v.Type)
	}
	if !typeOK {
		return val
	}
	if v.TypeDefaults != nil {
		val = v.TypeDefaults.Apply(val)
	}
	conv, err := convert.Convert(val, v.Type)
	if err != nil {
		l.diags = append(l.diags, &hcl.Diagnostic{
			Severity: hcl.DiagError,
			Summary:  "Invalid default value for variable",
			Detail: fmt.Sprintf("This default value does not match the type of variable %q (%s): %s.",
				v.Name, typeexpr.TypeString(v.Type), errorString(err)),
			Subject: rng.Ptr(),
		})
		return cty.NilVal
	}
	return conv
}

func (l *loader) validation(v *Variable, b *hcl.Block) *Validation {
	content, diags := b.Body.Content(validationSchema)
	l.diags = append(l.diags, diags...)
	cond, msg := content.Attributes["condition"], content.Attributes["error_message"]
	if cond == nil || msg == nil {
		return nil
	}
	ok := true
	for _, t := range append(cond.Expr.Variables(), msg.Expr.Variables()...) {
		if isSelfVar(t, v.Name) {
			continue
		}
		ok = false
		what := t.RootName()
		if ref, _ := ParseReference(t); ref != nil {
			what = ref.Subject
		}
		l.diags = append(l.diags, &hcl.Diagnostic{
			Severity: hcl.DiagError,
			Summary:  "Invalid reference in variable validation",
			Detail: fmt.Sprintf("The validation of variable %q can refer only to the variable itself, as var.%s, not to %s.",
				v.Name, v.Name, what),
			Subject: t.SourceRange().Ptr(),
		})
	}
	if !ok {
		return nil
	}
	return &Validation{Condition: cond.Expr, ErrorMessage: msg.Expr, DeclRange: b.DefRange}
}

func isSelfVar(t hcl.Traversal, name string) bool {
	if len(t) < 2 || t.RootName() != "var" {
		return false
	}
	a, ok := t[1].(hcl.TraverseAttr)
	return ok && a.Name == name
}

func (l *loader) locals(b *hcl.Block) {
	attrs, diags := b.Body.JustAttributes()
	l.diags = append(l.diags, diags...)
	for _, a := range sortedAttributes(attrs) {
		if !l.validName("local value", a.Name, a.NameRange) {
			continue
		}
		if !l.declare("local value", "A local value named", strconv.Quote(a.Name), a.NameRange) {
			continue
		}
		l.cfg.Locals[a.Name] = &Local{Name: a.Name, Expr: a.Expr, DeclRange: a.Range}
	}
}

func (l *loader) output(b *hcl.Block) {
	name := b.Labels[0]
	o := &Output{Name: name, DeclRange: b.DefRange}
	valid := l.validName("output", name, b.LabelRanges[0])
	if valid && !l.declare("output", "An output named", strconv.Quote(name), b.DefRange) {
		valid = false
	}
	content, diags := b.Body.Content(outputSchema)
	l.diags = append(l.diags, diags...)
	if a := content.Attributes["value"]; a != nil {
		o.Expr = a.Expr
	} else {
		valid = false
	}
	if a := content.Attributes["description"]; a != nil {
		o.Description, _ = l.constString(a)
	}
	if a := content.Attributes["sensitive"]; a != nil {
		o.Sensitive = l.constBool(a)
	}
	if a := content.Attributes["depends_on"]; a != nil {
		o.DependsOn = l.dependsOn(a)
	}
	if valid {
		l.cfg.Outputs[name] = o
	}
}

func (l *loader) provider(b *hcl.Block) {
	name := b.Labels[0]
	valid := l.validName("provider", name, b.LabelRanges[0])
	if valid && strings.Contains(name, "_") {
		valid = false
		l.diags = append(l.diags, &hcl.Diagnostic{
			Severity: hcl.DiagError,
			Summary:  "Invalid provider name",
			Detail: fmt.Sprintf("%q is not a provider name: provider names contain no underscore, because a resource type is the provider name, an underscore and a kind (docker_image belongs to provider %q).",
				name, "docker"),
			Subject: b.LabelRanges[0].Ptr(),
		})
	}
	if valid && !l.declare("provider", "A provider block for", strconv.Quote(name), b.DefRange) {
		valid = false
	}
	if valid {
		l.cfg.Providers[name] = &ProviderBlock{Name: name, Config: b.Body, DeclRange: b.DefRange, NameRange: b.LabelRanges[0]}
	}
}

func (l *loader) resource(b *hcl.Block, mode Mode) {
	typ, name := b.Labels[0], b.Labels[1]
	kind := "resource"
	if mode == Data {
		kind = "data source"
	}
	r := &Resource{
		Addr:      Address{Mode: mode, Type: typ, Name: name},
		DeclRange: b.DefRange,
		TypeRange: b.LabelRanges[0],
		NameRange: b.LabelRanges[1],
	}
	valid := l.validName(kind+" type", typ, b.LabelRanges[0])
	if valid && ProviderForType(typ) == "" {
		valid = false
		l.diags = append(l.diags, &hcl.Diagnostic{
			Severity: hcl.DiagError,
			Summary:  "Invalid " + kind + " type",
			Detail: fmt.Sprintf("The %s type %q does not name its provider: TYPE must be PROVIDER_KIND, the provider's name, an underscore and a kind, as in docker_image or comfyui_model.",
				kind, typ),
			Subject: b.LabelRanges[0].Ptr(),
		})
	}
	valid = l.validName(kind, name, b.LabelRanges[1]) && valid
	if valid {
		what := fmt.Sprintf("A %s %q", kind, typ)
		if !l.declareKey(kind+" "+typ+"."+name, kind, what, strconv.Quote(name), b.DefRange) {
			valid = false
		}
	}

	content, remain, diags := b.Body.PartialContent(resourceMetaSchema)
	l.diags = append(l.diags, diags...)
	r.Config = remain
	for _, meta := range []string{"count", "for_each"} {
		if a := content.Attributes[meta]; a != nil {
			l.diags = append(l.diags, &hcl.Diagnostic{
				Severity: hcl.DiagError,
				Summary:  "Unsupported meta-argument " + meta,
				Detail:   fmt.Sprintf("sdform has no %s: declare one %s block per instance, each with its own name.", meta, b.Type),
				Subject:  a.NameRange.Ptr(),
			})
		}
	}
	if a := content.Attributes["depends_on"]; a != nil {
		r.DependsOn = l.dependsOn(a)
	}
	for i, lb := range content.Blocks {
		switch {
		case mode == Data:
			l.diags = append(l.diags, &hcl.Diagnostic{
				Severity: hcl.DiagError,
				Summary:  "Unsupported lifecycle block",
				Detail:   "Data sources have no lifecycle: they are read during every plan, never created or destroyed.",
				Subject:  lb.DefRange.Ptr(),
			})
		case i > 0:
			l.diags = append(l.diags, &hcl.Diagnostic{
				Severity: hcl.DiagError,
				Summary:  "Duplicate lifecycle block",
				Detail:   fmt.Sprintf("The lifecycle of %s was already set at %s. A resource may have only one lifecycle block.", r.Addr, content.Blocks[0].DefRange),
				Subject:  lb.DefRange.Ptr(),
			})
		default:
			l.lifecycle(r, lb)
		}
	}
	if valid {
		l.cfg.Resources[r.Addr.String()] = r
	}
}

func (l *loader) lifecycle(r *Resource, b *hcl.Block) {
	content, diags := b.Body.Content(lifecycleSchema)
	l.diags = append(l.diags, diags...)
	if a := content.Attributes["prevent_destroy"]; a != nil {
		r.Lifecycle.PreventDestroy = l.constBool(a)
	}
	if a := content.Attributes["replace_triggered_by"]; a != nil {
		exprs, diags := hcl.ExprList(a.Expr)
		l.diags = append(l.diags, diags...)
		for _, e := range exprs {
			if l.replaceTrigger(e) {
				r.Lifecycle.ReplaceTriggeredBy = append(r.Lifecycle.ReplaceTriggeredBy, e)
			}
		}
	}
	if a := content.Attributes["ignore_changes"]; a != nil {
		if hcl.ExprAsKeyword(a.Expr) == "all" {
			r.Lifecycle.IgnoreAllChanges = true
			return
		}
		exprs, diags := hcl.ExprList(a.Expr)
		if diags.HasErrors() {
			l.diags = append(l.diags, &hcl.Diagnostic{
				Severity: hcl.DiagError,
				Summary:  "Invalid ignore_changes",
				Detail:   "ignore_changes must be a list of attribute names, such as [tags, args.VERSION], or the keyword all.",
				Subject:  a.Expr.Range().Ptr(),
			})
			return
		}
		for _, e := range exprs {
			t, diags := hcl.RelTraversalForExpr(e)
			if diags.HasErrors() {
				l.diags = append(l.diags, &hcl.Diagnostic{
					Severity: hcl.DiagError,
					Summary:  "Invalid ignore_changes item",
					Detail:   "Each ignore_changes item must be an attribute of this resource, such as tags or args.VERSION, written without quotes.",
					Subject:  e.Range().Ptr(),
				})
				continue
			}
			if p, ok := traversalPath(t); ok {
				r.Lifecycle.IgnoreChanges = append(r.Lifecycle.IgnoreChanges, p)
				continue
			}
			l.diags = append(l.diags, &hcl.Diagnostic{
				Severity: hcl.DiagError,
				Summary:  "Invalid ignore_changes item",
				Detail:   "Only attribute names and constant indexes, such as args[\"VERSION\"], may appear in an ignore_changes item.",
				Subject:  e.Range().Ptr(),
			})
		}
	}
}

// replaceTrigger checks that an item of replace_triggered_by refers to a
// managed resource.
func (l *loader) replaceTrigger(e hcl.Expression) bool {
	t, diags := hcl.AbsTraversalForExpr(e)
	if !diags.HasErrors() {
		if ref, rdiags := ParseReference(t); !rdiags.HasErrors() && ref.Addr != nil && ref.Addr.Mode == Managed {
			return true
		}
	}
	l.diags = append(l.diags, &hcl.Diagnostic{
		Severity: hcl.DiagError,
		Summary:  "Invalid replace_triggered_by item",
		Detail:   "Each replace_triggered_by item must refer to a managed resource or one of its attributes, such as docker_image.comfyui or docker_image.comfyui.digest.",
		Subject:  e.Range().Ptr(),
	})
	return false
}

// traversalPath turns a relative traversal (args["X"].y) into a cty.Path.
func traversalPath(t hcl.Traversal) (cty.Path, bool) {
	var p cty.Path
	for _, step := range t {
		switch s := step.(type) {
		case hcl.TraverseRoot:
			p = p.GetAttr(s.Name)
		case hcl.TraverseAttr:
			p = p.GetAttr(s.Name)
		case hcl.TraverseIndex:
			if s.Key.IsNull() || !s.Key.IsKnown() {
				return nil, false
			}
			p = p.Index(s.Key)
		default:
			return nil, false
		}
	}
	return p, len(p) > 0
}

// dependsOn reads a depends_on list: whole resources or data sources.
func (l *loader) dependsOn(a *hcl.Attribute) []hcl.Traversal {
	exprs, diags := hcl.ExprList(a.Expr)
	l.diags = append(l.diags, diags...)
	var out []hcl.Traversal
	for _, e := range exprs {
		t, diags := hcl.AbsTraversalForExpr(e)
		if diags.HasErrors() {
			l.diags = append(l.diags, &hcl.Diagnostic{
				Severity: hcl.DiagError,
				Summary:  "Invalid depends_on item",
				Detail:   "Each depends_on item must name a resource or data source, such as docker_image.comfyui, without quotes.",
				Subject:  e.Range().Ptr(),
			})
			continue
		}
		ref, rdiags := ParseReference(t)
		switch {
		case rdiags.HasErrors():
			l.diags = append(l.diags, rdiags...)
		case ref.Addr == nil:
			l.diags = append(l.diags, &hcl.Diagnostic{
				Severity: hcl.DiagError,
				Summary:  "Invalid depends_on item",
				Detail:   fmt.Sprintf("depends_on lists resources and data sources; %s is not one. References to it in expressions already order the graph.", ref.Subject),
				Subject:  e.Range().Ptr(),
			})
		case !refIsWhole(ref, t):
			l.diags = append(l.diags, &hcl.Diagnostic{
				Severity: hcl.DiagError,
				Summary:  "Invalid depends_on item",
				Detail:   fmt.Sprintf("depends_on names whole resources: write %s without the attribute.", ref.Subject),
				Subject:  e.Range().Ptr(),
			})
		default:
			out = append(out, t)
		}
	}
	return out
}

// refIsWhole reports whether t names exactly the referenced object.
func refIsWhole(ref *Reference, t hcl.Traversal) bool {
	n := 2
	if ref.Addr.Mode == Data {
		n = 3
	}
	return len(t) == n
}

func (l *loader) check(b *hcl.Block) {
	name := b.Labels[0]
	c := &Check{Name: name, DeclRange: b.DefRange}
	valid := l.validName("check", name, b.LabelRanges[0])
	if valid && !l.declare("check", "A check named", strconv.Quote(name), b.DefRange) {
		valid = false
	}
	content, diags := b.Body.Content(checkSchema)
	l.diags = append(l.diags, diags...)
	for _, ab := range content.Blocks {
		ac, diags := ab.Body.Content(assertSchema)
		l.diags = append(l.diags, diags...)
		cond, msg := ac.Attributes["condition"], ac.Attributes["error_message"]
		if cond == nil || msg == nil {
			continue
		}
		a := &Assert{Condition: cond.Expr, ErrorMessage: msg.Expr, DeclRange: ab.DefRange}
		if sa := ac.Attributes["severity"]; sa != nil {
			switch s, ok := l.constString(sa); {
			case !ok, s == "error":
			case s == "warning":
				a.Severity = SeverityWarning
			default:
				l.diags = append(l.diags, &hcl.Diagnostic{
					Severity: hcl.DiagError,
					Summary:  "Invalid assert severity",
					Detail:   fmt.Sprintf("The severity %q is not valid: use \"error\" (the default: a failed assert fails the run) or \"warning\".", s),
					Subject:  sa.Expr.Range().Ptr(),
				})
			}
		}
		c.Asserts = append(c.Asserts, a)
	}
	if len(content.Blocks) == 0 && !diags.HasErrors() {
		l.diags = append(l.diags, &hcl.Diagnostic{
			Severity: hcl.DiagError,
			Summary:  "Check without assertions",
			Detail:   fmt.Sprintf("The check %q has no assert block. Add at least one assert { condition = … error_message = … }.", name),
			Subject:  b.DefRange.Ptr(),
		})
	}
	if valid {
		l.cfg.Checks[name] = c
	}
}

// constString evaluates an argument that must be a constant string; ok is
// false when it was not (and a diagnostic says so).
func (l *loader) constString(a *hcl.Attribute) (s string, ok bool) {
	v, ok := l.constValue(a, cty.String, "a string")
	if !ok {
		return "", false
	}
	return v.AsString(), true
}

// constBool evaluates an argument that must be a constant bool.
func (l *loader) constBool(a *hcl.Attribute) bool {
	v, ok := l.constValue(a, cty.Bool, "true or false")
	if !ok {
		return false
	}
	return v.True()
}

func (l *loader) constValue(a *hcl.Attribute, ty cty.Type, want string) (cty.Value, bool) {
	v, diags := a.Expr.Value(nil)
	l.diags = append(l.diags, diags...)
	if diags.HasErrors() {
		return cty.NilVal, false
	}
	conv, err := convert.Convert(v, ty)
	if err != nil || conv.IsNull() || !conv.IsWhollyKnown() {
		l.diags = append(l.diags, &hcl.Diagnostic{
			Severity: hcl.DiagError,
			Summary:  "Invalid value for " + a.Name,
			Detail:   fmt.Sprintf("The argument %s must be %s.", a.Name, want),
			Subject:  a.Expr.Range().Ptr(),
		})
		return cty.NilVal, false
	}
	return conv, true
}

// ProviderForType returns the provider name of a resource type, the part
// before the first underscore, or "" when the type has no such prefix.
func ProviderForType(typ string) string {
	p, kind, ok := strings.Cut(typ, "_")
	if !ok || p == "" || kind == "" {
		return ""
	}
	return p
}

func sortedAttributes(attrs hcl.Attributes) []*hcl.Attribute {
	out := make([]*hcl.Attribute, 0, len(attrs))
	for _, a := range attrs {
		out = append(out, a)
	}
	sort.Slice(out, func(i, j int) bool {
		a, b := out[i].Range, out[j].Range
		if a.Filename != b.Filename {
			return a.Filename < b.Filename
		}
		return a.Start.Byte < b.Start.Byte
	})
	return out
}

// errorString renders a conversion error as part of a sentence.
func errorString(err error) string {
	msg := err.Error()
	if pe, ok := err.(cty.PathError); ok && len(pe.Path) > 0 {
		msg = fmt.Sprintf("at %s: %s", formatPath(pe.Path), msg)
	}
	return strings.TrimSuffix(msg, ".")
}

// formatPath renders a cty.Path the way a user writes it: a.b["k"][0].
func formatPath(p cty.Path) string {
	var sb strings.Builder
	for i, step := range p {
		switch s := step.(type) {
		case cty.GetAttrStep:
			if i > 0 {
				sb.WriteByte('.')
			}
			sb.WriteString(s.Name)
		case cty.IndexStep:
			switch {
			case !s.Key.IsKnown() || s.Key.IsNull():
				sb.WriteString("[?]")
			case s.Key.Type() == cty.String:
				fmt.Fprintf(&sb, "[%q]", s.Key.AsString())
			case s.Key.Type() == cty.Number:
				sb.WriteString("[" + s.Key.AsBigFloat().Text('f', -1) + "]")
			default:
				sb.WriteString("[?]")
			}
		}
	}
	return sb.String()
}
