package lang

import (
	"io"
	"os"
	"path/filepath"
	"sort"
	"testing"

	"github.com/hashicorp/hcl/v2"
	"github.com/zclconf/go-cty/cty"
)

// fuzzSeeds are representative configurations, valid and broken; `go test`
// runs each once, `go test -fuzz=FuzzLoad` mutates them.
var fuzzSeeds = []string{
	designConfig,
	"",
	`variable "x" {}`,
	"resource \"docker_image\" \"x\" {\n  context = \n}\n",
	`resouce "docker_image" "x" {} variabel "v" {} foo {}`,
	`variable "v" {}
variable "v" { type = strin }
locals { a = 1 }
locals { a = 2 }
resource "image" "x" {}
data "gpu_host" "h" { lifecycle {} }
check "c" {}
output "o" {}`,
	`variable "o" {
  type = object({ name = string, tags = optional(list(string), []), n = optional(number, 3) })
  default = { name = "a" }
  validation {
    condition     = length(var.o.tags) < 3 && var.o.n > 0
    error_message = "bad ${var.o.name}"
  }
}
variable "m" {
  type    = map(list(number))
  default = { a = [1, 2] }
}`,
	`locals {
  a = upper(format("%s-%d", "x", 3))
  b = jsondecode(jsonencode({ k = [1, "2", true, null] }))
  c = [for i, v in split(",", "a,b,c") : "${i}=${v}" if v != "b"]
  d = { for k, v in local.b : k => v... }
  e = merge({ a = 1 }, { b = 2 })[*]
  f = try(regex("([0-9]+)", "v12")[0], "none")
  g = parse_size("1.5 TiB") / parse_size("1GB")
  h = base64decode(base64encode(sha256("x")))
  i = coalesce("", null, element(distinct(flatten([[1], [1, 2]])), 5))
  j = csvdecode("a,b\n1,2\n")
  k = formatdate("YYYY", timeadd("2024-01-01T00:00:00Z", "48h"))
  l = lookup(local.j[0], "a", "z")
  m = local.a == "X-3" ? [1] : [2, 3]
}
output "c" { value = local.c }`,
	`locals {
  doc = <<-EOT
    hello ${local.name}
    %{ for x in [1, 2] }item ${x}
    %{ endfor }
  EOT
  name = "w"
}
output "doc" {
  value     = local.doc
  sensitive = true
}`,
	`resource "docker_image" "a" {
  count      = 2
  depends_on = [var.v, docker_image.b.digest, "x"]
  lifecycle {
    prevent_destroy      = true
    ignore_changes       = [tags, args["X"], all]
    replace_triggered_by = [docker_image.b.id, local.x]
  }
  nested "deep" {
    inner { x = each.key }
  }
}
resource "docker_image" "b" {
  lifecycle { ignore_changes = all }
}`,
	`sdform {
  required_version = ">= 0.1, < 1.0"
  state { path = ".sdform/state.json" }
  destroy_removed = false
}
sdform { required_version = "~> banana" }`,
	`check "size" {
  assert {
    condition     = docker_image.x.size < 50 * 1000 * 1000 * 1000
    error_message = "too big: ${docker_image.x.size}"
    severity      = "warning"
  }
  assert {
    condition     = check.size == null
    error_message = 42
    severity      = "fatal"
  }
}`,
	`variable "token" {
  type      = string
  sensitive = true
  default   = "hf_secret"
}
locals {
  t  = "Bearer ${var.token}"
  t2 = nonsensitive(length(var.token))
  t3 = sensitive({ a = [var.token] })
}
output "t" { value = local.t }`,
	`locals { a = [[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]] b = {a={b={c={d={e=1}}}}} c = (((((((1))))))) }`,
	"variable \"ünï\" { default = \"日本語\" }\nlocals { \"quoted\" = 1 }\noutput \"x\" { value = \"\\u00e9${\"\\n\"}\" }\n",
	`locals {
  a = file("missing.txt")
  b = fileexists("main.sdf.hcl") ? filesha256("main.sdf.hcl") : ""
  c = abspath(basename(dirname("a/b/c")))
  d = range(0, 5000)
  e = setproduct([1, 2], ["a"])
}`,
	"{\"resource\": {\"docker_image\": {}}}",
	`locals {
  inf = 1 / 0
  a   = local.inf % 2
  b   = [pow(-1, 0.5), log(1, 1), indent(-1, "x\ny"), sum([local.inf, -local.inf])]
  c   = tostring(1e400) == "x" ? 0 / 0 : -local.inf
  d   = substr("abc", 0, local.inf)
}`,
}

func FuzzLoad(f *testing.F) {
	for _, s := range fuzzSeeds {
		f.Add(s)
	}
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, src string) {
		// One directory for all inputs of this process (calls within a
		// process are sequential): a fresh TempDir per input would halve
		// the exec rate.
		if err := os.WriteFile(filepath.Join(dir, "main.sdf.hcl"), []byte(src), 0o644); err != nil {
			t.Fatal(err)
		}
		cfg, diags := Load(dir)
		if cfg == nil {
			t.Fatal("Load returned a nil Config")
		}
		render(t, cfg, diags)

		vals, diags := cfg.VariableValues(VarInputs{
			CLI: []string{},
			Env: []string{"SDF_VAR_x=1", "SDF_VAR_v=[1]", "SDF_VAR_token=t"},
		})
		render(t, cfg, diags)
		if len(vals) != len(cfg.Variables) {
			t.Fatalf("%d values for %d variables", len(vals), len(cfg.Variables))
		}

		_, diags = cfg.References()
		render(t, cfg, diags)

		s := &Scope{Dir: dir, Vars: vals, Locals: map[string]cty.Value{}, Resources: map[Address]cty.Value{}, Files: &FileRecord{}}
		for _, r := range cfg.Resources {
			s.Resources[r.Addr] = cty.DynamicVal
		}
		for name := range cfg.Locals {
			s.Locals[name] = cty.DynamicVal
		}
		// Two rounds, so that locals that use other locals see values.
		names := sortedKeys(cfg.Locals)
		for range 2 {
			for _, name := range names {
				v, diags := s.Eval(cfg.Locals[name].Expr, cty.DynamicPseudoType)
				render(t, cfg, diags)
				s.Locals[name] = v
			}
		}
		for _, name := range sortedKeys(cfg.Outputs) {
			_, diags := s.Eval(cfg.Outputs[name].Expr, cty.DynamicPseudoType)
			render(t, cfg, diags)
		}
		for _, name := range sortedKeys(cfg.Checks) {
			for _, a := range cfg.Checks[name].Asserts {
				_, diags := s.Eval(a.Condition, cty.Bool)
				render(t, cfg, diags)
				_, diags = s.Eval(a.ErrorMessage, cty.String)
				render(t, cfg, diags)
			}
		}
		var addrs []string
		for addr := range cfg.Resources {
			addrs = append(addrs, addr)
		}
		sort.Strings(addrs)
		for _, addr := range addrs {
			for _, e := range bodyExprs(cfg.Resources[addr].Config) {
				_, diags := s.Eval(e, cty.DynamicPseudoType)
				render(t, cfg, diags)
			}
		}

		once, diags := Format([]byte(src), "main.sdf.hcl")
		if diags.HasErrors() {
			if string(once) != src {
				t.Fatal("Format changed a file it could not parse")
			}
			return
		}
		twice, diags := Format(once, "main.sdf.hcl")
		if diags.HasErrors() || string(twice) != string(once) {
			t.Fatalf("Format is not idempotent:\n%s\nthen:\n%s\n%v", once, twice, diags)
		}
	})
}

// render writes diagnostics as the CLI would, to find panics in rendering
// odd ranges.
func render(t *testing.T, cfg *Config, diags hcl.Diagnostics) {
	t.Helper()
	w := hcl.NewDiagnosticTextWriter(io.Discard, cfg.Files, 78, true)
	if err := w.WriteDiagnostics(diags); err != nil {
		t.Fatal(err)
	}
}
