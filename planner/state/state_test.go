package state

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/zclconf/go-cty/cty"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

var t0 = time.Date(2026, 11, 27, 22, 5, 56, 123456789, time.UTC)

// richFile holds every kind of value the state must carry through a write
// and a read unchanged.
func richFile() *File {
	steps := cty.ListVal([]cty.Value{
		cty.ObjectVal(map[string]cty.Value{"key": cty.StringVal("sha256:01"), "cached": cty.True}),
		cty.ObjectVal(map[string]cty.Value{"key": cty.StringVal("sha256:02"), "cached": cty.False}),
	})
	return &File{
		Version:       Version,
		Serial:        41,
		Lineage:       "5b1f3c2e-8d4a-4f6b-9c1e-2a3b4c5d6e7f",
		SdformVersion: "0.1.0",
		Resources: []*Resource{
			{
				Address: "docker_image.comfyui", Mode: ModeManaged, Type: "docker_image", Name: "comfyui", Provider: "docker",
				Value: cty.ObjectVal(map[string]cty.Value{
					"id":         cty.StringVal("sha256:3f1c"),
					"size":       cty.NumberIntVal(21474836480),
					"ratio":      cty.NumberFloatVal(0.25),
					"huge":       cty.MustParseNumberVal("123456789012345678901234567890.5"),
					"tags":       cty.ListVal([]cty.Value{cty.StringVal("runpod/sd:fp8"), cty.StringVal("runpod/sd:latest")}),
					"labels":     cty.MapVal(map[string]cty.Value{"org": cty.StringVal("sdform"), "é": cty.StringVal("ünïcode")}),
					"platforms":  cty.SetVal([]cty.Value{cty.StringVal("linux/amd64"), cty.StringVal("linux/arm64")}),
					"pair":       cty.TupleVal([]cty.Value{cty.StringVal("a"), cty.NumberIntVal(1), cty.True}),
					"target":     cty.NullVal(cty.String),
					"no_tags":    cty.ListValEmpty(cty.String),
					"hf_token":   cty.StringVal("sha256:9e8d7c"),
					"steps":      steps,
					"cuda":       cty.NullVal(cty.Object(map[string]cty.Type{"major": cty.Number})),
					"anything":   cty.NullVal(cty.DynamicPseudoType),
					"empty_map":  cty.MapValEmpty(cty.Number),
					"empty_obj":  cty.EmptyObjectVal,
					"empty_set":  cty.SetValEmpty(cty.Bool),
					"neg":        cty.NumberIntVal(-7),
					"multi_line": cty.StringVal("line 1\nline 2\t\"quoted\""),
				}),
				Fingerprint:  "sha256:aa",
				Private:      []byte{0, 1, 2, 0xfe, 0xff, '{'},
				Dependencies: []string{"var.variant", "data.gpu_host.local"},
				SensitivePaths: []cty.Path{
					cty.GetAttrPath("hf_token"),
					cty.GetAttrPath("labels").IndexString("é"),
					cty.GetAttrPath("steps").IndexInt(1).GetAttr("key"),
				},
				CreatedAt: t0,
				UpdatedAt: t0.Add(time.Hour),
			},
			{
				Address: "data.gpu_host.local", Mode: ModeData, Type: "gpu_host", Name: "local", Provider: "gpu",
				Value:     cty.NilVal,
				CreatedAt: t0, UpdatedAt: t0,
			},
			{
				Address: "comfyui_model.a", Mode: ModeManaged, Type: "comfyui_model", Name: "a", Provider: "comfyui",
				Value:          cty.ObjectVal(map[string]cty.Value{"path": cty.StringVal("models/a.safetensors")}),
				SensitivePaths: []cty.Path{}, // recorded: none
				CreatedAt:      t0, UpdatedAt: t0,
			},
		},
		Checks: []*Check{
			{Address: "check.size", Status: "fail", Messages: []string{"image is over the 50 GB RunPod budget"}, UpdatedAt: t0},
			{Address: "check.cuda", Status: "pass", UpdatedAt: t0},
		},
		Outputs: map[string]*Output{
			"image":  {Value: cty.StringVal("sha256:3f1c")},
			"token":  {Value: cty.StringVal("sha256:9e8d7c"), Sensitive: true},
			"sizes":  {Value: cty.MapVal(map[string]cty.Value{"fp8": cty.NumberIntVal(1)})},
			"absent": {Value: cty.NullVal(cty.DynamicPseudoType)},
		},
	}
}

// assertSameFile compares two states the way a reader of the file would:
// values by RawEquals (type and all), times by instant, order by address.
func assertSameFile(t *testing.T, want, got *File) {
	t.Helper()
	if got.Version != want.Version || got.Serial != want.Serial || got.Lineage != want.Lineage || got.SdformVersion != want.SdformVersion {
		t.Errorf("header = %d/%d/%s/%s, want %d/%d/%s/%s", got.Version, got.Serial, got.Lineage, got.SdformVersion,
			want.Version, want.Serial, want.Lineage, want.SdformVersion)
	}
	if len(got.Resources) != len(want.Resources) {
		t.Fatalf("%d resources, want %d", len(got.Resources), len(want.Resources))
	}
	for _, w := range want.Resources {
		g := got.Resource(w.Address)
		if g == nil {
			t.Errorf("resource %s missing", w.Address)
			continue
		}
		wv, gv := nilToNull(w.Value), nilToNull(g.Value)
		if !gv.RawEquals(wv) {
			t.Errorf("%s value =\n%#v\nwant\n%#v", w.Address, g.Value, wv)
		}
		if !gv.Type().Equals(wv.Type()) {
			t.Errorf("%s type = %#v, want %#v", w.Address, g.Value.Type(), wv.Type())
		}
		if (g.SensitivePaths == nil) != (w.SensitivePaths == nil) || len(g.SensitivePaths) != len(w.SensitivePaths) {
			t.Errorf("%s sensitive paths = %#v, want %#v (nil means not recorded)", w.Address, g.SensitivePaths, w.SensitivePaths)
		} else {
			for i := range w.SensitivePaths {
				if !g.SensitivePaths[i].Equals(w.SensitivePaths[i]) {
					t.Errorf("%s sensitive path %d = %#v, want %#v", w.Address, i, g.SensitivePaths[i], w.SensitivePaths[i])
				}
			}
		}
		wd, gd := slices.Sorted(slices.Values(w.Dependencies)), slices.Sorted(slices.Values(g.Dependencies))
		if g.Mode != w.Mode || g.Type != w.Type || g.Name != w.Name || g.Provider != w.Provider || g.Fingerprint != w.Fingerprint ||
			!bytes.Equal(g.Private, w.Private) || !slices.Equal(gd, wd) ||
			!g.CreatedAt.Equal(w.CreatedAt) || !g.UpdatedAt.Equal(w.UpdatedAt) {
			t.Errorf("%s: got mode=%s type=%s name=%s provider=%s fingerprint=%s private=%x deps=%v created=%s updated=%s",
				w.Address, g.Mode, g.Type, g.Name, g.Provider, g.Fingerprint, g.Private, gd, g.CreatedAt, g.UpdatedAt)
		}
	}
	if len(got.Checks) != len(want.Checks) {
		t.Fatalf("%d checks, want %d", len(got.Checks), len(want.Checks))
	}
	for _, w := range want.Checks {
		g := got.Check(w.Address)
		if g == nil || g.Status != w.Status || !slices.Equal(g.Messages, w.Messages) && len(g.Messages)+len(w.Messages) > 0 || !g.UpdatedAt.Equal(w.UpdatedAt) {
			t.Errorf("check %s = %+v, want %+v", w.Address, g, w)
		}
	}
	if len(got.Outputs) != len(want.Outputs) {
		t.Fatalf("%d outputs, want %d", len(got.Outputs), len(want.Outputs))
	}
	for name, w := range want.Outputs {
		g := got.Outputs[name]
		if g == nil || !g.Value.RawEquals(w.Value) || g.Sensitive != w.Sensitive {
			t.Errorf("output %s = %#v, want %#v", name, g, w)
		}
	}
}

func nilToNull(v cty.Value) cty.Value {
	if v == cty.NilVal {
		return cty.NullVal(cty.DynamicPseudoType)
	}
	return v
}

func TestMarshalGolden(t *testing.T) {
	want := richFile()
	got, err := marshal(want)
	if err != nil {
		t.Fatal(err)
	}
	golden := filepath.Join("testdata", "rich.golden.json")
	if *update {
		if err := os.WriteFile(golden, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	g, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if !bytes.Equal(got, g) {
		t.Errorf("marshal differs from %s (go test -update rewrites it):\n%s", golden, got)
	}

	back, err := unmarshal(g)
	if err != nil {
		t.Fatal(err)
	}
	assertSameFile(t, want, back)
}

// Every fixture under testdata/valid reads, and writes back byte for byte:
// the on-disk form is canonical and a read-write cycle loses nothing.
func TestFixturesRoundTrip(t *testing.T) {
	paths, _ := filepath.Glob(filepath.Join("testdata", "valid", "*.json"))
	paths = append(paths, filepath.Join("testdata", "rich.golden.json"))
	if len(paths) < 2 {
		t.Fatalf("no fixtures found")
	}
	for _, path := range paths {
		t.Run(filepath.Base(path), func(t *testing.T) {
			data, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			f, err := Load(path)
			if err != nil {
				t.Fatal(err)
			}
			out, err := marshal(f)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(out, data) {
				t.Errorf("re-marshalled %s differs:\n%s", path, out)
			}
		})
	}
}

func TestMarshalOrderIsStable(t *testing.T) {
	a := richFile()
	b := richFile()
	slices.Reverse(b.Resources)
	slices.Reverse(b.Checks)
	slices.Reverse(b.Resources[0].Dependencies)
	ja, err := marshal(a)
	if err != nil {
		t.Fatal(err)
	}
	jb, err := marshal(b)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(ja, jb) {
		t.Error("the same state in another order marshals differently")
	}
	if i, j := bytes.Index(ja, []byte(`"comfyui_model.a"`)), bytes.Index(ja, []byte(`"docker_image.comfyui"`)); i < 0 || j < 0 || i > j {
		t.Errorf("resources not sorted by address (offsets %d, %d)", i, j)
	}
}

func TestLoadMissingIsFresh(t *testing.T) {
	path := filepath.Join(t.TempDir(), "nope", "state.json")
	f, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	if f.Version != Version || f.Serial != 0 || len(f.Lineage) != 36 || len(f.Resources) != 0 {
		t.Errorf("fresh state = %+v", f)
	}
	if g := New(); g.Lineage == f.Lineage {
		t.Error("two fresh states share a lineage")
	}
	if _, err := os.Stat(path); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("Load created %s: %v", path, err)
	}
}

func TestSave(t *testing.T) {
	dir := filepath.Join(t.TempDir(), ".sdform")
	path := filepath.Join(dir, "state.json")
	f := richFile()
	f.Serial = 0

	if err := f.Save(path); err != nil {
		t.Fatal(err)
	}
	if f.Serial != 1 {
		t.Errorf("serial after first save = %d, want 1", f.Serial)
	}
	first, _ := os.ReadFile(path)
	if _, err := os.Stat(path + ".backup"); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("backup exists after the first save: %v", err)
	}

	f.Remove("comfyui_model.a")
	if err := f.Save(path); err != nil {
		t.Fatal(err)
	}
	if f.Serial != 2 {
		t.Errorf("serial after second save = %d, want 2", f.Serial)
	}
	if err := f.Save(path); err != nil { // unchanged content still counts as a write
		t.Fatal(err)
	}
	if f.Serial != 3 {
		t.Errorf("serial after third save = %d, want 3", f.Serial)
	}

	back, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	assertSameFile(t, f, back)

	bak, err := Load(path + ".backup")
	if err != nil {
		t.Fatal(err)
	}
	if bak.Serial != 2 || bak.Resource("comfyui_model.a") != nil {
		t.Errorf("backup has serial %d (want 2, the file before the last save)", bak.Serial)
	}
	if b, _ := os.ReadFile(path + ".backup"); bytes.Equal(b, first) {
		t.Error("backup still holds the first save")
	}

	for _, p := range []string{path, path + ".backup"} {
		st, err := os.Stat(p)
		if err != nil {
			t.Fatal(err)
		}
		if m := st.Mode().Perm(); m != 0o600 {
			t.Errorf("%s mode = %o, want 600", p, m)
		}
	}
	if st, _ := os.Stat(dir); st.Mode().Perm() != 0o700 {
		t.Errorf("created directory mode = %o, want 700", st.Mode().Perm())
	}
	entries, _ := os.ReadDir(dir)
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	if want := []string{"state.json", "state.json.backup"}; !slices.Equal(names, want) {
		t.Errorf("directory holds %v, want %v (no temporary files left)", names, want)
	}
}

func TestSaveFailureKeepsSerialAndFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state.json")
	f := New()
	if err := f.Save(path); err != nil {
		t.Fatal(err)
	}
	before, _ := os.ReadFile(path)

	tests := map[string]cty.Value{
		"marked":  cty.StringVal("hunter2").Mark("sensitive"),
		"nested":  cty.ObjectVal(map[string]cty.Value{"token": cty.StringVal("hunter2").Mark("sensitive")}),
		"unknown": cty.UnknownVal(cty.String),
	}
	for name, v := range tests {
		t.Run(name, func(t *testing.T) {
			f.Set(&Resource{Address: "test_thing.a", Mode: ModeManaged, Type: "test_thing", Name: "a", Value: v})
			err := f.Save(path)
			if err == nil {
				t.Fatal("Save succeeded")
			}
			if !strings.Contains(err.Error(), "test_thing.a") || strings.Contains(err.Error(), "hunter2") {
				t.Errorf("error = %v; want it to name the resource and not print the value", err)
			}
			if f.Serial != 1 {
				t.Errorf("serial moved to %d on a failed save", f.Serial)
			}
			after, _ := os.ReadFile(path)
			if !bytes.Equal(before, after) {
				t.Error("a failed save changed the file")
			}
			if b, err := os.ReadFile(path); err == nil && bytes.Contains(b, []byte("hunter2")) {
				t.Error("secret reached the file")
			}
		})
	}
}

// A file sdform cannot read is refused with a message naming it, and is
// never replaced: not by Load, not by a Save that follows.
func TestCorruptAndNewerRefused(t *testing.T) {
	tests := map[string]struct {
		want  []string
		isErr error
	}{
		"syntax.json":             {[]string{"invalid JSON at line 4, column 3", "byte offset"}, ErrCorrupt},
		"truncated.json":          {[]string{"the JSON ends early (after 68 bytes): the file is truncated"}, ErrCorrupt},
		"bad-serial-type.json":    {[]string{"serial", "line 3", "is a JSON string, want a whole number"}, ErrCorrupt},
		"bad-attributes.json":     {[]string{"resource docker_image.a attributes.size: a number is required"}, ErrCorrupt},
		"no-version.json":         {[]string{`no "version"`}, ErrCorrupt},
		"newer.json":              {[]string{"state format version 2", "reads up to version 1", "upgrade sdform"}, ErrNewerVersion},
		"no-lineage.json":         {[]string{`no "lineage"`}, ErrCorrupt},
		"duplicate.json":          {[]string{"resource docker_image.a is recorded twice"}, ErrCorrupt},
		"bad-mode.json":           {[]string{`mode "sideways"`}, ErrCorrupt},
		"bad-sensitive-path.json": {[]string{"resource docker_image.a sensitive_paths", `unknown step type "splat"`}, ErrCorrupt},
		"unknown-field.json":      {[]string{`unknown field "surprise"`}, ErrCorrupt},
		"not-an-object.json":      {[]string{"holds a JSON array, not an object"}, ErrCorrupt},
		"bad-type-name.json":      {[]string{"attributes", "type"}, ErrCorrupt},
		"trailing-garbage.json":   {[]string{"invalid JSON"}, ErrCorrupt},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			orig, err := os.ReadFile(filepath.Join("testdata", "corrupt", name))
			if err != nil {
				t.Fatal(err)
			}
			path := filepath.Join(t.TempDir(), "state.json")
			if err := os.WriteFile(path, orig, 0o600); err != nil {
				t.Fatal(err)
			}

			_, err = Load(path)
			if err == nil {
				t.Fatal("Load accepted it")
			}
			t.Logf("Load: %v", err)
			if !errors.Is(err, tc.isErr) {
				t.Errorf("error %v is not %v", err, tc.isErr)
			}
			for _, w := range append(tc.want, path, "left untouched") {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}

			err = New().Save(path)
			if err == nil || !strings.Contains(err.Error(), "refusing to replace") {
				t.Errorf("Save over it: %v, want a refusal", err)
			}
			after, _ := os.ReadFile(path)
			if !bytes.Equal(after, orig) {
				t.Error("the refused file was changed")
			}
			if _, err := os.Stat(path + ".backup"); !errors.Is(err, os.ErrNotExist) {
				t.Errorf("a backup was written over a refused file: %v", err)
			}
		})
	}
}

// When a good backup exists, the refusal points the user at it.
func TestCorruptNamesBackup(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state.json")
	f := New()
	for range 2 {
		if err := f.Save(path); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(path, []byte(`{"version": 1,`), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := Load(path)
	if err == nil || !strings.Contains(err.Error(), "restore "+path+".backup") {
		t.Errorf("Load: %v; want it to suggest the backup", err)
	}
	if bak, err := Load(path + ".backup"); err != nil || bak.Serial != 1 {
		t.Errorf("backup: serial %v, %v; want a readable serial 1", bak, err)
	}
	// The state that wrote the file last must not overwrite it once someone
	// else broke it: Save re-checks a file it did not write.
	if err := f.Save(path); err == nil || !strings.Contains(err.Error(), "refusing to replace") {
		t.Errorf("Save over a file broken since the last save: %v, want a refusal", err)
	}
	if b, _ := os.ReadFile(path); string(b) != `{"version": 1,` {
		t.Errorf("the broken file was replaced: %q", b)
	}
}

func TestResourceSetRemove(t *testing.T) {
	f := New()
	a := &Resource{Address: "test_a.x", Value: cty.StringVal("1")}
	f.Set(a)
	f.Set(&Resource{Address: "test_b.y"})
	f.Set(&Resource{Address: "test_a.x", Value: cty.StringVal("2")})
	if len(f.Resources) != 2 {
		t.Fatalf("%d resources after replacing one, want 2", len(f.Resources))
	}
	if got := f.Resource("test_a.x").Value; !got.RawEquals(cty.StringVal("2")) {
		t.Errorf("Set did not replace: %#v", got)
	}
	if f.Resource("nope.z") != nil {
		t.Error("Resource found an absent address")
	}
	if !f.Remove("test_b.y") || f.Remove("test_b.y") || f.Resource("test_b.y") != nil {
		t.Error("Remove did not remove exactly once")
	}
}

func TestCopyIsDeep(t *testing.T) {
	f := richFile()
	c := f.Copy()
	assertSameFile(t, f, c)

	c.Resources[0].Private[0] = 'X'
	c.Resources[0].Dependencies[0] = "changed"
	c.Checks[0].Messages[0] = "changed"
	c.Outputs["image"].Sensitive = true
	c.Set(&Resource{Address: "test_new.x"})
	c.Remove("comfyui_model.a")

	if f.Resources[0].Private[0] == 'X' || f.Resources[0].Dependencies[0] == "changed" ||
		f.Checks[0].Messages[0] == "changed" || f.Outputs["image"].Sensitive ||
		f.Resource("test_new.x") != nil || f.Resource("comfyui_model.a") == nil {
		t.Error("changing the copy changed the original")
	}
}

func TestSameLineage(t *testing.T) {
	a := New()
	b := a.Copy()
	b.Serial = 9
	tests := map[string]struct {
		x, y *File
		want bool
	}{
		"copy":       {a, b, true},
		"fresh":      {a, New(), false},
		"nil":        {a, nil, false},
		"both-empty": {&File{}, &File{}, false},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			if got := tc.x.SameLineage(tc.y); got != tc.want {
				t.Errorf("SameLineage = %v, want %v", got, tc.want)
			}
		})
	}
}

// benchStates are 200-resource states: "rich" with the golden file's
// many-typed resource, "small" with five string attributes per resource (a
// test-provider-sized state).
func benchStates() map[string]*File {
	out := map[string]*File{}
	for _, kind := range []string{"rich", "small"} {
		f := New()
		for i := range 200 {
			r := richFile().Resources[0]
			if kind == "small" {
				r.Value = cty.ObjectVal(map[string]cty.Value{
					"id": cty.StringVal("sha256:3f1c"), "name": cty.StringVal("x"), "a": cty.StringVal("1"),
					"b": cty.StringVal("2"), "c": cty.StringVal("3"),
				})
				r.Private = nil
			}
			r.Address = fmt.Sprintf("test_thing.i%03d", i)
			f.Set(r)
		}
		out[kind] = f
	}
	return out
}

// BenchmarkSave measures one persist of a 200-resource state, as apply does
// after every resource.
func BenchmarkSave(b *testing.B) {
	for kind, f := range benchStates() {
		b.Run(kind, func(b *testing.B) {
			path := filepath.Join(b.TempDir(), "state.json")
			for b.Loop() {
				if err := f.Save(path); err != nil {
					b.Fatal(err)
				}
			}
			st, _ := os.Stat(path)
			b.ReportMetric(float64(st.Size()), "file-bytes")
		})
	}
}

func BenchmarkLoad(b *testing.B) {
	for kind, f := range benchStates() {
		b.Run(kind, func(b *testing.B) {
			path := filepath.Join(b.TempDir(), "state.json")
			if err := f.Save(path); err != nil {
				b.Fatal(err)
			}
			for b.Loop() {
				if _, err := Load(path); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
