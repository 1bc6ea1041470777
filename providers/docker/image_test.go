package docker

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/sdform/sdform/lang"
	"github.com/sdform/sdform/providers"
	"github.com/sdform/sdform/providers/docker/dockerfile"
	"github.com/zclconf/go-cty/cty"
)

func imageValue(given map[string]cty.Value) cty.Value {
	return objectOf(imageSchema(), given)
}

func TestDecodeImage(t *testing.T) {
	for name, tc := range map[string]struct {
		attrs map[string]cty.Value
		check func(t *testing.T, c *imageConfig)
		errs  []string
	}{
		"defaults": {
			check: func(t *testing.T, c *imageConfig) {
				if c.ContextDir != "/cfg" || c.Dockerfile != "/cfg/Dockerfile" || c.FallbackArgs != nil || c.Timeout != 0 {
					t.Errorf("got %+v", c)
				}
			},
		},
		"paths relative to the configuration": {
			attrs: map[string]cty.Value{"context": cty.StringVal("docker"), "contexts": cty.MapVal(map[string]cty.Value{"w": cty.StringVal("../weights")})},
			check: func(t *testing.T, c *imageConfig) {
				if c.ContextDir != "/cfg/docker" || c.Dockerfile != "/cfg/docker/Dockerfile" || c.Contexts["w"] != "/weights" {
					t.Errorf("got %+v", c)
				}
			},
		},
		"dockerfile beside the configuration": {
			attrs: map[string]cty.Value{"context": cty.StringVal("docker"), "dockerfile": cty.StringVal("build/Dockerfile.gpu")},
			check: func(t *testing.T, c *imageConfig) {
				if c.Dockerfile != "/cfg/build/Dockerfile.gpu" || c.DockerfileRel != "build/Dockerfile.gpu" {
					t.Errorf("got %+v", c)
				}
			},
		},
		"sizes, durations and fallback": {
			attrs: map[string]cty.Value{"max_size": cty.StringVal("50GB"), "timeout": cty.StringVal("1h30m"),
				"fallback": cty.ObjectVal(map[string]cty.Value{"args": cty.MapVal(map[string]cty.Value{"X": cty.StringVal("false")})})},
			check: func(t *testing.T, c *imageConfig) {
				if c.MaxSize != 50_000_000_000 || c.MaxSizeText != "50GB" || c.Timeout != 90*time.Minute || c.FallbackArgs["X"] != "false" {
					t.Errorf("got %+v", c)
				}
			},
		},
		"bad size and duration": {
			attrs: map[string]cty.Value{"max_size": cty.StringVal("big"), "timeout": cty.StringVal("soon")},
			errs:  []string{"timeout", "max_size"},
		},
		// BuildKit mounts any secret id but "", which a Dockerfile cannot
		// name (id= empty falls back to the target's base name) and its
		// solver refuses ("secret ID missing from mount options").
		"empty secret id": {
			attrs: map[string]cty.Value{"secrets": cty.MapVal(map[string]cty.Value{"": cty.StringVal("x"), "ok": cty.StringVal("y")})},
			errs:  []string{`secrets has an entry with an empty id ("")`},
		},
		"empty secret id, value unknown": {
			attrs: map[string]cty.Value{"secrets": cty.MapVal(map[string]cty.Value{"": cty.UnknownVal(cty.String)})},
			errs:  []string{"empty id"},
		},
		"empty secret id, value null": {
			attrs: map[string]cty.Value{"secrets": cty.MapVal(map[string]cty.Value{"": cty.NullVal(cty.String)})},
			errs:  []string{"empty id"},
		},
		// A Dockerfile mounts it as RUN --mount=type=secret,"id=bad id!"
		// (TestIntegrationSecrets builds one).
		"secret id with a space and punctuation": {
			attrs: map[string]cty.Value{"secrets": cty.MapVal(map[string]cty.Value{"bad id!": cty.StringVal("x"), "a/b": cty.StringVal("y")})},
		},
		"secret passed as a build arg": {
			attrs: map[string]cty.Value{"args": cty.MapVal(map[string]cty.Value{"hf_token": cty.StringVal("x")}), "secrets": cty.MapVal(map[string]cty.Value{"hf_token": cty.StringVal("x")})},
			errs:  []string{"Secret passed as a build argument"},
		},
	} {
		t.Run(name, func(t *testing.T) {
			c, diags := decodeImage(imageValue(tc.attrs), "/cfg")
			errs := onlyErrors(diags)
			if len(errs) != len(tc.errs) {
				t.Fatalf("errors = %v, want %q", errs, tc.errs)
			}
			for i, want := range tc.errs {
				if !strings.Contains(errs[i].Summary+errs[i].Detail, want) && !strings.Contains(errs[i].Attribute[0].(cty.GetAttrStep).Name, want) {
					t.Errorf("error %d = %v, want %q", i, errs[i], want)
				}
			}
			if tc.check != nil {
				tc.check(t, c)
			}
		})
	}
}

func TestPlannedValue(t *testing.T) {
	secret := cty.MapVal(map[string]cty.Value{"tok": cty.StringVal("s3cret")}).Mark(lang.SensitiveMark)
	config := imageValue(map[string]cty.Value{"secrets": secret, "tags": strs("a:b")})
	prior := imageValue(map[string]cty.Value{"id": cty.StringVal("sha256:aa"), "size": cty.NumberIntVal(5), "tags": strs("a:b")})

	built := plannedValue(config, cty.NullVal(config.Type()))
	if built.GetAttr("id").IsKnown() || built.GetAttr("steps").IsKnown() {
		t.Errorf("computed attributes of a build must be unknown: %#v", built)
	}
	if !built.GetAttr("secrets").HasMark(lang.SensitiveMark) {
		t.Errorf("the secrets' mark was lost")
	}
	kept := plannedValue(config, prior)
	if kept.GetAttr("id").AsString() != "sha256:aa" || !kept.GetAttr("size").RawEquals(cty.NumberIntVal(5)) {
		t.Errorf("computed attributes not taken from prior: %#v", kept)
	}
}

func TestDecide(t *testing.T) {
	cfg := &imageConfig{Args: map[string]string{"V": "fp16"}, Tags: []string{"r:t"}}
	prior := imageValue(map[string]cty.Value{"id": cty.StringVal("sha256:aa"), "args": cty.MapVal(map[string]cty.Value{"V": cty.StringVal("fp8")})})
	same := &prediction{Fingerprint: "sha256:f1"}
	pushedNoTags := imageValue(map[string]cty.Value{"id": cty.StringVal("sha256:aa"), "push": cty.True, "args": cty.MapVal(map[string]cty.Value{"V": cty.StringVal("fp8")})})
	other := &prediction{Fingerprint: "sha256:f2", FirstChange: "Dockerfile:3 COPY a /a", FirstReason: "files changed: a"}
	for name, tc := range map[string]struct {
		prior   cty.Value
		priv    imagePrivate
		cfg     *imageConfig
		pred    *prediction
		rebuild bool
		reason  string
	}{
		"create":            {prior: cty.NullVal(prior.Type()), pred: same, rebuild: true},
		"unchanged":         {prior: prior, priv: imagePrivate{Fingerprint: "sha256:f1", Promoted: true}, cfg: &imageConfig{Args: map[string]string{"V": "fp8"}, Tags: []string{"r:t"}}, pred: same},
		"no record":         {prior: prior, pred: same, rebuild: true, reason: "no build record in state"},
		"promotion pending": {prior: prior, priv: imagePrivate{Fingerprint: "sha256:f1"}, pred: same, rebuild: true, reason: "never promoted"},
		"arg changed":       {prior: prior, priv: imagePrivate{Fingerprint: "sha256:f1", Promoted: true}, pred: other, rebuild: true, reason: "build arg V changed"},
		"file changed": {prior: prior, priv: imagePrivate{Fingerprint: "sha256:f1", Promoted: true}, pred: other, rebuild: true,
			cfg: &imageConfig{Args: map[string]string{"V": "fp8"}}, reason: "files changed: a (Dockerfile:3 COPY a /a)"},
		"push enabled": {prior: prior, priv: imagePrivate{Fingerprint: "sha256:f1", Promoted: true}, pred: same, rebuild: true,
			cfg: &imageConfig{Args: map[string]string{"V": "fp8"}, Push: true}, reason: "push enabled"},
		// A build without tags pushed nothing: adding tags must push, which
		// an update cannot do.
		"pushed image built without tags gets tags": {prior: pushedNoTags, priv: imagePrivate{Fingerprint: "sha256:f1", Promoted: true}, pred: same, rebuild: true,
			cfg: &imageConfig{Args: map[string]string{"V": "fp8"}, Push: true, Tags: []string{"r:t"}}, reason: "never pushed"},
		// BuildKit fetches a URL without a checksum at every build: equal
		// inputs say nothing about its content, so it is never a no-op.
		"ADD of a URL without a checksum": {prior: prior, priv: imagePrivate{Fingerprint: "sha256:f1", Promoted: true}, rebuild: true,
			cfg:  &imageConfig{Args: map[string]string{"V": "fp8"}, Tags: []string{"r:t"}},
			pred: &prediction{Fingerprint: "sha256:f1", Steps: &dockerfile.Prediction{Unpinned: []string{"example.com/m.bin"}}}, reason: "ADD example.com/m.bin without --checksum"},
	} {
		t.Run(name, func(t *testing.T) {
			c := tc.cfg
			if c == nil {
				c = cfg
			}
			rebuild, reason := decide(tc.prior, &tc.priv, c, tc.pred)
			if rebuild != tc.rebuild || !strings.Contains(reason, tc.reason) {
				t.Errorf("decide = %v %q, want %v %q", rebuild, reason, tc.rebuild, tc.reason)
			}
		})
	}
}

func TestPrivateRoundTrip(t *testing.T) {
	p := &imagePrivate{Version: privateVersion, Fingerprint: "sha256:f", Promoted: true, Applied: map[string]string{"r:t": "sha256:1"}}
	for i := 0; i < maxHistory+5; i++ {
		p.remember(time.Unix(int64(i), 0), []string{"k" + string(rune('a'+i%26))})
	}
	if len(p.History) != maxHistory || p.History[0].Time.Unix() != 5 {
		t.Errorf("history kept %d builds from %v, want the last %d", len(p.History), p.History[0].Time, maxHistory)
	}
	back, err := decodePrivate(p.encode())
	if err != nil || back.Fingerprint != p.Fingerprint || back.Applied["r:t"] != "sha256:1" || len(back.History) != maxHistory {
		t.Errorf("round trip: %+v, %v", back, err)
	}
	if h := back.history(); len(h) == 0 {
		t.Errorf("history() is empty")
	}
	old, err := decodePrivate([]byte(`{"v":0,"fingerprint":"x"}`))
	if err != nil || old.Fingerprint != "" {
		t.Errorf("an older record must read as empty: %+v %v", old, err)
	}
	if _, err := decodePrivate([]byte("{")); err == nil {
		t.Errorf("corrupt record read without error")
	}
}

func TestFactsComputed(t *testing.T) {
	f := &imageFacts{ID: "sha256:1", Size: 42, SizeKnown: true, Env: []string{"PATH=/bin", "CUDA_VERSION=12.4.1", "EMPTY="},
		Ports: []string{"8188/tcp", "22/tcp"}, Created: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)}
	c := f.computed()
	if c["cuda_version"].AsString() != "12.4.1" || c["env"].Index(cty.StringVal("EMPTY")).AsString() != "" {
		t.Errorf("env/cuda: %#v %#v", c["env"], c["cuda_version"])
	}
	if got := c["exposed_ports"]; !got.RawEquals(strs("22/tcp", "8188/tcp")) {
		t.Errorf("ports = %#v", got)
	}
	if c["created"].AsString() != "2026-01-02T03:04:05Z" || !c["digest"].IsNull() || !c["size"].RawEquals(cty.NumberIntVal(42)) {
		t.Errorf("created/digest/size: %#v %#v %#v", c["created"], c["digest"], c["size"])
	}
	if v := (&imageFacts{ID: "sha256:1"}).computed(); !v["size"].IsNull() || !v["cuda_version"].IsNull() {
		t.Errorf("unknown size must be null: %#v", v["size"])
	}
}

func TestFormatSize(t *testing.T) {
	for n, want := range map[int64]string{0: "0 B", 999: "999 B", 1000: "1.0 kB", 61_234_000_000: "61.2 GB", 2_100_000: "2.1 MB"} {
		if got := formatSize(n); got != want {
			t.Errorf("formatSize(%d) = %q, want %q", n, got, want)
		}
	}
}

func TestValidateOffline(t *testing.T) {
	h := newHarness(t, nil, map[string]string{
		"Dockerfile": "FROM busybox\nARG USED\nRUN echo $USED\nCOPY missing.txt /m\n",
	})
	resp := h.p.ValidateResource(t.Context(), providers.ValidateRequest{TypeName: "docker_image",
		Config: h.image(map[string]cty.Value{"args": strMap("UNDECLARED", "1"), "tags": strs("bad@sha256:00")})})
	text := ""
	for _, d := range resp.Diagnostics {
		text += d.Summary + ": " + d.Detail + "\n"
	}
	for _, want := range []string{"Invalid tag", "UNDECLARED", "missing.txt"} {
		if !strings.Contains(text, want) {
			t.Errorf("validate diagnostics lack %q:\n%s", want, text)
		}
	}
	if h.p.conn != nil || h.p.dialed {
		t.Errorf("validate dialled the builder")
	}
}

func TestCapabilityDiags(t *testing.T) {
	old := &builder{engineStore: true, cfg: config{dockerHost: "unix:///d.sock"}}
	modern := &builder{engineStore: true, caps: capabilities{infoAPI: true}}
	standalone := &builder{caps: capabilities{infoAPI: true}}
	syntax := &prediction{Syntax: "docker/dockerfile:1.7", SyntaxLine: 1}
	heredoc := []dockerfile.SyntaxUse{{Line: 3, What: "heredoc <<EOF"}}
	for name, tc := range map[string]struct {
		b    *builder
		cfg  *imageConfig
		pred *prediction
		want []string // "error: summary" / "warning: summary"
	}{
		"named contexts on the old built-in": {b: old, cfg: &imageConfig{Contexts: map[string]string{"w": "/w"}}, pred: &prediction{},
			want: []string{"error: Named contexts unsupported by this builder"}},
		"named contexts on a modern engine": {b: modern, cfg: &imageConfig{Contexts: map[string]string{"w": "/w"}}, pred: &prediction{}},
		"cache_to through the Engine": {b: modern, cfg: &imageConfig{CacheTo: []string{"r/c:c"}}, pred: &prediction{},
			want: []string{"error: Registry cache export unsupported by this builder"}},
		"cache_to on a standalone": {b: standalone, cfg: &imageConfig{CacheTo: []string{"r/c:c"}}, pred: &prediction{}},
		"syntax line, old built-in": {b: old, cfg: &imageConfig{}, pred: syntax,
			want: []string{"warning: # syntax= with an old built-in BuildKit"}},
		"syntax line, standalone": {b: standalone, cfg: &imageConfig{}, pred: syntax},
		"push without tags":       {b: standalone, cfg: &imageConfig{Push: true}, pred: &prediction{}, want: []string{"warning: Nothing to push"}},
		// The old built-in frontend fails to parse a heredoc; with a
		// syntax line the Engine pulls a frontend that can.
		"heredoc, old built-in": {b: old, cfg: &imageConfig{}, pred: &prediction{After12: heredoc},
			want: []string{"error: Dockerfile syntax unsupported by this builder"}},
		"heredoc and a syntax line, old built-in": {b: old, cfg: &imageConfig{}, pred: &prediction{Syntax: "docker/dockerfile:1", SyntaxLine: 1, After12: heredoc},
			want: []string{"warning: # syntax= with an old built-in BuildKit"}},
		"heredoc, modern engine": {b: modern, cfg: &imageConfig{}, pred: &prediction{After12: heredoc}},
	} {
		t.Run(name, func(t *testing.T) {
			var got []string
			for _, d := range capabilityDiags(tc.b, tc.cfg, tc.pred, "/cfg") {
				sev := "error"
				if d.Severity == providers.Warning {
					sev = "warning"
				}
				got = append(got, sev+": "+d.Summary)
			}
			if strings.Join(got, "|") != strings.Join(tc.want, "|") {
				t.Errorf("diagnostics = %q, want %q", got, tc.want)
			}
		})
	}
}

// Validate evaluates variables as unknown. The Dockerfile checks still run
// when the file and context are known: by name for args and secrets whose
// values are not, and skipping only what needs the values.
func TestValidateUnknownValues(t *testing.T) {
	unknown := cty.UnknownVal(cty.String)
	const good = "FROM busybox\nARG USED\nRUN echo $USED\n"
	tests := map[string]struct {
		dockerfile string
		given      map[string]cty.Value
		// want are "Summary@file:line" (line 0: on an attribute) the
		// diagnostics must include; not are summaries they must not.
		want []string
		not  []string
		// fails: validate must report an error.
		fails bool
	}{
		"syntax error with an unknown arg value": {
			dockerfile: "FROM busybox\nARG USED\nRUN echo $USED\nFROMX nope\n",
			given:      map[string]cty.Value{"args": cty.MapVal(map[string]cty.Value{"USED": unknown})},
			want:       []string{"Dockerfile error@Dockerfile:4"},
			fails:      true,
		},
		"undeclared arg with an unknown value": {
			dockerfile: good,
			given:      map[string]cty.Value{"args": cty.MapVal(map[string]cty.Value{"USED": unknown, "FLAVR": unknown})},
			want:       []string{"Undeclared build arg FLAVR@:0"},
			not:        []string{"ARG USED has no value"},
			fails:      true,
		},
		"lint finding beside a known arg": {
			dockerfile: "FROM busybox as base\nARG USED\nARG OTHER\nRUN echo $USED $OTHER\n",
			given:      map[string]cty.Value{"args": cty.MapVal(map[string]cty.Value{"USED": unknown, "OTHER": cty.StringVal("1")})},
			want:       []string{"The 'as' keyword should match the case of the 'from' keyword@Dockerfile:1"},
			not:        []string{"ARG USED has no value", "ARG OTHER has no value"},
		},
		"base image from an unknown arg": {
			dockerfile: "ARG BASE\nFROM ${BASE}\nRUN true\n",
			given:      map[string]cty.Value{"args": cty.MapVal(map[string]cty.Value{"BASE": unknown})},
			not:        []string{"Dockerfile error", "ARG BASE has no value"},
		},
		"whole args map unknown": {
			dockerfile: "FROM busybox\nARG USED\nMAINTAINER me\nRUN echo $USED\n",
			given:      map[string]cty.Value{"args": cty.UnknownVal(cty.Map(cty.String))},
			want:       []string{"The MAINTAINER instruction is deprecated, use a label instead to define an image author@Dockerfile:3"},
			not:        []string{"ARG USED has no value"},
		},
		"secret with an unknown value": {
			dockerfile: "FROM busybox\nRUN --mount=type=secret,id=tok,required=true true\nRUN --mount=type=secret,id=other,required=true true\n",
			given:      map[string]cty.Value{"secrets": cty.MapVal(map[string]cty.Value{"tok": unknown})},
			want:       []string{"Secret other not passed@Dockerfile:3"},
			not:        []string{"Secret tok not passed"},
			fails:      true,
		},
		"whole secrets map unknown": {
			dockerfile: "FROM busybox\nRUN --mount=type=secret,id=tok,required=true true\n",
			given:      map[string]cty.Value{"secrets": cty.UnknownVal(cty.Map(cty.String))},
			not:        []string{"Secret tok not passed"},
		},
		"secret and arg of one name, values unknown": {
			dockerfile: "FROM busybox\nARG tok\nRUN echo $tok\n",
			given: map[string]cty.Value{
				"args":    cty.MapVal(map[string]cty.Value{"tok": unknown}),
				"secrets": cty.MapVal(map[string]cty.Value{"tok": unknown}),
			},
			want:  []string{"Secret passed as a build argument@:0"},
			fails: true,
		},
		// Without the file, nothing is checked, not even a broken one.
		"dockerfile unknown": {
			dockerfile: "FROMX nope\n",
			given:      map[string]cty.Value{"dockerfile": unknown},
			not:        []string{"Dockerfile error", "Unreadable Dockerfile"},
		},
		"valid": {
			dockerfile: good,
			given:      map[string]cty.Value{"args": cty.MapVal(map[string]cty.Value{"USED": unknown})},
			not:        []string{"ARG USED has no value", "Dockerfile error", "Undeclared build arg USED"},
		},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			h := newHarness(t, nil, map[string]string{"Dockerfile": tt.dockerfile})
			given := map[string]cty.Value{"context": cty.StringVal(h.dir), "tags": strs("x/y:dev")}
			for k, v := range tt.given {
				given[k] = v
			}
			resp := h.p.ValidateResource(t.Context(), providers.ValidateRequest{TypeName: "docker_image", Config: h.image(given)})
			var got []string
			for _, d := range resp.Diagnostics {
				got = append(got, fmt.Sprintf("%s@%s:%d", d.Summary, d.File, d.Line))
				if slices.Contains(tt.not, d.Summary) {
					t.Errorf("validate reported %q: %s", d.Summary, d.Detail)
				}
			}
			for _, w := range tt.want {
				if !slices.Contains(got, w) {
					t.Errorf("diagnostics %q lack %q", got, w)
				}
			}
			if resp.Diagnostics.HasErrors() != tt.fails {
				t.Errorf("HasErrors = %v, want %v: %q", resp.Diagnostics.HasErrors(), tt.fails, got)
			}
			if h.p.dialed {
				t.Errorf("validate dialled the builder")
			}
		})
	}
}

// A build arg with a sensitive value is a warning naming a build secret
// instead; other sensitive attributes (secrets) are not.
func TestValidateSensitiveArgs(t *testing.T) {
	got := sensitiveArgs([]cty.Path{
		cty.GetAttrPath("args").IndexString("HF_TOKEN"),
		cty.GetAttrPath("fallback").GetAttr("args").IndexString("PASSWORD"),
		cty.GetAttrPath("secrets").IndexString("hf_token"),
		cty.GetAttrPath("args"),
	})
	var details []string
	for _, d := range got {
		if d.Severity != providers.Warning {
			t.Errorf("%s is not a warning", d.Summary)
		}
		details = append(details, d.Detail)
	}
	want := []string{
		"The build arg HF_TOKEN has a sensitive value, but build args are kept in the image (its history, and its config where an ENV repeats them) for anyone who can pull it. Pass it as a build secret instead: secrets = { hf_token = … } here, and RUN --mount=type=secret,id=hf_token in the Dockerfile.",
		"The build arg PASSWORD has a sensitive value",
		"The build args have a sensitive value",
	}
	if len(details) != len(want) {
		t.Fatalf("warnings = %q, want %d", details, len(want))
	}
	for i, w := range want {
		if !strings.HasPrefix(details[i], w) {
			t.Errorf("warning %d = %q, want it to start with %q", i, details[i], w)
		}
	}
}

// TestConfiguredTags: the tags rollback may move are those the
// configuration lists, spelled in full; the recorded ones when it is not
// given; none, with the reason, when it no longer declares the object or
// its tags are not known.
func TestConfiguredTags(t *testing.T) {
	st := imageValue(map[string]cty.Value{"tags": strs("r/a:1", "r/b:1")})
	tests := map[string]struct {
		config  cty.Value
		want    []string
		wantErr string
	}{
		"not given":    {config: cty.NilVal, want: []string{"docker.io/r/a:1", "docker.io/r/b:1"}},
		"listed":       {config: imageValue(map[string]cty.Value{"tags": strs("docker.io/r/b:1", "r/c")}), want: []string{"docker.io/r/b:1", "docker.io/r/c:latest"}},
		"none":         {config: imageValue(map[string]cty.Value{"tags": cty.ListValEmpty(cty.String)})},
		"not declared": {config: cty.NullVal(st.Type()), wantErr: "the configuration no longer declares it"},
		"unknown":      {config: imageValue(map[string]cty.Value{"tags": cty.UnknownVal(cty.List(cty.String))}), wantErr: "not known before an apply"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			got, err := configuredTags(st, tc.config)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Errorf("error %v, want %q", err, tc.wantErr)
				}
				return
			}
			if err != nil || strings.Join(got, " ") != strings.Join(tc.want, " ") {
				t.Errorf("configuredTags = %q, %v; want %q", got, err, tc.want)
			}
		})
	}
}
