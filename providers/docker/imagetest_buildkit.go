package docker

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"strings"
	"syscall"
	"time"

	"github.com/containerd/containerd/v2/core/content"
	"github.com/containerd/containerd/v2/core/content/proxy"
	dockerconfig "github.com/docker/cli/cli/config"
	bkclient "github.com/moby/buildkit/client"
	"github.com/moby/buildkit/client/llb"
	"github.com/moby/buildkit/client/llb/sourceresolver"
	gateway "github.com/moby/buildkit/frontend/gateway/client"
	gatewaypb "github.com/moby/buildkit/frontend/gateway/pb"
	"github.com/moby/buildkit/session"
	"github.com/moby/buildkit/session/auth/authprovider"
	"github.com/moby/buildkit/solver/pb"
	ocispecs "github.com/opencontainers/image-spec/specs-go/v1"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// defaultPath is the PATH a process gets when the image sets none, as the
// Docker Engine and BuildKit's RUN steps give it.
const defaultPath = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

// buildkitRunner runs a test through BuildKit's gateway API, for images
// that live in a standalone BuildKit (its own store, or a registry) where
// no Docker Engine can run them: the image is solved as an LLB source,
// files are read from its root filesystem, and each command runs in a
// gateway container over it (BuildKit's interactive-container API, the one
// `buildx build --invoke` uses), with its exit code and separate stdout and
// stderr. No shell is needed in the image. GPUs are not available there.
type buildkitRunner struct {
	c   gateway.Client
	ref gateway.Reference
	f   *imageFacts
}

// contentStoreID names BuildKit's own content store when it is handed back
// to BuildKit as an OCI layout store (see localImage).
const contentStoreID = "sdform-buildkit-content"

// buildKitSession is the session every gateway call needs: registry
// credentials, as builds get them, and BuildKit's own content store as an
// OCI layout store, for images that were never pushed.
func buildKitSession(b *builder) bkclient.SolveOpt {
	return bkclient.SolveOpt{
		Session: []session.Attachable{authprovider.NewDockerAuthProvider(authprovider.DockerAuthProviderConfig{
			AuthConfigProvider: authprovider.LoadAuthConfig(dockerconfig.LoadDefaultConfigFile(io.Discard)),
		})},
		OCIStores: map[string]content.Store{contentStoreID: proxy.NewContentStore(b.bk.ContentClient())},
	}
}

// localImage finds image among the manifests BuildKit's content store
// still holds (refs of the form repo@sha256:…). A standalone BuildKit's
// worker keeps no image names, so an image built without push can be run
// only this way: its manifest and layers are read from BuildKit's content
// store through the client session, as an OCI layout. It works while
// BuildKit has not garbage-collected that content.
func localImage(ctx context.Context, b *builder, image string, refs []string) (*imageFacts, string, error) {
	for _, ref := range refs {
		_, dg, ok := strings.Cut(ref, "@")
		if !ok {
			continue
		}
		f, err := contentFacts(ctx, b.bk, dg)
		if err != nil || (isImageID(image) && f.ID != image) {
			continue
		}
		return f, dg, nil
	}
	return nil, "", fmt.Errorf("no manifest of image %s in BuildKit's content store", short(image))
}

// resolvedImage is one image found by reference in BuildKit.
type resolvedImage struct {
	ref    string
	id     string
	config ocispecs.Image
}

// resolveIn resolves ref inside a gateway session: BuildKit's own image
// store first (images built without push), then the registry.
func resolveIn(ctx context.Context, c gateway.Client, ref string) (*resolvedImage, error) {
	_, _, cfg, err := c.ResolveImageConfig(ctx, ref, sourceresolver.Opt{ImageOpt: &sourceresolver.ResolveImageOpt{ResolveMode: llb.ResolveModePreferLocal.String()}})
	if err != nil {
		return nil, err
	}
	sum := sha256.Sum256(cfg)
	ri := &resolvedImage{ref: ref, id: "sha256:" + hex.EncodeToString(sum[:])}
	if err := json.Unmarshal(cfg, &ri.config); err != nil {
		return nil, fmt.Errorf("decode config of %s: %w", ref, err)
	}
	return ri, nil
}

// candidates are the references to try for image: itself, or for an image
// ID the references sdform knows for it.
func (p *Provider) candidates(image string) ([]string, error) {
	if !isImageID(image) {
		return []string{image}, nil
	}
	refs := p.testRefs.lookup(image)
	if len(refs) == 0 {
		return nil, fmt.Errorf("image %s: %w: a standalone BuildKit runs images by reference, and no docker_image of this configuration names this ID (give image a reference such as \"registry/repo:tag\", or test a docker_image built here)", short(image), errNoReference)
	}
	return refs, nil
}

// pick resolves the candidates in order and returns the first that is the
// image wanted (any, for a reference).
func pick(ctx context.Context, c gateway.Client, image string, refs []string) (*resolvedImage, error) {
	var tried []string
	for _, ref := range refs {
		ri, err := resolveIn(ctx, c, ref)
		switch {
		case err != nil:
			tried = append(tried, fmt.Sprintf("%s: %v", ref, err))
		case isImageID(image) && ri.id != image:
			tried = append(tried, fmt.Sprintf("%s names %s now", ref, short(ri.id)))
		default:
			return ri, nil
		}
	}
	return nil, fmt.Errorf("image %s not found in BuildKit (%s)", short(image), strings.Join(tried, "; "))
}

// resolveBuildKitImage returns the ID and reference of image as BuildKit
// sees it now, without running anything.
func (p *Provider) resolveBuildKitImage(ctx context.Context, b *builder, image string) (string, string, error) {
	refs, err := p.candidates(image)
	if err != nil {
		return "", "", err
	}
	var ri *resolvedImage
	var inner error
	_, err = b.bk.Build(ctx, buildKitSession(b), "sdform", func(ctx context.Context, c gateway.Client) (*gateway.Result, error) {
		ri, inner = pick(ctx, c, image, refs)
		return gateway.NewResult(), nil
	}, nil)
	if err == nil {
		err = inner
	}
	if err != nil {
		if f, dg, lerr := localImage(ctx, b, image, refs); lerr == nil {
			return f.ID, "@" + dg, nil
		}
		return "", "", err
	}
	return ri.id, ri.ref, nil
}

func (p *Provider) withBuildKitRunner(ctx context.Context, b *builder, image string, fn func(context.Context, testRunner) error) error {
	refs, err := p.candidates(image)
	if err != nil {
		return err
	}
	// What fn reports is kept here rather than returned through Build,
	// which would turn it into a string on its way through the daemon.
	var inner error
	_, err = b.bk.Build(ctx, buildKitSession(b), "sdform", func(ctx context.Context, c gateway.Client) (*gateway.Result, error) {
		inner = func() error {
			var st llb.State
			var f *imageFacts
			var name string
			if ri, err := pick(ctx, c, image, refs); err == nil {
				st, f, name = llb.Image(ri.ref, llb.ResolveModePreferLocal), factsOfConfig(ri.id, &ri.config), ri.ref
			} else if lf, dg, lerr := localImage(ctx, b, image, refs); lerr == nil {
				st, f, name = llb.OCILayout("sdform/local@"+dg, llb.OCIStore("", contentStoreID)), lf, dg
			} else {
				return err
			}
			def, err := st.Marshal(ctx)
			if err != nil {
				return fmt.Errorf("marshal image %s: %w", name, err)
			}
			res, err := c.Solve(ctx, gateway.SolveRequest{Definition: def.ToPB(), Evaluate: true})
			if err != nil {
				return fmt.Errorf("load image %s: %w", name, err)
			}
			ref, err := res.SingleRef()
			if err != nil {
				return fmt.Errorf("load image %s: %w", name, err)
			}
			return fn(ctx, &buildkitRunner{c: c, ref: ref, f: f})
		}()
		return gateway.NewResult(), nil
	}, nil)
	if err != nil {
		return fmt.Errorf("open a BuildKit session at %s: %w", b.cfg.buildkit, err)
	}
	return inner
}

// factsOfConfig reads an OCI image config the way facts from the Engine
// read, for metadata checks.
func factsOfConfig(id string, img *ocispecs.Image) *imageFacts {
	c := img.Config
	f := &imageFacts{ID: id, Env: c.Env, Labels: c.Labels, Entry: c.Entrypoint, Cmd: c.Cmd, Workdir: c.WorkingDir, User: c.User}
	for p := range c.ExposedPorts {
		f.Ports = append(f.Ports, p)
	}
	return f
}

func (r *buildkitRunner) kind() string       { return runnerBuildKit }
func (r *buildkitRunner) imageID() string    { return r.f.ID }
func (r *buildkitRunner) facts() *imageFacts { return r.f }

func (r *buildkitRunner) gpus(context.Context) (bool, string) {
	return false, "BuildKit's exec runner gives containers no GPUs (test on the Docker Engine for that)"
}

// runCommand starts the command in a gateway container over the image,
// with the image's env, user and working directory, and waits for it
// within the command's timeout.
func (r *buildkitRunner) runCommand(ctx context.Context, c *commandSpec, _ bool) (cmdOutcome, error) {
	var o cmdOutcome
	ctr, err := r.c.NewContainer(ctx, gateway.NewContainerRequest{
		Mounts: []gateway.Mount{{Dest: "/", MountType: pb.MountType_BIND, Ref: r.ref}},
	})
	if err != nil {
		return o, fmt.Errorf("create BuildKit container: %w", err)
	}
	defer func() {
		rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), cleanupTimeout)
		defer cancel()
		ctr.Release(rctx)
	}()
	env := append([]string(nil), r.f.Env...)
	hasPath := false
	for _, kv := range env {
		if strings.HasPrefix(kv, "PATH=") {
			hasPath = true
		}
	}
	if !hasPath {
		env = append(env, defaultPath)
	}
	for _, k := range sortedKeys(c.Env) {
		env = append(env, k+"="+c.Env[k])
	}
	cwd := r.f.Workdir
	if cwd == "" {
		cwd = "/"
	}
	stdout, stderr := &capBuffer{max: maxOutput}, &capBuffer{max: maxOutput}
	start := time.Now()
	proc, err := ctr.Start(ctx, gateway.StartRequest{Args: c.Run, Env: env, User: r.f.User, Cwd: cwd, Stdout: stdout, Stderr: stderr})
	if err != nil {
		if ctx.Err() != nil {
			return o, ctx.Err()
		}
		o.StartErr, o.ExitCode, o.Duration = cleanStartError(err), -1, time.Since(start)
		return o, nil
	}
	done := make(chan error, 1)
	go func() { done <- proc.Wait() }()
	timer := time.NewTimer(c.Timeout)
	defer timer.Stop()
	kill := func() {
		kctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), cleanupTimeout)
		defer cancel()
		proc.Signal(kctx, syscall.SIGKILL)
	}
	var werr error
	select {
	case werr = <-done:
	case <-timer.C:
		kill()
		o.TimedOut = true
		select {
		case werr = <-done:
		case <-time.After(cleanupTimeout):
		}
	case <-ctx.Done():
		kill()
		return o, ctx.Err()
	}
	o.Duration = time.Since(start)
	o.Stdout, o.Stderr = stdout.bytes(), stderr.bytes()
	var exit *gatewaypb.ExitError
	switch {
	case werr == nil:
	case errors.As(werr, &exit) && exit.ExitCode != gatewaypb.UnknownExitStatus:
		o.ExitCode = int(exit.ExitCode)
		// When runc cannot start the process (no such executable), BuildKit
		// reports exit code 1 and writes runc's error where the process's
		// stderr would be: that is no exit code of the command.
		if msg := strings.TrimSpace(string(o.Stderr)); strings.HasPrefix(msg, "runc run failed: unable to start container process") && !strings.Contains(msg, "\n") {
			o.StartErr, o.ExitCode, o.Stderr = cleanStartError(errors.New(msg)), -1, nil
		}
	case o.TimedOut:
		o.ExitCode = -1
	default:
		// The process never ran (no such executable), or BuildKit could
		// not tell its status.
		o.StartErr, o.ExitCode = cleanStartError(werr), -1
	}
	return o, nil
}

// statFile reads path from the image's root filesystem.
func (r *buildkitRunner) statFile(ctx context.Context, path string, withContent bool) (fileOutcome, error) {
	var o fileOutcome
	st, err := r.ref.StatFile(ctx, gateway.StatRequest{Path: path})
	if err != nil {
		if isNotExist(err) {
			return o, nil
		}
		return o, fmt.Errorf("stat %s: %w", path, err)
	}
	o.Exists = true
	o.Mode = os.FileMode(st.Mode)
	o.UID, o.GID = st.Uid, st.Gid
	o.LinkTarget = st.Linkname
	if withContent && o.Mode.IsRegular() {
		b, err := r.ref.ReadFile(ctx, gateway.ReadRequest{Filename: path, Range: &gateway.FileRange{Length: maxContent}})
		if err != nil {
			return o, fmt.Errorf("read %s: %w", path, err)
		}
		o.Content = b
	}
	return o, nil
}

// isNotExist recognises "no such file" as it comes back from BuildKit.
func isNotExist(err error) bool {
	if errors.Is(err, fs.ErrNotExist) || status.Code(err) == codes.NotFound {
		return true
	}
	return strings.Contains(err.Error(), "no such file or directory") || strings.Contains(err.Error(), "not found")
}
