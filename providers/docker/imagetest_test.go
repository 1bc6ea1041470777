package docker

import (
	"context"
	"errors"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/sdform/sdform/providers"
	"github.com/zclconf/go-cty/cty"
)

const (
	idA = "sha256:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	idB = "sha256:bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"
)

// offlineProvider is a provider whose builder cannot be reached, for what
// must work without one.
func offlineProvider(t *testing.T) *Provider {
	p := New().(*Provider)
	resp := p.Configure(context.Background(), providers.ConfigureRequest{
		Config: objectOf(p.Schema().Provider, map[string]cty.Value{"docker_host": cty.StringVal("unix://" + t.TempDir() + "/none.sock")}),
		Env:    providers.Env{ConfigDir: t.TempDir()},
	})
	if resp.Diagnostics.HasErrors() {
		t.Fatal(resp.Diagnostics)
	}
	t.Cleanup(func() { p.Close() })
	return p
}

func TestDecodeTestDiagnostics(t *testing.T) {
	th := &testHarness{}
	tests := map[string]struct {
		cfg  cty.Value
		want []string // substrings of error details, in any order
	}{
		"valid": {
			cfg: th.config(idA, map[string]cty.Value{"ok": command([]string{"true"}, nil, "10s", map[string]cty.Value{"exit_code": cty.NumberIntVal(2), "stdout": strs("^a$")})},
				map[string]cty.Value{"/etc/x": file(map[string]cty.Value{"mode": cty.StringVal("4755"), "owner": cty.StringVal("root:0"), "content": cty.StringVal("x")})}, nil),
		},
		"bad parts": {
			cfg: th.config(idA, map[string]cty.Value{
				"empty": command([]string{}, nil, "soon", map[string]cty.Value{"exit_code": cty.NumberFloatVal(1.5), "stderr": strs("(")}),
			}, map[string]cty.Value{
				"relative": file(map[string]cty.Value{"mode": cty.StringVal("0999"), "owner": cty.StringVal("a:b:c"), "content": cty.StringVal("[")}),
			}, nil),
			want: []string{`command "empty" has an empty run list`, `timeout = "soon"`, "exit_code in command \"empty\" must be a whole number",
				`stderr[0] of command "empty" is not a regular expression`, `file "relative": the path must be absolute`,
				`mode = "0999" for file "relative"`, `owner = "a:b:c"`, `content of file "relative" is not a regular expression`},
		},
		"bad gpus": {
			cfg:  th.config(idA, map[string]cty.Value{"g": objectOf(&imageTestSchema().Blocks["command"].Block, map[string]cty.Value{"run": strs("nvidia-smi"), "gpus": cty.StringVal("some")})}, nil, nil),
			want: []string{`gpus = "some" in command "g" must be "all" or a positive count`},
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			_, known, diags := decodeTest(tc.cfg)
			if !known {
				t.Error("a wholly known config decoded as not known")
			}
			var details []string
			for _, d := range diags {
				if d.Severity == providers.Error {
					details = append(details, d.Detail)
				}
			}
			all := strings.Join(details, "\n")
			if len(tc.want) == 0 && len(details) > 0 {
				t.Fatalf("unexpected errors:\n%s", all)
			}
			for _, w := range tc.want {
				if !strings.Contains(all, w) {
					t.Errorf("errors lack %q:\n%s", w, all)
				}
			}
			if len(details) != len(tc.want) {
				t.Errorf("%d errors, want %d:\n%s", len(details), len(tc.want), all)
			}
		})
	}
}

func TestCheckCommand(t *testing.T) {
	re := regexp.MustCompile
	spec := &commandSpec{Name: "deps", Timeout: time.Second, ExitCode: 0,
		Stdout: []*regexp.Regexp{re(`^torch (\d+)`)}, StdoutEx: []*regexp.Regexp{re(`(?i)warning`)},
		Stderr: nil, StderrEx: []*regexp.Regexp{re(`Traceback`)}}
	tests := map[string]struct {
		o    cmdOutcome
		want []string // failures, in order
	}{
		"all hold": {o: cmdOutcome{Stdout: []byte("torch 2\n")}},
		"wrong exit with stderr": {
			o: cmdOutcome{ExitCode: 1, Stdout: []byte("torch 2\n"), Stderr: []byte("Traceback (most recent call last):\nModuleNotFoundError: No module named 'mmcv'\n")},
			want: []string{"command deps: exit code: expected 0, got 1; stderr: ModuleNotFoundError: No module named 'mmcv'",
				`command deps: stderr: expected no match for /Traceback/, got matched "Traceback (most recent call last):"`},
		},
		"excluded output": {
			o:    cmdOutcome{Stdout: []byte("torch 2\nWarning: slow\n")},
			want: []string{`command deps: stdout: expected no match for /(?i)warning/, got matched "Warning: slow"`},
		},
		"no output": {
			o:    cmdOutcome{},
			want: []string{`command deps: stdout: expected matches /^torch (\d+)/, got no output`},
		},
		"did not start": {
			o:    cmdOutcome{ExitCode: -1, StartErr: errors.New(`exec: "python": executable file not found in $PATH`)},
			want: []string{`command deps: exit code: expected 0, got no exit code: it did not start: exec: "python": executable file not found in $PATH`, `command deps: stdout: expected matches /^torch (\d+)/, got no output`},
		},
		"timed out": {
			o:    cmdOutcome{TimedOut: true, Stdout: []byte("loading…\n")},
			want: []string{"command deps: timeout: expected finishes within 1s, got still running after 1s, killed; stdout: loading…"},
		},
		"long output is quoted by its end": {
			o:    cmdOutcome{Stdout: []byte(strings.Repeat("x", 300) + "\nend")},
			want: []string{`command deps: stdout: expected matches /^torch (\d+)/, got …"` + strings.Repeat("x", 196) + `\nend"`},
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			var got []string
			for _, r := range checkCommand(spec, tc.o) {
				if !r.Passed {
					got = append(got, r.failure())
				}
			}
			if strings.Join(got, "\n") != strings.Join(tc.want, "\n") {
				t.Errorf("failures:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(tc.want, "\n"))
			}
		})
	}
}

func TestCheckFile(t *testing.T) {
	acc := parseAccounts([]byte("root:x:0:0::/root:/bin/sh\n# comment\napp:x:1000:1000::/app:/bin/sh\nbroken\n"), []byte("root:x:0:\nvideo:x:44:app\n"))
	mode := func(m uint32) *uint32 { return &m }
	reg := func(perm os.FileMode) fileOutcome {
		return fileOutcome{Exists: true, Mode: perm, UID: 1000, GID: 44, Content: []byte("backend=sdpa\n")}
	}
	tests := map[string]struct {
		spec *fileSpec
		o    fileOutcome
		want []string
	}{
		"all hold": {
			spec: &fileSpec{Path: "/f", Exists: true, Mode: mode(0o4755), Owner: "app:video", Content: regexp.MustCompile(`^backend=sdpa$`)},
			o:    reg(0o755 | os.ModeSetuid),
		},
		"numeric owner and root": {
			spec: &fileSpec{Path: "/f", Exists: true, Owner: "1000"},
			o:    reg(0o644),
		},
		"wrong mode, owner, content": {
			spec: &fileSpec{Path: "/f", Exists: true, Mode: mode(0o644), Owner: "root:root", Content: regexp.MustCompile(`flash`)},
			o:    reg(0o600),
			want: []string{"file /f: mode: expected 0644, got 0600", "file /f: owner: expected root:root, got 1000:44 (app:video)",
				`file /f: content: expected matches /flash/, got "backend=sdpa"`},
		},
		"unknown user": {
			spec: &fileSpec{Path: "/f", Exists: true, Owner: "ghost"},
			o:    reg(0o644),
			want: []string{"file /f: owner: expected ghost, got 1000:44 (app:video); user ghost is not in the image's /etc/passwd"},
		},
		"absent but wanted": {
			spec: &fileSpec{Path: "/f", Exists: true, Mode: mode(0o644)},
			want: []string{"file /f: exists: expected present, got absent"},
		},
		"present but unwanted": {
			spec: &fileSpec{Path: "/f", Exists: false},
			o:    fileOutcome{Exists: true, Mode: os.ModeSymlink | 0o777, LinkTarget: "/g"},
			want: []string{"file /f: exists: expected absent, got present (a symbolic link to /g)"},
		},
		"content of a directory": {
			spec: &fileSpec{Path: "/d", Exists: true, Content: regexp.MustCompile(`x`)},
			o:    fileOutcome{Exists: true, Mode: os.ModeDir | 0o755},
			want: []string{"file /d: content: expected matches /x/, got not a regular file (a directory)"},
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			var got []string
			for _, r := range checkFile(tc.spec, tc.o, acc) {
				if !r.Passed {
					got = append(got, r.failure())
				}
			}
			if strings.Join(got, "\n") != strings.Join(tc.want, "\n") {
				t.Errorf("failures:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(tc.want, "\n"))
			}
		})
	}
}

// TestExposedPortsChecked: each exposed_ports element is read offline as
// EXPOSE writes a port, PORT or PORT/PROTO, and a bad one is an error on
// that element, not a test that fails against every image.
func TestExposedPortsChecked(t *testing.T) {
	th := &testHarness{}
	tests := map[string]struct {
		port string
		want string // substring of the error's detail; "" when valid
	}{
		"port":           {port: "8188"},
		"udp":            {port: "53/udp"},
		"sctp, any case": {port: "9/SCTP"},
		"name":           {port: "http", want: `exposed_ports[1] = "http" is not a port: "http" is not a number from 1 to 65535`},
		"too high":       {port: "99999", want: `"99999" is not a number from 1 to 65535`},
		"zero":           {port: "0", want: `"0" is not a number from 1 to 65535`},
		"signed":         {port: "+80", want: `"+80" is not a number`},
		"protocol":       {port: "80/xyz", want: `the protocol "xyz" is not tcp, udp or sctp`},
		"both wrong":     {port: "99999/xyz", want: `"99999" is not a number from 1 to 65535`},
		"empty protocol": {port: "80/", want: `the protocol "" is not tcp, udp or sctp`},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			cfg := th.config(idA, nil, nil, map[string]cty.Value{"exposed_ports": strs("8188", tc.port)})
			_, _, diags := decodeTest(cfg)
			if tc.want == "" {
				if diags.HasErrors() {
					t.Fatalf("%q refused: %v", tc.port, diags)
				}
				return
			}
			if len(diags) != 1 || diags[0].Severity != providers.Error || !strings.Contains(diags[0].Detail, tc.want) {
				t.Fatalf("%q: diagnostics %v, want one error with %q", tc.port, diags, tc.want)
			}
			want := cty.GetAttrPath("metadata").GetAttr("exposed_ports").Index(cty.NumberIntVal(1))
			if !diags[0].Attribute.Equals(want) {
				t.Errorf("%q: error on %#v, want the element %#v", tc.port, diags[0].Attribute, want)
			}
		})
	}
}

func TestCheckMetadata(t *testing.T) {
	f := &imageFacts{Env: []string{"PATH=/bin", "ENABLE_STEADYDANCER=true", "EMPTY="}, Labels: map[string]string{"a": "1"},
		Entry: []string{"/entry.sh"}, Cmd: nil, Workdir: "/app", User: "1000", Ports: []string{"8188/tcp", "53/udp"}}
	wd, user := "/app", "root"
	m := &metadataSpec{Env: map[string]string{"ENABLE_STEADYDANCER": "false", "EMPTY": "", "MISSING": "x"}, Labels: map[string]string{"a": "1"},
		HasEntry: true, Entrypoint: []string{"/entry.sh"}, HasCmd: true, Cmd: []string{"serve"}, Workdir: &wd, User: &user,
		Ports: []string{"8188", "53/udp", "80"}}
	var got []string
	passed := 0
	for _, r := range checkMetadata(m, f) {
		if r.Passed {
			passed++
		} else {
			got = append(got, r.failure())
		}
	}
	want := []string{
		`metadata: env ENABLE_STEADYDANCER: expected "false", got "true"`,
		`metadata: env MISSING: expected "x", got unset`,
		`metadata: cmd: expected ["serve"], got []`,
		`metadata: user: expected "root", got "1000"`,
		`metadata: exposed port 80/tcp: expected exposed, got exposed: 53/udp, 8188/tcp`,
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("failures:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if passed != 6 {
		t.Errorf("%d expectations held, want 6 (EMPTY, label, entrypoint, workdir, 8188, 53/udp)", passed)
	}
}

func TestImageTestPlan(t *testing.T) {
	p := offlineProvider(t)
	th := newTestHarness(t, p)
	def := th.config(idA, map[string]cty.Value{"a": command([]string{"true"}, nil, "", nil)}, nil, nil)
	defB := th.config(idB, map[string]cty.Value{"a": command([]string{"true"}, nil, "", nil)}, nil, nil)
	other := th.config(idA, map[string]cty.Value{"a": command([]string{"false"}, nil, "", nil)}, nil, nil)
	unknownImage := th.config(idA, map[string]cty.Value{"a": command([]string{"true"}, nil, "", nil)}, nil, nil)
	m := unknownImage.AsValueMap()
	m["image"] = cty.UnknownVal(cty.String)
	unknownImage = cty.ObjectVal(m)
	recorded := func(cfg cty.Value, id string, passed bool) {
		th.state = testValue(cfg, map[string]cty.Value{"results": cty.ListValEmpty(resultType), "passed": cty.BoolVal(passed),
			"runner": cty.StringVal(runnerEngine), "image_id": cty.StringVal(id), "stdout": cty.MapValEmpty(cty.String)})
		th.private = testPrivate{ImageID: id, Definition: definitionDigest(cfg), Passed: passed}.encode()
	}
	tests := map[string]struct {
		prior      func()
		cfg        cty.Value
		wantAction providers.Action
		wantReason string
	}{
		"first run":          {prior: func() { th.state, th.private = cty.NullVal(imageTestSchema().ImpliedType()), nil }, cfg: def, wantAction: providers.Create, wantReason: "not run yet"},
		"same pair passed":   {prior: func() { recorded(def, idA, true) }, cfg: def, wantAction: providers.NoOp, wantReason: "up to date"},
		"same pair failed":   {prior: func() { recorded(def, idA, false) }, cfg: def, wantAction: providers.Replace, wantReason: "the last run failed"},
		"image id changed":   {prior: func() { recorded(def, idA, true) }, cfg: defB, wantAction: providers.Replace, wantReason: "image changed"},
		"image not known":    {prior: func() { recorded(def, idA, true) }, cfg: unknownImage, wantAction: providers.Replace, wantReason: "image changed"},
		"definition changed": {prior: func() { recorded(def, idA, true) }, cfg: other, wantAction: providers.Replace, wantReason: "test definition changed"},
		"no record": {prior: func() {
			recorded(def, idA, true)
			th.private = nil
		}, cfg: def, wantAction: providers.Replace, wantReason: "no result recorded"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			tc.prior()
			pr := th.plan(tc.cfg)
			if a := th.action(pr); a != tc.wantAction || pr.Reason != tc.wantReason {
				t.Errorf("plan: %s %q, want %s %q", a, pr.Reason, tc.wantAction, tc.wantReason)
			}
			if tc.wantAction != providers.NoOp && pr.Planned.GetAttr("passed").IsKnown() {
				t.Error("a test that will run has a known result in its plan")
			}
		})
	}
}

func TestDefinitionDigest(t *testing.T) {
	th := &testHarness{}
	a := th.config(idA, map[string]cty.Value{"a": command([]string{"true"}, map[string]string{"K": "v"}, "", nil)}, nil, nil)
	b := th.config(idB, map[string]cty.Value{"a": command([]string{"true"}, map[string]string{"K": "v"}, "", nil)}, nil, nil)
	c := th.config(idA, map[string]cty.Value{"a": command([]string{"true"}, map[string]string{"K": "w"}, "", nil)}, nil, nil)
	if definitionDigest(a) == "" || definitionDigest(a) != definitionDigest(b) {
		t.Errorf("the image is part of the definition digest: %q vs %q", definitionDigest(a), definitionDigest(b))
	}
	if definitionDigest(a) == definitionDigest(c) {
		t.Error("an env change leaves the definition digest alone")
	}
	m := a.AsValueMap()
	m["command"] = cty.UnknownVal(m["command"].Type())
	if d := definitionDigest(cty.ObjectVal(m)); d != "" {
		t.Errorf("digest of an unknown definition = %q", d)
	}
}

func TestTestRefsAndCandidates(t *testing.T) {
	p := offlineProvider(t)
	v := objectOf(imageSchema(), map[string]cty.Value{
		"id": cty.StringVal(idA), "digest": cty.StringVal("sha256:dddd"), "tags": strs("127.0.0.1:5000/x:1"),
	})
	priv := (&imagePrivate{Version: privateVersion, Candidates: []string{"127.0.0.1:5000/x:1-sdform-candidate"}}).encode()
	p.testRefs.note(v, priv)
	got, err := p.candidates(idA)
	if err != nil {
		t.Fatal(err)
	}
	want := "127.0.0.1:5000/x:1-sdform-candidate 127.0.0.1:5000/x:1 127.0.0.1:5000/x@sha256:dddd"
	if strings.Join(got, " ") != want {
		t.Errorf("references of %s:\n%s\nwant\n%s", short(idA), strings.Join(got, " "), want)
	}
	if refs, _ := p.candidates("busybox:local"); len(refs) != 1 || refs[0] != "busybox:local" {
		t.Errorf("a reference resolves to %v", refs)
	}
	if _, err := p.candidates(idB); !errors.Is(err, errNoReference) || !strings.Contains(err.Error(), "give image a reference") {
		t.Errorf("unknown ID: %v", err)
	}
}

func TestCapBufferKeepsTheEnd(t *testing.T) {
	b := &capBuffer{max: 5}
	for _, s := range []string{"abc", "defg", "h"} {
		b.Write([]byte(s))
	}
	if got := string(b.bytes()); got != "defgh" || !b.dropped {
		t.Errorf("buffer = %q dropped %v", got, b.dropped)
	}
}

func TestImageTestApplyOffline(t *testing.T) {
	p := offlineProvider(t)
	th := newTestHarness(t, p)
	ar := th.run(th.config(idA, map[string]cty.Value{"a": command([]string{"true"}, nil, "", nil)}, nil, nil))
	if !ar.Diagnostics.HasErrors() || !strings.Contains(ar.Diagnostics[0].Detail, "run docker_image_test.it: connect to the Docker Engine at unix://") {
		t.Errorf("apply without a daemon: %v", ar.Diagnostics)
	}
	if !th.state.IsNull() {
		t.Errorf("a test that did not run recorded a state: %#v", th.state)
	}
}

// TestFailureDetail: a failed run's diagnostic names the test, the runner
// and the image, then each failed expectation with what was expected and
// what was seen, one per line, so that the first line alone (what apply's
// progress prints) says how many failed and a list of many stays readable.
func TestFailureDetail(t *testing.T) {
	id := "sha256:0978df926d53a2828e36f645e00ca4bef3d2cfe0c45a30b443d88af126d84ed6"
	pass := testResult{Name: "file /app/hello.sh: exists", Passed: true, Expected: "present", Seen: "present (a regular file)"}
	code := testResult{Name: "command deps: exit code", Expected: "0", Seen: "1", Context: "stderr: ModuleNotFoundError: No module named 'mmcv'"}
	mode := testResult{Name: "file /app/hello.sh: mode", Expected: "0600", Seen: "0755"}
	for name, tc := range map[string]struct {
		results []testResult
		want    string
	}{
		"one failure": {[]testResult{pass, code},
			"docker_image_test.t (docker engine, image sha256:0978df926d53): 1 of 2 expectations failed: " +
				"command deps: exit code: expected 0, got 1; stderr: ModuleNotFoundError: No module named 'mmcv'."},
		"several": {[]testResult{code, pass, mode},
			"docker_image_test.t (docker engine, image sha256:0978df926d53): 2 of 3 expectations failed:\n" +
				"- command deps: exit code: expected 0, got 1; stderr: ModuleNotFoundError: No module named 'mmcv'\n" +
				"- file /app/hello.sh: mode: expected 0600, got 0755"},
	} {
		t.Run(name, func(t *testing.T) {
			run := &testRun{runner: runnerEngine, imageID: id, results: tc.results}
			if got := failureDetail("docker_image_test.t", run); got != tc.want {
				t.Errorf("detail:\n%s\nwant:\n%s", got, tc.want)
			}
		})
	}
}

// TestRollbackOfATest: `sdform rollback` of a docker_image_test says that
// a test has no previous version and points at the image it tests; it
// does not claim that the provider lacks the type.
func TestRollbackOfATest(t *testing.T) {
	p := offlineProvider(t)
	tests := map[string]struct {
		typeName, summary, detail string
	}{
		"test":    {"docker_image_test", "Rollback unsupported", "docker_image_test.smoke records a test run and keeps no previous version; roll back the docker_image it tests (sdform rollback docker_image.NAME)."},
		"unknown": {"docker_thing", "Unknown resource type", `The docker provider has no resource type "docker_thing"; it has docker_image and docker_image_test.`},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			st := cty.ObjectVal(map[string]cty.Value{"image": cty.StringVal(idA)})
			r := p.Rollback(context.Background(), providers.RollbackRequest{TypeName: tc.typeName, Address: tc.typeName + ".smoke", State: st})
			if len(r.Diagnostics) != 1 || r.Diagnostics[0].Summary != tc.summary || r.Diagnostics[0].Detail != tc.detail || !r.Diagnostics.HasErrors() {
				t.Errorf("diagnostics %v, want the error %q: %q", r.Diagnostics, tc.summary, tc.detail)
			}
			if !r.NewState.RawEquals(st) || len(r.Messages) != 0 {
				t.Errorf("a refused rollback changed the state to %#v or said %q", r.NewState, r.Messages)
			}
		})
	}
}
