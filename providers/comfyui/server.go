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

// serverSpec says how to start a ComfyUI container. Runs of one apply whose
// specs are equal (keep_running aside) share one server.
type serverSpec struct {
	// Image is the image as written: an id, or a tag resolved through
	// the Engine when the server starts.
	Image           string            `json:"image"`
	Command         []string          `json:"command"`
	Env             map[string]string `json:"env"`
	ModelsDir       string            `json:"models_dir"` // absolute, on the host
	ContainerModels string            `json:"container_models"`
	GPUs            string            `json:"gpus"` // auto, all, none
	Port            int               `json:"port"` // 0: pick a free one
	DockerHost      string            `json:"docker_host"`
	// KeepRunning is not part of the key: a server that one run asks to
	// keep is kept, whoever else used it.
	KeepRunning bool `json:"-"`
}

func (s serverSpec) key() string {
	b, _ := json.Marshal(s)
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:8])
}

// containerKey identifies a server container across applies: the spec with
// the image's id in place of its tag, so that a container from the image a
// tag named before is never reused for the image it names now.
func (s serverSpec) containerKey(imageID string) string {
	s.Image = imageID
	return s.key()
}

// Labels of the containers this provider starts. A container is found again
// by its key (reuse) and its port (a fixed port held by an older one).
const (
	labelManaged = "dev.sdform.managed"
	labelKey     = "dev.sdform.comfyui"
	labelPort    = "dev.sdform.comfyui.port"
	labelKeep    = "dev.sdform.comfyui.keep"
)

// server is a ComfyUI server in use by this provider: a container it
// started (or found running from an earlier apply), or one at a URL.
type server struct {
	client *workflow.Client
	stats  *workflow.Stats
	// For a container:
	docker      *mobyclient.Client
	containerID string
	name        string
	// imageID is the id of the image the container runs.
	imageID string
	// keep is read and written under servers.mu.
	keep   bool
	reused bool
}

// logs returns the last lines of the container's log ("" for a URL
// server or when they cannot be read). The Engine copies a container's
// output into its log asynchronously, so the lines a server wrote just
// before a failure (its traceback) may not be there yet: the log is read
// until two reads a moment apart agree, a second at most.
func (s *server) logs(ctx context.Context) string {
	if s == nil || s.docker == nil || s.containerID == "" {
		return ""
	}
	last := containerLogs(ctx, s.docker, s.containerID)
	for range 4 {
		time.Sleep(250 * time.Millisecond)
		now := containerLogs(ctx, s.docker, s.containerID)
		if now == last {
			break
		}
		last = now
	}
	return last
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
// (the provider's Close, or a cancelled apply) unless kept running. A
// container of the same spec that an earlier apply left running is reused.
type servers struct {
	mu      sync.Mutex
	running map[string]*startOnce
	// started lists every container this provider created or reused, in
	// order, whatever became of its spec's entry in running: stopAll
	// stops each, also one registered after an earlier stopAll.
	started []*server
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
			if st.srv != nil && spec.KeepRunning {
				s.mu.Lock()
				st.srv.keep = true
				s.mu.Unlock()
			}
			return st.srv, st.err
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	st.srv, st.err = s.launch(ctx, spec, readyTimeout, out)
	close(st.done)
	return st.srv, st.err
}

// register records a container as this provider's, so that stopAll
// removes it whatever happens next.
func (s *servers) register(srv *server) {
	s.mu.Lock()
	s.started = append(s.started, srv)
	s.mu.Unlock()
}

// isImageID reports whether ref is an image id rather than a reference.
func isImageID(ref string) bool {
	h := strings.TrimPrefix(ref, "sha256:")
	if len(h) != 64 {
		return false
	}
	_, err := hex.DecodeString(h)
	return err == nil
}

// resolveImage returns the id of the image ref names in the Engine.
func resolveImage(ctx context.Context, dc *mobyclient.Client, ref string) (string, error) {
	if isImageID(ref) {
		return "sha256:" + strings.TrimPrefix(ref, "sha256:"), nil
	}
	img, err := dc.ImageInspect(ctx, ref)
	if err != nil {
		return "", fmt.Errorf("inspect image %s: %w", ref, err)
	}
	return img.ID, nil
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

// launch finds or creates the container, then waits for readiness. A
// container of the same spec already running (kept by an earlier apply) is
// reused; one that exits, or is not ready in time, is removed by stopAll
// (unless kept), and the error carries the last lines of its log.
func (s *servers) launch(ctx context.Context, spec serverSpec, readyTimeout time.Duration, out io.Writer) (*server, error) {
	dc, err := s.dockerClient(spec.DockerHost)
	if err != nil {
		return nil, err
	}
	imageID, err := resolveImage(ctx, dc, spec.Image)
	if err != nil {
		return nil, fmt.Errorf("start ComfyUI from %s: %w", spec.Image, err)
	}
	ckey := spec.containerKey(imageID)
	if srv := s.reuse(ctx, dc, spec, ckey, imageID, readyTimeout, out); srv != nil {
		return srv, nil
	}
	port := spec.Port
	if port == 0 {
		if port, err = freePort(); err != nil {
			return nil, fmt.Errorf("pick a port for ComfyUI: %w", err)
		}
	} else {
		s.clearPort(ctx, dc, port, ckey, out)
		// With host networking a server already on the port would answer
		// in place of the container, which could not listen there.
		l, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)))
		if err != nil {
			return nil, fmt.Errorf("start ComfyUI on 127.0.0.1:%d: another process holds the port, and would answer in place of the container: %w", port, err)
		}
		l.Close()
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
	name := fmt.Sprintf("sdform-comfyui-%s-%d", ckey, port)
	// The container is created from the id, so that a tag moved meanwhile
	// cannot change what runs.
	created, err := dc.ContainerCreate(ctx, mobyclient.ContainerCreateOptions{
		Config: &container.Config{
			Image: imageID, Cmd: args, Env: env,
			Labels: map[string]string{labelManaged: "true", labelKey: ckey, labelPort: strconv.Itoa(port), labelKeep: strconv.FormatBool(spec.KeepRunning)},
		},
		HostConfig: host,
		Name:       name,
	})
	if err != nil {
		return nil, fmt.Errorf("create ComfyUI container from %s: %w", spec.Image, err)
	}
	srv := &server{docker: dc, containerID: created.ID, name: name, imageID: imageID, keep: spec.KeepRunning}
	// Registered before it starts, so stopAll removes it whatever happens.
	s.register(srv)
	for _, n := range notes {
		fmt.Fprintf(out, "comfyui server: %s\n", n)
	}
	fmt.Fprintf(out, "comfyui server: starting %s from %s on 127.0.0.1:%d (GPUs: %v)\n", shortID(created.ID), imageName(spec.Image, imageID), port, gpus)
	if _, err := dc.ContainerStart(ctx, created.ID, mobyclient.ContainerStartOptions{}); err != nil {
		return srv, withLogs(fmt.Errorf("start ComfyUI container %s: %w", shortID(created.ID), err), srv.logs(ctx))
	}
	srv.client, _ = workflow.NewClient(fmt.Sprintf("http://127.0.0.1:%d", port), nil)

	// Wait for readiness, or for the container to exit first.
	wctx, stop := srv.watch(ctx)
	defer stop()
	start := time.Now()
	stats, err := srv.client.WaitReady(wctx, readyTimeout)
	if err != nil {
		var exit *exitError
		if errors.As(context.Cause(wctx), &exit) {
			err = fmt.Errorf("ComfyUI container %s %s before it was ready", shortID(created.ID), exit.status)
		}
		return srv, withLogs(err, srv.logs(ctx))
	}
	srv.stats = stats
	fmt.Fprintf(out, "comfyui server: ready after %s: ComfyUI %s, %s\n", time.Since(start).Round(100*time.Millisecond), stats.ComfyUIVersion, deviceSummary(stats.Devices))
	if spec.KeepRunning {
		fmt.Fprintf(out, "comfyui server: %s keeps running after the apply (keep_running); the next apply reuses it\n", name)
	}
	return srv, nil
}

// reuse returns a running, ready container of the same spec that an
// earlier apply left (keep_running, or an apply that was killed), and
// removes the stale ones: stopped, or not answering.
func (s *servers) reuse(ctx context.Context, dc *mobyclient.Client, spec serverSpec, ckey, imageID string, readyTimeout time.Duration, out io.Writer) *server {
	list, err := dc.ContainerList(ctx, mobyclient.ContainerListOptions{All: true,
		Filters: mobyclient.Filters{}.Add("label", labelManaged+"=true").Add("label", labelKey+"="+ckey)})
	if err != nil {
		return nil
	}
	var found *server
	for _, c := range list.Items {
		name := strings.TrimPrefix(firstOr(c.Names, c.ID), "/")
		if found == nil && c.State == container.StateRunning {
			port, _ := strconv.Atoi(c.Labels[labelPort])
			client, err := workflow.NewClient(fmt.Sprintf("http://127.0.0.1:%d", port), nil)
			if err == nil && port > 0 {
				stats, err := client.WaitReady(ctx, min(readyTimeout, 15*time.Second))
				if err == nil {
					found = &server{client: client, stats: stats, docker: dc, containerID: c.ID, name: name, imageID: imageID, keep: spec.KeepRunning, reused: true}
					s.register(found)
					fmt.Fprintf(out, "comfyui server: reusing %s on 127.0.0.1:%d, left running by an earlier apply: ComfyUI %s, %s\n",
						name, port, stats.ComfyUIVersion, deviceSummary(stats.Devices))
					if !spec.KeepRunning {
						fmt.Fprintf(out, "comfyui server: %s is stopped after this apply (keep_running is off)\n", name)
					}
					continue
				}
			}
		}
		if ctx.Err() != nil {
			return found
		}
		if _, err := dc.ContainerRemove(ctx, c.ID, mobyclient.ContainerRemoveOptions{Force: true}); err == nil {
			fmt.Fprintf(out, "comfyui server: removed %s, left %s by an earlier apply\n", name, strings.ToLower(string(c.State)))
		}
	}
	return found
}

// clearPort removes the containers an earlier apply kept running on port
// for another image or settings (they would hold the port the new one
// needs), and stopped ones. A running container that was not kept belongs
// to an apply still going on: it is left alone.
func (s *servers) clearPort(ctx context.Context, dc *mobyclient.Client, port int, ckey string, out io.Writer) {
	list, err := dc.ContainerList(ctx, mobyclient.ContainerListOptions{All: true,
		Filters: mobyclient.Filters{}.Add("label", labelManaged+"=true").Add("label", labelPort+"="+strconv.Itoa(port))})
	if err != nil {
		return
	}
	for _, c := range list.Items {
		if c.Labels[labelKey] == ckey || c.State == container.StateRunning && c.Labels[labelKeep] != "true" {
			continue
		}
		name := strings.TrimPrefix(firstOr(c.Names, c.ID), "/")
		if _, err := dc.ContainerRemove(ctx, c.ID, mobyclient.ContainerRemoveOptions{Force: true}); err == nil {
			fmt.Fprintf(out, "comfyui server: removed %s, kept by an earlier apply for another image or settings on port %d\n", name, port)
		}
	}
}

func firstOr(list []string, def string) string {
	if len(list) > 0 {
		return list[0]
	}
	return def
}

// exitError is a server container that stopped.
type exitError struct{ status string }

func (e *exitError) Error() string { return "the ComfyUI container " + e.status }

// watch returns a context that is cancelled, with an *exitError as its
// cause, when the server's container stops; release it with stop. For a
// server at a URL it is ctx itself.
func (s *server) watch(ctx context.Context) (context.Context, func()) {
	if s == nil || s.docker == nil || s.containerID == "" {
		return ctx, func() {}
	}
	wctx, cancel := context.WithCancelCause(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		w := s.docker.ContainerWait(wctx, s.containerID, mobyclient.ContainerWaitOptions{Condition: container.WaitConditionNotRunning})
		select {
		case r := <-w.Result:
			msg := fmt.Sprintf("exited with status %d", r.StatusCode)
			if r.Error != nil && r.Error.Message != "" {
				msg += ": " + r.Error.Message
			}
			cancel(&exitError{status: msg})
		case <-w.Error:
		case <-wctx.Done():
		}
	}()
	return wctx, func() {
		cancel(context.Canceled)
		<-done
	}
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

// imageName says which image a server runs: "image 3f1c…" for an id, or
// "runpod/x:fp8 (image 3f1c…)" for a tag.
func imageName(ref, id string) string {
	if isImageID(ref) {
		return "image " + shortID(ref)
	}
	return fmt.Sprintf("%s (image %s)", ref, shortID(id))
}

// stopAll stops and removes every container this provider started or
// reused, except those kept running.
func (s *servers) stopAll(ctx context.Context) error {
	s.mu.Lock()
	// One container may be here twice (a run naming the image by tag,
	// another by id, the second reusing the first's container): it is
	// stopped once, and kept if either asked.
	kept := map[string]bool{}
	for _, srv := range s.started {
		kept[srv.containerID] = kept[srv.containerID] || srv.keep
	}
	var list []*server
	for _, srv := range s.started {
		if !kept[srv.containerID] {
			list = append(list, srv)
			kept[srv.containerID] = true // once
		}
	}
	s.started = nil
	clear(s.running)
	s.mu.Unlock()
	var errs []error
	for _, srv := range list {
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
