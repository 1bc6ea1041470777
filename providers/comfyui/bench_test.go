package comfyui

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/zclconf/go-cty/cty"

	"github.com/sdform/sdform/providers/comfyui/download"
)

// BenchmarkPlanNoOp plans a comfyui_model whose 14 GB file was verified
// before: the plan must be a stat(2), no read and no network. The file is
// sparse (no disk used) and its record is written directly rather than by
// hashing 14 GB of zeros: the plan never looks at the content, which is
// what this measures. The hub endpoint is a closed port, so any request
// would fail the plan.
func BenchmarkPlanNoOp(b *testing.B) {
	dir := b.TempDir()
	p := configure(b, nil, dir, map[string]cty.Value{"hf_endpoint": cty.StringVal("http://127.0.0.1:1")})
	path := "diffusion_models/WanVideo/SteadyDancer/model_fp16.safetensors"
	full := filepath.Join(dir, "models", path)
	if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
		b.Fatal(err)
	}
	f, err := os.Create(full)
	if err != nil {
		b.Fatal(err)
	}
	if err := f.Truncate(14_000_000_000); err != nil {
		b.Fatal(err)
	}
	f.Close()
	st, err := download.Stat(full)
	if err != nil {
		b.Fatal(err)
	}
	sum := strings.Repeat("5e", 32)
	cfg := modelCfg("hf://Kijai/WanVideo_comfy@"+testCommit+"/SteadyDancer/model_fp16.safetensors", path, &sum, nil)
	m := p.types["comfyui_model"].(*modelType)
	prior := object{
		value: m.value(cfg, computed{modelsDir: "models", fullPath: full, sha256: cty.StringVal(sum),
			commit: cty.StringVal(testCommit), size: cty.NumberIntVal(st.Size)}),
		private: modelPrivate{File: &download.Record{Stat: st, SHA256: sum}}.encode(),
	}
	opens := openWatch(b, full)
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		pr := planModel(b, p, prior, cfg)
		if pr.Diagnostics.HasErrors() || !pr.Planned.RawEquals(prior.value) {
			b.Fatalf("not a no-op: %s", diagText(pr.Diagnostics))
		}
	}
	b.StopTimer()
	if n := opens(); n != 0 {
		b.Fatalf("the plan opened or read the 14 GB file (%d inotify events)", n)
	}
}
