package dockerbench

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"syscall"
	"testing"
	"time"

	bkclient "github.com/moby/buildkit/client"
	"github.com/sdform/sdform/internal/testenv"
	"github.com/sdform/sdform/providers"
	"github.com/sdform/sdform/providers/docker"
	"github.com/tonistiigi/fsutil"
	"github.com/zclconf/go-cty/cty"
)

// TestApplyOverhead compares the provider's apply with `buildctl build` of
// the same Dockerfile on the same daemon.
//
//	SDFORM_BENCH=1 SDFORM_BENCH_RUNS=9 go test ./bench/docker -run ApplyOverhead -v
//
// Scenarios:
//   - work: no-cache builds whose RUN step spins the CPU for about two seconds
//     and whose COPY brings 200 files, the shape of a real build with the
//     fixed costs diluted; the ratio target is ≤ 1.05.
//   - cached: every step cached, so the fixed cost of each side (session,
//     context sync, export, and for sdform the image read-back) is all there
//     is; reported as absolute milliseconds.
//
// Both sides export with the image exporter under a name, without push.
func TestApplyOverhead(t *testing.T) {
	if os.Getenv("SDFORM_BENCH") != "1" {
		t.Skip("benchmark: set SDFORM_BENCH=1 to run it")
	}
	addr := testenv.BuildKit(t)
	buildctl := testenv.Buildctl(t)
	base := testenv.BaseImage(t)
	runs := 7
	if n, err := strconv.Atoi(os.Getenv("SDFORM_BENCH_RUNS")); err == nil && n > 0 {
		runs = n
	}

	dir := t.TempDir()
	df := "FROM " + base + "\nCOPY files /files\nRUN i=0; while [ $i -lt 1500000 ]; do i=$((i+1)); done; echo $i > /spun\n"
	write(t, filepath.Join(dir, "Dockerfile"), df)
	for i := 0; i < 200; i++ {
		write(t, filepath.Join(dir, "files", fmt.Sprintf("f%03d.txt", i)), fmt.Sprintf("file %d\n", i))
	}

	p := docker.New()
	schema := p.Schema()
	if r := p.Configure(context.Background(), providers.ConfigureRequest{
		Config: object(schema.Provider, map[string]cty.Value{"buildkit": cty.StringVal(addr)}),
		Env:    providers.Env{ConfigDir: dir},
	}); r.Diagnostics.HasErrors() {
		t.Fatal(r.Diagnostics)
	}
	defer p.Close()

	for _, sc := range []struct {
		name    string
		noCache bool
	}{{"work", true}, {"cached", false}} {
		t.Run(sc.name, func(t *testing.T) {
			cfg := object(schema.Resources["docker_image"], map[string]cty.Value{
				"tags":     cty.ListVal([]cty.Value{cty.StringVal("sdform-bench/overhead:" + sc.name)}),
				"no_cache": cty.BoolVal(sc.noCache),
			})
			args := []string{"--addr", addr, "build", "--frontend", "dockerfile.v0",
				"--local", "context=" + dir, "--local", "dockerfile=" + dir,
				"--output", "type=image,name=sdform-bench/overhead:buildctl-" + sc.name, "--progress", "plain"}
			if sc.noCache {
				args = append(args, "--no-cache")
			}
			sdform := func() (time.Duration, time.Duration) {
				pr := p.PlanResource(context.Background(), providers.PlanRequest{TypeName: "docker_image", Address: "docker_image.bench", Prior: cty.NullVal(cfg.Type()), Config: cfg, Proposed: cfg})
				if pr.Diagnostics.HasErrors() {
					t.Fatal(pr.Diagnostics)
				}
				start, cpu := time.Now(), selfCPU()
				ar := p.ApplyResource(context.Background(), providers.ApplyRequest{TypeName: "docker_image", Address: "docker_image.bench", Action: providers.Create,
					Prior: cty.NullVal(cfg.Type()), Planned: pr.Planned, Config: cfg, PlannedPrivate: pr.PlannedPrivate, UI: providers.UI{Out: discard{}}})
				d, c := time.Since(start), selfCPU()-cpu
				if ar.Diagnostics.HasErrors() {
					t.Fatal(ar.Diagnostics)
				}
				return d, c
			}
			plain := func() (time.Duration, time.Duration) {
				start := time.Now()
				cmd := exec.Command(buildctl, args...)
				out, err := cmd.CombinedOutput()
				d := time.Since(start)
				if err != nil {
					t.Fatalf("buildctl: %v\n%s", err, out)
				}
				return d, cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime()
			}
			raw := func() (time.Duration, time.Duration) {
				start, cpu := time.Now(), selfCPU()
				if err := rawSolve(addr, dir, "sdform-bench/overhead:raw-"+sc.name, sc.noCache); err != nil {
					t.Fatal(err)
				}
				return time.Since(start), selfCPU() - cpu
			}
			// Warm every path once (base image, cache), then interleave.
			plain()
			raw()
			sdform()
			var a, r, b, ac, rc, bc []time.Duration
			for i := 0; i < runs; i++ {
				d, c := plain()
				a, ac = append(a, d), append(ac, c)
				d, c = raw()
				r, rc = append(r, d), append(rc, c)
				d, c = sdform()
				b, bc = append(b, d), append(bc, c)
			}
			ma, mr, mb := median(a), median(r), median(b)
			for _, row := range []struct {
				name     string
				wall, cp []time.Duration
			}{{"buildctl build  ", a, ac}, {"in-process Solve", r, rc}, {"sdform apply    ", b, bc}} {
				t.Logf("%s: %s wall median %s min %s; client CPU median %s", sc.name, row.name,
					median(row.wall).Round(time.Millisecond), slices.Min(row.wall).Round(time.Millisecond), median(row.cp).Round(time.Millisecond))
			}
			t.Logf("%s: wall sdform/buildctl %.3f (%+d ms), sdform/Solve %.3f (%+d ms); min sdform/buildctl %.3f", sc.name,
				float64(mb)/float64(ma), (mb - ma).Milliseconds(), float64(mb)/float64(mr), (mb - mr).Milliseconds(),
				float64(slices.Min(b))/float64(slices.Min(a)))
		})
	}
}

// rawSolve is the minimal embedding of BuildKit (its own example's shape,
// without a display): a fresh client, one Solve, the image exporter. It
// separates what sdform adds from what buildctl's process start costs.
func rawSolve(addr, dir, name string, noCache bool) error {
	ctx := context.Background()
	c, err := bkclient.New(ctx, addr)
	if err != nil {
		return err
	}
	defer c.Close()
	fs, err := fsutil.NewFS(dir)
	if err != nil {
		return err
	}
	attrs := map[string]string{"filename": "Dockerfile"}
	if noCache {
		attrs["no-cache"] = ""
	}
	ch := make(chan *bkclient.SolveStatus)
	go func() {
		for range ch {
		}
	}()
	_, err = c.Solve(ctx, nil, bkclient.SolveOpt{
		Frontend: "dockerfile.v0", FrontendAttrs: attrs,
		LocalMounts: map[string]fsutil.FS{"context": fs, "dockerfile": fs},
		Exports:     []bkclient.ExportEntry{{Type: "image", Attrs: map[string]string{"name": name}}},
	}, ch)
	return err
}

type discard struct{}

func (discard) Write(p []byte) (int, error) { return len(p), nil }

func object(s *providers.Schema, given map[string]cty.Value) cty.Value {
	attrs := map[string]cty.Value{}
	for name, at := range s.ImpliedType().AttributeTypes() {
		if v, ok := given[name]; ok {
			attrs[name] = v
		} else {
			attrs[name] = cty.NullVal(at)
		}
	}
	return cty.ObjectVal(attrs)
}

func write(t *testing.T, path, body string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
}

func median(ds []time.Duration) time.Duration {
	s := slices.Clone(ds)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

// selfCPU is the CPU time this process has used (user and system): the
// client's own cost, steadier than wall time on a busy machine. It counts
// every goroutine, so runs must not overlap.
func selfCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
