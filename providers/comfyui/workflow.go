package comfyui

import (
	"bytes"
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"sync"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/zclconf/go-cty/cty"

	"github.com/sdform/sdform/lang"
	"github.com/sdform/sdform/providers"
	"github.com/sdform/sdform/providers/comfyui/download"
	"github.com/sdform/sdform/providers/comfyui/workflow"
)

// workflowType is comfyui_workflow: a workflow run against a ComfyUI server
// (started from an image, or at a URL), recorded with the fingerprint of
// everything it used so that it runs again only when one of them changed.
type workflowType struct {
	p       *Provider
	servers *servers
}

func newWorkflowType(p *Provider) *workflowType { return &workflowType{p: p, servers: newServers()} }

var outputType = cty.Object(map[string]cty.Type{
	"path": cty.String, "sha256": cty.String, "kind": cty.String, "format": cty.String,
	"bytes": cty.Number, "frames": cty.Number, "node": cty.String,
})

var deviceType = cty.Object(map[string]cty.Type{"name": cty.String, "type": cty.String, "vram_total": cty.Number})

var serverType = cty.Object(map[string]cty.Type{
	"url": cty.String, "comfyui_version": cty.String, "pytorch_version": cty.String, "python_version": cty.String,
	"devices": cty.List(deviceType),
})

var workflowSchema = &providers.Schema{
	Description: "A ComfyUI workflow run as an acceptance test of an image and its weights.",
	Verb:        "run",
	Test:        true,
	Attributes: map[string]*providers.Attribute{
		"url": {Type: cty.String, Optional: true,
			Description: "An existing ComfyUI server (http://host:port). Set url or image."},
		"image": {Type: cty.String, Optional: true,
			Description: "A Docker image (id or reference) to start ComfyUI from, through the Docker Engine API. Set url or image."},
		"command": {Type: cty.List(cty.String), Optional: true,
			Description: `Command of the server container; "{port}" is replaced by its port. Default: python main.py --listen 127.0.0.1 --port {port}.`},
		"env": {Type: cty.Map(cty.String), Optional: true, Description: "Environment of the server container."},
		"models_dir": {Type: cty.String, Optional: true,
			Description: "Host folder of ComfyUI's models, mounted read-only in the container; the provider's models_dir when not set."},
		"container_models_path": {Type: cty.String, Optional: true,
			Description: "Where ComfyUI reads its models inside the image (default /opt/ComfyUI/models)."},
		"gpus": {Type: cty.String, Optional: true,
			Description: `"auto" (default: all GPUs when the Docker Engine has the NVIDIA runtime), "all" or "none".`},
		"port": {Type: cty.Number, Optional: true, Description: "Port of the server container on 127.0.0.1; a free one when not set."},
		"keep_running": {Type: cty.Bool, Optional: true,
			Description: "Leave the server container running after the apply (it is stopped by default)."},
		"docker_host": {Type: cty.String, Optional: true, Description: "Docker Engine address; DOCKER_HOST or the default socket when not set."},
		"models": {Type: cty.DynamicPseudoType, Optional: true,
			Description: "Model files the workflow uses; a change to one re-runs it. Best given as the comfyui_model resources themselves " +
				"(models = [comfyui_model.x]): they are tracked by their sha256, and a download planned in the same apply is seen by the same plan. " +
				"An object with path and sha256, or a plain path under models_dir, work too; a plain path is tracked by the file's size and modification time."},
		"workflow": {Type: cty.String, Required: true,
			Description: "Workflow file, API or UI format (UI is converted with the server's /object_info), relative to the configuration."},
		"inputs": {Type: cty.Map(cty.String), Optional: true,
			Description: `Overrides of literal inputs: "NODE.input" = value; numbers and bools are converted to the input's type.`},
		"timeout":       {Type: cty.String, Optional: true, Description: `How long the run may take ("30m" by default); then it is interrupted.`},
		"ready_timeout": {Type: cty.String, Optional: true, Description: `How long the server may take to answer ("5m" by default).`},

		"outputs":     {Type: cty.List(outputType), Computed: true, Description: "Files the last run that passed wrote, fetched into .sdform/outputs/<address>/."},
		"output_dir":  {Type: cty.String, Computed: true, Description: "Folder holding the fetched outputs."},
		"prompt_id":   {Type: cty.String, Computed: true, Description: "The server's id of the run."},
		"cached":      {Type: cty.List(cty.String), Computed: true, Description: "Nodes the server took from its cache."},
		"server":      {Type: serverType, Computed: true, Description: "The server's versions and devices."},
		"fingerprint": {Type: cty.String, Computed: true, Description: "Digest of every input of the run."},
	},
	Blocks: map[string]*providers.NestedBlock{
		"expect": {Nesting: providers.NestingSingle, Block: providers.Schema{
			Description: "What the outputs must include.",
			Attributes: map[string]*providers.Attribute{
				"kind":      {Type: cty.String, Optional: true, Description: "image, animated, video or audio."},
				"min_count": {Type: cty.Number, Optional: true, Description: "At least this many matching files (1)."},
				"min_bytes": {Type: cty.Number, Optional: true, Description: "Each matching file at least this big."},
				"frames":    {Type: cty.Number, Optional: true, Description: "Exact frame count of a matching file (animated WebP/GIF/APNG, MP4/MOV, WebM/Matroska)."},
			},
		}},
	},
}

func (w *workflowType) schema() *providers.Schema { return workflowSchema }

func (w *workflowType) close() error { return w.servers.close() }

// wfConfig is a decoded comfyui_workflow config. Known is false when a
// value the run depends on is known only after apply.
type wfConfig struct {
	URL, Image      string
	Command         []string
	Env             map[string]string
	ModelsDir       string // absolute
	ContainerModels string
	GPUs            string
	Port            int
	KeepRunning     bool
	DockerHost      string
	Models          []modelRef
	Workflow        string // as written
	WorkflowAbs     string
	Inputs          map[string]string
	Timeout         time.Duration
	ReadyTimeout    time.Duration
	Expect          *workflow.Expect
	Known           bool
	Unknown         []string // attributes not yet known
}

func (w *workflowType) decode(v cty.Value) (*wfConfig, providers.Diagnostics) {
	var diags providers.Diagnostics
	c := &wfConfig{Known: true, GPUs: "auto", ContainerModels: defaultContainerModels, Timeout: 30 * time.Minute, ReadyTimeout: 5 * time.Minute}
	if v.IsNull() || !v.IsKnown() {
		c.Known = false
		return c, nil
	}
	v, _ = v.UnmarkDeep()
	for name := range workflowSchema.Attributes {
		if a := v.GetAttr(name); name != "models" && !a.IsWhollyKnown() {
			c.Known = false
			c.Unknown = append(c.Unknown, name)
		}
	}
	if !modelsKnown(v.GetAttr("models")) {
		c.Known = false
		c.Unknown = append(c.Unknown, "models")
	}
	sort.Strings(c.Unknown)
	c.URL, _ = str(v, "url")
	c.Image, _ = str(v, "image")
	urlSet := !v.GetAttr("url").IsNull()
	imageSet := !v.GetAttr("image").IsNull()
	switch {
	case urlSet && imageSet:
		diags = diags.Errorf(cty.GetAttrPath("image"), "Both url and image set",
			"A comfyui_workflow runs against an existing server (url) or one started from an image (image), not both.")
	case !urlSet && !imageSet:
		diags = diags.Errorf(nil, "No ComfyUI server", "Set url to an existing ComfyUI server, or image to a Docker image to start one from.")
	}
	if c.URL != "" {
		if _, err := workflow.NewClient(c.URL, nil); err != nil {
			diags = diags.Errorf(cty.GetAttrPath("url"), "Invalid url", "%v.", err)
		}
	}
	c.Command = strList(v.GetAttr("command"))
	if addr := nonLoopbackListen(c.Command); addr != "" {
		diags = diags.Errorf(cty.GetAttrPath("command"), "Server would listen beyond this machine",
			"The command makes ComfyUI listen on %s. sdform starts the container with host networking, so the server would be reachable from other machines; listen on 127.0.0.1 (ComfyUI's default without --listen).", addr)
	}
	var mdiags providers.Diagnostics
	c.Models, mdiags = decodeModels(v.GetAttr("models"))
	diags = append(diags, mdiags...)
	c.Env = strMap(v.GetAttr("env"))
	c.Inputs = strMap(v.GetAttr("inputs"))
	for k := range c.Inputs {
		if id, in, ok := strings.Cut(k, "."); !ok || id == "" || in == "" {
			diags = diags.Errorf(cty.GetAttrPath("inputs").Index(cty.StringVal(k)), "Invalid input override",
				"The key %q must be NODE.input: the node's id in the workflow and the input's name, such as \"22.model\".", k)
		}
	}
	if s, ok := str(v, "models_dir"); ok {
		c.ModelsDir = w.p.abs(s)
	} else {
		c.ModelsDir = w.p.cfg.ModelsDirAbs
		if c.ModelsDir == "" {
			c.ModelsDir = w.p.abs("models")
		}
	}
	if s, ok := str(v, "container_models_path"); ok {
		c.ContainerModels = s
	}
	if s, ok := str(v, "gpus"); ok {
		if s != "auto" && s != "all" && s != "none" {
			diags = diags.Errorf(cty.GetAttrPath("gpus"), "Invalid gpus", `gpus must be "auto", "all" or "none", not %q.`, s)
		}
		c.GPUs = s
	}
	if n, ok, isInt := num(v, "port"); ok {
		if !isInt || n < 1 || n > 65535 {
			diags = diags.Errorf(cty.GetAttrPath("port"), "Invalid port", "port must be a whole number from 1 to 65535.")
		}
		c.Port = int(n)
	}
	if b := v.GetAttr("keep_running"); b.IsKnown() && !b.IsNull() {
		c.KeepRunning = b.True()
	}
	c.DockerHost, _ = str(v, "docker_host")
	if s, ok := str(v, "workflow"); ok {
		c.Workflow = s
		c.WorkflowAbs = w.p.abs(s)
	}
	for _, d := range []struct {
		name string
		dst  *time.Duration
	}{{"timeout", &c.Timeout}, {"ready_timeout", &c.ReadyTimeout}} {
		if s, ok := str(v, d.name); ok {
			t, err := lang.ParseDuration(s)
			if err != nil || t <= 0 {
				diags = diags.Errorf(cty.GetAttrPath(d.name), "Invalid "+d.name, "%s must be a duration such as \"30m\" or \"1h30m\", not %q.", d.name, s)
			}
			*d.dst = t
		}
	}
	if e := v.GetAttr("expect"); e.IsKnown() && !e.IsNull() {
		c.Expect = &workflow.Expect{}
		if k, ok := str(e, "kind"); ok {
			valid := false
			for _, x := range workflow.Kinds {
				valid = valid || x == k
			}
			if !valid {
				diags = diags.Errorf(cty.GetAttrPath("expect").GetAttr("kind"), "Invalid expect.kind",
					"expect.kind must be one of %s, not %q.", strings.Join(workflow.Kinds, ", "), k)
			}
			c.Expect.Kind = k
		}
		for _, f := range []struct {
			name string
			set  func(int64)
		}{
			{"min_count", func(n int64) { c.Expect.MinCount = int(n) }},
			{"min_bytes", func(n int64) { c.Expect.MinBytes = n }},
			{"frames", func(n int64) { c.Expect.Frames = int(n) }},
		} {
			if n, ok, isInt := num(e, f.name); ok {
				if !isInt || n < 0 {
					diags = diags.Errorf(cty.GetAttrPath("expect").GetAttr(f.name), "Invalid expect."+f.name, "expect.%s must be a whole number, 0 or more.", f.name)
				}
				f.set(n)
			}
		}
	}
	return c, diags
}

// nonLoopbackListen returns the addresses a ComfyUI command line's
// --listen names when one of them is not a loopback address: ComfyUI takes
// a bare --listen as every interface ("0.0.0.0,::").
func nonLoopbackListen(cmd []string) string {
	for i, a := range cmd {
		var v string
		switch {
		case a == "--listen" && i+1 < len(cmd) && !strings.HasPrefix(cmd[i+1], "-"):
			v = cmd[i+1]
		case a == "--listen":
			v = "0.0.0.0,::"
		case strings.HasPrefix(a, "--listen="):
			v = strings.TrimPrefix(a, "--listen=")
		default:
			continue
		}
		for _, h := range strings.Split(v, ",") {
			h = strings.Trim(strings.TrimSpace(h), "[]")
			if ip := net.ParseIP(h); h != "localhost" && (ip == nil || !ip.IsLoopback()) {
				return v
			}
		}
	}
	return ""
}

func strList(v cty.Value) []string {
	if v.IsNull() || !v.IsWhollyKnown() {
		return nil
	}
	var out []string
	for it := v.ElementIterator(); it.Next(); {
		_, e := it.Element()
		if !e.IsNull() {
			out = append(out, e.AsString())
		}
	}
	return out
}

func strMap(v cty.Value) map[string]string {
	if v.IsNull() || !v.IsWhollyKnown() {
		return nil
	}
	out := map[string]string{}
	for it := v.ElementIterator(); it.Next(); {
		k, e := it.Element()
		if !e.IsNull() {
			out[k.AsString()] = e.AsString()
		}
	}
	return out
}

// modelRef is one entry of models: a path under the models folder, and
// the sha256 the config gives for it ("" for a plain path).
type modelRef struct {
	Path, SHA256 string
	// Resource is set for a comfyui_model resource, whose own plan says
	// whether its file is there or will be downloaded; FullPath is its
	// full_path, when known.
	Resource bool
	FullPath string
}

// modelFile is where the file of model m is on this host.
func (c *wfConfig) modelFile(m modelRef) string {
	switch {
	case m.FullPath != "":
		return m.FullPath
	case filepath.IsAbs(m.Path):
		return m.Path
	}
	return filepath.Join(c.ModelsDir, m.Path)
}

// missingModels lists the models whose files are not on this host now,
// comfyui_model resources too when withResources.
func (c *wfConfig) missingModels(withResources bool) []string {
	var missing []string
	for _, m := range c.Models {
		if m.Resource && !withResources {
			continue
		}
		if _, err := os.Stat(c.modelFile(m)); err != nil {
			missing = append(missing, m.Path)
		}
	}
	return missing
}

// modelsKnown reports whether what the run uses of models (each entry's
// path and sha256) is known.
func modelsKnown(v cty.Value) bool {
	if !v.IsKnown() {
		return false
	}
	if v.IsNull() || !(v.Type().IsListType() || v.Type().IsTupleType() || v.Type().IsSetType()) {
		return true
	}
	for it := v.ElementIterator(); it.Next(); {
		_, e := it.Element()
		if !e.IsKnown() {
			return false
		}
		if e.Type().IsObjectType() {
			for _, a := range []string{"path", "sha256"} {
				if e.Type().HasAttribute(a) && !e.GetAttr(a).IsKnown() {
					return false
				}
			}
		}
	}
	return true
}

// decodeModels reads models: a list of paths, comfyui_model objects, or
// objects with path and sha256, mixed as the user likes.
func decodeModels(v cty.Value) ([]modelRef, providers.Diagnostics) {
	var diags providers.Diagnostics
	if v.IsNull() || !v.IsKnown() {
		return nil, nil
	}
	ty := v.Type()
	if !(ty.IsListType() || ty.IsTupleType() || ty.IsSetType()) {
		return nil, diags.Errorf(cty.GetAttrPath("models"), "Invalid models",
			"models must be a list of model files: paths under models_dir, comfyui_model resources, or objects with path and sha256.")
	}
	var out []modelRef
	for it := v.ElementIterator(); it.Next(); {
		k, e := it.Element()
		at := cty.GetAttrPath("models").Index(k)
		if !e.IsKnown() || e.IsNull() {
			continue
		}
		et := e.Type()
		switch {
		case et == cty.String:
			out = append(out, modelRef{Path: e.AsString()})
		case et.IsObjectType() && et.HasAttribute("path") && et.AttributeType("path") == cty.String:
			var m modelRef
			if p := e.GetAttr("path"); p.IsKnown() && !p.IsNull() {
				m.Path = p.AsString()
			}
			if et.HasAttribute("sha256") && et.AttributeType("sha256") == cty.String {
				if h := e.GetAttr("sha256"); h.IsKnown() && !h.IsNull() {
					m.SHA256 = strings.ToLower(h.AsString())
					if _, err := hex.DecodeString(m.SHA256); err != nil || len(m.SHA256) != 64 {
						diags = diags.Errorf(at.GetAttr("sha256"), "Invalid sha256", "The sha256 %q of model %s is not 64 hexadecimal digits.", h.AsString(), m.Path)
					}
				}
			}
			if et.HasAttribute("full_path") && et.AttributeType("full_path") == cty.String {
				m.Resource = true
				if f := e.GetAttr("full_path"); f.IsKnown() && !f.IsNull() {
					m.FullPath = f.AsString()
				}
			}
			if m.Path == "" {
				diags = diags.Errorf(at, "Invalid models entry", "A models entry must name its path.")
				continue
			}
			out = append(out, m)
		default:
			diags = diags.Errorf(at, "Invalid models entry",
				"Each models entry is a path under models_dir (\"checkpoints/x.safetensors\"), a comfyui_model resource (comfyui_model.x), or an object with path and sha256; this one is %s.", et.FriendlyName())
		}
	}
	return out, diags
}

// validate checks what needs no server: the config, and the workflow file
// (it parses; in API format, each override names an input it may set).
func (w *workflowType) validate(_ context.Context, req providers.ValidateRequest) providers.ValidateResponse {
	c, diags := w.decode(req.Config)
	if diags.HasErrors() || c.WorkflowAbs == "" {
		return providers.ValidateResponse{Diagnostics: diags}
	}
	_, prompt, _, fileDiags := readWorkflow(c)
	diags = append(diags, fileDiags...)
	if prompt != nil {
		diags = append(diags, checkOverridesOffline(c, prompt)...)
	}
	return providers.ValidateResponse{Diagnostics: diags}
}

// readWorkflow reads and parses the workflow file: the prompt of an API
// format file, or the graph of a UI format one.
func readWorkflow(c *wfConfig) ([]byte, workflow.Prompt, *workflow.Graph, providers.Diagnostics) {
	data, err := os.ReadFile(c.WorkflowAbs)
	if err != nil {
		return nil, nil, nil, providers.Diagnostics{}.Errorf(cty.GetAttrPath("workflow"), "Workflow file not readable",
			"The workflow file %s cannot be read: %v.", c.Workflow, err)
	}
	prompt, graph, err := workflow.Parse(data)
	if err != nil {
		line := 0
		var pe *workflow.ParseError
		if errors.As(err, &pe) {
			line = pe.Line
		}
		return nil, nil, nil, fileDiag(c, line, "Invalid workflow file", err.Error()+".")
	}
	return data, prompt, graph, nil
}

// checkOverridesOffline checks the overrides against an API-format
// workflow alone: each names a node it has, and none replaces a link.
// Whether the node has the input, and takes the value, needs the server's
// /object_info: prepare checks that.
func checkOverridesOffline(c *wfConfig, prompt workflow.Prompt) providers.Diagnostics {
	var diags providers.Diagnostics
	for _, pr := range workflow.ApplyOverrides(prompt.Clone(), nil, overrides(c)) {
		diags = append(diags, overrideDiag(pr))
	}
	return diags
}

// overrides are the inputs of c, sorted by key.
func overrides(c *wfConfig) []workflow.Override {
	keys := make([]string, 0, len(c.Inputs))
	for k := range c.Inputs {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var ovs []workflow.Override
	for _, k := range keys {
		ovs = append(ovs, workflow.Override{Key: k, Value: c.Inputs[k]})
	}
	return ovs
}

// overrideDiag points a problem with an override at its key in inputs.
func overrideDiag(pr workflow.Problem) providers.Diagnostic {
	return providers.Diagnostic{Severity: providers.Error, Summary: pr.Summary, Detail: pr.Detail,
		Attribute: cty.GetAttrPath("inputs").Index(cty.StringVal(pr.Node + "." + pr.Input))}
}

// read checks the recorded run's outputs, the evidence that it passed: an
// output file deleted or modified since is drift, recorded in the private
// data for plan, which then runs the workflow again. (Plan compares the
// fingerprints of everything else.) An output whose stat is as recorded is
// trusted; only one whose stat changed is read to its sha256.
func (w *workflowType) read(_ context.Context, req providers.ReadRequest) providers.ReadResponse {
	if req.Prior.IsNull() {
		return providers.ReadResponse{NewState: req.Prior, Private: req.Private}
	}
	pv := decodeWfPrivate(req.Private)
	outs, drift := checkOutputs(req.Prior, pv.Outputs)
	if drift == "" && pv.Drift == "" {
		return providers.ReadResponse{NewState: req.Prior, Private: req.Private}
	}
	pv.Drift = drift
	attrs := req.Prior.AsValueMap()
	attrs["outputs"] = outs
	return providers.ReadResponse{NewState: cty.ObjectVal(attrs), Private: pv.encode(), Drift: drift}
}

// wfPrivate is recorded with the run: the fingerprint's parts, so the next
// plan can say which input changed.
type wfPrivate struct {
	Version int               `json:"version"`
	Parts   map[string]string `json:"parts"`
	// Drift is what the last read found changed among the recorded
	// outputs ("" when they are as recorded): plan runs the workflow
	// again.
	Drift string `json:"drift,omitempty"`
	// Outputs are the stat records of the recorded outputs, by path, so
	// that a read trusts an output whose stat is unchanged without reading
	// it (as comfyui_model trusts a verified weight).
	Outputs map[string]download.StatRecord `json:"outputs,omitempty"`
}

func decodeWfPrivate(b []byte) wfPrivate {
	var pv wfPrivate
	if len(b) == 0 || json.Unmarshal(b, &pv) != nil || pv.Version != 1 {
		return wfPrivate{Version: 1}
	}
	return pv
}

func (pv wfPrivate) encode() []byte {
	pv.Version = 1
	b, _ := json.Marshal(pv)
	return b
}

func wfDigest(v any) string {
	b, _ := json.Marshal(v)
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:12])
}

// parts computes the fingerprint's parts: the server (a URL, or the image
// as written, the id it names, and how it is started: command, env, models
// folder, GPUs and Engine), the sha256 of the workflow file's bytes (data,
// as read for the run, or now for plan), each model file's identity, each
// input override, and the expectation. A model given with its sha256 (a
// comfyui_model) is that hash; a plain path is the file's size and
// modification time, which change when it is downloaded again. imageID is
// the id the image names ("" when it is itself an id, or was not
// resolved).
func (w *workflowType) parts(c *wfConfig, imageID string, data []byte) map[string]string {
	p := map[string]string{}
	if c.URL != "" {
		p["url"] = c.URL
	} else {
		p["image"] = c.Image
		if imageID != "" && !isImageID(c.Image) {
			p["image_id"] = imageID
		}
		p["server"] = wfDigest([]any{c.Command, c.Env, c.ModelsDir, c.ContainerModels})
		// Parts of their own, absent at their defaults so that the
		// fingerprints recorded before they counted still match.
		if c.GPUs != "auto" {
			p["gpus"] = c.GPUs
		}
		if c.DockerHost != "" {
			p["docker_host"] = c.DockerHost
		}
	}
	sum := sha256.Sum256(data)
	p["workflow"] = hex.EncodeToString(sum[:])
	for _, m := range c.Models {
		if m.SHA256 != "" {
			p["model:"+m.Path] = "sha256:" + m.SHA256
			continue
		}
		full := m.Path
		if !filepath.IsAbs(full) {
			full = filepath.Join(c.ModelsDir, full)
		}
		if st, err := os.Stat(full); err == nil {
			p["model:"+m.Path] = fmt.Sprintf("%d/%d", st.Size(), st.ModTime().UnixNano())
		} else {
			p["model:"+m.Path] = "absent"
		}
	}
	for k, v := range c.Inputs {
		p["inputs."+k] = wfDigest(v)
	}
	if c.Expect != nil {
		p["expect"] = wfDigest(c.Expect)
	}
	return p
}

func partsFingerprint(parts map[string]string) string {
	keys := make([]string, 0, len(parts))
	for k := range parts {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var kv []string
	for _, k := range keys {
		kv = append(kv, k+"="+parts[k])
	}
	return fingerprint(kv)
}

// changedParts words what differs between two fingerprints' parts.
func changedParts(prior, now map[string]string) string {
	keys := map[string]bool{}
	for k := range prior {
		keys[k] = true
	}
	for k := range now {
		keys[k] = true
	}
	var names []string
	for k := range keys {
		if prior[k] == now[k] {
			continue
		}
		if n := describeChange(k, prior, now); n != "" {
			names = append(names, n)
		}
	}
	sort.Strings(names)
	if len(names) > 4 {
		names = append(names[:4], fmt.Sprintf("and %d more", len(names)-4))
	}
	return strings.Join(names, ", ")
}

// describeChange words the change of one part ("" when another part's
// wording covers it).
func describeChange(k string, prior, now map[string]string) string {
	was, is := prior[k], now[k]
	switch {
	case k == "workflow":
		return "workflow file changed"
	case k == "server":
		return "server command, env or models folder changed"
	case k == "gpus":
		return fmt.Sprintf("gpus changed (%s → %s)", cmp.Or(was, "auto"), cmp.Or(is, "auto"))
	case k == "docker_host":
		return "docker_host changed (another Docker Engine)"
	case k == "image_id":
		switch {
		case is == "" || prior["image"] != now["image"]:
			return "" // "image changed" says it
		case is == imageAbsent:
			return fmt.Sprintf("image %s is no longer in the Docker Engine", now["image"])
		case was == "" || was == imageAbsent:
			return fmt.Sprintf("image %s resolved to %s", now["image"], shortID(is))
		}
		return fmt.Sprintf("image %s now names %s, not %s", now["image"], shortID(is), shortID(was))
	case strings.HasPrefix(k, "model:"):
		m := strings.TrimPrefix(k, "model:")
		switch {
		case was == "":
			return "model " + m + " added"
		case is == "":
			return "model " + m + " removed"
		case is == "absent":
			return "model " + m + " missing"
		case strings.HasPrefix(was, "sha256:") && strings.HasPrefix(is, "sha256:"):
			return fmt.Sprintf("model %s changed (sha256 %s → %s)", m, shortID(was), shortID(is))
		}
		return "model " + m + " changed"
	case strings.HasPrefix(k, "inputs."):
		switch {
		case was == "":
			return k + " added"
		case is == "":
			return k + " removed"
		}
	}
	return k + " changed"
}

// workflowValue is the resource's value: the config with the computed attributes.
func workflowValue(config cty.Value, computed map[string]cty.Value) cty.Value {
	attrs := map[string]cty.Value{}
	ty := workflowSchema.ImpliedType()
	for name := range ty.AttributeTypes() {
		if a, ok := computed[name]; ok {
			attrs[name] = a
		} else if !config.IsNull() && config.IsKnown() {
			attrs[name] = config.GetAttr(name)
		} else {
			attrs[name] = cty.NullVal(ty.AttributeType(name))
		}
	}
	return cty.ObjectVal(attrs)
}

func unknownComputed() map[string]cty.Value {
	out := map[string]cty.Value{}
	for name, a := range workflowSchema.Attributes {
		if a.ReadOnly() {
			out[name] = cty.UnknownVal(a.Type)
		}
	}
	return out
}

func (w *workflowType) plan(ctx context.Context, req providers.PlanRequest) providers.PlanResponse {
	c, diags := w.decode(req.Config)
	if diags.HasErrors() {
		return providers.PlanResponse{Planned: req.Proposed, Diagnostics: diags}
	}
	planned := workflowValue(req.Config, unknownComputed())
	var replace []cty.Path
	if !req.Prior.IsNull() {
		replace = []cty.Path{cty.GetAttrPath("fingerprint")}
	}
	if !c.Known {
		reason := "not run yet"
		if !req.Prior.IsNull() {
			reason = strings.Join(c.Unknown, ", ") + " known only after apply"
			switch {
			case wfContains(c.Unknown, "image"):
				reason = "image changed"
			case wfContains(c.Unknown, "models") && len(c.Unknown) == 1:
				reason = "a model changes (its sha256 is known only after apply)"
			}
		}
		return providers.PlanResponse{Planned: planned, RequiresReplace: replace, Reason: reason,
			Details: []string{"not validated yet: " + strings.Join(c.Unknown, ", ") + " known only after apply; the workflow is checked against the server's /object_info before it runs"}}
	}
	prior := decodeWfPrivate(req.PriorPrivate)
	imageID, imageDiags := w.planImageID(ctx, c, prior)
	diags = append(diags, imageDiags...)
	diags = append(diags, w.planLeftovers(ctx, req.Address, c)...)
	data, err := os.ReadFile(c.WorkflowAbs)
	if err != nil {
		return providers.PlanResponse{Planned: req.Proposed, Diagnostics: diags.Errorf(cty.GetAttrPath("workflow"), "Workflow file not readable",
			"The workflow file %s cannot be read: %v.", c.Workflow, err)}
	}
	parts := w.parts(c, imageID, data)
	fp := partsFingerprint(parts)
	sameInputs := !req.Prior.IsNull() && prior.Parts != nil && partsFingerprint(prior.Parts) == fp
	if sameInputs && prior.Drift == "" {
		return providers.PlanResponse{Planned: req.Prior, Reason: "up to date", Fingerprint: fp, PlannedPrivate: req.PriorPrivate, Diagnostics: diags}
	}
	var reason string
	switch {
	case req.Prior.IsNull():
		reason = "not run yet"
	case prior.Parts == nil:
		reason = "no fingerprint recorded"
	case sameInputs:
		reason = prior.Drift
	default:
		reason = changedParts(prior.Parts, parts)
	}
	details, checkDiags := w.check(ctx, c)
	diags = append(diags, checkDiags...)
	var paths []string
	for _, m := range c.Models {
		if m.SHA256 == "" {
			paths = append(paths, m.Path)
		}
	}
	if len(paths) > 0 {
		details = append(details, fmt.Sprintf("models given by path (%s) are tracked by size and modification time as they are now; "+
			"give the comfyui_model itself (models = [comfyui_model.x]) to track its sha256, and to see a download in this apply", strings.Join(paths, ", ")))
	}
	diags = append(diags, c.missingModelsWarning()...)
	return providers.PlanResponse{Planned: planned, RequiresReplace: replace, Reason: reason, Details: details,
		Fingerprint: fp, PlannedPrivate: wfPrivate{Parts: parts}.encode(), Diagnostics: diags}
}

// planImageID resolves the image tag through the Engine, so that a tag
// moved to another image re-runs the workflow. When the Engine does not
// answer, the id the last run used is assumed, and a warning says so.
func (w *workflowType) planImageID(ctx context.Context, c *wfConfig, prior wfPrivate) (string, providers.Diagnostics) {
	if c.URL != "" || isImageID(c.Image) {
		return "", nil
	}
	dc, err := w.servers.dockerClient(c.DockerHost)
	if err == nil {
		rctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		defer cancel()
		var id string
		if id, err = resolveImage(rctx, dc, c.Image); err == nil {
			return id, nil
		}
		if cerrdefs.IsNotFound(err) {
			return imageAbsent, providers.Diagnostics{}.Warnf(cty.GetAttrPath("image"), "Image not in the Docker Engine",
				"The image %s is not in the Docker Engine at %s: the server cannot start unless something builds or pulls it first.", c.Image, dc.DaemonHost())
		}
	}
	last := ""
	if prior.Parts["image"] == c.Image {
		last = prior.Parts["image_id"]
	}
	what := "whether it still names the image the last run used"
	if last != "" {
		what = fmt.Sprintf("whether it still names image %s, which the last run used,", shortID(last))
	}
	return last, providers.Diagnostics{}.Warnf(cty.GetAttrPath("image"), "Image tag not resolved",
		"The Docker Engine did not answer (%v), so the tag %s was not resolved: %s is not checked. It is once the Engine answers.", err, c.Image, what)
}

// planLeftovers warns of the server containers of the workflow that an
// apply killed before it could stop them left running: a no-op plan runs
// nothing that would remove them.
func (w *workflowType) planLeftovers(ctx context.Context, addr string, c *wfConfig) providers.Diagnostics {
	if c.Image == "" {
		return nil
	}
	dc, err := w.servers.dockerClient(c.DockerHost)
	if err != nil {
		return nil
	}
	lctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	left := w.servers.leftovers(lctx, dc, w.owner(addr))
	if len(left) == 0 {
		return nil
	}
	return providers.Diagnostics{}.Warnf(nil, "Server containers left behind",
		"An earlier apply of this workflow was stopped before it could remove the server containers it started: %s. They may hold GPUs and memory. "+
			"The next apply that runs this workflow removes them, and so does sdform destroy; docker rm -f removes them now.",
		strings.Join(left, ", "))
}

// imageAbsent is the image_id part of a tag that names no image.
const imageAbsent = "absent"

// check validates the workflow before apply as far as plan can: the file
// parses, and the overrides of an API-format one name inputs they may set;
// against a url server that answers now, classes, inputs and model files
// are checked through its /object_info. What plan cannot know is said in
// the details.
func (w *workflowType) check(ctx context.Context, c *wfConfig) ([]string, providers.Diagnostics) {
	data, prompt, graph, diags := readWorkflow(c)
	if diags.HasErrors() {
		return nil, diags
	}
	if prompt != nil {
		if diags := checkOverridesOffline(c, prompt); diags.HasErrors() {
			return nil, diags
		}
	}
	format := "API format"
	if graph != nil {
		format = "UI format, converted with the server's /object_info"
	}
	if c.URL == "" {
		return []string{fmt.Sprintf("workflow %s (%s): checked against the server's /object_info when it has started from the image, before the run", c.Workflow, format)}, nil
	}
	client, err := w.servers.atURL(c.URL)
	if err != nil {
		return nil, nil
	}
	if _, err := reachable(ctx, client); err != nil {
		return []string{fmt.Sprintf("workflow %s (%s): not checked against %s, which does not answer now (%v); it is checked before the run", c.Workflow, format, c.URL, err)}, nil
	}
	info, err := client.ObjectInfo(ctx)
	if err != nil {
		return []string{fmt.Sprintf("workflow %s: not checked: reading %s/object_info failed: %v", c.Workflow, c.URL, err)}, nil
	}
	if _, diags := prepare(prompt, graph, info, c, workflow.NodeLines(data)); diags.HasErrors() {
		return nil, diags
	}
	return []string{fmt.Sprintf("workflow %s (%s): checked against %s/object_info (%d node classes)", c.Workflow, format, c.URL, len(info))}, nil
}

// prepare makes the prompt to submit: converts a UI workflow, applies the
// overrides and validates the result; problems are error diagnostics
// naming the workflow file.
func prepare(prompt workflow.Prompt, graph *workflow.Graph, info workflow.Info, c *wfConfig, lines map[string]int) (workflow.Prompt, providers.Diagnostics) {
	var diags providers.Diagnostics
	var probs []workflow.Problem
	if graph != nil {
		prompt, probs = workflow.Convert(graph, info)
	} else {
		prompt = prompt.Clone()
	}
	for _, pr := range workflow.ApplyOverrides(prompt, info, overrides(c)) {
		diags = append(diags, overrideDiag(pr))
	}
	probs = append(probs, workflow.Validate(prompt, info)...)
	for _, pr := range probs {
		diags = append(diags, problemDiag(c, pr, lines))
	}
	if packs := workflow.MissingPacks(probs); len(packs) > 0 {
		var list []string
		for pack, classes := range packs {
			if pack == "" {
				pack = "an unknown pack"
			}
			list = append(list, fmt.Sprintf("%s (%s)", pack, strings.Join(classes, ", ")))
		}
		sort.Strings(list)
		// At the first node whose class is missing: probs are in node order.
		first := 0
		for _, pr := range probs {
			if pr.Summary == "Node class not on the server" {
				first = lines[pr.Node]
				break
			}
		}
		diags = append(diags, fileDiag(c, first, "Custom node packs missing on the server",
			fmt.Sprintf("The workflow %s needs node classes the server does not have. Install these packs in the image: %s.", c.Workflow, strings.Join(list, "; ")))...)
	}
	return prompt, diags
}

// problemDiag points at the input override a problem is about, else at the
// node's line in the workflow file.
func problemDiag(c *wfConfig, pr workflow.Problem, lines map[string]int) providers.Diagnostic {
	summary := pr.Summary
	where := ""
	if pr.Node != "" {
		where = "node " + pr.Node
		if pr.Class != "" {
			where += " (" + pr.Class + ")"
		}
		if pr.Input != "" {
			where += " input " + pr.Input
		}
		summary = fmt.Sprintf("%s: %s", where, pr.Summary)
	}
	d := fileDiag(c, lines[pr.Node], summary, pr.Detail)[0]
	if pr.Node != "" && pr.Input != "" {
		if _, ok := c.Inputs[pr.Node+"."+pr.Input]; ok {
			d.Attribute = cty.GetAttrPath("inputs").Index(cty.StringVal(pr.Node + "." + pr.Input))
			d.File, d.Line = "", 0
		}
	}
	return d
}

// fileDiag is an error about the workflow file at line; the first line
// when it is not known (0), so that every diagnostic shows a line of it.
func fileDiag(c *wfConfig, line int, summary, detail string) providers.Diagnostics {
	return providers.Diagnostics{{Severity: providers.Error, Summary: summary, Detail: detail, File: c.Workflow, Line: max(line, 1)}}
}

// owner is the workflow at addr, as the labels of its server containers
// name it.
func (w *workflowType) owner(addr string) owner { return owner{Dir: w.p.abs("."), Address: addr} }

// removeServers removes, when a workflow run from an image is destroyed,
// the server containers started for it that no apply uses: those kept
// running, and those an apply killed before it could stop them left.
func (w *workflowType) removeServers(ctx context.Context, addr string, prior cty.Value, out io.Writer) providers.Diagnostics {
	if prior.IsNull() {
		return nil
	}
	if _, ok := str(prior, "image"); !ok {
		return nil
	}
	host, _ := str(prior, "docker_host")
	dc, err := w.servers.dockerClient(host)
	if err == nil {
		err = w.servers.removeLeftovers(ctx, dc, w.owner(addr), "", true, out)
	}
	if err != nil {
		return providers.Diagnostics{}.Warnf(nil, "Server containers not checked",
			"The server containers started for %s could not be looked for, and any left running stay: %v.", addr, err)
	}
	return nil
}

// outputs are the output folders of addr: .sdform/outputs/<address>, the
// address made file-safe.
func (w *workflowType) outputs(addr string) outputFolders {
	data := w.p.env.DataDir
	if data == "" {
		data = w.p.abs(".sdform")
	}
	return outputFolders{dir: filepath.Join(data, "outputs", unsafeChars.ReplaceAllString(addr, "_"))}
}

var unsafeChars = regexp.MustCompile(`[^A-Za-z0-9._-]+`)

func (w *workflowType) apply(ctx context.Context, req providers.ApplyRequest) providers.ApplyResponse {
	if req.Action == providers.Delete {
		diags := w.removeServers(ctx, req.Address, req.Prior, uiWriter(req.UI))
		if err := w.outputs(req.Address).removeAll(); err != nil {
			return providers.ApplyResponse{NewState: req.Prior, Diagnostics: diags.FromError("Outputs not removed", err)}
		}
		return providers.ApplyResponse{NewState: cty.NullVal(workflowSchema.ImpliedType()), Diagnostics: diags}
	}
	failed := func(diags providers.Diagnostics) providers.ApplyResponse {
		return providers.ApplyResponse{NewState: req.Prior, Private: nil, Diagnostics: diags}
	}
	c, diags := w.decode(req.Config)
	if diags.HasErrors() {
		return failed(diags)
	}
	if !c.Known {
		return failed(diags.Errorf(nil, "Values unknown at apply", "%s: %s still unknown when the workflow should run.", req.Address, strings.Join(c.Unknown, ", ")))
	}
	if d := checkModelsMounted(c); d.HasErrors() {
		return failed(append(diags, d...))
	}
	res, srv, err := w.run(ctx, req.Address, c, uiWriter(req.UI))
	if err != nil {
		var d providers.Diagnostics
		var pd *prepareError
		if errors.As(err, &pd) {
			d = pd.diags
		} else {
			detail := err.Error()
			if logs := srv.logs(ctx); logs != "" && !strings.Contains(detail, "container's log") {
				detail += fmt.Sprintf("\nlast %d lines of the server container's log:\n%s", logTail, logs)
			}
			d = providers.Diagnostics{{Severity: providers.Error, Summary: "Workflow run failed", Detail: detail}}
		}
		if ctx.Err() != nil {
			// Ctrl-C: stop the servers now rather than at Close.
			if serr := w.servers.stopAll(ctx); serr != nil {
				d = d.FromError("Server not stopped", serr)
			}
		}
		return failed(append(diags, d...))
	}
	state := workflowValue(req.Config, res.values())
	return providers.ApplyResponse{NewState: state, Private: wfPrivate{Parts: res.parts, Outputs: outputStats(res.files)}.encode(), Diagnostics: diags}
}

// missingModelsWarning warns at plan of model files missing now, save
// comfyui_model resources, whose own plans say whether they download them.
func (c *wfConfig) missingModelsWarning() providers.Diagnostics {
	missing := c.missingModels(false)
	if len(missing) == 0 {
		return nil
	}
	consequence := fmt.Sprintf("The server started from the image gets %s as its models folder when the folder exists, so the apply stops before starting it "+
		"unless the files are there by then. A comfyui_model of this apply puts its file there; naming it in models (models = [comfyui_model.x]) tells the plan so.", c.ModelsDir)
	if c.URL != "" {
		consequence = fmt.Sprintf("The server at %s reads its own models folder (its /object_info lists the files it has); the run's fingerprint records these as absent.", c.URL)
	}
	return providers.Diagnostics{}.Warnf(cty.GetAttrPath("models"), "Model files missing", "models lists %s, not in %s now. %s",
		strings.Join(missing, ", "), c.ModelsDir, consequence)
}

// checkModelsMounted refuses to start a server from an image while a model
// file is missing: the models folder is mounted over the image's own, so
// the server would not find it. (A server at a URL has its own folder, and
// its /object_info says what it lacks; without the folder nothing is
// mounted, and the image's own models are used.)
func checkModelsMounted(c *wfConfig) providers.Diagnostics {
	if c.Image == "" {
		return nil
	}
	if st, err := os.Stat(c.ModelsDir); err != nil || !st.IsDir() {
		return nil
	}
	missing := c.missingModels(true)
	if len(missing) == 0 {
		return nil
	}
	return providers.Diagnostics{}.Errorf(cty.GetAttrPath("models"), "Model files missing",
		"models lists %s, not in %s, which is mounted over %s in the server container: the workflow cannot load them. Put the files there (a comfyui_model downloads one), or remove them from models.",
		strings.Join(missing, ", "), c.ModelsDir, c.ContainerModels)
}

// prepareError carries the diagnostics of a workflow that failed its checks
// before submission.
type prepareError struct{ diags providers.Diagnostics }

func (e *prepareError) Error() string {
	var parts []string
	for _, d := range e.diags {
		parts = append(parts, d.Summary)
	}
	return "workflow not valid for this server: " + strings.Join(parts, "; ")
}

type runResult struct {
	res   *workflow.Result
	files []workflow.File
	stats *workflow.Stats
	url   string
	dir   string
	// parts is the fingerprint of what the run used, taken as it was
	// submitted (see follow).
	parts map[string]string
}

func (r *runResult) values() map[string]cty.Value {
	var outs []cty.Value
	for _, f := range r.files {
		outs = append(outs, cty.ObjectVal(map[string]cty.Value{
			"path": cty.StringVal(f.Path), "sha256": cty.StringVal(f.SHA256), "kind": cty.StringVal(f.Kind),
			"format": cty.StringVal(f.Format), "bytes": cty.NumberIntVal(f.Bytes), "frames": cty.NumberIntVal(int64(f.Frames)),
			"node": cty.StringVal(f.Ref.Node),
		}))
	}
	outputs := cty.ListValEmpty(outputType)
	if len(outs) > 0 {
		outputs = cty.ListVal(outs)
	}
	var cached []cty.Value
	for _, n := range r.res.Cached {
		cached = append(cached, cty.StringVal(n))
	}
	cachedV := cty.ListValEmpty(cty.String)
	if len(cached) > 0 {
		cachedV = cty.ListVal(cached)
	}
	var devs []cty.Value
	for _, d := range r.stats.Devices {
		devs = append(devs, cty.ObjectVal(map[string]cty.Value{"name": cty.StringVal(d.Name), "type": cty.StringVal(d.Type), "vram_total": cty.NumberIntVal(d.VRAMTotal)}))
	}
	devsV := cty.ListValEmpty(deviceType)
	if len(devs) > 0 {
		devsV = cty.ListVal(devs)
	}
	return map[string]cty.Value{
		"outputs":    outputs,
		"output_dir": cty.StringVal(r.dir),
		"prompt_id":  cty.StringVal(r.res.PromptID),
		"cached":     cachedV,
		"server": cty.ObjectVal(map[string]cty.Value{
			"url": cty.StringVal(r.url), "comfyui_version": cty.StringVal(r.stats.ComfyUIVersion),
			"pytorch_version": cty.StringVal(r.stats.PytorchVersion), "python_version": cty.StringVal(r.stats.PythonVersion),
			"devices": devsV,
		}),
		"fingerprint": cty.StringVal(partsFingerprint(r.parts)),
	}
}

// run gets the server (from the URL, or a container from the image), then
// follows the workflow on it.
func (w *workflowType) run(ctx context.Context, addr string, c *wfConfig, out io.Writer) (*runResult, *server, error) {
	if c.URL != "" {
		client, err := w.servers.atURL(c.URL)
		if err != nil {
			return nil, nil, err
		}
		stats, err := client.WaitReady(ctx, c.ReadyTimeout)
		if err != nil {
			return nil, nil, err
		}
		res, err := w.follow(ctx, addr, c, "", client, stats, out)
		return res, nil, err
	}
	spec := serverSpec{Image: c.Image, Command: c.Command, Env: c.Env, ModelsDir: c.ModelsDir, ContainerModels: c.ContainerModels,
		GPUs: c.GPUs, Port: c.Port, KeepRunning: c.KeepRunning, DockerHost: c.DockerHost, Owner: w.owner(addr)}
	srv, err := w.servers.start(ctx, spec, c.ReadyTimeout, out)
	if err != nil {
		return nil, srv, err
	}
	// A container that dies during the run (killed, out of memory) ends
	// it at once rather than at its timeout.
	wctx, stop := srv.watch(ctx)
	defer stop()
	res, err := w.follow(wctx, addr, c, srv.imageID, srv.client, srv.stats, out)
	var exit *exitError
	if err != nil && ctx.Err() == nil && errors.As(context.Cause(wctx), &exit) {
		err = fmt.Errorf("%w during the run: %v", exit, err)
	}
	return res, srv, err
}

// follow checks and submits the workflow, follows the run, and fetches and
// checks its outputs. The fingerprint it records is taken before the
// submit, from the workflow file's bytes it submits and the models as
// they are then: a file edited or a model replaced during the run (which
// may last half an hour) is not recorded as tested. imageID is the id of
// the server's image ("" for a URL).
func (w *workflowType) follow(ctx context.Context, addr string, c *wfConfig, imageID string, client *workflow.Client, stats *workflow.Stats, out io.Writer) (*runResult, error) {
	data, prompt, graph, diags := readWorkflow(c)
	if diags.HasErrors() {
		return nil, &prepareError{diags}
	}
	parts := w.parts(c, imageID, data)
	info, err := client.ObjectInfo(ctx)
	if err != nil {
		return nil, err
	}
	lines := workflow.NodeLines(data)
	prompt, diags = prepare(prompt, graph, info, c, lines)
	if diags.HasErrors() {
		return nil, &prepareError{diags}
	}
	fmt.Fprintf(out, "submitting %s (%d nodes) to %s\n", c.Workflow, len(prompt), client.URL())
	res, err := client.Run(ctx, prompt, workflow.RunOptions{Timeout: c.Timeout, Events: progressPrinter(out, prompt)})
	if err != nil {
		var rej *workflow.RejectedError
		if errors.As(err, &rej) {
			var d providers.Diagnostics
			for _, pr := range rej.Problems() {
				d = append(d, problemDiag(c, pr, lines))
			}
			detail := rej.Error()
			if len(rej.Nodes) > 0 {
				detail = fmt.Sprintf("POST /prompt to %s answered 400 (%s: %s); each node's errors are listed on their own.", client.URL(), rej.Type, rej.Message)
			}
			return nil, &prepareError{append(d, fileDiag(c, 0, "The server rejected the workflow", detail)...)}
		}
		return nil, err
	}
	outs := w.outputs(addr)
	tmp, files, err := outs.fetch(ctx, client, res.Outputs)
	if err != nil {
		return nil, err
	}
	if c.Expect != nil {
		if err := c.Expect.Check(files); err != nil {
			where := "they were not kept"
			if failed := outs.keepFailed(tmp); failed != "" {
				where = "they are in " + failed
			}
			return nil, fmt.Errorf("outputs do not meet expect: %w (%s; the outputs of the last run that passed stay in %s)", err, where, outs.dir)
		}
	}
	if err := outs.promote(tmp, files); err != nil {
		os.RemoveAll(tmp)
		return nil, err
	}
	fmt.Fprintf(out, "done in %s (%d cached nodes): %d output files in %s\n", res.Duration.Round(100*time.Millisecond), len(res.Cached), len(files), outs.dir)
	return &runResult{res: res, files: files, stats: stats, url: client.URL(), dir: outs.dir, parts: parts}, nil
}

// progressPrinter turns run events into lines: each node as it starts,
// step progress at most every 10 % of a node.
func progressPrinter(out io.Writer, p workflow.Prompt) func(workflow.Event) {
	lastPct := map[string]int{}
	return func(e workflow.Event) {
		switch e.Type {
		case "execution_cached":
			if len(e.Nodes) > 0 {
				fmt.Fprintf(out, "%d of %d nodes cached\n", len(e.Nodes), len(p))
			}
		case "executing":
			fmt.Fprintf(out, "node %s (%s)\n", e.Node, e.Class)
		case "progress":
			if e.Max <= 0 {
				return
			}
			pct := int(100 * e.Value / e.Max)
			if pct/10 > lastPct[e.Node]/10 || pct == 100 && lastPct[e.Node] != 100 {
				lastPct[e.Node] = pct
				fmt.Fprintf(out, "node %s (%s) step %g/%g\n", e.Node, e.Class, e.Value, e.Max)
			}
		case "websocket_dropped":
			fmt.Fprintf(out, "WebSocket closed (%v); following the run through /history\n", e.Err)
		}
	}
}

// uiWriter is where progress lines go: as they are, or under -json as one
// JSON object per line.
func uiWriter(ui providers.UI) io.Writer {
	if ui.Out == nil {
		return io.Discard
	}
	if !ui.JSON {
		return ui.Out
	}
	return &jsonLines{out: ui.Out}
}

type jsonLines struct {
	mu  sync.Mutex
	out io.Writer
	buf []byte
}

func (j *jsonLines) Write(p []byte) (int, error) {
	j.mu.Lock()
	defer j.mu.Unlock()
	j.buf = append(j.buf, p...)
	for {
		i := bytes.IndexByte(j.buf, '\n')
		if i < 0 {
			return len(p), nil
		}
		b, _ := json.Marshal(map[string]any{"@level": "info", "@message": string(j.buf[:i]), "type": "progress"})
		j.buf = j.buf[i+1:]
		if _, err := j.out.Write(append(b, '\n')); err != nil {
			return len(p), err
		}
	}
}

func wfContains(list []string, s string) bool {
	for _, e := range list {
		if e == s {
			return true
		}
	}
	return false
}
