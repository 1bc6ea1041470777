package planner_test

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/hashicorp/hcl/v2"
	"github.com/sdform/sdform/lang"
	"github.com/sdform/sdform/planner"
)

// The same variable values, given by a -var-file at plan time and by the
// environment at apply time: the saved plan still applies (the digest
// holds the values, not the variables file's bytes).
func TestVarFileBytesInDigest(t *testing.T) {
	f := newFixture(t, map[string]string{
		"secrets.sdfvars": "tok = \"abc-long-token\"\n",
		"main.sdf.hcl": `
variable "tok" {
  type      = string
  sensitive = true
}
resource "test_thing" "a" {
  secret = var.tok
}
`})
	ctxWith := func(in lang.VarInputs) *planner.Context { return f.contextWith(f.prov, in) }
	p, diags := ctxWith(lang.VarInputs{Files: []string{filepath.Join(f.dir, "secrets.sdfvars")}}).Plan(context.Background(), f.state(), defaultOpts())
	if diags.HasErrors() {
		t.Fatal(diagString(diags))
	}
	_, diags = ctxWith(lang.VarInputs{Env: []string{"SDF_VAR_tok=abc-long-token"}}).Apply(context.Background(), p, f.state(), f.persist, planner.Hooks{})
	if hasDiag(diags, hcl.DiagError, "stale") {
		t.Errorf("same values, other source: %s", diagString(diags))
	}
}
