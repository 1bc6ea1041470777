package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
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
	"github.com/sdform/sdform/planner/state"
	"github.com/zclconf/go-cty/cty"
)

func TestRollbackUsageAndRefusals(t *testing.T) {
	dir := configDir(t, map[string]string{"main.sdf.hcl": `resource "test_thing" "a" {
  name = "one"
}
`})
	if r := sdform(t, dir, "apply", "-auto-approve"); r.code != exitOK {
		t.Fatalf("apply: %s", r)
	}
	tests := map[string]struct {
		args     []string
		wantCode int
		wantErr  string
	}{
		"no address":     {args: []string{"rollback"}, wantCode: exitError, wantErr: "give exactly one address"},
		"two addresses":  {args: []string{"rollback", "test_thing.a", "test_thing.b"}, wantCode: exitError, wantErr: "give exactly one address"},
		"not in state":   {args: []string{"rollback", "test_thing.b"}, wantCode: exitError, wantErr: "test_thing.b is not in the state, so there is nothing to roll back (recorded: test_thing.a)"},
		"provider can't": {args: []string{"rollback", "test_thing.a"}, wantCode: exitError, wantErr: "The test provider cannot roll back test_thing.a"},
		"help":           {args: []string{"rollback", "-h"}, wantCode: exitOK},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			r := sdform(t, dir, tc.args...)
			if r.code != tc.wantCode || !strings.Contains(strings.Join(strings.Fields(r.stderr), " "), tc.wantErr) {
				t.Errorf("exit %d, want %d with %q:\n%s", r.code, tc.wantCode, tc.wantErr, r)
			}
		})
	}
	if r := sdform(t, dir, "rollback", "-h"); !strings.Contains(r.stdout, "Usage: sdform rollback [options] ADDRESS") {
		t.Errorf("help:\n%s", r)
	}
	// Rollback writes the state, so it waits for the lock like apply.
	lock, err := state.Lock(context.Background(), filepath.Join(dir, ".sdform", "state.json"), "apply", time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer lock.Unlock()
	if r := sdform(t, dir, "rollback", "-lock-timeout=100ms", "test_thing.a"); r.code != exitError || !strings.Contains(r.stderr, "State is locked") {
		t.Errorf("rollback with the state locked:\n%s", r)
	}
}

// rollbackBackend is one real builder for the end-to-end test.
type rollbackBackend struct {
	name     string
	provider string // the provider block
	base     string
	repo     string
	push     bool
	// lookup returns what a tag names now: the Engine's image ID, or the
	// registry's manifest digest; "" when it names nothing.
	lookup func(ref string) string
	// key is the state attribute lookup answers in ("id" or "digest").
	key string
	// msgKey is what rollback prints per tag: Engine image IDs where the
	// Engine holds the tags, registry digests on a standalone BuildKit.
	msgKey string
}

// registryLookup answers what a tag names in a plain-HTTP registry.
func registryLookup(t *testing.T) func(ref string) string {
	return func(ref string) string {
		n, err := name.ParseReference(ref, name.Insecure)
		if err != nil {
			t.Fatal(err)
		}
		d, err := remote.Head(n, remote.WithContext(context.Background()))
		if err != nil {
			return ""
		}
		return d.Digest.String()
	}
}

func rollbackBackends(t *testing.T, fn func(t *testing.T, be rollbackBackend)) {
	// The Engine pushes: tags move in the Engine and in the registry, and
	// rollback pushes the previous image back.
	t.Run("docker-push", func(t *testing.T) {
		host := testenv.DockerHost(t)
		reg := testenv.Registry(t)
		be := rollbackBackend{name: "docker-push", provider: fmt.Sprintf("provider \"docker\" {\n  docker_host = %q\n}\n", host),
			base: testenv.DockerBaseImage(t), repo: reg + "/sdform-it/rollback-engine", push: true, key: "digest", msgKey: "id", lookup: registryLookup(t)}
		fn(t, be)
	})
	t.Run("docker", func(t *testing.T) {
		host := testenv.DockerHost(t)
		c, err := mobyclient.New(mobyclient.WithHost(host))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		be := rollbackBackend{name: "docker", provider: fmt.Sprintf("provider \"docker\" {\n  docker_host = %q\n}\n", host),
			base: testenv.DockerBaseImage(t), repo: "sdform-it/rollback", key: "id", msgKey: "id"}
		be.lookup = func(ref string) string {
			res, err := c.ImageInspect(context.Background(), ref)
			if err != nil {
				return ""
			}
			return res.ID
		}
		fn(t, be)
	})
	t.Run("buildkit", func(t *testing.T) {
		addr := testenv.BuildKit(t)
		reg := testenv.Registry(t)
		be := rollbackBackend{name: "buildkit", provider: fmt.Sprintf("provider \"docker\" {\n  buildkit = %q\n}\n", addr),
			base: testenv.BaseImage(t), repo: reg + "/sdform-it/rollback", push: true, key: "digest", msgKey: "digest", lookup: registryLookup(t)}
		fn(t, be)
	})
}

// TestRollbackEndToEnd runs the release cycle through the CLI against real
// builders: promotion waits for the image's test and check, a failure
// leaves the tag alone and keeps the candidate, a passing apply moves the
// tag, rollback moves it back, and plan then says why it would build again.
func TestRollbackEndToEnd(t *testing.T) {
	rollbackBackends(t, func(t *testing.T, be rollbackBackend) {
		stamp := strconv.FormatInt(time.Now().UnixNano(), 36)
		tag, plainTag := be.repo+":app-"+stamp, be.repo+":plain-"+stamp
		dir := configDir(t, map[string]string{
			"main.sdf.hcl": be.provider + fmt.Sprintf(`
variable "v" {
  type = string
}
variable "expect" {
  type = string
}
variable "gate" {
  type    = bool
  default = true
}

resource "docker_image" "app" {
  tags = [%q]
  push = %v
  args = { V = var.v }
}

resource "docker_image" "plain" {
  context = "plain"
  tags    = [%q]
  push    = %v
}

resource "docker_image_test" "version" {
  image = docker_image.app.id
  command "version" {
    run = ["cat", "/version"]
    expect {
      stdout = ["^${var.expect}$"]
    }
  }
}

output "app_id" {
  value = docker_image.app.id
}

check "gate" {
  assert {
    condition     = docker_image.app.size > 0 && var.gate
    error_message = "the release gate is closed"
  }
}
`, tag, be.push, plainTag, be.push),
			"Dockerfile":       "FROM " + be.base + "\nARG V\nRUN echo \"$V\" > /version && echo " + stamp + " > /stamp\n",
			"plain/Dockerfile": "FROM " + be.base + "\nRUN echo plain-" + stamp + " > /plain\n",
		})
		recorded := func(addr, attr string) string {
			t.Helper()
			st, err := state.Load(filepath.Join(dir, ".sdform", "state.json"))
			if err != nil {
				t.Fatal(err)
			}
			rs := st.Resource(addr)
			if rs == nil {
				t.Fatalf("%s not in state", addr)
			}
			v := rs.Value.GetAttr(attr)
			if v.IsNull() {
				return ""
			}
			return v.AsString()
		}
		apply := func(wantCode int, vars ...string) result {
			t.Helper()
			args := []string{"apply", "-auto-approve", "-no-color"}
			for _, v := range vars {
				args = append(args, "-var", v)
			}
			r := sdform(t, dir, args...)
			if r.code != wantCode {
				t.Fatalf("apply %v: exit %d, want %d:\n%s", vars, r.code, wantCode, r)
			}
			return r
		}

		// v1 passes its test: the tag moves to it, and the image without
		// tests is promoted at once.
		apply(exitOK, "v=1", "expect=1")
		v1, v1msg := recorded("docker_image.app", be.key), recorded("docker_image.app", be.msgKey)
		if got := be.lookup(tag); got == "" || got != v1 {
			t.Fatalf("%s after the first apply names %q, want v1 %s", tag, got, v1)
		}
		if got := be.lookup(plainTag); got == "" || got != recorded("docker_image.plain", be.key) {
			t.Errorf("the image without tests was not promoted: %s names %q", plainTag, got)
		}
		if be.name == "docker" && be.lookup(candidate(plainTag, "docker_image.plain")) != "" {
			t.Errorf("the candidate tag of a promoted image was left")
		}
		// Nothing changed: the re-plan is a no-op.
		if r := sdform(t, dir, "plan", "-detailed-exitcode", "-no-color", "-var", "v=1", "-var", "expect=1"); r.code != exitOK {
			t.Errorf("re-plan after success: exit %d, want 0 (no changes):\n%s", r.code, r)
		}

		// v2 fails its test: the tag stays on v1, the candidate holds v2,
		// and the output says so with what the test saw.
		r := apply(exitError, "v=2", "expect=1")
		all := r.stdout + r.stderr
		for _, want := range []string{
			"tags of docker_image.app not moved: docker_image_test.version failed",
			`command version: stdout: expected matches /^1$/, got "2"`,
			"-sdform-candidate",
		} {
			if !strings.Contains(all, want) {
				t.Errorf("failed apply output lacks %q:\n%s", want, r)
			}
		}
		if got := be.lookup(tag); got != v1 {
			t.Errorf("%s after a failed test names %s, want v1 %s", tag, got, v1)
		}
		v2 := recorded("docker_image.app", be.key)
		if v2 == v1 {
			t.Fatalf("v2 is v1 (%s)", v1)
		}
		if got := be.lookup(candidate(tag, "docker_image.app")); got != v2 {
			t.Errorf("candidate tag names %q, want v2 %s", got, v2)
		}

		// The test passes but a check on the image fails: still no move.
		r = apply(exitError, "v=2", "expect=2", "gate=false")
		if !strings.Contains(r.stdout+r.stderr, "check.gate") {
			t.Errorf("failed check not named:\n%s", r)
		}
		if got := be.lookup(tag); got != v1 {
			t.Errorf("%s after a failed check names %s, want v1 %s", tag, got, v1)
		}

		// Everything passes: the tag moves to v2.
		apply(exitOK, "v=2", "expect=2")
		v2msg, v2id := recorded("docker_image.app", be.msgKey), recorded("docker_image.app", "id")
		if got := recordedOutput(t, dir, "app_id"); got != v2id {
			t.Errorf("output app_id after promoting v2 = %q, want %q", got, v2id)
		}
		if got := be.lookup(tag); got != v2 {
			t.Fatalf("%s after a passing apply names %s, want v2 %s", tag, got, v2)
		}

		// Rollback: the tag names v1 again, both digests are printed, and
		// the next plan says why it would build and promote v2 again.
		r = sdform(t, dir, "rollback", "-no-color", "docker_image.app")
		if r.code != exitOK {
			t.Fatalf("rollback: %s", r)
		}
		if got := be.lookup(tag); got != v1 {
			t.Errorf("%s after rollback names %s, want v1 %s", tag, got, v1)
		}
		if want := "docker_image.app: tag " + tag + ": " + shortDigest(v2msg) + " -> " + shortDigest(v1msg) + "\n"; !strings.Contains(r.stdout, want) {
			t.Errorf("rollback output lacks %q:\n%s", want, r)
		}
		if got := recorded("docker_image.app", be.key); got != v1 {
			t.Errorf("state after rollback records %s, want v1 %s", got, v1)
		}
		// The output computed from the image says what the tags name now.
		if got, want := recordedOutput(t, dir, "app_id"), recorded("docker_image.app", "id"); got != want || got == v2id {
			t.Errorf("output app_id after rollback = %q, want the rolled-back image's id %q (not v2's %q)", got, want, v2id)
		}
		planAfterRollback := func(when string) {
			t.Helper()
			r := sdform(t, dir, "plan", "-detailed-exitcode", "-no-color", "-var", "v=2", "-var", "expect=2")
			if r.code != exitChanges || !strings.Contains(r.stdout, "docker_image.app will be rebuilt: rolled back by `sdform rollback`") {
				t.Errorf("plan %s: exit %d, want 2 with the rollback as reason:\n%s", when, r.code, r)
			}
			// docker_image_test.version's record still names v2 (the
			// test ran on it); the image and the output must not.
			if want := "~ app_id = " + strconv.Quote(recorded("docker_image.app", "id")) + " -> (known after apply)"; !strings.Contains(r.stdout, want) {
				t.Errorf("plan %s lacks %q:\n%s", when, want, r)
			}
		}
		planAfterRollback("after rollback")

		// A second rollback moves nothing: the tag already names v1, and
		// it must not go forward to v2 again.
		r = sdform(t, dir, "rollback", "-no-color", "docker_image.app")
		if want := "docker_image.app: tags already point to the previous build " + shortDigest(v1msg) + "; nothing to roll back\n"; r.code != exitOK || !strings.Contains(r.stdout, want) || !strings.Contains(r.stdout, "Nothing rolled back") {
			t.Errorf("second rollback: exit %d, want 0 and %q:\n%s", r.code, want, r)
		}
		if got := be.lookup(tag); got != v1 {
			t.Errorf("%s after a second rollback names %s, want v1 %s", tag, got, v1)
		}
		planAfterRollback("after a second rollback")

		// Applying promotes v2 again, and rollback then goes back to v1:
		// the digest recorded before that promotion.
		apply(exitOK, "v=2", "expect=2")
		if got := be.lookup(tag); got != v2 {
			t.Fatalf("%s after applying again names %s, want v2 %s", tag, got, v2)
		}
		if got := recordedOutput(t, dir, "app_id"); got != v2id {
			t.Errorf("output app_id after applying again = %q, want v2's %q", got, v2id)
		}
		r = sdform(t, dir, "rollback", "-no-color", "docker_image.app")
		if want := "docker_image.app: tag " + tag + ": " + shortDigest(v2msg) + " -> " + shortDigest(v1msg) + "\n"; r.code != exitOK || !strings.Contains(r.stdout, want) {
			t.Errorf("rollback after applying again: want %q:\n%s", want, r)
		}
		if got := be.lookup(tag); got != v1 {
			t.Errorf("%s after rolling back again names %s, want v1 %s", tag, got, v1)
		}

		// The image without tests never had a previous target.
		r = sdform(t, dir, "rollback", "docker_image.plain")
		if r.code != exitError || !strings.Contains(r.stderr, "Nothing to roll back") {
			t.Errorf("rollback of a first promotion: %s", r)
		}
	})
}

// shortDigest is how messages abbreviate a digest: "sha256:" and 12 hex
// digits.
func shortDigest(d string) string {
	algo, hex, _ := strings.Cut(d, ":")
	if len(hex) > 12 {
		hex = hex[:12]
	}
	return algo + ":" + hex
}

// recordedOutput is the string value of output name in dir's state.
func recordedOutput(t *testing.T, dir, name string) string {
	t.Helper()
	st, err := state.Load(filepath.Join(dir, ".sdform", "state.json"))
	if err != nil {
		t.Fatal(err)
	}
	o := st.Outputs[name]
	if o == nil || o.Value.IsNull() || !o.Value.Type().Equals(cty.String) {
		t.Fatalf("output %s in state: %#v", name, o)
	}
	return o.Value.AsString()
}

// candidate is the tag the docker provider builds an object's image under
// until its tests pass: the tag, "-sdform-candidate-" and 12 hex digits of
// the sha256 of the object's address.
func candidate(tag, address string) string {
	sum := sha256.Sum256([]byte(address))
	return tag + "-sdform-candidate-" + hex.EncodeToString(sum[:6])
}
