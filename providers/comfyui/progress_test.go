package comfyui

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/sdform/sdform/providers"
	"github.com/sdform/sdform/providers/comfyui/download"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden from the current output")

// TestProgressView renders one re-hash followed by a download, with a fake
// clock, in the three output modes, against golden files.
func TestProgressView(t *testing.T) {
	const total = 14_200_000_000
	type step struct {
		at time.Duration
		p  download.Progress
	}
	var steps []step
	// Re-hash at 2 GB/s for 1.5 s, then a download at 110 MB/s reported
	// every 250 ms for 30 s, resumed at 1 GB.
	for i := 0; i <= 6; i++ {
		steps = append(steps, step{time.Duration(i) * 250 * time.Millisecond,
			download.Progress{Phase: "verify", Done: int64(i) * 500_000_000, Total: 3_000_000_000, Rate: 2e9}})
	}
	for i := 0; i <= 120; i++ {
		at := 2*time.Second + time.Duration(i)*250*time.Millisecond
		done := int64(1e9) + int64(i)*27_500_000
		steps = append(steps, step{at, download.Progress{Phase: "download", Done: done, Total: total, Resumed: 1e9, Rate: 110e6}})
	}
	for name, ui := range map[string]providers.UI{
		"terminal": {Terminal: true},
		"plain":    {},
		"json":     {JSON: true},
	} {
		t.Run(name, func(t *testing.T) {
			var out bytes.Buffer
			ui.Out = &out
			v := newProgressView(ui, "WanVideo/SteadyDancer/model_fp8.safetensors")
			start := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
			var now time.Time
			v.now = func() time.Time { return now }
			for i, s := range steps {
				now = start.Add(s.at)
				v.update(s.p)
				if i == 6 {
					now = now.Add(100 * time.Millisecond)
					v.done("verified", 3_000_000_000)
					v.note("model_fp8.safetensors on disk has sha256 00…, expected ab…: downloading it again")
				}
			}
			now = now.Add(250 * time.Millisecond)
			v.done("downloaded", total)
			golden := filepath.Join("testdata", "progress_"+name+".golden")
			if *update {
				if err := os.WriteFile(golden, out.Bytes(), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run go test -update to create it)", err)
			}
			if !bytes.Equal(out.Bytes(), want) {
				t.Fatalf("output differs from %s (go test -update rewrites it):\n%s", golden, out.String())
			}
		})
	}
}
