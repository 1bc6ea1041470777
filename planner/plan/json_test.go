package plan

import (
	"bytes"
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/sdform/sdform/lang"
	"github.com/zclconf/go-cty/cty"
)

func TestTypedValueRoundTrip(t *testing.T) {
	obj := cty.ObjectVal(map[string]cty.Value{
		"id":   cty.UnknownVal(cty.String).Refine().NotNull().StringPrefixFull("sha256:").NewValue(),
		"tags": cty.ListVal([]cty.Value{cty.StringVal("a"), cty.UnknownVal(cty.String)}),
		"args": cty.MapVal(map[string]cty.Value{"X": cty.StringVal("1"), "Y-z": cty.StringVal("")}),
		"size": cty.NullVal(cty.Number),
	})
	tests := map[string]cty.Value{
		"string":          cty.StringVal("héllo\n\"quoted\""),
		"empty string":    cty.StringVal(""),
		"number int":      cty.NumberIntVal(-42),
		"number big":      cty.MustParseNumberVal("123456789012345678901234567890.000000000000000001"),
		"number fraction": cty.NumberFloatVal(0.1),
		"infinity":        cty.PositiveInfinity,
		"neg infinity":    cty.NegativeInfinity,
		"bool":            cty.True,
		"null string":     cty.NullVal(cty.String),
		"null object":     cty.NullVal(obj.Type()),
		"unknown":         cty.UnknownVal(cty.String),
		"dynamic unknown": cty.DynamicVal,
		"refined number":  cty.UnknownVal(cty.Number).Refine().NumberRangeLowerBound(cty.NumberIntVal(0), true).NumberRangeUpperBound(cty.NumberIntVal(10), false).NewValue(),
		"refined list":    cty.UnknownVal(cty.List(cty.String)).Refine().NotNull().CollectionLengthLowerBound(1).CollectionLengthUpperBound(3).NewValue(),
		"object":          obj,
		"empty object":    cty.EmptyObjectVal,
		"empty list":      cty.ListValEmpty(cty.String),
		"empty set":       cty.SetValEmpty(cty.Number),
		"empty map":       cty.MapValEmpty(cty.Bool),
		"tuple":           cty.TupleVal([]cty.Value{cty.StringVal("a"), cty.NumberIntVal(1), cty.DynamicVal}),
		"empty tuple":     cty.EmptyTupleVal,
		"set with unknowns": cty.SetVal([]cty.Value{
			cty.StringVal("a"), cty.UnknownVal(cty.String), cty.UnknownVal(cty.String),
		}),
		"set of objects": cty.SetVal([]cty.Value{
			cty.ObjectVal(map[string]cty.Value{"a": cty.StringVal("x"), "b": cty.NullVal(cty.Bool)}),
			cty.ObjectVal(map[string]cty.Value{"a": cty.StringVal("y"), "b": cty.True}),
		}),
		"dynamic attribute": cty.ObjectVal(map[string]cty.Value{"d": cty.DynamicVal, "n": cty.NullVal(cty.DynamicPseudoType)}),
		"sensitive leaf": cty.ObjectVal(map[string]cty.Value{
			"secrets": cty.MapVal(map[string]cty.Value{"hf_token": cty.StringVal("hf_abc").Mark(lang.SensitiveMark)}),
		}),
		"sensitive unknown":   cty.UnknownVal(cty.String).Mark(lang.SensitiveMark),
		"sensitive top":       obj.Mark(lang.SensitiveMark),
		"sensitive set":       cty.SetVal([]cty.Value{cty.StringVal("a").Mark(lang.SensitiveMark), cty.StringVal("b")}),
		"sensitive list elem": cty.ListVal([]cty.Value{cty.StringVal("a"), cty.StringVal("b").Mark(lang.SensitiveMark)}),
		"nested list":         cty.ListVal([]cty.Value{cty.ListVal([]cty.Value{cty.NumberIntVal(1)}), cty.ListValEmpty(cty.Number)}),
	}
	for name, v := range tests {
		t.Run(name, func(t *testing.T) {
			tv, err := encodeTyped(v)
			if err != nil {
				t.Fatalf("encode: %v", err)
			}
			// Through real JSON bytes, as a saved plan travels.
			buf, err := json.Marshal(tv)
			if err != nil {
				t.Fatalf("marshal: %v", err)
			}
			var back typedValue
			dec := json.NewDecoder(bytes.NewReader(buf))
			dec.UseNumber()
			if err := dec.Decode(&back); err != nil {
				t.Fatalf("unmarshal: %v", err)
			}
			got, err := back.decode()
			if err != nil {
				t.Fatalf("decode %s: %v", buf, err)
			}
			if !got.RawEquals(v) {
				t.Errorf("round trip changed the value\n got: %#v\nwant: %#v\njson: %s", got, v, buf)
			}
		})
	}
}

func TestNilValueRoundTrip(t *testing.T) {
	tv, err := encodeTyped(cty.NilVal)
	if err != nil || tv != nil {
		t.Fatalf("encodeTyped(NilVal) = %v, %v; want nil, nil", tv, err)
	}
	got, err := tv.decode()
	if err != nil || got != cty.NilVal {
		t.Fatalf("decode(nil) = %#v, %v; want NilVal", got, err)
	}
}

func TestEncodeRejectsCapsules(t *testing.T) {
	type thing struct{}
	capsule := cty.CapsuleVal(cty.Capsule("thing", reflect.TypeOf(thing{})), &thing{})
	if _, err := encodeTyped(capsule); err == nil {
		t.Fatal("encoding a capsule value succeeded; want an error")
	}
}

func samplePlan() *Plan {
	secret := cty.StringVal("hf_secret").Mark(lang.SensitiveMark)
	return &Plan{
		FormatVersion: FormatVersion,
		SdformVersion: "0.1.0",
		CreatedAt:     time.Date(2026, 1, 2, 3, 4, 5, 6, time.UTC),
		Lineage:       "lin-1",
		Serial:        7,
		InputsDigest:  "sha256:abc",
		Options: Options{Refresh: true, Targets: []string{"docker_image.a"}, Excludes: []string{"x.y"},
			Replace: []string{"docker_image.a"}, Parallelism: 3},
		Variables: map[string]cty.Value{"variant": cty.StringVal("fp8"), "n": cty.NumberIntVal(2)},
		Changes: []*Change{{
			Address: "docker_image.a", Mode: "managed", Type: "docker_image", Name: "a", Provider: "docker",
			Action: Replace, Reason: "build arg X changed",
			ReplacePaths: []cty.Path{cty.GetAttrPath("args").Index(cty.StringVal("X")), cty.GetAttrPath("tags").Index(cty.NumberIntVal(0))},
			Before:       cty.ObjectVal(map[string]cty.Value{"id": cty.StringVal("sha256:1"), "secret": secret}),
			After:        cty.ObjectVal(map[string]cty.Value{"id": cty.UnknownVal(cty.String), "secret": secret}),
			Details:      []string{"steps: 1 cached, 2 to run"}, Verb: "build", Fingerprint: "fp",
			SensitivePaths: []cty.Path{cty.GetAttrPath("secret"), cty.GetAttrPath("s").Index(cty.StringVal("elem"))},
			Private:        []byte{0, 1, 2, 255, '\n'},
			Dependencies:   []string{"data.gpu_host.local"},
		}, {
			Address: "x_gone.b", Mode: "managed", Type: "x_gone", Name: "b", Provider: "x",
			Action: Forget, Reason: "removed from config", Before: cty.ObjectVal(map[string]cty.Value{"id": cty.StringVal("1")}),
			After: cty.NullVal(cty.Object(map[string]cty.Type{"id": cty.String})),
		}},
		Drift:   []*Drift{{Address: "docker_image.c", Reason: "deleted outside sdform", Before: cty.ObjectVal(map[string]cty.Value{"id": cty.StringVal("x")}), After: cty.NullVal(cty.DynamicPseudoType)}},
		Checks:  []*CheckResult{{Address: "check.size", Status: CheckFail, Messages: []string{"too big"}, Warning: true}},
		Outputs: []*Output{{Name: "image", Before: cty.NullVal(cty.String), After: cty.UnknownVal(cty.String)}, {Name: "tok", After: secret, Sensitive: true}},
	}
}

func TestPlanRoundTrip(t *testing.T) {
	p := samplePlan()
	data, err := Marshal(p)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(data, []byte("hf_secret")) == false {
		// The saved plan must keep the value (apply needs it); it is the
		// planner's job to have redacted what must not be written.
		t.Fatal("saved plan lost a sensitive value that apply needs")
	}
	got, err := Unmarshal(data)
	if err != nil {
		t.Fatal(err)
	}
	if got.FormatVersion != p.FormatVersion || got.SdformVersion != p.SdformVersion || !got.CreatedAt.Equal(p.CreatedAt) ||
		got.Lineage != p.Lineage || got.Serial != p.Serial || got.InputsDigest != p.InputsDigest {
		t.Errorf("header changed: %+v", got)
	}
	if strings.Join(got.Options.Targets, ",") != "docker_image.a" || got.Options.Parallelism != 3 || !got.Options.Refresh ||
		strings.Join(got.Options.Excludes, ",") != "x.y" || strings.Join(got.Options.Replace, ",") != "docker_image.a" {
		t.Errorf("options changed: %+v", got.Options)
	}
	for name, v := range p.Variables {
		if !got.Variables[name].RawEquals(v) {
			t.Errorf("variable %s = %#v, want %#v", name, got.Variables[name], v)
		}
	}
	if len(got.Changes) != len(p.Changes) {
		t.Fatalf("got %d changes, want %d", len(got.Changes), len(p.Changes))
	}
	for i, want := range p.Changes {
		c := got.Changes[i]
		if c.Address != want.Address || c.Action != want.Action || c.Reason != want.Reason || c.Verb != want.Verb ||
			c.Mode != want.Mode || c.Type != want.Type || c.Name != want.Name || c.Provider != want.Provider ||
			c.Fingerprint != want.Fingerprint || !bytes.Equal(c.Private, want.Private) ||
			strings.Join(c.Details, "|") != strings.Join(want.Details, "|") ||
			strings.Join(c.Dependencies, "|") != strings.Join(want.Dependencies, "|") {
			t.Errorf("change %d fields differ:\n got %+v\nwant %+v", i, c, want)
		}
		if !c.Before.RawEquals(want.Before) || !c.After.RawEquals(want.After) {
			t.Errorf("change %d values differ:\n got %#v -> %#v\nwant %#v -> %#v", i, c.Before, c.After, want.Before, want.After)
		}
		if !pathsEqual(c.ReplacePaths, want.ReplacePaths) || !pathsEqual(c.SensitivePaths, want.SensitivePaths) {
			t.Errorf("change %d paths differ: %#v %#v", i, c.ReplacePaths, c.SensitivePaths)
		}
	}
	if len(got.Drift) != 1 || !got.Drift[0].After.RawEquals(p.Drift[0].After) || got.Drift[0].Reason != p.Drift[0].Reason {
		t.Errorf("drift changed: %+v", got.Drift)
	}
	if len(got.Checks) != 1 || got.Checks[0].Address != "check.size" || got.Checks[0].Status != CheckFail || !got.Checks[0].Warning ||
		len(got.Checks[0].Messages) != 1 || got.Checks[0].Messages[0] != "too big" {
		t.Errorf("checks changed: %+v", got.Checks)
	}
	if len(got.Outputs) != 2 || !got.Outputs[0].After.RawEquals(p.Outputs[0].After) || !got.Outputs[1].After.RawEquals(p.Outputs[1].After) ||
		!got.Outputs[1].Sensitive || got.Outputs[1].Before != cty.NilVal {
		t.Errorf("outputs changed: %+v", got.Outputs)
	}
	// Idempotent: a second marshal gives the same bytes.
	again, err := Marshal(got)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(again, data) {
		t.Errorf("marshal(unmarshal(x)) != x:\n%s\n---\n%s", again, data)
	}
}

func pathsEqual(a, b []cty.Path) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if !a[i].Equals(b[i]) {
			return false
		}
	}
	return true
}

func TestUnmarshalRefuses(t *testing.T) {
	good, err := Marshal(samplePlan())
	if err != nil {
		t.Fatal(err)
	}
	tests := map[string]struct {
		data    string
		wantErr string // empty: must succeed
	}{
		"not json":       {data: "\x00\x01binary", wantErr: "not an sdform saved plan"},
		"state file":     {data: `{"version":1,"serial":3,"lineage":"x","resources":[]}`, wantErr: "not an sdform saved plan"},
		"json view":      {data: `{"format_version":"1.0","resource_changes":[]}`, wantErr: "not an sdform saved plan"},
		"newer major":    {data: strings.Replace(string(good), `"format_version": "1.1"`, `"format_version": "2.0"`, 1), wantErr: `format version "2.0"`},
		"newer minor":    {data: strings.Replace(string(good), `"format_version": "1.1"`, `"format_version": "1.7"`, 1)},
		"bad action":     {data: strings.Replace(string(good), `"action": "replace"`, `"action": "explode"`, 1), wantErr: `unknown action "explode"`},
		"bad value type": {data: strings.Replace(string(good), `"id": "sha256:1"`, `"id": 12`, 1), wantErr: "expected a string"},
		"inconsistent refinement": {
			data: strings.Replace(string(good), `"path": [
              "id"
            ]`, `"path": ["id"], "number_lower": {"value": 1, "inclusive": true}`, 1),
			wantErr: "not a number",
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			if tc.data == string(good) {
				t.Fatal("test edit did not apply; fix the test")
			}
			_, err := Unmarshal([]byte(tc.data))
			switch {
			case tc.wantErr == "" && err != nil:
				t.Fatalf("Unmarshal: %v", err)
			case tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)):
				t.Fatalf("Unmarshal error = %v, want one containing %q", err, tc.wantErr)
			}
		})
	}
}

func TestJSONView(t *testing.T) {
	p := samplePlan()
	data, err := MarshalJSONView(p)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(data, []byte("hf_secret")) {
		t.Fatalf("JSON view printed a sensitive value: %s", data)
	}
	var doc struct {
		FormatVersion   string `json:"format_version"`
		ResourceChanges []struct {
			Address, Action string
			ReplacePaths    [][]any        `json:"replace_paths"`
			Before          map[string]any `json:"before"`
			AfterV          map[string]any `json:"after"`
			AfterUnknown    any            `json:"after_unknown"`
			AfterSensitive  any            `json:"after_sensitive"`
		} `json:"resource_changes"`
		ResourceDrift []struct{ Action string } `json:"resource_drift"`
		OutputChanges map[string]struct {
			Action string
			After  any
		} `json:"output_changes"`
		Summary     map[string]int `json:"summary"`
		Diagnostics []any          `json:"diagnostics"`
	}
	if err := json.Unmarshal(data, &doc); err != nil {
		t.Fatal(err)
	}
	if doc.FormatVersion != FormatVersion || doc.Diagnostics == nil {
		t.Errorf("format_version %q, diagnostics %v", doc.FormatVersion, doc.Diagnostics)
	}
	rc := doc.ResourceChanges[0]
	if rc.Action != "replace" || rc.AfterV["secret"] != SensitiveString || rc.AfterV["id"] != nil {
		t.Errorf("first change: %+v", rc)
	}
	if u, ok := rc.AfterUnknown.(map[string]any); !ok || u["id"] != true || len(u) != 1 {
		t.Errorf("after_unknown = %#v, want {id: true}", rc.AfterUnknown)
	}
	if s, ok := rc.AfterSensitive.(map[string]any); !ok || s["secret"] != true {
		t.Errorf("after_sensitive = %#v, want {secret: true}", rc.AfterSensitive)
	}
	if len(rc.ReplacePaths) != 2 || rc.ReplacePaths[0][0] != "args" || rc.ReplacePaths[0][1] != "X" || rc.ReplacePaths[1][1] != 0.0 {
		t.Errorf("replace_paths = %v", rc.ReplacePaths)
	}
	if doc.ResourceChanges[1].Action != "forget" || doc.ResourceDrift[0].Action != "delete" {
		t.Errorf("actions: %s, drift %s", doc.ResourceChanges[1].Action, doc.ResourceDrift[0].Action)
	}
	if doc.OutputChanges["image"].Action != "create" || doc.OutputChanges["tok"].After != SensitiveString {
		t.Errorf("outputs: %+v", doc.OutputChanges)
	}
	want := map[string]int{"build": 1, "forget": 1, "create": 0, "update": 0, "replace": 0, "delete": 0, "read": 0, "unchanged": 0}
	for k, n := range want {
		if doc.Summary[k] != n {
			t.Errorf("summary[%s] = %d, want %d (%v)", k, doc.Summary[k], n, doc.Summary)
		}
	}
}

func TestSummarize(t *testing.T) {
	p := &Plan{Changes: []*Change{
		{Action: Create, Verb: "build"}, {Action: Replace, Verb: "build"}, {Action: Update, Verb: "run"},
		{Action: Create}, {Action: Update}, {Action: Replace}, {Action: Delete, Verb: "build"},
		{Action: Forget}, {Action: Read}, {Action: NoOp}, {Action: NoOp, Verb: "download"},
		// An in-place update of a build type builds nothing: an update.
		{Action: Update, Verb: "build"},
	}}
	s := Summarize(p)
	if s.ByVerb["build"] != 2 || s.ByVerb["run"] != 1 || s.Create != 1 || s.Update != 2 || s.Replace != 1 ||
		s.Delete != 1 || s.Forget != 1 || s.Read != 1 || s.Unchanged != 2 {
		t.Errorf("Summarize = %+v", s)
	}
	if s.Changes() != 9 {
		t.Errorf("Changes() = %d, want 9", s.Changes())
	}
}

func TestOutputAction(t *testing.T) {
	tests := map[string]struct {
		o    Output
		want Action
	}{
		"new":            {Output{Before: cty.NilVal, After: cty.StringVal("a")}, Create},
		"new null":       {Output{Before: cty.NullVal(cty.String), After: cty.UnknownVal(cty.String)}, Create},
		"same":           {Output{Before: cty.StringVal("a"), After: cty.StringVal("a")}, NoOp},
		"changed":        {Output{Before: cty.StringVal("a"), After: cty.StringVal("b")}, Update},
		"unknown":        {Output{Before: cty.StringVal("a"), After: cty.UnknownVal(cty.String)}, Update},
		"removed":        {Output{Before: cty.StringVal("a"), After: cty.NullVal(cty.String)}, Delete},
		"both null":      {Output{}, NoOp},
		"sensitive same": {Output{Before: cty.StringVal("a").Mark(lang.SensitiveMark), After: cty.StringVal("a").Mark(lang.SensitiveMark)}, NoOp},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			if got := OutputAction(&tc.o); got != tc.want {
				t.Errorf("OutputAction = %v, want %v", got, tc.want)
			}
		})
	}
}

// TestDriftSensitivePaths checks that a drifted sensitive attribute (held
// redacted, as "sha256:<hmac>") stays marked: the saved plan keeps its
// paths, and the JSON view prints "(sensitive value)" and marks it.
func TestDriftSensitivePaths(t *testing.T) {
	obj := func(secret string) cty.Value {
		return cty.ObjectVal(map[string]cty.Value{"name": cty.StringVal("a"), "secret": cty.StringVal(secret)})
	}
	p := &Plan{
		FormatVersion: FormatVersion,
		Drift: []*Drift{{
			Address: "test_thing.a", Reason: "secret changed outside sdform",
			Before: obj("sha256:hmac-before"), After: obj("sha256:hmac-after"),
			SensitivePaths: []cty.Path{cty.GetAttrPath("secret")},
		}},
	}
	data, err := Marshal(p)
	if err != nil {
		t.Fatal(err)
	}
	back, err := Unmarshal(data)
	if err != nil {
		t.Fatal(err)
	}
	if len(back.Drift) != 1 || !pathsEqual(back.Drift[0].SensitivePaths, p.Drift[0].SensitivePaths) {
		t.Errorf("saved plan lost the drift's sensitive paths: %+v", back.Drift)
	}
	for name, pl := range map[string]*Plan{"plan": p, "saved plan": back} {
		view, err := MarshalJSONView(pl)
		if err != nil {
			t.Fatal(err)
		}
		if bytes.Contains(view, []byte("hmac")) {
			t.Errorf("%s: JSON view printed a redacted secret: %s", name, view)
		}
		var doc struct {
			ResourceDrift []struct {
				Before          map[string]any `json:"before"`
				After           map[string]any `json:"after"`
				BeforeSensitive any            `json:"before_sensitive"`
				AfterSensitive  any            `json:"after_sensitive"`
			} `json:"resource_drift"`
		}
		if err := json.Unmarshal(view, &doc); err != nil || len(doc.ResourceDrift) != 1 {
			t.Fatalf("%s: %v\n%s", name, err, view)
		}
		d := doc.ResourceDrift[0]
		if d.Before["secret"] != SensitiveString || d.After["secret"] != SensitiveString || d.Before["name"] != "a" {
			t.Errorf("%s: drift values = %v -> %v", name, d.Before, d.After)
		}
		for side, m := range map[string]any{"before_sensitive": d.BeforeSensitive, "after_sensitive": d.AfterSensitive} {
			if s, ok := m.(map[string]any); !ok || s["secret"] != true || len(s) != 1 {
				t.Errorf("%s: %s = %#v, want {secret: true}", name, side, m)
			}
		}
	}
}
