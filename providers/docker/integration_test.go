package docker

import (
	"context"
	"fmt"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	mobyclient "github.com/moby/moby/client"
	"github.com/sdform/sdform/internal/testenv"
	"github.com/sdform/sdform/providers"
	"github.com/zclconf/go-cty/cty"
)

// itBackend is one real builder the integration tests run against.
type itBackend struct {
	name     string
	provider map[string]cty.Value
	base     string // FROM reference the builder can use
	registry string // host:port for push tests
	engine   *mobyclient.Client
}

// backends returns the builders under test: the standalone BuildKit with the
// registry, and the Docker Engine's built-in BuildKit. Each one that is
// missing skips its subtest (or fails it under SDFORM_REQUIRE_SERVICES=1).
func forEachBackend(t *testing.T, fn func(t *testing.T, be itBackend)) {
	t.Run("buildkit", func(t *testing.T) {
		be := itBackend{name: "buildkit"}
		be.provider = map[string]cty.Value{"buildkit": cty.StringVal(testenv.BuildKit(t))}
		be.registry = testenv.Registry(t)
		be.base = testenv.BaseImage(t)
		fn(t, be)
	})
	t.Run("docker", func(t *testing.T) {
		fn(t, dockerBackend(t))
	})
}

// dockerBackend is the Docker Engine backend alone, for what only an
// Engine's image store does.
func dockerBackend(t *testing.T) itBackend {
	host := testenv.DockerHost(t)
	be := itBackend{name: "docker", provider: map[string]cty.Value{"docker_host": cty.StringVal(host)}}
	be.base = testenv.DockerBaseImage(t)
	be.registry = testenv.Registry(t)
	c, err := mobyclient.New(mobyclient.WithHost(host))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	be.engine = c
	return be
}

// tag returns a tag unique to this test run; in the registry when pushed.
func (be itBackend) tag(t *testing.T, push bool) string {
	repo := "sdform-it/" + strings.ToLower(strings.NewReplacer("/", "-", "_", "-").Replace(t.Name()))
	if push || be.name == "buildkit" {
		repo = be.registry + "/" + repo
	}
	tag := repo + ":" + strings.ReplaceAll(time.Now().Format("150405.000000"), ".", "")
	if be.engine != nil {
		t.Cleanup(func() {
			refs := []string{tag}
			if p, err := previousTag(tag); err == nil {
				refs = append(refs, p)
			}
			for _, addr := range []string{"docker_image.test", "docker_image.other"} {
				if c, err := candidateTag(tag, addr); err == nil {
					refs = append(refs, c)
				}
			}
			for _, ref := range refs {
				be.engine.ImageRemove(context.Background(), ref, mobyclient.ImageRemoveOptions{})
			}
		})
	}
	return tag
}

// nonce is unique per call, for Dockerfile lines that must not hit the
// cache of an earlier test run.
func nonce() string { return strconv.FormatInt(time.Now().UnixNano(), 36) }

func strs(ss ...string) cty.Value {
	vs := make([]cty.Value, len(ss))
	for i, s := range ss {
		vs[i] = cty.StringVal(s)
	}
	return cty.ListVal(vs)
}

func strMap(kv ...string) cty.Value {
	m := map[string]cty.Value{}
	for i := 0; i+1 < len(kv); i += 2 {
		m[kv[i]] = cty.StringVal(kv[i+1])
	}
	return cty.MapVal(m)
}

// stepFlags renders the state's steps as "RUN …=cached" lines for
// comparison with BuildKit's view.
func stepFlags(v cty.Value) []string {
	var out []string
	for it := v.GetAttr("steps").ElementIterator(); it.Next(); {
		_, s := it.Element()
		state := "ran"
		if s.GetAttr("cached").True() {
			state = "cached"
		}
		out = append(out, s.GetAttr("name").AsString()+"="+state)
	}
	return out
}

func TestIntegrationBuildCycle(t *testing.T) {
	forEachBackend(t, func(t *testing.T, be itBackend) {
		tag := be.tag(t, be.name == "buildkit")
		n := nonce()
		h := newHarness(t, be.provider, map[string]string{
			// The nonce keeps BuildKit's cache of earlier runs out of the
			// cached flags this test checks.
			"Dockerfile":    "FROM " + be.base + "\nRUN echo " + n + " > /hello\nCOPY a.txt /a.txt\nENV CUDA_VERSION=12.4.1\n",
			"a.txt":         "a1\n",
			"ignored.log":   "x\n",
			".dockerignore": "*.log\n",
		})
		cfg := h.image(map[string]cty.Value{"tags": strs(tag), "push": cty.BoolVal(be.name == "buildkit")})

		// First build: nothing recorded, every step runs.
		pr := h.mustBuild(cfg)
		if d := detail(pr, "builder:"); d == "" {
			t.Errorf("plan details lack the builder: %q", pr.Details)
		}
		if d := detail(pr, "steps:"); d != "steps: 2 to run (no earlier build recorded)" {
			t.Errorf("first plan steps = %q", d)
		}
		id := h.attr("id")
		if !strings.HasPrefix(id, "sha256:") || h.attr("cuda_version") != "12.4.1" {
			t.Fatalf("state after build: id %q cuda_version %q", id, h.attr("cuda_version"))
		}
		if got := h.state.GetAttr("size"); got.IsNull() || got.AsBigFloat().Sign() <= 0 {
			t.Errorf("size = %#v, want > 0", got)
		}

		// No-op re-plan: same fingerprint, nothing to run, no solve.
		h.refresh()
		solves := h.p.solves.Load()
		pr = h.plan(cfg)
		if pr.Diagnostics.HasErrors() {
			t.Fatalf("re-plan: %v", pr.Diagnostics)
		}
		if a := h.action(pr); a != providers.NoOp {
			t.Fatalf("re-plan action = %s (reason %q, details %q), want no-op", a, pr.Reason, pr.Details)
		}
		if d := detail(pr, "steps:"); !strings.HasPrefix(d, "steps: 2 cached, 0 to run") {
			t.Errorf("re-plan steps detail = %q, want 2 cached, 0 to run", d)
		}
		if got := h.p.solves.Load(); got != solves {
			t.Errorf("re-plan made %d solves", got-solves)
		}

		// A change in a file .dockerignore excludes: still a no-op.
		writeFiles(t, h.dir, map[string]string{"ignored.log": "changed\n"})
		if a := h.action(h.plan(cfg)); a != providers.NoOp {
			t.Errorf("after changing an ignored file: action %s, want no-op", a)
		}

		// A change in the late COPY: rebuild, RUN cached, COPY runs.
		writeFiles(t, h.dir, map[string]string{"a.txt": "a2\n"})
		pr = h.plan(cfg)
		if a := h.action(pr); a != providers.Replace {
			t.Fatalf("after changing a.txt: action %s, want replace", a)
		}
		if want := "files changed: a.txt (Dockerfile:3 COPY a.txt /a.txt)"; pr.Reason != want {
			t.Errorf("reason = %q, want %q", pr.Reason, want)
		}
		if d, want := detail(pr, "steps:"), "steps: 1 cached, 1 to run (first change: Dockerfile:3 COPY a.txt /a.txt)"; d != want {
			t.Errorf("steps detail = %q, want %q", d, want)
		}
		if ar := h.apply(cfg, pr); ar.Diagnostics.HasErrors() {
			t.Fatalf("apply: %v", ar.Diagnostics)
		}
		want := []string{"RUN echo " + n + " > /hello=cached", "COPY a.txt /a.txt=ran"}
		if got := stepFlags(h.state); strings.Join(got, "|") != strings.Join(want, "|") {
			t.Errorf("steps = %q, want %q", got, want)
		}
		if m := h.state.GetAttr("prediction_missed"); m.LengthInt() != 0 {
			t.Errorf("prediction_missed = %#v", m)
		}
		if h.attr("id") == id {
			t.Errorf("image id unchanged after a COPY change")
		}
	})
}

// TestIntegrationBuildArgLaterStage changes a build arg only the final
// stage uses: the first stage and the COPY --from it stay cached, as
// predicted step by step.
func TestIntegrationBuildArgLaterStage(t *testing.T) {
	forEachBackend(t, func(t *testing.T, be itBackend) {
		n := nonce()
		h := newHarness(t, be.provider, map[string]string{
			"Dockerfile": "FROM " + be.base + " AS deps\nRUN echo " + n + " > /deps\n" +
				"FROM " + be.base + "\nARG VARIANT=fp8\nCOPY --from=deps /deps /deps\nRUN echo \"$VARIANT\" > /variant\n",
		})
		tag := be.tag(t, be.name == "buildkit")
		image := func(variant string) cty.Value {
			return h.image(map[string]cty.Value{"tags": strs(tag), "push": cty.BoolVal(be.name == "buildkit"), "args": strMap("VARIANT", variant)})
		}
		h.mustBuild(image("fp8"))
		h.refresh()
		pr := h.plan(image("fp16"))
		if a := h.action(pr); a != providers.Replace || pr.Reason != "build arg VARIANT changed" {
			t.Fatalf("plan after the arg change: %s %q", a, pr.Reason)
		}
		if d, want := detail(pr, "steps:"), "steps: 2 cached, 1 to run (first change: Dockerfile:6 RUN echo \"fp16\" > /variant)"; d != want {
			t.Errorf("steps detail = %q, want %q", d, want)
		}
		if ar := h.apply(image("fp16"), pr); ar.Diagnostics.HasErrors() {
			t.Fatalf("apply: %v", ar.Diagnostics)
		}
		want := []string{"RUN echo " + n + " > /deps=cached", "COPY --from=deps /deps /deps=cached", "RUN echo \"fp16\" > /variant=ran"}
		if got := stepFlags(h.state); strings.Join(got, "|") != strings.Join(want, "|") {
			t.Errorf("steps = %q, want %q", got, want)
		}
		if m := h.state.GetAttr("prediction_missed"); m.LengthInt() != 0 {
			t.Errorf("prediction_missed = %#v", m)
		}
	})
}

// TestIntegrationPredictionMissed builds the same Dockerfile under two
// states: the second plan has no history and predicts every step to run,
// BuildKit finds them cached, and the disagreement is recorded and printed.
func TestIntegrationPredictionMissed(t *testing.T) {
	forEachBackend(t, func(t *testing.T, be itBackend) {
		files := map[string]string{"Dockerfile": "FROM " + be.base + "\nRUN echo " + nonce() + " > /n\n"}
		first := newHarness(t, be.provider, files)
		first.mustBuild(first.image(map[string]cty.Value{"tags": strs(be.tag(t, false))}))
		h := newHarness(t, be.provider, files)
		tag := be.tag(t, false) + "b"
		be.cleanup(t, tag)
		cfg := h.image(map[string]cty.Value{"tags": strs(tag)})
		pr := h.plan(cfg)
		if d := detail(pr, "steps:"); d != "steps: 1 to run (no earlier build recorded)" {
			t.Errorf("steps detail = %q", d)
		}
		if ar := h.apply(cfg, pr); ar.Diagnostics.HasErrors() {
			t.Fatalf("apply: %v", ar.Diagnostics)
		}
		missed := h.state.GetAttr("prediction_missed")
		if missed.LengthInt() != 1 || !strings.Contains(missed.Index(cty.NumberIntVal(0)).AsString(), "Dockerfile:2 RUN echo") ||
			!strings.Contains(missed.Index(cty.NumberIntVal(0)).AsString(), "predicted to run, BuildKit had it cached") {
			t.Errorf("prediction_missed = %#v", missed)
		}
		if !strings.Contains(h.out.String(), "prediction missed: Dockerfile:2 RUN echo") {
			t.Errorf("apply output does not report the miss:\n%s", h.out.String())
		}
	})
}

func TestIntegrationFailingRun(t *testing.T) {
	forEachBackend(t, func(t *testing.T, be itBackend) {
		h := newHarness(t, be.provider, map[string]string{
			"Dockerfile": "FROM " + be.base + "\nRUN echo ok\nRUN echo broken >&2 && exit 3\n",
		})
		cfg := h.image(map[string]cty.Value{"tags": strs(be.tag(t, false))})
		pr := h.plan(cfg)
		if pr.Diagnostics.HasErrors() {
			t.Fatalf("plan: %v", pr.Diagnostics)
		}
		prior := h.state
		ar := h.apply(cfg, pr)
		if !ar.Diagnostics.HasErrors() {
			t.Fatal("apply of a failing RUN succeeded")
		}
		msg := ar.Diagnostics[0].Detail
		for _, want := range []string{"RUN echo broken >&2 && exit 3", "Dockerfile:3", "exit code: 3"} {
			if !strings.Contains(msg, want) {
				t.Errorf("error %q lacks %q", msg, want)
			}
		}
		if !ar.NewState.RawEquals(prior) {
			t.Errorf("state changed by a failed build: %#v", ar.NewState)
		}
	})
}

func TestIntegrationFallback(t *testing.T) {
	forEachBackend(t, func(t *testing.T, be itBackend) {
		h := newHarness(t, be.provider, map[string]string{
			"Dockerfile": "FROM " + be.base + "\nARG ENABLE_X=true\nRUN if [ \"$ENABLE_X\" = true ]; then echo 'x failed to build' >&2; exit 1; fi; echo \"$ENABLE_X\" > /x\n",
		})
		cfg := h.image(map[string]cty.Value{
			"tags":     strs(be.tag(t, false)),
			"args":     strMap("ENABLE_X", "true"),
			"fallback": cty.ObjectVal(map[string]cty.Value{"args": strMap("ENABLE_X", "false")}),
		})
		h.mustBuild(cfg)
		if !h.state.GetAttr("used_fallback").True() {
			t.Fatalf("used_fallback = false after a failing first try")
		}
		if !strings.Contains(h.out.String(), "retrying once with the fallback args (ENABLE_X)") {
			t.Errorf("output does not announce the fallback:\n%s", h.out.String())
		}
		// The next plan keeps the fallback build: no retry of the first try.
		h.refresh()
		if a := h.action(h.plan(cfg)); a != providers.NoOp {
			t.Errorf("re-plan after a fallback build: %s, want no-op", a)
		}
	})
}

func TestIntegrationPushAndDrift(t *testing.T) {
	forEachBackend(t, func(t *testing.T, be itBackend) {
		tag := be.tag(t, true)
		h := newHarness(t, be.provider, map[string]string{
			"Dockerfile": "FROM " + be.base + "\nRUN echo pushed > /p\n",
		})
		cfg := h.image(map[string]cty.Value{"tags": strs(tag), "push": cty.True})
		pr := h.mustBuild(cfg)
		if be.name == "docker" && !strings.Contains(strings.Join(pr.Details, "\n"), "image-push API") {
			t.Errorf("plan does not say the push goes through the Engine: %q", pr.Details)
		}
		ref, err := name.ParseReference(tag, name.Insecure)
		if err != nil {
			t.Fatal(err)
		}
		d, err := remote.Head(ref)
		if err != nil {
			t.Fatalf("registry has no %s after promotion: %v", tag, err)
		}
		if got := h.attr("digest"); got != d.Digest.String() {
			t.Errorf("digest = %q, registry has %s", got, d.Digest)
		}

		// Delete the image outside sdform: refresh reports it, plan rebuilds.
		if be.engine != nil {
			if _, err := be.engine.ImageRemove(context.Background(), h.attr("id"), mobyclient.ImageRemoveOptions{Force: true}); err != nil {
				t.Fatal(err)
			}
		} else {
			dref, _ := name.ParseReference(repoOf(tag)+"@"+d.Digest.String(), name.Insecure)
			if err := remote.Delete(dref); err != nil {
				t.Fatal(err)
			}
		}
		id := h.attr("id")
		r := h.refresh()
		if !r.NewState.IsNull() || !strings.Contains(r.Drift, "deleted outside sdform") || !strings.Contains(r.Drift, short(id)[:12]) && be.engine != nil {
			t.Fatalf("refresh after delete: null=%v drift=%q", r.NewState.IsNull(), r.Drift)
		}
		if a := h.action(h.plan(cfg)); a != providers.Create {
			t.Errorf("plan after delete: %s, want create", a)
		}
	})
}

// TestIntegrationTagMovedOutside: a tag sdform set that someone points
// elsewhere is drift of that tag, not of the image. The object stays (so
// that destroy still removes what it owns), the tag leaves its state, and
// the plan points it back at the tested image with an update, no build.
func TestIntegrationTagMovedOutside(t *testing.T) {
	forEachBackend(t, func(t *testing.T, be itBackend) {
		tag := be.tag(t, be.engine == nil)
		h := newHarness(t, be.provider, map[string]string{"Dockerfile": "FROM " + be.base + "\nRUN echo v > /v\n"})
		cfg := h.image(map[string]cty.Value{"tags": strs(tag), "push": cty.BoolVal(be.engine == nil)})
		h.mustBuild(cfg)
		id := h.attr("id")
		pointElsewhere(t, be, tag)
		r := h.refresh()
		if r.NewState.IsNull() || !strings.Contains(r.Drift, "tag "+tag+" now points to sha256:") {
			t.Fatalf("refresh after retag: null=%v drift=%q", r.NewState.IsNull(), r.Drift)
		}
		if n := h.state.GetAttr("tags").LengthInt(); n != 0 || h.attr("id") != id {
			t.Errorf("state after the tag moved: %d tags, id %s; want no tags, id %s", n, h.attr("id"), id)
		}
		solves := h.p.solves.Load()
		pr := h.plan(cfg)
		if a := h.action(pr); a != providers.Update {
			t.Fatalf("plan after the tag moved: %s (%q), want update", a, pr.Reason)
		}
		if ar := h.apply(cfg, pr); ar.Diagnostics.HasErrors() {
			t.Fatalf("apply: %v", ar.Diagnostics)
		}
		if h.p.solves.Load() != solves {
			t.Errorf("pointing the tag back ran a build")
		}
		if r := h.refresh(); r.Drift != "" {
			t.Errorf("refresh after the update: drift %q", r.Drift)
		}
		if a := h.action(h.plan(cfg)); a != providers.NoOp {
			t.Errorf("plan after the update: %s, want no-op", a)
		}
	})
}

// pointElsewhere points tag at the base image behind sdform's back: in the
// Engine on the docker backend, in the registry on the standalone one.
func pointElsewhere(t *testing.T, be itBackend, tag string) {
	t.Helper()
	if be.engine != nil {
		if _, err := be.engine.ImageTag(context.Background(), mobyclient.ImageTagOptions{Source: be.base, Target: tag}); err != nil {
			t.Fatal(err)
		}
		return
	}
	src, _ := name.ParseReference(be.base, name.Insecure)
	dst, _ := name.ParseReference(tag, name.Insecure)
	img, err := remote.Image(src)
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.Write(dst, img); err != nil {
		t.Fatal(err)
	}
}

func TestIntegrationMaxSizeAndPromotion(t *testing.T) {
	forEachBackend(t, func(t *testing.T, be itBackend) {
		tag := be.tag(t, be.name == "buildkit")
		push := cty.BoolVal(be.name == "buildkit")
		h := newHarness(t, be.provider, map[string]string{"Dockerfile": "FROM " + be.base + "\nCOPY v.txt /v.txt\n", "v.txt": "1\n"})
		cfg := h.image(map[string]cty.Value{"tags": strs(tag), "push": push})
		h.mustBuild(cfg)
		v1 := h.attr("id")
		lookup := func(ref string) string {
			if be.engine != nil {
				res, err := be.engine.ImageInspect(context.Background(), ref)
				if err != nil {
					return ""
				}
				return res.ID
			}
			f, err := (registry{cfg: h.p.cfg}).facts(context.Background(), ref, "")
			if err != nil {
				return ""
			}
			return f.ID
		}

		// Over max_size: apply fails with both sizes, tags stay on v1.
		writeFiles(t, h.dir, map[string]string{"v.txt": "2\n"})
		big := h.image(map[string]cty.Value{"tags": strs(tag), "push": push, "max_size": cty.StringVal("1kB")})
		pr := h.plan(big)
		ar := h.apply(big, pr)
		if !ar.Diagnostics.HasErrors() || !strings.Contains(ar.Diagnostics[0].Detail, "over max_size 1kB") || !strings.Contains(ar.Diagnostics[0].Detail, "image is ") {
			t.Fatalf("apply over max_size: %v", ar.Diagnostics)
		}
		if got := lookup(tag); got != v1 {
			t.Errorf("tag moved by a build over max_size: %s → %s (v1 %s)", tag, got, v1)
		}

		// Tests failed: Promote(false) keeps the tag on v1, the candidate
		// carries v2, and the next plan says promotion is pending.
		pr = h.plan(cfg)
		if ar := h.apply(cfg, pr); ar.Diagnostics.HasErrors() {
			t.Fatalf("apply v2: %v", ar.Diagnostics)
		}
		v2 := h.attr("id")
		r := h.promote(false, "docker_image_test.imports")
		if len(r.Diagnostics) == 0 || !strings.Contains(r.Diagnostics[0].Detail, "not moved") || !strings.Contains(r.Diagnostics[0].Detail, "docker_image_test.imports") {
			t.Errorf("promote(false) diagnostics: %v", r.Diagnostics)
		}
		if got := lookup(tag); got != v1 {
			t.Errorf("tag after failed tests points to %s, want v1 %s", got, v1)
		}
		cand, _ := candidateTag(tag, h.addr)
		if got := lookup(cand); got != v2 {
			t.Errorf("candidate %s points to %s, want v2 %s", cand, got, v2)
		}
		h.refresh()
		pr = h.plan(cfg)
		if h.action(pr) != providers.Replace || !strings.Contains(pr.Reason, "never promoted") {
			t.Errorf("plan with promotion pending: %s %q", h.action(pr), pr.Reason)
		}
		// Tests pass now: the tag moves to the new build, v1 is recorded.
		if ar := h.apply(cfg, pr); ar.Diagnostics.HasErrors() {
			t.Fatalf("apply v2 again: %v", ar.Diagnostics)
		}
		if r := h.promote(true); r.Diagnostics.HasErrors() {
			t.Fatalf("promote: %v", r.Diagnostics)
		}
		if got := lookup(tag); got != h.attr("id") {
			t.Errorf("tag after promotion points to %s, want %s", got, h.attr("id"))
		}
		priv, _ := decodePrivate(h.private)
		if prev := priv.Previous[tag]; prev == "" {
			t.Errorf("previous target of %s not recorded: %+v", tag, priv)
		}

		// Rollback: the tag goes back to v1, the state describes v1, and
		// the next plan says why it would build and promote again.
		v3 := h.attr("id")
		rb := h.p.Rollback(context.Background(), providers.RollbackRequest{TypeName: "docker_image", Address: h.addr, State: h.state, Private: h.private, UI: h.ui()})
		if rb.Diagnostics.HasErrors() {
			t.Fatalf("rollback: %v", rb.Diagnostics)
		}
		h.state, h.private = rb.NewState, rb.Private
		if got := lookup(tag); got != v1 {
			t.Errorf("tag after rollback points to %s, want v1 %s", got, v1)
		}
		if h.attr("id") != v1 || len(rb.Messages) != 1 || !strings.Contains(rb.Messages[0], "tag "+tag+": ") {
			t.Errorf("rollback: state id %s (v1 %s, v3 %s), messages %q", h.attr("id"), v1, v3, rb.Messages)
		}
		h.refresh()
		pr = h.plan(cfg)
		if h.action(pr) != providers.Replace || !strings.Contains(pr.Reason, "rolled back") {
			t.Errorf("plan after rollback: %s %q", h.action(pr), pr.Reason)
		}
	})
}

// TestIntegrationSecrets also mounts a secret whose id has a space and a
// "!": BuildKit takes any id but "", so validate must not refuse it.
func TestIntegrationSecrets(t *testing.T) {
	forEachBackend(t, func(t *testing.T, be itBackend) {
		h := newHarness(t, be.provider, map[string]string{
			"Dockerfile": "FROM " + be.base + "\nRUN --mount=type=secret,id=tok test \"$(wc -c < /run/secrets/tok)\" -eq 6 && echo ok > /ok\n" +
				"RUN --mount=type=secret,\"id=odd id!\",required=true test \"$(wc -c < '/run/secrets/odd id!')\" -eq 5\n",
		})
		cfg := h.image(map[string]cty.Value{"tags": strs(be.tag(t, false)), "secrets": strMap("tok", "s3cret", "odd id!", "other")})
		if d := h.p.ValidateResource(context.Background(), providers.ValidateRequest{TypeName: "docker_image", Config: cfg}).Diagnostics; len(d) > 0 {
			t.Errorf("validate: %v", d)
		}
		h.mustBuild(cfg)
		if strings.Contains(h.out.String(), "s3cret") {
			t.Errorf("secret value printed in build output")
		}
	})
}

// TestIntegrationSharedTagCandidates builds two objects with one tag through
// two providers, as two commands would (one plan refuses them), and promotes
// both: each build keeps its own candidate until its promotion. With a
// candidate derived from the tag alone, the second build overwrote the
// first's candidate, and promoting the first removed the second's build
// ("No such image").
func TestIntegrationSharedTagCandidates(t *testing.T) {
	forEachBackend(t, func(t *testing.T, be itBackend) {
		push := be.engine == nil
		tag := be.tag(t, push)
		var hs []*harness
		for _, addr := range []string{"docker_image.test", "docker_image.other"} {
			h := newHarness(t, be.provider, map[string]string{"Dockerfile": "FROM " + be.base + "\nCOPY n /n\n", "n": nonce()})
			h.addr = addr
			cfg := h.image(map[string]cty.Value{"tags": strs(tag), "push": cty.BoolVal(push)})
			if ar := h.apply(cfg, h.plan(cfg)); ar.Diagnostics.HasErrors() {
				t.Fatalf("apply %s: %v\n%s", addr, ar.Diagnostics, h.out.String())
			}
			hs = append(hs, h)
		}
		if hs[0].attr("id") == hs[1].attr("id") {
			t.Fatalf("both builds made %s", hs[0].attr("id"))
		}
		if r := hs[0].refresh(); r.NewState.IsNull() {
			t.Errorf("the second build took the first's candidate: %s", r.Drift)
		}
		for _, h := range hs {
			if r := h.promote(true); r.Diagnostics.HasErrors() {
				t.Errorf("promote %s: %v", h.addr, r.Diagnostics)
			}
		}
	})
}

func TestIntegrationNamedContexts(t *testing.T) {
	forEachBackend(t, func(t *testing.T, be itBackend) {
		h := newHarness(t, be.provider, map[string]string{
			"Dockerfile":      "FROM " + be.base + "\nCOPY --from=weights w.bin /w.bin\n",
			"weights/w.bin":   "weights\n",
			"ctx/placeholder": "",
		})
		cfg := h.image(map[string]cty.Value{"context": cty.StringVal("ctx"), "dockerfile": cty.StringVal("Dockerfile"), "tags": strs(be.tag(t, false)), "contexts": strMap("weights", "weights")})
		pr := h.plan(cfg)
		if be.name == "docker" {
			// The Engine 20.10 built-in BuildKit has no named contexts.
			if !pr.Diagnostics.HasErrors() || !strings.Contains(pr.Diagnostics[0].Summary, "Named contexts unsupported") {
				t.Fatalf("plan with contexts on the old built-in BuildKit: %v", pr.Diagnostics)
			}
			return
		}
		if pr.Diagnostics.HasErrors() {
			t.Fatalf("plan: %v", pr.Diagnostics)
		}
		if ar := h.apply(cfg, pr); ar.Diagnostics.HasErrors() {
			t.Fatalf("apply: %v\n%s", ar.Diagnostics, h.out.String())
		}
	})
}

// TestIntegrationMissingDaemon needs no service: it points the provider at
// sockets nobody listens on.
func TestIntegrationMissingDaemon(t *testing.T) {
	dir := t.TempDir()
	for name, provider := range map[string]map[string]cty.Value{
		"buildkit": {"buildkit": cty.StringVal("unix://" + filepath.Join(dir, "buildkitd.sock"))},
		"docker":   {"docker_host": cty.StringVal("unix://" + filepath.Join(dir, "docker.sock"))},
	} {
		t.Run(name, func(t *testing.T) {
			h := newHarness(t, provider, map[string]string{"Dockerfile": "FROM scratch\nCOPY a /a\n", "a": "a"})
			cfg := h.image(map[string]cty.Value{"tags": strs("sdform-it/missing:latest")})
			pr := h.plan(cfg)
			if pr.Diagnostics.HasErrors() {
				t.Fatalf("plan without a daemon failed: %v", pr.Diagnostics)
			}
			if len(pr.Diagnostics) == 0 || pr.Diagnostics[0].Summary != "Builder unreachable" {
				t.Errorf("plan diagnostics = %v, want a Builder unreachable warning", pr.Diagnostics)
			}
			if !strings.Contains(strings.Join(pr.Details, "\n"), "cannot know: builder unreachable") {
				t.Errorf("plan details = %q", pr.Details)
			}
			start := time.Now()
			ar := h.apply(cfg, pr)
			if !ar.Diagnostics.HasErrors() {
				t.Fatal("apply without a daemon succeeded")
			}
			msg := ar.Diagnostics[0].Detail
			sock := strings.TrimPrefix(provider[map[string]string{"buildkit": "buildkit", "docker": "docker_host"}[name]].AsString(), "unix://")
			if !strings.Contains(msg, sock) || !strings.Contains(msg, "Start") {
				t.Errorf("apply error %q does not name %s and how to start a builder", msg, sock)
			}
			if d := time.Since(start); d > probeTimeout {
				t.Errorf("apply took %s to fail", d)
			}
			if !ar.NewState.IsNull() {
				t.Errorf("state after failed apply: %#v", ar.NewState)
			}
		})
	}
}

// TestIntegrationPreflight covers what plan checks before a build: a FROM
// that does not exist, min_free_disk where the builder's data is local, and
// labels that reach the image config.
func TestIntegrationPreflight(t *testing.T) {
	forEachBackend(t, func(t *testing.T, be itBackend) {
		missing := be.registry + "/sdform-it/missing:nope"
		h := newHarness(t, be.provider, map[string]string{"Dockerfile": "FROM " + missing + "\nRUN true\n"})
		pr := h.plan(h.image(nil))
		if !pr.Diagnostics.HasErrors() || !strings.Contains(fmt.Sprint(pr.Diagnostics), missing) {
			t.Errorf("plan with a missing base image: %v", pr.Diagnostics)
		}

		if be.engine != nil {
			// The Engine's data root is on this machine: statfs decides.
			p := map[string]cty.Value{"min_free_disk": cty.StringVal("100PB")}
			for k, v := range be.provider {
				p[k] = v
			}
			h := newHarness(t, p, map[string]string{"Dockerfile": "FROM " + be.base + "\nRUN true\n"})
			pr := h.plan(h.image(nil))
			if !pr.Diagnostics.HasErrors() || !strings.Contains(fmt.Sprint(pr.Diagnostics), "below the provider's min_free_disk of 100PB") {
				t.Errorf("plan below min_free_disk: %v", pr.Diagnostics)
			}
			if d := detail(pr, "free disk:"); d == "" {
				t.Errorf("plan details lack free disk: %q", pr.Details)
			}
		}

		h = newHarness(t, be.provider, map[string]string{"Dockerfile": "FROM " + be.base + "\nLABEL from.dockerfile=yes\n"})
		h.mustBuild(h.image(map[string]cty.Value{"labels": strMap("org.example.variant", "fp8")}))
		labels := h.state.GetAttr("image_labels")
		if labels.Index(cty.StringVal("org.example.variant")).AsString() != "fp8" || labels.Index(cty.StringVal("from.dockerfile")).AsString() != "yes" {
			t.Errorf("image_labels = %#v", labels)
		}
	})
}

func TestIntegrationTimeout(t *testing.T) {
	forEachBackend(t, func(t *testing.T, be itBackend) {
		h := newHarness(t, be.provider, map[string]string{"Dockerfile": "FROM " + be.base + "\nRUN sleep 30 # " + nonce() + "\n"})
		cfg := h.image(map[string]cty.Value{"timeout": cty.StringVal("2s")})
		start := time.Now()
		ar := h.apply(cfg, h.plan(cfg))
		if !ar.Diagnostics.HasErrors() || !strings.Contains(ar.Diagnostics[0].Detail, "build timed out after 2s (timeout)") {
			t.Errorf("apply past its timeout: %v", ar.Diagnostics)
		}
		if d := time.Since(start); d > 20*time.Second {
			t.Errorf("timeout of 2s took %s", d)
		}
	})
}

// TestIntegrationRetagAndDelete changes only the tags of a promoted image
// (an update, no build) and then deletes the resource.
func TestIntegrationRetagAndDelete(t *testing.T) {
	forEachBackend(t, func(t *testing.T, be itBackend) {
		push := be.engine == nil
		a, b := be.tag(t, push), be.tag(t, push)+"b"
		if be.engine != nil {
			t.Cleanup(func() { be.engine.ImageRemove(context.Background(), b, mobyclient.ImageRemoveOptions{}) })
		}
		h := newHarness(t, be.provider, map[string]string{"Dockerfile": "FROM " + be.base + "\nCOPY n /n\n", "n": nonce()})
		h.mustBuild(h.image(map[string]cty.Value{"tags": strs(a), "push": cty.BoolVal(push)}))
		id, digest := h.attr("id"), h.attr("digest")
		points := func(ref string) string {
			if be.engine != nil {
				res, err := be.engine.ImageInspect(context.Background(), ref)
				if err != nil {
					return ""
				}
				return res.ID
			}
			d, err := (registry{cfg: h.p.cfg}).head(context.Background(), ref)
			if err != nil {
				return ""
			}
			return d
		}
		want := id
		if push {
			want = digest
		}

		for _, tags := range [][]string{{a, b}, {b}} {
			cfg := h.image(map[string]cty.Value{"tags": strs(tags...), "push": cty.BoolVal(push)})
			h.refresh()
			solves := h.p.solves.Load()
			pr := h.plan(cfg)
			if act := h.action(pr); act != providers.Update {
				t.Fatalf("tags %q: action %s (%q), want update", tags, act, pr.Reason)
			}
			if ar := h.apply(cfg, pr); ar.Diagnostics.HasErrors() {
				t.Fatalf("apply tags %q: %v", tags, ar.Diagnostics)
			}
			if h.p.solves.Load() != solves {
				t.Errorf("retag ran a build")
			}
			for _, tag := range tags {
				if got := points(tag); got != want {
					t.Errorf("tags %q: %s points to %q, want %s", tags, tag, got, want)
				}
			}
		}
		if be.engine != nil && points(a) != "" {
			t.Errorf("%s still exists after it left the tags", a)
		}
		if a := h.action(h.plan(h.image(map[string]cty.Value{"tags": strs(b), "push": cty.BoolVal(push)}))); a != providers.NoOp {
			t.Errorf("re-plan after retag: %s", a)
		}

		r := h.p.ApplyResource(context.Background(), providers.ApplyRequest{TypeName: "docker_image", Address: h.addr, Action: providers.Delete,
			Prior: h.state, Planned: cty.NullVal(h.state.Type()), PlannedPrivate: h.private, UI: h.ui()})
		if r.Diagnostics.HasErrors() || !r.NewState.IsNull() {
			t.Fatalf("delete: %v %#v", r.Diagnostics, r.NewState)
		}
		if be.engine != nil && points(id) != "" {
			t.Errorf("image %s still in the Engine after delete", id)
		}
		if push && (len(r.Diagnostics) == 0 || !strings.Contains(r.Diagnostics[0].Detail, "leaves its tags in the registry")) {
			t.Errorf("delete of a pushed image does not say registry tags stay: %v", r.Diagnostics)
		}
	})
}

// TestIntegrationRegistryCache exports the build cache to the registry and
// imports it back on a standalone BuildKit.
func TestIntegrationRegistryCache(t *testing.T) {
	addr := testenv.BuildKit(t)
	reg := testenv.Registry(t)
	base := testenv.BaseImage(t)
	cache := reg + "/sdform-it/cache:" + nonce()
	h := newHarness(t, map[string]cty.Value{"buildkit": cty.StringVal(addr)}, map[string]string{"Dockerfile": "FROM " + base + "\nRUN echo " + nonce() + " > /n\n"})
	h.mustBuild(h.image(map[string]cty.Value{"cache_to": strs(cache), "cache_from": strs(cache)}))
	ref, _ := name.ParseReference(cache, name.Insecure)
	if _, err := remote.Head(ref); err != nil {
		t.Errorf("no cache manifest at %s after a build with cache_to: %v", cache, err)
	}
}

// TestIntegrationBuilderChanged plans an image built by the Docker Engine
// with a standalone BuildKit: the image is not in that builder's store, so
// the plan rebuilds and says why.
func TestIntegrationBuilderChanged(t *testing.T) {
	host := testenv.DockerHost(t)
	addr := testenv.BuildKit(t)
	files := map[string]string{"Dockerfile": "FROM scratch\nCOPY n /n\n", "n": nonce()}
	h := newHarness(t, map[string]cty.Value{"docker_host": cty.StringVal(host)}, files)
	cfg := h.image(nil)
	h.mustBuild(cfg)
	if a := h.action(h.plan(cfg)); a != providers.NoOp {
		t.Fatalf("re-plan on the same builder: %s", a)
	}
	other := newHarness(t, map[string]cty.Value{"buildkit": cty.StringVal(addr)}, nil)
	other.p.env = h.p.env
	other.state, other.private = h.state, h.private
	pr := other.plan(cfg)
	if a := other.action(pr); a != providers.Replace || !strings.HasPrefix(pr.Reason, "builder changed from unix://") {
		t.Errorf("plan on another builder: %s %q", a, pr.Reason)
	}
}

// TestIntegrationUnpushedRetag changes the tags of an image a standalone
// BuildKit keeps in its own store: only an export can name it, so the plan
// rebuilds (all cached) rather than promising a retag it cannot do.
func TestIntegrationUnpushedRetag(t *testing.T) {
	addr := testenv.BuildKit(t)
	base := testenv.BaseImage(t)
	h := newHarness(t, map[string]cty.Value{"buildkit": cty.StringVal(addr)}, map[string]string{"Dockerfile": "FROM " + base + "\nCOPY n /n\n", "n": nonce()})
	h.mustBuild(h.image(map[string]cty.Value{"tags": strs("sdform-it/unpushed:a")}))
	cfg := h.image(map[string]cty.Value{"tags": strs("sdform-it/unpushed:b")})
	pr := h.plan(cfg)
	if a := h.action(pr); a != providers.Replace || !strings.Contains(pr.Reason, "tags changed") {
		t.Fatalf("plan: %s %q", a, pr.Reason)
	}
	if d := detail(pr, "steps:"); d != "steps: 1 cached" {
		t.Errorf("steps = %q", d)
	}
	if ar := h.apply(cfg, pr); ar.Diagnostics.HasErrors() {
		t.Fatalf("apply: %v", ar.Diagnostics)
	}
}

// TestIntegrationCommentOnlyChange: a comment in the Dockerfile changes no
// image, so the plan is a no-op; a CMD change re-exports with every step
// cached, and the plan says the image config changed.
func TestIntegrationCommentOnlyChange(t *testing.T) {
	forEachBackend(t, func(t *testing.T, be itBackend) {
		df := "FROM " + be.base + "\nRUN echo " + nonce() + " > /n\nCMD [\"sh\"]\n"
		h := newHarness(t, be.provider, map[string]string{"Dockerfile": df})
		cfg := h.image(map[string]cty.Value{"tags": strs(be.tag(t, be.name == "buildkit")), "push": cty.BoolVal(be.name == "buildkit")})
		h.mustBuild(cfg)
		h.refresh()

		writeFiles(t, h.dir, map[string]string{"Dockerfile": "# The image for the audit.\n" + strings.Replace(df, "RUN", "\n# why\nRUN", 1)})
		solves := h.p.solves.Load()
		pr := h.plan(cfg)
		if a := h.action(pr); a != providers.NoOp {
			t.Fatalf("plan after a comment: %s (%q), want no-op", a, pr.Reason)
		}
		if got := h.p.solves.Load(); got != solves {
			t.Errorf("plan made %d solves", got-solves)
		}

		writeFiles(t, h.dir, map[string]string{"Dockerfile": strings.Replace(df, `CMD ["sh"]`, `CMD ["sh", "-c", "true"]`, 1)})
		pr = h.plan(cfg)
		if a := h.action(pr); a != providers.Replace || pr.Reason != "the image config changed (CMD, ENV, LABEL…): no step runs, the image is exported again" {
			t.Fatalf("plan after a CMD change: %s %q", a, pr.Reason)
		}
		if d := detail(pr, "steps:"); d != "steps: 1 cached" {
			t.Errorf("steps = %q, want 1 cached", d)
		}
		if ar := h.apply(cfg, pr); ar.Diagnostics.HasErrors() {
			t.Fatalf("apply: %v", ar.Diagnostics)
		}
		if got := h.state.GetAttr("cmd"); !got.RawEquals(strs("sh", "-c", "true")) {
			t.Errorf("cmd = %#v", got)
		}
		if m := h.state.GetAttr("prediction_missed"); m.LengthInt() != 0 {
			t.Errorf("prediction_missed = %#v", m)
		}
	})
}

// TestIntegrationFallbackFirstTry: the steps a failed first try finished
// are in BuildKit's cache, so the fallback's prediction counts them and no
// "prediction missed" is reported for them; the next plan says the last
// build needed the fallback.
func TestIntegrationFallbackFirstTry(t *testing.T) {
	forEachBackend(t, func(t *testing.T, be itBackend) {
		h := newHarness(t, be.provider, map[string]string{
			"Dockerfile": "FROM " + be.base + "\nRUN echo " + nonce() + " > /n\nARG ENABLE_X=true\nRUN if [ \"$ENABLE_X\" = true ]; then exit 1; fi; echo \"$ENABLE_X\" > /x\n",
		})
		cfg := h.image(map[string]cty.Value{
			"tags":     strs(be.tag(t, false)),
			"args":     strMap("ENABLE_X", "true"),
			"fallback": cty.ObjectVal(map[string]cty.Value{"args": strMap("ENABLE_X", "false")}),
		})
		h.mustBuild(cfg)
		if !h.state.GetAttr("used_fallback").True() {
			t.Fatalf("used_fallback = false after a failing first try")
		}
		if m := h.state.GetAttr("prediction_missed"); m.LengthInt() != 0 {
			t.Errorf("prediction_missed = %#v", m)
		}
		if strings.Contains(h.out.String(), "prediction missed") {
			t.Errorf("output reports a miss:\n%s", h.out.String())
		}
		want := []string{"RUN echo", "RUN if [ \"false\" = true ]"}
		got := stepFlags(h.state)
		if len(got) != 2 || !strings.HasPrefix(got[0], want[0]) || !strings.HasSuffix(got[0], "=cached") || !strings.HasPrefix(got[1], want[1]) || !strings.HasSuffix(got[1], "=ran") {
			t.Errorf("steps = %q", got)
		}

		h.refresh()
		writeFiles(t, h.dir, map[string]string{"Dockerfile": "FROM " + be.base + "\nRUN echo " + nonce() + " > /n\nARG ENABLE_X=true\nRUN if [ \"$ENABLE_X\" = true ]; then exit 1; fi; echo \"$ENABLE_X\" > /x\n"})
		pr := h.plan(cfg)
		if d := detail(pr, "fallback:"); !strings.Contains(d, "the last build needed the fallback args (ENABLE_X)") {
			t.Errorf("plan details = %q, want the fallback note", pr.Details)
		}
	})
}

// TestIntegrationMissingBaseOnEngine: a base image the Engine does not
// have, in a registry sdform cannot ask or that lacks it, is named as such:
// an error naming the image, or a note that it could not be checked, but
// never a digest-format error.
func TestIntegrationMissingBaseOnEngine(t *testing.T) {
	host := testenv.DockerHost(t)
	h := newHarness(t, map[string]cty.Value{"docker_host": cty.StringVal(host)}, map[string]string{
		"Dockerfile": "FROM busybox:sdform-it-missing-" + nonce() + "\nRUN true\n",
	})
	pr := h.plan(h.image(nil))
	text := strings.Join(pr.Details, "\n")
	for _, d := range pr.Diagnostics {
		text += "\n" + d.Summary + ": " + d.Detail
	}
	if strings.Contains(text, "digest format") {
		t.Errorf("plan says:\n%s", text)
	}
	if !strings.Contains(text, "docker.io/library/busybox:sdform-it-missing-") || !strings.Contains(text, "not in the Docker Engine's image store") {
		t.Errorf("plan does not name the missing base image and where it looked:\n%s", text)
	}
}

// TestIntegrationDriftKeepsHistory: an image deleted or retagged outside
// sdform is rebuilt, but BuildKit's cache of its steps is still there, so
// the plan predicts them cached, as BuildKit then finds them. The engine
// drops the provider's private record of an object that is gone (the
// harness does the same here).
func TestIntegrationDriftKeepsHistory(t *testing.T) {
	forEachBackend(t, func(t *testing.T, be itBackend) {
		tag := be.tag(t, true)
		h := newHarness(t, be.provider, map[string]string{
			"Dockerfile": "FROM " + be.base + "\nRUN echo " + nonce() + " > /n\nCOPY a.txt /a\n",
			"a.txt":      "a",
		})
		cfg := h.image(map[string]cty.Value{"tags": strs(tag), "push": cty.True})
		h.mustBuild(cfg)
		// Delete the image behind sdform's back.
		if be.engine != nil {
			if _, err := be.engine.ImageRemove(context.Background(), h.attr("id"), mobyclient.ImageRemoveOptions{Force: true}); err != nil {
				t.Fatal(err)
			}
		} else {
			dref, _ := name.ParseReference(repoOf(tag)+"@"+h.attr("digest"), name.Insecure)
			if err := remote.Delete(dref); err != nil {
				t.Fatal(err)
			}
		}
		if r := h.refresh(); !r.NewState.IsNull() {
			t.Fatalf("refresh after delete: no drift")
		}
		h.private = nil
		pr := h.plan(cfg)
		if d := detail(pr, "steps:"); !strings.HasPrefix(d, "steps: 2 cached") {
			t.Errorf("plan after drift: %q, want the steps cached", d)
		}
		if ar := h.apply(cfg, pr); ar.Diagnostics.HasErrors() {
			t.Fatalf("apply: %v", ar.Diagnostics)
		}
		if m := h.state.GetAttr("prediction_missed"); m.LengthInt() != 0 {
			t.Errorf("prediction_missed = %#v", m)
		}
	})
}
