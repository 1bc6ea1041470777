package planner

import (
	"sync"

	"github.com/hashicorp/hcl/v2/hcldec"
	"github.com/sdform/sdform/providers"
	"github.com/zclconf/go-cty/cty"
)

// schemaInfo caches what the engine derives from a schema on every use.
type schemaInfo struct {
	spec hcldec.Spec
	ty   cty.Type
}

// schemaCache maps *providers.Schema to *schemaInfo. Schemas are immutable
// once a provider returned them, so the pointer is a good key.
var schemaCache sync.Map

func infoOf(s *providers.Schema) *schemaInfo {
	if v, ok := schemaCache.Load(s); ok {
		return v.(*schemaInfo)
	}
	spec := s.DecoderSpec()
	info := &schemaInfo{spec: spec, ty: hcldec.ImpliedType(spec)}
	v, _ := schemaCache.LoadOrStore(s, info)
	return v.(*schemaInfo)
}

// specOf is s.DecoderSpec(), computed once.
func specOf(s *providers.Schema) hcldec.Spec { return infoOf(s).spec }

// typeOf is s.ImpliedType(), computed once.
func typeOf(s *providers.Schema) cty.Type { return infoOf(s).ty }

// sensitiveInfo is what schemaSensitivePaths needs of a schema, sorted
// once: the names of its sensitive attributes, and of its blocks that hold
// one somewhere.
type sensitiveInfo struct {
	attrs, blocks []string
}

// sensitiveCache maps *providers.Schema (nested block schemas included) to
// *sensitiveInfo.
var sensitiveCache sync.Map

func sensitiveOf(s *providers.Schema) *sensitiveInfo {
	if v, ok := sensitiveCache.Load(s); ok {
		return v.(*sensitiveInfo)
	}
	si := &sensitiveInfo{}
	for _, name := range sortedKeys(s.Attributes) {
		if s.Attributes[name].Sensitive {
			si.attrs = append(si.attrs, name)
		}
	}
	for _, name := range sortedKeys(s.Blocks) {
		if hasSensitive(&s.Blocks[name].Block) {
			si.blocks = append(si.blocks, name)
		}
	}
	v, _ := sensitiveCache.LoadOrStore(s, si)
	return v.(*sensitiveInfo)
}
