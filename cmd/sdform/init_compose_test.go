package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sdform/sdform/lang"
)

// TestTranslateCompose turns compose files of the usual shapes into
// configurations, compares them with golden files, and checks that each
// loads and is already in canonical format.
func TestTranslateCompose(t *testing.T) {
	for name, c := range map[string]struct {
		// composeSub is where the compose file lives, relative to the
		// configuration's folder.
		composeSub string
		summary    string
		contains   []string
		lacks      []string
	}{
		"short": {summary: "1 image (app) from docker-compose.yml",
			contains: []string{`context = "app"`, `tags    = ["myorg/app:dev"]`}},
		"full": {summary: "1 image (comfyui) from docker-compose.yml",
			contains: []string{
				`dockerfile = "docker/Dockerfile.gpu"`,
				`"registry.example.com/team/comfyui:${var.TAG}"`,
				`variable "TAG"`, `default     = "dev"`,
				`hf_token = var.HF_TOKEN`, `pipconf  = sensitive(file("secrets/pip.conf"))`,
				`platform = "linux/amd64"`,
				`# build.shm_size left out`,
				"Required: set PIP_INDEX to your mirror",
			}},
		"args-list": {summary: "1 image (worker) from docker-compose.yml",
			contains: []string{`GIT_SHA        = var.GIT_SHA`, `"hello world, $USER"`, `EXTRA          = var.EXTRA_FLAGS`,
				`tags    = ["compose-worker"]`}},
		"multi": {summary: "3 images (api, worker.gpu, debug) from docker-compose.yml; skipped, no build section: db, api-canary",
			contains: []string{`resource "docker_image" "worker_gpu"`, `dockerfile = "docker/worker.Dockerfile"`,
				`resource "gpu_requirement" "worker_gpu_gpu"`, `min_count = 2`,
				`# Service "db" has no build section (image postgres:16)`, `# profiles debug ignored`, `# extends is not followed`}},
		"runpod": {summary: "1 image (comfyui) from docker-compose.yml",
			contains: []string{`STEADYDANCER_VARIANT = var.STEADYDANCER_VARIANT`, `weights = "models"`,
				`# additional context base (docker-image://nvidia/cuda:12.4.1-cudnn-devel-ubuntu22.04) left out`, `min_count = 1`}},
		"subdir": {composeSub: "deploy", summary: "1 image (app) from deploy/docker-compose.yml",
			contains: []string{`context = "deploy/app"`}},
		// Anchors, aliases and merge keys are resolved as compose resolves
		// them; a service's platform is the build's when build sets none.
		"anchors": {summary: "3 images (steadydancer-fp8, steadydancer-fp16, tools) from docker-compose.yml",
			contains: []string{
				`resource "docker_image" "steadydancer-fp8" { context = "." dockerfile = "docker/Dockerfile" tags = ["runpod/steadydancer:fp8"] platform = "linux/amd64"`,
				`BAKE_STEADYDANCER = var.BAKE_STEADYDANCER ENABLE_FLASH_ATTN = "true" MAX_JOBS = "4" STEADYDANCER_VARIANT = "fp8"`,
				`BAKE_STEADYDANCER = var.BAKE_STEADYDANCER ENABLE_FLASH_ATTN = "true" MAX_JOBS = "8" STEADYDANCER_VARIANT = "fp16"`,
				`resource "docker_image" "tools" { context = "." dockerfile = "docker/Dockerfile" tags = ["runpod/steadydancer-tools:dev"] args = {`,
				`resource "gpu_requirement" "steadydancer-fp8_gpu" { min_count = 1 }`,
				`variable "BAKE_STEADYDANCER" {`, `default = "false"`,
			},
			lacks: []string{"<<", "left out: sdform has no equivalent", "steadydancer-fp16_gpu"}},
	} {
		t.Run(name, func(t *testing.T) {
			src := name
			if name == "subdir" {
				src = "short"
			}
			data, err := os.ReadFile(filepath.Join("testdata", "compose", src+".yml"))
			if err != nil {
				t.Fatal(err)
			}
			configDir := "/work/compose"
			composePath := filepath.Join(c.composeSub, "docker-compose.yml")
			// The project name compose would give: the folder's name.
			composeDir := filepath.Join(configDir, c.composeSub)
			out, summary, err := translateCompose(data, composePath, composeDir, configDir)
			if err != nil {
				t.Fatalf("translate: %v", err)
			}
			if summary != c.summary {
				t.Errorf("summary = %q, want %q", summary, c.summary)
			}
			golden(t, filepath.Join("compose", name+".sdf.hcl"), string(out))
			// Compare with runs of spaces collapsed: alignment is fmt's.
			flat := strings.Join(strings.Fields(string(out)), " ")
			for _, s := range c.contains {
				if !strings.Contains(flat, strings.Join(strings.Fields(s), " ")) {
					t.Errorf("output lacks %q", s)
				}
			}
			for _, s := range c.lacks {
				if strings.Contains(flat, s) {
					t.Errorf("output holds %q", s)
				}
			}
			formatted, diags := lang.Format(out, "main.sdf.hcl")
			if diags.HasErrors() || string(formatted) != string(out) {
				t.Errorf("output is not in canonical format (%v):\n%s", diags, formatted)
			}
			dir := t.TempDir()
			if err := os.WriteFile(filepath.Join(dir, "main.sdf.hcl"), out, 0o644); err != nil {
				t.Fatal(err)
			}
			if _, diags := lang.Load(dir); diags.HasErrors() {
				t.Errorf("lang.Load of the output: %s", diags.Error())
			}
		})
	}
}

func TestTranslateComposeErrors(t *testing.T) {
	for name, c := range map[string]struct{ yaml, want string }{
		"not yaml":      {"services: [", "parse compose file docker-compose.yml: yaml:"},
		"no services":   {"version: '3'\n", "it has no services"},
		"list at top":   {"- a\n- b\n", "the top level is not a mapping"},
		"service list":  {"services:\n  app: [1, 2]\n", `service "app" (line 2) is not a mapping`},
		"build is list": {"services:\n  app:\n    build: [a]\n", `build of service "app" (line 3) is neither a path nor a mapping`},
		"merge scalar":  {"services:\n  app:\n    <<: 3\n    build: .\n", "line 3: a merge key (<<) takes a mapping or a list of mappings"},
		"duplicate key": {"services:\n  app:\n    build: a\n    build: b\n", `line 4: key "build" is defined twice (first at line 3)`},
		"scalar args":   {"services:\n  app:\n    build:\n      context: .\n      args: notamap\n", `service "app": build.args (line 5) must be a mapping or a list of KEY=VALUE`},
	} {
		t.Run(name, func(t *testing.T) {
			_, _, err := translateCompose([]byte(c.yaml), "docker-compose.yml", "/w", "/w")
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Errorf("error = %v, want one containing %q", err, c.want)
			}
		})
	}
}

// TestTranslateComposeDotEnv: compose reads variables from the .env file
// beside the compose file, so those values become the variables'
// defaults; a secret's value is never copied into the configuration.
func TestTranslateComposeDotEnv(t *testing.T) {
	dir := t.TempDir()
	compose := `services:
  comfyui:
    image: runpod/steadydancer:${STEADYDANCER_VARIANT:-fp8}
    build:
      context: .
      args:
        STEADYDANCER_VARIANT: ${STEADYDANCER_VARIANT:-fp8}
        BAKE_STEADYDANCER: ${BAKE_STEADYDANCER}
        PIP_INDEX: ${PIP_INDEX:?set PIP_INDEX}
        TORCH_CUDA_ARCH_LIST: ${ARCHS:-9.0}
      secrets: [hf_token]
secrets:
  hf_token:
    environment: HF_TOKEN
`
	dotenv := "# values for docker compose\nexport STEADYDANCER_VARIANT=fp16\nBAKE_STEADYDANCER = true # inline comment\nPIP_INDEX=\"https://pypi.example.com/simple\"\nARCHS=\nHF_TOKEN=hf_secretsecret\n"
	if err := os.WriteFile(filepath.Join(dir, ".env"), []byte(dotenv), 0o600); err != nil {
		t.Fatal(err)
	}
	out, _, err := translateCompose([]byte(compose), "docker-compose.yml", dir, dir)
	if err != nil {
		t.Fatalf("translate: %v", err)
	}
	flat := strings.Join(strings.Fields(string(out)), " ")
	for _, want := range []string{
		`variable "STEADYDANCER_VARIANT" { type = string description = "The compose file's variable STEADYDANCER_VARIANT, read by docker_image.comfyui; set it with -var STEADYDANCER_VARIANT=… or SDF_VAR_STEADYDANCER_VARIANT, as the environment set it for compose. The default is the value in .env." default = "fp16" }`,
		`variable "BAKE_STEADYDANCER" {`, `default = "true" }`,
		`default = "https://pypi.example.com/simple" }`,
		// An empty value in .env leaves ${ARCHS:-9.0} its fallback.
		`default = "9.0" }`,
		`hf_token = var.HF_TOKEN`,
	} {
		if !strings.Contains(flat, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(string(out), "hf_secretsecret") {
		t.Errorf("the secret's value from .env was written into the configuration:\n%s", out)
	}
	if strings.Contains(string(out), "Required:") {
		t.Errorf("a variable .env sets is still described as required:\n%s", out)
	}
}

// TestInitFromCompose runs the command as a user would: the written
// configuration validates (the docker provider reads the Dockerfile it
// names) and is formatted; a second run leaves it alone.
func TestInitFromCompose(t *testing.T) {
	dir := configDir(t, map[string]string{
		"docker-compose.yml": "services:\n  app:\n    build:\n      context: ./app\n      args:\n        GREETING: hi\n    image: myorg/app:dev\n  db:\n    image: postgres:16\n",
		"app/Dockerfile":     "FROM busybox\nARG GREETING\nRUN echo $GREETING\n",
	})
	r := sdform(t, dir, "init", "-from-compose", "docker-compose.yml")
	want := "Wrote main.sdf.hcl: 1 image (app) from docker-compose.yml; skipped, no build section: db.\n"
	if r.code != 0 || !strings.HasPrefix(r.stdout, want) {
		t.Fatalf("init -from-compose: %s\nwant stdout starting with %q", r, want)
	}
	if r := sdform(t, dir, "validate"); r.code != 0 {
		t.Errorf("validate of the generated configuration: %s", r)
	}
	if r := sdform(t, dir, "fmt", "-check"); r.code != 0 {
		t.Errorf("fmt -check of the generated configuration: %s", r)
	}
	before, _ := os.ReadFile(filepath.Join(dir, "main.sdf.hcl"))
	r = sdform(t, dir, "init", "-from-compose", "docker-compose.yml")
	after, _ := os.ReadFile(filepath.Join(dir, "main.sdf.hcl"))
	if r.code != 0 || !strings.Contains(r.stdout, "left the configuration as it is") || string(before) != string(after) {
		t.Errorf("second init changed the configuration or failed: %s", r)
	}
	empty := configDir(t, map[string]string{})
	if r := sdform(t, empty, "init", "-from-compose", "missing.yml"); r.code != 1 || !strings.Contains(r.stderr, "read compose file: open missing.yml") {
		t.Errorf("init with a missing compose file: %s", r)
	}
	if _, err := os.Stat(filepath.Join(empty, "main.sdf.hcl")); err == nil {
		t.Errorf("a failed init wrote main.sdf.hcl")
	}
}

// Compose's $$ is a literal $; before a { it must stay HCL's $${ escape.
func TestComposeDollarEscape(t *testing.T) {
	tr := &composeTranslation{vars: map[string]*composeVar{}, names: map[string]bool{}}
	got := tr.expr("cost $${HOME} and $$PATH", "docker_image.app")
	if want := `"cost $${HOME} and $PATH"`; got != want {
		t.Errorf("expr = %s, want %s", got, want)
	}
	if len(tr.vars) != 0 {
		t.Errorf("escaped dollars made variables: %v", tr.vars)
	}
}
