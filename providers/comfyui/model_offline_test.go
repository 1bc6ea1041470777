package comfyui

import (
	"bytes"
	"net"
	"path/filepath"
	"strings"
	"testing"

	"github.com/zclconf/go-cty/cty"

	"github.com/sdform/sdform/providers"
)

// TestModelPlanOffline: with no server reachable (no network in CI, a
// mirror that is down) plan still works: a warning says what it cannot
// know, size and sha256 come from the config or stay unknown, and apply
// asks again — failing there, clearly, when the server is still away.
func TestModelPlanOffline(t *testing.T) {
	// A port nobody listens on: connection refused.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	dead := "http://" + l.Addr().String()
	l.Close()

	h := newFakeHub(t)
	dir := t.TempDir()
	p := configure(t, h, dir, nil)
	sha := strings.Repeat("ab", 32)
	size := int64(14_200_000_000)
	cases := map[string]struct {
		cfg      cty.Value
		wantSize string
		wantSHA  string
	}{
		"refused, nothing known": {cfg: modelCfg(dead+"/x.safetensors", "vae/x.safetensors", nil, nil), wantSize: "(unknown)", wantSHA: "(unknown)"},
		"refused, sha256 and size given": {cfg: modelCfg(dead+"/y.safetensors", "vae/y.safetensors", &sha, &size),
			wantSize: "14200000000", wantSHA: sha},
		"name does not resolve": {cfg: modelCfg("http://sdform-no-such-host.invalid/z.safetensors", "vae/z.safetensors", nil, nil),
			wantSize: "(unknown)", wantSHA: "(unknown)"},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			pr := planModel(t, p, none(), tc.cfg)
			if pr.Diagnostics.HasErrors() {
				t.Fatalf("plan failed offline: %s", diagText(pr.Diagnostics))
			}
			if len(pr.Diagnostics) != 1 || pr.Diagnostics[0].Severity != providers.Warning ||
				!strings.Contains(diagText(pr.Diagnostics), "cannot be reached now") {
				t.Fatalf("want one warning saying the source cannot be reached, got %s", diagText(pr.Diagnostics))
			}
			if got := attr(pr.Planned, "size_bytes"); got != tc.wantSize {
				t.Errorf("planned size_bytes = %s, want %s", got, tc.wantSize)
			}
			if got := attr(pr.Planned, "sha256"); got != tc.wantSHA {
				t.Errorf("planned sha256 = %s, want %s", got, tc.wantSHA)
			}
			if got := attr(pr.Planned, "resolved_commit"); got != "(unknown)" {
				t.Errorf("planned resolved_commit = %s, want unknown", got)
			}
			ar := applyModel(t, p, none(), tc.cfg, pr, &bytes.Buffer{})
			if !ar.Diagnostics.HasErrors() || !strings.Contains(diagText(ar.Diagnostics), "Cannot resolve model source") {
				t.Fatalf("apply with the server still away: %s", diagText(ar.Diagnostics))
			}
			if left, _ := filepath.Glob(filepath.Join(dir, "models", "vae", "*")); len(left) > 0 {
				t.Fatalf("a failed apply left %v", left)
			}
		})
	}
}
