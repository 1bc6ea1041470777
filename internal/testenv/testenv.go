package testenv

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"
)

// The variables ci/services.sh writes to .cache/services.env.
const (
	EnvBuildKit        = "SDFORM_BUILDKIT_ADDR"     // unix:///…/buildkitd.sock
	EnvBuildKitTLS     = "SDFORM_BUILDKIT_TLS_ADDR" // tcp://127.0.0.1:PORT, the same daemon with mutual TLS
	EnvBuildKitTLSDir  = "SDFORM_BUILDKIT_TLS_DIR"  // ca.pem, client.pem, client-key.pem for it
	EnvBuildctl        = "SDFORM_BUILDCTL"          // path of the buildctl binary of the same version
	EnvDockerHost      = "SDFORM_DOCKER_HOST"       // unix:///…/docker.sock
	EnvRegistry        = "SDFORM_REGISTRY"          // 127.0.0.1:5000
	EnvBaseImage       = "SDFORM_BASE_IMAGE"        // 127.0.0.1:5000/base:busybox, in the registry
	EnvDockerBaseImage = "SDFORM_DOCKER_BASE_IMAGE" // busybox:local, in the Docker Engine
	EnvRequire         = "SDFORM_REQUIRE_SERVICES"  // "1": a missing service fails the test
)

// Hint is what to run to make the services available.
const Hint = "run `ci/services.sh start && . .cache/services.env`"

// probeTimeout bounds each reachability check, so a test run with a dead
// address configured skips quickly instead of hanging.
const probeTimeout = 2 * time.Second

// Required reports whether missing services fail tests instead of skipping
// them (SDFORM_REQUIRE_SERVICES=1).
func Required() bool { return os.Getenv(EnvRequire) == "1" }

// BuildKit returns the address of a running BuildKit daemon, as the BuildKit
// client accepts it.
func BuildKit(t testing.TB) string {
	t.Helper()
	addr := lookup(t, "BuildKit", EnvBuildKit)
	if err := dialAddr(addr); err != nil {
		unavailable(t, "BuildKit", fmt.Sprintf("%s=%s: %v", EnvBuildKit, addr, err))
	}
	return addr
}

// TLS is a BuildKit daemon's tcp:// address with mutual TLS and the files
// a client needs for it.
type TLS struct {
	Addr              string
	CACert, Cert, Key string // PEM files: the CA, the client certificate and its key
}

// BuildKitTLS returns the TLS address of the BuildKit daemon and its
// certificates.
func BuildKitTLS(t testing.TB) TLS {
	t.Helper()
	addr := lookup(t, "BuildKit over TLS", EnvBuildKitTLS)
	dir := lookup(t, "BuildKit TLS certificates", EnvBuildKitTLSDir)
	c := TLS{Addr: addr, CACert: dir + "/ca.pem", Cert: dir + "/client.pem", Key: dir + "/client-key.pem"}
	for _, f := range []string{c.CACert, c.Cert, c.Key} {
		if _, err := os.Stat(f); err != nil {
			unavailable(t, "BuildKit TLS certificates", fmt.Sprintf("%s=%s: %v", EnvBuildKitTLSDir, dir, err))
		}
	}
	if err := dialAddr(addr); err != nil {
		unavailable(t, "BuildKit over TLS", fmt.Sprintf("%s=%s: %v", EnvBuildKitTLS, addr, err))
	}
	return c
}

// Buildctl returns the path of a buildctl binary of the daemon's version,
// for tests that compare sdform with a plain `buildctl build`.
func Buildctl(t testing.TB) string {
	t.Helper()
	path := lookup(t, "buildctl", EnvBuildctl)
	st, err := os.Stat(path)
	if err == nil && st.Mode()&0o111 == 0 {
		err = fmt.Errorf("%s is not executable", path)
	}
	if err != nil {
		unavailable(t, "buildctl", fmt.Sprintf("%s=%s: %v", EnvBuildctl, path, err))
	}
	return path
}

// DockerHost returns the address of a running Docker Engine
// ("unix:///…/docker.sock").
func DockerHost(t testing.TB) string {
	t.Helper()
	addr := lookup(t, "Docker Engine", EnvDockerHost)
	if err := dialAddr(addr); err != nil {
		unavailable(t, "Docker Engine", fmt.Sprintf("%s=%s: %v", EnvDockerHost, addr, err))
	}
	return addr
}

// Registry returns host:port of a running registry that speaks plain HTTP.
func Registry(t testing.TB) string {
	t.Helper()
	addr := lookup(t, "registry", EnvRegistry)
	if err := registryUp(addr); err != nil {
		unavailable(t, "registry", fmt.Sprintf("%s=%s: %v", EnvRegistry, addr, err))
	}
	return addr
}

// BaseImage returns the reference of a base image with a shell (busybox)
// that the registry holds, for FROM lines of BuildKit builds.
func BaseImage(t testing.TB) string {
	t.Helper()
	ref := lookup(t, "base image", EnvBaseImage)
	if err := manifestExists(ref); err != nil {
		unavailable(t, "base image", fmt.Sprintf("%s=%s: %v", EnvBaseImage, ref, err))
	}
	return ref
}

// DockerBaseImage returns the name of a base image with a shell that the
// Docker Engine (DockerHost) holds, for builds through the Engine.
func DockerBaseImage(t testing.TB) string {
	t.Helper()
	host := DockerHost(t)
	name := lookup(t, "Docker base image", EnvDockerBaseImage)
	if err := engineHasImage(host, name); err != nil {
		unavailable(t, "Docker base image", fmt.Sprintf("%s=%s: %v", EnvDockerBaseImage, name, err))
	}
	return name
}

func lookup(t testing.TB, what, env string) string {
	t.Helper()
	v := os.Getenv(env)
	if v == "" {
		unavailable(t, what, env+" is unset")
	}
	return v
}

// unavailable ends the test: Skip normally, Fatal when services are required.
func unavailable(t testing.TB, what, why string) {
	t.Helper()
	msg := fmt.Sprintf("%s not available (%s): %s", what, why, Hint)
	if Required() {
		t.Fatal(msg + "; " + EnvRequire + "=1 makes a missing service a failure")
	}
	t.Skip(msg)
}

// dialAddr checks that something listens at a unix:// or tcp:// address.
// Other schemes (docker-container://, kube-pod://, ssh://) are reached
// through other programs and are not probed here.
func dialAddr(addr string) error {
	network, target, ok := splitAddr(addr)
	if !ok {
		return nil
	}
	c, err := net.DialTimeout(network, target, probeTimeout)
	if err != nil {
		return err
	}
	return c.Close()
}

func splitAddr(addr string) (network, target string, ok bool) {
	switch {
	case strings.HasPrefix(addr, "unix://"):
		return "unix", strings.TrimPrefix(addr, "unix://"), true
	case strings.HasPrefix(addr, "tcp://"):
		u, err := url.Parse(addr)
		if err != nil {
			return "tcp", strings.TrimPrefix(addr, "tcp://"), true
		}
		return "tcp", u.Host, true
	case strings.HasPrefix(addr, "/"):
		return "unix", addr, true
	}
	return "", "", false
}

var httpClient = &http.Client{Timeout: probeTimeout}

func registryUp(hostport string) error {
	resp, err := httpClient.Get("http://" + hostport + "/v2/")
	if err != nil {
		return err
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET /v2/ answered %s", resp.Status)
	}
	return nil
}

// manifestExists asks the registry named in ref whether it holds ref.
func manifestExists(ref string) error {
	host, repo, tag, err := splitRef(ref)
	if err != nil {
		return err
	}
	req, err := http.NewRequest(http.MethodHead, "http://"+host+"/v2/"+repo+"/manifests/"+tag, nil)
	if err != nil {
		return err
	}
	req.Header.Set("Accept", strings.Join([]string{
		"application/vnd.oci.image.index.v1+json",
		"application/vnd.oci.image.manifest.v1+json",
		"application/vnd.docker.distribution.manifest.list.v2+json",
		"application/vnd.docker.distribution.manifest.v2+json",
	}, ", "))
	resp, err := httpClient.Do(req)
	if err != nil {
		return err
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("the registry at %s answered %s for %s:%s", host, resp.Status, repo, tag)
	}
	return nil
}

// splitRef splits "host:port/repo/path:tag" (or "@sha256:…") into parts. The
// registry host must be explicit: these images live in a local registry.
func splitRef(ref string) (host, repo, tag string, err error) {
	host, rest, ok := strings.Cut(ref, "/")
	if !ok || !strings.ContainsAny(host, ".:") && host != "localhost" {
		return "", "", "", fmt.Errorf("%q does not name a registry host", ref)
	}
	if r, d, ok := strings.Cut(rest, "@"); ok {
		return host, r, d, nil
	}
	if i := strings.LastIndexByte(rest, ':'); i > 0 {
		return host, rest[:i], rest[i+1:], nil
	}
	return host, rest, "latest", nil
}

// engineHasImage asks the Docker Engine at host whether it holds image name.
func engineHasImage(host, name string) error {
	network, target, ok := splitAddr(host)
	if !ok {
		return fmt.Errorf("cannot probe Docker host %s", host)
	}
	client := &http.Client{
		Timeout: probeTimeout,
		Transport: &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, network, target)
		}},
	}
	defer client.CloseIdleConnections()
	resp, err := client.Get("http://docker/images/" + url.PathEscape(name) + "/json")
	if err != nil {
		return err
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("the Docker Engine at %s answered %s for image %s", host, resp.Status, name)
	}
	return nil
}
