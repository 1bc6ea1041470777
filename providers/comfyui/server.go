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
	"syscall"
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
// equal once the image is resolved to its id (keep_running aside) share
// one server.
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
	// Owner is the workflow the server is started for, which its labels
	// name; not part of the key either: other runs share the server.
	Owner owner `json:"-"`
}

// owner is a comfyui_workflow of a configuration: the one a server
// container was started for, whose next apply or destroy removes it if an
// apply killed before it could stop it left it.
type owner struct {
	Dir, Address string
}

func (o owner) filters() mobyclient.Filters {
	return mobyclient.Filters{}.Add("label", labelManaged+"=true").Add("label", labelWorkflow+"="+o.Address).Add("label", labelDir+"="+o.Dir)
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
// by its key (reuse), its port (a fixed port held by an older one), and the
// workflow it was started for (a container an apply left when it was
// killed).
const (
	labelManaged  = "dev.sdform.managed"
	labelKey      = "dev.sdform.comfyui"
	labelPort     = "dev.sdform.comfyui.port"
	labelKeep     = "dev.sdform.comfyui.keep"
	labelWorkflow = "dev.sdform.comfyui.workflow"
	labelDir      = "dev.sdform.comfyui.dir"
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
	keep bool
	// use is this provider's shared lock on the container (see lockDir),
	// released by stopAll.
	use *os.File
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
// per container key (the spec with the image's id), shared by every
// workflow run of the apply, and by other applies of the host with the
// same key (see lockDir). A container that no other apply uses is stopped
// by stopAll (the provider's Close, or a cancelled apply) unless kept
// running. A container of the same key that an earlier apply left running
// is reused.
type servers struct {
	mu      sync.Mutex
	running map[string]*startOnce
	// started lists every container this provider created or reused, in
	// order, whatever became of its spec's entry in running: stopAll
	// stops each, also one registered after an earlier stopAll.
	started []*server
	docker  map[string]*mobyclient.Client
	urls    map[string]*workflow.Client
	locks   lockDir
}

type startOnce struct {
	done chan struct{}
	srv  *server
	err  error
}

func newServers() *servers {
	return &servers{running: map[string]*startOnce{}, docker: map[string]*mobyclient.Client{}, urls: map[string]*workflow.Client{}, locks: defaultLockDir()}
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
// and waiting until /system_stats answers (readyTimeout). Runs whose specs
// name the same image (one by tag, one by id) share one server.
func (s *servers) start(ctx context.Context, spec serverSpec, readyTimeout time.Duration, out io.Writer) (*server, error) {
	dc, err := s.dockerClient(spec.DockerHost)
	if err != nil {
		return nil, err
	}
	imageID, err := resolveImage(ctx, dc, spec.Image)
	if err != nil {
		return nil, fmt.Errorf("start ComfyUI from %s: %w", spec.Image, err)
	}
	key := spec.containerKey(imageID)
	if spec.Owner.Address != "" {
		// Those of this key are reused, if they answer, by launch. An
		// Engine that cannot list them fails launch, which says so.
		s.removeLeftovers(ctx, dc, spec.Owner, key, false, out)
	}
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
	st.srv, st.err = s.launch(ctx, dc, spec, imageID, readyTimeout, out)
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

// launch finds or creates the container of spec, then waits for its
// readiness. It chooses under the container key's lock (see lockDir): a
// running container of the same key that another apply uses is shared, and
// one that no one uses is reused when it answers and removed when not. A
// container it creates that exits, or is not ready in time, is removed by
// stopAll (unless kept), and the error carries the last lines of its log.
func (s *servers) launch(ctx context.Context, dc *mobyclient.Client, spec serverSpec, imageID string, readyTimeout time.Duration, out io.Writer) (*server, error) {
	ckey := spec.containerKey(imageID)
	held, err := s.locks.lock(ctx, keyLock(ckey), syscall.LOCK_EX)
	if err != nil {
		return nil, fmt.Errorf("start ComfyUI from %s: wait for other sdform applies: %w", spec.Image, err)
	}
	defer func() {
		if held != nil {
			held.Close()
		}
	}()
	if srv, err := s.reuse(ctx, dc, spec, ckey, imageID, readyTimeout, out); srv != nil || err != nil {
		return srv, err
	}
	port := spec.Port
	if port == 0 {
		if port, err = freePort(); err != nil {
			return nil, fmt.Errorf("pick a port for ComfyUI: %w", err)
		}
	} else {
		inUse := s.clearPort(ctx, dc, port, ckey, out)
		// With host networking a server already on the port would answer
		// in place of the container, which could not listen there.
		l, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)))
		if err != nil {
			if inUse != "" {
				return nil, fmt.Errorf("start ComfyUI on 127.0.0.1:%d: another process holds the port (container %s, which another sdform apply uses for another image or settings), and would answer in place of the container: %w", port, inUse, err)
			}
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
			Labels: map[string]string{labelManaged: "true", labelKey: ckey, labelPort: strconv.Itoa(port), labelKeep: strconv.FormatBool(spec.KeepRunning),
				labelWorkflow: spec.Owner.Address, labelDir: spec.Owner.Dir},
		},
		HostConfig: host,
		Name:       name,
	})
	if err != nil {
		return nil, fmt.Errorf("create ComfyUI container from %s: %w", spec.Image, err)
	}
	use, err := s.locks.lock(ctx, useLock(created.ID), syscall.LOCK_SH)
	srv := &server{docker: dc, containerID: created.ID, name: name, imageID: imageID, keep: spec.KeepRunning, use: use}
	// Registered before it starts, so stopAll removes it whatever happens.
	s.register(srv)
	if err != nil {
		return srv, fmt.Errorf("lock ComfyUI container %s: %w", shortID(created.ID), err)
	}
	// In use, and chosen: other applies of this key may choose now, and
	// share this container while it starts.
	held.Close()
	held = nil
	for _, n := range notes {
		fmt.Fprintf(out, "comfyui server: %s\n", n)
	}
	fmt.Fprintf(out, "comfyui server: starting %s from %s on 127.0.0.1:%d (GPUs: %v)\n", shortID(created.ID), imageName(spec.Image, imageID), port, gpus)
	if _, err := dc.ContainerStart(ctx, created.ID, mobyclient.ContainerStartOptions{}); err != nil {
		return srv, withLogs(fmt.Errorf("start ComfyUI container %s: %w", shortID(created.ID), err), srv.logs(ctx))
	}
	start := time.Now()
	if err := srv.connect(ctx, port, readyTimeout); err != nil {
		var exit *exitError
		if errors.As(err, &exit) {
			err = fmt.Errorf("ComfyUI container %s %s before it was ready", shortID(created.ID), exit.status)
		}
		return srv, withLogs(err, srv.logs(ctx))
	}
	fmt.Fprintf(out, "comfyui server: ready after %s: ComfyUI %s, %s\n", time.Since(start).Round(100*time.Millisecond), srv.stats.ComfyUIVersion, deviceSummary(srv.stats.Devices))
	if spec.KeepRunning {
		fmt.Fprintf(out, "comfyui server: %s keeps running after the apply (keep_running); the next apply reuses it\n", name)
	}
	return srv, nil
}

// connect waits until the server in the container answers on port, for
// at most wait. The container's exit ends the wait with an *exitError.
func (srv *server) connect(ctx context.Context, port int, wait time.Duration) error {
	if port <= 0 {
		return fmt.Errorf("container %s has no port label", srv.name)
	}
	client, err := workflow.NewClient(fmt.Sprintf("http://127.0.0.1:%d", port), nil)
	if err != nil {
		return err
	}
	wctx, stop := srv.watch(ctx)
	defer stop()
	stats, err := client.WaitReady(wctx, wait)
	if err != nil {
		var exit *exitError
		if errors.As(context.Cause(wctx), &exit) {
			return exit
		}
		return err
	}
	srv.client, srv.stats = client, stats
	return nil
}

// reuse returns a running container of the key ckey, if there is one to
// use: one that another apply uses (it may still be starting, and is
// shared once it answers), or one that no one uses any more, left by an
// earlier apply (keep_running, or killed) and answering within 15 s. It
// removes the others that no one uses, and leaves alone those another
// apply uses. Its caller holds the key's lock.
func (s *servers) reuse(ctx context.Context, dc *mobyclient.Client, spec serverSpec, ckey, imageID string, readyTimeout time.Duration, out io.Writer) (*server, error) {
	list, err := dc.ContainerList(ctx, mobyclient.ContainerListOptions{All: true,
		Filters: mobyclient.Filters{}.Add("label", labelManaged+"=true").Add("label", labelKey+"="+ckey)})
	if err != nil {
		return nil, nil
	}
	var found *server
	for _, c := range list.Items {
		if ctx.Err() != nil {
			break
		}
		excl, unused, err := s.locks.tryLock(useLock(c.ID), syscall.LOCK_EX)
		if err != nil {
			return found, err
		}
		if !unused {
			if found == nil && c.State == container.StateRunning {
				if found, err = s.share(ctx, dc, spec, c, imageID, readyTimeout, out); err != nil {
					return nil, err
				}
			}
			continue
		}
		if found == nil && c.State == container.StateRunning {
			srv, err := s.adopt(ctx, dc, spec, c, imageID, excl, readyTimeout, out)
			if err != nil {
				return nil, err
			}
			if srv != nil {
				found = srv
				continue
			}
		}
		if _, err := dc.ContainerRemove(ctx, c.ID, mobyclient.ContainerRemoveOptions{Force: true}); err == nil {
			fmt.Fprintf(out, "comfyui server: removed %s, left %s by an earlier apply\n", containerName(c), strings.ToLower(string(c.State)))
			s.locks.forget(c.ID)
		}
		excl.Close()
	}
	if found == nil && ctx.Err() != nil {
		return nil, ctx.Err()
	}
	return found, nil
}

// share uses the running container c, which another apply uses and may
// still be starting, once it answers (within readyTimeout). It returns nil
// when c exits first, or when its last user is stopping it.
func (s *servers) share(ctx context.Context, dc *mobyclient.Client, spec serverSpec, c container.Summary, imageID string, readyTimeout time.Duration, out io.Writer) (*server, error) {
	use, ok, err := s.locks.tryLock(useLock(c.ID), syscall.LOCK_SH)
	if err != nil || !ok {
		return nil, err
	}
	srv := &server{docker: dc, containerID: c.ID, name: containerName(c), imageID: imageID, keep: spec.KeepRunning, use: use}
	port, _ := strconv.Atoi(c.Labels[labelPort])
	if err := srv.connect(ctx, port, readyTimeout); err != nil {
		use.Close()
		var exit *exitError
		if errors.As(err, &exit) {
			fmt.Fprintf(out, "comfyui server: %s, started by another apply, %s before it was ready\n", srv.name, exit.status)
			return nil, nil
		}
		return nil, withLogs(fmt.Errorf("ComfyUI container %s, started by another apply, was not ready: %w", srv.name, err), srv.logs(ctx))
	}
	s.register(srv)
	fmt.Fprintf(out, "comfyui server: sharing %s on 127.0.0.1:%d with another apply that uses it: ComfyUI %s, %s\n",
		srv.name, port, srv.stats.ComfyUIVersion, deviceSummary(srv.stats.Devices))
	return srv, nil
}

// adopt reuses the running container c that no one uses (excl is its use
// lock, held exclusively) if it answers within 15 s (readyTimeout if
// shorter). It returns nil, with excl still held, when c does not answer.
func (s *servers) adopt(ctx context.Context, dc *mobyclient.Client, spec serverSpec, c container.Summary, imageID string, excl *os.File, readyTimeout time.Duration, out io.Writer) (*server, error) {
	srv := &server{docker: dc, containerID: c.ID, name: containerName(c), imageID: imageID, keep: spec.KeepRunning}
	port, _ := strconv.Atoi(c.Labels[labelPort])
	if err := srv.connect(ctx, port, min(readyTimeout, 15*time.Second)); err != nil {
		return nil, nil
	}
	// Held shared from now on, so that other applies may share it too.
	// They choose under the key's lock, which this apply holds.
	if err := syscall.Flock(int(excl.Fd()), syscall.LOCK_SH); err != nil {
		excl.Close()
		return nil, fmt.Errorf("lock ComfyUI container %s: %w", srv.name, err)
	}
	srv.use = excl
	s.register(srv)
	fmt.Fprintf(out, "comfyui server: reusing %s on 127.0.0.1:%d, left running by an earlier apply: ComfyUI %s, %s\n",
		srv.name, port, srv.stats.ComfyUIVersion, deviceSummary(srv.stats.Devices))
	if !spec.KeepRunning {
		fmt.Fprintf(out, "comfyui server: %s is stopped after this apply (keep_running is off)\n", srv.name)
	}
	return srv, nil
}

// clearPort removes the containers on port of another key that no one
// uses any more (an earlier apply kept them for another image or settings,
// or was killed): they would hold the port the new one needs. It returns
// the name of a running one that another apply uses, which holds the port.
func (s *servers) clearPort(ctx context.Context, dc *mobyclient.Client, port int, ckey string, out io.Writer) (inUse string) {
	list, err := dc.ContainerList(ctx, mobyclient.ContainerListOptions{All: true,
		Filters: mobyclient.Filters{}.Add("label", labelManaged+"=true").Add("label", labelPort+"="+strconv.Itoa(port))})
	if err != nil {
		return ""
	}
	for _, c := range list.Items {
		if c.Labels[labelKey] == ckey {
			continue
		}
		if !s.removeUnused(ctx, dc, c) {
			if c.State == container.StateRunning {
				inUse = containerName(c)
			}
			continue
		}
		how := "kept"
		if c.State != container.StateRunning {
			how = "left " + strings.ToLower(string(c.State))
		}
		fmt.Fprintf(out, "comfyui server: removed %s, %s by an earlier apply for another image or settings on port %d\n", containerName(c), how, port)
	}
	return inUse
}

// removeUnused removes container c of another key if no one uses it or
// is choosing it: it takes that key's lock and the container's use lock
// without waiting.
func (s *servers) removeUnused(ctx context.Context, dc *mobyclient.Client, c container.Summary) bool {
	kl, ok, err := s.locks.tryLock(keyLock(c.Labels[labelKey]), syscall.LOCK_EX)
	if err != nil || !ok {
		return false
	}
	defer kl.Close()
	excl, unused, err := s.locks.tryLock(useLock(c.ID), syscall.LOCK_EX)
	if err != nil || !unused {
		return false
	}
	defer excl.Close()
	if _, err := dc.ContainerRemove(ctx, c.ID, mobyclient.ContainerRemoveOptions{Force: true}); err != nil {
		return false
	}
	s.locks.forget(c.ID)
	return true
}

// removeLeftovers removes the containers started for workflow o that no
// one uses and no run asked to keep: an apply killed before it could stop
// them (a second Ctrl-C) left them, maybe holding GPUs. Those of the
// container key skip are left for reuse to adopt; withKept removes kept
// ones too (the workflow is destroyed). It says which it removed on out.
func (s *servers) removeLeftovers(ctx context.Context, dc *mobyclient.Client, o owner, skip string, withKept bool, out io.Writer) error {
	list, err := dc.ContainerList(ctx, mobyclient.ContainerListOptions{All: true, Filters: o.filters()})
	if err != nil {
		return fmt.Errorf("list the server containers of %s: %w", o.Address, err)
	}
	for _, c := range list.Items {
		kept := s.isKept(c)
		if c.Labels[labelKey] == skip || kept && !withKept || !s.removeUnused(ctx, dc, c) {
			continue
		}
		how := fmt.Sprintf("which an earlier apply of %s left %s: it was stopped before it could remove it", o.Address, strings.ToLower(string(c.State)))
		if kept {
			how = fmt.Sprintf("kept running for %s (keep_running)", o.Address)
		}
		fmt.Fprintf(out, "comfyui server: removed %s, %s\n", containerName(c), how)
	}
	return nil
}

// leftovers names the containers of workflow o that removeLeftovers would
// remove now, kept ones aside; for plan, which removes nothing.
func (s *servers) leftovers(ctx context.Context, dc *mobyclient.Client, o owner) []string {
	list, err := dc.ContainerList(ctx, mobyclient.ContainerListOptions{All: true, Filters: o.filters()})
	if err != nil {
		return nil
	}
	var names []string
	for _, c := range list.Items {
		if !s.isKept(c) && s.unused(c) {
			names = append(names, fmt.Sprintf("%s (%s)", containerName(c), strings.ToLower(string(c.State))))
		}
	}
	return names
}

// isKept reports whether container c is kept running: its label says so,
// or a run that used it asked (see lockDir).
func (s *servers) isKept(c container.Summary) bool {
	return c.Labels[labelKeep] == "true" || s.locks.isKept(c.ID)
}

// unused reports whether no one uses container c or is choosing it now,
// taking the locks removeUnused takes, without waiting, and letting them go.
func (s *servers) unused(c container.Summary) bool {
	kl, ok, err := s.locks.tryLock(keyLock(c.Labels[labelKey]), syscall.LOCK_EX)
	if err != nil || !ok {
		return false
	}
	defer kl.Close()
	excl, ok, err := s.locks.tryLock(useLock(c.ID), syscall.LOCK_EX)
	if err != nil || !ok {
		return false
	}
	excl.Close()
	return true
}

func containerName(c container.Summary) string {
	return strings.TrimPrefix(firstOr(c.Names, c.ID), "/")
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
// reused, except those kept running and those another apply still uses
// (that apply stops it when done).
func (s *servers) stopAll(ctx context.Context) error {
	s.mu.Lock()
	// A container here more than once is stopped once, and kept if any
	// of its runs asked.
	keep := map[string]bool{}
	for _, srv := range s.started {
		keep[srv.containerID] = keep[srv.containerID] || srv.keep
	}
	var list []*server
	done := map[string]bool{}
	for _, srv := range s.started {
		if done[srv.containerID] {
			continue
		}
		done[srv.containerID] = true
		if !keep[srv.containerID] {
			list = append(list, srv)
		} else {
			// It fails only if the folder that holds the container's
			// use lock went away; the container is then taken for one
			// a killed apply left, which costs a start.
			s.locks.markKept(srv.containerID)
		}
	}
	started := s.started
	s.started = nil
	clear(s.running)
	s.mu.Unlock()
	// Marked kept before its use locks go, so that no one sees it unused
	// and unkept.
	for _, srv := range started {
		if srv.use != nil {
			srv.use.Close()
		}
	}
	var errs []error
	for _, srv := range list {
		excl, unused, err := s.locks.tryLock(useLock(srv.containerID), syscall.LOCK_EX)
		if err == nil && !unused {
			continue
		}
		sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
		timeout := 10
		_, err = srv.docker.ContainerStop(sctx, srv.containerID, mobyclient.ContainerStopOptions{Timeout: &timeout})
		_, rerr := srv.docker.ContainerRemove(sctx, srv.containerID, mobyclient.ContainerRemoveOptions{Force: true})
		if rerr != nil && err == nil {
			err = rerr
		}
		cancel()
		if excl != nil {
			if rerr == nil {
				s.locks.forget(srv.containerID)
			}
			excl.Close()
		}
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
