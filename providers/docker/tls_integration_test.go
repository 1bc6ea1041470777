package docker

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sdform/sdform/internal/testenv"
	"github.com/sdform/sdform/providers"
	"github.com/zclconf/go-cty/cty"
)

// TestIntegrationBuildKitTLS builds on a BuildKit daemon over tcp:// with
// mutual TLS (ci/services.sh starts the same daemon on a port with
// certificates of its own), and checks that each way of getting TLS wrong
// is an error that names the address and what to check, not a build.
func TestIntegrationBuildKitTLS(t *testing.T) {
	tl := testenv.BuildKitTLS(t)
	base := testenv.BaseImage(t)
	files := map[string]string{"Dockerfile": "FROM " + base + "\nRUN echo " + nonce() + " > /n\n"}
	tlsConfig := func(attrs ...string) map[string]cty.Value {
		m := map[string]cty.Value{"buildkit": cty.StringVal(tl.Addr)}
		for i := 0; i+1 < len(attrs); i += 2 {
			m[attrs[i]] = cty.StringVal(attrs[i+1])
		}
		return m
	}

	t.Run("mutual TLS builds", func(t *testing.T) {
		h := newHarness(t, tlsConfig("ca_cert", tl.CACert, "cert", tl.Cert, "key", tl.Key), files)
		pr := h.mustBuild(h.image(nil))
		if d := detail(pr, "steps:"); !strings.Contains(d, "to run") {
			t.Errorf("plan over TLS: %q, want steps to run", d)
		}
		if id := h.attr("id"); !strings.HasPrefix(id, "sha256:") {
			t.Errorf("image id after a build over TLS = %q", id)
		}
		// Read back through the same TLS connection: nothing to do.
		if a := h.action(h.plan(h.image(nil))); a != providers.NoOp {
			t.Errorf("plan after the build over TLS: %s, want no-op", a)
		}
	})

	otherCA := writeCA(t)
	bad := map[string]struct {
		attrs []string
		want  []string // in the error, besides the address
	}{
		"no client certificate": {
			attrs: []string{"ca_cert", tl.CACert},
			want:  []string{"cert and key a client certificate"},
		},
		"a CA that did not sign the daemon's certificate": {
			attrs: []string{"ca_cert", otherCA, "cert", tl.Cert, "key", tl.Key},
			want:  []string{"x509", "ca_cert"},
		},
		"a server name the certificate does not hold": {
			attrs: []string{"ca_cert", tl.CACert, "cert", tl.Cert, "key", tl.Key, "server_name", "not-buildkitd.example"},
			want:  []string{"not-buildkitd.example", "server_name"},
		},
		"no TLS at all": {
			attrs: nil,
			want:  []string{"set ca_cert, cert and key"},
		},
	}
	for name, tc := range bad {
		t.Run(name, func(t *testing.T) {
			h := newHarness(t, tlsConfig(tc.attrs...), files)
			start := time.Now()
			pr := h.plan(h.image(nil))
			ar := h.apply(h.image(nil), pr)
			if !ar.Diagnostics.HasErrors() {
				t.Fatalf("apply succeeded: %s", h.attr("id"))
			}
			var msg string
			for _, d := range ar.Diagnostics {
				msg += d.Summary + ": " + d.Detail + "\n"
			}
			for _, w := range append([]string{tl.Addr}, tc.want...) {
				if !strings.Contains(msg, w) {
					t.Errorf("error lacks %q:\n%s", w, msg)
				}
			}
			if took := time.Since(start); took > time.Minute {
				t.Errorf("took %v to fail", took)
			}
		})
	}
}

// writeCA writes a CA certificate of its own (one that signed nothing the
// daemon holds) and returns its path.
func writeCA(t *testing.T) string {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "not the daemon's CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(t.TempDir(), "other-ca.pem")
	if err := os.WriteFile(p, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}
