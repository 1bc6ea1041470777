package docker

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sdform/sdform/providers"
	"github.com/sdform/sdform/providers/docker/dockerfile"
	"github.com/zclconf/go-cty/cty"
)

// The fingerprint follows the image a build would give, not the
// Dockerfile's text: a comment, a blank line or an edit to a stage the
// target does not use leaves it; what reaches the image config or a step
// changes it. FROM scratch needs no base image lookup, so no daemon.
func TestFingerprintFollowsImage(t *testing.T) {
	const base = "FROM scratch AS unused\nCOPY a.txt /u\n\nFROM scratch\nCOPY a.txt /a\nCMD [\"/a\"]\n"
	tests := map[string]struct {
		dockerfile string
		a          string
		same       bool
	}{
		"unchanged":                     {dockerfile: base, same: true},
		"comment":                       {dockerfile: "# built by sdform\n" + base, same: true},
		"blank lines":                   {dockerfile: strings.ReplaceAll(base, "\n", "\n\n"), same: true},
		"stage the target does not use": {dockerfile: strings.Replace(base, "COPY a.txt /u", "COPY a.txt /unused", 1), same: true},
		"cmd":                           {dockerfile: strings.Replace(base, `CMD ["/a"]`, `CMD ["/a", "-v"]`, 1)},
		"env":                           {dockerfile: base + "ENV MODE=prod\n"},
		"syntax line":                   {dockerfile: "# syntax=docker/dockerfile:1.7\n" + base},
		"copied file":                   {dockerfile: base, a: "changed"},
	}
	h := newHarness(t, map[string]cty.Value{"buildkit": cty.StringVal("unix:///nonexistent/sdform-test.sock")}, map[string]string{"Dockerfile": base, "a.txt": "a"})
	fingerprint := func(t *testing.T) string {
		t.Helper()
		cfg, diags := decodeImage(h.image(nil), h.dir)
		if diags.HasErrors() {
			t.Fatal(diags)
		}
		pred := h.p.predict(context.Background(), cfg, h.p.resolverFor(nil, cfg), nil)
		if pred.Diagnostics.HasErrors() || pred.Fingerprint == "" {
			t.Fatalf("predict: %v, fingerprint %q", pred.Diagnostics, pred.Fingerprint)
		}
		return pred.Fingerprint
	}
	want := fingerprint(t)
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			a := tt.a
			if a == "" {
				a = "a"
			}
			writeFiles(t, h.dir, map[string]string{"Dockerfile": tt.dockerfile, "a.txt": a})
			if got := fingerprint(t); (got == want) != tt.same {
				t.Errorf("same fingerprint = %v, want %v", got == want, tt.same)
			}
		})
	}
}

// The reason for a rebuild in which no step runs says what changed, and a
// base image the plan could not resolve is named as what it cannot tell,
// never as a change it saw.
func TestChangeReasonWithoutSteps(t *testing.T) {
	prior := imageValue(map[string]cty.Value{"id": cty.StringVal("sha256:aa")})
	cfg := &imageConfig{}
	noSteps := &dockerfile.Prediction{Steps: []dockerfile.Step{{Line: 2, Status: dockerfile.Cached}}, Cached: 1}
	uncertain := &dockerfile.Prediction{Steps: []dockerfile.Step{{Line: 2, Status: dockerfile.Uncertain}}, Uncertain: 1,
		Unresolved: []string{"docker.io/library/busybox:local"}}
	for name, tc := range map[string]struct {
		priv imagePrivate
		pred *prediction
		want string
	}{
		"image config changed": {priv: imagePrivate{Fingerprint: "sha256:f1", Promoted: true, ImageConfig: "sha256:c1"},
			pred: &prediction{Fingerprint: "sha256:f2", ImageConfig: "sha256:c2", Steps: noSteps},
			want: "the image config changed (CMD, ENV, LABEL…): no step runs, the image is exported again"},
		"record without an image config": {priv: imagePrivate{Fingerprint: "sha256:f1", Promoted: true},
			pred: &prediction{Fingerprint: "sha256:f2", ImageConfig: "sha256:c2", Steps: noSteps},
			want: "the build record is from an older sdform: no step runs, the image is exported again"},
		"base image not resolved": {priv: imagePrivate{Fingerprint: "sha256:f1", Promoted: true, ImageConfig: "sha256:c1"},
			pred: &prediction{Fingerprint: "sha256:f2", ImageConfig: "sha256:c1", Steps: uncertain},
			want: "cannot tell whether base image docker.io/library/busybox:local changed: the plan could not resolve it"},
	} {
		t.Run(name, func(t *testing.T) {
			rebuild, reason := decide(prior, &tc.priv, cfg, tc.pred)
			if !rebuild || reason != tc.want {
				t.Errorf("decide = %v %q, want a rebuild: %q", rebuild, reason, tc.want)
			}
		})
	}
}

// Validate checks the Dockerfile and that COPY sources exist without
// hashing the build context (plan does that once): no stat cache is
// written.
func TestValidateDoesNotHashContext(t *testing.T) {
	h := newHarness(t, nil, map[string]string{
		"Dockerfile": "FROM busybox\nCOPY src/ /src/\nCOPY missing.txt /m\n",
		"src/a.py":   "a",
		"src/b.py":   "b",
	})
	resp := h.p.ValidateResource(t.Context(), providers.ValidateRequest{TypeName: "docker_image", Config: h.image(nil)})
	text := ""
	for _, d := range resp.Diagnostics {
		text += d.Summary + ": " + d.Detail + "\n"
	}
	if !strings.Contains(text, "missing.txt") || strings.Contains(text, "src/") {
		t.Errorf("diagnostics = %s, want missing.txt only", text)
	}
	cache := filepath.Join(h.p.env.DataDir, "cache", "docker-context")
	if es, err := os.ReadDir(cache); err == nil && len(es) > 0 {
		t.Errorf("validate hashed the context: %s holds %d files", cache, len(es))
	}
}

// A lint rule's message gets its full stop before the link to the rule.
func TestFindingDiagsDetail(t *testing.T) {
	for msg, want := range map[string]string{
		"'as' and 'FROM' keywords' casing do not match": "'as' and 'FROM' keywords' casing do not match. See https://docs.docker.com/go/dockerfile/rule/from-as-casing/.",
		"Usage of undefined variable '$X'.":             "Usage of undefined variable '$X'. See https://docs.docker.com/go/dockerfile/rule/from-as-casing/.",
	} {
		ds := findingDiags([]dockerfile.Finding{{Severity: dockerfile.Warning, Rule: "FromAsCasing", Line: 1, Message: msg,
			URL: "https://docs.docker.com/go/dockerfile/rule/from-as-casing/"}}, &imageConfig{}, "app/Dockerfile")
		if len(ds) != 1 || ds[0].Detail != want || ds[0].File != "app/Dockerfile" || ds[0].Line != 1 {
			t.Errorf("findingDiags(%q) = %+v, want detail %q", msg, ds, want)
		}
	}
}
