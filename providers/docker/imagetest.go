package docker

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/sdform/sdform/lang"
	"github.com/sdform/sdform/providers"
	"github.com/zclconf/go-cty/cty"
	ctyjson "github.com/zclconf/go-cty/cty/json"
)

// defaultCommandTimeout bounds a command test that sets no timeout, so a
// command that waits for input or a server never hangs an apply.
const defaultCommandTimeout = 5 * time.Minute

// resultType is one entry of docker_image_test.results.
var resultType = cty.Object(map[string]cty.Type{
	"name": cty.String, "passed": cty.Bool, "expected": cty.String, "seen": cty.String,
})

// imageTestSchema is docker_image_test's schema, in the vocabulary of
// container-structure-test: command, file and metadata tests of one image.
func imageTestSchema() *providers.Schema {
	opt := func(t cty.Type, desc string) *providers.Attribute {
		return &providers.Attribute{Type: t, Optional: true, Description: desc}
	}
	comp := func(t cty.Type, desc string) *providers.Attribute {
		return &providers.Attribute{Type: t, Computed: true, Description: desc}
	}
	strs := cty.List(cty.String)
	strMap := cty.Map(cty.String)
	return &providers.Schema{
		Description: "Tests of a container image: commands run in it, files in it, and its config. The image's tags move to a new build only after its tests passed.",
		Verb:        "run",
		Test:        true,
		Attributes: map[string]*providers.Attribute{
			"image":    {Type: cty.String, Required: true, Description: "Image to test: an image ID (docker_image.x.id) or a reference. A tag of a docker_image is tested at that image's new build, before the tag moves to it."},
			"results":  comp(cty.List(resultType), "One entry per expectation of the last run: what was expected and what was seen."),
			"passed":   comp(cty.Bool, "Whether every expectation of the last run held."),
			"runner":   comp(cty.String, "Where the commands ran: \"docker engine\" (a container) or \"buildkit exec\" (a BuildKit container over the image)."),
			"image_id": comp(cty.String, "Config digest of the image the last run tested."),
			"stdout":   comp(strMap, "Each command's standard output at the last run (its last 4 KiB, without the final newline): what the image reported, such as its attention backend."),
		},
		Blocks: map[string]*providers.NestedBlock{
			"command": {Nesting: providers.NestingMap, Block: providers.Schema{
				Description: "A command run in a container of the image, with what it must print and return.",
				Attributes: map[string]*providers.Attribute{
					"run":     {Type: strs, Required: true, Description: "The argv to run (it replaces the image's entrypoint and cmd)."},
					"env":     opt(strMap, "Environment added to the image's."),
					"timeout": opt(cty.String, "Time limit (\"30s\"); default 5m."),
					"gpus":    opt(cty.String, "\"all\" or a count; ignored, with a note, where the Docker Engine has no NVIDIA runtime."),
				},
				Blocks: map[string]*providers.NestedBlock{
					"expect": {Nesting: providers.NestingSingle, MaxItems: 1, Block: providers.Schema{
						Description: "What the command must do; exit_code 0 when the block is absent.",
						Attributes: map[string]*providers.Attribute{
							"exit_code":       opt(cty.Number, "Expected exit code (default 0)."),
							"stdout":          opt(strs, "Regular expressions that must each match the standard output."),
							"stderr":          opt(strs, "Regular expressions that must each match the standard error."),
							"stdout_excludes": opt(strs, "Regular expressions that must not match the standard output."),
							"stderr_excludes": opt(strs, "Regular expressions that must not match the standard error."),
						},
					}},
				},
			}},
			"file": {Nesting: providers.NestingMap, Block: providers.Schema{
				Description: "A path in the image (the block's label, absolute) and what must be true of it.",
				Attributes: map[string]*providers.Attribute{
					"exists":  opt(cty.Bool, "Whether the path must exist (default true) or be absent."),
					"mode":    opt(cty.String, "Permission bits in octal (\"0755\", \"4755\")."),
					"owner":   opt(cty.String, "Owner as \"UID:GID\", \"user:group\" or \"user\" (names from the image's /etc/passwd and /etc/group)."),
					"content": opt(cty.String, "Regular expression that must match the file's content."),
				},
			}},
			"metadata": {Nesting: providers.NestingSingle, MaxItems: 1, Block: providers.Schema{
				Description: "The image config: env and labels must contain the given pairs; the rest must equal.",
				Attributes: map[string]*providers.Attribute{
					"env":           opt(strMap, "Variables the image's environment must hold, with these values."),
					"labels":        opt(strMap, "Labels the image must carry, with these values."),
					"entrypoint":    opt(strs, "The image's entrypoint, exactly."),
					"cmd":           opt(strs, "The image's cmd, exactly."),
					"workdir":       opt(cty.String, "The image's working directory."),
					"user":          opt(cty.String, "The image's user."),
					"exposed_ports": opt(strs, "Ports the image must expose (\"8188\" means \"8188/tcp\")."),
				},
			}},
		},
	}
}

// testComputed are docker_image_test's attributes that only a run tells.
var testComputed = []string{"results", "passed", "runner", "image_id", "stdout"}

// testSpec is a decoded docker_image_test definition.
type testSpec struct {
	Image    string
	Commands []*commandSpec // by name
	Files    []*fileSpec    // by path
	Metadata *metadataSpec  // nil without a metadata block
}

type commandSpec struct {
	Name     string
	Run      []string
	Env      map[string]string
	Timeout  time.Duration
	GPUs     string // "", "all" or a count
	ExitCode int
	Stdout   []*regexp.Regexp
	Stderr   []*regexp.Regexp
	StdoutEx []*regexp.Regexp
	StderrEx []*regexp.Regexp
}

type fileSpec struct {
	Path    string
	Exists  bool
	Mode    *uint32 // permission bits, with setuid/setgid/sticky as 04000…
	Owner   string
	Content *regexp.Regexp
}

type metadataSpec struct {
	Env        map[string]string
	Labels     map[string]string
	Entrypoint []string // nil: not checked
	Cmd        []string
	HasEntry   bool
	HasCmd     bool
	Workdir    *string
	User       *string
	Ports      []string
}

// decodeTest reads a docker_image_test value. Parts that are not known
// yet are skipped; known reports whether every part of the definition
// (everything but image) was known.
func decodeTest(v cty.Value) (spec *testSpec, known bool, diags providers.Diagnostics) {
	v, _ = v.UnmarkDeep()
	spec = &testSpec{}
	known = true
	if v.IsNull() || !v.IsKnown() {
		return spec, false, nil
	}
	spec.Image = getString(v, "image")
	if cmds := v.GetAttr("command"); !cmds.IsKnown() {
		known = false
	} else if !cmds.IsNull() {
		for it := cmds.ElementIterator(); it.Next(); {
			k, c := it.Element()
			if !c.IsWhollyKnown() {
				known = false
				continue
			}
			cs, d := decodeCommand(k.AsString(), c)
			diags = append(diags, d...)
			spec.Commands = append(spec.Commands, cs)
		}
	}
	if files := v.GetAttr("file"); !files.IsKnown() {
		known = false
	} else if !files.IsNull() {
		for it := files.ElementIterator(); it.Next(); {
			k, f := it.Element()
			if !f.IsWhollyKnown() {
				known = false
				continue
			}
			fs, d := decodeFile(k.AsString(), f)
			diags = append(diags, d...)
			spec.Files = append(spec.Files, fs)
		}
	}
	if md := v.GetAttr("metadata"); !md.IsWhollyKnown() {
		known = false
	} else if !md.IsNull() {
		var d providers.Diagnostics
		spec.Metadata, d = decodeMetadata(md)
		diags = append(diags, d...)
	}
	sort.Slice(spec.Commands, func(i, j int) bool { return spec.Commands[i].Name < spec.Commands[j].Name })
	sort.Slice(spec.Files, func(i, j int) bool { return spec.Files[i].Path < spec.Files[j].Path })
	return spec, known, diags
}

func decodeCommand(name string, c cty.Value) (*commandSpec, providers.Diagnostics) {
	var diags providers.Diagnostics
	at := cty.GetAttrPath("command").Index(cty.StringVal(name))
	cs := &commandSpec{Name: name, Run: getList(c, "run"), Env: getMap(c, "env"), GPUs: getString(c, "gpus"), Timeout: defaultCommandTimeout}
	if len(cs.Run) == 0 {
		diags = diags.Errorf(at.GetAttr("run"), "Empty command", "command %q has an empty run list; give the program and its arguments, like [\"python\", \"-c\", \"import torch\"].", name)
	}
	if s := getString(c, "timeout"); s != "" {
		d, err := lang.ParseDuration(s)
		if err != nil || d <= 0 {
			diags = diags.Errorf(at.GetAttr("timeout"), "Invalid timeout", "timeout = %q in command %q is not a positive duration; write it like \"30s\" or \"5m\".", s, name)
		} else {
			cs.Timeout = d
		}
	}
	if g := cs.GPUs; g != "" && g != "all" {
		if n, err := strconv.Atoi(g); err != nil || n <= 0 {
			diags = diags.Errorf(at.GetAttr("gpus"), "Invalid gpus", "gpus = %q in command %q must be \"all\" or a positive count.", g, name)
		}
	}
	ex := c.GetAttr("expect")
	if ex.IsNull() {
		return cs, diags
	}
	if n := ex.GetAttr("exit_code"); !n.IsNull() {
		bf := n.AsBigFloat()
		i, acc := bf.Int64()
		if !bf.IsInt() || acc != 0 || i < 0 || i > 255 {
			diags = diags.Errorf(at.GetAttr("expect").GetAttr("exit_code"), "Invalid exit_code", "exit_code in command %q must be a whole number from 0 to 255.", name)
		} else {
			cs.ExitCode = int(i)
		}
	}
	compile := func(attr string) []*regexp.Regexp {
		var out []*regexp.Regexp
		for i, src := range getList(ex, attr) {
			re, err := regexp.Compile(src)
			if err != nil {
				diags = diags.Errorf(at.GetAttr("expect").GetAttr(attr).Index(cty.NumberIntVal(int64(i))), "Invalid regular expression",
					"%s[%d] of command %q is not a regular expression (Go RE2 syntax): %v.", attr, i, name, err)
				continue
			}
			out = append(out, re)
		}
		return out
	}
	cs.Stdout, cs.Stderr = compile("stdout"), compile("stderr")
	cs.StdoutEx, cs.StderrEx = compile("stdout_excludes"), compile("stderr_excludes")
	return cs, diags
}

func decodeFile(path string, f cty.Value) (*fileSpec, providers.Diagnostics) {
	var diags providers.Diagnostics
	at := cty.GetAttrPath("file").Index(cty.StringVal(path))
	fs := &fileSpec{Path: path, Exists: true, Owner: getString(f, "owner")}
	if !strings.HasPrefix(path, "/") {
		diags = diags.Errorf(at, "Relative file path", "file %q: the path must be absolute, like \"/etc/attention-backend\".", path)
	}
	if e := f.GetAttr("exists"); !e.IsNull() {
		fs.Exists = e.True()
	}
	if m := getString(f, "mode"); m != "" {
		n, err := strconv.ParseUint(m, 8, 32)
		if err != nil || n > 07777 {
			diags = diags.Errorf(at.GetAttr("mode"), "Invalid mode", "mode = %q for file %q must be octal permission bits, like \"0755\" or \"4755\".", m, path)
		} else {
			u := uint32(n)
			fs.Mode = &u
		}
	}
	if o := fs.Owner; o != "" {
		if _, _, err := parseOwner(o); err != nil {
			diags = diags.Errorf(at.GetAttr("owner"), "Invalid owner", "owner = %q for file %q: %v.", o, path, err)
		}
	}
	if c := getString(f, "content"); c != "" {
		re, err := regexp.Compile(c)
		if err != nil {
			diags = diags.Errorf(at.GetAttr("content"), "Invalid regular expression", "content of file %q is not a regular expression (Go RE2 syntax): %v.", path, err)
		}
		fs.Content = re
	}
	if !fs.Exists && (fs.Mode != nil || fs.Owner != "" || fs.Content != nil) {
		diags = diags.Warnf(at.GetAttr("exists"), "Checks of an absent file", "file %q must be absent (exists = false), so its mode, owner and content checks can never run.", path)
	}
	return fs, diags
}

func decodeMetadata(md cty.Value) (*metadataSpec, providers.Diagnostics) {
	var diags providers.Diagnostics
	m := &metadataSpec{Env: getMap(md, "env"), Labels: getMap(md, "labels"), Ports: getList(md, "exposed_ports")}
	for i, p := range m.Ports {
		if err := checkPort(p); err != nil {
			diags = diags.Errorf(cty.GetAttrPath("metadata").GetAttr("exposed_ports").Index(cty.NumberIntVal(int64(i))), "Invalid port",
				"exposed_ports[%d] = %q is not a port: %v. Write it as EXPOSE does, PORT or PORT/PROTOCOL, like \"8188\" (TCP) or \"53/udp\".", i, p, err)
		}
	}
	if e := md.GetAttr("entrypoint"); !e.IsNull() {
		m.HasEntry, m.Entrypoint = true, getList(md, "entrypoint")
	}
	if c := md.GetAttr("cmd"); !c.IsNull() {
		m.HasCmd, m.Cmd = true, getList(md, "cmd")
	}
	if w := md.GetAttr("workdir"); !w.IsNull() {
		s := w.AsString()
		m.Workdir = &s
	}
	if u := md.GetAttr("user"); !u.IsNull() {
		s := u.AsString()
		m.User = &s
	}
	return m, diags
}

// checkPort reads an exposed port as the image config holds it: PORT or
// PORT/PROTOCOL, with a protocol the Docker Engine knows.
func checkPort(p string) error {
	num, proto, hasProto := strings.Cut(p, "/")
	if n, err := strconv.ParseUint(num, 10, 16); err != nil || n == 0 {
		return fmt.Errorf("%q is not a number from 1 to 65535", num)
	}
	if hasProto {
		switch strings.ToLower(proto) {
		case "tcp", "udp", "sctp":
		default:
			return fmt.Errorf("the protocol %q is not tcp, udp or sctp", proto)
		}
	}
	return nil
}

// parseOwner splits "USER[:GROUP]"; each part a number or a name.
func parseOwner(s string) (user, group string, err error) {
	user, group, _ = strings.Cut(s, ":")
	if user == "" || strings.Contains(group, ":") || strings.HasSuffix(s, ":") {
		return "", "", fmt.Errorf("write it as \"UID:GID\", \"user:group\" or \"user\"")
	}
	return user, group, nil
}

// imageTestType implements docker_image_test.
type imageTestType struct {
	p *Provider
}

// testPrivate is recorded with a run: the pair it tested, so the next plan
// can tell "up to date" from "image changed" and "test definition changed".
type testPrivate struct {
	Version    int    `json:"v"`
	ImageID    string `json:"image_id"`
	Definition string `json:"definition"`
	Passed     bool   `json:"passed"`
}

func decodeTestPrivate(b []byte) testPrivate {
	var p testPrivate
	if len(b) == 0 || json.Unmarshal(b, &p) != nil || p.Version != 1 {
		return testPrivate{Version: 1}
	}
	return p
}

func (p testPrivate) encode() []byte {
	p.Version = 1
	b, _ := json.Marshal(p)
	return b
}

// definitionDigest digests everything of a test but its image and its
// results; "" when some of it is unknown.
func definitionDigest(v cty.Value) string {
	v, _ = v.UnmarkDeep()
	if v.IsNull() || !v.IsKnown() {
		return ""
	}
	attrs := v.AsValueMap()
	attrs["image"] = cty.NullVal(cty.String)
	for _, name := range testComputed {
		attrs[name] = cty.NullVal(v.Type().AttributeType(name))
	}
	d := cty.ObjectVal(attrs)
	if !d.IsWhollyKnown() {
		return ""
	}
	b, err := ctyjson.Marshal(d, d.Type())
	if err != nil {
		return ""
	}
	sum := sha256.Sum256(b)
	return "sha256:" + hex.EncodeToString(sum[:])
}

func (t *imageTestType) validate(_ context.Context, req providers.ValidateRequest) providers.ValidateResponse {
	spec, known, diags := decodeTest(req.Config)
	if known && len(spec.Commands) == 0 && len(spec.Files) == 0 && spec.Metadata == nil {
		diags = diags.Warnf(nil, "Test checks nothing", "This docker_image_test has no command, file or metadata block, so it passes whatever the image holds.")
	}
	return providers.ValidateResponse{Diagnostics: diags}
}

// read keeps the recorded run: a test result is evidence about an image,
// not an object that can change outside sdform.
func (t *imageTestType) read(_ context.Context, req providers.ReadRequest) providers.ReadResponse {
	return providers.ReadResponse{NewState: req.Prior, Private: req.Private}
}

// isImageID reports whether s is an image ID (a config digest) rather than
// a reference.
func isImageID(s string) bool {
	hexPart, ok := strings.CutPrefix(s, "sha256:")
	if !ok || len(hexPart) != 64 {
		return false
	}
	_, err := hex.DecodeString(hexPart)
	return err == nil
}

// testValue is config with the computed attributes given, unknown where
// computed is nil.
func testValue(config cty.Value, computed map[string]cty.Value) cty.Value {
	cfg, marks := config.UnmarkDeepWithPaths()
	attrs := cfg.AsValueMap()
	if attrs == nil {
		attrs = map[string]cty.Value{}
	}
	ty := config.Type()
	for _, name := range testComputed {
		if v, ok := computed[name]; ok {
			attrs[name] = v
		} else {
			attrs[name] = cty.UnknownVal(ty.AttributeType(name))
		}
	}
	return cty.ObjectVal(attrs).MarkWithPaths(marks)
}

// plan decides whether the test must run: never when the pair (image ID,
// definition) is the one that last passed, always when its image is a tag
// waiting for a new build's promotion (see pendingBuilds).
func (t *imageTestType) plan(ctx context.Context, req providers.PlanRequest) providers.PlanResponse {
	spec, known, diags := decodeTest(req.Config)
	resp := providers.PlanResponse{Planned: testValue(req.Config, nil), Diagnostics: diags}
	if diags.HasErrors() {
		return resp
	}
	prior := decodeTestPrivate(req.PriorPrivate)
	rerun := func(reason string) providers.PlanResponse {
		if !req.Prior.IsNull() {
			resp.RequiresReplace = []cty.Path{cty.GetAttrPath("passed")}
			resp.Reason = reason
		}
		return resp
	}
	def := definitionDigest(req.Config)
	imgKnown := req.Config.GetAttr("image").IsKnown()
	if !known || !imgKnown {
		if !imgKnown {
			resp.Details = append(resp.Details, "runs once the image is built (its ID is known only after apply)")
			if known {
				resp.Details = append(resp.Details, summarizeSpec(spec))
			}
			return rerun("image changed")
		}
		resp.Details = append(resp.Details, "runs once its definition is known (it depends on values known only after apply)")
		return rerun("test definition known only after apply")
	}
	if b, ok := t.p.pending.lookup(spec.Image); ok {
		// The tag moves to a new build only once this test passed: what
		// it names now is not what the test is for.
		resp.Details = append(resp.Details, fmt.Sprintf("runs against the new build of %s, which %s names once its tests passed", b.address, spec.Image), summarizeSpec(spec))
		resp.Fingerprint = testDigest(def, spec.Image, b.address)
		resp.PlannedPrivate = testPrivate{Definition: def}.encode()
		if req.Prior.IsNull() {
			resp.Reason = "not run yet"
			return resp
		}
		return rerun(b.address + " builds a new image for " + spec.Image)
	}
	id := spec.Image
	if !isImageID(id) {
		// A reference may have moved: resolve it now, as the run will.
		got, err := t.p.resolveTestImage(ctx, spec.Image)
		if err != nil {
			resp.Details = append(resp.Details, fmt.Sprintf("cannot know: which image %s names now (%v)", spec.Image, err))
			resp.Fingerprint = testDigest(def, spec.Image)
			resp.PlannedPrivate = testPrivate{Definition: def}.encode()
			return rerun("cannot tell which image " + spec.Image + " names now")
		}
		id = got
	}
	resp.Fingerprint = testDigest(def, id)
	resp.PlannedPrivate = testPrivate{ImageID: id, Definition: def}.encode()
	resp.Details = append(resp.Details, summarizeSpec(spec))
	if req.Prior.IsNull() {
		resp.Reason = "not run yet"
		return resp
	}
	switch {
	case prior.ImageID == "" || prior.Definition == "":
		return rerun("no result recorded")
	case id == prior.ImageID && def == prior.Definition && prior.Passed:
		return providers.PlanResponse{Planned: req.Prior, Reason: "up to date", Fingerprint: resp.Fingerprint, PlannedPrivate: req.PriorPrivate, Diagnostics: diags}
	case !prior.Passed && id == prior.ImageID && def == prior.Definition:
		return rerun("the last run failed")
	case id != prior.ImageID:
		return rerun("image changed")
	}
	return rerun("test definition changed")
}

func testDigest(parts ...string) string {
	h := sha256.New()
	for _, p := range parts {
		fmt.Fprintf(h, "%s\x00", p)
	}
	return "sha256:" + hex.EncodeToString(h.Sum(nil))
}

// summarizeSpec is the plan's detail line for a test that will run.
func summarizeSpec(s *testSpec) string {
	var parts []string
	if n := len(s.Commands); n > 0 {
		parts = append(parts, plural(n, "command"))
	}
	if n := len(s.Files); n > 0 {
		parts = append(parts, plural(n, "file check"))
	}
	if s.Metadata != nil {
		parts = append(parts, "metadata")
	}
	if len(parts) == 0 {
		return "checks: none"
	}
	return "checks: " + strings.Join(parts, ", ")
}

func plural(n int, what string) string {
	if n == 1 {
		return "1 " + what
	}
	return fmt.Sprintf("%d %ss", n, what)
}

// apply runs the test. A failing expectation is an error diagnostic that
// names what was expected and what was seen; the results are still
// returned, so that the state records the failed run.
func (t *imageTestType) apply(ctx context.Context, req providers.ApplyRequest) providers.ApplyResponse {
	if req.Action == providers.Delete {
		return providers.ApplyResponse{NewState: cty.NullVal(req.Prior.Type())}
	}
	out := req.UI.Out
	if out == nil {
		out = io.Discard
	}
	fail := func(diags providers.Diagnostics) providers.ApplyResponse {
		return providers.ApplyResponse{NewState: req.Prior, Private: nil, Diagnostics: diags}
	}
	spec, known, diags := decodeTest(req.Config)
	if diags.HasErrors() {
		return fail(diags)
	}
	if !known || !req.Config.GetAttr("image").IsKnown() {
		return fail(diags.Errorf(nil, "Values unknown at apply", "%s: the test's definition or image is still unknown when it should run.", req.Address))
	}
	def := definitionDigest(req.Config)
	b, err := t.p.builder(ctx)
	if err == nil {
		err = b.detect(ctx)
	}
	if err != nil {
		return fail(diags.FromError("Builder unreachable", fmt.Errorf("run %s: %w", req.Address, err)))
	}
	if pb, ok := t.p.pending.lookup(spec.Image); ok && pb.candidate != "" {
		fmt.Fprintf(out, "%s moves to the new build of %s once its tests passed: testing that build (%s)\n", spec.Image, pb.address, pb.candidate)
		spec.Image = pb.candidate
	}
	run, err := t.p.runImageTest(ctx, b, req.Address, spec, out)
	if err != nil {
		return fail(append(diags, run.notes...).FromError("Image test did not run", fmt.Errorf("run %s: %w", req.Address, err)))
	}
	diags = append(diags, run.notes...)
	computed := map[string]cty.Value{
		"results":  resultsValue(run.results),
		"passed":   cty.BoolVal(run.passed()),
		"runner":   cty.StringVal(run.runner),
		"image_id": cty.StringVal(run.imageID),
		"stdout":   stdoutValue(run.stdout),
	}
	priv := testPrivate{ImageID: run.imageID, Definition: def, Passed: run.passed()}
	ns := testValue(req.Config, computed)
	if !run.passed() {
		diags = append(diags, providers.Diagnostic{
			Severity: providers.Error,
			Summary:  "Image test failed",
			Detail:   failureDetail(req.Address, run),
		})
	}
	return providers.ApplyResponse{NewState: ns, Private: priv.encode(), Diagnostics: diags}
}

// failureDetail words a failed run for its diagnostic: the test, its
// runner and image and how many expectations failed on the first line,
// which is all apply's progress line shows; then each failure, with what
// was expected and what was seen, on a line of its own when there are
// several, so that twenty of them stay readable.
func failureDetail(addr string, run *testRun) string {
	fails := run.failures()
	head := fmt.Sprintf("%s (%s, image %s): %d of %d expectations failed", addr, run.runner, short(run.imageID), len(fails), len(run.results))
	if len(fails) == 1 {
		return head + ": " + fails[0] + "."
	}
	return head + ":\n- " + strings.Join(fails, "\n- ")
}

// stdoutValue records each command's output, bounded: state is no place
// for a log.
func stdoutValue(m map[string]string) cty.Value {
	if len(m) == 0 {
		return cty.MapValEmpty(cty.String)
	}
	vs := map[string]cty.Value{}
	for k, v := range m {
		vs[k] = cty.StringVal(v)
	}
	return cty.MapVal(vs)
}

func resultsValue(rs []testResult) cty.Value {
	if len(rs) == 0 {
		return cty.ListValEmpty(resultType)
	}
	vs := make([]cty.Value, len(rs))
	for i, r := range rs {
		vs[i] = cty.ObjectVal(map[string]cty.Value{
			"name": cty.StringVal(r.Name), "passed": cty.BoolVal(r.Passed),
			"expected": cty.StringVal(r.Expected), "seen": cty.StringVal(r.Seen),
		})
	}
	return cty.ListVal(vs)
}
