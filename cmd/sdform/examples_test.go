package main

import (
	"context"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io/fs"
	"maps"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	mobyclient "github.com/moby/moby/client"
	"github.com/sdform/sdform/internal/testenv"
	"github.com/sdform/sdform/lang"
	"github.com/sdform/sdform/providers/comfyui/comfytest"
	"github.com/sdform/sdform/providers/comfyui/workflow"
	"github.com/sdform/sdform/providers/docker/dockerfile"
)

// The examples live at the repository's top; these tests run them through
// the CLI in-process, as a user would run them.
var examplesDir = filepath.Join("..", "..", "examples")

// copyExample copies an example into a fresh directory, leaving out what
// a run leaves behind (state, downloaded models), so that tests never
// write into the repository.
func copyExample(t *testing.T, name string) string {
	t.Helper()
	src := filepath.Join(examplesDir, name)
	dst := filepath.Join(t.TempDir(), name)
	err := filepath.WalkDir(src, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, path)
		if d.IsDir() && (rel == ".sdform" || rel == "models") {
			return filepath.SkipDir
		}
		if d.IsDir() {
			return os.MkdirAll(filepath.Join(dst, rel), 0o755)
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(dst, rel), data, info.Mode().Perm())
	})
	if err != nil {
		t.Fatalf("copy example %s: %v", name, err)
	}
	return dst
}

// TestExamplesValidate: every example validates offline and is formatted.
func TestExamplesValidate(t *testing.T) {
	entries, err := os.ReadDir(examplesDir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		if m, _ := filepath.Glob(filepath.Join(examplesDir, e.Name(), "*.sdf.hcl")); e.IsDir() && len(m) > 0 {
			names = append(names, e.Name())
		}
	}
	for _, want := range []string{"gpu", "quickstart", "steadydancer"} {
		if !slices.Contains(names, want) {
			t.Errorf("examples = %v, want %s among them", names, want)
		}
	}
	for _, name := range names {
		t.Run(name, func(t *testing.T) {
			dir := copyExample(t, name)
			if r := sdform(t, dir, "validate"); r.code != 0 || r.stderr != "" {
				t.Errorf("validate: %s", r)
			}
			if r := sdform(t, dir, "fmt", "-check", "-recursive"); r.code != 0 {
				t.Errorf("fmt -check: %s", r)
			}
		})
	}
}

// TestExampleDockerfiles lints the examples' Dockerfiles with the build
// arguments the configurations pass (validate cannot: the arguments come
// from variables, unknown there): no finding at all, error or warning.
func TestExampleDockerfiles(t *testing.T) {
	weights := t.TempDir()
	for _, d := range []string{"vae", "text_encoders", "clip_vision", "loras", "detection", "diffusion_models/WanVideo/SteadyDancer"} {
		if err := os.MkdirAll(filepath.Join(weights, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	for _, f := range []string{"Wan21_SteadyDancer_fp8_e4m3fn_scaled_KJ.safetensors", "Wan21_I2V_SteadyDancer_fp16.safetensors"} {
		if err := os.WriteFile(filepath.Join(weights, "diffusion_models/WanVideo/SteadyDancer", f), []byte("x"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	type build struct {
		example string
		args    map[string]string
		secrets []string
		named   map[string]string
		steps   int // Dockerfile steps BuildKit would run for the target
	}
	builds := map[string]build{
		"quickstart": {example: "quickstart", args: map[string]string{"BASE_IMAGE": "busybox:local", "GREETING": "hi"}, steps: 3},
	}
	for _, variant := range []string{"fp8", "fp16"} {
		for _, flash := range []string{"true", "false"} {
			builds["steadydancer "+variant+" flash="+flash] = build{example: "steadydancer", secrets: []string{"hf_token"}, steps: 15,
				args: map[string]string{"BAKE_STEADYDANCER": "false", "STEADYDANCER_VARIANT": variant, "ENABLE_FLASH_ATTN": flash}}
		}
		builds["steadydancer "+variant+" baked"] = build{example: "steadydancer", secrets: []string{"hf_token"}, steps: 22,
			args:  map[string]string{"BAKE_STEADYDANCER": "true", "STEADYDANCER_VARIANT": variant, "ENABLE_FLASH_ATTN": "true"},
			named: map[string]string{"weights": weights}}
	}
	for name, b := range builds {
		t.Run(name, func(t *testing.T) {
			dir := filepath.Join(examplesDir, b.example, "docker")
			df, err := os.ReadFile(filepath.Join(dir, "Dockerfile"))
			if err != nil {
				t.Fatal(err)
			}
			res, err := dockerfile.Analyze(context.Background(), dockerfile.Input{
				Dockerfile: df, DockerfilePath: filepath.Join(dir, "Dockerfile"), ContextDir: dir,
				BuildArgs: b.args, SecretIDs: b.secrets, NamedContexts: b.named,
			})
			if err != nil {
				t.Fatal(err)
			}
			for _, f := range res.Findings {
				t.Errorf("finding: %s", f)
			}
			if res.Prediction == nil || len(res.Prediction.Steps) != b.steps {
				t.Errorf("prediction: %+v, want %d steps", res.Prediction, b.steps)
			}
		})
	}
}

// fakeHub answers the Hugging Face hub's HEAD requests for the files it
// knows, as the hub does for LFS files (X-Repo-Commit, X-Linked-Etag,
// X-Linked-Size), and 404 for any other. It stands in for the hub so that
// plan runs here with no network; commits, hashes and sizes are made up
// (derived from the names), not the real files'.
type fakeHub struct {
	*httptest.Server
	mu    sync.Mutex
	seen  []string
	files map[string]int64 // "ORG/REPO/PATH" → size
}

func newFakeHub(t *testing.T, files map[string]int64) *fakeHub {
	h := &fakeHub{files: files}
	h.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h.mu.Lock()
		h.seen = append(h.seen, r.Method+" "+r.URL.Path)
		h.mu.Unlock()
		// /ORG/REPO/resolve/REV/PATH
		parts := strings.SplitN(strings.TrimPrefix(r.URL.Path, "/"), "/", 5)
		if r.Method != http.MethodHead || len(parts) != 5 || parts[2] != "resolve" {
			http.Error(w, "not a HEAD of a resolve URL", http.StatusBadRequest)
			return
		}
		key := parts[0] + "/" + parts[1] + "/" + parts[4]
		size, ok := h.files[key]
		if !ok {
			w.Header().Set("X-Error-Code", "EntryNotFound")
			w.WriteHeader(http.StatusNotFound)
			return
		}
		commit := sha1.Sum([]byte(parts[0] + "/" + parts[1]))
		sum := sha256.Sum256([]byte(key))
		w.Header().Set("X-Repo-Commit", hex.EncodeToString(commit[:]))
		w.Header().Set("X-Linked-Etag", `"`+hex.EncodeToString(sum[:])+`"`)
		w.Header().Set("X-Linked-Size", fmt.Sprint(size))
		w.Header().Set("ETag", `"`+hex.EncodeToString(sum[:])+`"`)
		w.WriteHeader(http.StatusOK)
	}))
	t.Cleanup(h.Close)
	return h
}

func (h *fakeHub) requests() []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	out := append([]string(nil), h.seen...)
	sort.Strings(out)
	return out
}

// steadyDancerFiles are the files the SteadyDancer example names, with
// made-up sizes of the right order (the plan's free-space check compares
// each with the disk, so they stay small).
var steadyDancerFiles = map[string]int64{
	"Kijai/WanVideo_comfy_fp8_scaled/SteadyDancer/Wan21_SteadyDancer_fp8_e4m3fn_scaled_KJ.safetensors": 1_500_000_000,
	"Kijai/WanVideo_comfy/SteadyDancer/Wan21_I2V_SteadyDancer_fp16.safetensors":                        3_000_000_000,
	"Kijai/WanVideo_comfy/Wan2_1_VAE_bf16.safetensors":                                                 250_000_000,
	"Kijai/WanVideo_comfy/umt5-xxl-enc-bf16.safetensors":                                               1_100_000_000,
	"Comfy-Org/Wan_2.1_ComfyUI_repackaged/split_files/clip_vision/clip_vision_h.safetensors":           1_200_000_000,
	"Kijai/WanVideo_comfy/Lightx2v/lightx2v_I2V_14B_480p_cfg_step_distill_rank64_bf16.safetensors":     700_000_000,
	"Kijai/vitpose_comfy/onnx/vitpose_h_wholebody_model.onnx":                                          1_000_000,
	"Kijai/vitpose_comfy/onnx/vitpose_h_wholebody_data.bin":                                            1_200_000_000,
	"Wan-AI/Wan2.2-Animate-14B/process_checkpoint/det/yolov10m.onnx":                                   60_000_000,
}

// TestSteadyDancerPlan plans the SteadyDancer example as CI can: no GPU
// (allow_no_gpu), no Docker Engine, a stand-in for the hub. The text plan
// of each variant is a golden file; the JSON plan must hold every object
// the configuration declares, each to be created.
func TestSteadyDancerPlan(t *testing.T) {
	for _, variant := range []string{"fp8", "fp16"} {
		t.Run(variant, func(t *testing.T) {
			hub := newFakeHub(t, steadyDancerFiles)
			dir := copyExample(t, "steadydancer")
			// A fixed path, so that the golden file holds it; nothing listens there.
			t.Setenv("DOCKER_HOST", "unix:///nonexistent/sdform-test/docker.sock")
			t.Setenv("HF_ENDPOINT", hub.URL)
			t.Setenv("HF_TOKEN", "")
			t.Setenv("NO_COLOR", "1")
			args := []string{"plan", "-refresh=false", "-var", "allow_no_gpu=true", "-var", "variant=" + variant}
			r := sdform(t, dir, args...)
			if r.code != 0 {
				t.Fatalf("plan: %s", r)
			}
			if !strings.Contains(r.stderr, "no NVIDIA driver found") {
				// The golden file was recorded on a machine without one.
				t.Skipf("this machine has an NVIDIA driver (or no cgo): the golden plan assumes none\n%s", r)
			}
			out := normalize("$ sdform "+strings.Join(args, " ")+"\n"+r.stdout+"--- stderr ---\n"+r.stderr, dir)
			out = strings.ReplaceAll(out, hub.URL, "$HUB")
			goldenAt(t, filepath.Join(examplesDir, "steadydancer", "testdata", "plan-"+variant+".golden"), out)

			// One HEAD per weight file, nothing else.
			reqs := hub.requests()
			if len(reqs) != 8 {
				t.Errorf("hub requests = %d, want 8 (one HEAD per file): %v", len(reqs), reqs)
			}
			for _, q := range reqs {
				if !strings.HasPrefix(q, "HEAD ") {
					t.Errorf("hub request %q is not a HEAD", q)
				}
			}

			r = sdform(t, dir, append(args, "-json")...)
			if r.code != 0 {
				t.Fatalf("plan -json: %s", r)
			}
			var p struct {
				ResourceChanges []struct {
					Address string   `json:"address"`
					Actions []string `json:"actions"`
					Action  string   `json:"action"`
				} `json:"resource_changes"`
			}
			if err := json.Unmarshal([]byte(r.stdout), &p); err != nil {
				t.Fatalf("plan -json: %v\n%s", err, r.stdout)
			}
			got := map[string]string{}
			for _, c := range p.ResourceChanges {
				got[c.Address] = c.Action + strings.Join(c.Actions, ",")
			}
			for _, addr := range []string{"docker_image.comfyui", "gpu_requirement.runpod", "docker_image_test.imports", "docker_image_test.weights_not_baked",
				"comfyui_workflow.dance", "comfyui_model.diffusion", "comfyui_model.vae", "comfyui_model.text_encoder", "comfyui_model.clip_vision",
				"comfyui_model.lora", "comfyui_model.vitpose", "comfyui_model.vitpose_data", "comfyui_model.yolo"} {
				if !strings.Contains(got[addr], "create") {
					t.Errorf("%s: action %q, want create (all changes: %v)", addr, got[addr], got)
				}
			}
		})
	}
}

// TestSteadyDancerPlanOffline: CI has no hub, no GPU and no Docker Engine,
// and `sdform validate` and `sdform plan -refresh=false` still work on the
// real example: every weight file the hub cannot tell about now is a
// warning, sized and hashed at apply, and the plan is complete.
func TestSteadyDancerPlanOffline(t *testing.T) {
	dir := copyExample(t, "steadydancer")
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	dead := "http://" + l.Addr().String() // nothing listens: the hub is away
	l.Close()
	t.Setenv("DOCKER_HOST", "unix:///nonexistent/sdform-test/docker.sock")
	t.Setenv("HF_ENDPOINT", dead)
	t.Setenv("HF_TOKEN", "")
	if r := sdform(t, dir, "validate"); r.code != 0 {
		t.Fatalf("validate: %s", r)
	}
	r := sdform(t, dir, "plan", "-refresh=false", "-var", "allow_no_gpu=true", "-detailed-exitcode")
	if r.code != 2 {
		t.Fatalf("offline plan: want exit 2 (changes, no errors)\n%s", r)
	}
	if n := strings.Count(r.stderr, "Model source not reachable"); n != 8 {
		t.Errorf("%d warnings about the unreachable hub, want one per weight file (8)\n%s", n, r)
	}
	for _, want := range []string{"comfyui_model.diffusion will be downloaded", "docker_image.comfyui will be built", "Plan: "} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("offline plan lacks %q\n%s", want, r)
		}
	}
}

// TestSteadyDancerBuildBesideDownloads: the hour-long build and the 30 GB
// of downloads run at the same time, as sdform promises, unless the
// weights are baked into the image, which must wait for them.
func TestSteadyDancerBuildBesideDownloads(t *testing.T) {
	dir := copyExample(t, "steadydancer")
	r := sdform(t, dir, "graph")
	if r.code != 0 {
		t.Fatalf("graph: %s", r)
	}
	deps := map[string][]string{}
	for _, m := range regexp.MustCompile(`(?m)^\s*"([^"]+)" -> "([^"]+)"`).FindAllStringSubmatch(r.stdout, -1) {
		deps[m[1]] = append(deps[m[1]], m[2])
	}
	// waitsFor lists the resources addr depends on, transitively.
	waitsFor := func(addr string) []string {
		seen := map[string]bool{}
		var out []string
		var visit func(string)
		visit = func(a string) {
			for _, d := range deps[a] {
				if !seen[d] {
					seen[d] = true
					if strings.HasPrefix(d, "comfyui_model.") {
						out = append(out, d)
					}
					visit(d)
				}
			}
		}
		visit(addr)
		sort.Strings(out)
		return out
	}
	if len(deps) == 0 {
		t.Fatalf("no edges in the graph:\n%s", r.stdout)
	}
	if got := waitsFor("docker_image.comfyui"); len(got) > 0 {
		t.Errorf("docker_image.comfyui waits for %v: the build cannot start before the downloads end", got)
	}
	if got := waitsFor("comfyui_workflow.dance"); len(got) != 8 {
		t.Errorf("comfyui_workflow.dance waits for %v, want the 8 weight files", got)
	}
}

// goldenAt compares got with the golden file at path (-update rewrites it).
func goldenAt(t *testing.T, path, got string) {
	t.Helper()
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("read golden file (run `go test ./cmd/sdform -run %s -update` to create it): %v", t.Name(), err)
	}
	if got != string(want) {
		t.Errorf("output differs from %s (run with -update if the change is intended)\n--- got ---\n%s\n--- want ---\n%s", path, got, want)
	}
}

// TestSteadyDancerWorkflow checks the API-format workflow against the
// published UI workflow it was converted from, and the configuration's
// input overrides against the workflow: each names a node and an input
// that exist, on the node class the comment in workflow.sdf.hcl means.
func TestSteadyDancerWorkflow(t *testing.T) {
	dir := filepath.Join(examplesDir, "steadydancer")
	data, err := os.ReadFile(filepath.Join(dir, "workflows", "steadydancer-dance.json"))
	if err != nil {
		t.Fatal(err)
	}
	ours, g, err := workflow.Parse(data)
	if err != nil || g != nil {
		t.Fatalf("the workflow must be in API format: %v", err)
	}

	// Derived from the published workflow: converting it gives the same
	// nodes, classes and links; literal inputs differ only where the
	// example chose otherwise.
	ui, err := os.ReadFile(filepath.Join("..", "..", "providers", "comfyui", "workflow", "testdata", "steadydancer-ui.json"))
	if err != nil {
		t.Fatal(err)
	}
	_, graph, err := workflow.Parse(ui)
	if err != nil || graph == nil {
		t.Fatalf("parse the published UI workflow: %v", err)
	}
	published, probs := workflow.Convert(graph, syntheticInfo(t, graph))
	if len(probs) != 0 {
		t.Fatalf("conversion problems: %v", probs)
	}
	changed := map[string]bool{"22.attention_mode": true, "76.image": true, "75.video": true, "83.filename_prefix": true}
	if len(ours) != len(published) {
		t.Errorf("%d nodes, the published workflow has %d", len(ours), len(published))
	}
	j := func(v any) string { b, _ := json.Marshal(v); return string(b) }
	for id, want := range published {
		got := ours[id]
		if got == nil {
			t.Errorf("node %s (%s) missing", id, want.ClassType)
			continue
		}
		if got.ClassType != want.ClassType {
			t.Errorf("node %s is %s, published %s", id, got.ClassType, want.ClassType)
		}
		for in, w := range want.Inputs {
			if g, ok := got.Inputs[in]; !ok || (j(g) != j(w) && !changed[id+"."+in]) {
				t.Errorf("node %s (%s) input %s = %s, published %s", id, want.ClassType, in, j(g), j(w))
			}
		}
		for in := range got.Inputs {
			if _, ok := want.Inputs[in]; !ok {
				t.Errorf("node %s (%s) has input %s, which the published workflow does not", id, want.ClassType, in)
			}
		}
	}

	// Every override in workflow.sdf.hcl names an input the node has.
	hcl, err := os.ReadFile(filepath.Join(dir, "workflow.sdf.hcl"))
	if err != nil {
		t.Fatal(err)
	}
	wantClass := map[string]string{"22": "WanVideoModelLoader", "38": "WanVideoVAELoader", "92": "WanVideoTextEncodeCached", "59": "CLIPVisionLoader",
		"69": "WanVideoLoraSelect", "129": "OnnxDetectionModelLoader", "76": "LoadImage", "75": "VHS_LoadVideo", "83": "VHS_VideoCombine"}
	keys := regexp.MustCompile(`"([0-9]+)\.([a-z_]+)"\s*=`).FindAllStringSubmatch(string(hcl), -1)
	if len(keys) < 10 {
		t.Fatalf("found %d input overrides in workflow.sdf.hcl, want the 11 it declares", len(keys))
	}
	for _, k := range keys {
		n := ours[k[1]]
		if n == nil {
			t.Errorf("override %s.%s: no node %s", k[1], k[2], k[1])
			continue
		}
		if _, ok := n.Inputs[k[2]]; !ok {
			t.Errorf("override %s.%s: node %s (%s) has no literal input %s", k[1], k[2], k[1], n.ClassType, k[2])
		}
		if n.ClassType != wantClass[k[1]] {
			t.Errorf("override %s.%s: node %s is %s, want %s", k[1], k[2], k[1], n.ClassType, wantClass[k[1]])
		}
	}
}

// syntheticInfo is an /object_info for the published workflow: ComfyUI
// 0.8.0's core nodes, plus the custom nodes' classes made from the UI
// nodes themselves (their widget inputs in saved order, and sockets).
func syntheticInfo(t *testing.T, g *workflow.Graph) workflow.Info {
	t.Helper()
	base, err := workflow.ParseInfo(comfytest.ObjectInfo080)
	if err != nil {
		t.Fatal(err)
	}
	info := workflow.Info{}
	for k, v := range base {
		info[k] = v
	}
	frontend := map[string]bool{"Note": true, "MarkdownNote": true, "PrimitiveNode": true, "Reroute": true, "SetNode": true, "GetNode": true}
	for _, n := range g.Nodes {
		if frontend[n.Type] || info[n.Type] != nil {
			continue
		}
		ni := &workflow.NodeInfo{Name: n.Type}
		for _, in := range n.Inputs {
			if in.Type == "IMAGEUPLOAD" {
				continue
			}
			typ := in.Type
			if typ == "COMBO" && in.Link == nil {
				typ = "STRING"
			}
			ni.Inputs = append(ni.Inputs, workflow.InputSpec{Name: in.Name, Type: typ, Required: in.Widget != ""})
		}
		for _, o := range n.Outputs {
			ni.Outputs = append(ni.Outputs, o.Type)
		}
		info[n.Type] = ni
	}
	return info
}

// TestQuickstartApply applies the quickstart end to end against the CI
// services' Docker Engine: plan shows changes, apply builds, downloads and
// tests, the next plan is a no-op, and destroy removes it all.
func TestQuickstartApply(t *testing.T) {
	host := testenv.DockerHost(t)
	base := testenv.DockerBaseImage(t)
	dir := copyExample(t, "quickstart")
	files := http.FileServer(http.Dir(filepath.Join(dir, "weights")))
	var weightsMu sync.Mutex
	weightsSeen := map[string]int{}
	weights := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		weightsMu.Lock()
		weightsSeen[r.Method]++
		weightsMu.Unlock()
		files.ServeHTTP(w, r)
	}))
	defer weights.Close()
	weightRequests := func() map[string]int {
		weightsMu.Lock()
		defer weightsMu.Unlock()
		out := maps.Clone(weightsSeen)
		clear(weightsSeen)
		return out
	}
	t.Setenv("DOCKER_HOST", host)
	t.Setenv("SDF_VAR_base_image", base)
	t.Setenv("SDF_VAR_weights_url", weights.URL+"/tiny-model.safetensors")
	t.Setenv("NO_COLOR", "1")
	// A tag of the test's own: the user's quickstart on the same Engine
	// (run.sh, as the README says, then ci/test.sh) keeps its tag, so
	// its next run is still a no-op.
	tag := "sdform-quickstart:test-" + strconv.FormatInt(time.Now().UnixNano(), 36)
	t.Setenv("SDF_VAR_tag", tag)
	engine, err := mobyclient.New(mobyclient.WithHost(host))
	if err != nil {
		t.Fatal(err)
	}
	defer engine.Close()
	tagged := func() string {
		res, err := engine.ImageInspect(context.Background(), tag)
		if err != nil {
			return ""
		}
		return res.ID
	}

	r := sdform(t, dir, "plan", "-detailed-exitcode")
	if r.code != exitChanges || !strings.Contains(r.stdout, "docker_image.app") || !strings.Contains(r.stdout, "comfyui_model.tiny") {
		t.Fatalf("first plan: %s", r)
	}
	weightRequests()
	r = sdform(t, dir, "apply", "-auto-approve")
	if r.code != 0 {
		t.Fatalf("apply: %s", r)
	}
	// The weight's source is asked by the plan and by the check that the
	// plan is not stale, not a third time when the download starts.
	if got, want := weightRequests(), map[string]int{"HEAD": 2, "GET": 1}; !maps.Equal(got, want) {
		t.Errorf("weight server requests during apply = %v, want %v", got, want)
	}
	sum, err := os.ReadFile(filepath.Join(dir, "models", "checkpoints", "tiny-model.safetensors"))
	if err != nil {
		t.Fatalf("downloaded model: %v", err)
	}
	if want, _ := os.ReadFile(filepath.Join(dir, "weights", "tiny-model.safetensors")); string(sum) != string(want) {
		t.Errorf("downloaded model differs from the served one")
	}
	for _, want := range []string{"image_id", "model_sha256", "4f13cd22ff5278e387e2209cedd7225f3d04ba33a01e4af37b719320c9c48f9d"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("apply output lacks %q: %s", want, r)
		}
	}
	if got := tagged(); got == "" || !strings.Contains(r.stdout, got) {
		t.Errorf("%s names %q after apply, want the image_id the apply printed", tag, got)
	}
	r = sdform(t, dir, "plan", "-detailed-exitcode")
	if r.code != exitOK {
		t.Errorf("plan after apply is not a no-op: %s", r)
	}
	r = sdform(t, dir, "destroy", "-auto-approve")
	if r.code != 0 {
		t.Errorf("destroy: %s", r)
	}
	if got := tagged(); got != "" {
		t.Errorf("destroy left %s on %s", tag, got)
	}
	if _, err := os.Stat(filepath.Join(dir, "models", "checkpoints", "tiny-model.safetensors")); err == nil {
		t.Errorf("destroy left the model file")
	}
}

// TestReadmeHCL: the configuration README.md teaches the language with
// is what sdform fmt writes and validates (with the steadydancer
// example's Dockerfile and workflow beside it); every other HCL block is
// at least in canonical format, so that a reader's copy stays unchanged
// by fmt.
func TestReadmeHCL(t *testing.T) {
	readme, err := os.ReadFile(filepath.Join("..", "..", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	blocks := regexp.MustCompile("(?s)```hcl\n(.*?)```").FindAllStringSubmatch(string(readme), -1)
	if len(blocks) < 2 {
		t.Fatalf("README.md has %d hcl blocks, want the language example and the remote BuildKit one", len(blocks))
	}
	for i, b := range blocks {
		src := []byte(b[1])
		got, diags := lang.Format(src, "README.md")
		if diags.HasErrors() {
			t.Errorf("hcl block %d does not parse: %s", i+1, diags.Error())
			continue
		}
		if string(got) != string(src) {
			t.Errorf("hcl block %d is not in canonical format; sdform fmt writes:\n%s", i+1, got)
		}
	}
	dir := copyExample(t, "steadydancer")
	for _, f := range []string{"main.sdf.hcl", "variables.sdf.hcl", "weights.sdf.hcl", "tests.sdf.hcl", "workflow.sdf.hcl"} {
		if err := os.Remove(filepath.Join(dir, f)); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(dir, "main.sdf.hcl"), []byte(blocks[0][1]), 0o644); err != nil {
		t.Fatal(err)
	}
	if r := sdform(t, dir, "validate"); r.code != 0 || r.stderr != "" {
		t.Errorf("validate of README.md's language example: %s", r)
	}
}

// TestReadmeListsEveryCommandAndFlag keeps README.md's command table in
// step with the CLI: every command, and every flag its -h lists.
func TestReadmeListsEveryCommandAndFlag(t *testing.T) {
	readme, err := os.ReadFile(filepath.Join("..", "..", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	doc := string(readme)
	for _, c := range commands {
		if !strings.Contains(doc, "| `"+c.name) {
			t.Errorf("README.md's command table has no row for %s", c.name)
		}
		r := sdform(t, "", c.name, "-h")
		for _, line := range strings.Split(r.stdout, "\n") {
			if !strings.HasPrefix(line, "  -") {
				continue
			}
			for _, f := range strings.Split(strings.TrimSpace(line), ", ") {
				name, _, _ := strings.Cut(f, "=")
				if name == "-h" || name == "-help" || name == "-no-color" {
					continue
				}
				if !regexp.MustCompile("[` ]" + regexp.QuoteMeta(name) + "\\b").MatchString(doc) {
					t.Errorf("README.md does not mention %s of %s", name, c.name)
				}
			}
		}
	}
}
