package comfyui

import (
	"archive/tar"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	mobyclient "github.com/moby/moby/client"
	"github.com/zclconf/go-cty/cty"

	"github.com/sdform/sdform/internal/testenv"
	"github.com/sdform/sdform/providers"
	"github.com/sdform/sdform/providers/comfyui/comfytest"
)

// buildFakeImage builds cmd/comfyui-fake as a static binary and an image
// FROM the Engine's busybox base holding it, through the Engine's /build
// API with a tar context. It returns the image id.
func buildFakeImage(t *testing.T, dc *mobyclient.Client, base string) string {
	t.Helper()
	return buildFakeImageAs(t, dc, base, fmt.Sprintf("sdform-test/comfyui-fake:%d", time.Now().UnixNano()), "")
}

// buildFakeImageAs builds the fake's image under tag, with extra lines at
// the end of its Dockerfile (another image under the same tag).
func buildFakeImageAs(t *testing.T, dc *mobyclient.Client, base, tag, extra string) string {
	t.Helper()
	ctx := context.Background()
	bin := filepath.Join(t.TempDir(), "comfyui-fake")
	cmd := exec.Command("go", "build", "-trimpath", "-o", bin, "github.com/sdform/sdform/cmd/comfyui-fake")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("build comfyui-fake: %v\n%s", err, out)
	}
	exe, err := os.ReadFile(bin)
	if err != nil {
		t.Fatal(err)
	}
	var ctxTar bytes.Buffer
	tw := tar.NewWriter(&ctxTar)
	for _, f := range []struct {
		name string
		mode int64
		data []byte
	}{
		{"Dockerfile", 0o644, []byte("FROM " + base + "\nCOPY comfyui-fake /comfyui-fake\nCMD [\"/comfyui-fake\"]\n" + extra)},
		{"comfyui-fake", 0o755, exe},
	} {
		if err := tw.WriteHeader(&tar.Header{Name: f.name, Mode: f.mode, Size: int64(len(f.data)), ModTime: time.Unix(0, 0)}); err != nil {
			t.Fatal(err)
		}
		tw.Write(f.data)
	}
	tw.Close()
	res, err := dc.ImageBuild(ctx, &ctxTar, mobyclient.ImageBuildOptions{Tags: []string{tag}, Dockerfile: "Dockerfile", Remove: true, ForceRemove: true})
	if err != nil {
		t.Fatalf("build image: %v", err)
	}
	defer res.Body.Close()
	dec := json.NewDecoder(res.Body)
	for {
		var m struct {
			Error  string `json:"error"`
			Stream string `json:"stream"`
		}
		if err := dec.Decode(&m); err == io.EOF {
			break
		} else if err != nil {
			t.Fatalf("read build output: %v", err)
		}
		if m.Error != "" {
			t.Fatalf("build image: %s", m.Error)
		}
	}
	img, err := dc.ImageInspect(ctx, tag)
	if err != nil {
		t.Fatalf("inspect %s: %v", tag, err)
	}
	t.Cleanup(func() { dc.ImageRemove(context.Background(), img.ID, mobyclient.ImageRemoveOptions{Force: true}) })
	return img.ID
}

func managedContainers(t *testing.T, dc *mobyclient.Client, image string) []string {
	t.Helper()
	res, err := dc.ContainerList(context.Background(), mobyclient.ContainerListOptions{All: true,
		Filters: mobyclient.Filters{}.Add("label", "dev.sdform.managed=true").Add("ancestor", image)})
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, c := range res.Items {
		ids = append(ids, c.ID+" "+string(c.State))
	}
	return ids
}

// TestWorkflowInContainer starts the fake server from an image on the CI
// Docker Engine through the provider's server management, runs the smoke
// workflow twice (one shared server), and checks that Close removes the
// container.
func TestWorkflowInContainer(t *testing.T) {
	host := testenv.DockerHost(t)
	base := testenv.DockerBaseImage(t)
	dc, err := mobyclient.New(mobyclient.WithHost(host))
	if err != nil {
		t.Fatal(err)
	}
	defer dc.Close()
	image := buildFakeImage(t, dc, base)

	e := newWfEnv(t)
	e.copyFile("workflows/smoke.json", "testdata/workflow/smoke-api.json")
	if err := os.MkdirAll(filepath.Join(e.dir, "models", "checkpoints"), 0o755); err != nil {
		t.Fatal(err)
	}
	cfg := wfCfg(map[string]cty.Value{
		"image":         cty.StringVal(image),
		"command":       cty.ListVal([]cty.Value{cty.StringVal("/comfyui-fake"), cty.StringVal("--listen"), cty.StringVal("127.0.0.1"), cty.StringVal("--port"), cty.StringVal("{port}")}),
		"gpus":          cty.StringVal("none"),
		"docker_host":   cty.StringVal(host),
		"workflow":      cty.StringVal("workflows/smoke.json"),
		"ready_timeout": cty.StringVal("60s"),
		"timeout":       cty.StringVal("60s"),
	}, map[string]cty.Value{"kind": cty.StringVal("image"), "min_count": cty.NumberIntVal(6)})
	pr := e.plan(noWf(), cfg)
	if pr.Diagnostics.HasErrors() || !strings.Contains(strings.Join(pr.Details, ""), "checked against the server's /object_info when it has started from the image") {
		t.Fatalf("plan: %q %s", pr.Details, diagsText(pr.Diagnostics))
	}
	var out bytes.Buffer
	start := time.Now()
	ar := e.apply(context.Background(), noWf(), cfg, pr, &out)
	if ar.Diagnostics.HasErrors() {
		t.Fatalf("apply: %s\n%s", diagsText(ar.Diagnostics), out.String())
	}
	t.Logf("first run in the container: %s\n%s", time.Since(start).Round(time.Millisecond), out.String())
	st := ar.NewState
	if st.GetAttr("outputs").LengthInt() != 7 || !strings.HasPrefix(st.GetAttr("server").GetAttr("url").AsString(), "http://127.0.0.1:") {
		t.Errorf("state: %d outputs, server %v", st.GetAttr("outputs").LengthInt(), st.GetAttr("server"))
	}
	running := managedContainers(t, dc, image)
	if len(running) != 1 || !strings.HasSuffix(running[0], " running") {
		t.Fatalf("containers after the run: %v", running)
	}
	ci, err := dc.ContainerInspect(context.Background(), strings.Fields(running[0])[0], mobyclient.ContainerInspectOptions{})
	if err != nil {
		t.Fatal(err)
	}
	hc := ci.Container.HostConfig
	if want := filepath.Join(e.dir, "models") + ":/opt/ComfyUI/models:ro"; len(hc.Binds) != 1 || hc.Binds[0] != want || hc.NetworkMode != "host" || len(hc.DeviceRequests) != 0 {
		t.Errorf("host config: binds %v (want %s), network %s, device requests %v", hc.Binds, want, hc.NetworkMode, hc.DeviceRequests)
	}
	// A second run in the same apply reuses the server.
	out.Reset()
	ar2 := e.apply(context.Background(), noWf(), cfg, pr, &out)
	if ar2.Diagnostics.HasErrors() || strings.Contains(out.String(), "starting") || ar2.NewState.GetAttr("cached").LengthInt() != 4 {
		t.Errorf("second run: %s\n%s", diagsText(ar2.Diagnostics), out.String())
	}
	// A third names the image by a tag: the same image id, so the same
	// server, without a second container.
	tag := fmt.Sprintf("sdform-test/comfyui-fake:tagged-%d", time.Now().UnixNano())
	if _, err := dc.ImageTag(context.Background(), mobyclient.ImageTagOptions{Source: image, Target: tag}); err != nil {
		t.Fatal(err)
	}
	byTag := wfCfg(map[string]cty.Value{
		"image": cty.StringVal(tag), "command": cfg.GetAttr("command"), "gpus": cty.StringVal("none"), "docker_host": cty.StringVal(host),
		"workflow": cty.StringVal("workflows/smoke.json"), "ready_timeout": cty.StringVal("60s"), "timeout": cty.StringVal("60s"),
	}, nil)
	out.Reset()
	if ar3 := e.apply(context.Background(), noWf(), byTag, e.plan(noWf(), byTag), &out); ar3.Diagnostics.HasErrors() || strings.Contains(out.String(), "starting") {
		t.Errorf("run by tag: %s\n%s", diagsText(ar3.Diagnostics), out.String())
	}
	if err := e.p.Close(); err != nil {
		t.Fatal(err)
	}
	if left := managedContainers(t, dc, image); len(left) != 0 {
		t.Errorf("containers left after Close: %v", left)
	}
}

// TestContainerFailureShowsLog starts a container that exits at once: the
// error says so and quotes its log.
func TestContainerFailureShowsLog(t *testing.T) {
	host := testenv.DockerHost(t)
	base := testenv.DockerBaseImage(t)
	dc, err := mobyclient.New(mobyclient.WithHost(host))
	if err != nil {
		t.Fatal(err)
	}
	defer dc.Close()
	e := newWfEnv(t)
	e.copyFile("workflows/smoke.json", "testdata/workflow/smoke-api.json")
	cfg := wfCfg(map[string]cty.Value{
		"image":         cty.StringVal(base),
		"command":       cty.ListVal([]cty.Value{cty.StringVal("sh"), cty.StringVal("-c"), cty.StringVal("echo loading nodes; echo 'ModuleNotFoundError: No module named torch' >&2; exit 3")}),
		"gpus":          cty.StringVal("none"),
		"docker_host":   cty.StringVal(host),
		"workflow":      cty.StringVal("workflows/smoke.json"),
		"ready_timeout": cty.StringVal("30s"),
	}, nil)
	start := time.Now()
	ar := e.apply(context.Background(), noWf(), cfg, e.plan(noWf(), cfg), &bytes.Buffer{})
	text := diagsText(ar.Diagnostics)
	for _, want := range []string{"exited with status 3 before it was ready", "lines of the container's log:", "loading nodes", "No module named torch"} {
		if !strings.Contains(text, want) {
			t.Errorf("diagnostics lack %q:\n%s", want, text)
		}
	}
	if d := time.Since(start); d > 25*time.Second {
		t.Errorf("the failure took %s to notice", d)
	}
	e.p.Close()
	if left := managedContainers(t, dc, base); len(left) != 0 {
		t.Errorf("containers left after Close: %v", left)
	}
}

// engine is the CI Docker Engine and its busybox base image.
type engine struct {
	host, base string
	dc         *mobyclient.Client
}

func newEngine(t *testing.T) *engine {
	t.Helper()
	host := testenv.DockerHost(t)
	base := testenv.DockerBaseImage(t)
	dc, err := mobyclient.New(mobyclient.WithHost(host))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { dc.Close() })
	return &engine{host: host, base: base, dc: dc}
}

// fakeCfg runs the smoke workflow on the fake server started from image,
// with extra fake flags (args) and attributes.
func (g *engine) fakeCfg(image string, attrs map[string]cty.Value, args ...string) cty.Value {
	cmd := []cty.Value{cty.StringVal("/comfyui-fake"), cty.StringVal("--listen"), cty.StringVal("127.0.0.1"), cty.StringVal("--port"), cty.StringVal("{port}")}
	for _, a := range args {
		cmd = append(cmd, cty.StringVal(a))
	}
	a := map[string]cty.Value{
		"image": cty.StringVal(image), "command": cty.ListVal(cmd), "gpus": cty.StringVal("none"), "docker_host": cty.StringVal(g.host),
		"workflow": cty.StringVal("workflows/smoke.json"), "ready_timeout": cty.StringVal("60s"), "timeout": cty.StringVal("60s"),
	}
	for k, v := range attrs {
		a[k] = v
	}
	return wfCfg(a, nil)
}

// removeAtEnd removes the managed containers of image when the test ends,
// whatever it left running.
func (g *engine) removeAtEnd(t *testing.T, image string) {
	t.Cleanup(func() {
		for _, c := range managedContainers(t, g.dc, image) {
			g.dc.ContainerRemove(context.Background(), strings.Fields(c)[0], mobyclient.ContainerRemoveOptions{Force: true})
		}
	})
}

// next is the same configuration directory with a new provider: the next
// sdform command.
func (e *wfEnv) next() *wfEnv {
	e.t.Helper()
	p := New().(*Provider)
	resp := p.Configure(context.Background(), providers.ConfigureRequest{
		Config: cty.NullVal(providerSchema.ImpliedType()),
		Env:    providers.Env{ConfigDir: e.dir, DataDir: filepath.Join(e.dir, ".sdform")},
	})
	if resp.Diagnostics.HasErrors() {
		e.t.Fatalf("Configure: %v", resp.Diagnostics)
	}
	e.t.Cleanup(func() { p.Close() })
	return &wfEnv{t: e.t, dir: e.dir, p: p}
}

func freeTCPPort(t *testing.T) int {
	t.Helper()
	port, err := freePort()
	if err != nil {
		t.Fatal(err)
	}
	return port
}

// TestKeptServerReusedAcrossApplies keeps the server of a fixed port
// running after an apply: the next apply reuses it (no name or port
// conflict), and once keep_running is off, that apply stops it at its end.
func TestKeptServerReusedAcrossApplies(t *testing.T) {
	g := newEngine(t)
	image := buildFakeImage(t, g.dc, g.base)
	g.removeAtEnd(t, image)
	port := cty.NumberIntVal(int64(freeTCPPort(t)))
	kept := g.fakeCfg(image, map[string]cty.Value{"keep_running": cty.True, "port": port})

	e := newWfEnv(t)
	e.copyFile("workflows/smoke.json", "testdata/workflow/smoke-api.json")
	var out bytes.Buffer
	if ar := e.apply(context.Background(), noWf(), kept, e.plan(noWf(), kept), &out); ar.Diagnostics.HasErrors() {
		t.Fatalf("first apply: %s\n%s", diagsText(ar.Diagnostics), out.String())
	}
	if !strings.Contains(out.String(), "keeps running after the apply (keep_running); the next apply reuses it") {
		t.Errorf("the first apply does not say the server is kept:\n%s", out.String())
	}
	if err := e.p.Close(); err != nil {
		t.Fatal(err)
	}
	first := managedContainers(t, g.dc, image)
	if len(first) != 1 || !strings.HasSuffix(first[0], " running") {
		t.Fatalf("after the first apply: %v", first)
	}

	e2 := e.next()
	out.Reset()
	ar := e2.apply(context.Background(), noWf(), kept, e2.plan(noWf(), kept), &out)
	if ar.Diagnostics.HasErrors() {
		t.Fatalf("second apply: %s\n%s", diagsText(ar.Diagnostics), out.String())
	}
	if !strings.Contains(out.String(), "comfyui server: reusing sdform-comfyui-") || strings.Contains(out.String(), "starting") || ar.NewState.GetAttr("cached").LengthInt() != 4 {
		t.Errorf("second apply did not reuse the kept server (cached %v):\n%s", ar.NewState.GetAttr("cached"), out.String())
	}
	e2.p.Close()
	if now := managedContainers(t, g.dc, image); len(now) != 1 || now[0] != first[0] {
		t.Errorf("containers %v, want the same %v", now, first)
	}

	// keep_running off: reused once more, then stopped.
	e3 := e.next()
	out.Reset()
	notKept := g.fakeCfg(image, map[string]cty.Value{"port": port})
	if ar := e3.apply(context.Background(), noWf(), notKept, e3.plan(noWf(), notKept), &out); ar.Diagnostics.HasErrors() {
		t.Fatalf("third apply: %s\n%s", diagsText(ar.Diagnostics), out.String())
	}
	if !strings.Contains(out.String(), "is stopped after this apply (keep_running is off)") {
		t.Errorf("third apply:\n%s", out.String())
	}
	e3.p.Close()
	if left := managedContainers(t, g.dc, image); len(left) != 0 {
		t.Errorf("containers left: %v", left)
	}
}

// TestMovedTagReruns points the workflow's image tag at another image: the
// plan says the tag moved, and the apply replaces the server kept on the
// same port for the old image with one from the new.
func TestMovedTagReruns(t *testing.T) {
	g := newEngine(t)
	tag := fmt.Sprintf("sdform-test/comfyui-fake:moved-%d", time.Now().UnixNano())
	old := buildFakeImageAs(t, g.dc, g.base, tag, "")
	g.removeAtEnd(t, old)
	cfg := g.fakeCfg(tag, map[string]cty.Value{"keep_running": cty.True, "port": cty.NumberIntVal(int64(freeTCPPort(t)))})
	e := newWfEnv(t)
	e.copyFile("workflows/smoke.json", "testdata/workflow/smoke-api.json")
	var out bytes.Buffer
	ar := e.apply(context.Background(), noWf(), cfg, e.plan(noWf(), cfg), &out)
	if ar.Diagnostics.HasErrors() {
		t.Fatalf("apply: %s\n%s", diagsText(ar.Diagnostics), out.String())
	}
	e.p.Close()
	prior := wfObject{value: ar.NewState, private: ar.Private}
	e2 := e.next()
	if pr := e2.plan(prior, cfg); pr.Reason != "up to date" || pr.Diagnostics.HasErrors() {
		t.Fatalf("plan before the tag moved: %q %s", pr.Reason, diagsText(pr.Diagnostics))
	}

	moved := buildFakeImageAs(t, g.dc, g.base, tag, "LABEL dev.sdform.test=moved\n")
	g.removeAtEnd(t, moved)
	if moved == old {
		t.Fatal("the second build gave the same image")
	}
	pr := e2.plan(prior, cfg)
	want := fmt.Sprintf("image %s now names %s, not %s", tag, shortID(moved), shortID(old))
	if pr.Reason != want || len(pr.RequiresReplace) != 1 {
		t.Fatalf("plan after the tag moved: %q, want %q", pr.Reason, want)
	}
	out.Reset()
	ar2 := e2.apply(context.Background(), prior, cfg, pr, &out)
	if ar2.Diagnostics.HasErrors() {
		t.Fatalf("apply after the tag moved: %s\n%s", diagsText(ar2.Diagnostics), out.String())
	}
	if !strings.Contains(out.String(), "kept by an earlier apply for another image or settings on port") || !strings.Contains(out.String(), "(image "+shortID(moved)+")") {
		t.Errorf("apply output:\n%s", out.String())
	}
	e2.p.Close()
	// The new image is built on the old one, so "ancestor" filters
	// would match both: compare the containers' image ids.
	byImage := map[string]int{}
	res, err := g.dc.ContainerList(context.Background(), mobyclient.ContainerListOptions{All: true, Filters: mobyclient.Filters{}.Add("label", labelManaged+"=true")})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range res.Items {
		byImage[c.ImageID]++
	}
	if byImage[old] != 0 || byImage[moved] != 1 {
		t.Errorf("containers by image: %v; want none of %s and one of %s", byImage, shortID(old), shortID(moved))
	}
	if pr := e.next().plan(wfObject{value: ar2.NewState, private: ar2.Private}, cfg); pr.Reason != "up to date" {
		t.Errorf("plan after the re-run: %q", pr.Reason)
	}
}

// TestContainerRunFailures covers runs that fail on a container server:
// a node that raises and a container that dies mid-run show the last
// lines of the container's log; a cancelled apply (Ctrl-C) removes the
// container at once, without waiting for Close.
func TestContainerRunFailures(t *testing.T) {
	g := newEngine(t)
	image := buildFakeImage(t, g.dc, g.base)
	g.removeAtEnd(t, image)
	for name, c := range map[string]struct {
		args []string
		// during runs once node 2 executes; true cancels the apply.
		during func(t *testing.T) bool
		want   []string
	}{
		"node raises": {
			args: []string{"--fail-class", "ImageInvert"},
			want: []string{"node 2 (ImageInvert) raised", "last 50 lines of the server container's log:", "got prompt", "!!! Exception during processing !!!"},
		},
		"container killed": {
			args: []string{"--hang-class", "ImageInvert"},
			during: func(t *testing.T) bool {
				running := managedContainers(t, g.dc, image)
				if len(running) != 1 {
					t.Fatalf("containers: %v", running)
				}
				if _, err := g.dc.ContainerKill(context.Background(), strings.Fields(running[0])[0], mobyclient.ContainerKillOptions{Signal: "KILL"}); err != nil {
					t.Fatal(err)
				}
				return false
			},
			want: []string{"the ComfyUI container exited with status 137 during the run", "last 50 lines of the server container's log:", "got prompt"},
		},
		"cancelled": {
			args:   []string{"--hang-class", "ImageInvert"},
			during: func(*testing.T) bool { return true },
			want:   []string{"run cancelled (prompt ", "interrupted)"},
		},
	} {
		t.Run(name, func(t *testing.T) {
			e := newWfEnv(t)
			e.copyFile("workflows/smoke.json", "testdata/workflow/smoke-api.json")
			cfg := g.fakeCfg(image, nil, c.args...)
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			out := &syncBuffer{}
			done := make(chan struct{})
			go func() {
				defer close(done)
				if c.during == nil {
					return
				}
				for i := 0; i < 1000 && !strings.Contains(out.String(), "node 2 (ImageInvert)"); i++ {
					time.Sleep(10 * time.Millisecond)
				}
				if c.during(t) {
					cancel()
				}
			}()
			start := time.Now()
			ar := e.p.ApplyResource(ctx, providers.ApplyRequest{TypeName: "comfyui_workflow", Address: wfAddr, Action: providers.Create,
				Prior: noWf().value, Planned: cfg, Config: cfg, UI: providers.UI{Out: out}})
			<-done
			text := diagsText(ar.Diagnostics)
			if !ar.Diagnostics.HasErrors() {
				t.Fatalf("apply passed:\n%s", out.String())
			}
			for _, w := range c.want {
				if !strings.Contains(text, w) {
					t.Errorf("diagnostics lack %q:\n%s", w, text)
				}
			}
			if d := time.Since(start); d > 30*time.Second {
				t.Errorf("the failure took %s (the run's timeout is 60s)", d)
			}
			if name == "cancelled" {
				if left := managedContainers(t, g.dc, image); len(left) != 0 {
					t.Errorf("containers left after a cancelled apply, before Close: %v", left)
				}
			}
			e.p.Close()
			if left := managedContainers(t, g.dc, image); len(left) != 0 {
				t.Errorf("containers left after Close: %v", left)
			}
		})
	}
}

// TestStopAllDuringLaunch stops every server again and again while one
// starts (two runs of an apply, one cancelled as the other's container is
// created): nothing panics, and no container outlives close.
func TestStopAllDuringLaunch(t *testing.T) {
	g := newEngine(t)
	s := newServers()
	spec := serverSpec{Image: g.base, Command: []string{"sh", "-c", "trap 'exit 0' TERM; while true; do sleep 1; done"}, GPUs: "none", DockerHost: g.host}
	done := make(chan error, 1)
	go func() {
		_, err := s.start(context.Background(), spec, 3*time.Second, io.Discard)
		done <- err
	}()
	deadline := time.After(20 * time.Second)
loop:
	for {
		select {
		case err := <-done:
			if err == nil {
				t.Error("a server that never answers was ready")
			}
			break loop
		case <-deadline:
			t.Fatal("start did not return")
		default:
			s.stopAll(context.Background())
			time.Sleep(time.Millisecond)
		}
	}
	if err := s.close(); err != nil {
		t.Error(err)
	}
	if left := managedContainers(t, g.dc, g.base); len(left) != 0 {
		t.Errorf("containers left: %v", left)
	}
}

// TestPortHeldByAnotherServer sets the port of a server that is already
// taken by another ComfyUI (one started by hand): the apply fails before
// anything is submitted, rather than running the workflow on that server.
func TestPortHeldByAnotherServer(t *testing.T) {
	g := newEngine(t)
	other, url := comfytest.Start(t, comfytest.Options{})
	_, portStr, _ := strings.Cut(strings.TrimPrefix(url, "http://127.0.0.1"), ":")
	port, err := strconv.Atoi(portStr)
	if err != nil {
		t.Fatal(err)
	}
	e := newWfEnv(t)
	e.copyFile("workflows/smoke.json", "testdata/workflow/smoke-api.json")
	// The container itself would start fine, and never listen.
	cfg := g.fakeCfg(g.base, map[string]cty.Value{"port": cty.NumberIntVal(int64(port)), "ready_timeout": cty.StringVal("10s"),
		"command": cty.ListVal([]cty.Value{cty.StringVal("sh"), cty.StringVal("-c"), cty.StringVal("trap 'exit 0' TERM; sleep 30")})})
	var out bytes.Buffer
	ar := e.apply(context.Background(), noWf(), cfg, e.plan(noWf(), cfg), &out)
	text := diagsText(ar.Diagnostics)
	if !ar.Diagnostics.HasErrors() || !strings.Contains(text, fmt.Sprintf("start ComfyUI on 127.0.0.1:%d: another process holds the port", port)) {
		t.Errorf("apply: %s\n%s", text, out.String())
	}
	if n := countPosts(other); n != 0 {
		t.Errorf("the other server got %d prompts", n)
	}
	e.p.Close()
	if left := managedContainers(t, g.dc, g.base); len(left) != 0 {
		t.Errorf("containers left: %v", left)
	}
}

// TestGPURequests starts servers on the CI Engine, which has no NVIDIA
// runtime: "auto" says so and starts without GPUs; "all" asks the Engine
// for every GPU, and its refusal is the error.
func TestGPURequests(t *testing.T) {
	g := newEngine(t)
	image := buildFakeImage(t, g.dc, g.base)
	g.removeAtEnd(t, image)
	e := newWfEnv(t)
	e.copyFile("workflows/smoke.json", "testdata/workflow/smoke-api.json")
	var out bytes.Buffer
	auto := g.fakeCfg(image, map[string]cty.Value{"gpus": cty.StringVal("auto")})
	if ar := e.apply(context.Background(), noWf(), auto, e.plan(noWf(), auto), &out); ar.Diagnostics.HasErrors() {
		t.Fatalf("auto: %s\n%s", diagsText(ar.Diagnostics), out.String())
	}
	if !strings.Contains(out.String(), "the Docker Engine has no NVIDIA runtime: the server runs without GPUs") || !strings.Contains(out.String(), "(GPUs: false)") {
		t.Errorf("auto:\n%s", out.String())
	}
	all := g.fakeCfg(image, map[string]cty.Value{"gpus": cty.StringVal("all")})
	ar := e.apply(context.Background(), noWf(), all, e.plan(noWf(), all), &out)
	if text := diagsText(ar.Diagnostics); !strings.Contains(text, "could not select device driver") || !strings.Contains(text, "[[gpu]]") {
		t.Errorf("all: %s", text)
	}
	e.p.Close()
	if left := managedContainers(t, g.dc, image); len(left) != 0 {
		t.Errorf("containers left: %v", left)
	}
}

// abandon lets the provider's server containers run on and their locks go,
// as an apply killed by a second Ctrl-C does.
func (e *wfEnv) abandon() {
	s := e.p.types["comfyui_workflow"].(*workflowType).servers
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, srv := range s.started {
		if srv.use != nil {
			srv.use.Close()
		}
	}
	s.started = nil
	clear(s.running)
}

func containerIDs(list []string) []string {
	var ids []string
	for _, c := range list {
		ids = append(ids, strings.Fields(c)[0])
	}
	return ids
}

// TestLeftoverServersRemoved leaves a server container running as a killed
// apply does: the next plan of its workflow warns of it, and the next apply
// that runs the workflow removes it, even with other settings (another
// container key); a container another apply uses, or one kept running, is
// left alone. Destroy removes them all.
func TestLeftoverServersRemoved(t *testing.T) {
	g := newEngine(t)
	image := buildFakeImage(t, g.dc, g.base)
	g.removeAtEnd(t, image)
	e := newWfEnv(t)
	e.copyFile("workflows/smoke.json", "testdata/workflow/smoke-api.json")
	first := g.fakeCfg(image, nil)
	other := g.fakeCfg(image, map[string]cty.Value{"env": cty.MapVal(map[string]cty.Value{"X": cty.StringVal("1")})})
	var out bytes.Buffer
	ar := e.apply(context.Background(), noWf(), first, e.plan(noWf(), first), &out)
	if ar.Diagnostics.HasErrors() {
		t.Fatalf("first apply: %s\n%s", diagsText(ar.Diagnostics), out.String())
	}
	e.abandon()
	left := managedContainers(t, g.dc, image)
	if len(left) != 1 || !strings.HasSuffix(left[0], " running") {
		t.Fatalf("containers after the killed apply: %v", left)
	}

	// Another workflow of the same configuration, running now, keeps its
	// own container: it is another's, and in use.
	busy := e.next()
	busyCfg := g.fakeCfg(image, map[string]cty.Value{"env": cty.MapVal(map[string]cty.Value{"BUSY": cty.StringVal("1")})})
	if br := busy.p.ApplyResource(context.Background(), providers.ApplyRequest{TypeName: "comfyui_workflow", Address: "comfyui_workflow.busy", Action: providers.Create,
		Prior: noWf().value, Planned: busyCfg, Config: busyCfg, UI: providers.UI{Out: &bytes.Buffer{}}}); br.Diagnostics.HasErrors() {
		t.Fatalf("busy apply: %s", diagsText(br.Diagnostics))
	}
	var busyIDs []string
	for _, id := range containerIDs(managedContainers(t, g.dc, image)) {
		if id != containerIDs(left)[0] {
			busyIDs = append(busyIDs, id)
		}
	}

	e2 := e.next()
	pr := e2.plan(wfObject{value: ar.NewState, private: ar.Private}, other)
	if text := diagsText(pr.Diagnostics); !strings.Contains(text, "[1] Server containers left behind: An earlier apply of this workflow was stopped before it could remove the server containers it started: sdform-comfyui-") ||
		strings.Count(text, "sdform-comfyui-") != 1 {
		t.Errorf("plan: %s", text)
	}
	out.Reset()
	ar2 := e2.apply(context.Background(), wfObject{value: ar.NewState, private: ar.Private}, other, pr, &out)
	if ar2.Diagnostics.HasErrors() {
		t.Fatalf("second apply: %s\n%s", diagsText(ar2.Diagnostics), out.String())
	}
	if !strings.Contains(out.String(), "which an earlier apply of comfyui_workflow.smoke left running: it was stopped before it could remove it") {
		t.Errorf("second apply does not say it removed the container:\n%s", out.String())
	}
	now := containerIDs(managedContainers(t, g.dc, image))
	if slices.Contains(now, containerIDs(left)[0]) || len(now) != 2 {
		t.Errorf("containers after the second apply: %v; the left one was %v", now, left)
	}
	for _, id := range busyIDs {
		if !slices.Contains(now, id) {
			t.Errorf("container %s, which another apply uses, was removed", id)
		}
	}
	busy.p.Close()

	// A container kept running, because another workflow that shared it
	// asked (keep_running), although its label says not to keep it: the
	// next apply of other settings leaves it; destroy removes it, and any
	// left running.
	e2.p.Close()
	kept := g.fakeCfg(image, map[string]cty.Value{"keep_running": cty.True})
	e3 := e.next()
	if ar := e3.apply(context.Background(), noWf(), first, e3.plan(noWf(), first), &out); ar.Diagnostics.HasErrors() {
		t.Fatalf("apply before the kept one: %s", diagsText(ar.Diagnostics))
	}
	if sr := e3.p.ApplyResource(context.Background(), providers.ApplyRequest{TypeName: "comfyui_workflow", Address: "comfyui_workflow.sharer", Action: providers.Create,
		Prior: noWf().value, Planned: kept, Config: kept, UI: providers.UI{Out: &bytes.Buffer{}}}); sr.Diagnostics.HasErrors() {
		t.Fatalf("kept apply: %s", diagsText(sr.Diagnostics))
	}
	e3.p.Close()
	if n := len(managedContainers(t, g.dc, image)); n != 1 {
		t.Fatalf("containers after keep_running: %d, want 1", n)
	}
	e4 := e.next()
	ar4 := e4.apply(context.Background(), noWf(), other, e4.plan(noWf(), other), &out)
	if ar4.Diagnostics.HasErrors() {
		t.Fatalf("apply after the kept one: %s", diagsText(ar4.Diagnostics))
	}
	e4.abandon()
	if n := len(managedContainers(t, g.dc, image)); n != 2 {
		t.Fatalf("containers before destroy: %d, want the kept one and a left one", n)
	}
	e5 := e.next()
	out.Reset()
	dr := e5.p.ApplyResource(context.Background(), providers.ApplyRequest{TypeName: "comfyui_workflow", Address: wfAddr, Action: providers.Delete,
		Prior: ar4.NewState, Planned: cty.NullVal(workflowSchema.ImpliedType()), Config: cty.NullVal(workflowSchema.ImpliedType()), UI: providers.UI{Out: &out}})
	if dr.Diagnostics.HasErrors() || !dr.NewState.IsNull() {
		t.Fatalf("destroy: %s", diagsText(dr.Diagnostics))
	}
	if !strings.Contains(out.String(), "kept running for comfyui_workflow.smoke (keep_running)") || !strings.Contains(out.String(), "left running: it was stopped before it could remove it") {
		t.Errorf("destroy output:\n%s", out.String())
	}
	if left := managedContainers(t, g.dc, image); len(left) != 0 {
		t.Errorf("containers after destroy: %v", left)
	}
}
