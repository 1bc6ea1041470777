package planner_test

import (
	"context"
	"sort"
	"strings"
	"testing"

	"github.com/hashicorp/hcl/v2"
	"github.com/sdform/sdform/internal/testprovider"
	"github.com/sdform/sdform/planner"
	"github.com/sdform/sdform/planner/plan"
	"github.com/zclconf/go-cty/cty"
)

const baseThing = `
resource "test_thing" "a" {
  name    = "a"
  variant = "fp8"
  args    = { STEADYDANCER_VARIANT = "fp8", ENABLE_FLASH_ATTN = "true" }
  step {
    name = "one"
    run  = "echo one"
  }
  port "http" {
    number = 8188
  }
}
`

// TestPlanActions applies a first configuration, then plans a second one
// and checks the action the engine decided, its reason and replace paths.
func TestPlanActions(t *testing.T) {
	tests := map[string]struct {
		before, after string
		files         map[string]string // written before the second plan
		addr          string
		action        plan.Action
		reason        string
		replacePaths  []string
	}{
		"unchanged": {
			before: baseThing, after: baseThing,
			addr: "test_thing.a", action: plan.NoOp,
		},
		"in-place attribute": {
			before: baseThing, after: strings.Replace(baseThing, `name    = "a"`, `name    = "a2"`, 1),
			addr: "test_thing.a", action: plan.Update, reason: "name changed",
		},
		"ForceNew attribute": {
			before: baseThing, after: strings.Replace(baseThing, `variant = "fp8"`, `variant = "fp16"`, 1),
			addr: "test_thing.a", action: plan.Replace, reason: "variant changed", replacePaths: []string{"variant"},
		},
		"RequiresReplace path from the provider": {
			before: baseThing, after: strings.Replace(baseThing, `STEADYDANCER_VARIANT = "fp8"`, `STEADYDANCER_VARIANT = "fp16"`, 1),
			addr: "test_thing.a", action: plan.Replace, reason: "args.STEADYDANCER_VARIANT changed", replacePaths: []string{"args.STEADYDANCER_VARIANT"},
		},
		"nested block list": {
			before: baseThing, after: strings.Replace(baseThing, `run  = "echo one"`, `run  = "echo uno"`, 1),
			addr: "test_thing.a", action: plan.Update, reason: "step[0].run changed",
		},
		"labelled block map": {
			before: baseThing, after: strings.Replace(baseThing, `number = 8188`, `number = 8189`, 1),
			addr: "test_thing.a", action: plan.Update, reason: "port.http.number changed",
		},
		"ignore_changes on a path": {
			before: baseThing,
			after: strings.Replace(strings.Replace(baseThing, `name    = "a"`, `name    = "a2"`, 1), "  port \"http\"",
				"  lifecycle {\n    ignore_changes = [name]\n  }\n  port \"http\"", 1),
			addr: "test_thing.a", action: plan.NoOp,
		},
		"ignore_changes on a map key keeps a replace away": {
			before: baseThing,
			after: strings.Replace(strings.Replace(baseThing, `STEADYDANCER_VARIANT = "fp8"`, `STEADYDANCER_VARIANT = "fp16"`, 1), "  port \"http\"",
				"  lifecycle {\n    ignore_changes = [args.STEADYDANCER_VARIANT]\n  }\n  port \"http\"", 1),
			addr: "test_thing.a", action: plan.NoOp,
		},
		"ignore_changes all": {
			before: baseThing,
			after: strings.Replace(strings.Replace(baseThing, `variant = "fp8"`, `variant = "fp16"`, 1), "  port \"http\"",
				"  lifecycle {\n    ignore_changes = all\n  }\n  port \"http\"", 1),
			addr: "test_thing.a", action: plan.NoOp,
		},
		"provider reason overrides": {
			before: `resource "test_thing" "a" { input_file = "in.txt" }`,
			after:  `resource "test_thing" "a" { input_file = "in.txt" }`,
			files:  map[string]string{"in.txt": "changed content\n"},
			addr:   "test_thing.a", action: plan.Replace, reason: "input file in.txt changed", replacePaths: []string{"input_file"},
		},
		"removed from config is forgotten": {
			before: baseThing + `resource "test_thing" "b" {}`, after: `resource "test_thing" "b" {}`,
			addr: "test_thing.a", action: plan.Forget,
			reason: "removed from config: forgotten (the object is left alone; set destroy_removed = true in the sdform block or run sdform destroy to delete it)",
		},
		"removed from config with destroy_removed": {
			before: baseThing + `resource "test_thing" "b" {}`,
			after:  "sdform {\n  destroy_removed = true\n}\n" + `resource "test_thing" "b" {}`,
			addr:   "test_thing.a", action: plan.Delete, reason: "removed from config (destroy_removed = true)",
		},
		"replace_triggered_by a replaced resource": {
			before: baseThing + `
resource "test_thing" "b" {
  name = "b"
  lifecycle {
    replace_triggered_by = [test_thing.a]
  }
}`,
			after: strings.Replace(baseThing, `variant = "fp8"`, `variant = "fp16"`, 1) + `
resource "test_thing" "b" {
  name = "b"
  lifecycle {
    replace_triggered_by = [test_thing.a]
  }
}`,
			addr: "test_thing.b", action: plan.Replace, reason: "replace_triggered_by test_thing.a",
		},
		"replace_triggered_by an attribute that changes": {
			before: baseThing + `
resource "test_thing" "b" {
  name = "b"
  lifecycle {
    replace_triggered_by = [test_thing.a.name]
  }
}`,
			after: strings.Replace(baseThing, `name    = "a"`, `name    = "a2"`, 1) + `
resource "test_thing" "b" {
  name = "b"
  lifecycle {
    replace_triggered_by = [test_thing.a.name]
  }
}`,
			addr: "test_thing.b", action: plan.Replace, reason: "replace_triggered_by test_thing.a.name",
		},
		"replace_triggered_by an attribute that does not change": {
			before: baseThing + `
resource "test_thing" "b" {
  name = "b"
  lifecycle {
    replace_triggered_by = [test_thing.a.variant]
  }
}`,
			after: strings.Replace(baseThing, `name    = "a"`, `name    = "a2"`, 1) + `
resource "test_thing" "b" {
  name = "b"
  lifecycle {
    replace_triggered_by = [test_thing.a.variant]
  }
}`,
			addr: "test_thing.b", action: plan.NoOp,
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			f := newFixture(t, map[string]string{"main.sdf.hcl": tc.before, "in.txt": "content\n"})
			f.mustApply(defaultOpts())
			f.write("main.sdf.hcl", tc.after)
			for n, c := range tc.files {
				f.write(n, c)
			}
			p := f.plan(defaultOpts())
			ch := change(t, p, tc.addr)
			if ch.Action != tc.action {
				t.Fatalf("action = %s (%s), want %s", ch.Action, ch.Reason, tc.action)
			}
			if ch.Reason != tc.reason {
				t.Errorf("reason = %q, want %q", ch.Reason, tc.reason)
			}
			var got []string
			for _, p := range ch.ReplacePaths {
				got = append(got, plan.FormatPath(p))
			}
			if strings.Join(got, ",") != strings.Join(tc.replacePaths, ",") {
				t.Errorf("replace paths = %v, want %v", got, tc.replacePaths)
			}
			if ch.Action != plan.Forget && ch.Action != plan.Delete && ch.Verb != "build" {
				t.Errorf("verb = %q, want the schema's", ch.Verb)
			}
		})
	}
}

func TestCreateThenNoOp(t *testing.T) {
	f := newFixture(t, map[string]string{"main.sdf.hcl": baseThing + `
resource "test_thing" "b" {
  name = test_thing.a.out
}
resource "test_test" "t" {
  target = test_thing.b.id
}
data "test_data" "d" {
  input = "x"
}
output "id" {
  value = test_thing.a.id
}
`})
	p, res := f.mustApply(defaultOpts())
	want := map[string]plan.Action{"test_thing.a": plan.Create, "test_thing.b": plan.Create, "test_test.t": plan.Create, "data.test_data.d": plan.NoOp}
	for addr, a := range want {
		if got := actions(p)[addr]; got != a {
			t.Errorf("%s: action %s, want %s", addr, got, a)
		}
	}
	if ch := change(t, p, "test_test.t"); !ch.Test || ch.Verb != "run" {
		t.Errorf("test_test.t: Test=%v Verb=%q, want the schema's", ch.Test, ch.Verb)
	}
	if ch := change(t, p, "test_thing.b"); strings.Join(ch.Dependencies, ",") != "test_thing.a" {
		t.Errorf("test_thing.b dependencies = %v", ch.Dependencies)
	}
	if len(res.Succeeded) != 3 {
		t.Errorf("succeeded = %v", res.Succeeded)
	}
	st := f.state()
	if len(st.Resources) != 4 {
		t.Errorf("state has %d objects, want 4 (3 managed, 1 data)", len(st.Resources))
	}
	if o := st.Outputs["id"]; o == nil || o.Value.AsString() != attr(st.Resource("test_thing.a").Value, "id").AsString() {
		t.Errorf("output id not stored: %#v", o)
	}
	p2 := f.plan(defaultOpts())
	for _, c := range p2.Changes {
		if c.Action != plan.NoOp {
			t.Errorf("second plan: %s %s (%s)", c.Address, c.Action, c.Reason)
		}
	}
	if len(p2.Drift) != 0 {
		t.Errorf("second plan drift: %+v", p2.Drift[0])
	}
}

func TestDrift(t *testing.T) {
	cfg := `resource "test_thing" "a" { name = "a" }`
	tests := map[string]struct {
		change  func(f *fixture, id string)
		refresh bool
		drift   string
		action  plan.Action
		reason  string
	}{
		"attribute changed outside": {
			change: func(f *fixture, id string) {
				must(t, testprovider.SetAttr(f.dataDir(), id, "name", cty.StringVal("edited")))
			},
			refresh: true, drift: "name changed outside sdform", action: plan.Update, reason: "name changed",
		},
		"object deleted outside": {
			change:  func(f *fixture, id string) { must(t, testprovider.DeleteObject(f.dataDir(), id)) },
			refresh: true, drift: "deleted outside sdform", action: plan.Create, reason: "deleted outside sdform",
		},
		"no refresh sees nothing": {
			change:  func(f *fixture, id string) { must(t, testprovider.DeleteObject(f.dataDir(), id)) },
			refresh: false, action: plan.NoOp,
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			f := newFixture(t, map[string]string{"main.sdf.hcl": cfg})
			f.mustApply(defaultOpts())
			id := attr(f.state().Resource("test_thing.a").Value, "id").AsString()
			tc.change(f, id)
			p := f.plan(plan.Options{Refresh: tc.refresh})
			if tc.drift == "" {
				if len(p.Drift) != 0 {
					t.Errorf("drift = %+v, want none", p.Drift[0])
				}
			} else if len(p.Drift) != 1 || p.Drift[0].Address != "test_thing.a" || !strings.Contains(p.Drift[0].Reason, tc.drift) {
				t.Fatalf("drift = %v, want one for test_thing.a with %q", p.Drift, tc.drift)
			}
			ch := change(t, p, "test_thing.a")
			if ch.Action != tc.action || !strings.Contains(ch.Reason, tc.reason) {
				t.Errorf("change = %s %q, want %s %q", ch.Action, ch.Reason, tc.action, tc.reason)
			}
			if tc.action == plan.NoOp {
				return
			}
			// Applying repairs the drift; the next plan is quiet.
			f.mustApply(defaultOpts())
			p = f.plan(defaultOpts())
			if len(p.Drift) != 0 || actions(p)["test_thing.a"] != plan.NoOp {
				t.Errorf("after apply: drift %v, action %s", p.Drift, actions(p)["test_thing.a"])
			}
		})
	}
}

func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func TestForgetLeavesObjectDeleteRemovesIt(t *testing.T) {
	for _, destroyRemoved := range []bool{false, true} {
		f := newFixture(t, map[string]string{"main.sdf.hcl": `
resource "test_thing" "a" { name = "a" }
resource "test_thing" "b" { name = "b" }
`})
		f.mustApply(defaultOpts())
		id := attr(f.state().Resource("test_thing.a").Value, "id").AsString()
		cfg := `resource "test_thing" "b" { name = "b" }`
		if destroyRemoved {
			cfg = "sdform {\n  destroy_removed = true\n}\n" + cfg
		}
		f.write("main.sdf.hcl", cfg)
		_, res := f.mustApply(defaultOpts())
		if strings.Join(res.Succeeded, ",") != "test_thing.a" {
			t.Errorf("destroy_removed=%v: succeeded %v", destroyRemoved, res.Succeeded)
		}
		if f.state().Resource("test_thing.a") != nil {
			t.Errorf("destroy_removed=%v: test_thing.a still in state", destroyRemoved)
		}
		_, exists, err := testprovider.ReadObject(f.dataDir(), id)
		must(t, err)
		if exists == destroyRemoved {
			t.Errorf("destroy_removed=%v: object exists = %v", destroyRemoved, exists)
		}
	}
}

func TestDestroyReverseOrder(t *testing.T) {
	f := newFixture(t, map[string]string{"main.sdf.hcl": `
resource "test_thing" "a" { name = "a" }
locals { x = test_thing.a.out }
resource "test_thing" "b" { name = local.x }
resource "test_thing" "c" { name = test_thing.b.out }
output "o" { value = test_thing.c.id }
`})
	f.mustApply(defaultOpts())
	before := len(f.prov.EventsOf("apply"))
	p, _ := f.mustApply(plan.Options{Refresh: true, Destroy: true})
	for _, addr := range []string{"test_thing.a", "test_thing.b", "test_thing.c"} {
		if ch := change(t, p, addr); ch.Action != plan.Delete || ch.Reason != "sdform destroy" {
			t.Errorf("%s: %s %q", addr, ch.Action, ch.Reason)
		}
	}
	var order []string
	for _, e := range f.prov.EventsOf("apply")[before:] {
		order = append(order, e.Address)
	}
	if strings.Join(order, ",") != "test_thing.c,test_thing.b,test_thing.a" {
		t.Errorf("delete order = %v, want dependents first", order)
	}
	st := f.state()
	if len(st.Resources) != 0 || len(st.Outputs) != 0 {
		t.Errorf("state after destroy: %d objects, %d outputs", len(st.Resources), len(st.Outputs))
	}
	ids, err := testprovider.Objects(f.dataDir())
	must(t, err)
	if len(ids) != 0 {
		t.Errorf("world after destroy: %v", ids)
	}
}

func TestTargetsAndExcludes(t *testing.T) {
	cfg := `
resource "test_thing" "a" { name = "a" }
resource "test_thing" "b" { name = test_thing.a.out }
resource "test_thing" "c" { name = "c" }
resource "test_thing" "d" { name = test_thing.b.out }
`
	tests := map[string]struct {
		opts plan.Options
		want []string
	}{
		"target takes its dependencies":  {opts: plan.Options{Targets: []string{"test_thing.b"}}, want: []string{"test_thing.a", "test_thing.b"}},
		"exclude drops its dependents":   {opts: plan.Options{Excludes: []string{"test_thing.b"}}, want: []string{"test_thing.a", "test_thing.c"}},
		"target minus exclude":           {opts: plan.Options{Targets: []string{"test_thing.d"}, Excludes: []string{"test_thing.a"}}, want: nil},
		"two targets":                    {opts: plan.Options{Targets: []string{"test_thing.a", "test_thing.c"}}, want: []string{"test_thing.a", "test_thing.c"}},
		"no selection plans everything ": {opts: plan.Options{}, want: []string{"test_thing.a", "test_thing.b", "test_thing.c", "test_thing.d"}},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			f := newFixture(t, map[string]string{"main.sdf.hcl": cfg})
			tc.opts.Refresh = true
			c := f.context()
			st := f.state()
			p, diags := c.Plan(context.Background(), st, tc.opts)
			if diags.HasErrors() {
				t.Fatal(diagString(diags))
			}
			var got []string
			for _, ch := range p.Changes {
				got = append(got, ch.Address)
			}
			if strings.Join(got, ",") != strings.Join(tc.want, ",") {
				t.Errorf("planned %v, want %v", got, tc.want)
			}
			partial := len(tc.opts.Targets)+len(tc.opts.Excludes) > 0
			if hasDiag(diags, hcl.DiagWarning, "targeting is in effect") != partial {
				t.Errorf("partial-plan warning present = %v, want %v", !partial, partial)
			}
			res, d := c.Apply(context.Background(), p, st, f.persist, planner.Hooks{})
			if d.HasErrors() {
				t.Fatal(diagString(d))
			}
			if strings.Join(res.Succeeded, ",") != strings.Join(tc.want, ",") {
				t.Errorf("applied %v, want %v", res.Succeeded, tc.want)
			}
		})
	}
}

func TestReplaceFlag(t *testing.T) {
	f := newFixture(t, map[string]string{"main.sdf.hcl": `resource "test_thing" "a" { name = "a" }
resource "test_thing" "b" { name = "b" }`})
	f.mustApply(defaultOpts())
	oldID := attr(f.state().Resource("test_thing.a").Value, "id").AsString()
	p, _ := f.mustApply(plan.Options{Refresh: true, Replace: []string{"test_thing.a"}})
	if ch := change(t, p, "test_thing.a"); ch.Action != plan.Replace || ch.Reason != "replacement requested with -replace=test_thing.a" {
		t.Errorf("test_thing.a: %s %q", ch.Action, ch.Reason)
	}
	if a := actions(p)["test_thing.b"]; a != plan.NoOp {
		t.Errorf("test_thing.b: %s", a)
	}
	if id := attr(f.state().Resource("test_thing.a").Value, "id").AsString(); id == oldID {
		t.Errorf("id unchanged after replace")
	}
	_, diags := f.context().Plan(context.Background(), f.state(), plan.Options{Replace: []string{"test_thing.zz"}})
	if !hasDiag(diags, hcl.DiagError, "-replace=test_thing.zz") {
		t.Errorf("bad -replace: %s", diagString(diags))
	}
}

func TestPreventDestroy(t *testing.T) {
	cfg := `resource "test_thing" "a" {
  variant = "%s"
  lifecycle {
    prevent_destroy = true
  }
}`
	f := newFixture(t, map[string]string{"main.sdf.hcl": strings.Replace(cfg, "%s", "fp8", 1)})
	f.mustApply(defaultOpts())
	tests := map[string]struct {
		cfg  string
		opts plan.Options
	}{
		"replace": {cfg: strings.Replace(cfg, "%s", "fp16", 1), opts: defaultOpts()},
		"destroy": {cfg: strings.Replace(cfg, "%s", "fp8", 1), opts: plan.Options{Refresh: true, Destroy: true}},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			f.write("main.sdf.hcl", tc.cfg)
			_, diags := f.context().Plan(context.Background(), f.state(), tc.opts)
			var d *hcl.Diagnostic
			for _, x := range diags {
				if x.Summary == "Instance cannot be destroyed" {
					d = x
				}
			}
			if d == nil || d.Severity != hcl.DiagError || d.Subject == nil || d.Subject.Start.Line != 1 || !strings.Contains(d.Detail, "test_thing.a") {
				t.Fatalf("diagnostics: %s", diagString(diags))
			}
		})
	}
}

// TestRecordedSensitivePaths checks that the state records which paths were
// sensitive, and that plans use the record: a value that only looks
// redacted (test_thing's digest is "sha256:" and 64 hex digits, as a docker
// image's is) is shown as it is when its object is deleted or forgotten,
// and a secret changed outside sdform shows as sensitive in the drift.
func TestRecordedSensitivePaths(t *testing.T) {
	cfg := `
variable "tok" {
  type      = string
  sensitive = true
  default   = "hunter2"
}
resource "test_thing" "plain" { name = "plain" }
resource "test_thing" "secret" {
  name   = var.tok
  secret = "s3cret"
}
resource "test_test" "t" { target = "x" }
`
	paths := func(ps []cty.Path) []string {
		var out []string
		for _, p := range ps {
			out = append(out, plan.FormatPath(p))
		}
		sort.Strings(out)
		return out
	}
	for _, removal := range []string{"forget", "destroy_removed"} {
		t.Run(removal, func(t *testing.T) {
			f := newFixture(t, map[string]string{"main.sdf.hcl": cfg})
			f.mustApply(defaultOpts())
			st := f.state()
			// out is "out-" + name: the provider repeats the secret there.
			if got := paths(st.Resource("test_thing.secret").SensitivePaths); strings.Join(got, ",") != "name,out,secret" {
				t.Errorf("recorded sensitive paths of test_thing.secret = %v, want [name out secret]", got)
			}
			// Nothing sensitive is recorded as such, not left unrecorded.
			if rs := st.Resource("test_test.t"); rs.SensitivePaths == nil || len(rs.SensitivePaths) != 0 {
				t.Errorf("recorded sensitive paths of test_test.t = %#v, want an empty record", rs.SensitivePaths)
			}
			// secret is sensitive by the schema, null or not.
			if got := paths(st.Resource("test_thing.plain").SensitivePaths); strings.Join(got, ",") != "secret" {
				t.Errorf("recorded sensitive paths of test_thing.plain = %v, want [secret]", got)
			}
			if d := attr(st.Resource("test_thing.plain").Value, "digest").AsString(); !planner.IsRedacted(d) {
				t.Fatalf("digest %q does not look redacted; the test proves nothing", d)
			}

			setting := ""
			if removal == "destroy_removed" {
				setting = "sdform {\n  destroy_removed = true\n}\n"
			}
			f.write("main.sdf.hcl", setting+`variable "tok" {
  default = "x"
}`)
			p := f.plan(defaultOpts())
			if got := paths(change(t, p, "test_thing.plain").SensitivePaths); strings.Join(got, ",") != "secret" {
				t.Errorf("%s of test_thing.plain hides %v, want only [secret]", removal, got)
			}
			if got := paths(change(t, p, "test_thing.secret").SensitivePaths); strings.Join(got, ",") != "name,out,secret" {
				t.Errorf("%s of test_thing.secret hides %v, want [name out secret]", removal, got)
			}
		})
	}

	t.Run("drift", func(t *testing.T) {
		f := newFixture(t, map[string]string{"main.sdf.hcl": cfg})
		f.mustApply(defaultOpts())
		id := attr(f.state().Resource("test_thing.secret").Value, "id").AsString()
		must(t, testprovider.SetAttr(f.dataDir(), id, "secret", cty.StringVal("changed-outside")))
		p := f.plan(defaultOpts())
		if len(p.Drift) != 1 {
			t.Fatalf("drift = %v, want one", p.Drift)
		}
		if got := paths(p.Drift[0].SensitivePaths); !contains(got, "secret") || contains(got, "digest") {
			t.Errorf("drift hides %v, want secret (and not digest)", got)
		}
		if s := attr(p.Drift[0].After, "secret").AsString(); !planner.IsRedacted(s) {
			t.Errorf("drift holds the secret as %q", s)
		}
	})
}

// TestTargetAddresses: a -target, -exclude or -replace that is not an
// address is an error, naming the flag; a well-formed address that
// matches nothing is a warning, as in Terraform.
func TestTargetAddresses(t *testing.T) {
	f := newFixture(t, map[string]string{"main.sdf.hcl": `resource "test_thing" "a" { name = "a" }`})
	for name, tc := range map[string]struct {
		opts plan.Options
		want string
		err  bool
	}{
		"malformed target":  {opts: plan.Options{Targets: []string{"nonsense"}}, want: `Invalid -target address: -target=nonsense: "nonsense" is not an address`, err: true},
		"indexed exclude":   {opts: plan.Options{Excludes: []string{"test_thing.a[0]"}}, want: "Invalid -exclude address: -exclude=test_thing.a[0]: \"test_thing.a[0]\" has an index", err: true},
		"malformed replace": {opts: plan.Options{Replace: []string{"test_thing"}}, want: "Invalid -replace address", err: true},
		"unknown target":    {opts: plan.Options{Targets: []string{"test_thing.b"}}, want: "Target matches nothing: test_thing.b is neither in the configuration nor in the state"},
	} {
		t.Run(name, func(t *testing.T) {
			_, diags := f.context().Plan(context.Background(), f.state(), tc.opts)
			if diags.HasErrors() != tc.err || !strings.Contains(diagString(diags), tc.want) {
				t.Errorf("diagnostics (errors: %v, want %v): %s\nwant %q", diags.HasErrors(), tc.err, diagString(diags), tc.want)
			}
		})
	}
}

// A test whose object is replaced runs again even when what it reads of
// the object is known and unchanged (a tag rather than the new id), and
// an in-place update of the object leaves a passed test alone.
func TestTestRunsAgainWhenItsObjectIsReplaced(t *testing.T) {
	cfg := func(variant, tag string) string {
		return `
resource "test_thing" "img" {
  name    = "img"
  variant = "` + variant + `"
  tags    = ["` + tag + `"]
}
resource "test_test" "t" {
  target = test_thing.img.name
}
`
	}
	f := newFixture(t, map[string]string{"main.sdf.hcl": cfg("a", "one")})
	f.mustApply(defaultOpts())

	f.write("main.sdf.hcl", cfg("a", "two")) // an update in place
	p := f.plan(defaultOpts())
	if got := actions(p); got["test_thing.img"] != plan.Update || got["test_test.t"] != plan.NoOp {
		t.Errorf("after an update: %v, want the test left alone", got)
	}
	f.write("main.sdf.hcl", cfg("b", "one")) // variant forces a replace; the test's target is unchanged
	p = f.plan(defaultOpts())
	ch := change(t, p, "test_test.t")
	if got := actions(p); got["test_thing.img"] != plan.Replace || ch.Action != plan.Replace || ch.Reason != "depends on test_thing.img, which is replaced" {
		t.Errorf("after a replace: %v, test reason %q", got, ch.Reason)
	}
}
