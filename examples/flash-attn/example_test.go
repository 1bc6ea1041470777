package flashattn_test

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/hcl/v2"
	mobyclient "github.com/moby/moby/client"
	"github.com/sdform/sdform/internal/testenv"
	"github.com/sdform/sdform/lang"
	"github.com/sdform/sdform/planner"
	"github.com/sdform/sdform/planner/plan"
	"github.com/sdform/sdform/planner/state"
	"github.com/sdform/sdform/providers"
	"github.com/sdform/sdform/providers/docker"
	"github.com/zclconf/go-cty/cty"
)

// lockedBuffer collects provider output from parallel applies.
type lockedBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// example copies the example into a fresh directory, so that its state
// and data stay out of the source tree.
func example(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	for _, name := range []string{"main.sdf.hcl", "Dockerfile"} {
		b, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func diagText(diags hcl.Diagnostics) string {
	var parts []string
	for _, d := range diags {
		parts = append(parts, d.Summary+": "+d.Detail)
	}
	return strings.Join(parts, "\n")
}

// newContext loads dir with -var values, over the real docker provider.
func newContext(t *testing.T, dir string, out *lockedBuffer, vars ...string) *planner.Context {
	t.Helper()
	cfg, diags := lang.Load(dir)
	if diags.HasErrors() {
		t.Fatalf("load: %s", diagText(diags))
	}
	vals, diags := cfg.VariableValues(lang.VarInputs{CLI: vars})
	if diags.HasErrors() {
		t.Fatalf("variables: %s", diagText(diags))
	}
	reg := providers.NewRegistry(map[string]providers.Factory{"docker": docker.New})
	c := planner.NewContext(cfg, vals, reg, providers.Env{ConfigDir: dir, DataDir: filepath.Join(dir, ".sdform")}, planner.ContextOptions{
		UIFor: func(addr string) providers.UI { return providers.UI{Out: out} },
	})
	t.Cleanup(func() { c.Close() })
	return c
}

// TestExampleValidates needs no builder: the configuration and the
// Dockerfile pass validate.
func TestExampleValidates(t *testing.T) {
	dir := example(t)
	if diags := newContext(t, dir, &lockedBuffer{}).Validate(context.Background()); diags.HasErrors() {
		t.Fatalf("validate: %s", diagText(diags))
	}
}

// TestFlashAttnFallback applies the example on the Docker Engine and on a
// standalone BuildKit: the flash-attn build fails, the fallback builds,
// the test reads "sdpa" from the image, the tag moves, and a second plan
// has nothing to do.
func TestFlashAttnFallback(t *testing.T) {
	stamp := strconv.FormatInt(time.Now().UnixNano(), 36)
	backends := map[string]func(t *testing.T) []string{
		"docker": func(t *testing.T) []string {
			host := testenv.DockerHost(t)
			base := testenv.DockerBaseImage(t)
			tag := "sdform-example/flash-attn:" + stamp
			t.Cleanup(func() {
				c, err := mobyclient.New(mobyclient.WithHost(host))
				if err == nil {
					c.ImageRemove(context.Background(), tag, mobyclient.ImageRemoveOptions{})
					c.Close()
				}
			})
			return []string{"docker_host=" + host, "base_image=" + base, "tag=" + tag}
		},
		"buildkit": func(t *testing.T) []string {
			addr := testenv.BuildKit(t)
			reg := testenv.Registry(t)
			base := testenv.BaseImage(t)
			return []string{"buildkit=" + addr, "base_image=" + base, "tag=" + reg + "/sdform-example/flash-attn:" + stamp, "push=true"}
		},
	}
	for _, name := range []string{"docker", "buildkit"} {
		t.Run(name, func(t *testing.T) {
			vars := backends[name](t)
			dir := example(t)
			out := &lockedBuffer{}
			st := state.New()
			c := newContext(t, dir, out, vars...)
			p, diags := c.Plan(context.Background(), st, plan.Options{Refresh: true})
			if diags.HasErrors() {
				t.Fatalf("plan: %s", diagText(diags))
			}
			res, diags := c.Apply(context.Background(), p, st, nil, planner.Hooks{})
			if diags.HasErrors() || len(res.Failed) > 0 {
				t.Fatalf("apply: %s; failed %v: %v\noutput:\n%s", diagText(diags), res.Failed, res.Errors, out)
			}

			img := st.Resource("docker_image.app")
			if img == nil || !img.Value.GetAttr("used_fallback").True() {
				t.Fatalf("docker_image.app did not record the fallback: %#v\noutput:\n%s", img, out)
			}
			for _, want := range []string{"nvcc not found", "retrying once with the fallback args (ENABLE_FLASH_ATTN)"} {
				if !strings.Contains(out.String(), want) {
					t.Errorf("apply output lacks %q:\n%s", want, out)
				}
			}
			test := st.Resource("docker_image_test.attention")
			if test == nil || !test.Value.GetAttr("passed").True() {
				t.Fatalf("docker_image_test.attention did not pass: %#v", test)
			}
			if got := test.Value.GetAttr("stdout").Index(ctyString("backend")).AsString(); got != "sdpa" {
				t.Errorf("recorded attention backend = %q, want sdpa", got)
			}
			if got, want := test.Value.GetAttr("image_id").AsString(), img.Value.GetAttr("id").AsString(); got != want {
				t.Errorf("the test ran on %s, the build is %s", got, want)
			}
			wantRunner := map[string]string{"docker": "docker engine", "buildkit": "buildkit exec"}[name]
			if got := test.Value.GetAttr("runner").AsString(); got != wantRunner {
				t.Errorf("runner = %q, want %q", got, wantRunner)
			}
			if o := st.Outputs["attention_backend"]; o == nil || o.Value.AsString() != "sdpa" {
				t.Errorf("output attention_backend = %#v, want \"sdpa\"", o)
			}
			promoted := false
			for _, pr := range res.Promotions {
				if pr.Address == "docker_image.app" {
					promoted = pr.Passed && pr.Err == nil
				}
			}
			if !promoted {
				t.Errorf("docker_image.app was not promoted after its test passed")
			}

			// Nothing changed: the next plan runs nothing, not even the test.
			p, diags = newContext(t, dir, out, vars...).Plan(context.Background(), st, plan.Options{Refresh: true})
			if diags.HasErrors() {
				t.Fatalf("re-plan: %s", diagText(diags))
			}
			for _, ch := range p.Changes {
				if ch.Action != plan.NoOp {
					t.Errorf("re-plan: %s %s (%s)", ch.Address, ch.Action, ch.Reason)
				}
			}
		})
	}
}

func ctyString(s string) cty.Value { return cty.StringVal(s) }
