package planner

import (
	"bytes"
	"errors"
	"io"
	"testing"

	"github.com/hashicorp/hcl/v2"
	"github.com/sdform/sdform/lang"
	"github.com/sdform/sdform/planner/plan"
	"github.com/zclconf/go-cty/cty"
)

func TestSecretSet(t *testing.T) {
	s := &secretSet{}
	s.addMarked(cty.ObjectVal(map[string]cty.Value{
		"long":  lang.MarkSensitive(cty.StringVal("hunter22")),
		"short": lang.MarkSensitive(cty.StringVal("dev")),
		"plain": cty.StringVal("not-a-secret"),
	}))
	s.addAt(cty.ObjectVal(map[string]cty.Value{"token": cty.StringVal("hf_abcdef123")}), []cty.Path{cty.GetAttrPath("token")})

	for in, want := range map[string]string{
		"password hunter22 in a line":    "password (sensitive value) in a line",
		`want "dev", got "prod"`:         `want (sensitive value), got "prod"`,
		"development stays":              "development stays",
		"Bearer hf_abcdef123":            "Bearer (sensitive value)",
		"not-a-secret is not one either": "not-a-secret is not one either",
	} {
		if got := s.scrub(in); got != want {
			t.Errorf("scrub(%q) = %q, want %q", in, got, want)
		}
	}

	v := cty.ObjectVal(map[string]cty.Value{
		"env":   cty.MapVal(map[string]cty.Value{"PASS": cty.StringVal("hunter22"), "MODE": cty.StringVal("dev"), "PATH": cty.StringVal("/usr/dev/bin")}),
		"out":   cty.StringVal("echo hunter22 >/x"),
		"id":    cty.StringVal("sha256:0123"),
		"count": cty.NumberIntVal(3),
	})
	got := map[string]bool{}
	for _, p := range s.paths(v) {
		got[plan.FormatPath(p)] = true
	}
	want := map[string]bool{"env.PASS": true, "env.MODE": true, "out": true}
	if len(got) != len(want) {
		t.Errorf("paths = %v, want %v", got, want)
	}
	for p := range want {
		if !got[p] {
			t.Errorf("paths lack %s: %v", p, got)
		}
	}

	base := errors.New("inner")
	err := s.scrubErr(errors.Join(errors.New("token hf_abcdef123 refused"), base))
	if err.Error() != "token (sensitive value) refused\ninner" || !errors.Is(err, base) {
		t.Errorf("scrubErr = %q (Is inner: %v)", err, errors.Is(err, base))
	}
	diags := s.scrubDiags(hcl.Diagnostics{{Summary: "bad hunter22", Detail: `"dev" is not allowed`}})
	if diags[0].Summary != "bad (sensitive value)" || diags[0].Detail != "(sensitive value) is not allowed" {
		t.Errorf("scrubDiags: %q / %q", diags[0].Summary, diags[0].Detail)
	}
	var buf bytes.Buffer
	w := s.writer(&buf)
	io.WriteString(w, "step: echo hunter22\n")
	if buf.String() != "step: echo (sensitive value)\n" {
		t.Errorf("writer wrote %q", buf.String())
	}
	if u, ok := w.(interface{ Unwrap() io.Writer }); !ok || u.Unwrap() != &buf {
		t.Error("the writer does not unwrap to the one underneath")
	}
}
