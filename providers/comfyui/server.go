package comfyui

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/moby/moby/api/pkg/stdcopy"
	"github.com/moby/moby/api/types/container"
	mobyclient "github.com/moby/moby/client"

	"github.com/sdform/sdform/providers/comfyui/workflow"
)

// Defaults of a ComfyUI server started from an image.
const (
	defaultContainerModels = "/opt/ComfyUI/models"
	portPlaceholder        = "{port}"
	// logTail is how many lines of the container's log a failure shows.
	logTail = 50
)

var defaultCommand = []string{"python", "main.py", "--listen", "127.0.0.1", "--port", portPlaceholder}

// serverSpec says how to start a ComfyUI container. Runs whose specs are
// equal share one server.
type serverSpec struct {
	Image           string            `json:"image"`
	Command         []string          `json:"command"`
	Env             map[string]string `json:"env"`
	ModelsDir       string            `json:"models_dir"` // absolute, on the host
	ContainerModels string            `json:"container_models"`
	GPUs            string            `json:"gpus"` // auto, all, none
	Port            int               `json:"port"` // 0: pick a free one
	KeepRunning     bool              `json:"keep_running"`
	DockerHost      string            `json:"docker_host"`
}

func (s serverSpec) key() string {
	b, _ := json.Marshal(s)
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:8])
}

// server is a ComfyUI server in use by this provider: a container it
// started, or one at a URL.
type server struct {
	client *workflow.Client
	stats  *workflow.Stats
	// For a container:
	docker      *mobyclient.Client
	containerID string
	keep        bool
	spec        serverSpec
}

// logs returns the last lines of the container's log ("" for a URL
// server or when they cannot be read).
func (s *server) logs(ctx context.Context) string {
	if s == nil || s.docker == nil || s.containerID == "" {
		return ""
	}
	return containerLogs(ctx, s.docker, s.containerID)
}

func containerLogs(ctx context.Context, dc *mobyclient.Client, id string) string {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	rc, err := dc.ContainerLogs(ctx, id, mobyclient.ContainerLogsOptions{ShowStdout: true, ShowStderr: true, Tail: strconv.Itoa(logTail)})
	if err != nil {
		return ""
	}
	defer rc.Close()
	raw, _ := io.ReadAll(io.LimitReader(rc, 1<<20))
	var out bytes.Buffer
	if _, err := stdcopy.StdCopy(&out, &out, bytes.NewReader(raw)); err != nil {
		// A container with a TTY has a raw log stream.
		out.Reset()
		out.Write(raw)
	}
	lines := strings.Split(strings.TrimRight(out.String(), "\n"), "\n")
	if len(lines) > logTail {
		lines = lines[len(lines)-logTail:]
	}
	return strings.Join(lines, "\n")
}

// servers starts and holds the ComfyUI containers of one provider: one
// per spec, shared by every workflow run of the apply, stopped by stopAll
// (the provider's Close, or a cancelled apply) unless kept running.
type servers struct {
	mu      sync.Mutex
	running map[string]*startOnce
	docker  map[string]*mobyclient.Client
	urls    map[string]*workflow.Client
}

type startOnce struct {
	done chan struct{}
	srv  *server
	err  error
}

func newServers() *servers {
	return &servers{running: map[string]*startOnce{}, docker: map[string]*mobyclient.Client{}, urls: map[string]*workflow.Client{}}
}

// atURL returns the (cached) client of a server given by URL: one client
// per URL so that /object_info is read once per apply.
func (s *servers) atURL(u string) (*workflow.Client, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if c, ok := s.urls[u]; ok {
		return c, nil
	}
	c, err := workflow.NewClient(u, nil)
	if err != nil {
		return nil, err
	}
	s.urls[u] = c
	return c, nil
}

func (s *servers) dockerClient(host string) (*mobyclient.Client, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if c, ok := s.docker[host]; ok {
		return c, nil
	}
	opts := []mobyclient.Opt{mobyclient.FromEnv}
	if host != "" {
		opts = append(opts, mobyclient.WithHost(host))
	}
	c, err := mobyclient.New(opts...)
	if err != nil {
		return nil, fmt.Errorf("connect to the Docker Engine: %w", err)
	}
	s.docker[host] = c
	return c, nil
}

// start returns the server for spec, starting its container on first use
// and waiting until /system_stats answers (readyTimeout).
func (s *servers) start(ctx context.Context, spec serverSpec, readyTimeout time.Duration, out io.Writer) (*server, error) {
	key := spec.key()
	s.mu.Lock()
	st, ok := s.running[key]
	if !ok {
		st = &startOnce{done: make(chan struct{})}
		s.running[key] = st
	}
	s.mu.Unlock()
	if ok {
		select {
		case <-st.done:
			return st.srv, st.err
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	st.srv, st.err = s.launch(ctx, spec, readyTimeout, out)
	close(st.done)
	return st.srv, st.err
}

// hasNvidiaRuntime asks the Engine whether it can give containers GPUs.
func hasNvidiaRuntime(ctx context.Context, dc *mobyclient.Client) bool {
	info, err := dc.Info(ctx, mobyclient.InfoOptions{})
	if err != nil {
		return false
	}
	for name := range info.Info.Runtimes {
		if strings.Contains(name, "nvidia") {
			return true
		}
	}
	return false
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// launch creates and starts the container, then waits for readiness. A
// container that exits, or is not ready in time, is removed (unless kept)
// and the error carries the last lines of its log.
func (s *servers) launch(ctx context.Context, spec serverSpec, readyTimeout time.Duration, out io.Writer) (*server, error) {
	dc, err := s.dockerClient(spec.DockerHost)
	if err != nil {
		return nil, err
	}
	port := spec.Port
	if port == 0 {
		if port, err = freePort(); err != nil {
			return nil, fmt.Errorf("pick a port for ComfyUI: %w", err)
		}
	}
	cmd := spec.Command
	if len(cmd) == 0 {
		cmd = defaultCommand
	}
	args := make([]string, len(cmd))
	for i, a := range cmd {
		args[i] = strings.ReplaceAll(a, portPlaceholder, strconv.Itoa(port))
	}
	env := []string{"PORT=" + strconv.Itoa(port)}
	keys := make([]string, 0, len(spec.Env))
	for k := range spec.Env {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		env = append(env, k+"="+spec.Env[k])
	}
	host := &container.HostConfig{NetworkMode: "host"}
	var notes []string
	if spec.ModelsDir != "" {
		if st, err := os.Stat(spec.ModelsDir); err == nil && st.IsDir() {
			host.Binds = []string{spec.ModelsDir + ":" + spec.ContainerModels + ":ro"}
		} else {
			notes = append(notes, fmt.Sprintf("models folder %s does not exist: nothing mounted at %s", spec.ModelsDir, spec.ContainerModels))
		}
	}
	gpus := spec.GPUs == "all" || spec.GPUs == "auto" && hasNvidiaRuntime(ctx, dc)
	if gpus {
		host.DeviceRequests = []container.DeviceRequest{{Count: -1, Capabilities: [][]string{{"gpu"}}}}
	} else if spec.GPUs == "auto" {
		notes = append(notes, "the Docker Engine has no NVIDIA runtime: the server runs without GPUs")
	}
	created, err := dc.ContainerCreate(ctx, mobyclient.ContainerCreateOptions{
		Config: &container.Config{
			Image: spec.Image, Cmd: args, Env: env,
			Labels: map[string]string{"dev.sdform.managed": "true", "dev.sdform.comfyui": spec.key()},
		},
		HostConfig: host,
		Name:       fmt.Sprintf("sdform-comfyui-%s-%d", spec.key(), port),
	})
	if err != nil {
		return nil, fmt.Errorf("create ComfyUI container from %s: %w", spec.Image, err)
	}
	srv := &server{docker: dc, containerID: created.ID, keep: spec.KeepRunning, spec: spec}
	s.mu.Lock()
	// Registered before it starts, so stopAll removes it whatever happens.
	s.running[spec.key()].srv = srv
	s.mu.Unlock()
	for _, n := range notes {
		fmt.Fprintf(out, "comfyui server: %s\n", n)
	}
	fmt.Fprintf(out, "comfyui server: starting %s from %s on 127.0.0.1:%d (GPUs: %v)\n", shortID(created.ID), shortImage(spec.Image), port, gpus)
	if _, err := dc.ContainerStart(ctx, created.ID, mobyclient.ContainerStartOptions{}); err != nil {
		return srv, withLogs(fmt.Errorf("start ComfyUI container %s: %w", shortID(created.ID), err), srv.logs(ctx))
	}
	srv.client, _ = workflow.NewClient(fmt.Sprintf("http://127.0.0.1:%d", port), nil)

	// Wait for readiness, or for the container to exit first.
	wctx, cancel := context.WithCancel(ctx)
	defer cancel()
	exited := make(chan string, 1)
	go func() {
		w := dc.ContainerWait(wctx, created.ID, mobyclient.ContainerWaitOptions{Condition: container.WaitConditionNotRunning})
		select {
		case r := <-w.Result:
			msg := fmt.Sprintf("exited with status %d", r.StatusCode)
			if r.Error != nil && r.Error.Message != "" {
				msg += ": " + r.Error.Message
			}
			exited <- msg
			cancel()
		case <-w.Error:
		case <-wctx.Done():
		}
	}()
	start := time.Now()
	stats, err := srv.client.WaitReady(wctx, readyTimeout)
	if err != nil {
		select {
		case msg := <-exited:
			err = fmt.Errorf("ComfyUI container %s %s before it was ready", shortID(created.ID), msg)
		default:
		}
		return srv, withLogs(err, srv.logs(ctx))
	}
	srv.stats = stats
	fmt.Fprintf(out, "comfyui server: ready after %s: ComfyUI %s, %s\n", time.Since(start).Round(100*time.Millisecond), stats.ComfyUIVersion, deviceSummary(stats.Devices))
	return srv, nil
}

func withLogs(err error, logs string) error {
	if logs == "" {
		return err
	}
	return &logError{err: err, logs: logs}
}

// logError carries a container's last log lines with an error.
type logError struct {
	err  error
	logs string
}

func (e *logError) Error() string {
	return fmt.Sprintf("%v\nlast %d lines of the container's log:\n%s", e.err, logTail, e.logs)
}

func (e *logError) Unwrap() error { return e.err }

func deviceSummary(ds []workflow.Device) string {
	if len(ds) == 0 {
		return "no devices"
	}
	var parts []string
	for _, d := range ds {
		parts = append(parts, d.Name)
	}
	return strings.Join(parts, "; ")
}

func shortID(id string) string {
	id = strings.TrimPrefix(id, "sha256:")
	if len(id) > 12 {
		return id[:12]
	}
	return id
}

func shortImage(ref string) string {
	if strings.HasPrefix(ref, "sha256:") {
		return "image " + shortID(ref)
	}
	return ref
}

// stopAll stops and removes every container this provider started, except
// those kept running, and says which it kept.
func (s *servers) stopAll(ctx context.Context) error {
	s.mu.Lock()
	var list []*server
	for k, st := range s.running {
		if st.srv != nil && st.srv.containerID != "" {
			list = append(list, st.srv)
		}
		delete(s.running, k)
	}
	s.mu.Unlock()
	var errs []error
	for _, srv := range list {
		if srv.keep {
			continue
		}
		sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
		timeout := 10
		_, err := srv.docker.ContainerStop(sctx, srv.containerID, mobyclient.ContainerStopOptions{Timeout: &timeout})
		if _, rerr := srv.docker.ContainerRemove(sctx, srv.containerID, mobyclient.ContainerRemoveOptions{Force: true}); rerr != nil && err == nil {
			err = rerr
		}
		cancel()
		if err != nil {
			errs = append(errs, fmt.Errorf("stop ComfyUI container %s: %w", shortID(srv.containerID), err))
		}
	}
	return errors.Join(errs...)
}

// close releases the Docker clients after stopAll.
func (s *servers) close() error {
	err := s.stopAll(context.Background())
	s.mu.Lock()
	for h, c := range s.docker {
		c.Close()
		delete(s.docker, h)
	}
	s.mu.Unlock()
	return err
}

// reachable is a quick check that a URL server answers, for plan: plan
// validates against a live server only when one is there now.
func reachable(ctx context.Context, c *workflow.Client) (*workflow.Stats, error) {
	ctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	return c.SystemStats(ctx)
}
