package providers

import (
	"github.com/hashicorp/hcl/v2/hcldec"
	"github.com/zclconf/go-cty/cty"
)

// ProviderSchema describes everything a provider accepts.
type ProviderSchema struct {
	// Provider is the body of `provider "NAME" { ... }`.
	Provider *Schema
	// Resources and DataSources are keyed by full type name ("docker_image").
	Resources   map[string]*Schema
	DataSources map[string]*Schema
}

// Schema describes one block: a provider's settings, a resource or a data
// source. Its ImpliedType is the cty object type of the values the engine and
// the provider exchange for it.
type Schema struct {
	Description string
	Attributes  map[string]*Attribute
	Blocks      map[string]*NestedBlock

	// Verb names what creating this resource means to a user, for plan
	// headings, progress and the summary line: "build" ("1 to build"),
	// "download", "run" (tests: "2 checks to run"), "check"
	// (gpu_requirement: "1 to check"). Empty means "create"; internal/view
	// words any other verb plainly ("1 to VERB", "Verb…").
	Verb string
	// Test marks resources that verify another resource (docker_image_test,
	// comfyui_workflow, gpu_requirement). Promotion of an image waits for every
	// test that depends on it.
	Test bool
}

// Attribute is one argument or computed value.
type Attribute struct {
	Type        cty.Type
	Description string
	Required    bool
	Optional    bool
	// Computed values are set by the provider; Optional+Computed means the
	// provider fills a default when the user sets none.
	Computed bool
	// Sensitive values print as "(sensitive value)" and are stored hashed.
	Sensitive bool
	// ForceNew: a change to this attribute replaces the object rather than
	// updating it in place. The plan names the attribute as the reason.
	ForceNew bool
}

// Nesting says how a nested block may repeat.
type Nesting int

const (
	// NestingSingle is one optional block: `fallback { ... }` → object or null.
	NestingSingle Nesting = iota
	// NestingList is zero or more blocks without labels → list of objects.
	NestingList
	// NestingMap is zero or more blocks with one label each:
	// `command "deps" { ... }` → map of objects keyed by label.
	NestingMap
)

// NestedBlock is a block type allowed inside a Schema.
type NestedBlock struct {
	Nesting  Nesting
	Block    Schema
	MinItems int
	MaxItems int
}

// ImpliedType is the object type of values described by s: config values
// after decoding, planned values and state alike. Computed attributes are
// part of it (null in config).
func (s *Schema) ImpliedType() cty.Type { return hcldec.ImpliedType(s.DecoderSpec()) }

// DecoderSpec turns s into an hcldec spec, so that the engine decodes a body
// with HCL's own diagnostics (unknown arguments with "did you mean", wrong
// types, missing required arguments, all with source ranges). Computed-only
// attributes are in the spec as optional so that they have a place in the
// value; the engine rejects them when a user sets one (see Attribute.ReadOnly).
func (s *Schema) DecoderSpec() hcldec.Spec {
	obj := hcldec.ObjectSpec{}
	if s == nil {
		return obj
	}
	for name, a := range s.Attributes {
		obj[name] = &hcldec.AttrSpec{Name: name, Type: a.Type, Required: a.Required}
	}
	for name, b := range s.Blocks {
		switch b.Nesting {
		case NestingSingle:
			obj[name] = &hcldec.BlockSpec{TypeName: name, Nested: b.Block.DecoderSpec(), Required: b.MinItems > 0}
		case NestingList:
			obj[name] = &hcldec.BlockListSpec{TypeName: name, Nested: b.Block.DecoderSpec(), MinItems: b.MinItems, MaxItems: b.MaxItems}
		case NestingMap:
			obj[name] = &hcldec.BlockMapSpec{TypeName: name, LabelNames: []string{"name"}, Nested: b.Block.DecoderSpec()}
		}
	}
	return obj
}

// ReadOnly reports whether the attribute is computed by the provider and may
// not be set in config.
func (a *Attribute) ReadOnly() bool { return a.Computed && !a.Optional && !a.Required }

// SensitivePaths lists the top-level attributes marked Sensitive.
func (s *Schema) SensitivePaths() []cty.Path {
	var out []cty.Path
	for name, a := range s.Attributes {
		if a.Sensitive {
			out = append(out, cty.GetAttrPath(name))
		}
	}
	return out
}
