package docker

import (
	"archive/tar"
	"context"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/moby/moby/api/pkg/stdcopy"
	"github.com/moby/moby/api/types/container"
	mobyclient "github.com/moby/moby/client"
)

// cleanupTimeout bounds removing a test container, which runs even after
// the apply was cancelled.
const cleanupTimeout = 30 * time.Second

// testLabel marks containers sdform starts for tests, so that one left by
// a killed process can be found (`docker ps -a --filter label=…`).
const testLabel = "dev.sdform.test"

// engineRunner runs a test in containers of the Docker Engine: one
// container per command (host network, no ports, the command's env, removed
// afterwards), and one never-started container whose filesystem the
// archive API reads for file checks.
type engineRunner struct {
	c     *mobyclient.Client
	host  string
	addr  string
	f     *imageFacts
	files string // ID of the file-check container, once created

	gpuOnce bool
	gpuOK   bool
	gpuWhy  string
}

func (p *Provider) withEngineRunner(ctx context.Context, b *builder, addr, image string, fn func(context.Context, testRunner) error) error {
	f, err := engineStore{b.engine}.facts(ctx, image)
	if err != nil {
		if errors.Is(err, errNotFound) {
			return fmt.Errorf("image %s is not in the Docker Engine at %s", image, b.cfg.dockerHost)
		}
		return err
	}
	r := &engineRunner{c: b.engine, host: b.cfg.dockerHost, addr: addr, f: f}
	defer r.close(ctx)
	return fn(ctx, r)
}

func (r *engineRunner) kind() string       { return runnerEngine }
func (r *engineRunner) imageID() string    { return r.f.ID }
func (r *engineRunner) facts() *imageFacts { return r.f }

// gpus asks the Engine, once, whether it has an NVIDIA runtime.
func (r *engineRunner) gpus(ctx context.Context) (bool, string) {
	if !r.gpuOnce {
		r.gpuOnce = true
		info, err := r.c.Info(ctx, mobyclient.InfoOptions{})
		switch {
		case err != nil:
			r.gpuWhy = fmt.Sprintf("the Docker Engine at %s did not say whether it has an NVIDIA runtime (%v)", r.host, err)
		default:
			for name := range info.Info.Runtimes {
				if strings.Contains(name, "nvidia") {
					r.gpuOK = true
				}
			}
			if !r.gpuOK {
				r.gpuWhy = fmt.Sprintf("the Docker Engine at %s has no NVIDIA runtime", r.host)
			}
		}
	}
	return r.gpuOK, r.gpuWhy
}

func (r *engineRunner) labels() map[string]string {
	return map[string]string{"dev.sdform.managed": "true", testLabel: r.addr}
}

// remove deletes a container with its anonymous volumes (an image that
// declares VOLUME gets one per container), as `docker run --rm` does, also
// after ctx was cancelled.
func (r *engineRunner) remove(ctx context.Context, id string) {
	cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), cleanupTimeout)
	defer cancel()
	r.c.ContainerRemove(cctx, id, mobyclient.ContainerRemoveOptions{Force: true, RemoveVolumes: true})
}

func (r *engineRunner) close(ctx context.Context) {
	if r.files != "" {
		r.remove(ctx, r.files)
	}
}

// runCommand creates the container, waits for it within the command's
// timeout (killing it past that), and reads its demultiplexed logs.
func (r *engineRunner) runCommand(ctx context.Context, c *commandSpec, useGPUs bool) (cmdOutcome, error) {
	var o cmdOutcome
	env := make([]string, 0, len(c.Env))
	for _, k := range sortedKeys(c.Env) {
		env = append(env, k+"="+c.Env[k])
	}
	host := &container.HostConfig{NetworkMode: "host"}
	if useGPUs {
		count := -1
		if c.GPUs != "all" {
			count, _ = strconv.Atoi(c.GPUs)
		}
		host.DeviceRequests = []container.DeviceRequest{{Count: count, Capabilities: [][]string{{"gpu"}}}}
	}
	created, err := r.c.ContainerCreate(ctx, mobyclient.ContainerCreateOptions{
		Config: &container.Config{
			Image: r.f.ID, Entrypoint: c.Run[:1], Cmd: c.Run[1:], Env: env, Labels: r.labels(),
		},
		HostConfig: host,
	})
	if err != nil {
		return o, fmt.Errorf("create container from %s: %w", short(r.f.ID), err)
	}
	defer r.remove(ctx, created.ID)
	// Wait is asked for before start, so a command that exits at once is
	// not missed.
	wctx, cancelWait := context.WithCancel(context.WithoutCancel(ctx))
	defer cancelWait()
	wait := r.c.ContainerWait(wctx, created.ID, mobyclient.ContainerWaitOptions{Condition: container.WaitConditionNextExit})
	start := time.Now()
	if _, err := r.c.ContainerStart(ctx, created.ID, mobyclient.ContainerStartOptions{}); err != nil {
		if ctx.Err() != nil {
			return o, ctx.Err()
		}
		o.StartErr = cleanStartError(err)
		o.ExitCode = -1
		o.Duration = time.Since(start)
		return o, nil
	}
	timer := time.NewTimer(c.Timeout)
	defer timer.Stop()
	kill := func() {
		kctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), cleanupTimeout)
		defer cancel()
		r.c.ContainerKill(kctx, created.ID, mobyclient.ContainerKillOptions{Signal: "KILL"})
	}
	select {
	case res := <-wait.Result:
		o.ExitCode = int(res.StatusCode)
	case err := <-wait.Error:
		return o, fmt.Errorf("wait for container %s: %w", short(created.ID), err)
	case <-timer.C:
		kill()
		o.TimedOut = true
	case <-ctx.Done():
		kill()
		return o, ctx.Err()
	}
	o.Duration = time.Since(start)
	if o.TimedOut {
		// The kill ends the container; its exit status is no news.
		select {
		case res := <-wait.Result:
			o.ExitCode = int(res.StatusCode)
		case <-wait.Error:
		case <-time.After(cleanupTimeout):
		}
	}
	stdout, stderr := &capBuffer{max: maxOutput}, &capBuffer{max: maxOutput}
	rc, err := r.c.ContainerLogs(ctx, created.ID, mobyclient.ContainerLogsOptions{ShowStdout: true, ShowStderr: true})
	if err != nil {
		return o, fmt.Errorf("read logs of container %s: %w", short(created.ID), err)
	}
	defer rc.Close()
	if _, err := stdcopy.StdCopy(stdout, stderr, rc); err != nil {
		return o, fmt.Errorf("read logs of container %s: %w", short(created.ID), err)
	}
	o.Stdout, o.Stderr = stdout.bytes(), stderr.bytes()
	return o, nil
}

// statFile reads path through the archive API of a container that never
// starts: the tar's first header has the mode and owner, its body the
// content.
func (r *engineRunner) statFile(ctx context.Context, path string, withContent bool) (fileOutcome, error) {
	var o fileOutcome
	if r.files == "" {
		created, err := r.c.ContainerCreate(ctx, mobyclient.ContainerCreateOptions{
			// Never started: the entrypoint only has to be present.
			Config: &container.Config{Image: r.f.ID, Entrypoint: []string{"/sdform-file-check"}, Labels: r.labels()},
		})
		if err != nil {
			return o, fmt.Errorf("create container from %s: %w", short(r.f.ID), err)
		}
		r.files = created.ID
	}
	res, err := r.c.CopyFromContainer(ctx, r.files, mobyclient.CopyFromContainerOptions{SourcePath: path})
	if err != nil {
		if cerrdefs.IsNotFound(err) {
			return o, nil
		}
		return o, fmt.Errorf("read %s from container %s: %w", path, short(r.files), err)
	}
	defer res.Content.Close()
	o.Exists = true
	o.LinkTarget = res.Stat.LinkTarget
	tr := tar.NewReader(res.Content)
	hdr, err := tr.Next()
	if err != nil {
		return o, fmt.Errorf("read %s from container %s: %w", path, short(r.files), err)
	}
	o.Mode = hdr.FileInfo().Mode()
	o.UID, o.GID = uint32(hdr.Uid), uint32(hdr.Gid)
	if withContent && o.Mode.IsRegular() {
		b, err := io.ReadAll(io.LimitReader(tr, maxContent))
		if err != nil {
			return o, fmt.Errorf("read %s from container %s: %w", path, short(r.files), err)
		}
		o.Content = b
	}
	return o, nil
}
