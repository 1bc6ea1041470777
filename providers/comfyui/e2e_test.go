package comfyui

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/zclconf/go-cty/cty"
)

// EnvComfyUIURL names a real ComfyUI server for TestWorkflowE2E.
const EnvComfyUIURL = "SDFORM_COMFYUI_URL"

// TestWorkflowE2E runs the no-model workflow (EmptyImage → ImageInvert →
// SaveAnimatedWEBP plus SaveImage) through the provider against a real
// ComfyUI server named by SDFORM_COMFYUI_URL, then again to see the server's
// cache, and checks the files it wrote.
func TestWorkflowE2E(t *testing.T) {
	url := os.Getenv(EnvComfyUIURL)
	if url == "" {
		t.Skip(EnvComfyUIURL + " is unset: no real ComfyUI server to run against")
	}
	e := newWfEnv(t)
	e.copyFile("workflows/smoke.json", "testdata/workflow/smoke-api.json")
	cfg := wfCfg(map[string]cty.Value{
		"url": cty.StringVal(url), "workflow": cty.StringVal("workflows/smoke.json"),
		"timeout": cty.StringVal("5m"), "ready_timeout": cty.StringVal("2m"),
	}, map[string]cty.Value{"kind": cty.StringVal("image"), "min_count": cty.NumberIntVal(6), "min_bytes": cty.NumberIntVal(100)})
	pr := e.plan(noWf(), cfg)
	if pr.Diagnostics.HasErrors() {
		t.Fatalf("plan: %s", diagsText(pr.Diagnostics))
	}
	t.Logf("plan: %s; %s", pr.Reason, strings.Join(pr.Details, "; "))
	var out bytes.Buffer
	ar := e.apply(context.Background(), noWf(), cfg, pr, &out)
	t.Logf("apply output:\n%s", out.String())
	if ar.Diagnostics.HasErrors() {
		t.Fatalf("apply: %s", diagsText(ar.Diagnostics))
	}
	st := ar.NewState
	srv := st.GetAttr("server")
	t.Logf("server: ComfyUI %s, torch %s, devices %d", srv.GetAttr("comfyui_version").AsString(), srv.GetAttr("pytorch_version").AsString(), srv.GetAttr("devices").LengthInt())
	kinds := map[string]int{}
	for it := st.GetAttr("outputs").ElementIterator(); it.Next(); {
		_, o := it.Element()
		path := o.GetAttr("path").AsString()
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		n, _ := o.GetAttr("bytes").AsBigFloat().Int64()
		fr, _ := o.GetAttr("frames").AsBigFloat().Int64()
		if int64(len(b)) != n {
			t.Errorf("%s: %d bytes on disk, %d recorded", path, len(b), n)
		}
		kind := o.GetAttr("kind").AsString() + "/" + o.GetAttr("format").AsString()
		kinds[kind]++
		t.Logf("output %s: %s, %d bytes, %d frames, sha256 %s", filepath.Base(path), kind, n, fr, o.GetAttr("sha256").AsString()[:16])
	}
	// Six identical frames: libwebp merges them and writes a still WebP.
	if kinds["image/png"] != 6 || kinds["image/webp"] != 1 {
		t.Errorf("outputs by kind: %v, want 6 image/png and 1 image/webp", kinds)
	}
	out.Reset()
	ar2 := e.apply(context.Background(), wfObject{value: st, private: ar.Private}, cfg, e.plan(noWf(), cfg), &out)
	if ar2.Diagnostics.HasErrors() {
		t.Fatalf("second apply: %s", diagsText(ar2.Diagnostics))
	}
	t.Logf("second run: cached nodes %v\n%s", ar2.NewState.GetAttr("cached"), out.String())
	if ar2.NewState.GetAttr("cached").LengthInt() != 4 {
		t.Errorf("second run cached %v, want all 4 nodes", ar2.NewState.GetAttr("cached"))
	}
	pr3 := e.plan(wfObject{value: ar2.NewState, private: ar2.Private}, cfg)
	if pr3.Reason != "up to date" {
		t.Errorf("plan after the run: %q", pr3.Reason)
	}

	// Three red and two blue frames: an animated WebP of two frames.
	e.copyFile("workflows/animated.json", "testdata/workflow/animated-api.json")
	anim := wfCfg(map[string]cty.Value{"url": cty.StringVal(url), "workflow": cty.StringVal("workflows/animated.json"), "timeout": cty.StringVal("5m")},
		map[string]cty.Value{"kind": cty.StringVal("animated"), "frames": cty.NumberIntVal(2)})
	out.Reset()
	ar4 := e.apply(context.Background(), noWf(), anim, e.plan(noWf(), anim), &out)
	if ar4.Diagnostics.HasErrors() {
		t.Fatalf("animated: %s\n%s", diagsText(ar4.Diagnostics), out.String())
	}
	o := ar4.NewState.GetAttr("outputs").Index(cty.NumberIntVal(0))
	t.Logf("animated output: %s/%s, %s frames, %s bytes", o.GetAttr("kind").AsString(), o.GetAttr("format").AsString(),
		o.GetAttr("frames").AsBigFloat().String(), o.GetAttr("bytes").AsBigFloat().String())
}
