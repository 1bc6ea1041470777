package docker

import (
	"context"
	"errors"
	"io"
	"strconv"
	"strings"
	"testing"
	"time"

	mobyclient "github.com/moby/moby/client"
	"github.com/sdform/sdform/internal/testenv"
	"github.com/sdform/sdform/providers"
	"github.com/zclconf/go-cty/cty"
)

// testHarness drives one docker_image_test through the provider contract
// the way the engine does, on the provider of an image harness.
type testHarness struct {
	t       *testing.T
	p       *Provider
	addr    string
	state   cty.Value
	private []byte
	out     *syncBuffer
}

func newTestHarness(t *testing.T, p *Provider) *testHarness {
	return &testHarness{t: t, p: p, addr: "docker_image_test.it", state: cty.NullVal(imageTestSchema().ImpliedType()), out: &syncBuffer{}}
}

// config builds a docker_image_test value from HCL-like parts.
func (th *testHarness) config(image string, commands, files map[string]cty.Value, metadata map[string]cty.Value) cty.Value {
	s := imageTestSchema()
	given := map[string]cty.Value{"image": cty.StringVal(image)}
	cmdT := s.Blocks["command"].Block.ImpliedType()
	fileT := s.Blocks["file"].Block.ImpliedType()
	if len(commands) > 0 {
		given["command"] = cty.MapVal(commands)
	} else {
		given["command"] = cty.MapValEmpty(cmdT)
	}
	if len(files) > 0 {
		given["file"] = cty.MapVal(files)
	} else {
		given["file"] = cty.MapValEmpty(fileT)
	}
	if metadata != nil {
		given["metadata"] = objectOf(&s.Blocks["metadata"].Block, metadata)
	}
	return objectOf(s, given)
}

func command(run []string, env map[string]string, timeout string, expect map[string]cty.Value) cty.Value {
	s := imageTestSchema().Blocks["command"].Block
	given := map[string]cty.Value{"run": cty.ListValEmpty(cty.String)}
	if len(run) > 0 {
		given["run"] = strs(run...)
	}
	if env != nil {
		m := map[string]cty.Value{}
		for k, v := range env {
			m[k] = cty.StringVal(v)
		}
		given["env"] = cty.MapVal(m)
	}
	if timeout != "" {
		given["timeout"] = cty.StringVal(timeout)
	}
	if expect != nil {
		given["expect"] = objectOf(&s.Blocks["expect"].Block, expect)
	}
	return objectOf(&s, given)
}

func file(attrs map[string]cty.Value) cty.Value {
	s := imageTestSchema().Blocks["file"].Block
	return objectOf(&s, attrs)
}

func (th *testHarness) plan(cfg cty.Value) providers.PlanResponse {
	th.t.Helper()
	pr := th.p.PlanResource(context.Background(), providers.PlanRequest{TypeName: "docker_image_test", Address: th.addr, Prior: th.state, PriorPrivate: th.private, Config: cfg, Proposed: cfg})
	if pr.Diagnostics.HasErrors() {
		th.t.Fatalf("plan: %v", pr.Diagnostics)
	}
	return pr
}

func (th *testHarness) action(pr providers.PlanResponse) providers.Action {
	switch {
	case th.state.IsNull():
		return providers.Create
	case len(pr.RequiresReplace) > 0:
		return providers.Replace
	case !pr.Planned.RawEquals(th.state):
		return providers.Update
	}
	return providers.NoOp
}

// run plans and applies cfg, keeping the new state even when the test
// failed, as the engine does.
func (th *testHarness) run(cfg cty.Value) providers.ApplyResponse {
	th.t.Helper()
	pr := th.plan(cfg)
	ar := th.p.ApplyResource(context.Background(), providers.ApplyRequest{TypeName: "docker_image_test", Address: th.addr, Action: th.action(pr),
		Prior: th.state, Planned: pr.Planned, Config: cfg, PlannedPrivate: pr.PlannedPrivate, UI: providers.UI{Out: th.out}})
	if ar.NewState != cty.NilVal && !ar.NewState.IsNull() {
		th.state, th.private = ar.NewState, ar.Private
	}
	return ar
}

// results renders the recorded results as "name=passed" for messages.
func results(v cty.Value) map[string]bool {
	out := map[string]bool{}
	for it := v.GetAttr("results").ElementIterator(); it.Next(); {
		_, r := it.Element()
		out[r.GetAttr("name").AsString()] = r.GetAttr("passed").True()
	}
	return out
}

// imageForTests builds the image the integration tests probe: a file with
// a known mode, owner and content, an account in /etc/passwd, and config
// that metadata checks read.
func imageForTests(t *testing.T, be itBackend) (*harness, string) {
	t.Helper()
	h := newHarness(t, be.provider, map[string]string{"Dockerfile": "FROM " + be.base + `
RUN mkdir -p /etc /app && echo "app:x:1000:1000::/app:/bin/sh" >> /etc/passwd && echo "app:x:1000:" >> /etc/group && \
    echo "root:x:0:0::/root:/bin/sh" >> /etc/passwd && echo "root:x:0:" >> /etc/group && \
    printf 'backend=sdpa\nversion=2\n' > /app/backend && chmod 0750 /app/backend && chown 1000:1000 /app/backend && echo ` + nonce() + ` > /nonce
ENV FOO=bar
LABEL org.example.role=test
WORKDIR /app
EXPOSE 8188
ENTRYPOINT ["/bin/sh", "-c"]
CMD ["echo default"]
`})
	// Pushed on the standalone BuildKit, so that tags wait for promotion
	// and the test runs the candidate as it would in an apply.
	cfg := h.image(map[string]cty.Value{"tags": strs(be.tag(t, be.name == "buildkit")), "push": cty.BoolVal(be.name == "buildkit")})
	pr := h.plan(cfg)
	if ar := h.apply(cfg, pr); ar.Diagnostics.HasErrors() {
		t.Fatalf("build: %v\n%s", ar.Diagnostics, h.out.String())
	}
	return h, h.attr("id")
}

func TestIntegrationImageTestPasses(t *testing.T) {
	forEachBackend(t, func(t *testing.T, be itBackend) {
		h, id := imageForTests(t, be)
		th := newTestHarness(t, h.p)
		cfg := th.config(id, map[string]cty.Value{
			"streams": command([]string{"sh", "-c", "echo out-line; echo err-line >&2; exit 3"}, nil, "", map[string]cty.Value{
				"exit_code": cty.NumberIntVal(3), "stdout": strs("^out-line$", "(?m)^out"), "stderr": strs("err-line"),
				"stdout_excludes": strs("err-line"), "stderr_excludes": strs("out-line"),
			}),
			"env": command([]string{"sh", "-c", `echo "$FOO $EXTRA $(pwd)"`}, map[string]string{"EXTRA": "x y"}, "30s", map[string]cty.Value{
				"stdout": strs(`^bar x y /app$`),
			}),
			"default-exit": command([]string{"true"}, nil, "", nil),
			"gpu":          objectOf(&imageTestSchema().Blocks["command"].Block, map[string]cty.Value{"run": strs("true"), "gpus": cty.StringVal("all")}),
		}, map[string]cty.Value{
			"/app/backend": file(map[string]cty.Value{"mode": cty.StringVal("0750"), "owner": cty.StringVal("app:app"), "content": cty.StringVal(`(?m)^backend=sdpa$`)}),
			"/app":         file(map[string]cty.Value{"owner": cty.StringVal("root"), "mode": cty.StringVal("0755")}),
			"/nope":        file(map[string]cty.Value{"exists": cty.False}),
		}, map[string]cty.Value{
			"env": strMap("FOO", "bar"), "labels": strMap("org.example.role", "test"), "workdir": cty.StringVal("/app"),
			"user": cty.StringVal(""), "exposed_ports": strs("8188"), "entrypoint": strs("/bin/sh", "-c"), "cmd": strs("echo default"),
		})
		pr := th.plan(cfg)
		if th.action(pr) != providers.Create || pr.Reason != "not run yet" {
			t.Errorf("first plan: %s %q", th.action(pr), pr.Reason)
		}
		ar := th.run(cfg)
		if ar.Diagnostics.HasErrors() {
			t.Fatalf("run: %v\n%s", ar.Diagnostics, th.out.String())
		}
		// Neither CI daemon has GPUs: the command runs without, and says so.
		var gpuNote string
		for _, d := range ar.Diagnostics {
			if d.Summary == "GPUs not available to the test" {
				gpuNote = d.Detail
			}
		}
		if !strings.Contains(gpuNote, `command gpu: gpus = "all" ignored: `) || !results(th.state)["command gpu: exit code"] {
			t.Errorf("gpus on a host without them: note %q, results %v", gpuNote, results(th.state))
		}
		wantRunner := runnerEngine
		if be.name == "buildkit" {
			wantRunner = runnerBuildKit
		}
		if got := th.state.GetAttr("runner").AsString(); got != wantRunner {
			t.Errorf("runner = %q, want %q", got, wantRunner)
		}
		if got := th.state.GetAttr("image_id").AsString(); got != id {
			t.Errorf("image_id = %s, want %s", got, id)
		}
		if got := th.state.GetAttr("stdout").Index(cty.StringVal("env")).AsString(); got != "bar x y /app" {
			t.Errorf("recorded stdout of command env = %q", got)
		}
		if !th.state.GetAttr("passed").True() {
			t.Errorf("passed = false: %v", results(th.state))
		}
		rs := results(th.state)
		for _, name := range []string{
			"command streams: exit code", "command streams: stdout", "command streams: stderr", "command env: stdout",
			"command default-exit: exit code", "file /app/backend: mode", "file /app/backend: owner", "file /app/backend: content",
			"file /app: owner", "file /nope: exists", "metadata: env FOO", "metadata: label org.example.role",
			"metadata: workdir", "metadata: user", "metadata: exposed port 8188/tcp", "metadata: entrypoint", "metadata: cmd",
		} {
			if passed, ok := rs[name]; !ok || !passed {
				t.Errorf("result %q: present %v, passed %v", name, ok, passed)
			}
		}
		if !strings.Contains(th.out.String(), "passed: ") || !strings.Contains(th.out.String(), wantRunner+" runner") {
			t.Errorf("output does not name the runner and verdict:\n%s", th.out.String())
		}

		// The same pair is up to date and is not run again.
		pr = th.plan(cfg)
		if th.action(pr) != providers.NoOp || pr.Reason != "up to date" {
			t.Errorf("re-plan: %s %q", th.action(pr), pr.Reason)
		}
		// A changed definition runs again, and says why.
		changed := th.config(id, map[string]cty.Value{"default-exit": command([]string{"true"}, nil, "", nil)}, nil, nil)
		if pr := th.plan(changed); th.action(pr) != providers.Replace || pr.Reason != "test definition changed" {
			t.Errorf("plan after a definition change: %s %q", th.action(pr), pr.Reason)
		}
		// Another image runs again, and says why.
		other := th.config(be.base, map[string]cty.Value{"default-exit": command([]string{"true"}, nil, "", nil)}, nil, nil)
		if pr := th.plan(other); th.action(pr) != providers.Replace || pr.Reason != "image changed" {
			t.Errorf("plan for another image: %s %q", th.action(pr), pr.Reason)
		}
	})
}

func TestIntegrationImageTestFails(t *testing.T) {
	forEachBackend(t, func(t *testing.T, be itBackend) {
		h, id := imageForTests(t, be)
		th := newTestHarness(t, h.p)
		cfg := th.config(id, map[string]cty.Value{
			"deps":    command([]string{"sh", "-c", `echo "Traceback (most recent call last):" >&2; echo "ModuleNotFoundError: No module named 'mmcv'" >&2; exit 1`}, nil, "", nil),
			"missing": command([]string{"python", "-c", "import torch"}, nil, "", nil),
			"slow":    command([]string{"sleep", "30"}, nil, "1s", nil),
			"words": command([]string{"echo", "flash_attn"}, nil, "", map[string]cty.Value{
				"stdout": strs("sdpa"), "stdout_excludes": strs("flash"),
			}),
		}, map[string]cty.Value{
			"/app/backend": file(map[string]cty.Value{"mode": cty.StringVal("0644"), "owner": cty.StringVal("0:0"), "content": cty.StringVal("backend=flash_attn")}),
			"/etc/passwd":  file(map[string]cty.Value{"exists": cty.False}),
			"/missing":     file(nil),
			"/app/other":   file(map[string]cty.Value{"owner": cty.StringVal("nobody-here")}),
		}, map[string]cty.Value{"env": strMap("FOO", "baz", "UNSET_ONE", "1"), "user": cty.StringVal("app")})
		ar := th.run(cfg)
		if !ar.Diagnostics.HasErrors() {
			t.Fatalf("a failing test reported no error:\n%s", th.out.String())
		}
		var detail string
		for _, d := range ar.Diagnostics {
			if d.Summary == "Image test failed" {
				detail = d.Detail
			}
		}
		for _, want := range []string{
			"command deps: exit code: expected 0, got 1; stderr: ModuleNotFoundError: No module named 'mmcv'",
			"command missing: exit code: expected 0, got no exit code: it did not start:",
			"command slow: timeout: expected finishes within 1s, got still running after 1s, killed",
			`command words: stdout: expected matches /sdpa/, got "flash_attn"`,
			`command words: stdout: expected no match for /flash/, got matched "flash_attn"`,
			"file /app/backend: mode: expected 0644, got 0750",
			"file /app/backend: owner: expected 0:0, got 1000:1000 (app:app)",
			`file /app/backend: content: expected matches /backend=flash_attn/, got "backend=sdpa\nversion=2"`,
			"file /etc/passwd: exists: expected absent, got present (a regular file)",
			"file /missing: exists: expected present, got absent",
			`metadata: env FOO: expected "baz", got "bar"`,
			`metadata: env UNSET_ONE: expected "1", got unset`,
			`metadata: user: expected "app", got ""`,
		} {
			if !strings.Contains(detail, want) {
				t.Errorf("failure detail lacks %q:\n%s", want, detail)
			}
		}
		if strings.Contains(detail, "nobody-here") {
			t.Errorf("an absent file's owner was judged: %s", detail)
		}
		if !strings.Contains(detail, id[:19]) {
			t.Errorf("failure detail does not name the image %s: %s", id, detail)
		}
		// The failed run is recorded, and the next plan runs it again.
		if th.state.IsNull() || th.state.GetAttr("passed").True() {
			t.Fatalf("failed run not recorded as failed: %#v", th.state)
		}
		if pr := th.plan(cfg); th.action(pr) != providers.Replace || pr.Reason != "the last run failed" {
			t.Errorf("plan after a failed run: %s %q", th.action(pr), pr.Reason)
		}
	})
}

// TestIntegrationImageTestUnpushed tests, by ID, an image that a
// standalone BuildKit keeps in its own store (no push): the provider that
// built or read it knows its tag; a provider that never saw it says what
// to write instead.
func TestIntegrationImageTestUnpushed(t *testing.T) {
	addr := testenv.BuildKit(t)
	base := testenv.BaseImage(t)
	reg := testenv.Registry(t)
	h := newHarness(t, map[string]cty.Value{"buildkit": cty.StringVal(addr)}, map[string]string{
		"Dockerfile": "FROM " + base + "\nRUN echo " + nonce() + " > /nonce && echo local > /where\n",
	})
	tag := reg + "/sdform-it/unpushed:" + nonce()
	h.mustBuild(h.image(map[string]cty.Value{"tags": strs(tag)}))
	id := h.attr("id")
	cfg := (&testHarness{}).config(id, map[string]cty.Value{
		"where": command([]string{"cat", "/where"}, nil, "", map[string]cty.Value{"stdout": strs("^local$")}),
	}, nil, nil)

	th := newTestHarness(t, h.p)
	if ar := th.run(cfg); ar.Diagnostics.HasErrors() {
		t.Fatalf("run on the provider that built the image: %v\n%s", ar.Diagnostics, th.out.String())
	}
	if got := th.state.GetAttr("image_id").AsString(); got != id {
		t.Errorf("tested %s, want %s", got, id)
	}

	// A fresh provider learns the tag from the image's state, as the
	// engine's refresh or plan of docker_image gives it.
	fresh := newHarness(t, map[string]cty.Value{"buildkit": cty.StringVal(addr)}, nil)
	th2 := newTestHarness(t, fresh.p)
	ar := th2.run(cfg)
	if !ar.Diagnostics.HasErrors() || !strings.Contains(ar.Diagnostics[0].Detail, "no docker_image of this configuration names this ID") {
		t.Fatalf("an unknown ID on a standalone BuildKit: %v", ar.Diagnostics)
	}
	fresh.p.ReadResource(context.Background(), providers.ReadRequest{TypeName: "docker_image", Address: "docker_image.x", Prior: h.state, Private: h.private})
	if ar := th2.run(cfg); ar.Diagnostics.HasErrors() {
		t.Fatalf("run after the image's refresh: %v", ar.Diagnostics)
	}
}

// TestIntegrationImageTestRemovesVolumes: an image that declares VOLUME
// gives each container an anonymous volume. The Engine runner removes them
// with its containers, as `docker run --rm` does; a GPU box that runs the
// tests at every apply must not fill up with them. The Engine's volume
// events of the run tell which volumes it created.
func TestIntegrationImageTestRemovesVolumes(t *testing.T) {
	forEachBackend(t, func(t *testing.T, be itBackend) {
		if be.engine == nil {
			t.Skip("only the Engine runner creates containers with volumes")
		}
		h := newHarness(t, be.provider, map[string]string{"Dockerfile": "FROM " + be.base + "\nRUN echo " + nonce() + " > /n\nVOLUME /data\n"})
		h.mustBuild(h.image(nil))
		t.Cleanup(func() { be.engine.ImageRemove(context.Background(), h.attr("id"), mobyclient.ImageRemoveOptions{}) })
		th := newTestHarness(t, h.p)
		cfg := th.config(h.attr("id"), map[string]cty.Value{
			"a": command([]string{"true"}, nil, "", nil),
			"b": command([]string{"true"}, nil, "", nil),
		}, map[string]cty.Value{"/n": file(nil)}, nil)
		since := time.Now().Add(-time.Second)
		if ar := th.run(cfg); ar.Diagnostics.HasErrors() {
			t.Fatal(ar.Diagnostics)
		}
		until := time.Now().Add(time.Second)
		time.Sleep(time.Until(until))

		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		ev := be.engine.Events(ctx, mobyclient.EventsListOptions{
			Since: strconv.FormatInt(since.Unix(), 10), Until: strconv.FormatInt(until.Unix(), 10),
			Filters: mobyclient.Filters{}.Add("type", "volume").Add("event", "create", "destroy"),
		})
		created := map[string]bool{}
	read:
		for {
			select {
			case m, ok := <-ev.Messages:
				if !ok {
					break read
				}
				created[m.Actor.ID] = m.Action == "create"
			case err := <-ev.Err:
				if err != nil && !errors.Is(err, io.EOF) {
					t.Fatalf("read the Engine's events: %v", err)
				}
				break read
			}
		}
		if len(created) < 3 {
			t.Fatalf("the run created %d volumes, want one per container (3): the image's VOLUME did not apply", len(created))
		}
		var left []string
		for name, alive := range created {
			if alive {
				left = append(left, name)
			}
		}
		if len(left) > 0 {
			t.Errorf("the test's containers left %d anonymous volumes: %v", len(left), left)
			for _, name := range left {
				be.engine.VolumeRemove(context.Background(), name, mobyclient.VolumeRemoveOptions{})
			}
		}
	})
}
