package planner_test

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/hcl/v2"
	"github.com/sdform/sdform/internal/testprovider"
	"github.com/sdform/sdform/lang"
	"github.com/sdform/sdform/planner"
	"github.com/sdform/sdform/planner/plan"
	"github.com/sdform/sdform/planner/state"
	"github.com/zclconf/go-cty/cty"
)

func eventsByAddr(events []testprovider.Event) map[string]testprovider.Event {
	out := map[string]testprovider.Event{}
	for _, e := range events {
		out[e.Address] = e
	}
	return out
}

func TestParallelWalkOrder(t *testing.T) {
	cfg := `
resource "test_thing" "a" {
  name  = "a"
  sleep = "150ms"
}
resource "test_thing" "b" {
  name  = test_thing.a.out
  sleep = "10ms"
}
resource "test_thing" "c" {
  name  = "c"
  sleep = "150ms"
}
resource "test_test" "t" {
  target = test_thing.b.id
}
`
	tests := map[string]struct {
		parallelism int
		overlap     bool
	}{
		"independent objects overlap":      {parallelism: 4, overlap: true},
		"parallelism 1 runs one at a time": {parallelism: 1, overlap: false},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			f := newFixture(t, map[string]string{"main.sdf.hcl": cfg})
			f.mustApply(plan.Options{Refresh: true, Parallelism: tc.parallelism})
			ev := eventsByAddr(f.prov.EventsOf("apply"))
			a, b, c, tt := ev["test_thing.a"], ev["test_thing.b"], ev["test_thing.c"], ev["test_test.t"]
			if b.Start.Before(a.End) {
				t.Errorf("b started %v before a finished", a.End.Sub(b.Start))
			}
			if tt.Start.Before(b.End) {
				t.Errorf("t started before b finished")
			}
			overlap := a.Start.Before(c.End) && c.Start.Before(a.End)
			if overlap != tc.overlap {
				t.Errorf("a [%v, %v] and c [%v, %v] overlap = %v, want %v", a.Start, a.End, c.Start, c.End, overlap, tc.overlap)
			}
		})
	}
}

func TestFailureStopsDependentsNotNeighbours(t *testing.T) {
	f := newFixture(t, map[string]string{"main.sdf.hcl": `
resource "test_thing" "a" {
  name = "a"
  fail = true
}
resource "test_thing" "b" { name = test_thing.a.out }
locals { via = test_thing.b.out }
resource "test_thing" "d" { name = local.via }
resource "test_thing" "c" {
  name  = "c"
  sleep = "20ms"
}
`})
	var mu sync.Mutex
	skips := map[string]string{}
	done := map[string]error{}
	hooks := planner.Hooks{
		Skip: func(addr, reason string) { mu.Lock(); skips[addr] = reason; mu.Unlock() },
		Done: func(addr string, a plan.Action, err error, d time.Duration) { mu.Lock(); done[addr] = err; mu.Unlock() },
	}
	c := f.context()
	st := f.state()
	p, diags := c.Plan(context.Background(), st, defaultOpts())
	if diags.HasErrors() {
		t.Fatal(diagString(diags))
	}
	res, diags := c.Apply(context.Background(), p, st, f.persist, hooks)
	if strings.Join(res.Failed, ",") != "test_thing.a" || strings.Join(res.Succeeded, ",") != "test_thing.c" ||
		strings.Join(res.Skipped, ",") != "test_thing.b,test_thing.d" {
		t.Fatalf("failed %v succeeded %v skipped %v", res.Failed, res.Succeeded, res.Skipped)
	}
	if err := res.Errors["test_thing.a"]; err == nil || !strings.HasPrefix(err.Error(), "apply test_thing.a: Apply failed") {
		t.Errorf("error = %v", err)
	}
	for _, addr := range []string{"test_thing.b", "test_thing.d"} {
		// The CLI prints "ADDR: Skipped: REASON": the reason does not
		// repeat the word.
		want := "depends on test_thing.a, which failed"
		if skips[addr] != want || res.SkipReasons[addr] != want {
			t.Errorf("%s skip reason = %q / %q", addr, skips[addr], res.SkipReasons[addr])
		}
	}
	if done["test_thing.a"] == nil || done["test_thing.c"] != nil {
		t.Errorf("Done hook errors: %v", done)
	}
	if !hasDiag(diags, hcl.DiagError, "test_thing.a: Apply failed") {
		t.Errorf("provider diagnostic not returned: %s", diagString(diags))
	}
	st = f.state()
	if st.Resource("test_thing.c") == nil || st.Resource("test_thing.a") != nil || st.Resource("test_thing.b") != nil {
		t.Errorf("state holds %d objects", len(st.Resources))
	}
}

func TestStatePersistedAfterEachObject(t *testing.T) {
	f := newFixture(t, map[string]string{"main.sdf.hcl": `
resource "test_thing" "a" { name = "a" }
resource "test_thing" "b" { name = test_thing.a.out }
resource "test_thing" "c" { name = test_thing.b.out }
`})
	f.mustApply(defaultOpts())
	// one persist per object (a promotion persists too), then one final
	promotions := len(f.prov.EventsOf("promote"))
	if want := 3 + promotions + 1; f.persists != want {
		t.Errorf("persist called %d times, want %d", f.persists, want)
	}
	for i, want := range []string{"test_thing.a", "test_thing.b", "test_thing.c"} {
		st := f.savedState(i)
		if len(st.Resources) != i+1 || st.Resource(want) == nil {
			t.Errorf("after persist %d the state holds %d objects, want %s among %d", i+1, len(st.Resources), want, i+1)
		}
		if st.Resource(want).Fingerprint != "" || st.Resource(want).Provider != "test" || len(st.Resource(want).Dependencies) != i {
			t.Errorf("%s recorded as %+v", want, st.Resource(want))
		}
	}
}

func (f *fixture) savedState(i int) *state.File {
	f.t.Helper()
	p := f.t.TempDir() + "/s.json"
	must(f.t, os.WriteFile(p, f.saved[i], 0o600))
	st, err := state.Load(p)
	must(f.t, err)
	return st
}

func TestSensitiveNeverStoredInClear(t *testing.T) {
	const secret = "hunter2-very-secret"
	cfg := `
variable "token" {
  type      = string
  sensitive = true
}
resource "test_thing" "a" {
  name   = "a"
  secret = "schema-sensitive-${var.token}"
  tags   = ["plain", "tag-${var.token}"]
}
data "test_data" "d" { input = "x" }
output "tok" {
  value     = var.token
  sensitive = true
}
`
	f := newFixture(t, map[string]string{"main.sdf.hcl": cfg})
	p, _ := f.mustApply(defaultOpts(), "token="+secret)
	saved, err := plan.Marshal(p)
	must(t, err)
	if bytes.Contains(saved, []byte(secret)) {
		t.Errorf("saved plan holds the secret in clear")
	}
	if bytes.Contains(saved, []byte("s3cr3t-x")) {
		t.Errorf("saved plan holds a sensitive data attribute in clear")
	}
	ch := change(t, p, "test_thing.a")
	var paths []string
	for _, sp := range ch.SensitivePaths {
		paths = append(paths, plan.FormatPath(sp))
	}
	if !contains(paths, "secret") || !contains(paths, "tags[1]") {
		t.Errorf("sensitive paths = %v, want secret and tags[1]", paths)
	}
	if len(f.saved) == 0 {
		t.Fatal("nothing persisted")
	}
	for i, b := range f.saved {
		if bytes.Contains(b, []byte(secret)) || bytes.Contains(b, []byte("s3cr3t-x")) {
			t.Errorf("state write %d holds a secret in clear", i+1)
		}
	}
	st := f.state()
	if tag := attr(st.Resource("test_thing.a").Value, "tags").Index(ctyInt(1)).AsString(); !planner.IsRedacted(tag) {
		t.Errorf("tags[1] stored as %q", tag)
	}
	if planner.IsRedacted(attr(st.Resource("test_thing.a").Value, "tags").Index(ctyInt(0)).AsString()) {
		t.Errorf("tags[0] redacted although not sensitive")
	}
	// Same secret: nothing to do. Another secret: an update that names
	// the attribute but shows no value.
	if a := actions(f.plan(defaultOpts(), "token="+secret))["test_thing.a"]; a != plan.NoOp {
		t.Errorf("same secret plans %s: %s", a, change(t, f.plan(defaultOpts(), "token="+secret), "test_thing.a").Reason)
	}
	p2 := f.plan(defaultOpts(), "token=other")
	c2 := change(t, p2, "test_thing.a")
	if c2.Action != plan.Update || c2.Reason != "secret and tags[1] changed" {
		t.Errorf("new secret: %s %q", c2.Action, c2.Reason)
	}
	if _, ok := p2.Variables["token"]; ok {
		t.Errorf("plan keeps the sensitive variable")
	}
}

func TestStaleSavedPlan(t *testing.T) {
	cfg := `
resource "test_thing" "a" {
  name       = file("name.txt")
  input_file = "in.txt"
}
resource "test_thing" "other" { name = "o" }
`
	tests := map[string]struct {
		change func(f *fixture)
		want   string
	}{
		"nothing changed": {change: func(*fixture) {}},
		"state serial moved": {
			change: func(f *fixture) {
				st := f.state()
				must(t, f.persist(st))
			},
			want: "saved plan is stale: the state changed since the plan was made (serial ",
		},
		"config file changed": {
			change: func(f *fixture) { f.write("main.sdf.hcl", cfg+"\n# a comment\n") },
			want:   "saved plan is stale: the configuration or an input file changed since the plan was made",
		},
		"file read by file() changed": {
			change: func(f *fixture) { f.write("name.txt", "n2") },
			want:   "saved plan is stale: the configuration or an input file changed since the plan was made",
		},
		"provider fingerprint changed": {
			change: func(f *fixture) { f.write("in.txt", "v3") },
			want:   "saved plan is stale: inputs of test_thing.a changed since the plan was made",
		},
		"variable changed": {
			change: func(f *fixture) {},
			want:   "saved plan is stale: the configuration or an input file changed since the plan was made",
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			f := newFixture(t, map[string]string{"main.sdf.hcl": cfg, "name.txt": "n1", "in.txt": "v1"})
			f.mustApply(defaultOpts())
			f.write("in.txt", "v2") // something to do
			p := f.plan(defaultOpts())
			if actions(p)["test_thing.a"] != plan.Replace {
				t.Fatalf("setup: %v", actions(p))
			}
			b, err := plan.Marshal(p)
			must(t, err)
			tc.change(f)
			saved, err := plan.Unmarshal(b)
			must(t, err)
			var vars []string
			if name == "variable changed" {
				f.write("main.sdf.hcl", strings.Replace(cfg, "resource", "variable \"v\" {\n  default = \"x\"\n}\nresource", 1))
				saved2 := f.plan(defaultOpts())
				b, _ = plan.Marshal(saved2)
				saved, _ = plan.Unmarshal(b)
				vars = []string{"v=y"}
			}
			before := len(f.prov.EventsOf("apply"))
			res, diags := f.context(vars...).Apply(context.Background(), saved, f.state(), f.persist, noopHooks())
			if tc.want == "" {
				if diags.HasErrors() || len(res.Succeeded) != 1 {
					t.Fatalf("fresh saved plan refused: %s %v", diagString(diags), res.Errors)
				}
				return
			}
			if !diags.HasErrors() || !strings.HasPrefix(diags[0].Summary, tc.want) {
				t.Fatalf("diagnostics = %s, want %q", diagString(diags), tc.want)
			}
			if n := len(f.prov.EventsOf("apply")) - before; n != 0 {
				t.Errorf("a stale plan still applied %d objects", n)
			}
		})
	}
}

func TestChecks(t *testing.T) {
	cfg := `
resource "test_thing" "a" { name = "a" }
check "known_pass" {
  assert {
    condition     = test_thing.a.name == "a"
    error_message = "name is wrong"
  }
}
check "known_fail" {
  assert {
    condition     = length(test_thing.a.name) > 5
    error_message = "name ${test_thing.a.name} is too short"
  }
}
check "warn_only" {
  assert {
    condition     = test_thing.a.name == "b"
    error_message = "not b"
    severity      = "warning"
  }
}
check "after_apply" {
  assert {
    condition     = startswith(test_thing.a.id, "thing-")
    error_message = "bad id"
  }
}
`
	f := newFixture(t, map[string]string{"main.sdf.hcl": cfg})
	c := f.context()
	st := f.state()
	p, diags := c.Plan(context.Background(), st, defaultOpts())
	if diags.HasErrors() {
		t.Fatal(diagString(diags))
	}
	want := map[string]plan.CheckStatus{
		"check.known_pass": plan.CheckPass, "check.known_fail": plan.CheckFail,
		"check.warn_only": plan.CheckFail, "check.after_apply": plan.CheckUnknown,
	}
	for _, ch := range p.Checks {
		if ch.Status != want[ch.Address] {
			t.Errorf("plan: %s = %s, want %s", ch.Address, ch.Status, want[ch.Address])
		}
		if ch.Address == "check.known_fail" && (ch.Warning || strings.Join(ch.Messages, "") != "name a is too short") {
			t.Errorf("known_fail: %+v", ch)
		}
		if ch.Address == "check.warn_only" && !ch.Warning {
			t.Errorf("warn_only not a warning")
		}
	}
	if len(p.Checks) != 4 || !hasDiag(diags, hcl.DiagWarning, "check.known_fail failed") {
		t.Errorf("plan checks %d, diagnostics %s", len(p.Checks), diagString(diags))
	}
	res, diags := c.Apply(context.Background(), p, st, f.persist, noopHooks())
	if strings.Join(res.Failed, ",") != "check.known_fail" || res.Errors["check.known_fail"] == nil {
		t.Errorf("failed = %v", res.Failed)
	} else if got, want := res.Errors["check.known_fail"].Error(), "check.known_fail failed: name a is too short"; got != want {
		t.Errorf("check error = %q, want %q", got, want)
	}
	if !hasDiag(diags, hcl.DiagError, "check.known_fail failed") || !hasDiag(diags, hcl.DiagWarning, "check.warn_only failed") {
		t.Errorf("apply diagnostics: %s", diagString(diags))
	}
	want["check.after_apply"] = plan.CheckPass
	for _, ch := range res.Checks {
		if ch.Status != want[ch.Address] {
			t.Errorf("apply: %s = %s, want %s", ch.Address, ch.Status, want[ch.Address])
		}
	}
	stored := f.state()
	if ck := stored.Check("check.after_apply"); ck == nil || ck.Status != "pass" {
		t.Errorf("check result not stored: %+v", ck)
	}
}

func TestPromotion(t *testing.T) {
	cfg := `
resource "test_thing" "img" { name = "img" }
resource "test_thing" "other" { name = "other" }
resource "test_test" "ok" { target = test_thing.img.id }
resource "test_test" "bad" {
  target = test_thing.img.id
  fail   = %v
}
check "size" {
  assert {
    condition     = test_thing.img.name == "img"
    error_message = "wrong"
  }
}
`
	tests := map[string]struct {
		fail   bool
		passed bool
		failed []string
	}{
		"every test passed": {fail: false, passed: true},
		"a test failed":     {fail: true, passed: false, failed: []string{"test_test.bad"}},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			f := newFixture(t, map[string]string{"main.sdf.hcl": strings.Replace(cfg, "%v", map[bool]string{true: "true", false: "false"}[tc.fail], 1)})
			_, res, _ := f.apply(defaultOpts())
			var img *testprovider.Event
			for _, e := range f.prov.EventsOf("promote") {
				if e.Address == "test_thing.img" {
					e := e
					img = &e
				}
			}
			if img == nil {
				t.Fatal("test_thing.img was not promoted")
			}
			if img.Passed != tc.passed || strings.Join(img.Failed, ",") != strings.Join(tc.failed, ",") {
				t.Errorf("promote passed=%v failed=%v, want %v %v", img.Passed, img.Failed, tc.passed, tc.failed)
			}
			if ev := f.prov.EventsOf("apply"); img.Start.Before(eventsByAddr(ev)["test_test.ok"].End) {
				t.Errorf("promoted before the tests ran")
			}
			var pr *planner.Promotion
			for _, x := range res.Promotions {
				if x.Address == "test_thing.img" {
					pr = x
				}
			}
			if pr == nil || pr.Passed != tc.passed {
				t.Errorf("result promotions: %+v", res.Promotions)
			}
			if got := attr(f.state().Resource("test_thing.img").Value, "promoted").True(); got != tc.passed {
				t.Errorf("state promoted = %v", got)
			}
			// An object with no tests is promoted with Passed.
			if e := eventsByAddr(f.prov.EventsOf("promote"))["test_thing.other"]; !e.Passed {
				t.Errorf("test_thing.other promote: %+v", e)
			}
		})
	}
}

// TestPromotionAfterTestsFixed builds an object whose test (or check)
// fails, so that it is not promoted; the provider then plans an update "not
// promoted yet". When the test is fixed, applying that update must promote
// the object; while the test still fails, it must stay pending.
func TestPromotionAfterTestsFixed(t *testing.T) {
	const cfg = `
resource "test_thing" "img" { name = "img" }
resource "test_test" "t" {
  target = test_thing.img.id
  fail   = %s
}
check "c" {
  assert {
    condition     = test_thing.img.name == "img" && %s
    error_message = "check failed"
  }
}
`
	tests := map[string]struct {
		before, after [2]string // fail, condition
		passed        bool
		failed        []string
	}{
		"test fixed":     {before: [2]string{"true", "true"}, after: [2]string{"false", "true"}, passed: true},
		"check fixed":    {before: [2]string{"false", "false"}, after: [2]string{"false", "true"}, passed: true},
		"test still bad": {before: [2]string{"true", "true"}, after: [2]string{"true", "true"}, failed: []string{"test_test.t"}},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			f := newFixture(t, map[string]string{"main.sdf.hcl": fmt.Sprintf(cfg, tc.before[0], tc.before[1])})
			f.apply(defaultOpts())
			id := attr(f.state().Resource("test_thing.img").Value, "id").AsString()
			if pending, err := testprovider.PromotionPending(f.dataDir(), id); err != nil || !pending {
				t.Fatalf("after the failed test: pending = %v, %v; want pending", pending, err)
			}

			f.write("main.sdf.hcl", fmt.Sprintf(cfg, tc.after[0], tc.after[1]))
			p := f.plan(defaultOpts())
			if ch := change(t, p, "test_thing.img"); ch.Action != plan.Update || !strings.Contains(ch.Reason, "not promoted yet") {
				t.Fatalf("plan of the pending object: %s %q, want an update \"not promoted yet\"", ch.Action, ch.Reason)
			}
			before := len(f.prov.EventsOf("promote"))
			_, res, _ := f.apply(defaultOpts())
			var got *testprovider.Event
			for _, e := range f.prov.EventsOf("promote")[before:] {
				if e.Address == "test_thing.img" {
					got = &e
				}
			}
			if got == nil {
				t.Fatalf("test_thing.img was not promoted after its update; result %+v", res)
			}
			if got.Passed != tc.passed || strings.Join(got.Failed, ",") != strings.Join(tc.failed, ",") {
				t.Errorf("promote passed=%v failed=%v, want %v %v", got.Passed, got.Failed, tc.passed, tc.failed)
			}
			if v := attr(f.state().Resource("test_thing.img").Value, "promoted"); !v.RawEquals(cty.BoolVal(tc.passed)) {
				t.Errorf("state promoted = %#v, want %v", v, tc.passed)
			}
			if pending, err := testprovider.PromotionPending(f.dataDir(), id); err != nil || pending == tc.passed {
				t.Errorf("after the update: pending = %v, %v; want %v", pending, err, !tc.passed)
			}
			// The update kept the object: same id, no rebuild.
			if now := attr(f.state().Resource("test_thing.img").Value, "id").AsString(); now != id {
				t.Errorf("id changed from %s to %s: the update rebuilt the object", id, now)
			}

			want := plan.NoOp
			if !tc.passed {
				want = plan.Update
			}
			if a := actions(f.plan(defaultOpts()))["test_thing.img"]; a != want {
				t.Errorf("next plan: %s, want %s", a, want)
			}
		})
	}
}

func TestProviderConfiguredOnceAndClosed(t *testing.T) {
	f := newFixture(t, map[string]string{"main.sdf.hcl": `
variable "label" { default = "lbl" }
provider "test" { label = var.label }
resource "test_thing" "a" { name = "a" }
resource "test_thing" "b" { name = "b" }
data "test_data" "d" { input = "x" }
`})
	c := f.context()
	st := f.state()
	p, diags := c.Plan(context.Background(), st, defaultOpts())
	if diags.HasErrors() {
		t.Fatal(diagString(diags))
	}
	if _, d := c.Apply(context.Background(), p, st, f.persist, noopHooks()); d.HasErrors() {
		t.Fatal(diagString(d))
	}
	if n := f.prov.Configured(); n != 1 {
		t.Errorf("configured %d times", n)
	}
	if f.prov.Label() != "lbl" {
		t.Errorf("label = %q", f.prov.Label())
	}
	must(t, c.Close())
	if n := f.prov.Closed(); n != 1 {
		t.Errorf("closed %d times", n)
	}
}

func TestApplyCancelled(t *testing.T) {
	f := newFixture(t, map[string]string{"main.sdf.hcl": `
resource "test_thing" "slow" {
  name  = "slow"
  sleep = "5s"
}
resource "test_thing" "after" { name = test_thing.slow.out }
resource "test_thing" "quick" { name = "quick" }
`})
	c := f.context()
	st := f.state()
	p, diags := c.Plan(context.Background(), st, plan.Options{Refresh: true, Parallelism: 2})
	if diags.HasErrors() {
		t.Fatal(diagString(diags))
	}
	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		for i := 0; i < 200 && len(f.prov.EventsOf("apply")) == 0; i++ {
			time.Sleep(10 * time.Millisecond)
		}
		cancel()
	}()
	start := time.Now()
	res, _ := c.Apply(ctx, p, st, f.persist, noopHooks())
	if d := time.Since(start); d > 3*time.Second {
		t.Errorf("apply took %v after cancel", d)
	}
	if strings.Join(res.Succeeded, ",") != "test_thing.quick" || strings.Join(res.Failed, ",") != "test_thing.slow" ||
		strings.Join(res.Skipped, ",") != "test_thing.after" {
		t.Errorf("succeeded %v failed %v skipped %v", res.Succeeded, res.Failed, res.Skipped)
	}
	if f.state().Resource("test_thing.quick") == nil {
		t.Errorf("finished work was not persisted")
	}
}

func TestFreshStateAdoptsPlanLineage(t *testing.T) {
	f := newFixture(t, map[string]string{"main.sdf.hcl": `resource "test_thing" "a" { name = "a" }`})
	p := f.plan(defaultOpts())
	b, err := plan.Marshal(p)
	must(t, err)
	saved, err := plan.Unmarshal(b)
	must(t, err)
	st := f.state() // another fresh state, another lineage
	if st.Lineage == p.Lineage {
		t.Fatal("setup: lineages equal")
	}
	res, diags := f.context().Apply(context.Background(), saved, st, f.persist, noopHooks())
	if diags.HasErrors() || len(res.Succeeded) != 1 {
		t.Fatalf("%s %v", diagString(diags), res.Errors)
	}
	if f.state().Lineage != p.Lineage {
		t.Errorf("state lineage %s, want the plan's %s", f.state().Lineage, p.Lineage)
	}
}

// A plan made before any state, applied after another apply wrote one,
// is stale, and the message says the state was created, not replaced.
func TestSavedPlanBeforeFirstState(t *testing.T) {
	f := newFixture(t, map[string]string{"main.sdf.hcl": `resource "test_thing" "a" { name = "a" }`})
	p := f.plan(defaultOpts())
	b, err := plan.Marshal(p)
	must(t, err)
	f.mustApply(defaultOpts()) // another apply writes the first state
	saved, err := plan.Unmarshal(b)
	must(t, err)
	_, diags := f.context().Apply(context.Background(), saved, f.state(), f.persist, noopHooks())
	if want := "saved plan is stale: the plan was made before there was a state, and one was written since"; !diags.HasErrors() || !strings.HasPrefix(diags[0].Summary, want) {
		t.Errorf("diagnostics = %s, want %q", diagString(diags), want)
	}
}

var _ = lang.Version

// Apply plans every object once to check the saved plan is not stale; an
// object whose inputs are the same when its turn comes is not planned a
// second time (a weight's source is not asked again), while one whose
// configuration waited on another object's apply is.
func TestApplyReusesStalenessPlan(t *testing.T) {
	f := newFixture(t, map[string]string{"main.sdf.hcl": `
resource "test_thing" "a" {
  name = "a"
}
resource "test_thing" "b" {
  name = test_thing.a.id
}
`})
	p := f.plan(defaultOpts())
	before := len(f.prov.EventsOf("plan"))
	c := f.context()
	res, diags := c.Apply(context.Background(), p, f.state(), f.persist, planner.Hooks{})
	if diags.HasErrors() || len(res.Failed) > 0 {
		t.Fatalf("apply: %s %v", diagString(diags), res.Errors)
	}
	got := map[string]int{}
	for _, e := range f.prov.EventsOf("plan")[before:] {
		got[e.Address]++
	}
	want := map[string]int{"test_thing.a": 1, "test_thing.b": 2}
	for addr, n := range want {
		if got[addr] != n {
			t.Errorf("%s planned %d times during apply, want %d (all: %v)", addr, got[addr], n, got)
		}
	}
	st := f.state()
	if a, b := st.Resource("test_thing.a").Value.GetAttr("id"), st.Resource("test_thing.b").Value.GetAttr("name"); !b.RawEquals(a) {
		t.Errorf("b.name = %#v, want a's id %#v", b, a)
	}
}
