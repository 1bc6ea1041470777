package dockerbench

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
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
//   - work: no-cache builds whose RUN step spins the CPU for about a second
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
	df := "FROM " + base + "\nCOPY files /files\nRUN i=0; while [ $i -lt 400000 ]; do i=$((i+1)); done; echo $i > /spun\n"
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
			sdform := func() time.Duration {
				pr := p.PlanResource(context.Background(), providers.PlanRequest{TypeName: "docker_image", Address: "docker_image.bench", Prior: cty.NullVal(cfg.Type()), Config: cfg, Proposed: cfg})
				if pr.Diagnostics.HasErrors() {
					t.Fatal(pr.Diagnostics)
				}
				start := time.Now()
				ar := p.ApplyResource(context.Background(), providers.ApplyRequest{TypeName: "docker_image", Address: "docker_image.bench", Action: providers.Create,
					Prior: cty.NullVal(cfg.Type()), Planned: pr.Planned, Config: cfg, PlannedPrivate: pr.PlannedPrivate, UI: providers.UI{Out: discard{}}})
				d := time.Since(start)
				if ar.Diagnostics.HasErrors() {
					t.Fatal(ar.Diagnostics)
				}
				return d
			}
			plain := func() time.Duration {
				start := time.Now()
				out, err := exec.Command(buildctl, args...).CombinedOutput()
				d := time.Since(start)
				if err != nil {
					t.Fatalf("buildctl: %v\n%s", err, out)
				}
				return d
			}
			raw := func() time.Duration {
				start := time.Now()
				if err := rawSolve(addr, dir, "sdform-bench/overhead:raw-"+sc.name, sc.noCache); err != nil {
					t.Fatal(err)
				}
				return time.Since(start)
			}
			// Warm every path once (base image, cache), then interleave.
			plain()
			raw()
			sdform()
			var a, r, b []time.Duration
			for i := 0; i < runs; i++ {
				a = append(a, plain())
				r = append(r, raw())
				b = append(b, sdform())
			}
			ma, mr, mb := median(a), median(r), median(b)
			t.Logf("%s: buildctl build      median %s %v", sc.name, ma.Round(time.Millisecond), rounded(a))
			t.Logf("%s: in-process Solve    median %s %v", sc.name, mr.Round(time.Millisecond), rounded(r))
			t.Logf("%s: sdform apply        median %s %v", sc.name, mb.Round(time.Millisecond), rounded(b))
			t.Logf("%s: sdform/buildctl %.3f (%+d ms), sdform/Solve %.3f (%+d ms)", sc.name,
				float64(mb)/float64(ma), (mb - ma).Milliseconds(), float64(mb)/float64(mr), (mb - mr).Milliseconds())
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

func rounded(ds []time.Duration) []time.Duration {
	out := make([]time.Duration, len(ds))
	for i, d := range ds {
		out[i] = d.Round(time.Millisecond)
	}
	return out
}
