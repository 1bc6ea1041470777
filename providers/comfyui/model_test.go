package comfyui

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/zclconf/go-cty/cty"

	"github.com/sdform/sdform/providers"
	"github.com/sdform/sdform/providers/comfyui/download"
)

// TestModelLifecycle walks one comfyui_model through the contract the way
// the engine does: plan, apply, refresh, no-op plan, and the changes a user
// or the world can make to the file.
func TestModelLifecycle(t *testing.T) {
	h := newFakeHub(t)
	content := randomBytes(3<<20+17, 1)
	h.put("SteadyDancer/model_fp8.safetensors", content)
	dir := t.TempDir()
	p := configure(t, h, dir, nil)
	cfg := modelCfg("hf://Kijai/WanVideo@main/SteadyDancer/model_fp8.safetensors", "diffusion_models/WanVideo/SteadyDancer/model_fp8.safetensors", nil, nil)
	full := filepath.Join(dir, "models", "diffusion_models", "WanVideo", "SteadyDancer", "model_fp8.safetensors")

	if d := p.ValidateResource(context.Background(), providers.ValidateRequest{TypeName: "comfyui_model", Config: cfg}).Diagnostics; len(d) > 0 {
		t.Fatalf("Validate: %s", diagText(d))
	}

	// Create.
	pr := planModel(t, p, none(), cfg)
	if pr.Diagnostics.HasErrors() {
		t.Fatalf("plan: %s", diagText(pr.Diagnostics))
	}
	want := map[string]string{
		"name": "WanVideo/SteadyDancer/model_fp8.safetensors", "full_path": full, "sha256": hexSum(content),
		"size_bytes": "3145745", "resolved_commit": testCommit, "models_dir": "models",
	}
	for k, v := range want {
		if got := attr(pr.Planned, k); got != v {
			t.Errorf("planned %s = %q, want %q", k, got, v)
		}
	}
	if !containsLine(pr.Details, "will be downloaded: 3.1 MB") || !containsLine(pr.Details, "revision main resolves to commit "+testCommit) {
		t.Errorf("details %q", pr.Details)
	}
	if !strings.Contains(pr.Reason, "3.1 MB from hf://Kijai/WanVideo@main/") {
		t.Errorf("reason %q", pr.Reason)
	}
	var out bytes.Buffer
	ar := applyModel(t, p, none(), cfg, pr, &out)
	if ar.Diagnostics.HasErrors() {
		t.Fatalf("apply: %s", diagText(ar.Diagnostics))
	}
	if got, _ := os.ReadFile(full); !bytes.Equal(got, content) {
		t.Fatal("the file on disk is not the hub's content")
	}
	if !ar.NewState.RawEquals(pr.Planned) {
		t.Fatalf("apply result differs from the plan:\n%#v\n%#v", ar.NewState, pr.Planned)
	}
	if !strings.Contains(out.String(), "downloaded WanVideo/SteadyDancer/model_fp8.safetensors: 3.1 MB in") {
		t.Errorf("progress output %q", out.String())
	}
	obj := object{ar.NewState, ar.Private}

	// Refresh of an intact file changes nothing.
	rr := readModel(t, p, obj)
	if rr.Drift != "" || !rr.NewState.RawEquals(obj.value) || !bytes.Equal(rr.Private, obj.private) {
		t.Fatalf("refresh of an intact file: drift %q", rr.Drift)
	}

	// The no-op plan: no request, no open, planned equal to prior.
	opens := openWatch(t, full)
	reqs := h.requests()
	pr = planModel(t, p, obj, cfg)
	if pr.Diagnostics.HasErrors() || !pr.Planned.RawEquals(obj.value) {
		t.Fatalf("no-op plan: planned %#v\nprior %#v\n%s", pr.Planned, obj.value, diagText(pr.Diagnostics))
	}
	if n := h.requests() - reqs; n != 0 {
		t.Fatalf("the no-op plan made %d HTTP requests", n)
	}
	if n := opens(); n != 0 {
		t.Fatalf("the no-op plan opened or read the file (%d inotify events)", n)
	}
	os.ReadFile(full)
	if opens() == 0 {
		t.Fatal("inotify did not see a read; the no-read assertion above proves nothing")
	}

	// Touched: refresh reports drift, plan says re-hash, apply re-hashes
	// without downloading.
	later := time.Now().Add(time.Hour)
	os.Chtimes(full, later, later)
	rr = readModel(t, p, obj)
	if !strings.Contains(rr.Drift, "file on disk changed outside sdform") || attr(rr.NewState, "sha256") != "(null)" {
		t.Fatalf("refresh after touch: drift %q, sha256 %s", rr.Drift, attr(rr.NewState, "sha256"))
	}
	obj = object{rr.NewState, rr.Private}
	pr = planModel(t, p, obj, cfg)
	if pr.Reason != "file on disk changed: will re-hash" || pr.Planned.RawEquals(obj.value) {
		t.Fatalf("plan after touch: reason %q", pr.Reason)
	}
	gets := h.cdnGets.Load()
	out.Reset()
	ar = applyModel(t, p, obj, cfg, pr, &out)
	if ar.Diagnostics.HasErrors() {
		t.Fatalf("apply after touch: %s", diagText(ar.Diagnostics))
	}
	if h.cdnGets.Load() != gets {
		t.Fatal("a touched file with the right content was downloaded again")
	}
	if !strings.Contains(out.String(), "verified WanVideo/SteadyDancer/model_fp8.safetensors") {
		t.Errorf("re-hash output %q", out.String())
	}
	obj = object{ar.NewState, ar.Private}
	if pr := planModel(t, p, obj, cfg); !pr.Planned.RawEquals(obj.value) {
		t.Fatal("after the re-hash, the next plan is not a no-op")
	}

	// Corrupted: re-hash finds a mismatch and downloads again.
	bad := append([]byte(nil), content...)
	bad[12345] ^= 0xff
	os.WriteFile(full, bad, 0o644)
	rr = readModel(t, p, obj)
	obj = object{rr.NewState, rr.Private}
	pr = planModel(t, p, obj, cfg)
	out.Reset()
	ar = applyModel(t, p, obj, cfg, pr, &out)
	if ar.Diagnostics.HasErrors() {
		t.Fatalf("apply after corruption: %s", diagText(ar.Diagnostics))
	}
	if got, _ := os.ReadFile(full); !bytes.Equal(got, content) || h.cdnGets.Load() == gets {
		t.Fatal("a corrupted file was not downloaded again")
	}
	if !strings.Contains(out.String(), "expected "+hexSum(content)+": downloading it again") {
		t.Errorf("output %q", out.String())
	}
	obj = object{ar.NewState, ar.Private}

	// Deleted outside sdform: refresh says so, plan creates.
	os.Remove(full)
	rr = readModel(t, p, obj)
	if !rr.NewState.IsNull() || !strings.HasPrefix(rr.Drift, "file deleted outside sdform") {
		t.Fatalf("refresh after delete: %#v, drift %q", rr.NewState, rr.Drift)
	}
	pr = planModel(t, p, object{rr.NewState, rr.Private}, cfg)
	if !containsLine(pr.Details, "will be downloaded: 3.1 MB") {
		t.Fatalf("plan after delete: %q", pr.Details)
	}
	ar = applyModel(t, p, none(), cfg, pr, &out)
	obj = object{ar.NewState, ar.Private}

	// Destroy removes the file.
	dr := p.ApplyResource(context.Background(), providers.ApplyRequest{
		TypeName: "comfyui_model", Address: "comfyui_model.test", Action: providers.Delete, Prior: obj.value, Planned: cty.NullVal(modelSchema.ImpliedType()),
	})
	if dr.Diagnostics.HasErrors() || !dr.NewState.IsNull() {
		t.Fatalf("delete: %s", diagText(dr.Diagnostics))
	}
	if _, err := os.Stat(full); !os.IsNotExist(err) {
		t.Fatal("the file survived delete")
	}
}

func containsLine(lines []string, sub string) bool {
	for _, l := range lines {
		if strings.Contains(l, sub) {
			return true
		}
	}
	return false
}

// TestModelSourceChangeKeepsMatchingFile: a new source (a mirror) with the
// same sha256 updates the record without downloading.
func TestModelSourceChangeKeepsMatchingFile(t *testing.T) {
	h := newFakeHub(t)
	content := randomBytes(100<<10, 2)
	h.put("a/x.safetensors", content)
	h.put("b/x.safetensors", content)
	dir := t.TempDir()
	p := configure(t, h, dir, nil)
	cfg := modelCfg("hf://Org/Repo@"+testCommit+"/a/x.safetensors", "vae/x.safetensors", nil, nil)
	pr := planModel(t, p, none(), cfg)
	if pr.Plain {
		t.Fatal("a download is planned as a plain change")
	}
	ar := applyModel(t, p, none(), cfg, pr, &bytes.Buffer{})
	obj := object{ar.NewState, ar.Private}

	cfg2 := modelCfg("hf://Org/Mirror@"+testCommit+"/b/x.safetensors", "vae/x.safetensors", nil, nil)
	pr = planModel(t, p, obj, cfg2)
	if pr.Reason != "the file on disk already has the expected sha256" || !containsLine(pr.Details, "up to date: no download") || !pr.Plain {
		t.Fatalf("plan: reason %q details %q plain %v", pr.Reason, pr.Details, pr.Plain)
	}
	gets := h.cdnGets.Load()
	ar = applyModel(t, p, obj, cfg2, pr, &bytes.Buffer{})
	if ar.Diagnostics.HasErrors() || h.cdnGets.Load() != gets {
		t.Fatalf("apply downloaded again or failed: %s", diagText(ar.Diagnostics))
	}
	if attr(ar.NewState, "source") != "hf://Org/Mirror@"+testCommit+"/b/x.safetensors" {
		t.Fatal("source not updated")
	}
}

func TestModelPlanDiagnostics(t *testing.T) {
	h := newFakeHub(t)
	content := randomBytes(10<<10, 3)
	h.put("ok.safetensors", content)
	h.put("gated.safetensors", content)
	h.gated["gated.safetensors"] = true
	h.put("huge.safetensors", content)
	h.linkedSize["huge.safetensors"] = 1e15
	wrong := strings.Repeat("ab", 32)
	size := int64(999)

	root := t.TempDir()
	os.MkdirAll(filepath.Join(root, "models"), 0o755)
	os.MkdirAll(filepath.Join(root, "outside"), 0o755)
	os.Symlink(filepath.Join(root, "outside"), filepath.Join(root, "models", "loras"))
	os.MkdirAll(filepath.Join(root, "models", "vae", "dir.safetensors", "sub"), 0o755)
	// A symlink where the download would keep its partial file: the
	// download must not write through it.
	os.WriteFile(filepath.Join(root, "outside", "victim"), []byte("not a model"), 0o644)
	os.Symlink(filepath.Join(root, "outside", "victim"), filepath.Join(root, "models", "vae", "linked.safetensors.partial"))

	cases := map[string]struct {
		cfg         cty.Value
		validateErr string // from ValidateResource (offline)
		planErr     string // summary and detail substrings from PlanResource
		severity    providers.Severity
	}{
		"gated": {
			cfg:     modelCfg("hf://Org/Repo/gated.safetensors", "vae/g.safetensors", nil, nil),
			planErr: "Cannot resolve model source: resolve hf://Org/Repo/gated.safetensors: gated or private repository (401 from " + h.hub.URL + "/Org/Repo/resolve/main/gated.safetensors): accept its terms on the hub and set HF_TOKEN",
		},
		"not found": {
			cfg:     modelCfg("hf://Org/Repo/missing.safetensors", "vae/m.safetensors", nil, nil),
			planErr: "not found: " + h.hub.URL + "/Org/Repo/resolve/main/missing.safetensors",
		},
		"sha256 differs from the hub": {
			cfg:     modelCfg("hf://Org/Repo/ok.safetensors", "vae/ok.safetensors", &wrong, nil),
			planErr: "sha256 does not match the source: The config expects sha256 " + wrong,
		},
		"size differs from the hub": {
			cfg:     modelCfg("hf://Org/Repo/ok.safetensors", "vae/ok.safetensors", nil, &size),
			planErr: "size does not match the source: The config expects 999 bytes",
		},
		"not enough space": {
			cfg:     modelCfg("hf://Org/Repo/huge.safetensors", "vae/huge.safetensors", nil, nil),
			planErr: "Not enough disk space: comfyui_model.test needs 1.0 PB, ",
		},
		"symlink out of the models folder": {
			cfg:     modelCfg("hf://Org/Repo/ok.safetensors", "loras/ok.safetensors", nil, nil),
			planErr: "Unsafe model path: The file must stay inside the models folder",
		},
		"directory at the path": {
			cfg:     modelCfg("hf://Org/Repo/ok.safetensors", "vae/dir.safetensors", nil, nil),
			planErr: "Model path is not a file: comfyui_model.test would write models/vae/dir.safetensors, which is a directory;",
		},
		"symlink at the partial file": {
			cfg:     modelCfg("hf://Org/Repo/ok.safetensors", "vae/linked.safetensors", nil, nil),
			planErr: "Unsafe partial download: comfyui_model.test: " + filepath.Join(root, "models", "vae", "linked.safetensors.partial") + " is a symlink to " + filepath.Join(root, "outside", "victim"),
		},
		"dotdot":      {cfg: modelCfg("hf://Org/Repo/ok.safetensors", "vae/../../x.safetensors", nil, nil), validateErr: "Invalid model path: The path \"vae/../../x.safetensors\" leaves the models folder"},
		"absolute":    {cfg: modelCfg("hf://Org/Repo/ok.safetensors", "/etc/x", nil, nil), validateErr: "is absolute"},
		"no type dir": {cfg: modelCfg("hf://Org/Repo/ok.safetensors", "x.safetensors", nil, nil), validateErr: "names no model-type folder"},
		"bad sha256":  {cfg: modelCfg("hf://Org/Repo/ok.safetensors", "vae/x", ptr("abc"), nil), validateErr: "Invalid sha256"},
		"bad source":  {cfg: modelCfg("s3://bucket/x", "vae/x", nil, nil), validateErr: "Invalid model source"},
		"source quoted as written": {cfg: modelCfg("hf://org@main/file", "vae/x", nil, nil),
			validateErr: `The source "hf://org@main/file" is not usable`},
		"source with spaces quoted as written": {cfg: modelCfg("not a url", "vae/x", nil, nil),
			validateErr: `The source "not a url" is not usable`},
		"password left out": {cfg: modelCfg("https://u:secret@[bad/x", "vae/x", nil, nil),
			validateErr: `The source "https://[bad/x" is not usable: parse source "https://[bad/x": missing ']' in host.`},
		"negative size": {cfg: modelCfg("hf://Org/Repo/ok.safetensors", "vae/x", nil, ptr(int64(-1))), validateErr: "Invalid size"},
	}
	p := configure(t, h, root, nil)
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			vd := p.ValidateResource(context.Background(), providers.ValidateRequest{TypeName: "comfyui_model", Config: tc.cfg}).Diagnostics
			if tc.validateErr != "" {
				if !strings.Contains(diagText(vd), tc.validateErr) || !vd.HasErrors() {
					t.Fatalf("validate: %s; want %q", diagText(vd), tc.validateErr)
				}
				return
			}
			if len(vd) > 0 {
				t.Fatalf("validate: %s", diagText(vd))
			}
			pr := planModel(t, p, none(), tc.cfg)
			if !pr.Diagnostics.HasErrors() || !strings.Contains(diagText(pr.Diagnostics), tc.planErr) {
				t.Fatalf("plan diagnostics:\n%s\nwant an error containing %q", diagText(pr.Diagnostics), tc.planErr)
			}
		})
	}
}

func ptr[T any](v T) *T { return &v }

// TestModelApplyMismatch: a plain URL with a wrong expected sha256 fails at
// apply with expected vs got and the URL, and leaves nothing at the path.
func TestModelApplyMismatch(t *testing.T) {
	h := newFakeHub(t)
	content := randomBytes(200<<10, 4)
	h.put("x.safetensors", content)
	dir := t.TempDir()
	p := configure(t, h, dir, nil)
	wrong := strings.Repeat("0", 64)
	url := h.cdn.URL + "/cdn/x.safetensors"
	cfg := modelCfg(url, "checkpoints/x.safetensors", &wrong, nil)
	pr := planModel(t, p, none(), cfg)
	if pr.Diagnostics.HasErrors() {
		t.Fatalf("plan: %s", diagText(pr.Diagnostics))
	}
	if attr(pr.Planned, "resolved_commit") != "(null)" || attr(pr.Planned, "sha256") != wrong {
		t.Fatalf("planned %#v", pr.Planned)
	}
	ar := applyModel(t, p, none(), cfg, pr, &bytes.Buffer{})
	want := "sha256 mismatch for " + url + ": expected " + wrong + ", got " + hexSum(content)
	if !strings.Contains(diagText(ar.Diagnostics), want) {
		t.Fatalf("apply: %s\nwant %q", diagText(ar.Diagnostics), want)
	}
	if !ar.NewState.IsNull() {
		t.Fatal("a failed create reports an object")
	}
	full := filepath.Join(dir, "models", "checkpoints", "x.safetensors")
	for _, f := range []string{full, download.PartialPath(full), download.SidecarPath(full)} {
		if _, err := os.Stat(f); !os.IsNotExist(err) {
			t.Fatalf("%s exists after a mismatch", f)
		}
	}
}

// TestModelApplyDirectory: a directory that appears at the path after the
// plan fails the apply before anything is downloaded.
func TestModelApplyDirectory(t *testing.T) {
	h := newFakeHub(t)
	h.put("x.safetensors", randomBytes(200<<10, 6))
	dir := t.TempDir()
	p := configure(t, h, dir, nil)
	cfg := modelCfg("hf://Org/Repo/x.safetensors", "checkpoints/x.safetensors", nil, nil)
	pr := planModel(t, p, none(), cfg)
	if pr.Diagnostics.HasErrors() {
		t.Fatalf("plan: %s", diagText(pr.Diagnostics))
	}
	os.MkdirAll(filepath.Join(dir, "models", "checkpoints", "x.safetensors", "sub"), 0o755)
	gets := h.cdnGets.Load()
	ar := applyModel(t, p, none(), cfg, pr, &bytes.Buffer{})
	want := "Model path is not a file: models/checkpoints/x.safetensors is a directory"
	if !strings.Contains(diagText(ar.Diagnostics), want) {
		t.Fatalf("apply: %s\nwant %q", diagText(ar.Diagnostics), want)
	}
	if h.cdnGets.Load() != gets {
		t.Fatal("the file was downloaded although it could not be put in place")
	}
}

// TestModelUnknownSource: a source known only after apply plans with
// unknowns and resolves at apply.
func TestModelUnknownSource(t *testing.T) {
	h := newFakeHub(t)
	content := randomBytes(50<<10, 5)
	h.put("late.safetensors", content)
	dir := t.TempDir()
	p := configure(t, h, dir, nil)
	cfg := modelCfg("x", "vae/late.safetensors", nil, nil)
	attrs := cfg.AsValueMap()
	attrs["source"] = cty.UnknownVal(cty.String)
	unknownCfg := cty.ObjectVal(attrs)
	pr := planModel(t, p, none(), unknownCfg)
	if pr.Diagnostics.HasErrors() || pr.Planned.GetAttr("sha256").IsKnown() || attr(pr.Planned, "name") != "late.safetensors" {
		t.Fatalf("plan with unknown source: %#v %s", pr.Planned, diagText(pr.Diagnostics))
	}
	known := modelCfg("hf://Org/Repo/late.safetensors", "vae/late.safetensors", nil, nil)
	ar := applyModel(t, p, none(), known, pr, &bytes.Buffer{})
	if ar.Diagnostics.HasErrors() || attr(ar.NewState, "sha256") != hexSum(content) {
		t.Fatalf("apply: %s", diagText(ar.Diagnostics))
	}
}

// TestCheckModelPath: a path is suggested only where the suggestion is
// itself a usable path.
func TestCheckModelPath(t *testing.T) {
	cases := map[string]struct{ want, notWant string }{
		"diffusion_models/WanVideo/x.safetensors": {},
		"x.safetensors":             {want: "names no model-type folder; ComfyUI lists only files inside one, such as diffusion_models/x.safetensors."},
		"checkpoints/":              {want: `The path "checkpoints/" names a folder; write the weight file's name at its end.`, notWant: "such as"},
		"checkpoints/a/":            {want: "names a folder", notWant: "such as"},
		"checkpoints/a/.":           {want: "names a folder", notWant: "such as"},
		"checkpoints/a/../../x.bin": {want: "names no model-type folder; ComfyUI lists only files inside one.", notWant: "such as"},
		"./x.bin":                   {want: "names no model-type folder", notWant: "such as"},
		"checkpoints/..":            {want: "names the models folder itself", notWant: "such as"},
		"diffusion_models/../../x":  {want: "leaves the models folder"},
	}
	for p, tc := range cases {
		got := checkModelPath(p)
		if tc.want == "" && got != "" || !strings.Contains(got, tc.want) || tc.notWant != "" && strings.Contains(got, tc.notWant) {
			t.Errorf("checkModelPath(%q) = %q, want %q", p, got, tc.want)
		}
	}
}

func TestModelName(t *testing.T) {
	for path, want := range map[string]string{
		"diffusion_models/WanVideo/x.safetensors": "WanVideo/x.safetensors",
		"vae/y.safetensors":                       "y.safetensors",
		"loras//a/./b.safetensors":                "a/b.safetensors",
	} {
		if got := modelName(path); got != want {
			t.Errorf("modelName(%q) = %q, want %q", path, got, want)
		}
	}
}

func TestConfigure(t *testing.T) {
	cases := map[string]struct {
		attrs   map[string]cty.Value
		env     map[string]string
		wantErr string
		check   func(t *testing.T, p *Provider)
	}{
		"defaults from the environment": {
			env: map[string]string{"HF_TOKEN": "hf_env", "HF_ENDPOINT": "https://mirror.example"},
			check: func(t *testing.T, p *Provider) {
				if p.cfg.Token != "hf_env" || p.cfg.Endpoint != "https://mirror.example" || p.cfg.Connections != 8 || p.cfg.ModelsDirAbs != "/cfg/models" {
					t.Fatalf("settings %+v", p.cfg)
				}
			},
		},
		"provider block wins": {
			attrs: map[string]cty.Value{"token": cty.StringVal("hf_block"), "hf_endpoint": cty.StringVal("http://127.0.0.1:9"),
				"connections": cty.NumberIntVal(3), "models_dir": cty.StringVal("/srv/models")},
			env: map[string]string{"HF_TOKEN": "hf_env"},
			check: func(t *testing.T, p *Provider) {
				if p.cfg.Token != "hf_block" || p.cfg.Endpoint != "http://127.0.0.1:9" || p.cfg.Connections != 3 || p.cfg.ModelsDirAbs != "/srv/models" {
					t.Fatalf("settings %+v", p.cfg)
				}
			},
		},
		"bad endpoint":    {attrs: map[string]cty.Value{"hf_endpoint": cty.StringVal("ftp://x")}, wantErr: "Invalid hf_endpoint"},
		"bad connections": {attrs: map[string]cty.Value{"connections": cty.NumberIntVal(0)}, wantErr: "Invalid connections"},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			t.Setenv("HF_TOKEN", "")
			t.Setenv("HF_ENDPOINT", "")
			for k, v := range tc.env {
				t.Setenv(k, v)
			}
			vals := map[string]cty.Value{}
			for name, a := range providerSchema.Attributes {
				vals[name] = cty.NullVal(a.Type)
			}
			for k, v := range tc.attrs {
				vals[k] = v
			}
			p := New().(*Provider)
			resp := p.Configure(context.Background(), providers.ConfigureRequest{Config: cty.ObjectVal(vals), Env: providers.Env{ConfigDir: "/cfg"}})
			if tc.wantErr != "" {
				if !strings.Contains(diagText(resp.Diagnostics), tc.wantErr) {
					t.Fatalf("diagnostics %s, want %q", diagText(resp.Diagnostics), tc.wantErr)
				}
				return
			}
			if resp.Diagnostics.HasErrors() {
				t.Fatal(diagText(resp.Diagnostics))
			}
			tc.check(t, p)
		})
	}
}

func TestSchema(t *testing.T) {
	s := New().Schema()
	m := s.Resources["comfyui_model"]
	if m == nil || m.Verb != "download" || !s.Provider.Attributes["token"].Sensitive {
		t.Fatalf("schema %+v", s)
	}
	if !m.ImpliedType().Equals(modelSchema.ImpliedType()) || !m.Attributes["path"].ForceNew {
		t.Fatal("model schema")
	}
	d := New().ValidateResource(context.Background(), providers.ValidateRequest{TypeName: "comfyui_nope"}).Diagnostics
	if !strings.Contains(diagText(d), `no type "comfyui_nope"; it has comfyui_model`) {
		t.Fatalf("unknown type: %s", diagText(d))
	}
}
