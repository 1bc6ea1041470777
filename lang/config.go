package lang

import (
	"fmt"
	"path/filepath"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/ext/typeexpr"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/zclconf/go-cty/cty"
)

// Config is every *.sdf.hcl file of one directory, loaded together. Resource
// bodies are kept undecoded (Resource.Config): the provider's schema decodes
// them later, in the planner.
type Config struct {
	// Dir is the absolute config directory; file functions and relative
	// paths resolve against it.
	Dir string
	// Files holds every parsed file by the name used in diagnostics, so that
	// diagnostics print with source snippets.
	Files map[string]*hcl.File

	Settings  *Settings
	Variables map[string]*Variable
	Locals    map[string]*Local
	Outputs   map[string]*Output
	Providers map[string]*ProviderBlock
	// Resources holds managed resources and data sources by address string
	// ("docker_image.comfyui", "data.gpu_host.local").
	Resources map[string]*Resource
	Checks    map[string]*Check

	// loadDir is dir as given to Load: files found in the directory are
	// named relative to it (as the user wrote it), Dir is absolute.
	loadDir string
}

// DefaultStatePath is where state lives when the sdform block names none,
// relative to the config directory.
const DefaultStatePath = ".sdform/state.json"

// StateFile is the state path made absolute against Dir.
func (c *Config) StateFile() string {
	p := DefaultStatePath
	if c.Settings != nil && c.Settings.StatePath != "" {
		p = c.Settings.StatePath
	}
	if filepath.IsAbs(p) {
		return p
	}
	return filepath.Join(c.Dir, p)
}

// Settings is the `sdform` block.
type Settings struct {
	RequiredVersion string // a constraint such as ">= 0.1"; empty when unset
	StatePath       string // as written, relative to Config.Dir; DefaultStatePath when unset
	// DestroyRemoved makes removal of a resource from config delete the
	// object (as `sdform destroy` would) instead of forgetting it.
	DestroyRemoved bool
	DeclRange      hcl.Range
}

// Variable is a `variable` block.
type Variable struct {
	Name        string
	Description string
	// Type is the constraint; cty.DynamicPseudoType when none was given.
	Type cty.Type
	// TypeDefaults holds the defaults of optional(…, default) object
	// attributes in Type; nil when there are none.
	TypeDefaults *typeexpr.Defaults
	// Default is cty.NilVal when the variable is required.
	Default     cty.Value
	Sensitive   bool
	Nullable    bool
	Validations []*Validation
	DeclRange   hcl.Range
}

// Validation is a `validation` block inside a variable.
type Validation struct {
	Condition    hcl.Expression
	ErrorMessage hcl.Expression
	DeclRange    hcl.Range
}

// Local is one attribute of a `locals` block.
type Local struct {
	Name      string
	Expr      hcl.Expression
	DeclRange hcl.Range
}

// Output is an `output` block.
type Output struct {
	Name        string
	Description string
	Expr        hcl.Expression
	Sensitive   bool
	DependsOn   []hcl.Traversal
	DeclRange   hcl.Range
}

// ProviderBlock is a `provider "NAME" {}` block, decoded later by the
// provider's schema.
type ProviderBlock struct {
	Name      string
	Config    hcl.Body
	DeclRange hcl.Range
	NameRange hcl.Range
}

// Mode tells managed resources from data sources.
type Mode int

const (
	Managed Mode = iota
	Data
)

// Address names a resource or data source.
type Address struct {
	Mode Mode
	Type string
	Name string
}

func (a Address) String() string {
	if a.Mode == Data {
		return fmt.Sprintf("data.%s.%s", a.Type, a.Name)
	}
	return a.Type + "." + a.Name
}

// Resource is a `resource` or `data` block.
type Resource struct {
	Addr Address
	// Config is the body less meta-arguments (depends_on, lifecycle).
	Config    hcl.Body
	DependsOn []hcl.Traversal
	Lifecycle Lifecycle
	DeclRange hcl.Range
	TypeRange hcl.Range
	NameRange hcl.Range
}

// Provider is the provider name the resource type belongs to: the part of
// the type before its first underscore (docker_image → docker).
func (r *Resource) Provider() string {
	return ProviderForType(r.Addr.Type)
}

// Lifecycle is the `lifecycle` block of a managed resource.
type Lifecycle struct {
	PreventDestroy     bool
	ReplaceTriggeredBy []hcl.Expression
	// IgnoreChanges lists attribute paths whose changes in config are not
	// planned; IgnoreAllChanges is `ignore_changes = all`.
	IgnoreChanges    []cty.Path
	IgnoreAllChanges bool
}

// Severity of a failed assertion.
type Severity int

const (
	SeverityError Severity = iota
	SeverityWarning
)

func (s Severity) String() string {
	if s == SeverityWarning {
		return "warning"
	}
	return "error"
}

// Check is a `check` block.
type Check struct {
	Name      string
	Asserts   []*Assert
	DeclRange hcl.Range
}

// Assert is an `assert` block inside a check.
type Assert struct {
	Condition    hcl.Expression
	ErrorMessage hcl.Expression
	Severity     Severity
	DeclRange    hcl.Range
}

// ParseAddress reads an address as the command line gives it (-target,
// -exclude, -replace, state rm): TYPE.NAME or data.TYPE.NAME. sdform has
// no count or for_each, so an address never has an index.
func ParseAddress(s string) (Address, error) {
	const form = "write TYPE.NAME, or data.TYPE.NAME for a data source"
	t, diags := hclsyntax.ParseTraversalAbs([]byte(s), "", hcl.InitialPos)
	if diags.HasErrors() {
		return Address{}, fmt.Errorf("%q is not an address: %s", s, form)
	}
	var names []string
	for _, step := range t {
		switch st := step.(type) {
		case hcl.TraverseRoot:
			names = append(names, st.Name)
		case hcl.TraverseAttr:
			names = append(names, st.Name)
		default:
			return Address{}, fmt.Errorf("%q has an index, but sdform has no count or for_each: %s", s, form)
		}
	}
	switch {
	case len(names) == 2 && names[0] != "data":
		return Address{Mode: Managed, Type: names[0], Name: names[1]}, nil
	case len(names) == 3 && names[0] == "data":
		return Address{Mode: Data, Type: names[1], Name: names[2]}, nil
	}
	return Address{}, fmt.Errorf("%q is not an address: %s", s, form)
}
