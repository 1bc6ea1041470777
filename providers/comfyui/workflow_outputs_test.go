package comfyui

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/zclconf/go-cty/cty"

	"github.com/sdform/sdform/providers"
	"github.com/sdform/sdform/providers/comfyui/comfytest"
	"github.com/sdform/sdform/providers/comfyui/download"
)

// recordedOutputs maps each output path of a state value to its sha256.
func recordedOutputs(st cty.Value) map[string]string {
	out := map[string]string{}
	for it := st.GetAttr("outputs").ElementIterator(); it.Next(); {
		_, o := it.Element()
		out[o.GetAttr("path").AsString()] = o.GetAttr("sha256").AsString()
	}
	return out
}

// TestWorkflowFailedRerunKeepsOutputs re-runs a workflow that passed with
// a config whose expect block fails: the files the state records (the
// evidence of the run that passed) stay as they were, the failed run's
// files are kept apart, and the passing config plans nothing.
func TestWorkflowFailedRerunKeepsOutputs(t *testing.T) {
	_, url := comfytest.Start(t, comfytest.Options{})
	e := newWfEnv(t)
	e.copyFile("workflows/smoke.json", "testdata/workflow/smoke-api.json")
	cfg := smokeCfg(url, nil)
	var out bytes.Buffer
	ar := e.apply(context.Background(), noWf(), cfg, e.plan(noWf(), cfg), &out)
	if ar.Diagnostics.HasErrors() {
		t.Fatalf("apply: %s\n%s", diagsText(ar.Diagnostics), out.String())
	}
	prior := wfObject{value: ar.NewState, private: ar.Private}
	recorded := recordedOutputs(prior.value)
	// Their stats are recorded, so that a plan trusts them unread.
	if stats := decodeWfPrivate(ar.Private).Outputs; len(stats) != len(recorded) {
		t.Errorf("stat records of %d outputs, want %d", len(stats), len(recorded))
	}

	failing := wfCfg(map[string]cty.Value{"url": cty.StringVal(url), "workflow": cty.StringVal("workflows/smoke.json"), "timeout": cty.StringVal("20s"),
		"inputs": cty.MapVal(map[string]cty.Value{"1.batch_size": cty.StringVal("2")})}, map[string]cty.Value{"kind": cty.StringVal("video")})
	fr := e.apply(context.Background(), prior, failing, e.plan(prior, failing), &out)
	text := diagsText(fr.Diagnostics)
	failedDir := filepath.Join(e.dir, ".sdform", "outputs", "comfyui_workflow.smoke.failed")
	if !fr.Diagnostics.HasErrors() || !fr.NewState.RawEquals(prior.value) {
		t.Fatalf("failing re-run: %s", text)
	}
	for path, sum := range recorded {
		if got, _, err := sha256Of(path); err != nil || got != sum {
			t.Errorf("recorded output %s after the failed run: sha256 %s, %v; want %s", path, got, err, sum)
		}
	}
	if !strings.Contains(text, "outputs do not meet expect: expected at least 1 video output") || !strings.Contains(text, "they are in "+failedDir) {
		t.Errorf("failing re-run: %s", text)
	}
	if failedFiles, _ := filepath.Glob(filepath.Join(failedDir, "sdform", "*")); len(failedFiles) != 3 {
		t.Errorf("files of the failed run: %v, want 3", failedFiles)
	}

	rr := e.p.ReadResource(context.Background(), providers.ReadRequest{TypeName: "comfyui_workflow", Address: wfAddr, Prior: prior.value, Private: prior.private})
	if rr.Drift != "" {
		t.Errorf("read after the failed run: drift %q", rr.Drift)
	}
	if pr := e.plan(wfObject{value: rr.NewState, private: rr.Private}, cfg); pr.Reason != "up to date" {
		t.Errorf("plan of the passing config: %q", pr.Reason)
	}

	// A run that passes again replaces the outputs, and the failed run's
	// files go.
	ar2 := e.apply(context.Background(), prior, cfg, e.plan(noWf(), cfg), &out)
	if ar2.Diagnostics.HasErrors() {
		t.Fatalf("passing re-run: %s", diagsText(ar2.Diagnostics))
	}
	for path, sum := range recordedOutputs(ar2.NewState) {
		if !strings.HasPrefix(path, filepath.Join(e.dir, ".sdform", "outputs", "comfyui_workflow.smoke")+"/") {
			t.Errorf("output recorded at %s", path)
		}
		if got, _, err := sha256Of(path); err != nil || got != sum {
			t.Errorf("output %s: sha256 %s, %v; want %s", path, got, err, sum)
		}
	}
	if _, err := os.Stat(failedDir); !os.IsNotExist(err) {
		t.Errorf("the failed run's folder is still there: %v", err)
	}
	if left, _ := filepath.Glob(filepath.Join(e.dir, ".sdform", "outputs", "*")); len(left) != 1 {
		t.Errorf("output folders: %v", left)
	}
}

// TestWorkflowOutputsDrift deletes and edits recorded outputs: refresh
// reports it, and the plan runs the workflow again although its inputs
// are the same.
func TestWorkflowOutputsDrift(t *testing.T) {
	_, url := comfytest.Start(t, comfytest.Options{})
	e := newWfEnv(t)
	e.copyFile("workflows/smoke.json", "testdata/workflow/smoke-api.json")
	cfg := smokeCfg(url, nil)
	ar := e.apply(context.Background(), noWf(), cfg, e.plan(noWf(), cfg), &bytes.Buffer{})
	if ar.Diagnostics.HasErrors() {
		t.Fatalf("apply: %s", diagsText(ar.Diagnostics))
	}
	dir := strAttr(ar.NewState, "output_dir")
	read := func() providers.ReadResponse {
		return e.p.ReadResource(context.Background(), providers.ReadRequest{TypeName: "comfyui_workflow", Address: wfAddr, Prior: ar.NewState, Private: ar.Private})
	}
	if rr := read(); rr.Drift != "" || !rr.NewState.RawEquals(ar.NewState) {
		t.Fatalf("read of intact outputs: drift %q", rr.Drift)
	}
	if err := os.Remove(filepath.Join(dir, "sdform", "smoke_00001_.webp")); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "sdform", "still_00001_.png"), []byte("not the image"), 0o644); err != nil {
		t.Fatal(err)
	}
	rr := read()
	want := "outputs of the recorded run changed outside sdform: sdform/smoke_00001_.webp deleted, sdform/still_00001_.png modified"
	if rr.Drift != want {
		t.Errorf("drift %q, want %q", rr.Drift, want)
	}
	if n := rr.NewState.GetAttr("outputs").LengthInt(); n != 6 {
		t.Errorf("refreshed outputs: %d, want the 6 still there", n)
	}
	pr := e.plan(wfObject{value: rr.NewState, private: rr.Private}, cfg)
	if pr.Reason != want || len(pr.RequiresReplace) != 1 || pr.Diagnostics.HasErrors() {
		t.Errorf("plan: %q, replace %v %s", pr.Reason, pr.RequiresReplace, diagsText(pr.Diagnostics))
	}
	// The re-run records the outputs again; refresh then finds them intact.
	ar2 := e.apply(context.Background(), wfObject{value: rr.NewState, private: rr.Private}, cfg, pr, &bytes.Buffer{})
	if ar2.Diagnostics.HasErrors() {
		t.Fatalf("re-run: %s", diagsText(ar2.Diagnostics))
	}
	rr2 := e.p.ReadResource(context.Background(), providers.ReadRequest{TypeName: "comfyui_workflow", Address: wfAddr, Prior: ar2.NewState, Private: ar2.Private})
	if pr := e.plan(wfObject{value: rr2.NewState, private: rr2.Private}, cfg); rr2.Drift != "" || pr.Reason != "up to date" {
		t.Errorf("after the re-run: drift %q, plan %q", rr2.Drift, pr.Reason)
	}
}

func sha256Of(path string) (string, int64, error) {
	r, err := download.HashFile(context.Background(), path, nil)
	return r.SHA256, r.Stat.Size, err
}
