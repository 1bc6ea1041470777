package docker

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"strings"
	"sync"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/docker/cli/cli/connhelper"
	bkclient "github.com/moby/buildkit/client"
	mobyclient "github.com/moby/moby/client"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// probeTimeout bounds the first contact with a builder, so that plan on a
// machine without a daemon answers at once and apply fails fast.
const probeTimeout = 5 * time.Second

// builder is an open connection to one BuildKit and, on the docker backends,
// to the Docker Engine beside it.
type builder struct {
	cfg    config
	bk     *bkclient.Client
	engine *mobyclient.Client // nil on a standalone BuildKit
	// engineStore: images land in the Docker Engine (moby exporter), and
	// are read back, tagged and pushed through the Engine API.
	engineStore bool

	// caps are detected on first need (detect): a plan with nothing to
	// build, and a refresh, need only the connection.
	detectOnce sync.Once
	detectErr  error
	caps       capabilities
}

// capabilities are what the builder was found to support. They are detected
// at connect time and decide how sdform builds, pushes and reads back.
type capabilities struct {
	// buildkitVersion is BuildKit's own version, "" when it does not tell.
	buildkitVersion string
	// engineVersion is the Docker Engine's version on the docker backends.
	engineVersion string
	// infoAPI is false on the Docker Engine's old built-in BuildKit (before
	// v0.11), whose Info call is Unimplemented; that BuildKit also lacks
	// named contexts and a working `# syntax=` line, and ignores push=true.
	infoAPI bool
	// hostNetwork: RUN steps need net=host and the network.host entitlement
	// (a Docker Engine started with --bridge=none has no default network).
	hostNetwork bool
	// dataRoot is where the builder keeps its data on this machine; "" when
	// the builder is remote or its root is not known.
	dataRoot string
}

// describe is the builder as shown in plan details.
func (b *builder) describe() string {
	var parts []string
	if b.caps.engineVersion != "" {
		parts = append(parts, "Docker Engine "+b.caps.engineVersion)
	}
	switch {
	case b.caps.buildkitVersion != "":
		parts = append(parts, "BuildKit "+b.caps.buildkitVersion)
	case !b.caps.infoAPI:
		parts = append(parts, "built-in BuildKit older than v0.11")
	}
	return strings.Join(parts, ", ") + " at " + b.cfg.address()
}

// close releases the connections.
func (b *builder) close() error {
	var errs []error
	if b.bk != nil {
		errs = append(errs, b.bk.Close())
	}
	if b.engine != nil {
		errs = append(errs, b.engine.Close())
	}
	return errors.Join(errs...)
}

// unreachableError says which address was tried and how to get a builder.
type unreachableError struct {
	address string
	hint    string
	err     error
}

func (e *unreachableError) Error() string {
	// A helper's error may end with the stderr of the command it ran.
	return fmt.Sprintf("connect to %s: %s. %s", e.address, strings.TrimSpace(e.err.Error()), e.hint)
}

func (e *unreachableError) Unwrap() error { return e.err }

// dial opens the builder that cfg names and detects its capabilities.
func dial(ctx context.Context, cfg config) (*builder, error) {
	switch cfg.kind() {
	case backendDocker:
		return dialDocker(ctx, cfg)
	case backendDockerContainer:
		return dialDockerContainer(ctx, cfg)
	}
	return dialBuildKit(ctx, cfg)
}

// newEngineClient opens a client of the Docker Engine at cfg.dockerHost.
// An ssh:// address is reached as the docker CLI reaches it, through its
// connection helper: every connection runs `ssh … HOST docker system
// dial-stdio`, whose standard input and output carry the Engine API.
func newEngineClient(cfg config) (*mobyclient.Client, error) {
	opts := []mobyclient.Opt{mobyclient.WithHost(cfg.dockerHost)}
	helper, err := connhelper.GetConnectionHelper(cfg.dockerHost)
	if err != nil {
		return nil, fmt.Errorf("create Docker Engine client for %s: %w", cfg.dockerHost, err)
	}
	if helper != nil {
		opts = []mobyclient.Opt{mobyclient.WithHost(helper.Host), mobyclient.WithDialContext(helper.Dialer)}
	}
	c, err := mobyclient.New(opts...)
	if err != nil {
		return nil, fmt.Errorf("create Docker Engine client for %s: %w", cfg.dockerHost, err)
	}
	return c, nil
}

// engineHint is how to get a Docker Engine when none answered.
func engineHint(cfg config) string {
	if strings.HasPrefix(cfg.dockerHost, "ssh://") {
		return "sdform runs `ssh [-l USER] [-p PORT] HOST docker system dial-stdio`, as the docker CLI does: check that ssh logs in without a prompt " +
			"(a key or an agent), that the remote docker CLI is on its PATH and that its Docker Engine runs"
	}
	return fmt.Sprintf("Start the Docker Engine (`sudo systemctl start docker`, or `dockerd --host %s`), set DOCKER_HOST or provider \"docker\" { docker_host = … } to where it listens, or use a standalone BuildKit with provider \"docker\" { buildkit = \"unix:///run/buildkit/buildkitd.sock\" }", cfg.dockerHost)
}

func dialDocker(ctx context.Context, cfg config) (*builder, error) {
	engine, err := newEngineClient(cfg)
	if err != nil {
		return nil, err
	}
	b := &builder{cfg: cfg, engine: engine, engineStore: true}
	pctx, cancel := context.WithTimeout(ctx, probeTimeout)
	defer cancel()
	if _, err := engine.Ping(pctx, mobyclient.PingOptions{NegotiateAPIVersion: true}); err != nil {
		engine.Close()
		return nil, &unreachableError{address: "the Docker Engine at " + cfg.dockerHost, hint: engineHint(cfg), err: err}
	}
	// The Engine serves BuildKit's control API on /grpc and the client's
	// session on /session, both as HTTP upgrades (buildx's docker driver).
	// The client dials lazily; detect is the first call through it.
	bk, err := bkclient.New(ctx, "",
		bkclient.WithContextDialer(func(ctx context.Context, _ string) (net.Conn, error) {
			return engine.DialHijack(ctx, "/grpc", "h2c", nil)
		}),
		bkclient.WithSessionDialer(func(ctx context.Context, proto string, meta map[string][]string) (net.Conn, error) {
			return engine.DialHijack(ctx, "/session", proto, meta)
		}))
	if err != nil {
		engine.Close()
		return nil, fmt.Errorf("open BuildKit of the Docker Engine at %s: %w", cfg.dockerHost, err)
	}
	b.bk = bk
	return b, nil
}

// detect finds out, once, what the builder can do. On the docker backend
// it reads where the Engine keeps its data and whether RUN steps need host
// networking, and asks its BuildKit for its version; the standalone
// backends learned theirs when they connected.
func (b *builder) detect(ctx context.Context) error {
	b.detectOnce.Do(func() {
		if !b.engineStore {
			return
		}
		if err := b.probeEngine(ctx); err != nil {
			b.detectErr = &unreachableError{address: "the Docker Engine at " + b.cfg.dockerHost, hint: engineHint(b.cfg), err: err}
			return
		}
		if err := b.probeBuildKit(ctx); err != nil {
			b.detectErr = &unreachableError{address: "the BuildKit of the Docker Engine at " + b.cfg.dockerHost, hint: "The Engine answered but its builder did not; check that BuildKit is enabled (\"features\": {\"buildkit\": true} in daemon.json)", err: err}
		}
	})
	return b.detectErr
}

// probeEngine reads where the Engine keeps its data and whether RUN steps
// need host networking.
func (b *builder) probeEngine(ctx context.Context) error {
	pctx, cancel := context.WithTimeout(ctx, probeTimeout)
	defer cancel()
	info, err := b.engine.Info(pctx, mobyclient.InfoOptions{})
	if err != nil {
		return fmt.Errorf("read engine info: %w", err)
	}
	b.caps.engineVersion = info.Info.ServerVersion
	if strings.HasPrefix(b.cfg.dockerHost, "unix://") {
		b.caps.dataRoot = info.Info.DockerRootDir
	}
	// A daemon started with --bridge=none has no "bridge" network; BuildKit's
	// default network mode then cannot give RUN steps a network at all.
	if _, err := b.engine.NetworkInspect(pctx, "bridge", mobyclient.NetworkInspectOptions{}); cerrdefs.IsNotFound(err) {
		b.caps.hostNetwork = true
	}
	return nil
}

// probeBuildKit asks BuildKit for its version; Unimplemented marks the
// Docker Engine's old built-in BuildKit.
func (b *builder) probeBuildKit(ctx context.Context) error {
	pctx, cancel := context.WithTimeout(ctx, probeTimeout)
	defer cancel()
	info, err := b.bk.Info(pctx)
	switch {
	case status.Code(err) == codes.Unimplemented:
		b.caps.infoAPI = false
		// Info is missing, so make sure the control API answers at all.
		if _, err := b.bk.ListWorkers(pctx); err != nil {
			return fmt.Errorf("list workers: %w", err)
		}
		return nil
	case err != nil:
		return err
	}
	b.caps.infoAPI = true
	b.caps.buildkitVersion = info.BuildkitVersion.Version
	return nil
}

func dialBuildKit(ctx context.Context, cfg config) (*builder, error) {
	var opts []bkclient.ClientOpt
	if cfg.caCert != "" || cfg.serverName != "" {
		opts = append(opts, bkclient.WithServerConfig(cfg.serverName, cfg.caCert))
	}
	if cfg.cert != "" {
		opts = append(opts, bkclient.WithCredentials(cfg.cert, cfg.key))
	}
	bk, err := bkclient.New(ctx, cfg.buildkit, opts...)
	if err != nil {
		return nil, &unreachableError{address: "BuildKit at " + cfg.buildkit, hint: buildKitHint(cfg, err), err: err}
	}
	b := &builder{cfg: cfg, bk: bk}
	if err := b.probeBuildKit(ctx); err != nil {
		b.close()
		return nil, &unreachableError{address: "BuildKit at " + cfg.buildkit, hint: buildKitHint(cfg, err), err: err}
	}
	if strings.HasPrefix(cfg.buildkit, "unix://") {
		b.caps.dataRoot = cfg.buildkitRoot
	}
	return b, nil
}

// buildKitHint says what to do about err, the failure to reach the BuildKit
// daemon cfg names. Nothing listening: start one. Something answering on a
// tcp:// port but not getting through: the TLS settings, which gRPC only
// reports in words (an x509 error, or a closed connection when the daemon
// wants a client certificate or speaks TLS to a plain-text client).
func buildKitHint(cfg config, err error) string {
	msg := err.Error()
	switch {
	case strings.HasPrefix(cfg.buildkit, "kube-pod://"):
		return "sdform runs `kubectl exec -i POD -- buildctl dial-stdio` with the address's context, namespace and container: " +
			"check that kubectl is on PATH and reaches the cluster, and that the pod runs buildkitd with buildctl on its PATH"
	case strings.HasPrefix(cfg.buildkit, "ssh://"):
		return "sdform runs `ssh [-l USER] [-p PORT] -- HOST buildctl dial-stdio`: check that ssh logs in without a prompt " +
			"(a key or an agent) and that buildctl is on the remote PATH beside a running buildkitd"
	}
	if !strings.HasPrefix(cfg.buildkit, "tcp://") || strings.Contains(msg, "connection refused") || strings.Contains(msg, "no such host") {
		return fmt.Sprintf("Start one with `buildkitd --addr %s`, or leave provider \"docker\" { buildkit } unset to build with the local Docker Engine", cfg.buildkit)
	}
	if cfg.caCert == "" && cfg.cert == "" && cfg.serverName == "" {
		return "Something answers there but not as plain-text BuildKit: if the daemon uses TLS (buildkitd --tlscert), set ca_cert, cert and key in provider \"docker\""
	}
	return "Something answers there but TLS did not get through: in provider \"docker\", ca_cert must be the CA that signed the daemon's certificate (its --tlscert), " +
		"cert and key a client certificate signed by the CA it trusts (its --tlscacert), and server_name, when set, a name the daemon's certificate holds"
}

func dialDockerContainer(ctx context.Context, cfg config) (*builder, error) {
	u, err := url.Parse(cfg.buildkit)
	if err != nil {
		return nil, fmt.Errorf("parse %s: %w", cfg.buildkit, err)
	}
	name := u.Host
	engine, err := newEngineClient(cfg)
	if err != nil {
		return nil, err
	}
	b := &builder{cfg: cfg, engine: engine}
	pctx, cancel := context.WithTimeout(ctx, probeTimeout)
	defer cancel()
	ci, err := engine.ContainerInspect(pctx, name, mobyclient.ContainerInspectOptions{})
	if err != nil {
		engine.Close()
		if cerrdefs.IsNotFound(err) {
			return nil, &unreachableError{address: "container " + name + " of the Docker Engine at " + cfg.dockerHost, hint: "Create it with a BuildKit image (e.g. `docker run -d --privileged --name " + name + " moby/buildkit`)", err: err}
		}
		return nil, &unreachableError{address: "the Docker Engine at " + cfg.dockerHost, hint: engineHint(cfg), err: err}
	}
	if ci.Container.State == nil || !ci.Container.State.Running {
		engine.Close()
		return nil, &unreachableError{address: "container " + name, hint: "Start it with `docker start " + name + "`", err: errors.New("container is not running")}
	}
	bk, err := bkclient.New(ctx, "", bkclient.WithContextDialer(func(ctx context.Context, _ string) (net.Conn, error) {
		return dialExecStdio(ctx, engine, name)
	}))
	if err != nil {
		engine.Close()
		return nil, fmt.Errorf("open BuildKit in container %s: %w", name, err)
	}
	b.bk = bk
	if err := b.probeBuildKit(ctx); err != nil {
		b.close()
		return nil, &unreachableError{address: "BuildKit in container " + name, hint: "Check that the container runs buildkitd and has buildctl on its PATH", err: err}
	}
	return b, nil
}
