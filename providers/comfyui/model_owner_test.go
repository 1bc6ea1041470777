package comfyui

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/zclconf/go-cty/cty"

	"github.com/sdform/sdform/providers"
)

func planAddr(p *Provider, addr string, cfg cty.Value) providers.PlanResponse {
	return p.PlanResource(context.Background(), providers.PlanRequest{
		TypeName: "comfyui_model", Address: addr, Prior: none().value, Config: cfg, Proposed: cfg,
	})
}

func withModelsDir(cfg cty.Value, dir string) cty.Value {
	attrs := cfg.AsValueMap()
	attrs["models_dir"] = cty.StringVal(dir)
	return cty.ObjectVal(attrs)
}

// TestModelSameFile: two objects whose cleaned full paths are one file fail
// to plan, whichever is planned first, with the same words naming both; an
// object planned again, or at another file, is no conflict.
func TestModelSameFile(t *testing.T) {
	h := newFakeHub(t)
	h.put("a.safetensors", randomBytes(1<<10, 7))
	h.put("b.safetensors", randomBytes(1<<10, 8))
	dir := t.TempDir()
	a := modelCfg("hf://Org/Repo/a.safetensors", "checkpoints/a", nil, nil)
	const want = "comfyui_model.a and comfyui_model.b both write models/checkpoints/a;"
	cases := map[string]struct {
		a, b cty.Value // a: checkpoints/a when not set
		want string    // "" for no conflict
	}{
		"same path":           {b: modelCfg("hf://Org/Repo/b.safetensors", "checkpoints/a", nil, nil), want: want},
		"dot segment":         {b: modelCfg("hf://Org/Repo/b.safetensors", "checkpoints/./a", nil, nil), want: want},
		"models_dir as ./":    {b: withModelsDir(modelCfg("hf://Org/Repo/b.safetensors", "checkpoints/a", nil, nil), "./models"), want: want},
		"models_dir absolute": {b: withModelsDir(modelCfg("hf://Org/Repo/b.safetensors", "checkpoints/a", nil, nil), filepath.Join(dir, "models")), want: want},
		"models_dir with path": {a: modelCfg("hf://Org/Repo/a.safetensors", "checkpoints/x/a", nil, nil),
			b: withModelsDir(modelCfg("hf://Org/Repo/b.safetensors", "x/a", nil, nil), "models/checkpoints"), want: "comfyui_model.a and comfyui_model.b both write models/checkpoints/x/a;"},
		"source unknown":     {b: cty.ObjectVal(map[string]cty.Value{"source": cty.UnknownVal(cty.String), "path": cty.StringVal("checkpoints/a"), "models_dir": cty.NullVal(cty.String), "sha256": cty.NullVal(cty.String), "size": cty.NullVal(cty.Number)}), want: want},
		"another file":       {b: modelCfg("hf://Org/Repo/b.safetensors", "checkpoints/b", nil, nil)},
		"another models_dir": {b: withModelsDir(modelCfg("hf://Org/Repo/b.safetensors", "checkpoints/a", nil, nil), "other")},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			var details []string
			for _, order := range [][]string{{"a", "b"}, {"b", "a"}} {
				p := configure(t, h, dir, nil)
				cfgs := map[string]cty.Value{"a": a, "b": tc.b}
				if tc.a != cty.NilVal {
					cfgs["a"] = tc.a
				}
				first := planAddr(p, "comfyui_model."+order[0], cfgs[order[0]])
				if first.Diagnostics.HasErrors() {
					t.Fatalf("%s, planned first: %s", order[0], diagText(first.Diagnostics))
				}
				second := planAddr(p, "comfyui_model."+order[1], cfgs[order[1]])
				if tc.want == "" {
					if second.Diagnostics.HasErrors() {
						t.Fatalf("%s, planned second: %s", order[1], diagText(second.Diagnostics))
					}
					continue
				}
				if !second.Diagnostics.HasErrors() || !strings.Contains(diagText(second.Diagnostics), tc.want) {
					t.Fatalf("%s, planned second: %s\nwant an error containing %q", order[1], diagText(second.Diagnostics), tc.want)
				}
				details = append(details, second.Diagnostics[0].Detail)
				// The first, planned again (apply does so for values
				// that were unknown), does not conflict with itself but
				// still with the second.
				again := planAddr(p, "comfyui_model."+order[0], cfgs[order[0]])
				if !strings.Contains(diagText(again.Diagnostics), tc.want) {
					t.Fatalf("%s, planned again: %s", order[0], diagText(again.Diagnostics))
				}
			}
			if len(details) == 2 && details[0] != details[1] {
				t.Fatalf("the message depends on the order:\n%s\n%s", details[0], details[1])
			}
		})
	}

	// An object that moves to another file leaves the first one free.
	p := configure(t, h, dir, nil)
	planAddr(p, "comfyui_model.a", a)
	planAddr(p, "comfyui_model.a", modelCfg("hf://Org/Repo/a.safetensors", "checkpoints/moved", nil, nil))
	if d := planAddr(p, "comfyui_model.b", a).Diagnostics; d.HasErrors() {
		t.Fatalf("b at the file a left: %s", diagText(d))
	}
}

// TestModelSameFileConcurrent: the engine plans objects in parallel; exactly
// one of two objects at one file fails, with the same words either way.
func TestModelSameFileConcurrent(t *testing.T) {
	h := newFakeHub(t)
	h.put("a.safetensors", randomBytes(1<<10, 7))
	dir := t.TempDir()
	cfg := modelCfg("hf://Org/Repo/a.safetensors", "checkpoints/a", nil, nil)
	for range 20 {
		p := configure(t, h, dir, nil)
		var wg sync.WaitGroup
		resps := make([]providers.PlanResponse, 2)
		for i, addr := range []string{"comfyui_model.a", "comfyui_model.b"} {
			wg.Go(func() { resps[i] = planAddr(p, addr, cfg) })
		}
		wg.Wait()
		failed := 0
		for _, r := range resps {
			if r.Diagnostics.HasErrors() {
				failed++
				if !strings.Contains(r.Diagnostics[0].Detail, "comfyui_model.a and comfyui_model.b both write models/checkpoints/a;") {
					t.Fatalf("diagnostics: %s", diagText(r.Diagnostics))
				}
			}
		}
		if failed != 1 {
			t.Fatalf("%d of 2 plans failed: %s%s", failed, diagText(resps[0].Diagnostics), diagText(resps[1].Diagnostics))
		}
	}
}

// TestModelSameFileValidate: validate, which runs unconfigured, refuses a
// second object at a file it can tell from the config alone, naming both;
// the same object validated again is no conflict.
func TestModelSameFileValidate(t *testing.T) {
	validate := func(p *Provider, addr string, cfg cty.Value) providers.Diagnostics {
		return p.ValidateResource(context.Background(), providers.ValidateRequest{TypeName: "comfyui_model", Address: addr, Config: cfg}).Diagnostics
	}
	a := modelCfg("hf://Org/Repo/a.safetensors", "checkpoints/a", nil, nil)
	cases := map[string]struct {
		addr string
		b    cty.Value
		want string
	}{
		"same path": {addr: "comfyui_model.b", b: modelCfg("https://example.com/b.safetensors", "checkpoints/./a", nil, nil),
			want: `comfyui_model.a and comfyui_model.b both write checkpoints/a in the provider's models folder;`},
		"same models_dir": {addr: "comfyui_model.b", b: withModelsDir(modelCfg("https://example.com/b.safetensors", "checkpoints/a", nil, nil), "./m"),
			want: `comfyui_model.b and comfyui_model.c both write m/checkpoints/a;`},
		"same block again": {addr: "comfyui_model.a", b: a},
		"identical blocks": {addr: "comfyui_model.twin", b: a, want: `comfyui_model.a and comfyui_model.twin both write`},
		"other models_dir": {addr: "comfyui_model.b", b: withModelsDir(modelCfg("https://example.com/b.safetensors", "checkpoints/a", nil, nil), "other")},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			p := New().(*Provider)
			if d := validate(p, "comfyui_model.a", a); len(d) > 0 {
				t.Fatal(diagText(d))
			}
			if d := validate(p, "comfyui_model.c", withModelsDir(modelCfg("https://example.com/c.safetensors", "checkpoints/a", nil, nil), "m")); len(d) > 0 {
				t.Fatal(diagText(d))
			}
			d := validate(p, tc.addr, tc.b)
			if tc.want == "" {
				if len(d) > 0 {
					t.Fatal(diagText(d))
				}
				return
			}
			if !d.HasErrors() || !strings.Contains(diagText(d), tc.want) {
				t.Fatalf("validate: %s\nwant an error containing %q", diagText(d), tc.want)
			}
		})
	}

	// Configured (as in plan), validate leaves it to plan, which names
	// both objects.
	p := configure(t, nil, t.TempDir(), nil)
	validate(p, "comfyui_model.a", a)
	if d := validate(p, "comfyui_model.b", cases["same path"].b); len(d) > 0 {
		t.Fatalf("configured validate: %s", diagText(d))
	}
}

// TestModelFileTakenOver: an object that moves away from a file, or is
// destroyed, leaves the file alone when another object of the same command
// now writes it; the engine applies the two in parallel, in either order.
func TestModelFileTakenOver(t *testing.T) {
	h := newFakeHub(t)
	h.put("a.safetensors", randomBytes(1<<10, 7))
	h.put("b.safetensors", randomBytes(1<<10, 8))
	apply := func(p *Provider, addr string, action providers.Action, prior object, cfg cty.Value, pr providers.PlanResponse) providers.ApplyResponse {
		return p.ApplyResource(context.Background(), providers.ApplyRequest{TypeName: "comfyui_model", Address: addr, Action: action,
			Prior: prior.value, Planned: pr.Planned, Config: cfg, PlannedPrivate: pr.PlannedPrivate, UI: providers.UI{Out: &bytes.Buffer{}}})
	}
	aX := modelCfg("hf://Org/Repo/a.safetensors", "checkpoints/x", nil, nil)
	bX := modelCfg("hf://Org/Repo/b.safetensors", "checkpoints/x", nil, nil)
	for name, moveA := range map[string]bool{"moved": true, "destroyed": false} {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			p := configure(t, h, dir, nil)
			ar := apply(p, "comfyui_model.a", providers.Create, none(), aX, planAddr(p, "comfyui_model.a", aX))
			a := object{ar.NewState, ar.Private}

			// The next command: b takes x, and a moves to y or goes.
			p = configure(t, h, dir, nil)
			aY := modelCfg("hf://Org/Repo/a.safetensors", "checkpoints/y", nil, nil)
			var pa providers.PlanResponse
			if moveA {
				pa = p.PlanResource(context.Background(), providers.PlanRequest{TypeName: "comfyui_model", Address: "comfyui_model.a",
					Prior: a.value, PriorPrivate: a.private, Config: aY, Proposed: aY})
			}
			pb := planAddr(p, "comfyui_model.b", bX)
			if pa.Diagnostics.HasErrors() || pb.Diagnostics.HasErrors() {
				t.Fatalf("plan: %s%s", diagText(pa.Diagnostics), diagText(pb.Diagnostics))
			}
			if d := apply(p, "comfyui_model.b", providers.Create, none(), bX, pb).Diagnostics; d.HasErrors() {
				t.Fatalf("apply b: %s", diagText(d))
			}
			var d providers.Diagnostics
			if moveA {
				d = apply(p, "comfyui_model.a", providers.Replace, a, aY, pa).Diagnostics
			} else {
				d = p.ApplyResource(context.Background(), providers.ApplyRequest{TypeName: "comfyui_model", Address: "comfyui_model.a",
					Action: providers.Delete, Prior: a.value, Planned: none().value}).Diagnostics
			}
			if d.HasErrors() {
				t.Fatalf("apply a: %s", diagText(d))
			}
			if _, err := os.Stat(filepath.Join(dir, "models", "checkpoints", "x")); err != nil {
				t.Fatalf("b's file went with a: %v", err)
			}
		})
	}
}
