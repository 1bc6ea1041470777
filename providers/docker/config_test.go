package docker

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/zclconf/go-cty/cty"
)

func TestDecodeConfig(t *testing.T) {
	dir := t.TempDir()
	ca := filepath.Join(dir, "ca.pem")
	if err := os.WriteFile(ca, []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	for name, tc := range map[string]struct {
		attrs   map[string]cty.Value
		env     map[string]string
		kind    backendKind
		address string
		errs    []string // substrings of error summaries/details, in order
	}{
		"defaults": {
			kind: backendDocker, address: defaultDockerHost + " (Docker Engine's BuildKit)",
		},
		"DOCKER_HOST": {
			env:  map[string]string{"DOCKER_HOST": "unix:///run/user/docker.sock"},
			kind: backendDocker, address: "unix:///run/user/docker.sock (Docker Engine's BuildKit)",
		},
		"unix buildkit": {
			attrs: map[string]cty.Value{"buildkit": cty.StringVal("unix:///run/buildkit/buildkitd.sock")},
			kind:  backendBuildKit, address: "unix:///run/buildkit/buildkitd.sock",
		},
		"tcp with tls": {
			attrs: map[string]cty.Value{"buildkit": cty.StringVal("tcp://10.0.0.5:1234"), "ca_cert": cty.StringVal(ca), "server_name": cty.StringVal("bk")},
			kind:  backendBuildKit, address: "tcp://10.0.0.5:1234",
		},
		"docker-container": {
			attrs: map[string]cty.Value{"buildkit": cty.StringVal("docker-container://buildx_buildkit_0")},
			kind:  backendDockerContainer, address: "docker-container://buildx_buildkit_0",
		},
		"bad scheme": {
			attrs: map[string]cty.Value{"buildkit": cty.StringVal("ftp://host")},
			kind:  backendBuildKit, address: "ftp://host", errs: []string{"scheme must be unix://, tcp://, docker-container://, kube-pod:// or ssh://"},
		},
		"unparsable": {
			attrs: map[string]cty.Value{"buildkit": cty.StringVal("tcp://%zz")},
			kind:  backendBuildKit, address: "tcp://%zz", errs: []string{"is not an address"},
		},
		"kube-pod": {
			attrs: map[string]cty.Value{"buildkit": cty.StringVal("kube-pod://buildkitd-0?namespace=ci")},
			kind:  backendBuildKit, address: "kube-pod://buildkitd-0?namespace=ci",
		},
		"kube-pod without pod": {
			attrs: map[string]cty.Value{"buildkit": cty.StringVal("kube-pod://?namespace=ci")},
			kind:  backendBuildKit, address: "kube-pod://?namespace=ci", errs: []string{"url lacks pod name; write kube-pod://POD"},
		},
		"ssh": {
			attrs: map[string]cty.Value{"buildkit": cty.StringVal("ssh://me@builder:2222/run/buildkit/buildkitd.sock")},
			kind:  backendBuildKit, address: "ssh://me@builder:2222/run/buildkit/buildkitd.sock",
		},
		"ssh with a password": {
			attrs: map[string]cty.Value{"buildkit": cty.StringVal("ssh://me:secret@builder")},
			kind:  backendBuildKit, address: "ssh://me:secret@builder", errs: []string{`"ssh://me:xxxxx@builder" holds a password`},
		},
		"container without name": {
			attrs: map[string]cty.Value{"buildkit": cty.StringVal("docker-container://")},
			kind:  backendDockerContainer, address: "docker-container://", errs: []string{"names no container"},
		},
		"cert without key, missing ca": {
			attrs: map[string]cty.Value{"buildkit": cty.StringVal("tcp://h:1"), "cert": cty.StringVal(ca), "ca_cert": cty.StringVal(filepath.Join(dir, "nope.pem"))},
			kind:  backendBuildKit, address: "tcp://h:1", errs: []string{"cert and key must be set together", "nope.pem"},
		},
		"bad min_free_disk": {
			attrs: map[string]cty.Value{"min_free_disk": cty.StringVal("lots")},
			kind:  backendDocker, address: defaultDockerHost + " (Docker Engine's BuildKit)", errs: []string{`min_free_disk "lots" is not a size`},
		},
		"password in a tcp docker_host": {
			attrs: map[string]cty.Value{"docker_host": cty.StringVal("tcp://me:s3cret@10.0.0.5:2376")},
			kind:  backendDocker, address: "tcp://me:s3cret@10.0.0.5:2376 (Docker Engine's BuildKit)", errs: []string{`docker_host = "tcp://me:xxxxx@10.0.0.5:2376" holds a password`},
		},
		"bad docker_host": {
			attrs: map[string]cty.Value{"docker_host": cty.StringVal("/var/run/docker.sock")},
			kind:  backendDocker, address: "/var/run/docker.sock (Docker Engine's BuildKit)", errs: []string{"write unix:///path/docker.sock"},
		},
		// A remote Engine over ssh, as the docker CLI reaches it.
		"DOCKER_HOST over ssh": {
			env:  map[string]string{"DOCKER_HOST": "ssh://me@gpu-box:2222"},
			kind: backendDocker, address: "ssh://me@gpu-box:2222 (Docker Engine's BuildKit)",
		},
		"docker_host over ssh with a password": {
			attrs: map[string]cty.Value{"docker_host": cty.StringVal("ssh://me:secret@gpu-box")},
			kind:  backendDocker, address: "ssh://me:secret@gpu-box (Docker Engine's BuildKit)", errs: []string{`"ssh://me:xxxxx@gpu-box" holds a password`},
		},
		"docker_host over ssh without a host": {
			attrs: map[string]cty.Value{"docker_host": cty.StringVal("ssh://")},
			kind:  backendDocker, address: "ssh:// (Docker Engine's BuildKit)", errs: []string{"write ssh://USER@HOST"},
		},
	} {
		t.Run(name, func(t *testing.T) {
			v := objectOf(providerSchema(), tc.attrs)
			cfg, diags := decodeConfig(v, func(k string) string { return tc.env[k] })
			if cfg.kind() != tc.kind || cfg.address() != tc.address {
				t.Errorf("kind %d address %q, want %d %q", cfg.kind(), cfg.address(), tc.kind, tc.address)
			}
			var got []string
			for _, d := range onlyErrors(diags) {
				got = append(got, d.Summary+": "+d.Detail)
			}
			if len(got) != len(tc.errs) {
				t.Fatalf("errors = %q, want %d matching %q", got, len(tc.errs), tc.errs)
			}
			for i, want := range tc.errs {
				if !strings.Contains(got[i], want) {
					t.Errorf("error %d = %q, want it to contain %q", i, got[i], want)
				}
			}
		})
	}
}

func TestInsecureRegistry(t *testing.T) {
	cfg := config{registryInsecure: []string{"registry.lan:5000", "10.1.2.3"}}
	for host, want := range map[string]bool{
		"127.0.0.1:5000":    true,
		"localhost:5000":    true,
		"[::1]:5000":        true,
		"registry.lan:5000": true,
		"10.1.2.3:443":      true,
		"registry.lan":      false,
		"docker.io":         false,
		"ghcr.io":           false,
	} {
		if got := cfg.insecureRegistry(host); got != want {
			t.Errorf("insecureRegistry(%q) = %v, want %v", host, got, want)
		}
	}
}
