package comfyui

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/zclconf/go-cty/cty"

	"github.com/sdform/sdform/providers"
	"github.com/sdform/sdform/providers/comfyui/comfytest"
)

// wfEnv is a configuration directory with a configured provider.
type wfEnv struct {
	t   *testing.T
	dir string
	p   *Provider
}

func newWfEnv(t *testing.T) *wfEnv {
	t.Helper()
	dir := t.TempDir()
	p := New().(*Provider)
	resp := p.Configure(context.Background(), providers.ConfigureRequest{
		Config: cty.NullVal(providerSchema.ImpliedType()),
		Env:    providers.Env{ConfigDir: dir, DataDir: filepath.Join(dir, ".sdform")},
	})
	if resp.Diagnostics.HasErrors() {
		t.Fatalf("Configure: %v", resp.Diagnostics)
	}
	t.Cleanup(func() { p.Close() })
	return &wfEnv{t: t, dir: dir, p: p}
}

// file writes a file into the configuration directory.
func (e *wfEnv) file(name string, data []byte) {
	e.t.Helper()
	path := filepath.Join(e.dir, name)
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		e.t.Fatal(err)
	}
	if err := os.WriteFile(path, data, 0o644); err != nil {
		e.t.Fatal(err)
	}
}

func (e *wfEnv) copyFile(name, from string) {
	e.t.Helper()
	b, err := os.ReadFile(from)
	if err != nil {
		e.t.Fatal(err)
	}
	e.file(name, b)
}

// wfCfg builds a config value: every attribute null except those given;
// expect is a map of its attributes (nil: no block).
func wfCfg(attrs map[string]cty.Value, expect map[string]cty.Value) cty.Value {
	v := map[string]cty.Value{}
	ty := workflowSchema.ImpliedType()
	for name := range ty.AttributeTypes() {
		v[name] = cty.NullVal(ty.AttributeType(name))
	}
	for k, a := range attrs {
		v[k] = a
	}
	if expect != nil {
		et := ty.AttributeType("expect")
		e := map[string]cty.Value{}
		for name := range et.AttributeTypes() {
			e[name] = cty.NullVal(et.AttributeType(name))
		}
		for k, a := range expect {
			e[k] = a
		}
		v["expect"] = cty.ObjectVal(e)
	}
	return cty.ObjectVal(v)
}

type wfObject struct {
	value   cty.Value
	private []byte
}

func noWf() wfObject { return wfObject{value: cty.NullVal(workflowSchema.ImpliedType())} }

const wfAddr = "comfyui_workflow.smoke"

func (e *wfEnv) plan(prior wfObject, cfg cty.Value) providers.PlanResponse {
	return e.p.PlanResource(context.Background(), providers.PlanRequest{
		TypeName: "comfyui_workflow", Address: wfAddr, Prior: prior.value, PriorPrivate: prior.private, Config: cfg, Proposed: cfg,
	})
}

func (e *wfEnv) apply(ctx context.Context, prior wfObject, cfg cty.Value, pr providers.PlanResponse, out *bytes.Buffer) providers.ApplyResponse {
	action := providers.Replace
	if prior.value.IsNull() {
		action = providers.Create
	}
	return e.p.ApplyResource(ctx, providers.ApplyRequest{
		TypeName: "comfyui_workflow", Address: wfAddr, Action: action,
		Prior: prior.value, Planned: pr.Planned, Config: cfg, PlannedPrivate: pr.PlannedPrivate, UI: providers.UI{Out: out},
	})
}

func diagsText(ds providers.Diagnostics) string {
	var b strings.Builder
	for _, d := range ds {
		fmt.Fprintf(&b, "[%d] %s: %s (file %s, attr %v)\n", d.Severity, d.Summary, d.Detail, d.File, d.Attribute)
	}
	return b.String()
}

func strAttr(v cty.Value, name string) string {
	a := v.GetAttr(name)
	if !a.IsKnown() || a.IsNull() {
		return fmt.Sprintf("(%v)", a)
	}
	return a.AsString()
}

func smokeCfg(url string, extra map[string]cty.Value) cty.Value {
	attrs := map[string]cty.Value{"url": cty.StringVal(url), "workflow": cty.StringVal("workflows/smoke.json"), "timeout": cty.StringVal("20s")}
	for k, v := range extra {
		attrs[k] = v
	}
	return wfCfg(attrs, map[string]cty.Value{"kind": cty.StringVal("image"), "min_count": cty.NumberIntVal(6), "min_bytes": cty.NumberIntVal(100)})
}

func TestWorkflowRunUpToDateAndRerun(t *testing.T) {
	fake, url := comfytest.Start(t, comfytest.Options{})
	e := newWfEnv(t)
	e.copyFile("workflows/smoke.json", "testdata/workflow/smoke-api.json")
	cfg := smokeCfg(url, nil)

	pr := e.plan(noWf(), cfg)
	if pr.Diagnostics.HasErrors() || pr.Reason != "not run yet" || pr.Planned.GetAttr("outputs").IsKnown() || pr.Fingerprint == "" {
		t.Fatalf("first plan: %q %v\n%s", pr.Reason, pr.Planned.GetAttr("outputs"), diagsText(pr.Diagnostics))
	}
	if len(pr.Details) != 1 || !strings.Contains(pr.Details[0], "checked against "+url+"/object_info (440 node classes)") {
		t.Errorf("details = %q", pr.Details)
	}
	var out bytes.Buffer
	ar := e.apply(context.Background(), noWf(), cfg, pr, &out)
	if ar.Diagnostics.HasErrors() {
		t.Fatalf("apply: %s\n%s", diagsText(ar.Diagnostics), out.String())
	}
	st := ar.NewState
	outs := st.GetAttr("outputs")
	if outs.LengthInt() != 7 || strAttr(st, "prompt_id") == "" || st.GetAttr("cached").LengthInt() != 0 {
		t.Fatalf("state: outputs %d prompt %s cached %v", outs.LengthInt(), strAttr(st, "prompt_id"), st.GetAttr("cached"))
	}
	if v := st.GetAttr("server").GetAttr("comfyui_version").AsString(); v != "0.8.0" {
		t.Errorf("server version %s", v)
	}
	// The server's devices and versions are recorded.
	srv := st.GetAttr("server")
	if devs := srv.GetAttr("devices"); devs.LengthInt() != 1 ||
		devs.Index(cty.NumberIntVal(0)).GetAttr("name").AsString() != "cuda:0 comfytest fake GPU : cudaMallocAsync" ||
		devs.Index(cty.NumberIntVal(0)).GetAttr("type").AsString() != "cuda" ||
		!devs.Index(cty.NumberIntVal(0)).GetAttr("vram_total").RawEquals(cty.NumberIntVal(85017493504)) ||
		srv.GetAttr("pytorch_version").AsString() != "2.11.0+cu130" || srv.GetAttr("python_version").AsString() != "3.12.3 (comfytest)" {
		t.Errorf("server recorded as %#v", srv)
	}
	// Every output's sha256 and size are those of the file fetched.
	for it := outs.ElementIterator(); it.Next(); {
		_, o := it.Element()
		b, err := os.ReadFile(o.GetAttr("path").AsString())
		if err != nil {
			t.Fatal(err)
		}
		if sum := sha256.Sum256(b); o.GetAttr("sha256").AsString() != hex.EncodeToString(sum[:]) || !o.GetAttr("bytes").RawEquals(cty.NumberIntVal(int64(len(b)))) {
			t.Errorf("output %s: recorded sha256 %s, %s bytes; the file has %x, %d bytes", o.GetAttr("path").AsString(), o.GetAttr("sha256").AsString(), o.GetAttr("bytes").AsBigFloat(), sum, len(b))
		}
	}
	dir := filepath.Join(e.dir, ".sdform", "outputs", "comfyui_workflow.smoke")
	if strAttr(st, "output_dir") != dir {
		t.Errorf("output_dir = %s, want %s", strAttr(st, "output_dir"), dir)
	}
	webp := filepath.Join(dir, "sdform", "smoke_00001_.webp")
	if b, err := os.ReadFile(webp); err != nil || !bytes.HasPrefix(b, []byte("RIFF")) {
		t.Errorf("webp output: %v", err)
	}
	for _, want := range []string{"submitting workflows/smoke.json (4 nodes)", "node 3 (SaveAnimatedWEBP)", "7 output files"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("progress lacks %q:\n%s", want, out.String())
		}
	}
	prior := wfObject{value: st, private: ar.Private}

	// Nothing changed: up to date, and nothing is submitted.
	posts := countPosts(fake)
	pr2 := e.plan(prior, cfg)
	if !pr2.Planned.RawEquals(st) || pr2.Reason != "up to date" || len(pr2.RequiresReplace) != 0 || pr2.Fingerprint != strAttr(st, "fingerprint") {
		t.Errorf("second plan: reason %q replace %v", pr2.Reason, pr2.RequiresReplace)
	}
	if countPosts(fake) != posts {
		t.Errorf("an up-to-date plan posted a prompt")
	}

	// Each input of the fingerprint, changed, says why the run re-runs.
	for _, c := range []struct {
		name   string
		edit   func() cty.Value
		reason string
	}{
		{"input", func() cty.Value {
			return smokeCfg(url, map[string]cty.Value{"inputs": cty.MapVal(map[string]cty.Value{"1.width": cty.StringVal("32")})})
		}, "inputs.1.width added"},
		// Last: it edits the file.
		{"workflow", func() cty.Value {
			b, _ := os.ReadFile(filepath.Join(e.dir, "workflows/smoke.json"))
			e.file("workflows/smoke.json", bytes.Replace(b, []byte(`"height": 48`), []byte(`"height": 40`), 1))
			return cfg
		}, "workflow file changed"},
	} {
		pr := e.plan(prior, c.edit())
		if pr.Reason != c.reason || len(pr.RequiresReplace) != 1 || pr.Planned.GetAttr("prompt_id").IsKnown() {
			t.Errorf("%s: reason %q, replace %v", c.name, pr.Reason, pr.RequiresReplace)
		}
	}

	// A forced re-run of the same workflow: the server serves it from its
	// cache.
	e.copyFile("workflows/smoke.json", "testdata/workflow/smoke-api.json")
	ran := fake.Executed()
	ar2 := e.apply(context.Background(), prior, cfg, e.plan(noWf(), cfg), &out)
	if ar2.Diagnostics.HasErrors() {
		t.Fatalf("re-run: %s", diagsText(ar2.Diagnostics))
	}
	if got := ar2.NewState.GetAttr("cached"); got.LengthInt() != 4 || fake.Executed() != ran || ar2.NewState.GetAttr("outputs").LengthInt() != 7 {
		t.Errorf("re-run: cached %v, nodes run %d→%d", got, ran, fake.Executed())
	}
	if !strings.Contains(out.String(), "4 of 4 nodes cached") {
		t.Errorf("progress lacks the cache line:\n%s", out.String())
	}
}

func countPosts(f *comfytest.Server) int {
	n := 0
	for _, r := range f.Requests() {
		if r == "POST /prompt" {
			n++
		}
	}
	return n
}

func TestWorkflowValidationErrors(t *testing.T) {
	_, url := comfytest.Start(t, comfytest.Options{Combos: map[string][]string{"CheckpointLoaderSimple.ckpt_name": {"sd15.safetensors", "sdxl.safetensors"}}})
	e := newWfEnv(t)
	e.copyFile("workflows/smoke.json", "testdata/workflow/smoke-api.json")
	e.file("workflows/ckpt.json", []byte(`{
	 "1": {"class_type": "CheckpointLoaderSimple", "inputs": {"ckpt_name": "flux.safetensors"}},
	 "2": {"class_type": "EmptyImage", "inputs": {"width": 64, "height": 64, "batch_size": 1, "color": 0}},
	 "3": {"class_type": "SaveImage", "inputs": {"images": ["2", 0], "filename_prefix": "x"}}}`))
	e.file("workflows/custom.json", []byte(`{
	 "1": {"class_type": "EmptyImage", "inputs": {"width": 64, "height": 64, "batch_size": 1, "color": 0}},
	 "2": {"class_type": "VHS_VideoCombine", "inputs": {"images": ["1", 0], "frame_rate": 8}},
	 "3": {"class_type": "WanVideoModelLoader", "inputs": {"model": "x.safetensors"}}}`))
	for name, c := range map[string]struct {
		cfg  cty.Value
		want []string
	}{
		"combo lists the server's models": {
			wfCfg(map[string]cty.Value{"url": cty.StringVal(url), "workflow": cty.StringVal("workflows/ckpt.json")}, nil),
			[]string{`node 1 (CheckpointLoaderSimple) input ckpt_name: Model file not on the server`, `"flux.safetensors" is not among the model files the server lists: "sd15.safetensors", "sdxl.safetensors".`},
		},
		"bad value from an override": {
			smokeCfg(url, map[string]cty.Value{"inputs": cty.MapVal(map[string]cty.Value{"1.width": cty.StringVal("-5")})}),
			[]string{"node 1 (EmptyImage) input width: Value out of range", "-5 is smaller than the minimum 1."},
		},
		"override typo": {
			smokeCfg(url, map[string]cty.Value{"inputs": cty.MapVal(map[string]cty.Value{"1.widht": cty.StringVal("5")})}),
			[]string{"No such input", `names input "widht", which node 1 (EmptyImage) does not have; its inputs are width, height, batch_size, color.`},
		},
		"unknown classes name their packs": {
			wfCfg(map[string]cty.Value{"url": cty.StringVal(url), "workflow": cty.StringVal("workflows/custom.json")}, nil),
			[]string{"node 2 (VHS_VideoCombine): Node class not on the server", "Install these packs in the image: ComfyUI-VideoHelperSuite (VHS_VideoCombine); ComfyUI-WanVideoWrapper (WanVideoModelLoader)."},
		},
	} {
		t.Run(name, func(t *testing.T) {
			pr := e.plan(noWf(), c.cfg)
			text := diagsText(pr.Diagnostics)
			if !pr.Diagnostics.HasErrors() {
				t.Fatalf("plan passed: %q", pr.Details)
			}
			for _, w := range c.want {
				if !strings.Contains(text, w) {
					t.Errorf("diagnostics lack %q:\n%s", w, text)
				}
			}
			// Apply checks again before submitting.
			ar := e.apply(context.Background(), noWf(), c.cfg, providers.PlanResponse{Planned: c.cfg}, &bytes.Buffer{})
			if !ar.Diagnostics.HasErrors() || !strings.Contains(diagsText(ar.Diagnostics), c.want[0]) || !ar.NewState.IsNull() {
				t.Errorf("apply: %s", diagsText(ar.Diagnostics))
			}
		})
	}
}

func TestWorkflowSteadyDancerNamesMissingPacks(t *testing.T) {
	_, url := comfytest.Start(t, comfytest.Options{})
	e := newWfEnv(t)
	e.copyFile("workflows/dance.json", "workflow/testdata/steadydancer-ui.json")
	pr := e.plan(noWf(), wfCfg(map[string]cty.Value{"url": cty.StringVal(url), "workflow": cty.StringVal("workflows/dance.json")}, nil))
	text := diagsText(pr.Diagnostics)
	for _, pack := range []string{"ComfyUI-KJNodes (", "ComfyUI-VideoHelperSuite (VHS_LoadVideo, VHS_VideoCombine)", "ComfyUI-WanAnimatePreprocess (OnnxDetectionModelLoader, PoseDetectionOneToAllAnimation)", "ComfyUI-WanVideoWrapper (WanVideoAddSteadyDancerEmbeds"} {
		if !strings.Contains(text, pack) {
			t.Errorf("diagnostics lack %q:\n%s", pack, text)
		}
	}
	if !strings.Contains(text, "Custom node packs missing on the server") {
		t.Errorf("no summary diagnostic:\n%s", text)
	}
}

func TestWorkflowRunFailures(t *testing.T) {
	e := newWfEnv(t)
	e.copyFile("workflows/smoke.json", "testdata/workflow/smoke-api.json")
	e.file("workflows/webm.json", []byte(`{
	 "1": {"class_type": "EmptyImage", "inputs": {"width": 64, "height": 48, "batch_size": 4, "color": 255}},
	 "2": {"class_type": "SaveWEBM", "inputs": {"images": ["1", 0], "filename_prefix": "sdform/fail", "codec": "vp9", "fps": 8.0, "crf": 32.0}}}`))
	for name, c := range map[string]struct {
		opts  comfytest.Options
		attrs map[string]cty.Value
		want  []string
		check func(t *testing.T, f *comfytest.Server, root string)
	}{
		"execution error": {
			attrs: map[string]cty.Value{"workflow": cty.StringVal("workflows/webm.json")},
			want:  []string{"node 2 (SaveWEBM) raised RuntimeError: PyAV is not installed", "Traceback (last 3 of 4 frames)", `nodes_video.py", line 39, in execute`},
		},
		"timeout interrupts": {
			opts:  comfytest.Options{HangClass: "ImageInvert"},
			attrs: map[string]cty.Value{"timeout": cty.StringVal("1s")},
			want:  []string{"the run did not finish within 1s (node 2 (ImageInvert) was executing, at step", "sdform asked the server to interrupt it"},
			check: func(t *testing.T, f *comfytest.Server, _ string) {
				if got := f.Interrupts(); len(got) != 1 || got[0] == "" {
					t.Errorf("interrupts = %q", got)
				}
			},
		},
		"never ready": {
			opts:  comfytest.Options{NeverReady: true},
			attrs: map[string]cty.Value{"ready_timeout": cty.StringVal("1s")},
			want:  []string{"not ready after 1s"},
		},
		"expectation": {
			attrs: map[string]cty.Value{},
			want:  []string{"outputs do not meet expect: expected at least 1 video output; the run wrote 6 image (png, ", "1 image (webp, "},
		},
		"hostile output name": {
			opts: comfytest.Options{OutputFilename: "../../x.png"},
			want: []string{`refuse output filename "../../x.png" of node 3: it could write outside the output folder`},
			check: func(t *testing.T, _ *comfytest.Server, root string) {
				if _, err := os.Stat(filepath.Join(root, ".sdform", "x.png")); !os.IsNotExist(err) {
					t.Errorf("a file was written outside the output folder: %v", err)
				}
			},
		},
	} {
		t.Run(name, func(t *testing.T) {
			fake, url := comfytest.Start(t, c.opts)
			attrs := map[string]cty.Value{"url": cty.StringVal(url), "workflow": cty.StringVal("workflows/smoke.json"), "timeout": cty.StringVal("20s")}
			for k, v := range c.attrs {
				attrs[k] = v
			}
			var expect map[string]cty.Value
			if name == "expectation" {
				expect = map[string]cty.Value{"kind": cty.StringVal("video")}
			}
			cfg := wfCfg(attrs, expect)
			start := time.Now()
			ar := e.apply(context.Background(), noWf(), cfg, providers.PlanResponse{Planned: cfg}, &bytes.Buffer{})
			text := diagsText(ar.Diagnostics)
			if !ar.Diagnostics.HasErrors() || !ar.NewState.IsNull() {
				t.Fatalf("apply passed: %s", text)
			}
			for _, w := range c.want {
				if !strings.Contains(text, w) {
					t.Errorf("diagnostics lack %q:\n%s", w, text)
				}
			}
			if d := time.Since(start); d > 10*time.Second {
				t.Errorf("took %s", d)
			}
			if c.check != nil {
				c.check(t, fake, e.dir)
			}
		})
	}
}

func TestWorkflowWebSocketDrop(t *testing.T) {
	_, url := comfytest.Start(t, comfytest.Options{DropWebSocketAt: "2", NodeDelay: 100 * time.Millisecond})
	e := newWfEnv(t)
	e.copyFile("workflows/smoke.json", "testdata/workflow/smoke-api.json")
	var out bytes.Buffer
	cfg := smokeCfg(url, nil)
	ar := e.apply(context.Background(), noWf(), cfg, e.plan(noWf(), cfg), &out)
	if ar.Diagnostics.HasErrors() {
		t.Fatalf("apply: %s", diagsText(ar.Diagnostics))
	}
	if ar.NewState.GetAttr("outputs").LengthInt() != 7 || !strings.Contains(out.String(), "following the run through /history") {
		t.Errorf("outputs %d, progress:\n%s", ar.NewState.GetAttr("outputs").LengthInt(), out.String())
	}
}

func TestProgressJSONLines(t *testing.T) {
	var b bytes.Buffer
	w := uiWriter(providers.UI{Out: &b, JSON: true})
	fmt.Fprintf(w, "comfyui_workflow: node 1 (EmptyImage)\ncomfyui_")
	fmt.Fprintf(w, "workflow: done\n")
	want := `{"@level":"info","@message":"comfyui_workflow: node 1 (EmptyImage)","type":"progress"}` + "\n" +
		`{"@level":"info","@message":"comfyui_workflow: done","type":"progress"}` + "\n"
	if b.String() != want {
		t.Errorf("got\n%s\nwant\n%s", b.String(), want)
	}
}

func TestWorkflowPlanOffline(t *testing.T) {
	e := newWfEnv(t)
	e.copyFile("workflows/smoke.json", "testdata/workflow/smoke-api.json")
	// A url server that does not answer: plan says what it cannot know.
	cfg := smokeCfg("http://127.0.0.1:9", nil)
	pr := e.plan(noWf(), cfg)
	if pr.Diagnostics.HasErrors() || len(pr.Details) != 1 || !strings.Contains(pr.Details[0], "not checked against http://127.0.0.1:9, which does not answer now") {
		t.Errorf("plan: %q %s", pr.Details, diagsText(pr.Diagnostics))
	}
	// An image whose id is known only after its build.
	img := wfCfg(map[string]cty.Value{"image": cty.UnknownVal(cty.String), "workflow": cty.StringVal("workflows/smoke.json")}, nil)
	pr = e.plan(wfObject{value: workflowValue(img, map[string]cty.Value{})}, img)
	if pr.Reason != "image changed" || len(pr.RequiresReplace) != 1 || !strings.Contains(strings.Join(pr.Details, ""), "image known only after apply") {
		t.Errorf("unknown image: %q %q", pr.Reason, pr.Details)
	}
	for name, c := range map[string]struct {
		attrs map[string]cty.Value
		want  string
	}{
		"no server":  {map[string]cty.Value{"workflow": cty.StringVal("w.json")}, "No ComfyUI server"},
		"both":       {map[string]cty.Value{"url": cty.StringVal("http://x:1"), "image": cty.StringVal("i"), "workflow": cty.StringVal("w.json")}, "Both url and image set"},
		"duration":   {map[string]cty.Value{"url": cty.StringVal("http://x:1"), "workflow": cty.StringVal("w.json"), "timeout": cty.StringVal("soon")}, "Invalid timeout"},
		"bad key":    {map[string]cty.Value{"url": cty.StringVal("http://x:1"), "workflow": cty.StringVal("w.json"), "inputs": cty.MapVal(map[string]cty.Value{"seed": cty.StringVal("1")})}, "Invalid input override"},
		"bad gpus":   {map[string]cty.Value{"image": cty.StringVal("i"), "workflow": cty.StringVal("w.json"), "gpus": cty.StringVal("some")}, "Invalid gpus"},
		"bad url":    {map[string]cty.Value{"url": cty.StringVal("ftp://x"), "workflow": cty.StringVal("w.json")}, "Invalid url"},
		"listen all": {map[string]cty.Value{"image": cty.StringVal("i"), "workflow": cty.StringVal("w.json"), "command": cty.ListVal([]cty.Value{cty.StringVal("python"), cty.StringVal("main.py"), cty.StringVal("--listen"), cty.StringVal("--port"), cty.StringVal("{port}")})}, "The command makes ComfyUI listen on 0.0.0.0,::."},
		"listen lan": {map[string]cty.Value{"image": cty.StringVal("i"), "workflow": cty.StringVal("w.json"), "command": cty.ListVal([]cty.Value{cty.StringVal("python"), cty.StringVal("--listen=127.0.0.1,192.168.1.4")})}, "listen on 127.0.0.1,192.168.1.4."},
		"no file":    {map[string]cty.Value{"url": cty.StringVal("http://127.0.0.1:9"), "workflow": cty.StringVal("missing.json")}, "Workflow file not readable"},
		"bad expect": {map[string]cty.Value{"url": cty.StringVal("http://127.0.0.1:9"), "workflow": cty.StringVal("w.json")}, "Invalid expect.kind"},
	} {
		var expect map[string]cty.Value
		if name == "bad expect" {
			expect = map[string]cty.Value{"kind": cty.StringVal("movie")}
		}
		pr := e.plan(noWf(), wfCfg(c.attrs, expect))
		if !strings.Contains(diagsText(pr.Diagnostics), c.want) || !pr.Diagnostics.HasErrors() {
			t.Errorf("%s: %s", name, diagsText(pr.Diagnostics))
		}
	}
}

// modelObject is a comfyui_model's value as a reference to the resource
// gives it: more attributes than models uses, some unknown at plan.
func modelObject(path, sha string, size cty.Value) cty.Value {
	shaV := cty.UnknownVal(cty.String)
	if sha != "" {
		shaV = cty.StringVal(sha)
	}
	return cty.ObjectVal(map[string]cty.Value{
		"source": cty.StringVal("hf://org/repo@main/" + path), "path": cty.StringVal(path), "sha256": shaV,
		"models_dir": cty.StringVal("models"), "name": cty.StringVal(path), "size_bytes": size, "full_path": cty.UnknownVal(cty.String),
	})
}

// TestWorkflowPlanReasons changes each input of the fingerprint in turn: the
// plan says which, or "up to date" when none changed.
func TestWorkflowPlanReasons(t *testing.T) {
	e := newWfEnv(t)
	e.copyFile("workflows/smoke.json", "testdata/workflow/smoke-api.json")
	e.copyFile("workflows/other.json", "testdata/workflow/animated-api.json")
	e.file("models/checkpoints/plain.safetensors", []byte("weights"))
	idA, idB := "sha256:"+strings.Repeat("a", 64), "sha256:"+strings.Repeat("b", 64)
	shaA, shaB := strings.Repeat("1", 64), strings.Repeat("2", 64)
	attrs := func(edit func(map[string]cty.Value)) cty.Value {
		a := map[string]cty.Value{
			"image":    cty.StringVal(idA),
			"workflow": cty.StringVal("workflows/smoke.json"),
			"models":   cty.TupleVal([]cty.Value{modelObject("diffusion_models/m.safetensors", shaA, cty.NumberIntVal(7)), cty.StringVal("checkpoints/plain.safetensors")}),
			"inputs":   cty.MapVal(map[string]cty.Value{"1.width": cty.StringVal("32")}),
		}
		if edit != nil {
			edit(a)
		}
		return wfCfg(a, map[string]cty.Value{"kind": cty.StringVal("image")})
	}
	first := e.plan(noWf(), attrs(nil))
	if first.Diagnostics.HasErrors() || first.Reason != "not run yet" {
		t.Fatalf("first plan: %q %s", first.Reason, diagsText(first.Diagnostics))
	}
	if d := strings.Join(first.Details, "\n"); !strings.Contains(d, "models given by path (checkpoints/plain.safetensors) are tracked by size and modification time") {
		t.Errorf("details lack the note on plain paths:\n%s", d)
	}
	prior := wfObject{value: workflowValue(attrs(nil), map[string]cty.Value{}), private: first.PlannedPrivate}
	if pr := e.plan(prior, attrs(nil)); pr.Reason != "up to date" || pr.Diagnostics.HasErrors() {
		t.Fatalf("unchanged: %q %s", pr.Reason, diagsText(pr.Diagnostics))
	}
	for name, c := range map[string]struct {
		edit   func(map[string]cty.Value)
		reason string
	}{
		"image id": {func(a map[string]cty.Value) { a["image"] = cty.StringVal(idB) }, "image changed"},
		"model sha256": {func(a map[string]cty.Value) {
			a["models"] = cty.TupleVal([]cty.Value{modelObject("diffusion_models/m.safetensors", shaB, cty.NumberIntVal(7)), cty.StringVal("checkpoints/plain.safetensors")})
		}, "model diffusion_models/m.safetensors changed (sha256 111111111111 → 222222222222)"},
		"model re-download": {func(a map[string]cty.Value) {
			a["models"] = cty.TupleVal([]cty.Value{modelObject("diffusion_models/m.safetensors", "", cty.UnknownVal(cty.Number)), cty.StringVal("checkpoints/plain.safetensors")})
		}, "a model changes (its sha256 is known only after apply)"},
		// Only the model's path and sha256 count: other attributes
		// unknown at plan (a size read back after apply) change nothing.
		"model size unknown": {func(a map[string]cty.Value) {
			a["models"] = cty.TupleVal([]cty.Value{modelObject("diffusion_models/m.safetensors", shaA, cty.UnknownVal(cty.Number)), cty.StringVal("checkpoints/plain.safetensors")})
		}, "up to date"},
		"model removed": {func(a map[string]cty.Value) {
			a["models"] = cty.TupleVal([]cty.Value{cty.StringVal("checkpoints/plain.safetensors")})
		}, "model diffusion_models/m.safetensors removed"},
		"input value": {func(a map[string]cty.Value) {
			a["inputs"] = cty.MapVal(map[string]cty.Value{"1.width": cty.StringVal("40")})
		}, "inputs.1.width changed"},
		"input removed": {func(a map[string]cty.Value) { a["inputs"] = cty.NullVal(cty.Map(cty.String)) }, "inputs.1.width removed"},
		"workflow":      {func(a map[string]cty.Value) { a["workflow"] = cty.StringVal("workflows/other.json") }, "workflow file changed"},
		"server env":    {func(a map[string]cty.Value) { a["env"] = cty.MapVal(map[string]cty.Value{"X": cty.StringVal("1")}) }, "server command, env or models folder changed"},
		"url instead": {func(a map[string]cty.Value) {
			a["image"] = cty.NullVal(cty.String)
			a["url"] = cty.StringVal("http://127.0.0.1:9")
		}, "image changed, server command, env or models folder changed, url changed"},
	} {
		t.Run(name, func(t *testing.T) {
			pr := e.plan(prior, attrs(c.edit))
			if pr.Reason != c.reason || pr.Diagnostics.HasErrors() {
				t.Errorf("reason %q, want %q %s", pr.Reason, c.reason, diagsText(pr.Diagnostics))
			}
			if wantReplace := c.reason != "up to date"; (len(pr.RequiresReplace) == 1) != wantReplace {
				t.Errorf("replace %v", pr.RequiresReplace)
			}
		})
	}
	// A plain path changes when the file does (it was downloaded again),
	// even if the config does not.
	time.Sleep(10 * time.Millisecond)
	e.file("models/checkpoints/plain.safetensors", []byte("weights, again"))
	if pr := e.plan(prior, attrs(nil)); pr.Reason != "model checkpoints/plain.safetensors changed" {
		t.Errorf("plain path rewritten: %q", pr.Reason)
	}
}

func TestWorkflowModelsDecode(t *testing.T) {
	e := newWfEnv(t)
	e.copyFile("w.json", "testdata/workflow/smoke-api.json")
	for name, c := range map[string]struct {
		models cty.Value
		want   string
	}{
		"number":       {cty.TupleVal([]cty.Value{cty.NumberIntVal(1)}), "Invalid models entry"},
		"no path":      {cty.TupleVal([]cty.Value{cty.ObjectVal(map[string]cty.Value{"sha256": cty.StringVal("x")})}), "Invalid models entry"},
		"bad sha256":   {cty.TupleVal([]cty.Value{cty.ObjectVal(map[string]cty.Value{"path": cty.StringVal("a"), "sha256": cty.StringVal("xyz")})}), `The sha256 "xyz" of model a is not 64 hexadecimal digits.`},
		"not a list":   {cty.StringVal("a"), "Invalid models"},
		"list is fine": {cty.ListVal([]cty.Value{cty.StringVal("a")}), ""},
	} {
		cfg := wfCfg(map[string]cty.Value{"url": cty.StringVal("http://127.0.0.1:9"), "workflow": cty.StringVal("w.json"), "models": c.models}, nil)
		r := e.p.ValidateResource(context.Background(), providers.ValidateRequest{TypeName: "comfyui_workflow", Config: cfg})
		text := diagsText(r.Diagnostics)
		if c.want == "" && r.Diagnostics.HasErrors() || c.want != "" && !strings.Contains(text, c.want) {
			t.Errorf("%s: %s", name, text)
		}
	}
}

// TestWorkflowImageTagUnresolved plans a workflow whose image is a tag
// while no Docker Engine answers: the id the last run used is assumed, and
// a warning says the tag was not checked.
func TestWorkflowImageTagUnresolved(t *testing.T) {
	e := newWfEnv(t)
	e.copyFile("workflows/smoke.json", "testdata/workflow/smoke-api.json")
	cfg := wfCfg(map[string]cty.Value{"image": cty.StringVal("runpod/x:fp8"), "workflow": cty.StringVal("workflows/smoke.json"),
		"docker_host": cty.StringVal("unix://" + filepath.Join(e.dir, "no-such.sock"))}, nil)
	parts := map[string]string{}
	last := "sha256:" + strings.Repeat("c", 64)
	first := e.plan(noWf(), cfg)
	if !strings.Contains(diagsText(first.Diagnostics), "Image tag not resolved") || first.Diagnostics.HasErrors() {
		t.Fatalf("first plan: %s", diagsText(first.Diagnostics))
	}
	// What an apply against the Engine would have recorded.
	if err := json.Unmarshal(first.PlannedPrivate, &struct {
		Parts *map[string]string `json:"parts"`
	}{&parts}); err != nil {
		t.Fatal(err)
	}
	parts["image_id"] = last
	prior := wfObject{value: workflowValue(cfg, map[string]cty.Value{}), private: wfPrivate{Parts: parts}.encode()}
	pr := e.plan(prior, cfg)
	text := diagsText(pr.Diagnostics)
	if pr.Reason != "up to date" || !strings.Contains(text, "[1] Image tag not resolved") || !strings.Contains(text, "whether it still names image cccccccccccc, which the last run used, is not checked") {
		t.Errorf("plan: %q\n%s", pr.Reason, text)
	}
}

// TestWorkflowCancelInterrupts cancels an apply (Ctrl-C) while a node runs:
// the prompt is interrupted on the server and the error says so.
func TestWorkflowCancelInterrupts(t *testing.T) {
	fake, url := comfytest.Start(t, comfytest.Options{HangClass: "ImageInvert"})
	e := newWfEnv(t)
	e.copyFile("workflows/smoke.json", "testdata/workflow/smoke-api.json")
	cfg := smokeCfg(url, nil)
	ctx, cancel := context.WithCancel(context.Background())
	out := &syncBuffer{}
	go func() {
		for i := 0; i < 500 && !strings.Contains(out.String(), "node 2 (ImageInvert)"); i++ {
			time.Sleep(10 * time.Millisecond)
		}
		cancel()
	}()
	start := time.Now()
	ar := e.p.ApplyResource(ctx, providers.ApplyRequest{TypeName: "comfyui_workflow", Address: wfAddr, Action: providers.Create,
		Prior: noWf().value, Planned: cfg, Config: cfg, UI: providers.UI{Out: out}})
	text := diagsText(ar.Diagnostics)
	if !ar.Diagnostics.HasErrors() || !ar.NewState.IsNull() || !strings.Contains(text, "run cancelled (prompt ") || !strings.Contains(text, "interrupted)") {
		t.Fatalf("apply: %s\n%s", text, out.String())
	}
	if d := time.Since(start); d > 10*time.Second {
		t.Errorf("cancel took %s", d)
	}
	if got := fake.Interrupts(); len(got) != 1 || got[0] == "" || !strings.Contains(text, got[0]) {
		t.Errorf("interrupts = %q; diagnostics:\n%s", got, text)
	}
}

// TestWorkflowServerRejects has the server reject a prompt that passed
// sdform's own checks (its /object_info, as proxied here, allows a width
// the server does not): the 400 answer is shown node by node.
func TestWorkflowServerRejects(t *testing.T) {
	fake, err := comfytest.New(comfytest.Options{Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	defer fake.Close()
	var all map[string]map[string]any
	if err := json.Unmarshal(comfytest.ObjectInfo080, &all); err != nil {
		t.Fatal(err)
	}
	width := all["EmptyImage"]["input"].(map[string]any)["required"].(map[string]any)["width"].([]any)
	width[1].(map[string]any)["min"] = -100
	info, err := json.Marshal(all)
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/object_info" {
			w.Header().Set("Content-Type", "application/json")
			w.Write(info)
			return
		}
		fake.Handler().ServeHTTP(w, r)
	}))
	defer ts.Close()
	e := newWfEnv(t)
	e.copyFile("workflows/smoke.json", "testdata/workflow/smoke-api.json")
	cfg := smokeCfg(ts.URL, map[string]cty.Value{"inputs": cty.MapVal(map[string]cty.Value{"1.width": cty.StringVal("-5")})})
	ar := e.apply(context.Background(), noWf(), cfg, providers.PlanResponse{Planned: cfg}, &bytes.Buffer{})
	text := diagsText(ar.Diagnostics)
	for _, want := range []string{
		"node 1 (EmptyImage) input width: Value -5 smaller than min of 1: The server rejected input width of node 1 (EmptyImage): Value -5 smaller than min of 1. (file , attr",
		"The server rejected the workflow: POST /prompt to " + ts.URL + " answered 400 (prompt_outputs_failed_validation: Prompt outputs failed validation); each node's errors are listed on their own.",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("diagnostics lack %q:\n%s", want, text)
		}
	}
	if !ar.NewState.IsNull() {
		t.Error("a rejected run was recorded")
	}
}

// syncBuffer is a bytes.Buffer safe for a writer and a reader at once.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestWorkflowDiagnosticLines: a problem found in the workflow file points
// at its node's line; one about an override points at the override.
func TestWorkflowDiagnosticLines(t *testing.T) {
	_, url := comfytest.Start(t, comfytest.Options{})
	e := newWfEnv(t)
	e.file("workflows/w.json", []byte("{\n \"1\": {\"class_type\": \"EmptyImage\", \"inputs\": {\"width\": 64, \"height\": 48, \"batch_size\": 1, \"color\": 0}},\n\n"+
		" \"3\": {\"class_type\": \"SaveImage\",\n  \"inputs\": {\"filename_prefix\": \"x\"}}\n}\n"))
	cfg := wfCfg(map[string]cty.Value{"url": cty.StringVal(url), "workflow": cty.StringVal("workflows/w.json"),
		"inputs": cty.MapVal(map[string]cty.Value{"1.width": cty.StringVal("0")})}, nil)
	pr := e.plan(noWf(), cfg)
	got := map[string]string{}
	for _, d := range pr.Diagnostics {
		got[d.Summary] = fmt.Sprintf("%s:%d %v", d.File, d.Line, d.Attribute)
	}
	want := map[string]string{
		"node 3 (SaveImage) input images: Required input missing": "workflows/w.json:4 []",
		"node 1 (EmptyImage) input width: Value out of range":     ":0 " + fmt.Sprint(cty.GetAttrPath("inputs").Index(cty.StringVal("1.width"))),
	}
	for s, w := range want {
		if got[s] != w {
			t.Errorf("%s: at %q, want %q (all: %v)", s, got[s], w, got)
		}
	}
}

// TestWorkflowFileErrorsHaveLines: validate parses the workflow file
// offline, and a JSON error points at its line (the column is in the
// detail); a diagnostic about the whole file points at a line of it too.
func TestWorkflowFileErrorsHaveLines(t *testing.T) {
	_, url := comfytest.Start(t, comfytest.Options{})
	e := newWfEnv(t)
	e.file("wf.json", []byte("{\n  \"1\": {\"class_type\": \"EmptyImage\", \"inputs\": {\"width\": 64, \"height\": 48,}},\n  \"2\": {}\n}\n"))
	e.file("custom.json", []byte(`{
	 "1": {"class_type": "EmptyImage", "inputs": {"width": 64, "height": 64, "batch_size": 1, "color": 0}},
	 "2": {"class_type": "VHS_VideoCombine", "inputs": {"images": ["1", 0], "frame_rate": 8}}}`))
	broken := wfCfg(map[string]cty.Value{"url": cty.StringVal(url), "workflow": cty.StringVal("wf.json")}, nil)
	vr := e.p.ValidateResource(context.Background(), providers.ValidateRequest{TypeName: "comfyui_workflow", Address: wfAddr, Config: broken})
	if len(vr.Diagnostics) != 1 || vr.Diagnostics[0].Summary != "Invalid workflow file" || vr.Diagnostics[0].File != "wf.json" || vr.Diagnostics[0].Line != 2 ||
		vr.Diagnostics[0].Detail != "parse workflow: line 2, column 74: invalid character '}' looking for beginning of object key string." {
		t.Errorf("validate: %s (line %v)", diagsText(vr.Diagnostics), lineOf(vr.Diagnostics))
	}
	if pr := e.plan(noWf(), broken); !pr.Diagnostics.HasErrors() || pr.Diagnostics[0].Line != 2 {
		t.Errorf("plan: %s (line %v)", diagsText(pr.Diagnostics), lineOf(pr.Diagnostics))
	}
	pr := e.plan(noWf(), wfCfg(map[string]cty.Value{"url": cty.StringVal(url), "workflow": cty.StringVal("custom.json")}, nil))
	for _, d := range pr.Diagnostics {
		if d.File != "" && d.Line != 3 {
			t.Errorf("%s: line %d, want 3 (node 2)", d.Summary, d.Line)
		}
	}
	if !strings.Contains(diagsText(pr.Diagnostics), "Custom node packs missing on the server") {
		t.Errorf("plan: %s", diagsText(pr.Diagnostics))
	}
}

func lineOf(ds providers.Diagnostics) []int {
	var lines []int
	for _, d := range ds {
		lines = append(lines, d.Line)
	}
	return lines
}

// TestWorkflowOverrideOfLinkRefused: an override that would replace a
// linked input is refused by validate and by plan, with a server to check
// against or without, naming the node, the input and the link.
func TestWorkflowOverrideOfLinkRefused(t *testing.T) {
	_, url := comfytest.Start(t, comfytest.Options{})
	e := newWfEnv(t)
	e.copyFile("workflows/smoke.json", "testdata/workflow/smoke-api.json")
	inputs := cty.MapVal(map[string]cty.Value{"2.image": cty.StringVal("x")})
	want := `[0] Override of a linked input: The override "2.image" would replace input image of node 2 (ImageInvert), which is linked to output 0 of node 1 (EmptyImage).`
	at := cty.GetAttrPath("inputs").Index(cty.StringVal("2.image"))
	for name, cfg := range map[string]cty.Value{
		"url server": smokeCfg(url, map[string]cty.Value{"inputs": inputs}),
		"image":      wfCfg(map[string]cty.Value{"image": cty.StringVal("sha256:" + strings.Repeat("a", 64)), "workflow": cty.StringVal("workflows/smoke.json"), "inputs": inputs}, nil),
	} {
		vr := e.p.ValidateResource(context.Background(), providers.ValidateRequest{TypeName: "comfyui_workflow", Address: wfAddr, Config: cfg})
		pr := e.plan(noWf(), cfg)
		for what, ds := range map[string]providers.Diagnostics{"validate": vr.Diagnostics, "plan": pr.Diagnostics} {
			if len(ds) != 1 || !strings.HasPrefix(diagsText(ds), want) || !ds[0].Attribute.Equals(at) {
				t.Errorf("%s, %s: %s", name, what, diagsText(ds))
			}
		}
	}
}

// TestWorkflowMissingModels: a model file that models lists and that is
// not there is a warning at plan (something may put it there first), and
// an error at apply when the models folder is mounted in the server
// container, before the container starts.
func TestWorkflowMissingModels(t *testing.T) {
	e := newWfEnv(t)
	e.copyFile("workflows/smoke.json", "testdata/workflow/smoke-api.json")
	e.file("models/checkpoints/there.safetensors", []byte("weights"))
	cfg := func(models ...string) cty.Value {
		var list []cty.Value
		for _, m := range models {
			list = append(list, cty.StringVal(m))
		}
		return wfCfg(map[string]cty.Value{"image": cty.StringVal("sha256:" + strings.Repeat("a", 64)), "workflow": cty.StringVal("workflows/smoke.json"),
			"docker_host": cty.StringVal("unix://" + filepath.Join(e.dir, "no-such.sock")), "models": cty.ListVal(list)}, nil)
	}
	missing := cfg("checkpoints/there.safetensors", "checkpoints/missing.safetensors")
	pr := e.plan(noWf(), missing)
	text := diagsText(pr.Diagnostics)
	if pr.Diagnostics.HasErrors() || len(pr.Diagnostics) != 1 || !strings.Contains(text, "[1] Model files missing: models lists checkpoints/missing.safetensors, not in "+filepath.Join(e.dir, "models")+" now.") {
		t.Errorf("plan: %s", text)
	}
	if pr := e.plan(noWf(), cfg("checkpoints/there.safetensors")); len(pr.Diagnostics) != 0 {
		t.Errorf("plan with the file there: %s", diagsText(pr.Diagnostics))
	}
	ar := e.apply(context.Background(), noWf(), missing, pr, &bytes.Buffer{})
	text = diagsText(ar.Diagnostics)
	if !ar.Diagnostics.HasErrors() || !strings.Contains(text, "[0] Model files missing: models lists checkpoints/missing.safetensors, not in "+filepath.Join(e.dir, "models")+", which is mounted over /opt/ComfyUI/models") ||
		strings.Contains(text, "no-such.sock") {
		t.Errorf("apply: %s", text)
	}
}
