package testenv

import (
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// recorder is a testing.TB that records how a helper ended the test instead
// of ending the real one. Skip and Fatal stop the helper as the real ones
// do, by unwinding; run recovers.
type recorder struct {
	testing.TB
	ended string // "", "skip" or "fatal"
	msg   string
}

type stopped struct{}

func (r *recorder) Helper() {}
func (r *recorder) Skip(args ...any) {
	r.ended, r.msg = "skip", fmt.Sprint(args...)
	panic(stopped{})
}
func (r *recorder) Fatal(args ...any) {
	r.ended, r.msg = "fatal", fmt.Sprint(args...)
	panic(stopped{})
}

func run(f func(testing.TB) string) (got string, r *recorder) {
	r = &recorder{}
	defer func() {
		if p := recover(); p != nil {
			if _, ok := p.(stopped); !ok {
				panic(p)
			}
		}
	}()
	return f(r), r
}

// unixListener listens on a socket in a temp dir; with handler it serves
// HTTP there.
func unixListener(t *testing.T, handler http.Handler) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "s.sock")
	l, err := net.Listen("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	if handler == nil {
		t.Cleanup(func() { l.Close() })
		return path
	}
	srv := httptest.NewUnstartedServer(handler)
	srv.Listener = l
	srv.Start()
	t.Cleanup(srv.Close)
	return path
}

func TestHelpers(t *testing.T) {
	live := unixListener(t, nil)
	dead := filepath.Join(t.TempDir(), "nothing.sock")
	registry := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/v2/", "/v2/base/manifests/busybox":
			w.WriteHeader(http.StatusOK)
		default:
			http.NotFound(w, r)
		}
	}))
	defer registry.Close()
	reg := strings.TrimPrefix(registry.URL, "http://")
	engine := unixListener(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/images/busybox:local/json" {
			fmt.Fprint(w, `{"Id":"sha256:1"}`)
			return
		}
		http.NotFound(w, r)
	}))
	exe, _ := os.Executable()

	tests := map[string]struct {
		env     map[string]string
		require bool
		call    func(testing.TB) string
		want    string // the returned address; "" when the test must end
		ended   string
		msg     []string
	}{
		"buildkit unix":                {env: map[string]string{EnvBuildKit: "unix://" + live}, call: BuildKit, want: "unix://" + live},
		"buildkit unset":               {call: BuildKit, ended: "skip", msg: []string{"BuildKit not available", EnvBuildKit + " is unset", Hint}},
		"buildkit unset, required":     {call: BuildKit, require: true, ended: "fatal", msg: []string{EnvBuildKit + " is unset", EnvRequire + "=1"}},
		"buildkit dead socket":         {env: map[string]string{EnvBuildKit: "unix://" + dead}, call: BuildKit, ended: "skip", msg: []string{dead, "no such file"}},
		"buildkit tcp":                 {env: map[string]string{EnvBuildKit: "tcp://" + reg}, call: BuildKit, want: "tcp://" + reg},
		"buildkit not probed":          {env: map[string]string{EnvBuildKit: "docker-container://builder"}, call: BuildKit, want: "docker-container://builder"},
		"docker host":                  {env: map[string]string{EnvDockerHost: "unix://" + live}, call: DockerHost, want: "unix://" + live},
		"docker host dead, required":   {env: map[string]string{EnvDockerHost: "unix://" + dead}, require: true, call: DockerHost, ended: "fatal", msg: []string{"Docker Engine not available"}},
		"registry":                     {env: map[string]string{EnvRegistry: reg}, call: Registry, want: reg},
		"registry closed port":         {env: map[string]string{EnvRegistry: "127.0.0.1:1"}, call: Registry, ended: "skip", msg: []string{"registry not available", "127.0.0.1:1"}},
		"base image":                   {env: map[string]string{EnvBaseImage: reg + "/base:busybox"}, call: BaseImage, want: reg + "/base:busybox"},
		"base image missing":           {env: map[string]string{EnvBaseImage: reg + "/base:other"}, call: BaseImage, ended: "skip", msg: []string{"404", "base:other"}},
		"base image no host":           {env: map[string]string{EnvBaseImage: "busybox:latest"}, call: BaseImage, ended: "skip", msg: []string{"does not name a registry host"}},
		"docker base image":            {env: map[string]string{EnvDockerHost: "unix://" + engine, EnvDockerBaseImage: "busybox:local"}, call: DockerBaseImage, want: "busybox:local"},
		"docker base image missing":    {env: map[string]string{EnvDockerHost: "unix://" + engine, EnvDockerBaseImage: "alpine:3"}, call: DockerBaseImage, ended: "skip", msg: []string{"404", "alpine:3"}},
		"docker base image, no engine": {env: map[string]string{EnvDockerBaseImage: "busybox:local"}, call: DockerBaseImage, ended: "skip", msg: []string{EnvDockerHost + " is unset"}},
		"buildctl":                     {env: map[string]string{EnvBuildctl: exe}, call: Buildctl, want: exe},
		"buildctl not executable":      {env: map[string]string{EnvBuildctl: dead}, call: Buildctl, ended: "skip", msg: []string{"buildctl not available"}},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			for _, k := range []string{EnvBuildKit, EnvBuildctl, EnvDockerHost, EnvRegistry, EnvBaseImage, EnvDockerBaseImage, EnvRequire} {
				t.Setenv(k, tc.env[k])
			}
			if tc.require {
				t.Setenv(EnvRequire, "1")
			}
			got, r := run(tc.call)
			if r.ended != tc.ended {
				t.Fatalf("ended with %q (%s), want %q", r.ended, r.msg, tc.ended)
			}
			if got != tc.want {
				t.Errorf("returned %q, want %q", got, tc.want)
			}
			for _, m := range tc.msg {
				if !strings.Contains(r.msg, m) {
					t.Errorf("message %q does not contain %q", r.msg, m)
				}
			}
		})
	}
}

// TestServices checks the services this environment offers: it skips on a
// laptop with nothing running and, in CI (SDFORM_REQUIRE_SERVICES=1), fails
// unless ci/services.sh started every one of them.
func TestServices(t *testing.T) {
	for name, f := range map[string]func(testing.TB) string{
		"BuildKit": BuildKit, "buildctl": Buildctl, "DockerHost": DockerHost, "Registry": Registry,
		"BaseImage": BaseImage, "DockerBaseImage": DockerBaseImage,
	} {
		t.Run(name, func(t *testing.T) {
			if got := f(t); got == "" {
				t.Errorf("%s returned an empty address", name)
			}
		})
	}
}
