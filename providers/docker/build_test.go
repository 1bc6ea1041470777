package docker

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/containerd/console"
	bkclient "github.com/moby/buildkit/client"
	digest "github.com/opencontainers/go-digest"
	"github.com/sdform/sdform/providers"
)

func TestSolveOpt(t *testing.T) {
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{"ctx/Dockerfile": "FROM scratch\n", "docker/Dockerfile.gpu": "FROM scratch\n", "weights/w": "w"})
	cfg := &imageConfig{
		ContextDir: filepath.Join(dir, "ctx"), Dockerfile: filepath.Join(dir, "docker/Dockerfile.gpu"),
		Target: "final", Platform: "linux/amd64", NoCache: true,
		Args: map[string]string{"V": "fp8"}, Labels: map[string]string{"l": "v"},
		Secrets:   map[string]string{"hf_token": "s3cret"},
		Contexts:  map[string]string{"weights": filepath.Join(dir, "weights")},
		CacheFrom: []string{"127.0.0.1:5000/c:cache"}, CacheTo: []string{"type=registry,ref=ghcr.io/o/c:cache,mode=min"},
		Push: true,
	}
	names := []string{"127.0.0.1:5000/r:t-sdform-candidate"}
	for name, tc := range map[string]struct {
		engine bool
		caps   capabilities
		export string
		attrs  map[string]string
	}{
		"engine, bridge-less": {engine: true, caps: capabilities{hostNetwork: true}, export: "moby",
			attrs: map[string]string{"name": names[0]}},
		"standalone": {caps: capabilities{infoAPI: true}, export: "image",
			attrs: map[string]string{"name": names[0], "push": "true", "registry.insecure": "true"}},
	} {
		t.Run(name, func(t *testing.T) {
			b := &builder{engineStore: tc.engine, caps: tc.caps}
			opt, err := solveOpt(b, cfg, names)
			if err != nil {
				t.Fatal(err)
			}
			want := map[string]string{"filename": "Dockerfile.gpu", "target": "final", "platform": "linux/amd64", "no-cache": "",
				"build-arg:V": "fp8", "label:l": "v", "context:weights": "local:named-weights"}
			if tc.caps.hostNetwork {
				want["force-network-mode"] = "host"
			}
			if len(opt.FrontendAttrs) != len(want) {
				t.Errorf("frontend attrs = %v, want %v", opt.FrontendAttrs, want)
			}
			for k, v := range want {
				if got, ok := opt.FrontendAttrs[k]; !ok || got != v {
					t.Errorf("attr %s = %q, want %q", k, got, v)
				}
			}
			for k, v := range opt.FrontendAttrs {
				if strings.Contains(k+v, "s3cret") || strings.Contains(k, "hf_token") {
					t.Errorf("secret leaked into frontend attrs: %s=%s", k, v)
				}
			}
			if got := strings.Join(opt.AllowedEntitlements, ","); (got == "network.host") != tc.caps.hostNetwork {
				t.Errorf("entitlements = %q with hostNetwork %v", got, tc.caps.hostNetwork)
			}
			if len(opt.Exports) != 1 || opt.Exports[0].Type != tc.export {
				t.Fatalf("exports = %+v", opt.Exports)
			}
			if got := opt.Exports[0].Attrs; len(got) != len(tc.attrs) {
				t.Errorf("export attrs = %v, want %v", got, tc.attrs)
			}
			for _, m := range []string{"context", "dockerfile", "named-weights"} {
				if _, ok := opt.LocalMounts[m]; !ok {
					t.Errorf("no local mount %q", m)
				}
			}
			if len(opt.Session) != 2 {
				t.Errorf("session attachables = %d, want auth and secrets", len(opt.Session))
			}
			imp, exp := opt.CacheImports, opt.CacheExports
			if len(imp) != 1 || imp[0].Attrs["ref"] != "127.0.0.1:5000/c:cache" || imp[0].Attrs["registry.insecure"] != "true" {
				t.Errorf("cache imports = %+v", imp)
			}
			if len(exp) != 1 || exp[0].Type != "registry" || exp[0].Attrs["mode"] != "min" || exp[0].Attrs["registry.insecure"] != "" {
				t.Errorf("cache exports = %+v", exp)
			}
		})
	}
}

func TestRegistryHost(t *testing.T) {
	for ref, want := range map[string]string{
		"busybox":                     "docker.io",
		"runpod/steadydancer:fp8":     "docker.io",
		"127.0.0.1:5000/base:busybox": "127.0.0.1:5000",
		"localhost/x":                 "localhost",
		"ghcr.io/o/r:t":               "ghcr.io",
	} {
		if got := registryHost(ref); got != want {
			t.Errorf("registryHost(%q) = %q, want %q", ref, got, want)
		}
	}
}

func TestStepsOfAndFailure(t *testing.T) {
	v := func(name string, cached bool, errMsg string) *bkclient.Vertex {
		return &bkclient.Vertex{Digest: digest.FromString(name), Name: name, Cached: cached, Error: errMsg}
	}
	vertices := []*bkclient.Vertex{
		v("[internal] load build context", false, ""),
		v("[deps 1/2] FROM docker.io/library/busybox:latest", true, ""),
		v("[stage-1 3/3] RUN make", false, "process \"/bin/sh -c make\" did not complete successfully: exit code: 2"),
		v("[deps 2/2] RUN echo deps", true, ""),
		v("[stage-1 2/3] COPY --from=deps /deps /deps", true, ""),
	}
	var got []string
	for _, s := range stepsOf(vertices) {
		got = append(got, s.Name)
	}
	want := []string{"[stage-1 2/3] COPY --from=deps /deps /deps", "[stage-1 3/3] RUN make", "[deps 2/2] RUN echo deps"}
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Errorf("stepsOf = %q, want %q", got, want)
	}

	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{"Dockerfile": "FROM busybox AS deps\nRUN echo deps\nFROM busybox\nCOPY --from=deps /deps /deps\nRUN   make\n"})
	err := describeFailure(errors.New("exit code: 2"), vertices, &imageConfig{Dockerfile: filepath.Join(dir, "Dockerfile"), DockerfileRel: "Dockerfile"})
	if msg := err.Error(); msg != `build failed at step "[stage-1 3/3] RUN make" (Dockerfile:5): exit code: 2` {
		t.Errorf("describeFailure = %q", msg)
	}
}

// frame is one frame of the Engine's multiplexed attach stream.
func frame(stream byte, payload string) []byte {
	hdr := make([]byte, 8)
	hdr[0] = stream
	binary.BigEndian.PutUint32(hdr[4:], uint32(len(payload)))
	return append(hdr, payload...)
}

func TestDemuxReader(t *testing.T) {
	var in bytes.Buffer
	in.Write(frame(1, "hello "))
	in.Write(frame(2, "warning on stderr"))
	in.Write(frame(1, "world"))
	got, err := io.ReadAll(newDemuxReader(&in))
	if err != nil || string(got) != "hello world" {
		t.Errorf("read %q, %v", got, err)
	}

	for name, stream := range map[string][]byte{
		"cut inside a header": append(frame(2, "buildctl: not found\n"), frame(1, "abc")[:5]...),
		"ended before stdout": frame(2, "buildctl: not found\n"),
	} {
		_, err = io.ReadAll(newDemuxReader(bytes.NewReader(stream)))
		if err == nil || !strings.Contains(err.Error(), "buildctl: not found") {
			t.Errorf("%s: %v", name, err)
		}
	}
}

// statusStream feeds a fake build's status like Solve does.
func statusStream(ch chan *bkclient.SolveStatus, names ...string) {
	now := time.Now()
	for _, n := range names {
		v := &bkclient.Vertex{Digest: digest.FromString(n), Name: n, Started: &now}
		ch <- &bkclient.SolveStatus{Vertexes: []*bkclient.Vertex{v}}
		done := *v
		done.Completed = &now
		done.Cached = strings.Contains(n, "cached")
		ch <- &bkclient.SolveStatus{Vertexes: []*bkclient.Vertex{&done}}
	}
	close(ch)
}

func TestShowProgressPlain(t *testing.T) {
	p := New().(*Provider)
	var out syncBuffer
	log := &vertexLog{}
	ch, wait := p.showProgress("docker_image.a", providers.UI{Out: &out}, log)
	statusStream(ch, "[1/2] RUN cached step", "[2/2] COPY . /src")
	wait()
	if s := out.String(); !strings.Contains(s, "[2/2] COPY . /src") || !strings.Contains(s, "CACHED") {
		t.Errorf("plain output:\n%s", s)
	}
	vs := log.list()
	if len(vs) != 2 || !vs[0].Cached || vs[1].Cached || vs[1].Completed == nil {
		t.Errorf("vertex log = %+v", vs)
	}
}

func TestShowProgressJSON(t *testing.T) {
	p := New().(*Provider)
	var out syncBuffer
	ch, wait := p.showProgress("docker_image.a", providers.UI{Out: &out, JSON: true}, &vertexLog{})
	statusStream(ch, "[1/1] RUN make")
	wait()
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	if len(lines) == 0 {
		t.Fatal("no output")
	}
	for _, l := range lines {
		var v map[string]any
		if err := json.Unmarshal([]byte(l), &v); err != nil {
			t.Fatalf("line %q is not JSON: %v", l, err)
		}
	}
	if !strings.Contains(out.String(), `"name":"[1/1] RUN make"`) {
		t.Errorf("rawjson output lacks the vertex:\n%s", out.String())
	}
}

// unwrapper is a writer over another, as the engine's prefix writer is.
type unwrapper struct {
	io.Writer
	under io.Writer
}

func (u unwrapper) Unwrap() io.Writer { return u.under }

// TestShowProgressSharedTerminal runs two builds on one pseudo-terminal:
// one display, every vertex prefixed with its resource's address.
func TestShowProgressSharedTerminal(t *testing.T) {
	pty, slavePath, err := console.NewPty()
	if err != nil {
		t.Skipf("no pseudo-terminal: %v", err)
	}
	defer pty.Close()
	slave, err := os.OpenFile(slavePath, os.O_RDWR, 0)
	if err != nil {
		t.Skipf("open %s: %v", slavePath, err)
	}
	defer slave.Close()
	var screen syncBuffer
	copied := make(chan struct{})
	go func() { io.Copy(&screen, pty); close(copied) }()

	p := New().(*Provider)
	var wg sync.WaitGroup
	for _, addr := range []string{"docker_image.a", "docker_image.b"} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			// The engine's prefixing writer, unwrapping to the terminal.
			out := unwrapper{Writer: &syncBuffer{}, under: slave}
			ch, wait := p.showProgress(addr, providers.UI{Out: out, Terminal: true}, &vertexLog{})
			statusStream(ch, "[1/1] RUN build "+addr)
			wait()
		}()
	}
	wg.Wait()
	if p.progress.users != 0 || p.progress.ch != nil {
		t.Errorf("display still open: %d users", p.progress.users)
	}
	deadline := time.Now().Add(2 * time.Second)
	for time.Now().Before(deadline) && !(strings.Contains(screen.String(), "[docker_image.a] [1/1] RUN build") && strings.Contains(screen.String(), "[docker_image.b] [1/1] RUN build")) {
		time.Sleep(20 * time.Millisecond)
	}
	if s := screen.String(); !strings.Contains(s, "[docker_image.a] [1/1] RUN build") || !strings.Contains(s, "[docker_image.b] [1/1] RUN build") {
		t.Errorf("terminal output lacks a prefixed vertex:\n%q", s)
	}
}
