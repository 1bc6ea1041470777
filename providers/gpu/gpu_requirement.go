package gpu

import (
	"fmt"
	"math/big"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/zclconf/go-cty/cty"

	"github.com/sdform/sdform/providers"
)

// planRequirement evaluates a gpu_requirement against the host now. Unmet
// requirements are errors, so the plan fails before anything is built.
func (p *Provider) planRequirement(req providers.PlanRequest) providers.PlanResponse {
	r, diags := decodeRequirement(req.Config)
	if diags.HasErrors() {
		return providers.PlanResponse{Planned: req.Proposed, Diagnostics: diags}
	}
	v, fp, hostDiags := p.check(r, req.Address)
	diags = append(diags, hostDiags...)
	diags = append(diags, v.diags...)
	return providers.PlanResponse{
		Planned:     requirementValue(req.Config, v),
		Details:     v.details,
		Fingerprint: fp,
		Diagnostics: diags,
	}
}

// applyRequirement re-checks with every input known: for an image_cuda that
// was unknown at plan, this is the check right after the image's build.
func (p *Provider) applyRequirement(req providers.ApplyRequest) providers.ApplyResponse {
	if req.Action == providers.Delete {
		return providers.ApplyResponse{NewState: cty.NullVal(requirementSchema.ImpliedType())}
	}
	r, diags := decodeRequirement(req.Config)
	if len(r.deferred) > 0 && !diags.HasErrors() {
		diags = diags.Errorf(cty.GetAttrPath(r.deferred[0]), "Value unknown at apply",
			"%s of %s is still unknown when it is applied, so the requirement cannot be checked.", r.deferred[0], req.Address)
	}
	if diags.HasErrors() {
		return providers.ApplyResponse{NewState: req.Prior, Diagnostics: diags}
	}
	v, _, hostDiags := p.check(r, req.Address)
	diags = append(diags, hostDiags...)
	diags = append(diags, v.diags...)
	if diags.HasErrors() {
		return providers.ApplyResponse{NewState: req.Prior, Diagnostics: diags}
	}
	return providers.ApplyResponse{NewState: requirementValue(req.Config, v), Diagnostics: diags}
}

// check reads the host and evaluates r against it. A host that cannot be
// read gives an empty verdict (met = false) and the unavailable diagnostic,
// a warning under optional = true.
func (p *Provider) check(r *requirement, addr string) (*verdict, string, providers.Diagnostics) {
	h, err := p.host()
	if err == nil && len(h.Devices) == 0 {
		err = errNoGPU(h)
	}
	if err != nil {
		return &verdict{
			known:   true,
			skipped: true,
			details: []string{"not checked: " + err.Error()},
			summary: "not checked: " + err.Error(),
		}, "unavailable:" + err.Error(), providers.Diagnostics{unavailable(err, r.optional, addr)}
	}
	return r.evaluate(h), h.fingerprint(), nil
}

// requirementValue is the config with the verdict's computed attributes.
func requirementValue(cfg cty.Value, v *verdict) cty.Value {
	attrs := map[string]cty.Value{}
	for name, a := range requirementSchema.Attributes {
		if a.Computed {
			continue
		}
		if cfg.IsNull() || !cfg.IsKnown() {
			attrs[name] = cty.NullVal(a.Type)
		} else {
			attrs[name] = cfg.GetAttr(name)
		}
	}
	attrs["met"] = cty.UnknownVal(cty.Bool)
	attrs["devices"] = cty.UnknownVal(cty.List(cty.Number))
	attrs["summary"] = cty.UnknownVal(cty.String)
	if v.known {
		attrs["met"] = cty.BoolVal(v.met())
		attrs["summary"] = cty.StringVal(v.summary)
	}
	if v.known || v.devicesKnown {
		idx := make([]cty.Value, len(v.matching))
		for i, n := range v.matching {
			idx[i] = cty.NumberIntVal(int64(n))
		}
		attrs["devices"] = cty.ListValEmpty(cty.Number)
		if len(idx) > 0 {
			attrs["devices"] = cty.ListVal(idx)
		}
	}
	return cty.ObjectVal(attrs)
}

var requirementSchema = &providers.Schema{
	Description: "What this machine's GPUs and driver must offer, checked through NVML at plan time and again at apply.",
	Verb:        "check",
	Test:        true,
	Attributes: map[string]*providers.Attribute{
		"min_count": {Type: cty.Number, Optional: true,
			Description: "How many GPUs must meet every per-device requirement; 1 when unset."},
		"min_memory": {Type: cty.String, Optional: true,
			Description: `Total memory each counted GPU must have: "24GiB", "80GB" (decimal units are powers of 1000).`},
		"min_cuda": {Type: cty.String, Optional: true,
			Description: `The oldest CUDA version the driver must support: "12.1".`},
		"min_compute_capability": {Type: cty.String, Optional: true,
			Description: `The oldest compute capability each counted GPU must have: "8.0".`},
		"names": {Type: cty.List(cty.String), Optional: true,
			Description: `Regular expressions matched case-insensitively against device names ("H100|A100|4090"); a GPU counts when any matches.`},
		"image_cuda": {Type: cty.String, Optional: true,
			Description: "The CUDA version of the image that will run here, normally docker_image.NAME.cuda_version; the driver must support it. Checked right after the build when unknown at plan."},
		"optional": {Type: cty.Bool, Optional: true,
			Description: "When true, a machine without an NVIDIA driver or GPU is a warning (met = false) instead of an error. Unmet requirements on a real GPU stay errors."},
		"met":     {Type: cty.Bool, Computed: true, Description: "Whether every requirement holds."},
		"devices": {Type: cty.List(cty.Number), Computed: true, Description: "Indexes of the GPUs that meet every per-device requirement."},
		"summary": {Type: cty.String, Computed: true, Description: "One line saying what was found."},
	},
}

// requirement is a decoded gpu_requirement. Inputs whose value is unknown
// (they depend on something not yet built) are listed in deferred and
// checked at apply.
type requirement struct {
	minCount  int
	minMemory *size
	memText   string // as written: "24GiB"
	minCUDA   version
	cudaText  string
	minCC     version
	ccText    string
	names     []*regexp.Regexp
	nameText  []string
	imageCUDA version
	imageText string
	imageNone bool // image_cuda = "": the image has no CUDA to check
	optional  bool
	deferred  []string
}

// decodeRequirement reads and validates a config value. It never fails on
// unknowns; it reports malformed known values as diagnostics on their path.
func decodeRequirement(cfg cty.Value) (*requirement, providers.Diagnostics) {
	var diags providers.Diagnostics
	r := &requirement{minCount: 1}
	if cfg.IsNull() || !cfg.IsKnown() {
		return r, diags
	}
	str := func(name string) (string, bool) {
		v := cfg.GetAttr(name)
		if !v.IsKnown() {
			r.deferred = append(r.deferred, name)
			return "", false
		}
		if v.IsNull() {
			return "", false
		}
		return v.AsString(), true
	}
	if v := cfg.GetAttr("min_count"); !v.IsKnown() {
		r.deferred = append(r.deferred, "min_count")
	} else if !v.IsNull() {
		n, acc := v.AsBigFloat().Int64()
		if acc != big.Exact || n < 1 || n > 1<<20 {
			diags = diags.Errorf(cty.GetAttrPath("min_count"), "Invalid min_count",
				"min_count must be a whole number of at least 1; got %s.", v.AsBigFloat().Text('g', -1))
		} else {
			r.minCount = int(n)
		}
	}
	if s, ok := str("min_memory"); ok {
		sz, err := parseSize(s)
		if err != nil || sz.bytes <= 0 {
			diags = diags.Errorf(cty.GetAttrPath("min_memory"), "Invalid min_memory",
				"min_memory must be a size like \"24GiB\" or \"80GB\"; got %q.", s)
		} else {
			r.minMemory, r.memText = &sz, s
		}
	}
	versionAttr := func(name, example string) (version, string) {
		s, ok := str(name)
		if !ok {
			return nil, ""
		}
		v, err := parseVersion(s)
		if err != nil {
			diags = diags.Errorf(cty.GetAttrPath(name), "Invalid "+name,
				"%s must be a version like %q; got %q.", name, example, s)
			return nil, ""
		}
		return v, s
	}
	r.minCUDA, r.cudaText = versionAttr("min_cuda", "12.1")
	r.minCC, r.ccText = versionAttr("min_compute_capability", "8.0")
	if s, ok := str("image_cuda"); ok && strings.TrimSpace(s) == "" {
		r.imageNone = true
	} else if ok {
		r.imageCUDA, r.imageText = versionAttr("image_cuda", "12.4")
	}
	if v := cfg.GetAttr("names"); !v.IsWhollyKnown() {
		r.deferred = append(r.deferred, "names")
	} else if !v.IsNull() {
		for i, e := range v.AsValueSlice() {
			path := cty.GetAttrPath("names").IndexInt(i)
			if e.IsNull() || strings.TrimSpace(e.AsString()) == "" {
				diags = diags.Errorf(path, "Invalid names pattern", "names[%d] is empty; write a pattern such as \"H100|A100\".", i)
				continue
			}
			re, err := regexp.Compile("(?i)" + e.AsString())
			if err != nil {
				diags = diags.Errorf(path, "Invalid names pattern", "names[%d] %q is not a valid regular expression: %s.", i, e.AsString(), err)
				continue
			}
			r.names, r.nameText = append(r.names, re), append(r.nameText, e.AsString())
		}
	}
	if v := cfg.GetAttr("optional"); v.IsKnown() && !v.IsNull() {
		r.optional = v.True()
	}
	return r, diags
}

// verdict is the outcome of evaluating a requirement against a host.
type verdict struct {
	diags    providers.Diagnostics // one error per unmet requirement
	details  []string              // one line per requirement, met or not
	matching []int                 // GPUs meeting every per-device requirement
	known    bool                  // false when a check waits for apply
	// devicesKnown: matching is final even when known is false (only
	// the image's CUDA version waits for apply).
	devicesKnown bool
	// skipped: the host could not be read, nothing was checked.
	skipped bool
	summary string
}

func (v *verdict) met() bool { return v.known && !v.skipped && !v.diags.HasErrors() }

// deviceCheck is a requirement each counted GPU must meet on its own.
type deviceCheck struct {
	attr, label string
	ok          func(Device) bool
	// have says what a failing device has, for one device and for
	// several ("has 40.0 GiB" / "have 40.0 GiB"); need ends the sentence.
	have    func(d Device, plural bool) string
	need    string
	summary string
}

// deviceChecks lists r's known per-device requirements in a fixed order.
func (r *requirement) deviceChecks() []deviceCheck {
	var cs []deviceCheck
	if len(r.names) > 0 {
		quoted := make([]string, len(r.nameText))
		for i, n := range r.nameText {
			quoted[i] = strconv.Quote(n)
		}
		cs = append(cs, deviceCheck{
			attr: "names", label: "names " + strings.Join(quoted, ", "),
			ok: func(d Device) bool {
				for _, re := range r.names {
					if re.MatchString(d.Name) {
						return true
					}
				}
				return false
			},
			have: func(_ Device, plural bool) string {
				return pick(plural, "does not match ", "do not match ") + strings.Join(quoted, " or ")
			},
			summary: "GPU model not allowed",
		})
	}
	if r.minMemory != nil {
		need := r.minMemory
		cs = append(cs, deviceCheck{
			attr: "min_memory", label: "min_memory " + r.memText,
			ok: func(d Device) bool { return d.MemoryTotal >= uint64(need.bytes) },
			have: func(d Device, plural bool) string {
				return pick(plural, "has ", "have ") + formatBytes(d.MemoryTotal, need.binary)
			},
			need:    "; needs " + need.text,
			summary: "Not enough GPU memory",
		})
	}
	if r.minCC != nil {
		need := r.minCC
		cs = append(cs, deviceCheck{
			attr: "min_compute_capability", label: "min_compute_capability " + r.ccText,
			ok: func(d Device) bool { return version{d.ComputeMajor, d.ComputeMinor}.compare(need) >= 0 },
			have: func(d Device, plural bool) string {
				return pick(plural, "has", "have") + " compute capability " + d.ComputeCapability()
			},
			need:    "; needs " + r.ccText,
			summary: "GPU compute capability too old",
		})
	}
	return cs
}

// evaluate checks r against h, which has at least one device.
func (r *requirement) evaluate(h *Host) *verdict {
	v := &verdict{known: len(r.deferred) == 0}
	driverSays := fmt.Sprintf("driver %s supports CUDA %s", h.DriverVersion, h.CUDAVersion)
	cuda, cudaErr := parseVersion(h.CUDAVersion)
	cudaCheck := func(attr, label, text string, need version, needWord, summary, hint string) {
		if cudaErr != nil {
			v.diags = v.diags.Errorf(cty.GetAttrPath(attr), summary, "The driver reports CUDA %q, which is not a version: %s.", h.CUDAVersion, cudaErr)
			v.details = append(v.details, label+": not met (unreadable driver CUDA version)")
			return
		}
		if cuda.compare(need.majorMinor()) >= 0 {
			v.details = append(v.details, fmt.Sprintf("%s: met (%s)", label, driverSays))
			return
		}
		v.details = append(v.details, fmt.Sprintf("%s: not met (%s)", label, driverSays))
		v.diags = v.diags.Errorf(cty.GetAttrPath(attr), summary, "%s; %s %s. %s", driverSays, needWord, text, hint)
	}
	if r.minCUDA != nil {
		cudaCheck("min_cuda", "min_cuda "+r.cudaText, r.cudaText, r.minCUDA, "needs", "Driver CUDA version too old",
			"Upgrade the NVIDIA driver or lower min_cuda.")
	}
	switch {
	case r.imageCUDA != nil:
		cudaCheck("image_cuda", "image CUDA "+r.imageText, r.imageText, r.imageCUDA, "image needs", "Image needs a newer NVIDIA driver",
			"Containers from this image would fail to start CUDA here; upgrade the driver or build on an older CUDA base image.")
	case r.imageNone:
		v.details = append(v.details, "image CUDA: the image declares no CUDA version; not checked")
	case slices.Contains(r.deferred, "image_cuda"):
		v.details = append(v.details, "image CUDA: checked after the image is built")
	}

	matching := make([]bool, len(h.Devices))
	for i := range matching {
		matching[i] = true
	}
	deviceFailed := false
	for _, c := range r.deviceChecks() {
		var pass []int
		var fail []Device
		for i, d := range h.Devices {
			if c.ok(d) {
				pass = append(pass, d.Index)
			} else {
				fail = append(fail, d)
				matching[i] = false
			}
		}
		if len(fail) == 0 || len(pass) >= r.minCount {
			v.details = append(v.details, fmt.Sprintf("%s: met by %s", c.label, gpuList(pass)))
			continue
		}
		deviceFailed = true
		detail := strings.Join(failures(c, fail), ". ") + "."
		if len(pass) == 0 {
			v.details = append(v.details, c.label+": not met by any GPU")
		} else {
			v.details = append(v.details, fmt.Sprintf("%s: not met (only %s; needs %d)", c.label, gpuList(pass), r.minCount))
			detail += fmt.Sprintf(" Only %s %s it; min_count is %d.", gpuList(pass), pick(len(pass) > 1, "meets", "meet"), r.minCount)
		}
		v.diags = v.diags.Errorf(cty.GetAttrPath(c.attr), c.summary, "%s", detail)
	}
	for _, n := range []string{"names", "min_memory", "min_compute_capability", "min_count"} {
		if slices.Contains(r.deferred, n) {
			v.details = append(v.details, n+": checked at apply (its value is known only then)")
		}
	}
	if slices.Contains(r.deferred, "names") || slices.Contains(r.deferred, "min_memory") ||
		slices.Contains(r.deferred, "min_compute_capability") || slices.Contains(r.deferred, "min_count") {
		return v
	}
	v.devicesKnown = true
	for i, ok := range matching {
		if ok {
			v.matching = append(v.matching, h.Devices[i].Index)
		}
	}
	label := fmt.Sprintf("min_count %d", r.minCount)
	switch {
	case len(h.Devices) < r.minCount:
		v.details = append(v.details, fmt.Sprintf("%s: not met (found %s)", label, countGPUs(len(h.Devices))))
		v.diags = v.diags.Errorf(cty.GetAttrPath("min_count"), "Not enough GPUs",
			"found %s; needs %d.", countGPUs(len(h.Devices)), r.minCount)
	case len(v.matching) >= r.minCount:
		v.details = append(v.details, fmt.Sprintf("%s: met (%s %s)", label, gpuList(v.matching), pick(len(v.matching) > 1, "matches", "match")))
	case len(v.matching) == 0:
		v.details = append(v.details, label+": not met (no GPU matches)")
		if !deviceFailed {
			v.diags = v.diags.Errorf(cty.GetAttrPath("min_count"), "Not enough matching GPUs",
				"no GPU meets every requirement at once; needs %d.", r.minCount)
		}
	default:
		v.details = append(v.details, fmt.Sprintf("%s: not met (only %s %s)", label, gpuList(v.matching), pick(len(v.matching) > 1, "matches", "match")))
		if !deviceFailed {
			v.diags = v.diags.Errorf(cty.GetAttrPath("min_count"), "Not enough matching GPUs",
				"only %s %s every requirement at once; needs %d.", gpuList(v.matching), pick(len(v.matching) > 1, "meets", "meet"), r.minCount)
		}
	}
	if v.met() {
		v.summary = fmt.Sprintf("%s %s; %s", gpuList(v.matching), pick(len(v.matching) > 1, "matches", "match"), driverSays)
	} else if v.diags.HasErrors() {
		v.summary = "not met: " + v.diags[0].Detail
	}
	return v
}

// failures words the failing devices of one check, grouping devices with
// the same name and reading so that an 8-GPU node gives one sentence.
func failures(c deviceCheck, fail []Device) []string {
	type group struct {
		first Device
		idx   []int
	}
	var order []string
	groups := map[string]*group{}
	for _, d := range fail {
		key := d.Name + "\x00" + c.have(d, false)
		g, ok := groups[key]
		if !ok {
			g = &group{first: d}
			groups[key] = g
			order = append(order, key)
		}
		g.idx = append(g.idx, d.Index)
	}
	out := make([]string, 0, len(order))
	for _, k := range order {
		g := groups[k]
		out = append(out, fmt.Sprintf("%s %s %s%s", gpuList(g.idx), g.first.Name, c.have(g.first, len(g.idx) > 1), c.need))
	}
	return out
}

// gpuList writes device indexes as "GPU 3" or "GPUs 0-3, 6".
func gpuList(idx []int) string {
	if len(idx) == 0 {
		return "no GPU"
	}
	var parts []string
	for i := 0; i < len(idx); {
		j := i
		for j+1 < len(idx) && idx[j+1] == idx[j]+1 {
			j++
		}
		if j > i {
			parts = append(parts, fmt.Sprintf("%d-%d", idx[i], idx[j]))
		} else {
			parts = append(parts, strconv.Itoa(idx[i]))
		}
		i = j + 1
	}
	return pick(len(idx) > 1, "GPU ", "GPUs ") + strings.Join(parts, ", ")
}

func countGPUs(n int) string {
	if n == 1 {
		return "1 GPU"
	}
	return fmt.Sprintf("%d GPUs", n)
}

// pick returns one for singular, many for plural.
func pick(plural bool, one, many string) string {
	if plural {
		return many
	}
	return one
}
