package comfyui

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sdform/sdform/providers"
)

// TestModelFileSource: a weight file from a local file: source (relative to
// the configuration directory, or absolute) is copied and verified like a
// download, recorded by its stat, and the next plan is a no-op without
// opening either file.
func TestModelFileSource(t *testing.T) {
	content := randomBytes(2<<20+5, 11)
	cases := map[string]struct {
		source func(dir string) string
		sha256 bool
	}{
		"relative":             {source: func(string) string { return "file:weights/tiny.safetensors" }},
		"relative with sha256": {source: func(string) string { return "file:weights/tiny.safetensors" }, sha256: true},
		"absolute": {source: func(dir string) string {
			return "file://" + filepath.Join(dir, "weights", "tiny.safetensors")
		}},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			src := filepath.Join(dir, "weights", "tiny.safetensors")
			os.MkdirAll(filepath.Dir(src), 0o755)
			if err := os.WriteFile(src, content, 0o644); err != nil {
				t.Fatal(err)
			}
			p := configure(t, nil, dir, nil)
			var sha *string
			if tc.sha256 {
				s := hexSum(content)
				sha = &s
			}
			cfg := modelCfg(tc.source(dir), "checkpoints/tiny.safetensors", sha, nil)
			if d := p.ValidateResource(context.Background(), providers.ValidateRequest{TypeName: "comfyui_model", Config: cfg}).Diagnostics; len(d) > 0 {
				t.Fatalf("validate: %s", diagText(d))
			}
			pr := planModel(t, p, none(), cfg)
			if pr.Diagnostics.HasErrors() {
				t.Fatalf("plan: %s", diagText(pr.Diagnostics))
			}
			if !containsLine(pr.Details, "will be copied: 2.1 MB from "+src) || attr(pr.Planned, "size_bytes") != "2097157" {
				t.Fatalf("plan details %q, size %s", pr.Details, attr(pr.Planned, "size_bytes"))
			}
			if got, want := attr(pr.Planned, "sha256"), "(unknown)"; tc.sha256 && got != hexSum(content) || !tc.sha256 && got != want {
				t.Fatalf("planned sha256 %s", got)
			}
			var out bytes.Buffer
			ar := applyModel(t, p, none(), cfg, pr, &out)
			if ar.Diagnostics.HasErrors() {
				t.Fatalf("apply: %s", diagText(ar.Diagnostics))
			}
			full := filepath.Join(dir, "models", "checkpoints", "tiny.safetensors")
			if got, _ := os.ReadFile(full); !bytes.Equal(got, content) || attr(ar.NewState, "sha256") != hexSum(content) {
				t.Fatalf("copied file differs, or sha256 %s", attr(ar.NewState, "sha256"))
			}
			if !strings.Contains(out.String(), "copied tiny.safetensors: 2.1 MB in") {
				t.Errorf("progress output %q", out.String())
			}
			obj := object{ar.NewState, ar.Private}
			opens, srcOpens := openWatch(t, full), openWatch(t, src)
			pr = planModel(t, p, obj, cfg)
			if !pr.Planned.RawEquals(obj.value) {
				t.Fatalf("the next plan is not a no-op: %#v", pr.Planned)
			}
			if n, m := opens(), srcOpens(); n != 0 || m != 0 {
				t.Fatalf("the no-op plan opened the copy %d times and the source %d times", n, m)
			}
		})
	}
}

// TestModelFileSourceErrors: a missing local file is an error at plan naming
// it; a file: URL with a host is refused offline.
func TestModelFileSourceErrors(t *testing.T) {
	dir := t.TempDir()
	p := configure(t, nil, dir, nil)
	pr := planModel(t, p, none(), modelCfg("file:weights/nope.safetensors", "checkpoints/x.safetensors", nil, nil))
	if want := "not found: file://" + filepath.Join(dir, "weights", "nope.safetensors"); !strings.Contains(diagText(pr.Diagnostics), want) {
		t.Fatalf("plan: %s\nwant %q", diagText(pr.Diagnostics), want)
	}
	vr := p.ValidateResource(context.Background(), providers.ValidateRequest{TypeName: "comfyui_model",
		Config: modelCfg("file://weights/x.bin", "checkpoints/x.bin", nil, nil)})
	if d := diagText(vr.Diagnostics); !strings.Contains(d, "Invalid model source") || !strings.Contains(d, "file:///ABSOLUTE/PATH or file:RELATIVE/PATH") {
		t.Fatalf("validate: %s", d)
	}
}

// TestModelSourceDiagnosticSaysItOnce: the invalid-source detail names the
// accepted forms once, not twice.
func TestModelSourceDiagnosticSaysItOnce(t *testing.T) {
	_, diags := decodeModel(modelCfg("s3://bucket/x", "vae/x", nil, nil))
	d := diagText(diags)
	if n := strings.Count(d, "hf://ORG/REPO@REVISION/PATH"); n != 1 {
		t.Fatalf("the forms are named %d times: %s", n, d)
	}
}

// TestModelPathChangeReason: moving a model to another path is a replace
// because the path changed, not because the file was deleted.
func TestModelPathChangeReason(t *testing.T) {
	h := newFakeHub(t)
	content := randomBytes(64<<10, 12)
	h.put("x.safetensors", content)
	dir := t.TempDir()
	p := configure(t, h, dir, nil)
	cfg := modelCfg("hf://Org/Repo/x.safetensors", "vae/x.safetensors", nil, nil)
	ar := applyModel(t, p, none(), cfg, planModel(t, p, none(), cfg), &bytes.Buffer{})
	obj := object{ar.NewState, ar.Private}
	moved := modelCfg("hf://Org/Repo/x.safetensors", "vae/moved/x.safetensors", nil, nil)
	pr := planModel(t, p, obj, moved)
	if strings.Contains(pr.Reason, "deleted") {
		t.Fatalf("reason %q for a path change", pr.Reason)
	}
	// The file really deleted at the same path still says so.
	os.Remove(filepath.Join(dir, "models", "vae", "x.safetensors"))
	if pr := planModel(t, p, obj, cfg); pr.Reason != "file deleted outside sdform" {
		t.Fatalf("reason %q after a delete", pr.Reason)
	}
}

// TestModelFileSourceChanged: a file: source rewritten after the copy is
// noticed by the next plan from its stat alone (no sha256 in the config),
// and apply copies the new content.
func TestModelFileSourceChanged(t *testing.T) {
	dir := t.TempDir()
	src := filepath.Join(dir, "weights", "w.bin")
	os.MkdirAll(filepath.Dir(src), 0o755)
	if err := os.WriteFile(src, []byte("one"), 0o644); err != nil {
		t.Fatal(err)
	}
	p := configure(t, nil, dir, nil)
	cfg := modelCfg("file:weights/w.bin", "checkpoints/w.bin", nil, nil)
	pr := planModel(t, p, none(), cfg)
	ar := applyModel(t, p, none(), cfg, pr, &bytes.Buffer{})
	if ar.Diagnostics.HasErrors() {
		t.Fatalf("apply: %s", diagText(ar.Diagnostics))
	}
	obj := object{ar.NewState, ar.Private}
	if pr = planModel(t, p, obj, cfg); !pr.Planned.RawEquals(obj.value) {
		t.Fatalf("unchanged source: the plan is not a no-op")
	}
	if err := os.WriteFile(src, []byte("two, longer"), 0o644); err != nil {
		t.Fatal(err)
	}
	pr = planModel(t, p, obj, cfg)
	if pr.Planned.RawEquals(obj.value) || !strings.Contains(pr.Reason, "source file changed") {
		t.Fatalf("changed source: planned %#v, reason %q", pr.Planned, pr.Reason)
	}
	ar = applyModel(t, p, obj, cfg, pr, &bytes.Buffer{})
	full := filepath.Join(dir, "models", "checkpoints", "w.bin")
	if got, _ := os.ReadFile(full); ar.Diagnostics.HasErrors() || string(got) != "two, longer" {
		t.Fatalf("apply after the change: %q, %s", got, diagText(ar.Diagnostics))
	}
}
