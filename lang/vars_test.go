package lang

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/hashicorp/hcl/v2"
	"github.com/zclconf/go-cty/cty"
)

func TestVariablePrecedence(t *testing.T) {
	const config = `variable "v" {
  type    = string
  default = "default"
}
variable "other" {
  default = "o"
}
`
	tests := map[string]struct {
		env   []string
		auto  map[string]string // file name → content, in the config dir
		files []string          // contents of -var-file files, in order
		cli   []string
		want  string
	}{
		"default":              {want: "default"},
		"env over default":     {env: []string{"SDF_VAR_v=env", "PATH=/bin", "SDF_VAR_undeclared=x"}, want: "env"},
		"auto over env":        {env: []string{"SDF_VAR_v=env"}, auto: map[string]string{"a.auto.sdfvars": `v = "auto"`}, want: "auto"},
		"later auto wins":      {auto: map[string]string{"b.auto.sdfvars": `v = "b"`, "a.auto.sdfvars": `v = "a"`}, want: "b"},
		"plain sdfvars unread": {auto: map[string]string{"x.sdfvars": `v = "x"`}, want: "default"},
		"var-file over auto": {
			env: []string{"SDF_VAR_v=env"}, auto: map[string]string{"a.auto.sdfvars": `v = "auto"`},
			files: []string{`v = "file"`}, want: "file",
		},
		"later var-file wins": {files: []string{`v = "one"`, `v = "two"`}, want: "two"},
		"cli over everything": {
			env: []string{"SDF_VAR_v=env"}, auto: map[string]string{"a.auto.sdfvars": `v = "auto"`},
			files: []string{`v = "file"`}, cli: []string{"v=cli"}, want: "cli",
		},
		"later cli wins":        {cli: []string{"v=first", "v=second"}, want: "second"},
		"cli value with equals": {cli: []string{"v=a=b"}, want: "a=b"},
		"cli empty value":       {cli: []string{"v="}, want: ""},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			files := map[string]string{"main.sdf.hcl": config}
			for n, c := range tc.auto {
				files[n] = c
			}
			var varFiles []string
			for i, c := range tc.files {
				n := filepath.Join("vars", string(rune('a'+i))+".sdfvars")
				files[n] = c
				varFiles = append(varFiles, n)
			}
			dir := writeDir(t, files)
			for i := range varFiles {
				varFiles[i] = filepath.Join(dir, varFiles[i])
			}
			cfg, diags := Load(dir)
			if diags.HasErrors() {
				t.Fatal(diags)
			}
			vals, diags := cfg.VariableValues(VarInputs{CLI: tc.cli, Files: varFiles, Env: tc.env})
			if diags.HasErrors() {
				t.Fatal(renderDiags(t, cfg.Files, diags, dir))
			}
			if got := vals["v"]; !got.RawEquals(cty.StringVal(tc.want)) {
				t.Errorf("v = %#v, want %q", got, tc.want)
			}
			if got := vals["other"]; !got.RawEquals(cty.StringVal("o")) {
				t.Errorf("other = %#v", got)
			}
		})
	}
}

func TestVariableParsing(t *testing.T) {
	const config = `variable "l" { type = list(string) }
variable "m" { type = map(number) }
variable "n" { type = number }
variable "s" { type = string }
variable "b" { type = bool }
variable "u" {}
variable "a" { type = any }
variable "o" { type = object({ name = string, gpus = optional(number, 1) }) }
`
	obj := func(name string, gpus int64) cty.Value {
		return cty.ObjectVal(map[string]cty.Value{"name": cty.StringVal(name), "gpus": cty.NumberIntVal(gpus)})
	}
	tests := map[string]struct {
		in   VarInputs
		name string
		want cty.Value
	}{
		"cli list":           {in: VarInputs{CLI: []string{`l=["a", "b"]`}}, name: "l", want: cty.ListVal([]cty.Value{cty.StringVal("a"), cty.StringVal("b")})},
		"cli map":            {in: VarInputs{CLI: []string{`m={a = 1}`}}, name: "m", want: cty.MapVal(map[string]cty.Value{"a": cty.NumberIntVal(1)})},
		"cli number":         {in: VarInputs{CLI: []string{`n=3.5`}}, name: "n", want: cty.NumberFloatVal(3.5)},
		"cli string raw":     {in: VarInputs{CLI: []string{`s=[1]`}}, name: "s", want: cty.StringVal("[1]")},
		"cli string quotes":  {in: VarInputs{CLI: []string{`s="q"`}}, name: "s", want: cty.StringVal(`"q"`)},
		"cli bool":           {in: VarInputs{CLI: []string{`b=true`}}, name: "b", want: cty.True},
		"cli untyped raw":    {in: VarInputs{CLI: []string{`u={a=1}`}}, name: "u", want: cty.StringVal("{a=1}")},
		"cli object default": {in: VarInputs{CLI: []string{`o={name="x"}`}}, name: "o", want: obj("x", 1)},
		"cli object full":    {in: VarInputs{CLI: []string{`o={name="x", gpus=2}`}}, name: "o", want: obj("x", 2)},
		"env list":           {in: VarInputs{Env: []string{`SDF_VAR_l=["x"]`}}, name: "l", want: cty.ListVal([]cty.Value{cty.StringVal("x")})},
		"env number":         {in: VarInputs{Env: []string{`SDF_VAR_n=7`}}, name: "n", want: cty.NumberIntVal(7)},
	}
	// Everything not under test gets a value so nothing is missing.
	base := []string{`l=[]`, `m={}`, `n=0`, `s=`, `b=false`, `u=`, `a=1`, `o={name="base"}`}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			dir := writeDir(t, map[string]string{"main.sdf.hcl": config})
			cfg, diags := Load(dir)
			if diags.HasErrors() {
				t.Fatal(diags)
			}
			in := tc.in
			var cli []string
			for _, kv := range base {
				if !strings.HasPrefix(kv, tc.name+"=") {
					cli = append(cli, kv)
				}
			}
			in.CLI = append(cli, in.CLI...)
			vals, diags := cfg.VariableValues(in)
			if diags.HasErrors() {
				t.Fatal(renderDiags(t, cfg.Files, diags, dir))
			}
			if got := vals[tc.name]; !got.RawEquals(tc.want) {
				t.Errorf("%s = %#v, want %#v", tc.name, got, tc.want)
			}
		})
	}
}

func TestVariableDiagnostics(t *testing.T) {
	const config = `variable "variant" {
  type = string
  validation {
    condition     = contains(["fp8", "fp16"], var.variant)
    error_message = "variant must be fp8 or fp16."
  }
}

variable "count_n" {
  type    = number
  default = 1
}

variable "l" {
  type    = list(string)
  default = []
}

variable "token" {
  type      = string
  sensitive = true
  default   = "secret-value"
  validation {
    condition     = length(var.token) > 5
    error_message = "token ${var.token} is too short."
  }
}

variable "strict" {
  type     = string
  nullable = false
}

variable "weird" {
  default = 1
  validation {
    condition     = var.weird == 1 ? true : "maybe"
    error_message = "x"
  }
}
`
	tests := map[string]struct {
		in    VarInputs
		vars  string // content of vars.sdfvars, passed with -var-file when set
		auto  string // content of x.auto.sdfvars
		want  []string
		lacks []string
	}{
		"missing everything": {
			want: []string{`The variable "variant" has no default and no value was given. Set it with -var variant=VALUE, in a -var-file or *.auto.sdfvars file, or with the environment variable SDF_VAR_variant.`,
				`The variable "strict" has no default`},
		},
		"undeclared": {
			in:   VarInputs{CLI: []string{"varient=fp8", "strict=x", "nope=1"}, Env: []string{"SDF_VAR_unused=1", "SDF_VAR_variant=fp8"}},
			vars: "variant = \"fp8\"\ncont_n = 2\n",
			want: []string{`A value for variable "varient" is set by -var "varient=fp8" on the command line, but the configuration declares no variable "varient". Did you mean "variant"?`,
				`-var "nope=1"`, `Declare it with a variable "nope" {} block`,
				`is set by the file`, `Did you mean "count_n"?`, "on vars.sdfvars line 2"},
		},
		"bad -var": {
			in:   VarInputs{CLI: []string{"variant", "=x", "strict=x", "variant=fp8"}},
			want: []string{`The option -var "variant" is not NAME=VALUE.`, `The option -var "=x"`},
		},
		"conversion": {
			in:   VarInputs{CLI: []string{"variant=fp8", "strict=x", "count_n=many"}},
			auto: "l = { a = 1 }\n",
			want: []string{`The value of variable "count_n" from -var count_n does not match its type (number): a number is required.`,
				`The value of variable "l" from the file x.auto.sdfvars does not match its type (list(string)): list of string required`,
				"on x.auto.sdfvars line 1"},
		},
		"bad expression": {
			in:   VarInputs{CLI: []string{"variant=fp8", "strict=x", "l=[1,"}, Env: []string{"SDF_VAR_l=[var.x]"}},
			want: []string{`The value of variable "l" from -var "l=…" is not a valid expression for a list(string)`, `from environment variable SDF_VAR_l must be a constant: Variables may not be used here`},
		},
		"validation": {
			in: VarInputs{CLI: []string{"variant=fp32", "strict=x", "token=abc", "weird=2"}},
			want: []string{"variant must be fp8 or fp16.", `The value of "variant" came from -var variant; it was checked by the validation rule at main.sdf.hcl:3,3-13.`,
				"The error message refers to a sensitive value, so it is not shown.",
				"The condition must be true or false, but this one is a string."},
		},
		"syntax error in a variables file": {
			// The file meant to set strict: no second error saying it has
			// no value.
			in:    VarInputs{CLI: []string{"variant=fp8"}},
			vars:  "strict = \"x\" count_n = 1\n",
			want:  []string{"on vars.sdfvars line 1"},
			lacks: []string{"No value for required variable"},
		},
		"null for non-nullable": {
			in:   VarInputs{CLI: []string{"variant=fp8"}},
			vars: "strict = null\n",
			want: []string{`Variable "strict" has nullable = false, but the file vars.sdfvars sets it to null.`},
		},
		"missing var file": {
			in:   VarInputs{CLI: []string{"variant=fp8", "strict=x"}, Files: []string{"does-not-exist.sdfvars"}},
			want: []string{"Cannot read variables file", "does-not-exist.sdfvars"},
		},
		"var file syntax": {
			in:   VarInputs{CLI: []string{"variant=fp8", "strict=x"}},
			vars: "variant = \n",
			want: []string{"on vars.sdfvars line 1", "Invalid expression"},
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			files := map[string]string{"main.sdf.hcl": config}
			if tc.vars != "" {
				files["vars.sdfvars"] = tc.vars
			}
			if tc.auto != "" {
				files["x.auto.sdfvars"] = tc.auto
			}
			dir := writeDir(t, files)
			cfg, diags := Load(dir)
			if diags.HasErrors() {
				t.Fatal(diags)
			}
			in := tc.in
			if tc.vars != "" {
				in.Files = append(in.Files, filepath.Join(dir, "vars.sdfvars"))
			}
			vals, diags := cfg.VariableValues(in)
			if !diags.HasErrors() {
				t.Fatalf("want errors, got none")
			}
			if len(vals) != len(cfg.Variables) {
				t.Errorf("got %d values for %d variables", len(vals), len(cfg.Variables))
			}
			out := renderDiags(t, cfg.Files, diags, dir)
			if strings.Contains(out, "secret-value") {
				t.Errorf("a sensitive value leaked into diagnostics:\n%s", out)
			}
			flat := strings.Join(strings.Fields(out), " ")
			for _, w := range tc.want {
				if !strings.Contains(flat, w) {
					t.Errorf("output lacks %q:\n%s", w, out)
				}
			}
			for _, w := range tc.lacks {
				if strings.Contains(flat, w) {
					t.Errorf("output has %q:\n%s", w, out)
				}
			}
			golden(t, "vars/"+strings.ReplaceAll(name, " ", "_"), out)
		})
	}
}

func TestVariableValidationPasses(t *testing.T) {
	dir := writeDir(t, map[string]string{"main.sdf.hcl": `variable "variant" {
  type    = string
  default = "fp8"
  validation {
    condition     = contains(["fp8", "fp16"], var.variant)
    error_message = "variant must be fp8 or fp16."
  }
  validation {
    condition     = length(var.variant) < 5
    error_message = "short"
  }
}
`})
	cfg, diags := Load(dir)
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	for _, v := range []string{"fp8", "fp16"} {
		vals, diags := cfg.VariableValues(VarInputs{CLI: []string{"variant=" + v}})
		if diags.HasErrors() || vals["variant"].AsString() != v {
			t.Errorf("%s: %v %v", v, vals, diags)
		}
	}
	_, diags = cfg.VariableValues(VarInputs{CLI: []string{"variant=fp16x"}})
	if got := summaries(diags); len(got) != 2 {
		t.Errorf("fp16x fails both rules, got %v", got)
	}
}

func TestSensitiveVariables(t *testing.T) {
	dir := writeDir(t, map[string]string{"main.sdf.hcl": `variable "token" {
  type      = string
  sensitive = true
  default   = null
}
variable "creds" {
  type      = object({ user = string, pass = string })
  sensitive = true
  default   = { user = "u", pass = "p" }
}
variable "plain" {
  default = "x"
}
`})
	cfg, diags := Load(dir)
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	tests := map[string]struct {
		in        VarInputs
		name      string
		sensitive bool
	}{
		"from env":          {in: VarInputs{Env: []string{"SDF_VAR_token=hf_abc"}}, name: "token", sensitive: true},
		"from cli":          {in: VarInputs{CLI: []string{"token=hf_abc"}}, name: "token", sensitive: true},
		"null default":      {name: "token", sensitive: true},
		"object default":    {name: "creds", sensitive: true},
		"plain stays plain": {name: "plain", sensitive: false},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			vals, diags := cfg.VariableValues(tc.in)
			if diags.HasErrors() {
				t.Fatal(diags)
			}
			if got := IsSensitive(vals[tc.name]); got != tc.sensitive {
				t.Errorf("IsSensitive(%s) = %v, want %v", tc.name, got, tc.sensitive)
			}
		})
	}
}

// TestSensitiveValueNotInDiagnostics checks that a bad value for a
// sensitive variable is reported without quoting it: no snippet of the
// variables file, no parser message about its text.
func TestSensitiveValueNotInDiagnostics(t *testing.T) {
	const secret = "hunter2-secret"
	dir := writeDir(t, map[string]string{
		"main.sdf.hcl": `variable "creds" {
  type      = object({ user = string, pass = string })
  sensitive = true
}
variable "keys" {
  type      = list(string)
  sensitive = true
  default   = []
}
`,
		"secrets.sdfvars": `creds = "` + secret + `"` + "\n",
	})
	cfg, diags := Load(dir)
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	_, diags = cfg.VariableValues(VarInputs{
		Files: []string{filepath.Join(dir, "secrets.sdfvars")},
		CLI:   []string{"keys=[" + secret + "`]"},
	})
	if len(diags) != 2 {
		t.Fatalf("want 2 diagnostics, got %v", summaries(diags))
	}
	out := renderDiags(t, cfg.Files, diags, dir)
	if strings.Contains(out, secret) || strings.Contains(out, "`") {
		t.Errorf("sensitive value in diagnostics:\n%s", out)
	}
	if !strings.Contains(out, `variable "creds"`) || !strings.Contains(out, "the file secrets.sdfvars") {
		t.Errorf("diagnostic does not point at the declaration and name the file:\n%s", out)
	}
}

// TestSensitiveVarFileNotQuoted checks that mistakes in a variables file
// that sets a sensitive variable never print its value: no snippet of the
// file, no parser message about its text, but the file's name.
func TestSensitiveVarFileNotQuoted(t *testing.T) {
	const secret = "hf_SuperSecretValue123"
	const config = `variable "hf_token" {
  type      = string
  sensitive = true
}
variable "plain" {
  default = "x"
}
`
	tests := map[string]struct {
		file    string // written to the configuration directory
		varFile bool   // passed with -var-file rather than read as *.auto.sdfvars
		content string
		want    []string
	}{
		"string without quotes": {
			file: "secrets.auto.sdfvars", content: "hf_token = " + secret + "\n",
			want: []string{"Variables not allowed", `variable "hf_token"`,
				`The value in the file secrets.auto.sdfvars for variable "hf_token" is not a constant`},
		},
		"-var-file": {
			file: "secrets.sdfvars", varFile: true, content: "plain = \"y\"\nhf_token = " + secret + "-x\n",
			want: []string{"Variables not allowed", `The value in the file secrets.sdfvars for variable "hf_token" is not a constant`},
		},
		"syntax error": {
			file: "secrets.auto.sdfvars", content: "plain = \"y\"\nhf_token = 12" + secret + "\n",
			want: []string{"Missing newline after argument",
				`The variables file secrets.auto.sdfvars has a syntax error on line 2.`, `sensitive variable "hf_token"`},
		},
		"JSON keyword": {
			file: "secrets.sdfvars.json", varFile: true, content: `{"hf_token": ` + secret + `}`,
			want: []string{`The variables file secrets.sdfvars.json has a syntax error on line 1.`},
		},
		"misspelt name": {
			file: "secrets.auto.sdfvars", content: "hf_tokn = \"" + secret + "\"\n",
			want: []string{`A value for variable "hf_tokn" is set by the file secrets.auto.sdfvars`, `Did you mean "hf_token"?`},
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			dir := writeDir(t, map[string]string{"main.sdf.hcl": config, tc.file: tc.content})
			cfg, diags := Load(dir)
			if diags.HasErrors() {
				t.Fatal(diags)
			}
			var in VarInputs
			if tc.varFile {
				in.Files = []string{filepath.Join(dir, tc.file)}
			}
			_, diags = cfg.VariableValues(in)
			if !diags.HasErrors() {
				t.Fatal("want errors, got none")
			}
			for _, d := range diags {
				for _, r := range []*hcl.Range{d.Subject, d.Context} {
					if r != nil && filepath.Base(r.Filename) == tc.file {
						t.Errorf("%q points into %s, whose snippet would print the value", d.Summary, tc.file)
					}
				}
			}
			out := renderDiags(t, cfg.Files, diags, dir)
			if strings.Contains(out, secret[3:]) {
				t.Errorf("sensitive value in diagnostics:\n%s", out)
			}
			flat := strings.Join(strings.Fields(out), " ")
			for _, w := range tc.want {
				if !strings.Contains(flat, w) {
					t.Errorf("output lacks %q:\n%s", w, out)
				}
			}
			golden(t, "vars/sensitive_"+strings.ReplaceAll(name, " ", "_"), out)
		})
	}
}

// TestRecoveredPanicMessagesAreTidy gives every place that evaluates a
// constant or a validation an expression on which cty recovers a panic
// ((1/0) % 2): the diagnostic must not carry the Go stack trace.
func TestRecoveredPanicMessagesAreTidy(t *testing.T) {
	const bad = "(1/0) % 2"
	tests := map[string]struct {
		files map[string]string
		in    VarInputs
	}{
		"default": {files: map[string]string{"main.sdf.hcl": "variable \"v\" {\n  default = " + bad + "\n}\n"}},
		"auto file": {files: map[string]string{
			"main.sdf.hcl": `variable "v" {}`, "x.auto.sdfvars": "v = " + bad + "\n",
		}},
		"-var of a number":     {files: map[string]string{"main.sdf.hcl": "variable \"v\" {\n  type = number\n}\n"}, in: VarInputs{CLI: []string{"v=" + bad}}},
		"environment":          {files: map[string]string{"main.sdf.hcl": "variable \"v\" {\n  type = number\n}\n"}, in: VarInputs{Env: []string{"SDF_VAR_v=" + bad}}},
		"validation condition": {files: map[string]string{"main.sdf.hcl": "variable \"v\" {\n  default = 1\n  validation {\n    condition     = (" + bad + ") == var.v\n    error_message = \"x\"\n  }\n}\n"}},
		"validation message":   {files: map[string]string{"main.sdf.hcl": "variable \"v\" {\n  default = 1\n  validation {\n    condition     = var.v == 2\n    error_message = \"m ${" + bad + "} ${var.v}\"\n  }\n}\n"}},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			dir := writeDir(t, tc.files)
			cfg, diags := Load(dir)
			if !diags.HasErrors() {
				_, d := cfg.VariableValues(tc.in)
				diags = append(diags, d...)
			}
			if !diags.HasErrors() {
				t.Fatalf("no error for %s", bad)
			}
			for _, d := range diags {
				if strings.Contains(d.Detail, "goroutine") || strings.Contains(d.Detail, ".go:") || strings.Contains(d.Detail, "panic") {
					t.Errorf("stack trace in diagnostic %q: %s", d.Summary, d.Detail)
				}
			}
		})
	}
}

// TestAutoVarFileNamedLikeConfigFiles loads a configuration by a relative
// path, as the CLI does: a mistake in an *.auto.sdfvars file must name the
// file the way mistakes in *.sdf.hcl files are named, not by an absolute
// path.
func TestAutoVarFileNamedLikeConfigFiles(t *testing.T) {
	dir := writeDir(t, map[string]string{
		"main.sdf.hcl":   "variable \"v\" {\n  type = number\n}\n",
		"x.auto.sdfvars": "v = \"abc\"\n",
	})
	t.Chdir(dir)
	cfg, diags := Load(".")
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	_, diags = cfg.VariableValues(VarInputs{})
	if len(diags) != 1 || diags[0].Subject == nil {
		t.Fatalf("diagnostics = %v, want one about x.auto.sdfvars", diags)
	}
	if got := diags[0].Subject.Filename; got != "x.auto.sdfvars" {
		t.Errorf("diagnostic names the file %q, want %q (as main.sdf.hcl is named)", got, "x.auto.sdfvars")
	}
	if strings.Contains(diags[0].Detail, dir) {
		t.Errorf("detail names the absolute path: %s", diags[0].Detail)
	}
	if cfg.Files["x.auto.sdfvars"] == nil {
		t.Errorf("the file is not in Config.Files under the name the diagnostic uses: %v", sortedKeys(cfg.Files))
	}
}
