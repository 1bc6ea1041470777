package lang

import (
	"reflect"
	"sort"
	"strings"
	"testing"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
)

func TestParseReference(t *testing.T) {
	tests := map[string]struct {
		src     string
		subject string
		addr    *Address
		endCol  int    // end column of SrcRange: the subject only
		err     string // substring of the diagnostic detail
	}{
		"var":           {src: "var.variant", subject: "var.variant", endCol: 12},
		"var deep":      {src: "var.opts.name[0]", subject: "var.opts", endCol: 9},
		"local":         {src: "local.files", subject: "local.files", endCol: 12},
		"path":          {src: "path.module", subject: "path.module", endCol: 12},
		"check":         {src: "check.size", subject: "check.size", endCol: 11},
		"resource":      {src: "docker_image.comfyui.digest", subject: "docker_image.comfyui", addr: &Address{Managed, "docker_image", "comfyui"}, endCol: 21},
		"resource idx":  {src: `comfyui_model.m.paths["a"]`, subject: "comfyui_model.m", addr: &Address{Managed, "comfyui_model", "m"}, endCol: 16},
		"data":          {src: "data.gpu_host.local.cuda", subject: "data.gpu_host.local", addr: &Address{Data, "gpu_host", "local"}, endCol: 20},
		"var alone":     {src: "var", err: `The "var" object cannot be used on its own: follow it with a name, as in var.variant.`},
		"var index":     {src: `var["x"]`, err: `The "var" object cannot be used on its own`},
		"local alone":   {src: "local", err: "as in local.files"},
		"data no name":  {src: "data.gpu_host", err: "A data source reference is data.TYPE.NAME"},
		"data alone":    {src: "data", err: "A data source reference is data.TYPE.NAME"},
		"count":         {src: "count.index", err: "sdform has no count"},
		"each":          {src: "each.key", err: "sdform has no for_each"},
		"self":          {src: "self.id", err: "self is not available"},
		"module":        {src: "module.x.y", err: "sdform has no modules"},
		"terraform":     {src: "terraform.workspace", err: "This is sdform, not Terraform"},
		"path cwd":      {src: "path.cwd", err: "The only path value is path.module"},
		"resource type": {src: "docker_image", err: `"docker_image" needs a name after it`},
		"resource idx0": {src: "docker_image[0]", err: "needs a name after it"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			trav, diags := hclsyntax.ParseTraversalAbs([]byte(tc.src), "t.sdf.hcl", hcl.InitialPos)
			if diags.HasErrors() {
				t.Fatal(diags)
			}
			ref, diags := ParseReference(trav)
			if tc.err != "" {
				if ref != nil || !diags.HasErrors() || !strings.Contains(diags[0].Detail, tc.err) || diags[0].Subject == nil {
					t.Fatalf("got %v, %v; want error %q", ref, diags, tc.err)
				}
				return
			}
			if diags.HasErrors() {
				t.Fatal(diags)
			}
			if ref.Subject != tc.subject {
				t.Errorf("Subject = %q, want %q", ref.Subject, tc.subject)
			}
			if !reflect.DeepEqual(ref.Addr, tc.addr) {
				t.Errorf("Addr = %v, want %v", ref.Addr, tc.addr)
			}
			if ref.SrcRange.End.Column != tc.endCol || ref.SrcRange.Start.Column != 1 {
				t.Errorf("SrcRange = %v, want columns 1-%d", ref.SrcRange, tc.endCol)
			}
			if len(ref.Traversal) != len(trav) {
				t.Errorf("Traversal has %d steps, want all %d", len(ref.Traversal), len(trav))
			}
		})
	}
}

func subjects(refs []Reference) []string {
	var out []string
	for _, r := range refs {
		out = append(out, r.Subject)
	}
	return out
}

func TestReferencesInExpr(t *testing.T) {
	tests := map[string]struct {
		src  string
		want []string
	}{
		"template":    {`"runpod/x:${var.variant}-${local.suffix}"`, []string{"var.variant", "local.suffix"}},
		"for scope":   {`[for s in var.list : "${s}-${local.x}"]`, []string{"var.list", "local.x"}},
		"for key":     {`{for k, v in var.m : k => v if v != data.gpu_host.h.x}`, []string{"var.m", "data.gpu_host.h"}},
		"function":    {`upper(docker_image.a.id)`, []string{"docker_image.a"}},
		"conditional": {`var.c ? docker_image.a.id : docker_image.b.id`, []string{"var.c", "docker_image.a", "docker_image.b"}},
		"splat":       {`comfyui_model.m[*].path`, []string{"comfyui_model.m"}},
		"index expr":  {`local.files[var.variant]`, []string{"local.files", "var.variant"}},
		"constant":    {`"x"`, nil},
		"invalid":     {`count.index + var.x`, []string{"var.x"}},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			expr, diags := hclsyntax.ParseExpression([]byte(tc.src), "t.sdf.hcl", hcl.InitialPos)
			if diags.HasErrors() {
				t.Fatal(diags)
			}
			if got := subjects(ReferencesInExpr(expr)); !reflect.DeepEqual(got, tc.want) {
				t.Errorf("got %q, want %q", got, tc.want)
			}
		})
	}
	if refs := ReferencesInExpr(nil); refs != nil {
		t.Errorf("nil expression: %v", refs)
	}
}

func TestReferencesInBody(t *testing.T) {
	dir := writeDir(t, map[string]string{"main.sdf.hcl": `resource "docker_image" "x" {
  context    = local.ctx
  args       = { A = var.a }
  depends_on = [docker_image.y]
  lifecycle {
    ignore_changes       = [tags]
    replace_triggered_by = [docker_image.z]
  }
  fallback {
    args = { B = data.gpu_host.h.cuda }
  }
  command "deps" {
    run = [var.cmd, count.index]
    expect {
      exit_code = local.code
    }
  }
}
resource "docker_image" "y" {}
resource "docker_image" "z" {}
data "gpu_host" "h" {}
`})
	cfg, diags := Load(dir)
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	body := cfg.Resources["docker_image.x"].Config
	want := []string{"local.ctx", "var.a", "data.gpu_host.h", "var.cmd", "local.code"}
	if got := subjects(ReferencesInBody(body)); !reflect.DeepEqual(got, want) {
		t.Errorf("ReferencesInBody = %q, want %q (meta-arguments excluded, nested blocks included)", got, want)
	}
	_, diags = ReferencesInBodyDiags(body)
	if len(diags) != 1 || !strings.Contains(diags[0].Detail, "sdform has no count") || diags[0].Subject.Start.Line != 13 {
		t.Errorf("diags = %v", diags)
	}
}

func TestReferencesMap(t *testing.T) {
	dir := writeDir(t, map[string]string{"main.sdf.hcl": designConfig})
	cfg, diags := Load(dir)
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	refs, diags := cfg.References()
	if len(diags) > 0 {
		t.Fatal(renderDiags(t, cfg.Files, diags, dir))
	}
	want := map[string][]string{
		"local.files":                nil,
		"local.sha256":               nil,
		"local.z":                    nil,
		"provider.docker":            nil,
		"data.gpu_host.local":        nil,
		"docker_image.comfyui":       {"comfyui_model.steadydancer", "data.gpu_host.local", "var.variant", "var.variant"},
		"comfyui_model.steadydancer": {"local.files", "var.variant"},
		"check.size":                 {"docker_image.comfyui"},
		"output.image":               {"comfyui_model.steadydancer", "docker_image.comfyui"},
	}
	if _, ok := refs["var.variant"]; ok {
		t.Errorf("validation self-references must not appear as graph edges")
	}
	for key, w := range want {
		got := subjects(refs[key])
		sort.Strings(got)
		if !reflect.DeepEqual(got, w) {
			t.Errorf("References()[%q] = %q, want %q", key, got, w)
		}
	}
}

func TestCheckReferences(t *testing.T) {
	dir := writeDir(t, map[string]string{"main.sdf.hcl": `variable "variant" {}
locals {
  files = {}
  loop  = local.loop
}
resource "docker_image" "comfyui" {
  tags = [var.varient, local.file, var.unrelated_name]
  args = { X = each.key }
}
resource "comfyui_model" "m" {
  image = docker_image.comfyi.id
  other = docker_image.comfyui.id
  gpu   = data.gpu_host.locl.cuda
  self  = var
}
data "gpu_host" "local" {}
check "size" {
  assert {
    condition     = check.sise == null && docker_image.missing.x && foo_bar.baz
    error_message = "x"
  }
}
output "o" {
  value      = local.files
  depends_on = [docker_image.comfyi]
}
`})
	cfg, diags := Load(dir)
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	refs, diags := cfg.References()
	out := renderDiags(t, cfg.Files, diags, dir)
	flat := strings.Join(strings.Fields(out), " ")
	for _, w := range []string{
		`An input variable named "varient" has not been declared; declare it with a variable "varient" {} block. Did you mean var.variant?`,
		`A local value named "file" has not been declared. Did you mean local.files?`,
		`A managed resource "docker_image" "comfyi" has not been declared. Did you mean docker_image.comfyui?`,
		`A data source "gpu_host" "locl" has not been declared. Did you mean data.gpu_host.local?`,
		`A check named "sise" has not been declared. Did you mean check.size?`,
		`A managed resource "docker_image" "missing" has not been declared.`,
		`A managed resource "foo_bar" "baz" has not been declared.`,
		"sdform has no for_each",
		`The "var" object cannot be used on its own`,
	} {
		if !strings.Contains(flat, w) {
			t.Errorf("output lacks %q", w)
		}
	}
	if strings.Contains(flat, "unrelated_name. Did you mean") {
		t.Errorf("suggested something for a name close to nothing")
	}
	// local.loop refers to itself: not an undefined reference; the planner
	// finds the cycle from the map.
	if got := subjects(refs["local.loop"]); !reflect.DeepEqual(got, []string{"local.loop"}) {
		t.Errorf("local.loop refs = %q", got)
	}
	for _, d := range diags {
		if d.Subject == nil {
			t.Errorf("%q has no source range", d.Summary)
		}
	}
	golden(t, "refs/undefined", out)

	// CheckReferences on its own, for one expression.
	expr, _ := hclsyntax.ParseExpression([]byte("var.variant == var.variantt"), "x.sdf.hcl", hcl.InitialPos)
	d := cfg.CheckReferences(ReferencesInExpr(expr))
	if len(d) != 1 || !strings.Contains(d[0].Detail, "Did you mean var.variant?") || d[0].Subject.Start.Column != 16 {
		t.Errorf("CheckReferences = %v", d)
	}
}

func TestParseAddress(t *testing.T) {
	for in, want := range map[string]string{
		"docker_image.app":      "docker_image.app",
		"data.gpu_host.local":   "data.gpu_host.local",
		"nonsense":              `"nonsense" is not an address`,
		"a.b.c":                 `"a.b.c" is not an address`,
		"data.gpu_host":         `"data.gpu_host" is not an address`,
		"comfyui_model.m[0]":    `"comfyui_model.m[0]" has an index, but sdform has no count or for_each`,
		"docker_image.":         `"docker_image." is not an address`,
		`docker_image["x"]`:     `has an index`,
		"docker_image.app name": `is not an address`,
	} {
		a, err := ParseAddress(in)
		got := a.String()
		if err != nil {
			got = err.Error()
		}
		if !strings.Contains(got, want) {
			t.Errorf("ParseAddress(%q) = %q, want %q", in, got, want)
		}
	}
}
