package main

import (
	"strings"
	"testing"
)

// validate evaluates variables as unknown; a docker_image whose args use
// one still gets its Dockerfile checked (syntax, BuildKit's lint rules, the
// names of the build args), so validate fails where plan would.
func TestValidateDockerfileWithVariables(t *testing.T) {
	const config = `variable "flavor" {
  type = string
}

resource "docker_image" "app" {
  context = "app"
  tags    = ["sdform-test/app:dev"]
  args = {
    %s = var.flavor
  }
}
`
	tests := map[string]struct {
		dockerfile string
		arg        string
		code       int
		// want must appear in the output, not must not.
		want []string
		not  []string
	}{
		"syntax error": {
			dockerfile: "FROM busybox\nARG FLAVOR\nRUN echo $FLAVOR\nFROMX nope\n",
			arg:        "FLAVOR",
			code:       1,
			want:       []string{"Error: docker_image.app: Dockerfile error", "app/Dockerfile:4", "unknown instruction: FROMX"},
		},
		"undeclared build arg": {
			dockerfile: "FROM busybox\nARG FLAVOR\nRUN echo $FLAVOR\n",
			arg:        "FLAVR",
			code:       1,
			want:       []string{"Error: docker_image.app: Undeclared build arg FLAVR", "main.sdf.hcl:8", `Did you mean "FLAVOR"?`},
		},
		"lint warning": {
			dockerfile: "FROM busybox\nARG FLAVOR\nMAINTAINER me\nRUN echo $FLAVOR\n",
			arg:        "FLAVOR",
			code:       0,
			want:       []string{"Warning: docker_image.app: The MAINTAINER instruction is deprecated", "app/Dockerfile:3", "Success!"},
			not:        []string{"ARG FLAVOR has no value"},
		},
		"valid": {
			dockerfile: "FROM busybox\nARG FLAVOR\nRUN echo $FLAVOR\n",
			arg:        "FLAVOR",
			code:       0,
			want:       []string{"Success!"},
			not:        []string{"Warning", "Error"},
		},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			dir := configDir(t, map[string]string{
				"main.sdf.hcl":   strings.Replace(config, "%s", tt.arg, 1),
				"app/Dockerfile": tt.dockerfile,
			})
			r := sdform(t, dir, "validate", "-no-color")
			if r.code != tt.code {
				t.Fatalf("exit %d, want %d: %s", r.code, tt.code, r)
			}
			out := r.stdout + r.stderr
			for _, w := range tt.want {
				if !strings.Contains(out, w) {
					t.Errorf("output lacks %q: %s", w, r)
				}
			}
			for _, n := range tt.not {
				if strings.Contains(out, n) {
					t.Errorf("output has %q: %s", n, r)
				}
			}
		})
	}
}
