package dockerfile

import (
	"context"
	"fmt"
	"testing"
)

// BenchmarkPredictNoop5000 is a no-op plan of an image whose context has
// 5,000 files, with a warm stat cache: what `sdform plan` pays per image
// when nothing changed.
func BenchmarkPredictNoop5000(b *testing.B) {
	files := map[string]string{}
	for i := range 5000 {
		files[fmt.Sprintf("src/pkg%02d/mod%02d/file%04d.py", i%50, i%7, i)] = fmt.Sprintf("# file %d\nprint(%d)\n", i, i)
	}
	files["requirements.txt"] = "torch==2.4\n"
	files[".dockerignore"] = "**/__pycache__\n*.log\n"
	p := newProject(b, appDockerfile, files)
	p.in.Dockerfile = []byte(appDockerfile + "COPY . /srv/all/\nRUN echo done\n")
	p.write(map[string]string{"config.yaml": "mode: prod\n"})
	p.build()
	if pr := p.plan(); pr.ToRun != 0 || pr.Uncertain != 0 {
		b.Fatalf("warm-up plan is not a no-op: %s", pr.Summary)
	}
	reads := &countingOpen{}
	p.in.open = reads.open
	b.ResetTimer()
	for b.Loop() {
		r, err := Analyze(context.Background(), p.in)
		if err != nil {
			b.Fatal(err)
		}
		if r.Prediction.ToRun != 0 {
			b.Fatal(r.Prediction.Summary)
		}
	}
	b.StopTimer()
	if n := reads.n.Load(); n != 0 {
		b.Fatalf("no-op plans read %d context files", n)
	}
}
