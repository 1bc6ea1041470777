package dockerfile

import (
	"context"
	"fmt"
	"slices"
	"testing"
)

// Lint with build args whose values are not known yet (sdform validate
// evaluates variables as unknown) reports what does not depend on them
// (syntax errors, lint rules, undeclared names) and nothing that does.
func TestLintUnknownArgs(t *testing.T) {
	tests := map[string]struct {
		dockerfile string
		in         Input
		// want are findings as "Rule:Line" that must be reported; not are
		// rules that must not.
		want []string
		not  []string
	}{
		// A Dockerfile BuildKit cannot parse has no ARG list to check names
		// against, with known values as with unknown ones.
		"syntax error": {
			dockerfile: "FROM busybox\nARG A\nRUN echo $A\nFROMX nope\n",
			in:         Input{UnknownArgs: []string{"A"}},
			want:       []string{"Syntax:4"},
			not:        []string{"BuildArgWithoutValue"},
		},
		"undeclared name": {
			dockerfile: "FROM busybox\nARG A\nRUN echo $A\n",
			in:         Input{UnknownArgs: []string{"A", "UNDECLARED"}},
			want:       []string{"UndeclaredBuildArg:0"},
			not:        []string{"BuildArgWithoutValue", "Syntax"},
		},
		"lint rule and undeclared name beside a known arg": {
			dockerfile: "FROM busybox as base\nARG A\nARG B\nRUN echo $A $B\n",
			in:         Input{BuildArgs: map[string]string{"B": "1", "UNDECLARED_TOO": "x"}, UnknownArgs: []string{"A", "FLAVR"}},
			want:       []string{"FromAsCasing:1", "UndeclaredBuildArg:0"},
			not:        []string{"BuildArgWithoutValue", "Syntax"},
		},
		"unknown base image name": {
			dockerfile: "ARG BASE\nFROM ${BASE}\nRUN true\n",
			in:         Input{UnknownArgs: []string{"BASE"}},
			not:        []string{"Syntax", "BuildArgWithoutValue", "UndeclaredBuildArg"},
		},
		"unknown workdir": {
			dockerfile: "FROM busybox\nARG D\nWORKDIR $D\nRUN true\n",
			in:         Input{UnknownArgs: []string{"D"}},
			not:        []string{"WorkdirRelativePath", "Syntax", "BuildArgWithoutValue"},
		},
		"unknown value that looks like a secret": {
			dockerfile: "FROM busybox\nARG API_TOKEN\nRUN true\n",
			in:         Input{UnknownArgs: []string{"API_TOKEN"}, SecretValues: []string{"s3cr3t"}},
			want:       []string{"SecretInBuildArg:0"},
			not:        []string{"BuildArgWithoutValue"},
		},
		"names unknown": {
			dockerfile: "ARG BASE\nFROM $BASE\nARG A\nRUN echo $A\nARG API_KEY\n",
			in:         Input{ArgNamesUnknown: true},
			not:        []string{"BuildArgWithoutValue", "UndeclaredBuildArg", "SecretInBuildArg", "Syntax"},
		},
		"names unknown, syntax error": {
			dockerfile: "FROM busybox\nARG A\nRUN echo $A\nFROMX nope\n",
			in:         Input{ArgNamesUnknown: true},
			want:       []string{"Syntax:4"},
		},
		"names unknown, lint rule": {
			dockerfile: "FROM busybox\nARG A\nMAINTAINER me\nRUN echo $A\n",
			in:         Input{ArgNamesUnknown: true},
			want:       []string{"MaintainerDeprecated:3"},
			not:        []string{"BuildArgWithoutValue"},
		},
		"secret ids unknown": {
			dockerfile: "FROM busybox\nRUN --mount=type=secret,id=tok,required=true true\n",
			in:         Input{SecretIDsUnknown: true, UnknownArgs: []string{}},
			not:        []string{"MissingSecret"},
		},
		"secret ids known": {
			dockerfile: "FROM busybox\nRUN --mount=type=secret,id=tok,required=true true\n",
			want:       []string{"MissingSecret:2"},
		},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			in := tt.in
			in.Dockerfile = []byte(tt.dockerfile)
			r, err := Lint(context.Background(), in)
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, f := range r.Findings {
				got = append(got, fmt.Sprintf("%s:%d", f.Rule, f.Line))
				if slices.Contains(tt.not, f.Rule) {
					t.Errorf("finding %s depends on an unknown value: %s", f.Rule, f)
				}
			}
			for _, w := range tt.want {
				if !slices.Contains(got, w) {
					t.Errorf("findings %v lack %s", got, w)
				}
			}
		})
	}
}

// The findings Lint drops for an unknown value are those the value decides:
// with a known value that causes them, they are reported.
func TestLintKnownValueControl(t *testing.T) {
	tests := map[string]struct {
		dockerfile string
		args       map[string]string
		rule       string
	}{
		"blank base image": {dockerfile: "ARG BASE\nFROM ${BASE}\nRUN true\n", args: map[string]string{"BASE": ""}, rule: "Syntax"},
		"relative workdir": {dockerfile: "FROM busybox\nARG D\nWORKDIR $D\nRUN true\n", args: map[string]string{"D": "rel"}, rule: "WorkdirRelativePath"},
		"unset arg":        {dockerfile: "FROM busybox\nARG A\nRUN echo $A\n", rule: "BuildArgWithoutValue"},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			r, err := Lint(context.Background(), Input{Dockerfile: []byte(tt.dockerfile), BuildArgs: tt.args})
			if err != nil {
				t.Fatal(err)
			}
			if !slices.ContainsFunc(r.Findings, func(f Finding) bool { return f.Rule == tt.rule }) {
				t.Errorf("findings %v lack %s", r.Findings, tt.rule)
			}
		})
	}
}
