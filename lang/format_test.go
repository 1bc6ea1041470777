package lang

import (
	"testing"
)

func TestFormat(t *testing.T) {
	tests := map[string]struct {
		in, want string
	}{
		"already canonical": {
			in:   "variable \"v\" {\n  type    = string\n  default = \"x\"\n}\n",
			want: "variable \"v\" {\n  type    = string\n  default = \"x\"\n}\n",
		},
		"aligns equals": {
			in:   "resource \"docker_image\" \"x\" {\n  context = \"docker\"\n  dockerfile = \"docker/Dockerfile\"\n  tags = [\"a\"]\n}\n",
			want: "resource \"docker_image\" \"x\" {\n  context    = \"docker\"\n  dockerfile = \"docker/Dockerfile\"\n  tags       = [\"a\"]\n}\n",
		},
		"indentation": {
			in:   "locals {\nx = 1\n    y = {\n  a = 2\n        }\n}\n",
			want: "locals {\n  x = 1\n  y = {\n    a = 2\n  }\n}\n",
		},
		"spacing in expressions": {
			in:   "locals {\n  a = 1+2*3\n  b = [1,2,  3]\n  c = {x=1,y=2}\n}\n",
			want: "locals {\n  a = 1 + 2 * 3\n  b = [1, 2, 3]\n  c = { x = 1, y = 2 }\n}\n",
		},
		"interpolation only": {
			in:   "locals {\n  a = \"${var.x}\"\n  b = \"${var.x}-suffix\"\n  c = \"${var.x}${var.y}\"\n}\n",
			want: "locals {\n  a = var.x\n  b = \"${var.x}-suffix\"\n  c = \"${var.x}${var.y}\"\n}\n",
		},
		"nested interpolation": {
			in:   "locals {\n  a = \"${\"${var.x}\"}\"\n  b = \"${upper(\"${var.x}!\")}\"\n}\n",
			want: "locals {\n  a = var.x\n  b = upper(\"${var.x}!\")\n}\n",
		},
		"interpolation in nested block": {
			in:   "resource \"docker_image\" \"x\" {\n  fallback {\n    tag = \"${local.t}\"\n  }\n}\n",
			want: "resource \"docker_image\" \"x\" {\n  fallback {\n    tag = local.t\n  }\n}\n",
		},
		"legacy quoted types": {
			in:   "variable \"a\" {\n  type = \"string\"\n}\nvariable \"b\" {\n  type = \"list\"\n}\nvariable \"c\" {\n  type = \"map\"\n}\n",
			want: "variable \"a\" {\n  type = string\n}\nvariable \"b\" {\n  type = list(string)\n}\nvariable \"c\" {\n  type = map(string)\n}\n",
		},
		"type outside variable kept": {
			in:   "resource \"docker_image\" \"x\" {\n  type = \"string\"\n}\n",
			want: "resource \"docker_image\" \"x\" {\n  type = \"string\"\n}\n",
		},
		"comments kept": {
			in:   "# top\nlocals {\n  a = 1 # one\n  // two\n  bb = 2\n}\n",
			want: "# top\nlocals {\n  a = 1 # one\n  // two\n  bb = 2\n}\n",
		},
		"heredoc kept": {
			in:   "locals {\n  a = <<EOT\n  ${var.x}\nEOT\n}\n",
			want: "locals {\n  a = <<EOT\n  ${var.x}\nEOT\n}\n",
		},
		"template directive kept": {
			in:   "locals {\n  a = \"%{if var.x}y%{endif}\"\n}\n",
			want: "locals {\n  a = \"%{if var.x}y%{endif}\"\n}\n",
		},
		"interpolation with comment kept": {
			in:   "locals {\n  a = \"${var.x # c\n}\"\n}\n",
			want: "locals {\n  a = \"${var.x # c\n  }\"\n}\n",
		},
		"one-line blocks": {
			in:   "data \"gpu_host\" \"local\" {}\nsdform {\n  state { path = \"s.json\" }\n}\n",
			want: "data \"gpu_host\" \"local\" {}\nsdform {\n  state { path = \"s.json\" }\n}\n",
		},
		"empty": {in: "", want: ""},
		"final newline added": {
			in:   "locals {\n\ta = 1\n\tbb = 2\n}",
			want: "locals {\n  a  = 1\n  bb = 2\n}\n",
		},
		"crlf kept": {
			in:   "locals {\r\n  a = 1\r\n  bb = 2\r\n}\r\n",
			want: "locals {\r\n  a  = 1\r\n  bb = 2\r\n}\r\n",
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			got, diags := Format([]byte(tc.in), "main.sdf.hcl")
			if diags.HasErrors() {
				t.Fatal(diags)
			}
			if string(got) != tc.want {
				t.Errorf("Format:\n%s\nwant:\n%s", got, tc.want)
			}
			again, diags := Format(got, "main.sdf.hcl")
			if diags.HasErrors() || string(again) != string(got) {
				t.Errorf("not idempotent:\n%s\nthen:\n%s", got, again)
			}
		})
	}
}

func TestFormatSyntaxError(t *testing.T) {
	src := []byte("locals {\n  a = \n}\n")
	got, diags := Format(src, "bad.sdf.hcl")
	if !diags.HasErrors() {
		t.Fatal("want a syntax error")
	}
	if string(got) != string(src) {
		t.Errorf("content changed: %q", got)
	}
	if s := diags[0].Subject; s == nil || s.Filename != "bad.sdf.hcl" || s.Start.Line != 2 {
		t.Errorf("subject = %v", s)
	}
}

// TestFormatDesignConfig formats a realistic file and checks that it still
// loads to the same thing.
func TestFormatDesignConfig(t *testing.T) {
	once, diags := Format([]byte(designConfig), "main.sdf.hcl")
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	twice, _ := Format(once, "main.sdf.hcl")
	if string(once) != string(twice) {
		t.Errorf("not idempotent:\n%s\nthen:\n%s", once, twice)
	}
	dir := writeDir(t, map[string]string{"main.sdf.hcl": string(once)})
	cfg, diags := Load(dir)
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	if len(cfg.Resources) != 3 || len(cfg.Variables) != 4 {
		t.Errorf("formatted config lost blocks: %d resources, %d variables", len(cfg.Resources), len(cfg.Variables))
	}
}
