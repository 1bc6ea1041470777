package lang

import (
	"strings"
	"testing"

	"github.com/zclconf/go-cty/cty"
)

func TestScopeEvalContext(t *testing.T) {
	dir := t.TempDir()
	obj := func(kv ...any) cty.Value {
		m := map[string]cty.Value{}
		for i := 0; i < len(kv); i += 2 {
			m[kv[i].(string)] = kv[i+1].(cty.Value)
		}
		return cty.ObjectVal(m)
	}
	s := &Scope{
		Dir:    dir,
		Vars:   map[string]cty.Value{"variant": cty.StringVal("fp8")},
		Locals: map[string]cty.Value{"files": obj("fp8", cty.StringVal("a.safetensors"))},
		Resources: map[Address]cty.Value{
			{Managed, "docker_image", "comfyui"}: obj("size", cty.NumberIntVal(40e9), "id", cty.StringVal("sha256:1")),
			{Managed, "docker_image", "base"}:    obj("id", cty.StringVal("sha256:0")),
			{Managed, "comfyui_model", "m"}:      obj("path", cty.UnknownVal(cty.String)),
			{Data, "gpu_host", "local"}:          obj("cuda", cty.StringVal("12.4")),
			{Data, "docker_image", "comfyui"}:    obj("id", cty.StringVal("data-side")),
		},
	}
	tests := map[string]struct {
		expr string
		want cty.Value
	}{
		"var":                   {`var.variant`, cty.StringVal("fp8")},
		"local index":           {`local.files[var.variant]`, cty.StringVal("a.safetensors")},
		"path.module":           {`path.module`, cty.StringVal(dir)},
		"managed":               {`docker_image.comfyui.size < parse_size("50GB")`, cty.True},
		"two of a type":         {`docker_image.base.id`, cty.StringVal("sha256:0")},
		"data":                  {`data.gpu_host.local.cuda`, cty.StringVal("12.4")},
		"data and managed same": {`data.docker_image.comfyui.id`, cty.StringVal("data-side")},
		"unknown flows":         {`upper(comfyui_model.m.path)`, cty.UnknownVal(cty.String).RefineNotNull()},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			got, diags := eval(t, s, tc.expr)
			if diags.HasErrors() {
				t.Fatal(diags)
			}
			if !got.RawEquals(tc.want) {
				t.Errorf("%s = %#v, want %#v", tc.expr, got, tc.want)
			}
		})
	}

	// An empty scope still has the roots, so a missing name is "unsupported
	// attribute" rather than a crash.
	_, diags := eval(t, &Scope{}, `var.x`)
	if !diags.HasErrors() || !strings.Contains(diags[0].Detail, `"x"`) {
		t.Errorf("empty scope: %v", diags)
	}
}

func TestScopeEval(t *testing.T) {
	s := &Scope{Vars: map[string]cty.Value{"n": cty.StringVal("5"), "s": cty.StringVal("x")}}
	dir := writeDir(t, map[string]string{"main.sdf.hcl": "locals {\n  a = var.n\n  b = var.s\n  c = [1]\n}\n"})
	cfg, diags := Load(dir)
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	v, diags := s.Eval(cfg.Locals["a"].Expr, cty.Number)
	if diags.HasErrors() || !v.RawEquals(cty.NumberIntVal(5)) {
		t.Errorf("Eval a = %#v, %v", v, diags)
	}
	v, diags = s.Eval(cfg.Locals["c"].Expr, cty.DynamicPseudoType)
	if diags.HasErrors() || !v.Type().IsTupleType() {
		t.Errorf("Eval c = %#v, %v", v, diags)
	}
	_, diags = s.Eval(cfg.Locals["b"].Expr, cty.Number)
	if !diags.HasErrors() || diags[0].Subject == nil || diags[0].Subject.Start.Line != 3 {
		t.Errorf("Eval b as number: %v", diags)
	}
}

func TestMarks(t *testing.T) {
	secret := MarkSensitive(cty.StringVal("s"))
	tests := map[string]struct {
		v     cty.Value
		want  bool
		paths int
	}{
		"plain":       {cty.StringVal("x"), false, 0},
		"top":         {secret, true, 1},
		"in list":     {cty.ListVal([]cty.Value{cty.StringVal("a"), secret}), true, 1},
		"deep object": {cty.ObjectVal(map[string]cty.Value{"a": cty.ObjectVal(map[string]cty.Value{"b": secret})}), true, 1},
		"in map":      {cty.MapVal(map[string]cty.Value{"k": secret, "j": cty.StringVal("y")}), true, 1},
		"other mark":  {cty.StringVal("x").Mark("other"), false, 0},
		"null marked": {MarkSensitive(cty.NullVal(cty.String)), true, 1},
		"unknown":     {MarkSensitive(cty.UnknownVal(cty.Number)), true, 1},
		"two secrets": {cty.TupleVal([]cty.Value{secret, secret}), true, 2},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			if got := IsSensitive(tc.v); got != tc.want {
				t.Errorf("IsSensitive = %v, want %v", got, tc.want)
			}
			if got := len(SensitivePaths(tc.v)); got != tc.paths {
				t.Errorf("SensitivePaths = %d paths, want %d", got, tc.paths)
			}
		})
	}
}

func TestTidyDiagnostics(t *testing.T) {
	dir := writeDir(t, map[string]string{"main.sdf.hcl": "locals {\n  a = (1/0) % 2\n}\n"})
	cfg, diags := Load(dir)
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	_, diags = (&Scope{Dir: dir}).Eval(cfg.Locals["a"].Expr, cty.DynamicPseudoType)
	if !diags.HasErrors() {
		t.Skip("cty no longer panics on infinity % 2; nothing to tidy")
	}
	if d := diags[0].Detail; strings.Contains(d, "goroutine") || strings.Contains(d, "panic in function") {
		t.Errorf("stack trace left in the detail: %q", d)
	}
	// The Go runtime's words mean nothing to the user; the likely cause
	// does.
	if d := diags[0].Detail; strings.Contains(d, "runtime error") || strings.Contains(d, "nil pointer") || !strings.Contains(d, "1/0") {
		t.Errorf("detail does not say what went wrong in the user's terms: %q", d)
	}
}
