package view

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/hcl/v2"
	"github.com/sdform/sdform/planner/plan"
	"github.com/zclconf/go-cty/cty"
)

func TestSanitize(t *testing.T) {
	tests := map[string]struct{ in, want string }{
		"plain":                  {"build failed: exit 1", "build failed: exit 1"},
		"newline and tab kept":   {"a\n\tb", "a\n\tb"},
		"crlf":                   {"a\r\nb\r\n", "a\nb\n"},
		"lone carriage return":   {"100%\rdone", `100%\x0ddone`},
		"window title and clear": {"x\x1b]0;PWNED\x07\x1b[2Jy", `x\x1b]0;PWNED\x07\x1b[2Jy`},
		"colour":                 {"\x1b[31mred\x1b[0m", `\x1b[31mred\x1b[0m`},
		"delete":                 {"a\x7fb", `a\x7fb`},
		"C1 control":             {"a\u009b2Jb", `a\u009b2Jb`},
		"not UTF-8":              {"a\x9b2Jb", `a\x9b2Jb`},
		"bidi override":          {"user\u202egnp.exe", `user\u202egnp.exe`},
		"other text kept":        {"é 日本 🙂 a\u00a0b", "é 日本 🙂 a\u00a0b"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			if got := Sanitize(tc.in); got != tc.want {
				t.Errorf("Sanitize(%q) = %q, want %q", tc.in, got, tc.want)
			}
		})
	}
}

// Provider output keeps colours and erase-in-line (a progress bar), and
// nothing else that drives the terminal.
func TestSanitizeKeepingStyle(t *testing.T) {
	tests := map[string]struct{ in, want string }{
		"colour":          {"\x1b[1;31mred\x1b[0m", "\x1b[1;31mred\x1b[0m"},
		"erase in line":   {"\x1b[K[===>  ] 45%", "\x1b[K[===>  ] 45%"},
		"clear screen":    {"\x1b[2J", `\x1b[2J`},
		"cursor up":       {"\x1b[1A", `\x1b[1A`},
		"window title":    {"\x1b]0;PWNED\x07", `\x1b]0;PWNED\x07`},
		"unterminated":    {"\x1b[31", `\x1b[31`},
		"bell in a line":  {"done\a", `done\x07`},
		"private mode":    {"\x1b[?25l", `\x1b[?25l`},
		"colour then bad": {"\x1b[32mok\x1b[H", "\x1b[32mok" + `\x1b[H`},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			if got := string(appendSafe(nil, tc.in, true)); got != tc.want {
				t.Errorf("got %q, want %q", got, tc.want)
			}
		})
	}
}

// hostile is free text as a check's error_message can make it from a
// variable: it sets the terminal's title, clears the screen, and has a
// second line.
const hostile = "v is x\x1b]0;PWNED\x07\x1b[2Jy\nsecond line"

// Free text reached the terminal raw from every human view (where values
// were escaped), and a multi-line message broke the indentation of the
// list it was in.
func TestFreeTextIsSanitised(t *testing.T) {
	shown := `v is x\x1b]0;PWNED\x07\x1b[2Jy`
	err := errors.New(hostile)
	tests := map[string]struct {
		render func(w *bytes.Buffer)
		want   string // a part of the output
	}{
		"check message": {
			render: func(w *bytes.Buffer) {
				Checks(w, []*plan.CheckResult{{Address: "check.c", Status: plan.CheckFail, Messages: []string{hostile}}}, Options{})
			},
			want: "  check.c: failed: " + shown + "\n    second line\n",
		},
		"check messages": {
			render: func(w *bytes.Buffer) {
				Checks(w, []*plan.CheckResult{{Address: "check.c", Status: plan.CheckFail, Messages: []string{hostile, "two"}}}, Options{})
			},
			want: "    - " + shown + "\n      second line\n    - two\n",
		},
		"check not evaluated": {
			render: func(w *bytes.Buffer) {
				Checks(w, []*plan.CheckResult{{Address: "check.c", Status: plan.CheckUnknown, Messages: []string{hostile}}}, Options{})
			},
			want: "  check.c: " + shown + "\n    second line\n",
		},
		"change reason and details": {
			render: func(w *bytes.Buffer) {
				Plan(w, &plan.Plan{Changes: []*plan.Change{{
					Address: "test_thing.a", Mode: "managed", Type: "test_thing", Name: "a", Action: plan.Update,
					Before: cty.ObjectVal(map[string]cty.Value{"n": cty.NumberIntVal(1)}),
					After:  cty.ObjectVal(map[string]cty.Value{"n": cty.NumberIntVal(2)}),
					Reason: hostile, Details: []string{hostile},
				}}}, Options{})
			},
			want: "  # test_thing.a will be updated in place: " + shown + "\n    second line\n" +
				"  ~ test_thing \"a\" {\n      ~ n = 1 -> 2\n        " + shown + "\n        second line\n    }\n",
		},
		"drift reason": {
			render: func(w *bytes.Buffer) {
				Plan(w, &plan.Plan{Drift: []*plan.Drift{{
					Address: "test_thing.a", Reason: hostile,
					Before: cty.ObjectVal(map[string]cty.Value{"n": cty.NumberIntVal(1)}),
					After:  cty.ObjectVal(map[string]cty.Value{"n": cty.NumberIntVal(2)}),
				}}}, Options{})
			},
			want: "  # test_thing.a has changed: " + shown + "\n    second line\n",
		},
		"apply failure": {
			render: func(w *bytes.Buffer) {
				NewApply(w, nil, Options{}).Done("test_thing.a", plan.Create, "", err, time.Second)
			},
			want: "test_thing.a: Failed after 1s: " + shown + "\n",
		},
		"apply id": {
			render: func(w *bytes.Buffer) {
				NewApply(w, nil, Options{}).Done("test_thing.a", plan.Create, "sha256:1\x1b[2J", nil, time.Second)
			},
			want: "test_thing.a: Created after 1s [id=sha256:1\\x1b[2J]\n",
		},
		"skip reason": {
			render: func(w *bytes.Buffer) {
				NewApply(w, nil, Options{}).Skip("test_thing.a", hostile)
			},
			want: "test_thing.a: Skipped: " + shown + "\n    second line\n",
		},
		"summary": {
			render: func(w *bytes.Buffer) {
				NewApply(w, nil, Options{}).Summary(ApplyResult{
					Failed: []string{"test_thing.a"}, Errors: map[string]error{"test_thing.a": err},
					Skipped: []string{"test_thing.b"}, SkipReasons: map[string]string{"test_thing.b": hostile},
					Promotions: []Promotion{{Address: "test_thing.c", Err: err}},
				})
			},
			want: "  test_thing.a: " + shown + "\n    second line\n" +
				"\nSkipped:\n  test_thing.b: " + shown + "\n    second line\n" +
				"\nPromotion:\n  test_thing.c: promotion failed: " + shown + "\n    second line\n",
		},
		"diagnostic": {
			render: func(w *bytes.Buffer) {
				Diagnostics(w, hcl.Diagnostics{{Severity: hcl.DiagWarning, Summary: "Check failed: " + hostile, Detail: hostile}}, nil, Options{})
			},
			want: "Warning: Check failed: " + shown + "\nsecond line\n\n" + shown + "\nsecond line\n\n",
		},
		"provider output": {
			render: func(w *bytes.Buffer) {
				pw := NewPrefixWriter(w, "test_thing.a: ")
				fmt.Fprintln(pw, "\x1b[32mok\x1b[0m "+hostile)
			},
			want: "test_thing.a: \x1b[32mok\x1b[0m " + shown + "\ntest_thing.a: second line\n",
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			var buf bytes.Buffer
			tc.render(&buf)
			out := strings.ReplaceAll(strings.ReplaceAll(buf.String(), "\x1b[32m", ""), "\x1b[0m", "")
			if strings.ContainsAny(out, "\x1b\x07") {
				t.Errorf("terminal escapes reach the output: %q", buf.String())
			}
			if !strings.Contains(buf.String(), tc.want) {
				t.Errorf("output lacks %q:\n%s", tc.want, buf.String())
			}
		})
	}
}

// A source line in a snippet (a Dockerfile a provider points into) is
// sanitised like any other text, and the highlight still covers the
// subject.
func TestDiagnosticSnippetIsSanitised(t *testing.T) {
	t.Chdir(t.TempDir())
	if err := os.WriteFile("Dockerfile", []byte("FROM busybox\nRUN echo \x1b]0;PWNED\x07 && exit 1\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	d := &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Build failed", Detail: "D.",
		Subject: &hcl.Range{Filename: "Dockerfile", Start: hcl.Pos{Line: 2}, End: hcl.Pos{Line: 2}}}
	var buf bytes.Buffer
	if err := Diagnostics(&buf, hcl.Diagnostics{d}, nil, Options{Color: true}); err != nil {
		t.Fatal(err)
	}
	want := "  on Dockerfile:2:1:\n   2: \x1b[1;4mRUN echo \\x1b]0;PWNED\\x07 && exit 1\x1b[0m\n"
	if !strings.Contains(buf.String(), want) {
		t.Errorf("output lacks %q:\n%q", want, buf.String())
	}
}
