package comfyui

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/zclconf/go-cty/cty"

	"github.com/sdform/sdform/providers"
	"github.com/sdform/sdform/providers/comfyui/comfytest"
)

// TestFingerprintCountsGPUsAndEngine computes the fingerprint of one run
// on an image with other gpus and docker_host values. What must hold: a
// run on CPUs (gpus = "none") or on another Engine is not up to date for
// one with GPUs or on this Engine, the plan says which changed, and at
// their defaults ("auto", no docker_host) the two are no parts at all, so
// that fingerprints recorded before they counted still match.
func TestFingerprintCountsGPUsAndEngine(t *testing.T) {
	e := newWfEnv(t)
	e.copyFile("workflows/smoke.json", "testdata/workflow/smoke-api.json")
	w := newWorkflowType(e.p)
	id := "sha256:" + strings.Repeat("ab", 32)
	parts := func(attrs map[string]cty.Value) map[string]string {
		t.Helper()
		a := map[string]cty.Value{"image": cty.StringVal(id), "workflow": cty.StringVal("workflows/smoke.json")}
		for k, v := range attrs {
			a[k] = v
		}
		c, d := w.decode(wfCfg(a, nil))
		if d.HasErrors() {
			t.Fatal(diagsText(d))
		}
		data, err := os.ReadFile(c.WorkflowAbs)
		if err != nil {
			t.Fatal(err)
		}
		return w.parts(c, "", data)
	}
	defaults := parts(nil)
	if _, ok := defaults["gpus"]; ok {
		t.Errorf("gpus = \"auto\" is a part: %v", defaults)
	}
	if _, ok := defaults["docker_host"]; ok {
		t.Errorf("no docker_host is a part: %v", defaults)
	}
	cpu := parts(map[string]cty.Value{"gpus": cty.StringVal("none"), "docker_host": cty.StringVal("unix:///a.sock")})
	gpu := parts(map[string]cty.Value{"gpus": cty.StringVal("all"), "docker_host": cty.StringVal("tcp://gpu-box:2375")})
	if partsFingerprint(cpu) == partsFingerprint(gpu) {
		t.Fatal("a run with gpus none on one Engine has the fingerprint of one with gpus all on another")
	}
	if got, want := changedParts(cpu, gpu), "docker_host changed (another Docker Engine), gpus changed (none → all)"; got != want {
		t.Errorf("reason %q, want %q", got, want)
	}
	if got, want := changedParts(defaults, cpu), "docker_host changed (another Docker Engine), gpus changed (auto → none)"; got != want {
		t.Errorf("reason %q, want %q", got, want)
	}
}

// TestWorkflowEditedDuringRunReruns edits the workflow file while its run
// is going (node 1 has started; each node takes 300 ms). What must hold:
// the recorded fingerprint is that of the file as submitted, so the next
// plan sees the edit, which never ran, and re-runs.
func TestWorkflowEditedDuringRunReruns(t *testing.T) {
	_, url := comfytest.Start(t, comfytest.Options{NodeDelay: 300 * time.Millisecond})
	e := newWfEnv(t)
	e.copyFile("workflows/smoke.json", "testdata/workflow/smoke-api.json")
	path := filepath.Join(e.dir, "workflows/smoke.json")
	cfg := smokeCfg(url, nil)
	out := &syncBuffer{}
	edited := make(chan error, 1)
	go func() {
		for i := 0; i < 1000 && !strings.Contains(out.String(), "node 1 ("); i++ {
			time.Sleep(5 * time.Millisecond)
		}
		b, err := os.ReadFile(path)
		if err == nil {
			err = os.WriteFile(path, []byte(strings.Replace(string(b), `"width": 64`, `"width": 80`, 1)), 0o644)
		}
		edited <- err
	}()
	pr := e.plan(noWf(), cfg)
	ar := e.p.ApplyResource(context.Background(), providers.ApplyRequest{TypeName: "comfyui_workflow", Address: wfAddr, Action: providers.Create,
		Prior: noWf().value, Planned: pr.Planned, Config: cfg, PlannedPrivate: pr.PlannedPrivate, UI: providers.UI{Out: out}})
	if ar.Diagnostics.HasErrors() {
		t.Fatalf("apply: %s", diagsText(ar.Diagnostics))
	}
	if err := <-edited; err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(path); !strings.Contains(string(b), `"width": 80`) {
		t.Fatal("the edit did not happen")
	}
	if pr := e.plan(wfObject{ar.NewState, ar.Private}, cfg); pr.Reason != "workflow file changed" {
		t.Errorf("plan after the file was edited during the run: %q, want \"workflow file changed\"", pr.Reason)
	}
}
