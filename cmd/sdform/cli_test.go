package main

import (
	"context"
	"encoding/json"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// basicConfig is two test objects, one depending on the other, a test of
// the second, a sensitive variable and an output.
const basicConfig = `variable "variant" {
  type    = string
  default = "fp8"
}

variable "token" {
  type      = string
  sensitive = true
  default   = "s3cret-token"
}

resource "test_thing" "a" {
  name    = "a-${var.variant}"
  variant = var.variant
  secret  = var.token
  args    = { X = "1" }
}

resource "test_thing" "b" {
  name = test_thing.a.id
}

resource "test_test" "t" {
  target = test_thing.b.id
}

output "a_name" {
  value = test_thing.a.name
}
`

func basicDir(t *testing.T) string {
	return configDir(t, map[string]string{"main.sdf.hcl": basicConfig})
}

// noTerminal makes apply see a stdin that is not a terminal, as in CI.
func noTerminal(t *testing.T) {
	t.Helper()
	old := stdinIsTerminal
	stdinIsTerminal = func() bool { return false }
	t.Cleanup(func() { stdinIsTerminal = old })
}

// terminal makes apply see a terminal whose user types answer.
func terminal(t *testing.T, answer string) {
	t.Helper()
	oldT, oldIn := stdinIsTerminal, stdin
	stdinIsTerminal = func() bool { return true }
	stdin = strings.NewReader(answer)
	t.Cleanup(func() { stdinIsTerminal, stdin = oldT, oldIn })
}

func TestHelp(t *testing.T) {
	tests := map[string]struct {
		args     []string
		code     int
		stdout   []string
		stderr   []string
		noStdout bool
	}{
		"top -h":          {args: []string{"-h"}, stdout: []string{"Usage: sdform [global options] <command>", "Main commands:", "  plan ", "-chdir=DIR", "Exit codes:"}},
		"top --help":      {args: []string{"--help"}, stdout: []string{"Usage: sdform"}},
		"top -help":       {args: []string{"-help"}, stdout: []string{"Usage: sdform"}},
		"no command":      {args: nil, code: 1, stdout: []string{"Usage: sdform"}},
		"help plan":       {args: []string{"help", "plan"}, stdout: []string{"Usage: sdform plan [options]", "-detailed-exitcode"}},
		"unknown command": {args: []string{"plna"}, code: 1, stderr: []string{`unknown command "plna"`}, noStdout: true},
		"unknown prefix":  {args: []string{"valid"}, code: 1, stderr: []string{`did you mean "validate"`}},
		"bad global flag": {args: []string{"-frobnicate", "plan"}, code: 1, stderr: []string{"unknown flag: -frobnicate"}},
		"bad plan flag":   {args: []string{"plan", "-frobnicate"}, code: 1, stderr: []string{"unknown flag: -frobnicate", `sdform plan -h`}, noStdout: true},
		"bad flag value":  {args: []string{"plan", "-parallelism=many"}, code: 1, stderr: []string{"-parallelism"}},
		"version flag":    {args: []string{"-version"}, stdout: []string{"sdform v0.1.0"}},
		"state -h":        {args: []string{"state", "-h"}, stdout: []string{"Usage: sdform state <subcommand>", "unlock LOCK_ID"}},
		"state rm -h":     {args: []string{"state", "rm", "-h"}, stdout: []string{"Usage: sdform state rm", "-lock-timeout=DURATION"}},
		"state nothing":   {args: []string{"state"}, code: 1, stderr: []string{"Subcommands:"}},
		"state bogus":     {args: []string{"state", "mv"}, code: 1, stderr: []string{`unknown subcommand "mv"`}},
	}
	for _, c := range commands {
		if c.name == "state" {
			continue // a group of subcommands: its own case above
		}
		tests[c.name+" -h"] = struct {
			args     []string
			code     int
			stdout   []string
			stderr   []string
			noStdout bool
		}{args: []string{c.name, "-h"}, stdout: []string{"Usage: sdform " + c.name, "Options:", "-no-color"}}
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			r := sdform(t, "", tc.args...)
			if r.code != tc.code {
				t.Fatalf("exit %d, want %d\n%s", r.code, tc.code, r)
			}
			for _, want := range tc.stdout {
				if !strings.Contains(r.stdout, want) {
					t.Errorf("stdout lacks %q\n%s", want, r)
				}
			}
			for _, want := range tc.stderr {
				if !strings.Contains(r.stderr, want) {
					t.Errorf("stderr lacks %q\n%s", want, r)
				}
			}
			if tc.noStdout && r.stdout != "" {
				t.Errorf("stdout should be empty\n%s", r)
			}
		})
	}
}

// TestCommandHelpHasExamples checks that every command's help shows a
// newcomer an example, as the issue asks.
func TestCommandHelpHasExamples(t *testing.T) {
	for _, c := range commands {
		r := sdform(t, "", c.name, "-h")
		if c.name != "version" && !strings.Contains(r.stdout, "Example") {
			t.Errorf("%s -h has no example:\n%s", c.name, r.stdout)
		}
	}
}

func TestNormalizeArgs(t *testing.T) {
	fs := newFlagSet("t")
	fs.String("out", "", "")
	fs.StringArray("var", nil, "")
	fs.Bool("refresh", true, "")
	fs.BoolP("help", "h", false, "")
	tests := map[string]struct {
		in, want []string
		stop     bool
	}{
		"single dash with value": {in: []string{"-out=x", "-refresh=false"}, want: []string{"--out=x", "--refresh=false"}},
		"separate value":         {in: []string{"-out", "-weird-name"}, want: []string{"--out", "-weird-name"}},
		"var value with dash":    {in: []string{"-var", "-x=1"}, want: []string{"--var", "-x=1"}},
		"double dash kept":       {in: []string{"--out=x"}, want: []string{"--out=x"}},
		"short flag kept":        {in: []string{"-h"}, want: []string{"-h"}},
		"positional kept":        {in: []string{"plan.bin", "-out=y"}, want: []string{"plan.bin", "--out=y"}},
		"after terminator":       {in: []string{"--", "-out=x"}, want: []string{"--", "-out=x"}},
		"negative number":        {in: []string{"-1"}, want: []string{"-1"}},
		"stop at command":        {in: []string{"-chdir=d", "plan", "-out=x"}, want: []string{"--chdir=d", "plan", "-out=x"}, stop: true},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			got := normalizeArgs(fs, tc.in, tc.stop)
			if strings.Join(got, " ") != strings.Join(tc.want, " ") {
				t.Errorf("normalizeArgs(%q) = %q, want %q", tc.in, got, tc.want)
			}
		})
	}
	// Both spellings parse to the same values.
	for _, args := range [][]string{{"-out=p", "-refresh=false", "-var", "a=b"}, {"--out=p", "--refresh=false", "--var=a=b"}} {
		fs := newFlagSet("t")
		out := fs.String("out", "", "")
		refresh := fs.Bool("refresh", true, "")
		vars := fs.StringArray("var", nil, "")
		if err := fs.Parse(normalizeArgs(fs, args, false)); err != nil {
			t.Fatal(err)
		}
		if *out != "p" || *refresh || len(*vars) != 1 || (*vars)[0] != "a=b" {
			t.Errorf("%q parsed to out=%q refresh=%v var=%q", args, *out, *refresh, *vars)
		}
	}
}

func TestValidate(t *testing.T) {
	valid := basicDir(t)
	invalid := configDir(t, map[string]string{"main.sdf.hcl": `resource "test_thing" "a" {
  nmae = "x"
}

resource "test_thing" "b" {
  name = test_thing.c.id
}
`})
	syntax := configDir(t, map[string]string{"main.sdf.hcl": "resource \"test_thing\" \"a\" {\n  name = \n"})
	tests := map[string]struct {
		dir  string
		args []string
		code int
	}{
		"valid":            {dir: valid, args: []string{"validate"}},
		"invalid":          {dir: invalid, args: []string{"validate"}, code: 1},
		"invalid-json":     {dir: invalid, args: []string{"validate", "-json"}, code: 1},
		"syntax":           {dir: syntax, args: []string{"validate"}, code: 1},
		"plan-invalid":     {dir: invalid, args: []string{"plan"}, code: 1},
		"plan-syntax-json": {dir: syntax, args: []string{"plan", "-json"}, code: 1},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			r := sdform(t, tc.dir, tc.args...)
			if r.code != tc.code {
				t.Fatalf("exit %d, want %d\n%s", r.code, tc.code, r)
			}
			golden(t, "validate-"+name, normalize(r.String(), tc.dir))
		})
	}
}

func TestPlanOutput(t *testing.T) {
	dir := basicDir(t)
	tests := []struct {
		name string
		args []string
		code int
	}{
		{"plan", []string{"plan"}, 0},
		{"plan-json", []string{"plan", "-json"}, 0},
		{"plan-detailed", []string{"plan", "-detailed-exitcode"}, 2},
		{"plan-var", []string{"plan", "-var", "variant=fp16", "-target=test_thing.a"}, 0},
		{"plan-undeclared-var", []string{"plan", "-var", "varaint=fp16"}, 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := sdform(t, dir, tc.args...)
			if r.code != tc.code {
				t.Fatalf("exit %d, want %d\n%s", r.code, tc.code, r)
			}
			if strings.Contains(r.stdout+r.stderr, "s3cret-token") {
				t.Fatalf("a sensitive value was printed\n%s", r)
			}
			golden(t, tc.name, normalize(r.String(), dir))
		})
	}
	// Plan writes no state.
	if _, err := os.Stat(filepath.Join(dir, ".sdform", "state.json")); !os.IsNotExist(err) {
		t.Errorf("plan wrote the state file: %v", err)
	}
}

func TestApplyCycle(t *testing.T) {
	dir := basicDir(t)
	noTerminal(t)
	r := sdform(t, dir, "apply", "-auto-approve")
	if r.code != 0 {
		t.Fatalf("apply: %s", r)
	}
	golden(t, "apply", normalize(r.String(), dir))

	r = sdform(t, dir, "plan", "-detailed-exitcode")
	if r.code != 0 || !strings.Contains(r.stdout, "No changes. Your infrastructure matches the configuration.") {
		t.Fatalf("plan after apply: want no changes and exit 0\n%s", r)
	}
	r = sdform(t, dir, "plan", "-refresh=false", "-detailed-exitcode")
	if r.code != 0 {
		t.Fatalf("plan -refresh=false after apply: %s", r)
	}
	r = sdform(t, dir, "plan", "-replace=test_thing.b", "-detailed-exitcode")
	if r.code != 2 || !strings.Contains(r.stdout, "test_thing.b") {
		t.Fatalf("plan -replace: want a change of test_thing.b and exit 2\n%s", r)
	}

	// show without a plan file prints the state.
	r = sdform(t, dir, "show")
	if r.code != 0 || !strings.Contains(r.stdout, `resource "test_thing" "a" {`) || strings.Contains(r.stdout, "s3cret-token") {
		t.Fatalf("show: %s", r)
	}
	r = sdform(t, dir, "show", "-json")
	if r.code != 0 || !strings.Contains(r.stdout, `"address": "test_thing.a"`) || !strings.Contains(r.stdout, `"a_name"`) {
		t.Fatalf("show -json: %s", r)
	}

	r = sdform(t, dir, "destroy", "-auto-approve")
	if r.code != 0 || !strings.Contains(r.stdout, "to destroy") {
		t.Fatalf("destroy: %s", r)
	}
	if !strings.Contains(r.stdout, "\nDestroy complete! 3 destroyed, 0 failed, 0 skipped.\n") || strings.Contains(r.stdout, "Apply complete") {
		t.Errorf("destroy does not end with its own summary: %s", r)
	}
	r = sdform(t, dir, "state", "list")
	if r.code != 0 || strings.Contains(r.stdout, "test_thing") {
		t.Fatalf("state list after destroy: %s", r)
	}
}

func TestApplyConfirmation(t *testing.T) {
	t.Run("no terminal", func(t *testing.T) {
		dir := basicDir(t)
		noTerminal(t)
		r := sdform(t, dir, "apply")
		if r.code != 1 || !strings.Contains(r.stderr, "apply needs confirmation: run with -auto-approve or apply a saved plan") {
			t.Fatalf("apply without a terminal: %s", r)
		}
		if _, err := os.Stat(filepath.Join(dir, ".sdform", "state.json")); !os.IsNotExist(err) {
			t.Error("a refused apply wrote state")
		}
		r = sdform(t, dir, "destroy")
		if r.code != 1 || !strings.Contains(r.stderr, "destroy needs confirmation") {
			t.Fatalf("destroy without a terminal: %s", r)
		}
	})
	t.Run("answer no", func(t *testing.T) {
		dir := basicDir(t)
		terminal(t, "no\n")
		r := sdform(t, dir, "apply")
		if r.code != 1 || !strings.Contains(r.stdout, "Only 'yes' will be accepted") || !strings.Contains(r.stdout, "Apply cancelled") {
			t.Fatalf("apply answered no: %s", r)
		}
		if _, err := os.Stat(filepath.Join(dir, ".sdform", "state.json")); !os.IsNotExist(err) {
			t.Error("a cancelled apply wrote state")
		}
	})
	t.Run("answer yes", func(t *testing.T) {
		dir := basicDir(t)
		terminal(t, "yes\n")
		r := sdform(t, dir, "apply")
		if r.code != 0 || !strings.Contains(r.stdout, "Apply complete! 3 succeeded, 0 failed, 0 skipped.") {
			t.Fatalf("apply answered yes: %s", r)
		}
	})
}

func TestApplyFailure(t *testing.T) {
	dir := configDir(t, map[string]string{"main.sdf.hcl": `resource "test_thing" "bad" {
  fail = true
}

resource "test_thing" "after_bad" {
  name = test_thing.bad.id
}

resource "test_thing" "fine" {
  name = "fine"
}
`})
	r := sdform(t, dir, "apply", "-auto-approve")
	if r.code != 1 {
		t.Fatalf("apply with a failure: want exit 1\n%s", r)
	}
	for _, want := range []string{"Apply complete! 1 succeeded, 1 failed, 1 skipped.", "Failed:\n  test_thing.bad:", "Skipped:\n  test_thing.after_bad"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("stdout lacks %q\n%s", want, r)
		}
	}
	r = sdform(t, dir, "state", "list")
	if r.stdout != "test_thing.fine\n" {
		t.Errorf("state after a failed apply lists %q, want only test_thing.fine", r.stdout)
	}
}

func TestSavedPlan(t *testing.T) {
	dir := basicDir(t)
	noTerminal(t)
	r := sdform(t, dir, "plan", "-var", "variant=fp16", "-out=first.plan")
	if r.code != 0 || !strings.Contains(r.stdout, "Saved the plan to first.plan") {
		t.Fatalf("plan -out: %s", r)
	}
	info, err := os.Stat(filepath.Join(dir, "first.plan"))
	if err != nil || info.Mode().Perm() != 0o600 {
		t.Fatalf("plan file: %v, mode %v; want mode 0600", err, info)
	}
	r = sdform(t, dir, "show", "first.plan")
	if r.code != 0 || !strings.Contains(r.stdout, `+ name = "a-fp16"`) {
		t.Fatalf("show PLANFILE: %s", r)
	}
	r = sdform(t, dir, "show", "-json", "first.plan")
	if r.code != 0 || !strings.Contains(r.stdout, `"format_version": "1.1"`) || strings.Contains(r.stdout, "s3cret-token") {
		t.Fatalf("show -json PLANFILE: %s", r)
	}
	// A saved plan applies without a terminal and without -var: its
	// variables travel with it.
	r = sdform(t, dir, "apply", "first.plan")
	if r.code != 0 || !strings.Contains(r.stdout, "Apply complete! 3 succeeded") {
		t.Fatalf("apply PLANFILE: %s", r)
	}
	r = sdform(t, dir, "state", "show", "test_thing.a")
	if !strings.Contains(r.stdout, `"a-fp16"`) {
		t.Fatalf("the saved plan's variable was not used: %s", r)
	}

	// A plan made before another apply is stale.
	r = sdform(t, dir, "plan", "-out=second.plan")
	if r.code != 0 {
		t.Fatalf("plan -out: %s", r)
	}
	if r = sdform(t, dir, "apply", "-auto-approve", "-replace=test_thing.b"); r.code != 0 {
		t.Fatalf("apply: %s", r)
	}
	r = sdform(t, dir, "apply", "second.plan")
	if r.code != 1 || !strings.Contains(r.stderr, "saved plan is stale") || strings.Contains(r.stdout, "Apply complete") {
		t.Fatalf("stale plan: want refusal\n%s", r)
	}
	golden(t, "apply-stale", normalize(r.String(), dir))

	// Files that are not plans are refused clearly.
	for name, content := range map[string]string{"garbage.plan": "not a plan", "state.json": `{"version":1,"serial":1,"lineage":"x"}`} {
		os.WriteFile(filepath.Join(dir, name), []byte(content), 0o600)
		r = sdform(t, dir, "apply", name)
		if r.code != 1 || !strings.Contains(r.stderr, "not an sdform saved plan") {
			t.Errorf("apply %s: %s", name, r)
		}
	}
	r = sdform(t, dir, "apply", "missing.plan")
	if r.code != 1 || !strings.Contains(r.stderr, "missing.plan") {
		t.Errorf("apply missing.plan: %s", r)
	}
}

func TestStateCommands(t *testing.T) {
	dir := basicDir(t)
	if r := sdform(t, dir, "apply", "-auto-approve"); r.code != 0 {
		t.Fatalf("apply: %s", r)
	}
	tests := []struct {
		name   string
		args   []string
		code   int
		stdout string // exact, after normalisation; "" to skip
		has    []string
	}{
		{name: "list", args: []string{"state", "list"}, stdout: "test_test.t\ntest_thing.a\ntest_thing.b\n"},
		{name: "list filter", args: []string{"state", "list", "test_thing"}, stdout: "test_thing.a\ntest_thing.b\n"},
		{name: "list exact", args: []string{"state", "list", "test_thing.b"}, stdout: "test_thing.b\n"},
		{name: "show", args: []string{"state", "show", "test_thing.a"}, has: []string{"# test_thing.a:", `resource "test_thing" "a" {`, `name     = "a-fp8"`, `secret   = (sensitive value)`}},
		{name: "show missing", args: []string{"state", "show", "test_thing.z"}, code: 1},
		{name: "show no args", args: []string{"state", "show"}, code: 1},
		{name: "rm missing", args: []string{"state", "rm", "test_thing.z"}, code: 1},
		{name: "rm", args: []string{"state", "rm", "test_thing.b", "test_test.t"}, has: []string{"Removed test_thing.b", "Removed 2 object(s)"}},
		{name: "list after rm", args: []string{"state", "list"}, stdout: "test_thing.a\n"},
		{name: "unlock not locked", args: []string{"state", "unlock", "abc"}, has: []string{"not locked"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := sdform(t, dir, tc.args...)
			if r.code != tc.code {
				t.Fatalf("exit %d, want %d\n%s", r.code, tc.code, r)
			}
			if tc.stdout != "" && r.stdout != tc.stdout {
				t.Errorf("stdout = %q, want %q", r.stdout, tc.stdout)
			}
			for _, want := range tc.has {
				if !strings.Contains(r.stdout, want) {
					t.Errorf("stdout lacks %q\n%s", want, r)
				}
			}
			if strings.Contains(r.stdout, "s3cret-token") {
				t.Error("a sensitive value was printed")
			}
		})
	}
	// The backup holds the state before rm.
	if data, err := os.ReadFile(filepath.Join(dir, ".sdform", "state.json.backup")); err != nil || !strings.Contains(string(data), "test_thing.b") {
		t.Errorf("state backup after rm: %v", err)
	}
}

// TestLockContention starts a second sdform process whose apply holds
// the state lock, and checks that another apply fails naming it, and
// waits for it with -lock-timeout.
func TestLockContention(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a second process")
	}
	dir := configDir(t, map[string]string{"main.sdf.hcl": `resource "test_thing" "slow" {
  sleep = "3s"
}
`})
	child := exec.Command(os.Args[0], "-chdir="+dir, "apply", "-auto-approve")
	child.Env = append(os.Environ(), cliEnv+"=1")
	childOut := &lockedBuffer{}
	child.Stdout, child.Stderr = childOut, childOut
	if err := child.Start(); err != nil {
		t.Fatal(err)
	}
	childDone := make(chan error, 1)
	go func() { childDone <- child.Wait() }()
	t.Cleanup(func() {
		if child.ProcessState == nil {
			child.Process.Kill()
			<-childDone
		}
	})
	// Wait (bounded) until the child holds the lock.
	info := filepath.Join(dir, ".sdform", "state.json.lock.info")
	deadline := time.Now().Add(20 * time.Second)
	for {
		if _, err := os.Stat(info); err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the child never took the lock:\n%s", childOut.String())
		}
		time.Sleep(20 * time.Millisecond)
	}

	start := time.Now()
	r := sdform(t, dir, "apply", "-auto-approve", "-lock-timeout=300ms")
	waited := time.Since(start)
	if r.code != 1 || !strings.Contains(r.stderr, "State is locked") || !strings.Contains(r.stderr, "PID "+strconv.Itoa(child.Process.Pid)) ||
		!strings.Contains(r.stderr, `for "apply"`) {
		t.Fatalf("apply against a held lock: want a refusal naming PID %d\n%s", child.Process.Pid, r)
	}
	if waited < 300*time.Millisecond {
		t.Errorf("gave up after %v, before -lock-timeout=300ms", waited)
	}
	if words := strings.Join(strings.Fields(r.stderr), " "); !strings.Contains(words, "sdform waited 300ms for it (-lock-timeout)") || strings.Contains(words, "Use -lock-timeout=5m") {
		t.Errorf("the refusal does not say it waited:\n%s", r)
	}
	// -lock=false reads the state without waiting for the holder.
	if r := sdform(t, dir, "plan", "-lock=false"); r.code != 0 {
		t.Errorf("plan -lock=false against a held lock: %s", r)
	}
	r = sdform(t, dir, "state", "unlock", "whatever")
	if r.code != 1 || !strings.Contains(r.stderr, "still running") {
		t.Errorf("state unlock of a live lock: want a refusal\n%s", r)
	}

	// A patient apply waits for the child and then finds nothing to do.
	r = sdform(t, dir, "apply", "-auto-approve", "-lock-timeout=30s")
	if r.code != 0 || !strings.Contains(r.stdout, "No changes.") {
		t.Fatalf("apply -lock-timeout=30s: %s\nchild:\n%s", r, childOut.String())
	}
	if err := <-childDone; err != nil {
		t.Fatalf("child apply: %v\n%s", err, childOut.String())
	}
	if !strings.Contains(childOut.String(), "Apply complete! 1 succeeded") {
		t.Errorf("child output:\n%s", childOut.String())
	}
}

func TestInterrupt(t *testing.T) {
	dir := configDir(t, map[string]string{"main.sdf.hcl": `resource "test_thing" "slow" {
  sleep = "20s"
}

resource "test_thing" "after" {
  name = test_thing.slow.id
}
`})
	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		// Cancel once the slow object started (bounded wait).
		for i := 0; i < 500; i++ {
			if _, err := os.Stat(filepath.Join(dir, ".sdform", "state.json.lock.info")); err == nil {
				time.Sleep(300 * time.Millisecond)
				break
			}
			time.Sleep(10 * time.Millisecond)
		}
		cancel()
	}()
	start := time.Now()
	r := sdformCtx(t, ctx, dir, "apply", "-auto-approve")
	if time.Since(start) > 10*time.Second {
		t.Errorf("interrupted apply took %v", time.Since(start))
	}
	if r.code != 1 || !strings.Contains(r.stderr, "Interrupted") {
		t.Fatalf("interrupted apply: %s", r)
	}
	// The lock is released.
	if _, err := os.Stat(filepath.Join(dir, ".sdform", "state.json.lock.info")); !os.IsNotExist(err) {
		t.Errorf("lock info left behind: %v", err)
	}
}

func TestChdir(t *testing.T) {
	dir := basicDir(t)
	wd, _ := os.Getwd()
	r := sdform(t, dir, "validate")
	if r.code != 0 {
		t.Fatalf("validate -chdir: %s", r)
	}
	if now, _ := os.Getwd(); now != wd {
		t.Errorf("run left the working directory at %s", now)
	}
	r = sdform(t, "", "-chdir="+filepath.Join(dir, "missing"), "validate")
	if r.code != 1 || !strings.Contains(r.stderr, "-chdir=") {
		t.Errorf("-chdir to a missing directory: %s", r)
	}
	r = sdform(t, "", "-chdir", dir, "validate")
	if r.code != 0 {
		t.Errorf("-chdir DIR (separate value): %s", r)
	}
}

func TestColor(t *testing.T) {
	dir := basicDir(t)
	tests := map[string]struct {
		env   map[string]string
		args  []string
		color bool
	}{
		"not a terminal":       {args: []string{"plan"}},
		"forced":               {env: map[string]string{"CLICOLOR_FORCE": "1"}, args: []string{"plan"}, color: true},
		"forced but NO_COLOR":  {env: map[string]string{"CLICOLOR_FORCE": "1", "NO_COLOR": "1"}, args: []string{"plan"}},
		"forced but -no-color": {env: map[string]string{"CLICOLOR_FORCE": "1"}, args: []string{"-no-color", "plan"}},
		"command -no-color":    {env: map[string]string{"CLICOLOR_FORCE": "1"}, args: []string{"plan", "-no-color"}},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			t.Setenv("NO_COLOR", "")
			t.Setenv("CLICOLOR_FORCE", "")
			for k, v := range tc.env {
				t.Setenv(k, v)
			}
			r := sdform(t, dir, tc.args...)
			if r.code != 0 {
				t.Fatalf("%s", r)
			}
			if got := strings.Contains(r.stdout, "\x1b["); got != tc.color {
				t.Errorf("colour codes present = %v, want %v\n%s", got, tc.color, r)
			}
		})
	}
}

func TestGraphAndVersion(t *testing.T) {
	dir := basicDir(t)
	tests := []struct {
		args []string
		code int
		has  []string
	}{
		{[]string{"graph"}, 0, []string{"digraph", "test_thing.a", "test_thing.b"}},
		{[]string{"graph", "-format=mermaid"}, 0, []string{"test_thing.a", "test_thing.b"}},
		{[]string{"graph", "-format=png"}, 1, nil},
		{[]string{"version"}, 0, []string{"sdform v0.1.0", "providers: comfyui, docker, gpu, test"}},
		{[]string{"version", "-json"}, 0, []string{`"sdform_version": "0.1.0"`}},
	}
	for _, tc := range tests {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			r := sdform(t, dir, tc.args...)
			if r.code != tc.code {
				t.Fatalf("exit %d, want %d\n%s", r.code, tc.code, r)
			}
			for _, want := range tc.has {
				if !strings.Contains(r.stdout, want) {
					t.Errorf("stdout lacks %q\n%s", want, r)
				}
			}
		})
	}
}

// TestDocsListEveryFlag keeps docs/cli.md in step with the flags the
// commands define.
func TestDocsListEveryFlag(t *testing.T) {
	doc, err := os.ReadFile(filepath.Join("..", "..", "docs", "cli.md"))
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range commands {
		r := sdform(t, "", c.name, "-h")
		for _, line := range strings.Split(r.stdout, "\n") {
			if !strings.HasPrefix(line, "  -") {
				continue
			}
			for _, f := range strings.Split(strings.TrimSpace(line), ", ") {
				name, _, _ := strings.Cut(f, "=")
				if name == "-h" || name == "-help" {
					continue
				}
				if !strings.Contains(string(doc), "`"+name) && !strings.Contains(string(doc), " "+name) && !strings.Contains(string(doc), "["+name) {
					t.Errorf("docs/cli.md does not mention %s of %s", name, c.name)
				}
			}
		}
	}
}

// TestSignals sends SIGINT to a real sdform process during apply: once
// stops it gracefully (exit 1, the lock released), twice exits at once
// with 130.
func TestSignals(t *testing.T) {
	if testing.Short() {
		t.Skip("starts other processes")
	}
	tests := map[string]struct {
		signals  int
		stubborn bool // the provider ignores cancellation
		wantCode int
		wantOut  []string
	}{
		"once":  {signals: 1, wantCode: 1, wantOut: []string{"Interrupt received. Gracefully shutting down", "Interrupted"}},
		"twice": {signals: 2, stubborn: true, wantCode: exitInterrupted, wantOut: []string{"Interrupt received", "Second interrupt: exiting at once."}},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			dir := configDir(t, map[string]string{"main.sdf.hcl": `resource "test_thing" "slow" {
  sleep = "30s"
}
`})
			child := exec.Command(os.Args[0], "-chdir="+dir, "apply", "-auto-approve")
			child.Env = append(os.Environ(), cliEnv+"=1")
			if tc.stubborn {
				child.Env = append(child.Env, stubbornEnv+"=1")
			}
			out := &lockedBuffer{}
			child.Stdout, child.Stderr = out, out
			if err := child.Start(); err != nil {
				t.Fatal(err)
			}
			done := make(chan struct{})
			go func() { child.Wait(); close(done) }()
			t.Cleanup(func() {
				select {
				case <-done:
				default:
					child.Process.Kill()
					<-done
				}
			})
			// Wait (bounded) until the slow object is being applied.
			deadline := time.Now().Add(20 * time.Second)
			for !strings.Contains(out.String(), "test_thing.slow: Building") {
				if time.Now().After(deadline) {
					t.Fatalf("apply never started:\n%s", out.String())
				}
				time.Sleep(20 * time.Millisecond)
			}
			for i := 0; i < tc.signals; i++ {
				if err := child.Process.Signal(os.Interrupt); err != nil {
					t.Fatal(err)
				}
				time.Sleep(200 * time.Millisecond)
			}
			select {
			case <-done:
			case <-time.After(10 * time.Second):
				t.Fatalf("sdform did not stop after %d interrupt(s):\n%s", tc.signals, out.String())
			}
			if code := child.ProcessState.ExitCode(); code != tc.wantCode {
				t.Errorf("exit %d, want %d\n%s", code, tc.wantCode, out.String())
			}
			for _, want := range tc.wantOut {
				if !strings.Contains(out.String(), want) {
					t.Errorf("output lacks %q:\n%s", want, out.String())
				}
			}
			// Either way the next command can take the lock: the kernel
			// released the flock.
			if r := sdform(t, dir, "plan", "-lock-timeout=2s"); r.code != 0 {
				t.Errorf("plan after the interrupted apply: %s", r)
			}
		})
	}
}

func TestApplyJSON(t *testing.T) {
	dir := basicDir(t)
	terminal(t, "yes\n") // -json never prompts, even on a terminal
	r := sdform(t, dir, "apply", "-json")
	if r.code != 1 || !strings.Contains(r.stdout, `"type":"diagnostic"`) || !strings.Contains(r.stdout, "needs confirmation") {
		t.Fatalf("apply -json without -auto-approve: %s", r)
	}
	r = sdform(t, dir, "apply", "-json", "-auto-approve")
	if r.code != 0 {
		t.Fatalf("apply -json: %s", r)
	}
	types := map[string]int{}
	for i, line := range strings.Split(strings.TrimSuffix(r.stdout, "\n"), "\n") {
		var ev map[string]any
		if err := json.Unmarshal([]byte(line), &ev); err != nil {
			t.Fatalf("stdout line %d is not a JSON object: %v\n%s", i+1, err, r)
		}
		types[ev["type"].(string)]++
	}
	want := map[string]int{"planned_changes": 1, "apply_start": 3, "apply_complete": 3, "apply_summary": 1, "outputs": 1}
	for typ, n := range want {
		if types[typ] != n {
			t.Errorf("%d %q events, want %d (all: %v)", types[typ], typ, n, types)
		}
	}
	if strings.Contains(r.stdout, "s3cret-token") {
		t.Error("a sensitive value was printed")
	}
}

// JSON documents without a state or with a failed plan say so, as
// docs/json-format.md describes: no made-up lineage, errored set.
func TestJSONDocumentsEdges(t *testing.T) {
	dir := configDir(t, map[string]string{"main.sdf.hcl": `resource "test_thing" "a" { name = "a" }`})
	var doc map[string]any
	for i := 0; i < 2; i++ { // the same both times: nothing random
		r := sdform(t, dir, "show", "-json")
		if err := json.Unmarshal([]byte(r.stdout), &doc); err != nil || r.code != 0 {
			t.Fatalf("show -json: %v\n%s", err, r)
		}
		if doc["lineage"] != "" || doc["serial"] != 0.0 {
			t.Errorf("show -json without a state: lineage %q serial %v", doc["lineage"], doc["serial"])
		}
	}
	r := sdform(t, dir, "version", "-json")
	if err := json.Unmarshal([]byte(r.stdout), &doc); err != nil || doc["format_version"] == nil {
		t.Errorf("version -json: %v %v", err, doc)
	}
	bad := configDir(t, map[string]string{"main.sdf.hcl": `resource "test_thing" "a" { name = "a" }
resource "test_thing" "b" { name = "b", fail = "not a bool" }
`})
	r = sdform(t, bad, "plan", "-json")
	if err := json.Unmarshal([]byte(r.stdout), &doc); err != nil || r.code != 1 || doc["errored"] != true {
		t.Errorf("plan -json of a failed plan: errored = %v (%v)\n%s", doc["errored"], err, r)
	}
}

// plan -out replaces the file whole with mode 0600, whatever was there.
func TestPlanOutReplacesFile(t *testing.T) {
	dir := configDir(t, map[string]string{"main.sdf.hcl": `resource "test_thing" "a" { name = "a" }`, "p.plan": "old\n"})
	if err := os.Chmod(filepath.Join(dir, "p.plan"), 0o644); err != nil {
		t.Fatal(err)
	}
	if r := sdform(t, dir, "plan", "-out=p.plan"); r.code != 0 {
		t.Fatalf("plan -out: %s", r)
	}
	st, err := os.Stat(filepath.Join(dir, "p.plan"))
	if err != nil || st.Mode().Perm() != 0o600 {
		t.Errorf("p.plan: %v mode %v, want 0600", err, st.Mode().Perm())
	}
	if r := sdform(t, dir, "show", "p.plan"); r.code != 0 || !strings.Contains(r.stdout, "test_thing.a") {
		t.Errorf("show p.plan: %s", r)
	}
	if tmps, _ := filepath.Glob(filepath.Join(dir, ".p.plan.tmp-*")); len(tmps) != 0 {
		t.Errorf("temporary files left: %v", tmps)
	}
}

// apply PLANFILE refuses the flags that change what is planned (they would
// be ignored) and honours -parallelism.
func TestApplySavedPlanFlags(t *testing.T) {
	dir := configDir(t, map[string]string{"main.sdf.hcl": `resource "test_thing" "a" {
  name  = "a"
  sleep = "100ms"
}
resource "test_thing" "b" {
  name  = "b"
  sleep = "100ms"
}
`})
	if r := sdform(t, dir, "plan", "-out=p.plan"); r.code != 0 {
		t.Fatalf("plan: %s", r)
	}
	for _, flag := range []string{"-target=test_thing.a", "-exclude=test_thing.b", "-replace=test_thing.a", "-refresh=false"} {
		r := sdform(t, dir, "apply", flag, "p.plan")
		if name, _, _ := strings.Cut(strings.TrimPrefix(flag, "-"), "="); r.code != 1 || !strings.Contains(r.stderr, "-"+name+" cannot be used with a saved plan") {
			t.Errorf("apply %s p.plan: %s", flag, r)
		}
	}
	// The plan was made with -parallelism 4; one at a time now: the
	// second starts only after the first is built.
	r := sdform(t, dir, "apply", "-parallelism=1", "p.plan")
	second := strings.LastIndex(r.stdout, ": Building…")
	if r.code != 0 || !strings.Contains(r.stdout, "2 succeeded") || second < strings.Index(r.stdout, ": Built after") {
		t.Errorf("apply -parallelism=1 p.plan: the two ran at once, or failed: %s", r)
	}
}

// Ctrl-C at the confirmation prompt answers no at once.
func TestConfirmInterrupted(t *testing.T) {
	pr, pw := io.Pipe() // a terminal nobody types into
	defer pw.Close()
	old := stdin
	stdin = pr
	defer func() { stdin = old }()
	var out strings.Builder
	c := &cli{stdout: &out, stderr: io.Discard}
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(50*time.Millisecond, cancel)
	done := make(chan bool, 1)
	go func() { done <- c.confirm(ctx, "Do you want to perform these actions?") }()
	select {
	case yes := <-done:
		if yes {
			t.Error("confirm said yes to a Ctrl-C")
		}
	case <-time.After(5 * time.Second):
		t.Fatal("confirm still waits for an answer after Ctrl-C")
	}
}
