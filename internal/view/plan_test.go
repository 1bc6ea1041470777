package view

import (
	"encoding/json"
	"io"
	"strings"
	"testing"

	"github.com/sdform/sdform/planner/plan"
)

// A check left unevaluated by a failed apply says why, not that it "will
// be evaluated after apply".
func TestChecksNotEvaluated(t *testing.T) {
	var b strings.Builder
	err := Checks(&b, []*plan.CheckResult{
		{Address: "check.size", Status: plan.CheckUnknown, Messages: []string{"not evaluated: depends on docker_image.app, which failed"}},
		{Address: "check.later", Status: plan.CheckUnknown},
	}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"check.size: not evaluated: depends on docker_image.app, which failed\n", "check.later: will be evaluated after apply\n"} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, b.String())
		}
	}
}

// A provider's progress line becomes one provider_output event: a text
// line as it is, a JSON object (what providers write under -json) as an
// object, never JSON inside a string. Nothing is sanitised for a terminal:
// JSON escapes control characters, and a raw DEL is valid JSON text.
func TestApplyJSONProviderOutput(t *testing.T) {
	var b strings.Builder
	a := NewApplyJSON(&b, &plan.Plan{})
	w := a.Writer("comfyui_model.vae")
	for _, line := range []string{
		"downloaded vae.safetensors\n",
		`{"@level":"info","@message":"downloading vae.safetensors: 1 MB of 2 MB","bytes_done":1000000}` + "\n",
		`{"vertexes":[{"name":"[1/3] RUN make"}]}` + "\n",
		"{\"@message\":\"odd\x7fname\"}\n",
	} {
		if _, err := io.WriteString(w, line); err != nil {
			t.Fatal(err)
		}
	}
	var events []map[string]any
	for _, l := range strings.Split(strings.TrimSpace(b.String()), "\n") {
		var e map[string]any
		if err := json.Unmarshal([]byte(l), &e); err != nil {
			t.Fatalf("%q: %v", l, err)
		}
		if e["type"] == "provider_output" {
			events = append(events, e)
		}
	}
	want := []struct{ message, output string }{
		{"comfyui_model.vae: downloaded vae.safetensors", "downloaded vae.safetensors"},
		{"comfyui_model.vae: downloading vae.safetensors: 1 MB of 2 MB", "downloading vae.safetensors: 1 MB of 2 MB"},
		{"comfyui_model.vae: BuildKit status", "BuildKit status"},
		{"comfyui_model.vae: odd\x7fname", "odd\x7fname"},
	}
	if len(events) != len(want) {
		t.Fatalf("%d provider_output events, want %d:\n%s", len(events), len(want), b.String())
	}
	for i, w := range want {
		e := events[i]
		if e["@message"] != w.message || e["output"] != w.output {
			t.Errorf("event %d: @message %q output %q, want %q %q", i, e["@message"], e["output"], w.message, w.output)
		}
		if _, isObj := e["progress"].(map[string]any); isObj != (i > 0) {
			t.Errorf("event %d: progress = %#v", i, e["progress"])
		}
	}
	if p := events[1]["progress"].(map[string]any); p["bytes_done"] != 1e6 {
		t.Errorf("progress object lost its fields: %v", p)
	}
}
