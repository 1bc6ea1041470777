package dockerfile

import (
	"context"
	"fmt"
	"syscall"
	"testing"
	"time"
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
	// CPU time per plan, beside wall time: on a shared machine the wall
	// time says as much about the neighbours as about the plan.
	var before, after syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &before)
	n := 0
	b.ResetTimer()
	for b.Loop() {
		n++
		r, err := Analyze(context.Background(), p.in)
		if err != nil {
			b.Fatal(err)
		}
		if r.Prediction.ToRun != 0 {
			b.Fatal(r.Prediction.Summary)
		}
	}
	b.StopTimer()
	syscall.Getrusage(syscall.RUSAGE_SELF, &after)
	cpu := time.Duration(after.Utime.Nano() + after.Stime.Nano() - before.Utime.Nano() - before.Stime.Nano())
	b.ReportMetric(float64(cpu.Microseconds())/1000/float64(n), "cpu-ms/op")
	if n := reads.n.Load(); n != 0 {
		b.Fatalf("no-op plans read %d context files", n)
	}
}
