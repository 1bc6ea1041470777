package view

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/sdform/sdform/lang"
	"github.com/sdform/sdform/planner/plan"
	"github.com/sdform/sdform/planner/state"
	"github.com/zclconf/go-cty/cty"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden with the current output")

// golden compares got with testdata/name.golden, or rewrites it under -update.
func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name+".golden")
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("read golden file (run `go test ./internal/view -update` to create it): %v", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("output differs from %s (run with -update if the change is intended)\n--- got ---\n%s\n--- want ---\n%s", path, got, want)
	}
}

func obj(attrs map[string]cty.Value) cty.Value { return cty.ObjectVal(attrs) }

var imageType = cty.Object(map[string]cty.Type{
	"context": cty.String, "args": cty.Map(cty.String), "tags": cty.List(cty.String),
	"digest": cty.String, "id": cty.String, "size": cty.Number, "secrets": cty.Map(cty.String),
})

func image(digest cty.Value, variant string, tags ...string) cty.Value {
	tv := make([]cty.Value, len(tags))
	for i, t := range tags {
		tv[i] = cty.StringVal(t)
	}
	return obj(map[string]cty.Value{
		"context": cty.StringVal("docker"),
		"args":    cty.MapVal(map[string]cty.Value{"STEADYDANCER_VARIANT": cty.StringVal(variant), "ENABLE_FLASH_ATTN": cty.StringVal("true")}),
		"tags":    cty.ListVal(tv),
		"digest":  digest,
		"id":      digest,
		"size":    cty.NumberIntVal(1000),
		"secrets": cty.NullVal(cty.Map(cty.String)),
	})
}

var modelType = cty.Object(map[string]cty.Type{"source": cty.String, "path": cty.String, "sha256": cty.String, "size": cty.Number})

// examplePlan has one change of every action kind, nested values,
// unknowns, sensitive values, drift, details, checks and outputs.
func examplePlan() *plan.Plan {
	token := cty.StringVal("hf_SECRET").Mark(lang.SensitiveMark)
	withSecret := func(v cty.Value, secret cty.Value) cty.Value {
		m := v.AsValueMap()
		m["secrets"] = cty.MapVal(map[string]cty.Value{"hf_token": secret})
		return cty.ObjectVal(m)
	}
	return &plan.Plan{
		FormatVersion: plan.FormatVersion,
		SdformVersion: "0.1.0",
		Drift: []*plan.Drift{
			// State holds a sensitive leaf redacted ("sha256:<hmac>"); a
			// secret changed outside sdform changes its HMAC.
			{
				Address: "docker_image.base", Reason: "tag moved to sha256:9999",
				Before:         withSecret(image(cty.StringVal("sha256:1111"), "fp8", "base:1"), cty.StringVal("sha256:hmac-old")),
				After:          withSecret(image(cty.StringVal("sha256:9999"), "fp8", "base:1"), cty.StringVal("sha256:hmac-new")),
				SensitivePaths: []cty.Path{cty.GetAttrPath("secrets").Index(cty.StringVal("hf_token"))},
			},
			{Address: "docker_image.old", Reason: "image deleted outside sdform", Before: obj(map[string]cty.Value{"id": cty.StringVal("sha256:0000")}), After: cty.NullVal(cty.DynamicPseudoType)},
		},
		Changes: []*plan.Change{
			{
				Address: "docker_image.comfyui", Mode: "managed", Type: "docker_image", Name: "comfyui", Provider: "docker",
				// Providers plan a rebuild as a replace of the image id.
				Action: plan.Replace, Verb: "build", Reason: "build arg STEADYDANCER_VARIANT changed",
				ReplacePaths: []cty.Path{cty.GetAttrPath("id")},
				Before:       withSecret(image(cty.StringVal("sha256:3f1c"), "fp16", "runpod/steadydancer:fp16"), token),
				After:        withSecret(image(cty.UnknownVal(cty.String), "fp8", "runpod/steadydancer:fp8"), token),
				Details:      []string{"steps: 14 cached, 6 to run (first change: Dockerfile:42 ARG STEADYDANCER_VARIANT)"},
			},
			{
				// An in-place update of a build type builds nothing.
				Address: "docker_image.retag", Mode: "managed", Type: "docker_image", Name: "retag", Provider: "docker",
				Action: plan.Update, Verb: "build", Reason: "tags changed",
				Before: image(cty.StringVal("sha256:7a7a"), "fp8", "retag:1"),
				After:  image(cty.StringVal("sha256:7a7a"), "fp8", "retag:1", "retag:latest"),
			},
			{
				Address: "comfyui_model.steadydancer", Mode: "managed", Type: "comfyui_model", Name: "steadydancer", Provider: "comfyui",
				Action: plan.Create, Verb: "download", Reason: "14.2 GB from hf://Kijai/WanVideo_comfy_fp8_scaled",
				Before: cty.NullVal(modelType),
				After: obj(map[string]cty.Value{
					"source": cty.StringVal("hf://Kijai/WanVideo_comfy_fp8_scaled@abc/SteadyDancer/x.safetensors"),
					"path":   cty.StringVal("diffusion_models/x.safetensors"),
					"sha256": cty.UnknownVal(cty.String), "size": cty.NullVal(cty.Number),
				}),
				Details: []string{"will download 14.2 GB"},
			},
			{
				Address: "docker_image.tools", Mode: "managed", Type: "docker_image", Name: "tools", Provider: "docker",
				Action: plan.Create, Verb: "build", Reason: "not built yet",
				Before: cty.NullVal(imageType), After: withSecret(image(cty.UnknownVal(cty.String), "fp8", "tools:1"), token),
			},
			{
				Address: "docker_image_test.imports", Mode: "managed", Type: "docker_image_test", Name: "imports", Provider: "docker",
				Action: plan.Replace, Verb: "run", Test: true, Reason: "image changed",
				ReplacePaths: []cty.Path{cty.GetAttrPath("image")},
				Before:       obj(map[string]cty.Value{"image": cty.StringVal("sha256:3f1c"), "commands": cty.ListVal([]cty.Value{cty.StringVal("python -c 'import mmcv'")}), "passed": cty.True}),
				After:        obj(map[string]cty.Value{"image": cty.UnknownVal(cty.String), "commands": cty.ListVal([]cty.Value{cty.StringVal("python -c 'import mmcv'")}), "passed": cty.UnknownVal(cty.Bool)}),
			},
			{
				Address: "example_thing.meta", Mode: "managed", Type: "example_thing", Name: "meta", Provider: "example",
				Action: plan.Update, Reason: "labels changed",
				Before: obj(map[string]cty.Value{
					"labels": cty.MapVal(map[string]cty.Value{"team": cty.StringVal("video"), "tier": cty.StringVal("gpu"), "gone": cty.StringVal("x")}),
					"nested": obj(map[string]cty.Value{"ports": cty.ListVal([]cty.Value{cty.NumberIntVal(8188), cty.NumberIntVal(22)}), "env": cty.SetVal([]cty.Value{cty.StringVal("A=1")})}),
					"name":   cty.StringVal("meta"), "count": cty.NumberIntVal(1), "password": cty.StringVal("old"),
				}),
				After: obj(map[string]cty.Value{
					"labels": cty.MapVal(map[string]cty.Value{"team": cty.StringVal("video"), "tier": cty.StringVal("h100"), "new-key": cty.StringVal("y")}),
					"nested": obj(map[string]cty.Value{"ports": cty.ListVal([]cty.Value{cty.NumberIntVal(8188), cty.NumberIntVal(2222)}), "env": cty.SetVal([]cty.Value{cty.StringVal("A=1"), cty.StringVal("B=2")})}),
					"name":   cty.StringVal("meta"), "count": cty.NumberIntVal(1), "password": cty.StringVal("new"),
				}),
				SensitivePaths: []cty.Path{cty.GetAttrPath("password")},
			},
			{
				Address: "example_thing.replaced", Mode: "managed", Type: "example_thing", Name: "replaced", Provider: "example",
				Action: plan.Replace, Reason: "zone changed", ReplacePaths: []cty.Path{cty.GetAttrPath("zone")},
				Before: obj(map[string]cty.Value{"zone": cty.StringVal("a"), "id": cty.StringVal("1")}),
				After:  obj(map[string]cty.Value{"zone": cty.StringVal("b"), "id": cty.UnknownVal(cty.String)}),
			},
			{
				Address: "example_thing.removed", Mode: "managed", Type: "example_thing", Name: "removed", Provider: "example",
				Action: plan.Delete, Reason: "removed from config (destroy_removed is set)",
				Before: obj(map[string]cty.Value{"id": cty.StringVal("7"), "zone": cty.StringVal("a")}),
				After:  cty.NullVal(cty.Object(map[string]cty.Type{"id": cty.String, "zone": cty.String})),
			},
			{
				Address: "docker_image.legacy", Mode: "managed", Type: "docker_image", Name: "legacy", Provider: "docker",
				Action: plan.Forget, Verb: "build", Reason: "removed from config (forgotten: the image is left alone; set destroy_removed to delete it)",
				Before: obj(map[string]cty.Value{"id": cty.StringVal("sha256:5")}),
				After:  cty.NullVal(cty.Object(map[string]cty.Type{"id": cty.String})),
			},
			{
				Address: "data.gpu_host.local", Mode: "data", Type: "gpu_host", Name: "local", Provider: "gpu",
				Action: plan.Read, Reason: "config depends on values known after apply",
				Before: cty.NullVal(cty.Object(map[string]cty.Type{"driver": cty.String, "image": cty.String})),
				After:  obj(map[string]cty.Value{"driver": cty.UnknownVal(cty.String), "image": cty.UnknownVal(cty.String)}),
			},
			{
				Address: "comfyui_model.vae", Mode: "managed", Type: "comfyui_model", Name: "vae", Provider: "comfyui",
				Action: plan.NoOp, Verb: "download",
				Before: obj(map[string]cty.Value{"source": cty.StringVal("hf://x"), "path": cty.StringVal("vae.safetensors"), "sha256": cty.StringVal("ab"), "size": cty.NumberIntVal(1)}),
				After:  obj(map[string]cty.Value{"source": cty.StringVal("hf://x"), "path": cty.StringVal("vae.safetensors"), "sha256": cty.StringVal("ab"), "size": cty.NumberIntVal(1)}),
			},
		},
		Checks: []*plan.CheckResult{
			{Address: "check.size", Status: plan.CheckUnknown},
			{Address: "check.driver", Status: plan.CheckPass},
			{Address: "check.budget", Status: plan.CheckFail, Messages: []string{"image is over the 50 GB RunPod budget"}},
			{Address: "check.style", Status: plan.CheckFail, Warning: true, Messages: []string{"tag is not lowercase", "tag has no variant"}},
		},
		Outputs: []*plan.Output{
			{Name: "image", Before: cty.StringVal("sha256:3f1c"), After: cty.UnknownVal(cty.String)},
			{Name: "token", Before: cty.NullVal(cty.String), After: token, Sensitive: true},
			{Name: "old", Before: cty.StringVal("x"), After: cty.NullVal(cty.String)},
			{Name: "same", Before: cty.StringVal("s"), After: cty.StringVal("s")},
			{Name: "variant", Before: cty.StringVal("fp16"), After: cty.StringVal("fp8")},
		},
	}
}

func TestPlanGolden(t *testing.T) {
	noop := &plan.Plan{Changes: []*plan.Change{{Address: "a_b.c", Action: plan.NoOp}, {Address: "a_b.d", Action: plan.NoOp}}}
	outputsOnly := &plan.Plan{
		Changes: []*plan.Change{{Address: "a_b.c", Action: plan.NoOp}},
		Outputs: []*plan.Output{{Name: "x", Before: cty.NullVal(cty.String), After: cty.StringVal("1")}},
	}
	driftOnly := &plan.Plan{Drift: examplePlan().Drift[:1], Changes: []*plan.Change{{Address: "docker_image.base", Action: plan.NoOp}}}
	tests := map[string]struct {
		p     *plan.Plan
		color bool
	}{
		"plan-all":          {p: examplePlan()},
		"plan-all-color":    {p: examplePlan(), color: true},
		"plan-empty":        {p: &plan.Plan{}},
		"plan-noop":         {p: noop},
		"plan-outputs-only": {p: outputsOnly},
		"plan-drift-only":   {p: driftOnly},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			var buf bytes.Buffer
			if err := Plan(&buf, tc.p, Options{Color: tc.color}); err != nil {
				t.Fatal(err)
			}
			if !tc.color && strings.Contains(buf.String(), "\x1b[") {
				t.Error("colour codes written with Color off")
			}
			if strings.Contains(buf.String(), "hf_SECRET") || strings.Contains(buf.String(), `"new"`) || strings.Contains(buf.String(), "hmac") {
				t.Error("a sensitive value was printed")
			}
			golden(t, name, buf.Bytes())
		})
	}
}

func TestPlanLines(t *testing.T) {
	var buf bytes.Buffer
	if err := Plan(&buf, examplePlan(), Options{}); err != nil {
		t.Fatal(err)
	}
	out := buf.String()
	// The lines DESIGN.md promises, independent of the golden file.
	for _, want := range []string{
		"Objects have changed outside of sdform:",
		"  # docker_image.base has changed: tag moved to sha256:9999\n  ~ docker_image \"base\" {\n      ~ digest = \"sha256:1111\" -> \"sha256:9999\"\n      ~ id = \"sha256:1111\" -> \"sha256:9999\"\n      ~ secrets.hf_token = (sensitive value)\n",
		"sdform will perform the following actions:",
		"  # docker_image.comfyui will be rebuilt: build arg STEADYDANCER_VARIANT changed\n-/+ docker_image \"comfyui\" {",
		"  # docker_image.retag will be updated in place: tags changed\n  ~ docker_image \"retag\" {",
		`      ~ args.STEADYDANCER_VARIANT = "fp16" -> "fp8"`,
		`      ~ digest = "sha256:3f1c" -> (known after apply)`,
		"        steps: 14 cached, 6 to run (first change: Dockerfile:42 ARG STEADYDANCER_VARIANT)",
		"  # comfyui_model.steadydancer will be downloaded: 14.2 GB",
		"  + comfyui_model \"steadydancer\" {",
		"      + sha256 = (known after apply)",
		"  # docker_image_test.imports will run: image changed",
		"-/+ docker_image_test \"imports\" {",
		"# forces replacement",
		"  - example_thing \"removed\" {",
		"  . docker_image \"legacy\"",
		" <= data \"gpu_host\" \"local\" {",
		`      + labels.new-key = "y"`,
		`      - labels.gone = "x" -> null`,
		`      ~ nested.ports[1] = 22 -> 2222`,
		`      ~ nested.env = ["A=1"] -> ["A=1", "B=2"]`,
		"      ~ password = (sensitive value)",
		"        # (3 unchanged attributes hidden)",
		"Changes to Outputs:",
		"Plan: 2 to build, 1 to download, 1 check to run, 2 to update, 1 to replace, 1 to destroy, 1 to forget, 1 to read, 1 unchanged.",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("plan output lacks %q", want)
		}
	}
	if !strings.HasSuffix(out, "1 unchanged.\n") {
		t.Error("the summary line is not the last line")
	}
	if strings.Contains(out, "comfyui_model.vae") {
		t.Error("an unchanged object was listed")
	}
}

// TestWordsForActions checks the heading, progress and completion words:
// a type's verb words its creates and replaces, and its updates unless the
// update does not do the verb (a build type's in-place update builds
// nothing: providers plan a rebuild as a replace).
func TestWordsForActions(t *testing.T) {
	tests := map[string]struct {
		a                           plan.Action
		verb                        string
		heading, progress, complete string
	}{
		"build create":    {plan.Create, "build", "will be built", "Building…", "Built"},
		"build replace":   {plan.Replace, "build", "will be rebuilt", "Building…", "Built"},
		"build update":    {plan.Update, "build", "will be updated in place", "Updating…", "Updated"},
		"download create": {plan.Create, "download", "will be downloaded", "Downloading…", "Downloaded"},
		"run replace":     {plan.Replace, "run", "will run", "Running…", "Passed"},
		"check create":    {plan.Create, "check", "will check", "Checking…", "Checked"},
		"other create":    {plan.Create, "sync", "will sync", "Sync…", "Sync done"},
		"plain update":    {plan.Update, "", "will be updated in place", "Updating…", "Updated"},
		"plain replace":   {plan.Replace, "", "must be replaced", "Replacing…", "Replaced"},
		"build delete":    {plan.Delete, "build", "will be destroyed", "Destroying…", "Destroyed"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			if got := Heading(tc.a, tc.verb); got != tc.heading {
				t.Errorf("Heading = %q, want %q", got, tc.heading)
			}
			if got := Progressive(tc.a, tc.verb); got != tc.progress {
				t.Errorf("Progressive = %q, want %q", got, tc.progress)
			}
			if got := Completed(tc.a, tc.verb); got != tc.complete {
				t.Errorf("Completed = %q, want %q", got, tc.complete)
			}
		})
	}
}

func TestApplySummaryLine(t *testing.T) {
	tests := map[string]struct {
		r     ApplyResult
		color bool
		want  string // the text view's output
	}{
		"apply":         {r: ApplyResult{Succeeded: []string{"a", "b"}, Skipped: []string{"c"}}, want: "\nApply complete! 2 succeeded, 0 failed, 1 skipped.\n"},
		"destroy":       {r: ApplyResult{Destroy: true, Succeeded: []string{"a", "b"}}, want: "\nDestroy complete! 2 destroyed, 0 failed, 0 skipped.\n"},
		"destroy color": {r: ApplyResult{Destroy: true, Succeeded: []string{"a"}}, color: true, want: "\n\x1b[1m\x1b[32mDestroy complete!\x1b[0m 1 destroyed, 0 failed, 0 skipped.\n"},
		"failed color":  {r: ApplyResult{Failed: []string{"a"}}, color: true, want: "\n\x1b[1m\x1b[31mApply complete!\x1b[0m 0 succeeded, 1 failed, 0 skipped.\n"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			var buf bytes.Buffer
			NewApply(&buf, nil, Options{Color: tc.color}).Summary(tc.r)
			// A blank line, the summary, then the lists of failed and
			// skipped objects.
			lines := strings.SplitN(buf.String(), "\n", 3)
			if got := lines[0] + "\n" + lines[1] + "\n"; got != tc.want {
				t.Errorf("summary = %q, want %q", got, tc.want)
			}
			var js bytes.Buffer
			NewApplyJSON(&js, nil).Summary(tc.r)
			var ev struct {
				Message string `json:"@message"`
			}
			if err := json.Unmarshal(js.Bytes(), &ev); err != nil || ev.Message != ApplySummaryLine(tc.r) {
				t.Errorf("JSON summary = %q (%v), want %q", ev.Message, err, ApplySummaryLine(tc.r))
			}
		})
	}
	if got := ApplySummaryLine(ApplyResult{Destroy: true, Succeeded: []string{"a"}, Failed: []string{"b"}}); got != "Destroy complete! 1 destroyed, 1 failed, 0 skipped." {
		t.Errorf("ApplySummaryLine(destroy) = %q", got)
	}
}

func TestSummaryLine(t *testing.T) {
	tests := map[string]struct {
		s    plan.Summary
		want string
	}{
		"design example": {plan.Summary{ByVerb: map[string]int{"build": 1, "download": 1, "run": 2}, Unchanged: 3}, "1 to build, 1 to download, 2 checks to run, 3 unchanged"},
		"plain":          {plan.Summary{Create: 2, Update: 1, Replace: 1, Delete: 3, Forget: 1}, "2 to create, 1 to update, 1 to replace, 3 to destroy, 1 to forget"},
		"other verb":     {plan.Summary{ByVerb: map[string]int{"push": 2}}, "2 to push"},
		"nothing":        {plan.Summary{}, "nothing to do"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			if got := SummaryLine(tc.s); got != tc.want {
				t.Errorf("SummaryLine = %q, want %q", got, tc.want)
			}
		})
	}
}

func TestPlanJSONGolden(t *testing.T) {
	files, diags := sampleDiagnostics(t)
	var buf bytes.Buffer
	if err := PlanJSON(&buf, examplePlan(), diags[1:], files); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(buf.String(), "hf_SECRET") || strings.Contains(buf.String(), `"new"`) || strings.Contains(buf.String(), "hmac") {
		t.Error("a sensitive value was printed")
	}
	golden(t, "plan-json", buf.Bytes())

	buf.Reset()
	if err := PlanJSON(&buf, nil, diags, files); err != nil {
		t.Fatal(err)
	}
	golden(t, "plan-json-failed", buf.Bytes())
}

const sampleConfig = `variable "variant" {
  default = "fp8"
}

resource "docker_image" "comfyui" {
  contex = "docker"
  tags   = ["runpod/steadydancer:${var.variant}"]
}
`

func sampleDiagnostics(t *testing.T) (map[string]*hcl.File, hcl.Diagnostics) {
	t.Helper()
	f, diags := hclsyntax.ParseConfig([]byte(sampleConfig), "main.sdf.hcl", hcl.InitialPos)
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	body := f.Body.(*hclsyntax.Body)
	attr := body.Blocks[1].Body.Attributes["contex"]
	tags := body.Blocks[1].Body.Attributes["tags"]
	nameRange := attr.NameRange
	return map[string]*hcl.File{"main.sdf.hcl": f}, hcl.Diagnostics{
		{
			Severity: hcl.DiagError, Summary: "Unsupported argument",
			Detail:  `An argument named "contex" is not expected here. Did you mean "context"?`,
			Subject: &nameRange,
		},
		{
			Severity: hcl.DiagWarning, Summary: "Tag has no registry",
			Detail:  "The tag runpod/steadydancer:fp8 has no registry host, so it will be pushed to Docker Hub. Write the registry explicitly to be sure where it goes.",
			Subject: tags.Expr.Range().Ptr(), Context: tags.SrcRange.Ptr(),
		},
		{Severity: hcl.DiagError, Summary: "No configuration files", Detail: "There is no *.sdf.hcl file in /tmp/empty."},
		{
			Severity: hcl.DiagError, Summary: "File is gone",
			Detail:  "The diagnostic points into a file that is not loaded.",
			Subject: &hcl.Range{Filename: "other.sdf.hcl", Start: hcl.Pos{Line: 3, Column: 1, Byte: 20}, End: hcl.Pos{Line: 3, Column: 5, Byte: 24}},
		},
	}
}

func TestDiagnosticsGolden(t *testing.T) {
	files, diags := sampleDiagnostics(t)
	tests := map[string]Options{
		"diagnostics":       {Width: 78},
		"diagnostics-color": {Width: 78, Color: true},
	}
	for name, o := range tests {
		t.Run(name, func(t *testing.T) {
			var buf bytes.Buffer
			if err := Diagnostics(&buf, diags, files, o); err != nil {
				t.Fatal(err)
			}
			golden(t, name, buf.Bytes())
		})
	}
	t.Run("json", func(t *testing.T) {
		var buf bytes.Buffer
		if err := ValidateJSON(&buf, diags, files); err != nil {
			t.Fatal(err)
		}
		golden(t, "diagnostics-json", buf.Bytes())
	})
}

func TestJSONSnippet(t *testing.T) {
	files, diags := sampleDiagnostics(t)
	jd := NewJSONDiagnostics(diags, files)
	s := jd[0].Snippet
	if s == nil {
		t.Fatal("no snippet for a diagnostic in a loaded file")
	}
	if got := s.Code[s.HighlightStartOffset:s.HighlightEndOffset]; got != "contex" {
		t.Errorf("highlight = %q, want %q", got, "contex")
	}
	if s.StartLine != 6 || s.Context == nil || *s.Context != `resource "docker_image" "comfyui"` {
		t.Errorf("snippet = %+v", s)
	}
	if jd[2].Range != nil || jd[2].Snippet != nil || jd[3].Range == nil || jd[3].Snippet != nil {
		t.Errorf("ranges without files: %+v %+v", jd[2], jd[3])
	}
}

func TestApplyGolden(t *testing.T) {
	p := examplePlan()
	for _, o := range []struct {
		name string
		opts Options
	}{{"apply", Options{}}, {"apply-color", Options{Color: true}}} {
		t.Run(o.name, func(t *testing.T) {
			var buf bytes.Buffer
			a := NewApply(&buf, p, o.opts)
			a.Start("comfyui_model.steadydancer", plan.Create)
			a.Start("docker_image.comfyui", plan.Replace)
			a.Start("docker_image.retag", plan.Update)
			a.Done("comfyui_model.steadydancer", plan.Create, "", nil, 1500*time.Millisecond)
			a.Done("docker_image.retag", plan.Update, "sha256:7a7a", nil, 20*time.Millisecond)
			a.Done("docker_image.comfyui", plan.Replace, "sha256:abcd", nil, 3*time.Minute+2*time.Second+400*time.Millisecond)
			a.Start("docker_image_test.imports", plan.Replace)
			a.Done("docker_image_test.imports", plan.Replace, "", errors.New("command deps: exit code 1, want 0\nTraceback: no module named mmcv"), 12*time.Second)
			a.Skip("example_thing.meta", "depends on docker_image_test.imports, which failed")
			a.Skip("example_thing.other", "")
			a.Start("example_thing.removed", plan.Delete)
			a.Done("example_thing.removed", plan.Delete, "", nil, 80*time.Millisecond)
			a.Start("docker_image.legacy", plan.Forget)
			a.Done("docker_image.legacy", plan.Forget, "", nil, 0)
			a.Summary(ApplyResult{
				Succeeded:   []string{"comfyui_model.steadydancer", "docker_image.comfyui", "docker_image.retag", "example_thing.removed", "docker_image.legacy"},
				Failed:      []string{"docker_image_test.imports"},
				Skipped:     []string{"example_thing.meta", "example_thing.other"},
				SkipReasons: map[string]string{"example_thing.other": "interrupted before it started"},
				Errors:      map[string]error{"docker_image_test.imports": errors.New("command deps: exit code 1, want 0\nTraceback: no module named mmcv")},
				Promotions: []Promotion{
					{Address: "docker_image.comfyui", Passed: false, Failed: []string{"docker_image_test.imports"}},
					{Address: "docker_image.tools", Passed: true},
					{Address: "docker_image.base", Passed: true, Err: errors.New("move tag base:1: registry unreachable")},
				},
			})
			if err := Outputs(&buf, p.Outputs, o.opts); err != nil {
				t.Fatal(err)
			}
			golden(t, o.name, buf.Bytes())
		})
	}
}

func TestPrefixWriter(t *testing.T) {
	tests := map[string]struct {
		writes []string
		want   string
	}{
		"whole lines":     {[]string{"a\nb\n"}, "x: a\nx: b\n"},
		"split line":      {[]string{"hel", "lo\nwor", "ld\n"}, "x: hello\nx: world\n"},
		"crlf":            {[]string{"a\r", "\nb\r\n"}, "x: a\nx: b\n"},
		"carriage return": {[]string{"10%\r20%\rdone\n"}, "x: 10%\rx: 20%\rx: done\n"},
		"unterminated":    {[]string{"tail"}, "x: tail\n"},
		"empty lines":     {[]string{"\n\n"}, "x: \nx: \n"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			var buf bytes.Buffer
			pw := NewPrefixWriter(&buf, "x: ")
			for _, w := range tc.writes {
				if n, err := pw.Write([]byte(w)); err != nil || n != len(w) {
					t.Fatalf("Write = %d, %v", n, err)
				}
			}
			if err := pw.Flush(); err != nil {
				t.Fatal(err)
			}
			if buf.String() != tc.want {
				t.Errorf("got %q, want %q", buf.String(), tc.want)
			}
		})
	}
}

// TestPrefixWriterConcurrent checks that lines of writers sharing one
// SyncWriter never interleave.
func TestPrefixWriterConcurrent(t *testing.T) {
	var buf bytes.Buffer
	sw := NewSyncWriter(&buf)
	done := make(chan struct{})
	for _, name := range []string{"a", "b", "c", "d"} {
		go func() {
			defer func() { done <- struct{}{} }()
			pw := NewPrefixWriter(sw, name+": ")
			for i := 0; i < 200; i++ {
				pw.Write([]byte("part one "))
				pw.Write([]byte("part two\n"))
			}
		}()
	}
	for range 4 {
		<-done
	}
	lines := strings.Split(strings.TrimSuffix(buf.String(), "\n"), "\n")
	if len(lines) != 800 {
		t.Fatalf("got %d lines, want 800", len(lines))
	}
	for _, l := range lines {
		if len(l) != len("a: part one part two") || !strings.HasSuffix(l, ": part one part two") {
			t.Fatalf("interleaved line %q", l)
		}
	}
}

func TestStateGolden(t *testing.T) {
	st := state.New()
	st.Set(&state.Resource{
		Address: "docker_image.comfyui", Mode: state.ModeManaged, Type: "docker_image", Name: "comfyui", Provider: "docker",
		Value: image(cty.StringVal("sha256:3f1c"), "fp8", "runpod/steadydancer:fp8"),
	})
	// A secret stored redacted: shown as "(sensitive value)" where the
	// state records its path; as stored in a state from before sdform
	// recorded paths (SensitivePaths nil).
	withToken := func(v cty.Value) cty.Value {
		m := v.AsValueMap()
		m["secrets"] = cty.MapVal(map[string]cty.Value{"hf_token": cty.StringVal("sha256:hmac-token")})
		return cty.ObjectVal(m)
	}
	st.Set(&state.Resource{
		Address: "docker_image.secret", Mode: state.ModeManaged, Type: "docker_image", Name: "secret", Provider: "docker",
		Value:          withToken(image(cty.StringVal("sha256:5e5e"), "fp8", "secret:1")),
		SensitivePaths: []cty.Path{cty.GetAttrPath("secrets").Index(cty.StringVal("hf_token"))},
	})
	st.Set(&state.Resource{
		Address: "docker_image.older", Mode: state.ModeManaged, Type: "docker_image", Name: "older", Provider: "docker",
		Value: withToken(image(cty.StringVal("sha256:01d0"), "fp8", "older:1")),
	})
	st.Set(&state.Resource{
		Address: "data.gpu_host.local", Mode: state.ModeData, Type: "gpu_host", Name: "local", Provider: "gpu",
		Value: obj(map[string]cty.Value{"driver": cty.StringVal("550.54"), "cuda": cty.StringVal("12.4"), "devices": cty.ListValEmpty(cty.String)}),
	})
	st.Outputs = map[string]*state.Output{
		"image": {Value: cty.StringVal("sha256:3f1c")},
		"token": {Value: cty.StringVal("sha256:hmac"), Sensitive: true},
	}
	var buf bytes.Buffer
	if err := State(&buf, st, Options{}); err != nil {
		t.Fatal(err)
	}
	golden(t, "state", buf.Bytes())
	if !strings.Contains(buf.String(), "secrets = { hf_token = (sensitive value) }") {
		t.Error("a recorded sensitive attribute was not hidden")
	}
	if n := strings.Count(buf.String(), "sha256:hmac-token"); n != 1 {
		t.Errorf("the redacted secret printed %d times, want once (only for the state that records no paths)", n)
	}

	buf.Reset()
	if err := State(&buf, state.New(), Options{}); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(buf.String(), "state is empty") {
		t.Errorf("empty state printed %q", buf.String())
	}
}

func TestApplyJSONGolden(t *testing.T) {
	p := examplePlan()
	files, diags := sampleDiagnostics(t)
	var buf bytes.Buffer
	a := NewApplyJSON(&buf, p)
	a.now = func() time.Time { return time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC) }
	if err := a.Plan(p); err != nil {
		t.Fatal(err)
	}
	a.Start("docker_image.comfyui", plan.Replace)
	w := a.Writer("docker_image.comfyui")
	w.Write([]byte("#1 [internal] load build definition\n#2 DONE"))
	w.Flush()
	a.Done("docker_image.comfyui", plan.Replace, "sha256:abcd", nil, 3*time.Second)
	a.Start("docker_image.retag", plan.Update)
	a.Done("docker_image.retag", plan.Update, "sha256:7a7a", nil, 20*time.Millisecond)
	a.Start("docker_image_test.imports", plan.Replace)
	a.Done("docker_image_test.imports", plan.Replace, "", errors.New("exit code 1\nTraceback"), time.Second)
	a.Skip("example_thing.meta", "depends on docker_image_test.imports, which failed")
	a.Summary(ApplyResult{
		Succeeded: []string{"docker_image.comfyui"}, Failed: []string{"docker_image_test.imports"}, Skipped: []string{"example_thing.meta"},
		Errors:     map[string]error{"docker_image_test.imports": errors.New("exit code 1\nTraceback")},
		Promotions: []Promotion{{Address: "docker_image.comfyui", Failed: []string{"docker_image_test.imports"}}},
	})
	a.Checks(p.Checks)
	if err := a.Outputs(p.Outputs); err != nil {
		t.Fatal(err)
	}
	a.Diagnostics(diags[:2], files)
	out := buf.String()
	if strings.Contains(out, "hf_SECRET") {
		t.Fatal("a sensitive value was printed")
	}
	for i, line := range strings.Split(strings.TrimSuffix(out, "\n"), "\n") {
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatalf("line %d is not one JSON object: %v\n%s", i+1, err, line)
		}
		for _, k := range []string{"@level", "@message", "@timestamp", "type"} {
			if _, ok := m[k]; !ok {
				t.Errorf("line %d lacks %q: %s", i+1, k, line)
			}
		}
	}
	golden(t, "apply-json", buf.Bytes())
}
