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
	"strings"
	"testing"
	"time"

	mobyclient "github.com/moby/moby/client"
	"github.com/zclconf/go-cty/cty"

	"github.com/sdform/sdform/internal/testenv"
)

// buildFakeImage builds cmd/comfyui-fake as a static binary and an image
// FROM the Engine's busybox base holding it, through the Engine's /build
// API with a tar context. It returns the image id.
func buildFakeImage(t *testing.T, dc *mobyclient.Client, base string) string {
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
		{"Dockerfile", 0o644, []byte("FROM " + base + "\nCOPY comfyui-fake /comfyui-fake\nCMD [\"/comfyui-fake\"]\n")},
		{"comfyui-fake", 0o755, exe},
	} {
		if err := tw.WriteHeader(&tar.Header{Name: f.name, Mode: f.mode, Size: int64(len(f.data)), ModTime: time.Unix(0, 0)}); err != nil {
			t.Fatal(err)
		}
		tw.Write(f.data)
	}
	tw.Close()
	tag := fmt.Sprintf("sdform-test/comfyui-fake:%d", time.Now().UnixNano())
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
	t.Cleanup(func() { dc.ImageRemove(context.Background(), tag, mobyclient.ImageRemoveOptions{Force: true}) })
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
