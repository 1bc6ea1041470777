package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	mobyclient "github.com/moby/moby/client"

	"github.com/sdform/sdform/internal/testenv"
)

// e2eDir copies testdata/comfyui-e2e into a fresh directory and builds the
// fake ComfyUI server (cmd/comfyui-fake) into its image's build context as
// a static binary, so that it runs on busybox.
func e2eDir(t *testing.T) string {
	t.Helper()
	src := filepath.Join("testdata", "comfyui-e2e")
	dst := filepath.Join(t.TempDir(), "comfyui-e2e")
	err := filepath.WalkDir(src, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, path)
		if d.IsDir() {
			return os.MkdirAll(filepath.Join(dst, rel), 0o755)
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(dst, rel), data, 0o644)
	})
	if err != nil {
		t.Fatalf("copy %s: %v", src, err)
	}
	cmd := exec.Command("go", "build", "-trimpath", "-o", filepath.Join(dst, "docker", "comfyui-fake"), "github.com/sdform/sdform/cmd/comfyui-fake")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("build comfyui-fake: %v\n%s", err, out)
	}
	return dst
}

// stateAttr reads one attribute of a resource from the state file that
// apply wrote.
func stateAttr(t *testing.T, dir, addr, attr string) json.RawMessage {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(dir, ".sdform", "state.json"))
	if err != nil {
		t.Fatalf("read state: %v", err)
	}
	var st struct {
		Resources []struct {
			Address    string `json:"address"`
			Attributes struct {
				Value map[string]json.RawMessage `json:"value"`
			} `json:"attributes"`
		} `json:"resources"`
	}
	if err := json.Unmarshal(data, &st); err != nil {
		t.Fatalf("parse state: %v", err)
	}
	for _, r := range st.Resources {
		if r.Address == addr {
			return r.Attributes.Value[attr]
		}
	}
	t.Fatalf("state has no %s:\n%s", addr, data)
	return nil
}

// containersOf lists every container of the Engine, running or not, made
// from image.
func containersOf(t *testing.T, dc *mobyclient.Client, image string) []string {
	t.Helper()
	res, err := dc.ContainerList(context.Background(), mobyclient.ContainerListOptions{All: true})
	if err != nil {
		t.Fatalf("list containers: %v", err)
	}
	var out []string
	for _, c := range res.Items {
		if c.ImageID == image {
			out = append(out, c.ID[:12]+" "+strings.Join(c.Names, ",")+" "+string(c.State))
		}
	}
	return out
}

// removeImages removes the images with label, and any container of theirs.
func removeImages(t *testing.T, dc *mobyclient.Client, label string) {
	ctx := context.Background()
	res, err := dc.ImageList(ctx, mobyclient.ImageListOptions{Filters: mobyclient.Filters{}.Add("label", label)})
	if err != nil {
		t.Errorf("list images with %s: %v", label, err)
		return
	}
	for _, img := range res.Items {
		for _, c := range containersOf(t, dc, img.ID) {
			dc.ContainerRemove(ctx, strings.Fields(c)[0], mobyclient.ContainerRemoveOptions{Force: true})
		}
		if _, err := dc.ImageRemove(ctx, img.ID, mobyclient.ImageRemoveOptions{Force: true}); err != nil {
			t.Errorf("remove image %s: %v", img.ID, err)
		}
	}
}

func sha256Hex(t *testing.T, path string) string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(data)
	return hex.EncodeToString(sum[:])
}

// hasMagic reports whether data starts as a file of its extension does:
// PNG's signature, or a RIFF container of WebP.
func hasMagic(ext string, data []byte) bool {
	switch ext {
	case ".png":
		return bytes.HasPrefix(data, []byte("\x89PNG\r\n\x1a\n"))
	case ".webp":
		return len(data) >= 12 && string(data[:4]) == "RIFF" && string(data[8:12]) == "WEBP"
	}
	return false
}

// TestComfyUIContainer is the container integration test through
// the CLI: sdform builds an image holding the fake ComfyUI server from the
// Engine's busybox base, copies a weight file, starts the server from the
// image, runs a no-model workflow on it and fetches the outputs; the next
// plan is a no-op, a changed input override re-runs the workflow, and a
// node that raises fails the apply with the container's log.
func TestComfyUIContainer(t *testing.T) {
	host := testenv.DockerHost(t)
	base := testenv.DockerBaseImage(t)
	dc, err := mobyclient.New(mobyclient.WithHost(host))
	if err != nil {
		t.Fatal(err)
	}
	defer dc.Close()
	dir := e2eDir(t)
	t.Setenv("SDF_VAR_docker_host", host)
	t.Setenv("SDF_VAR_base_image", base)
	t.Setenv("NO_COLOR", "1")
	// The build is reproducible: without a label of its own, this run's
	// image would be that of any other run of this test on the Engine.
	run := fmt.Sprintf("comfyui-e2e-%d", time.Now().UnixNano())
	t.Setenv("SDF_VAR_run", run)
	t.Cleanup(func() { removeImages(t, dc, "dev.sdform.test="+run) })
	step := func(name string, args ...string) result {
		t.Helper()
		start := time.Now()
		r := sdform(t, dir, args...)
		t.Logf("%s: exit %d in %s", name, r.code, time.Since(start).Round(10*time.Millisecond))
		return r
	}

	r := step("first apply", "apply", "-auto-approve")
	if r.code != exitOK {
		t.Fatalf("apply: %s", r)
	}
	var image string
	if err := json.Unmarshal(stateAttr(t, dir, "docker_image.fake", "id"), &image); err != nil || !strings.HasPrefix(image, "sha256:") {
		t.Fatalf("docker_image.fake.id in state = %q (%v)", image, err)
	}
	for _, want := range []string{
		"docker_image.fake", "comfyui_model.tiny", "comfyui_workflow.smoke",
		"comfyui server: starting", "node 2 (ImageInvert)", "output files in",
	} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("apply output lacks %q:\n%s", want, r)
		}
	}

	// The outputs, fetched through /view: one animated WebP (node 3) and
	// six PNGs (node 4), each what its name says.
	outDir := filepath.Join(dir, ".sdform", "outputs", "comfyui_workflow.smoke")
	count := map[string]int{}
	err = filepath.WalkDir(outDir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		ext := filepath.Ext(path)
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		if !hasMagic(ext, data) {
			t.Errorf("output %s: unexpected kind or magic bytes % x", path, data[:min(12, len(data))])
		}
		count[ext]++
		return nil
	})
	if err != nil {
		t.Fatalf("read outputs: %v", err)
	}
	if count[".webp"] != 1 || count[".png"] != 6 {
		t.Errorf("outputs in %s: %v, want 1 .webp and 6 .png", outDir, count)
	}
	if left := containersOf(t, dc, image); len(left) != 0 {
		t.Errorf("containers of %s left after apply: %v", image, left)
	}

	r = step("plan after apply", "plan", "-detailed-exitcode")
	if r.code != exitOK {
		t.Errorf("plan after apply is not a no-op: %s", r)
	}

	r = step("plan with a changed input", "plan", "-detailed-exitcode", "-var", "color=255")
	if want := "# comfyui_workflow.smoke will run: inputs.1.color changed"; r.code != exitChanges || !strings.Contains(r.stdout, want) {
		t.Errorf("plan with color=255: want exit %d and %q: %s", exitChanges, want, r)
	}
	if strings.Contains(r.stdout, "docker_image.fake will") || strings.Contains(r.stdout, "comfyui_model.tiny will") {
		t.Errorf("an input override re-plans more than the workflow: %s", r)
	}

	// New weights: the model is copied again and, in the same apply, the
	// workflow runs again, because it takes the comfyui_model itself and
	// tracks its sha256.
	oldSum := sha256Hex(t, filepath.Join(dir, "weights", "tiny.safetensors"))
	if err := os.WriteFile(filepath.Join(dir, "weights", "tiny.safetensors"), []byte("sdform comfyui e2e: other weights\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	newSum := sha256Hex(t, filepath.Join(dir, "weights", "tiny.safetensors"))
	r = step("plan with new weights", "plan", "-detailed-exitcode")
	for _, want := range []string{
		"# comfyui_model.tiny will be downloaded again: source file changed",
		"# comfyui_workflow.smoke will run: model checkpoints/tiny.safetensors changed (sha256 " + oldSum[:12] + " → " + newSum[:12] + ")",
	} {
		if r.code != exitChanges || !strings.Contains(r.stdout, want) {
			t.Errorf("plan with new weights: want exit %d and %q: %s", exitChanges, want, r)
		}
	}
	r = step("apply with new weights", "apply", "-auto-approve")
	if r.code != exitOK || !strings.Contains(r.stdout, "comfyui_workflow.smoke: Passed") || !strings.Contains(r.stdout, "Apply complete! 2 succeeded") {
		t.Errorf("apply with new weights: %s", r)
	}
	if got := sha256Hex(t, filepath.Join(dir, "models", "checkpoints", "tiny.safetensors")); got != newSum {
		t.Errorf("the model file's sha256 is %s, want the new source's %s", got, newSum)
	}
	if left := containersOf(t, dc, image); len(left) != 0 {
		t.Errorf("containers of %s left after the apply with new weights: %v", image, left)
	}
	if r = step("plan after the new weights", "plan", "-detailed-exitcode"); r.code != exitOK {
		t.Errorf("plan after applying the new weights is not a no-op: %s", r)
	}

	// SaveWEBM raises on the fake, as on a server without PyAV.
	r = step("failing apply", "apply", "-auto-approve", "-var", "workflow=workflows/fails.json")
	if r.code != exitError {
		t.Fatalf("apply of a failing workflow: exit %d, want %d: %s", r.code, exitError, r)
	}
	if !strings.Contains(r.stdout, "# comfyui_workflow.smoke will run: workflow file changed") {
		t.Errorf("failing apply's plan does not say the workflow file changed: %s", r)
	}
	for _, want := range []string{
		"node 2 (SaveWEBM) raised", "PyAV is not installed",
		"lines of the server container's log:", "!!! Exception during processing !!!",
	} {
		if !strings.Contains(r.stderr, want) {
			t.Errorf("failed apply's errors lack %q: %s", want, r)
		}
	}
	if left := containersOf(t, dc, image); len(left) != 0 {
		t.Errorf("containers of %s left after the failed apply: %v", image, left)
	}
}
