package docker

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	mobyclient "github.com/moby/moby/client"
	"github.com/sdform/sdform/internal/testenv"
	"github.com/sdform/sdform/providers"
	"github.com/zclconf/go-cty/cty"
)

// TestIntegrationCommandTransports builds through kube-pod:// and ssh://,
// the addresses BuildKit's client reaches by running a command (kubectl
// exec, ssh) whose far end runs `buildctl dial-stdio`. No cluster or
// remote host is reachable here, so kubectl and ssh are stand-ins on PATH
// that check the arguments they were given and then do what the far end
// would: `buildctl dial-stdio` against the CI's real BuildKit daemon.
func TestIntegrationCommandTransports(t *testing.T) {
	addr := testenv.BuildKit(t)
	buildctl := testenv.Buildctl(t)
	base := testenv.BaseImage(t)
	tests := []struct {
		name, address, command, wantArgs string
	}{
		{"kube-pod", "kube-pod://buildkitd-0?context=ci&namespace=builds&container=buildkitd", "kubectl",
			"--context=ci --namespace=builds exec --container=buildkitd -i buildkitd-0 -- buildctl dial-stdio"},
		{"ssh", "ssh://builder@buildhost:2222", "ssh",
			"-l builder -p 2222 -- buildhost buildctl dial-stdio"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			bin := t.TempDir()
			calls := filepath.Join(bin, "calls")
			standIn(t, bin, tc.command, tc.wantArgs, calls, buildctl, addr)
			t.Setenv("PATH", bin+string(os.PathListSeparator)+os.Getenv("PATH"))

			files := map[string]string{"Dockerfile": "FROM " + base + "\nRUN echo " + nonce() + " > /n\n"}
			h := newHarness(t, map[string]cty.Value{"buildkit": cty.StringVal(tc.address)}, files)
			pr := h.mustBuild(h.image(nil))
			if d := detail(pr, "steps:"); !strings.Contains(d, "to run") {
				t.Errorf("plan through %s: %q, want steps to run", tc.command, d)
			}
			if id := h.attr("id"); !strings.HasPrefix(id, "sha256:") {
				t.Errorf("image id after a build through %s = %q", tc.command, id)
			}
			if a := h.action(h.plan(h.image(nil))); a != providers.NoOp {
				t.Errorf("plan after the build: %s, want no-op", a)
			}
			if b, err := os.ReadFile(calls); err != nil || !strings.Contains(string(b), tc.wantArgs) {
				t.Errorf("%s was not run as BuildKit's helper runs it (%v): %q", tc.command, err, b)
			}

			// The command fails (no such pod, host unreachable): the error
			// names the address and what sdform ran.
			fail := t.TempDir()
			if err := os.WriteFile(filepath.Join(fail, tc.command), []byte("#!/bin/sh\necho 'error: connection refused' >&2\nexit 1\n"), 0o755); err != nil {
				t.Fatal(err)
			}
			t.Setenv("PATH", fail+string(os.PathListSeparator)+os.Getenv("PATH"))
			h = newHarness(t, map[string]cty.Value{"buildkit": cty.StringVal(tc.address)}, files)
			ar := h.apply(h.image(nil), h.plan(h.image(nil)))
			if !ar.Diagnostics.HasErrors() {
				t.Fatalf("apply with a failing %s succeeded", tc.command)
			}
			msg := ar.Diagnostics[0].Detail
			for _, want := range []string{tc.address, tc.command, "buildctl dial-stdio"} {
				if !strings.Contains(msg, want) {
					t.Errorf("error lacks %q: %s", want, msg)
				}
			}
		})
	}
}

// standIn writes an executable NAME into dir that appends its arguments to
// calls, refuses any arguments but want, and runs buildctl dial-stdio
// against addr, as the far end of kubectl exec or ssh would.
func standIn(t *testing.T, dir, name, want, calls, buildctl, addr string) {
	t.Helper()
	script := "#!/bin/sh\n" +
		"echo \"$*\" >> '" + calls + "'\n" +
		"[ \"$*\" = '" + want + "' ] || { echo \"" + name + " stand-in: unexpected arguments: $*\" >&2; exit 2; }\n" +
		"exec '" + buildctl + "' --addr '" + addr + "' dial-stdio\n"
	if err := os.WriteFile(filepath.Join(dir, name), []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
}

// TestIntegrationDockerHostSSH: DOCKER_HOST=ssh://USER@HOST reaches the
// Engine as the docker CLI does, by running `ssh … HOST docker system
// dial-stdio` for each connection (the API calls, and the /grpc and
// /session upgrades BuildKit goes through). ssh is a stand-in on PATH that
// checks its arguments and then does what the far end would: proxy its
// standard input and output to the CI's Docker Engine socket (with
// buildctl dial-stdio, which proxies any address).
func TestIntegrationDockerHostSSH(t *testing.T) {
	host := testenv.DockerHost(t)
	buildctl := testenv.Buildctl(t)
	base := testenv.DockerBaseImage(t)
	bin := t.TempDir()
	calls := filepath.Join(bin, "calls")
	script := "#!/bin/sh\n" +
		"echo \"$*\" >> '" + calls + "'\n" +
		"case \"$*\" in *'-l builder -p 2222 '*'-- gpu-box docker system dial-stdio') ;; *) echo \"ssh stand-in: unexpected arguments: $*\" >&2; exit 2;; esac\n" +
		"exec '" + buildctl + "' --addr '" + host + "' dial-stdio\n"
	if err := os.WriteFile(filepath.Join(bin, "ssh"), []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	t.Setenv("PATH", bin+string(os.PathListSeparator)+os.Getenv("PATH"))

	address := "ssh://builder@gpu-box:2222"
	files := map[string]string{"Dockerfile": "FROM " + base + "\nRUN echo " + nonce() + " > /n\n"}
	h := newHarness(t, map[string]cty.Value{"docker_host": cty.StringVal(address)}, files)
	h.mustBuild(h.image(nil))
	id := h.attr("id")
	if !strings.HasPrefix(id, "sha256:") {
		t.Fatalf("image id after a build over ssh = %q", id)
	}
	t.Cleanup(func() {
		if c, err := mobyclient.New(mobyclient.WithHost(host)); err == nil {
			c.ImageRemove(context.Background(), id, mobyclient.ImageRemoveOptions{})
			c.Close()
		}
	})
	if r := h.refresh(); r.NewState.IsNull() || r.Drift != "" {
		t.Errorf("refresh over ssh: drift %q", r.Drift)
	}
	if a := h.action(h.plan(h.image(nil))); a != providers.NoOp {
		t.Errorf("plan after the build: %s, want no-op", a)
	}
	if b, err := os.ReadFile(calls); err != nil || !strings.Contains(string(b), "docker system dial-stdio") {
		t.Errorf("ssh was not run as the docker CLI runs it (%v): %q", err, b)
	}

	// ssh fails (host unreachable): the error names the address and what
	// sdform ran, and does not suggest starting dockerd on an ssh URL.
	fail := t.TempDir()
	if err := os.WriteFile(filepath.Join(fail, "ssh"), []byte("#!/bin/sh\necho 'ssh: connect to host gpu-box port 2222: Connection refused' >&2\nexit 255\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	t.Setenv("PATH", fail+string(os.PathListSeparator)+os.Getenv("PATH"))
	h = newHarness(t, map[string]cty.Value{"docker_host": cty.StringVal(address)}, files)
	ar := h.apply(h.image(nil), h.plan(h.image(nil)))
	if !ar.Diagnostics.HasErrors() {
		t.Fatalf("apply with a failing ssh succeeded")
	}
	msg := ar.Diagnostics[0].Detail
	for _, want := range []string{address, "docker system dial-stdio"} {
		if !strings.Contains(msg, want) {
			t.Errorf("error lacks %q: %s", want, msg)
		}
	}
	if strings.Contains(msg, "dockerd --host ssh") {
		t.Errorf("error suggests starting dockerd on an ssh address: %s", msg)
	}
}
