package lang

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/hashicorp/hcl/v2"
	"github.com/zclconf/go-cty/cty"
)

// TestLoadDiagnostics renders the diagnostics of broken configurations
// against golden files and checks, independently of the goldens, that the
// key phrases are there and that each diagnostic points into the source.
func TestLoadDiagnostics(t *testing.T) {
	tests := map[string]struct {
		files    map[string]string
		want     []string // substrings of the rendered output
		dontWant []string // substrings it must not have
	}{
		"syntax_error": {
			files: map[string]string{"main.sdf.hcl": "resource \"docker_image\" \"x\" {\n  context = \n}\n"},
			want:  []string{"main.sdf.hcl line 2", "Invalid expression"},
		},
		"unknown_block": {
			files: map[string]string{"main.sdf.hcl": "resouce \"docker_image\" \"x\" {}\n\nvariabel \"v\" {}\n\nfoo {}\n"},
			want:  []string{`Did you mean "resource"?`, `Did you mean "variable"?`, `Blocks of type "foo" are not expected here.`},
		},
		"unknown_arguments": {
			files: map[string]string{"main.sdf.hcl": `variable "v" {
  type    = string
  defualt = "x"
}

output "o" {
  vaule = 1
}

resource "docker_image" "x" {
  lifecycle {
    prevent_destory = true
  }
}

sdform {
  required_versoin = ">= 0.1"
  state { pth = "x.json" }
}

check "c" {
  assert {
    condition     = true
    error_mesage  = "x"
  }
}
`},
			want: []string{`Did you mean "default"?`, `Did you mean "value"?`, `Did you mean "prevent_destroy"?`,
				`Did you mean "required_version"?`, `Did you mean "path"?`, `Did you mean "error_message"?`},
		},
		"duplicates": {
			files: map[string]string{
				"a.sdf.hcl": `variable "v" {}
locals { l = 1 }
output "o" { value = 1 }
provider "docker" {}
resource "docker_image" "x" {}
data "gpu_host" "h" {}
check "c" {
  assert {
    condition     = true
    error_message = "x"
  }
}
sdform {}
`,
				"b.sdf.hcl": `variable "v" {}
locals { l = 2 }
output "o" { value = 2 }
provider "docker" {}
resource "docker_image" "x" {}
data "gpu_host" "h" {}
check "c" {
  assert {
    condition     = true
    error_message = "x"
  }
}
sdform {}
`,
			},
			want: []string{"Duplicate variable declaration", "Duplicate local value declaration", "Duplicate output declaration",
				"Duplicate provider declaration", "Duplicate resource declaration", "Duplicate data source declaration",
				"Duplicate check declaration", "Duplicate sdform block", "already declared at a.sdf.hcl:1,1-13"},
		},
		"same_name_other_type": {
			// Names are unique per type, as in Terraform: an image and its
			// test are both called "app".
			files: map[string]string{"main.sdf.hcl": `resource "docker_image" "app" {}
resource "docker_image_test" "app" {}
data "gpu_host" "app" {}
resource "docker_image" "app" {}
`},
			want:     []string{"Duplicate resource declaration"},
			dontWant: []string{"docker_image_test"},
		},
		"invalid_names": {
			files: map[string]string{"main.sdf.hcl": `variable "1x" {}
output "a.b" { value = 1 }
resource "docker_image" "my image" {}
provider "docker_x" {}
check "c c" {
  assert {
    condition     = true
    error_message = "x"
  }
}
`},
			want: []string{"Invalid variable name", "Invalid output name", "Invalid resource name", "Invalid provider name", "Invalid check name"},
		},
		"bad_types": {
			files: map[string]string{"main.sdf.hcl": `variable "a" { type = strin }
variable "b" { type = list(strng) }
variable "c" { type = "string" }
variable "d" { type = object({ x = optional(string, 1, 2) }) }
`},
			want: []string{`The keyword "strin" is not a valid type specification.`, `"strng"`, "Invalid type specification"},
		},
		"resource_type_prefix": {
			files: map[string]string{"main.sdf.hcl": "resource \"image\" \"x\" {}\n\ndata \"gpuhost\" \"y\" {}\n\nresource \"docker_\" \"z\" {}\n"},
			want:  []string{"TYPE must be PROVIDER_KIND", `The resource type "image"`, `The data source type "gpuhost"`, `"docker_"`},
		},
		"default_mismatch": {
			files: map[string]string{"main.sdf.hcl": `variable "n" {
  type    = number
  default = "abc"
}

variable "o" {
  type    = object({ a = string })
  default = { b = 1 }
}

variable "nn" {
  type     = string
  nullable = false
  default  = null
}

variable "l" {
  type    = list(object({ name = string, size = optional(number, 1) }))
  default = [{ size = 2 }]
}

variable "ref" {
  default = var.n
}
`},
			want: []string{"Invalid default value for variable", "a number is required", `attribute "a" is required`,
				"nullable = false", `element 0: attribute "name" is required`, "Variables not allowed"},
		},
		"required_version_unmet": {
			files: map[string]string{"main.sdf.hcl": "sdform {\n  required_version = \">= 1.0\"\n}\n"},
			want:  []string{"This configuration requires sdform >= 1.0, but this is 0.1.0"},
		},
		"required_version_invalid": {
			files: map[string]string{"main.sdf.hcl": "sdform {\n  required_version = \">= banana\"\n}\n"},
			want:  []string{"Invalid required_version constraint", "banana"},
		},
		"meta_arguments": {
			files: map[string]string{"main.sdf.hcl": `variable "v" {}

resource "docker_image" "a" {
  count      = 2
  for_each   = {}
  depends_on = [var.v, docker_image.b.digest, "docker_image.b"]
  lifecycle {
    ignore_changes       = [tags, "args", var.x[0]]
    replace_triggered_by = [local.x, data.gpu_host.h]
  }
  lifecycle {}
}

resource "docker_image" "b" {}

data "gpu_host" "h" {
  lifecycle {}
}

resource "docker_image" "c" {
  lifecycle {
    ignore_changes  = everything
    prevent_destroy = "maybe"
  }
}
`},
			want: []string{"Unsupported meta-argument count", "Unsupported meta-argument for_each", "depends_on lists resources",
				"write docker_image.b without the attribute", "Invalid depends_on item", "Invalid ignore_changes item",
				"Invalid replace_triggered_by item", "Duplicate lifecycle block", "Unsupported lifecycle block",
				"Invalid ignore_changes", "The argument prevent_destroy must be true or false."},
		},
		"checks": {
			files: map[string]string{"main.sdf.hcl": `check "empty" {}

check "bad" {
  assert {
    condition     = true
    error_message = "x"
    severity      = "fatal"
  }
  assert {
    error_message = "no condition"
  }
}
`},
			want: []string{"Check without assertions", `The severity "fatal" is not valid`, `The argument "condition" is required`},
		},
		"validation_references": {
			files: map[string]string{"main.sdf.hcl": `variable "other" {
  default = "x"
}

variable "v" {
  type = string
  validation {
    condition     = var.v != var.other && local.x
    error_message = "bad"
  }
}
`},
			want: []string{"Invalid reference in variable validation", "can refer only to the variable itself, as var.v, not to var.other", "not to local.x"},
		},
		"settings": {
			files: map[string]string{"main.sdf.hcl": `sdform {
  destroy_removed = "sometimes"
  state { path = "" }
  state { path = "b.json" }
}
`},
			want: []string{"The argument destroy_removed must be true or false.", "Invalid state path", "Duplicate state block"},
		},
		"labels": {
			files: map[string]string{"main.sdf.hcl": "variable {}\n\nresource \"docker_image\" {}\n\noutput \"a\" \"b\" { value = 1 }\n"},
			want:  []string{"Missing name for variable", "Missing name for resource", "Extraneous label for output"},
		},
		"locals_errors": {
			files: map[string]string{"main.sdf.hcl": "locals {\n  a = 1\n  nested {}\n}\n\nlocals {\n  a = 2\n}\n\n" + `output "o" {}` + "\n"},
			want:  []string{`Unexpected "nested" block`, "Duplicate local value declaration", `The argument "value" is required`},
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			dir := writeDir(t, tc.files)
			cfg, diags := Load(dir)
			if cfg == nil {
				t.Fatal("Load returned a nil Config")
			}
			if !diags.HasErrors() {
				t.Fatalf("want errors, got %v", summaries(diags))
			}
			for _, d := range diags {
				if d.Subject == nil {
					t.Errorf("diagnostic %q has no source range", d.Summary)
				}
			}
			out := renderDiags(t, cfg.Files, diags, dir)
			flat := strings.Join(strings.Fields(out), " ") // undo line wrapping
			for _, w := range tc.want {
				if !strings.Contains(flat, w) {
					t.Errorf("output lacks %q:\n%s", w, out)
				}
			}
			for _, w := range tc.dontWant {
				if strings.Contains(flat, w) {
					t.Errorf("output has %q:\n%s", w, out)
				}
			}
			golden(t, "load/"+name, out)
		})
	}
}

func TestLoadNoFiles(t *testing.T) {
	dir := writeDir(t, map[string]string{"README.md": "x", "main.tf": "x", "sub.sdf.hcl/x": ""})
	cfg, diags := Load(dir)
	if cfg == nil || !diags.HasErrors() {
		t.Fatalf("want an error and a Config, got %v, %v", cfg, diags)
	}
	if got := diags[0].Summary; got != "No configuration files" {
		t.Errorf("summary = %q", got)
	}
	if !strings.Contains(diags[0].Detail, dir) {
		t.Errorf("detail does not name the directory %s: %s", dir, diags[0].Detail)
	}

	_, diags = Load(filepath.Join(dir, "missing"))
	if !diags.HasErrors() || !strings.Contains(diags[0].Detail, "missing") {
		t.Errorf("missing directory: %v", diags)
	}
}

const designConfig = `sdform {
  required_version = ">= 0.1"
  state { path = "state/sdform.json" }
  destroy_removed = true
}

variable "variant" {
  type        = string
  default     = "fp8"
  description = "Which weights"
  validation {
    condition     = contains(["fp8", "fp16"], var.variant)
    error_message = "variant must be fp8 or fp16."
  }
}

variable "hf_token" {
  type      = string
  sensitive = true
  default   = null
}

variable "opts" {
  type     = object({ name = string, gpus = optional(number, 1) })
  nullable = false
  default  = { name = "a" }
}

variable "required" {}

locals {
  files  = { fp8 = "a.safetensors", fp16 = "b.safetensors" }
  sha256 = { fp8 = "aa", fp16 = "bb" }
}

provider "docker" { buildkit = "docker" }

data "gpu_host" "local" {}

resource "docker_image" "comfyui" {
  context    = "docker"
  tags       = ["runpod/steadydancer:${var.variant}"]
  args       = { V = var.variant }
  depends_on = [data.gpu_host.local]
  fallback { args = { ENABLE_FLASH_ATTN = "false" } }
  lifecycle {
    prevent_destroy      = true
    ignore_changes       = [tags, args["V"], args.X]
    replace_triggered_by = [comfyui_model.steadydancer.sha256]
  }
}

resource "comfyui_model" "steadydancer" {
  source = "hf://x/${local.files[var.variant]}"
  lifecycle {
    ignore_changes = all
  }
}

check "size" {
  assert {
    condition     = docker_image.comfyui.size < parse_size("50GB")
    error_message = "image is over the 50 GB RunPod budget"
  }
  assert {
    condition     = true
    error_message = "never"
    severity      = "warning"
  }
}

output "image" {
  value       = docker_image.comfyui.digest
  description = "digest"
  sensitive   = true
  depends_on  = [comfyui_model.steadydancer]
}
`

func TestLoadValid(t *testing.T) {
	dir := writeDir(t, map[string]string{"main.sdf.hcl": designConfig, "z.sdf.hcl": "locals {\n  z = 1\n}\n"})
	cfg, diags := Load(dir)
	if diags.HasErrors() || len(diags) > 0 {
		t.Fatalf("unexpected diagnostics:\n%s", renderDiags(t, cfg.Files, diags, dir))
	}
	if cfg.Dir != dir {
		t.Errorf("Dir = %q, want %q", cfg.Dir, dir)
	}
	if len(cfg.Files) != 2 {
		t.Errorf("Files = %d, want 2", len(cfg.Files))
	}
	s := cfg.Settings
	if s.RequiredVersion != ">= 0.1" || s.StatePath != "state/sdform.json" || !s.DestroyRemoved {
		t.Errorf("settings = %+v", s)
	}
	if got, want := cfg.StateFile(), filepath.Join(dir, "state/sdform.json"); got != want {
		t.Errorf("StateFile = %q, want %q", got, want)
	}

	v := cfg.Variables["variant"]
	if v.Type != cty.String || v.Default != cty.StringVal("fp8") || v.Description != "Which weights" || len(v.Validations) != 1 || !v.Nullable {
		t.Errorf("variant = %+v", v)
	}
	if tok := cfg.Variables["hf_token"]; !tok.Sensitive || !tok.Default.IsNull() || tok.Default.Type() != cty.String {
		t.Errorf("hf_token = %+v", tok)
	}
	opts := cfg.Variables["opts"]
	if opts.Nullable || opts.TypeDefaults == nil {
		t.Errorf("opts = %+v", opts)
	}
	wantOpts := cty.ObjectVal(map[string]cty.Value{"name": cty.StringVal("a"), "gpus": cty.NumberIntVal(1)})
	if !opts.Default.RawEquals(wantOpts) {
		t.Errorf("opts default = %#v, want %#v (optional default applied)", opts.Default, wantOpts)
	}
	if req := cfg.Variables["required"]; req.Default != cty.NilVal || req.Type != cty.DynamicPseudoType {
		t.Errorf("required = %+v", req)
	}
	if len(cfg.Locals) != 3 || cfg.Locals["z"] == nil {
		t.Errorf("locals = %v", keys(cfg.Locals))
	}
	if p := cfg.Providers["docker"]; p == nil || p.Config == nil {
		t.Errorf("providers = %v", cfg.Providers)
	}

	img := cfg.Resources["docker_image.comfyui"]
	if img == nil {
		t.Fatalf("resources = %v", keys(cfg.Resources))
	}
	if img.Addr != (Address{Mode: Managed, Type: "docker_image", Name: "comfyui"}) || img.Provider() != "docker" {
		t.Errorf("addr = %v, provider %q", img.Addr, img.Provider())
	}
	if len(img.DependsOn) != 1 || len(img.DependsOn[0]) != 3 {
		t.Errorf("depends_on = %v", img.DependsOn)
	}
	lc := img.Lifecycle
	wantPaths := []cty.Path{
		cty.GetAttrPath("tags"),
		cty.GetAttrPath("args").Index(cty.StringVal("V")),
		cty.GetAttrPath("args").GetAttr("X"),
	}
	if !lc.PreventDestroy || len(lc.ReplaceTriggeredBy) != 1 || len(lc.IgnoreChanges) != len(wantPaths) || lc.IgnoreAllChanges {
		t.Fatalf("lifecycle = %+v", lc)
	}
	for i, p := range wantPaths {
		if !lc.IgnoreChanges[i].Equals(p) {
			t.Errorf("ignore_changes[%d] = %#v, want %#v", i, lc.IgnoreChanges[i], p)
		}
	}
	// The provider's schema must see the body without meta-arguments.
	attrs, _ := img.Config.JustAttributes()
	for _, meta := range []string{"depends_on", "lifecycle"} {
		if _, ok := attrs[meta]; ok {
			t.Errorf("Config still holds %s", meta)
		}
	}
	if _, ok := attrs["context"]; !ok {
		t.Errorf("Config lost context: %v", attrs)
	}
	content, diags := img.Config.Content(&hcl.BodySchema{
		Attributes: []hcl.AttributeSchema{{Name: "context"}, {Name: "tags"}, {Name: "args"}},
		Blocks:     []hcl.BlockHeaderSchema{{Type: "fallback"}},
	})
	if diags.HasErrors() || len(content.Blocks) != 1 {
		t.Errorf("provider-side decode of the remaining body: %v", diags)
	}

	if m := cfg.Resources["comfyui_model.steadydancer"]; !m.Lifecycle.IgnoreAllChanges {
		t.Errorf("ignore_changes = all not read")
	}
	if d := cfg.Resources["data.gpu_host.local"]; d == nil || d.Addr.Mode != Data {
		t.Errorf("data source missing")
	}
	c := cfg.Checks["size"]
	if len(c.Asserts) != 2 || c.Asserts[0].Severity != SeverityError || c.Asserts[1].Severity != SeverityWarning {
		t.Errorf("check = %+v", c)
	}
	o := cfg.Outputs["image"]
	if !o.Sensitive || o.Description != "digest" || len(o.DependsOn) != 1 || o.Expr == nil {
		t.Errorf("output = %+v", o)
	}
}

// TestLoadRelativeDir checks the file names used in diagnostics when the
// directory is given relative, as the CLI does after -chdir.
func TestLoadRelativeDir(t *testing.T) {
	dir := writeDir(t, map[string]string{"main.sdf.hcl": "variable \"x\" {\n  type = nope\n}\n"})
	t.Chdir(dir)
	cfg, diags := Load(".")
	if !diags.HasErrors() || diags[0].Subject.Filename != "main.sdf.hcl" {
		t.Fatalf("diags = %v", diags)
	}
	if _, ok := cfg.Files["main.sdf.hcl"]; !ok || cfg.Dir != dir {
		t.Errorf("files = %v, dir = %q", keys(cfg.Files), cfg.Dir)
	}
}
