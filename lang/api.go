package lang

// This file holds the types the engine shares with lang; the code lives in
// load.go, vars.go, scope.go, functions.go and refs.go.

import (
	"sync"

	"github.com/hashicorp/hcl/v2"
	"github.com/zclconf/go-cty/cty"
	"github.com/zclconf/go-cty/cty/function"
)

// SensitiveMark marks cty values that come from sensitive variables or
// sensitive attributes. Rendering prints "(sensitive value)" for them and
// the state stores them hashed.
const SensitiveMark = marker("sensitive")

type marker string

// VarInputs are the sources of variable values, in the order of precedence
// from highest to lowest: CLI (-var k=v, later wins), Files (-var-file, later
// wins), *.auto.sdfvars in the config directory (lexical order, later wins),
// Env (SDF_VAR_<name>), then the variable's default.
type VarInputs struct {
	CLI   []string // "k=v" as given to -var
	Files []string // paths given to -var-file
	Env   []string // os.Environ() form: "SDF_VAR_variant=fp16"
	// Saved are the values a saved plan was made with, typed as they were
	// (a null stays null): above every other source.
	Saved map[string]cty.Value
}

// Reference is one reference found in an expression: var.x, local.x,
// TYPE.NAME, data.TYPE.NAME (with the rest of the traversal dropped).
type Reference struct {
	// Subject is "var.x", "local.x", "docker_image.x", "data.gpu_host.x",
	// "check.x" or "path.module".
	Subject string
	// Addr is set for resources and data sources.
	Addr      *Address
	SrcRange  hcl.Range
	Traversal hcl.Traversal
}

// Scope is what expressions can see during evaluation.
type Scope struct {
	Dir       string
	Vars      map[string]cty.Value
	Locals    map[string]cty.Value
	Resources map[Address]cty.Value
	// Files, when not nil, records what file functions see of the file
	// system, so that a saved plan knows its inputs.
	Files *FileRecord
}

// FileRecord collects what file functions saw of the file system during
// one evaluation: the content of the files they read, and the answers of
// fileexists. The zero value is ready to use and safe for concurrent use.
type FileRecord struct {
	mu    sync.Mutex
	files map[string]string // absolute path → hex sha256 of the content
	// probed holds fileexists's answers: absolute path → whether a regular
	// file was there.
	probed map[string]bool
	// funcs is the function table bound to this record (see Functions),
	// for the directory funcsDir.
	funcs    map[string]function.Function
	funcsDir string
}
