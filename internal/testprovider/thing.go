package testprovider

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/sdform/sdform/providers"
	"github.com/zclconf/go-cty/cty"
	ctyjson "github.com/zclconf/go-cty/cty/json"
)

// thingComputed are the attributes of test_thing that only the provider sets.
var thingComputed = []string{"id", "out", "digest", "promoted"}

func thingSchema() *providers.Schema {
	return &providers.Schema{
		Description: "A managed object in the test world.",
		Verb:        "build",
		Attributes: map[string]*providers.Attribute{
			"name":       {Type: cty.String, Optional: true, Description: "changes in place"},
			"variant":    {Type: cty.String, Optional: true, ForceNew: true, Description: "a change replaces the object"},
			"args":       {Type: cty.Map(cty.String), Optional: true, Description: "a changed key replaces the object (RequiresReplace)"},
			"secret":     {Type: cty.String, Optional: true, Sensitive: true},
			"tags":       {Type: cty.List(cty.String), Optional: true},
			"input_file": {Type: cty.String, Optional: true, Description: "fingerprinted; ERROR lines are reported with File/Line"},
			"fail":       {Type: cty.Bool, Optional: true, Description: "apply fails"},
			"sleep":      {Type: cty.String, Optional: true, Description: "apply takes this long"},
			"id":         {Type: cty.String, Computed: true},
			"out":        {Type: cty.String, Computed: true},
			"digest":     {Type: cty.String, Computed: true},
			"promoted":   {Type: cty.Bool, Computed: true},
		},
		Blocks: map[string]*providers.NestedBlock{
			"step": {Nesting: providers.NestingList, Block: providers.Schema{
				Attributes: map[string]*providers.Attribute{
					"name": {Type: cty.String, Required: true},
					"run":  {Type: cty.String, Optional: true},
				},
			}},
			"port": {Nesting: providers.NestingMap, Block: providers.Schema{
				Attributes: map[string]*providers.Attribute{
					"number": {Type: cty.Number, Required: true},
				},
			}},
		},
	}
}

func validateThing(cfg cty.Value) providers.Diagnostics {
	var diags providers.Diagnostics
	if cfg.IsNull() || !cfg.IsKnown() {
		return diags
	}
	if args := cfg.GetAttr("args"); args.IsKnown() && !args.IsNull() {
		if args.LengthInt() > 0 && args.HasIndex(cty.StringVal("INVALID")).True() {
			diags = diags.Errorf(cty.GetAttrPath("args").IndexString("INVALID"), "Invalid build arg", "The build arg INVALID is refused by the test provider.")
		}
	}
	if steps := cfg.GetAttr("step"); steps.IsKnown() && !steps.IsNull() {
		i := 0
		for it := steps.ElementIterator(); it.Next(); i++ {
			_, s := it.Element()
			if str(s, "run") == "bad" {
				diags = diags.Errorf(cty.GetAttrPath("step").IndexInt(i).GetAttr("run"), "Bad step", "Step %d runs \"bad\", which the test provider refuses.", i)
			}
		}
	}
	return diags
}

// thingPrivate is test_thing's private data: the digest of its input file,
// and whether the object awaits a passing Promote (see Provider.Promote).
type thingPrivate struct {
	Input   string `json:"input,omitempty"`
	Pending bool   `json:"promotion_pending,omitempty"`
}

func parsePrivate(b []byte) thingPrivate {
	var tp thingPrivate
	_ = json.Unmarshal(b, &tp)
	return tp
}

// withPending returns private data b with its pending flag set to pending.
func withPending(b []byte, pending bool) []byte {
	tp := parsePrivate(b)
	tp.Pending = pending
	out, _ := json.Marshal(tp)
	return out
}

// inputFile reads the input_file of cfg: its digest and any ERROR lines as
// diagnostics pointing into the file.
func (p *Provider) inputFile(cfg cty.Value) (digest string, size int, diags providers.Diagnostics) {
	name := str(cfg, "input_file")
	if name == "" {
		return "", 0, nil
	}
	p.mu.Lock()
	dir := p.env.ConfigDir
	p.mu.Unlock()
	path := name
	if !filepath.IsAbs(path) {
		path = filepath.Join(dir, path)
	}
	// Devices and pipes are refused: /dev/zero would never end (FuzzPlan
	// tries such names).
	if st, err := os.Stat(path); err == nil && !st.Mode().IsRegular() {
		return "", 0, diags.Errorf(cty.GetAttrPath("input_file"), "Cannot read input file", "The input file %s is not a regular file.", name)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return "", 0, diags.Errorf(cty.GetAttrPath("input_file"), "Cannot read input file", "The input file %s cannot be read: %s.", name, err)
	}
	sum := sha256.Sum256(b)
	sc := bufio.NewScanner(bytes.NewReader(b))
	for line := 1; sc.Scan(); line++ {
		if t := sc.Text(); strings.HasPrefix(t, "ERROR") {
			diags = append(diags, providers.Diagnostic{Severity: providers.Error, Summary: "Input file error", Detail: fmt.Sprintf("Line %d of %s says %q.", line, name, t), File: name, Line: line})
		}
	}
	return hex.EncodeToString(sum[:]), len(b), diags
}

// configurable reports whether the user-set (non-computed, non-sensitive)
// parts of a and b differ; unknowns count as differences.
func configurableChanged(a, b cty.Value) bool {
	for _, n := range []string{"name", "variant", "args", "tags", "input_file", "step", "port"} {
		x, y := a.GetAttr(n), b.GetAttr(n)
		if !x.IsWhollyKnown() || !y.IsWhollyKnown() || !x.RawEquals(y) {
			return true
		}
	}
	return false
}

// changedArgs lists the keys of args that differ between prior and planned.
func changedArgs(prior, planned cty.Value) (paths []cty.Path, unknown bool) {
	a, b := prior.GetAttr("args"), planned.GetAttr("args")
	if !b.IsWhollyKnown() {
		return nil, true
	}
	keys := map[string]bool{}
	get := func(m cty.Value) map[string]string {
		out := map[string]string{}
		if m.IsNull() {
			return out
		}
		for k, v := range m.AsValueMap() {
			if !v.IsNull() {
				out[k] = v.AsString()
			}
			keys[k] = true
		}
		return out
	}
	am, bm := get(a), get(b)
	var names []string
	for k := range keys {
		if am[k] != bm[k] {
			names = append(names, k)
		}
	}
	sort.Strings(names)
	for _, k := range names {
		paths = append(paths, cty.GetAttrPath("args").IndexString(k))
	}
	return paths, false
}

func (p *Provider) planThing(req providers.PlanRequest) providers.PlanResponse {
	var resp providers.PlanResponse
	digest, size, diags := p.inputFile(req.Config)
	resp.Diagnostics = diags
	resp.Fingerprint = digest
	if size > 0 {
		resp.Details = append(resp.Details, fmt.Sprintf("input file: %d bytes", size))
	}
	priv, _ := json.Marshal(thingPrivate{Input: digest})
	resp.PlannedPrivate = priv

	planned := req.Proposed
	out := cty.UnknownVal(cty.String)
	if n := planned.GetAttr("name"); n.IsKnown() {
		out = cty.StringVal("out-")
		if !n.IsNull() {
			out = cty.StringVal("out-" + n.AsString())
		}
	}
	if req.Prior.IsNull() {
		planned = setAttr(planned, "id", cty.UnknownVal(cty.String))
		planned = setAttr(planned, "digest", cty.UnknownVal(cty.String))
		planned = setAttr(planned, "out", out)
		planned = setAttr(planned, "promoted", cty.False)
		resp.Planned = planned
		return resp
	}
	replace := false
	if old := parsePrivate(req.PriorPrivate).Input; old != "" && digest != "" && old != digest {
		resp.RequiresReplace = append(resp.RequiresReplace, cty.GetAttrPath("input_file"))
		resp.Reason = fmt.Sprintf("input file %s changed", str(req.Config, "input_file"))
		replace = true
	}
	if paths, unknown := changedArgs(req.Prior, planned); unknown {
		resp.RequiresReplace = append(resp.RequiresReplace, cty.GetAttrPath("args"))
		replace = true
	} else if len(paths) > 0 {
		resp.RequiresReplace = append(resp.RequiresReplace, paths...)
		replace = true
	}
	if v, w := req.Prior.GetAttr("variant"), planned.GetAttr("variant"); !w.IsKnown() || !v.RawEquals(w) {
		replace = true
	}
	changed := replace || configurableChanged(req.Prior, planned)
	if changed {
		planned = setAttr(planned, "digest", cty.UnknownVal(cty.String))
		planned = setAttr(planned, "out", out)
		if replace {
			planned = setAttr(planned, "id", cty.UnknownVal(cty.String))
			planned = setAttr(planned, "promoted", cty.False)
		}
	}
	if !replace && parsePrivate(req.PriorPrivate).Pending {
		// The object is as configured, but its last Promote did not pass:
		// an update runs its tests again and promotes it when they pass.
		planned = setAttr(planned, "promoted", cty.UnknownVal(cty.Bool))
		if !changed {
			resp.Reason = "not promoted yet: its tests did not pass when it was last applied"
		}
	}
	resp.Planned = planned
	return resp
}

// digestOf hashes the configurable attributes of v.
func digestOf(v cty.Value) string {
	m := v.AsValueMap()
	for _, n := range thingComputed {
		m[n] = cty.NullVal(v.Type().AttributeType(n))
	}
	b, _ := ctyjson.Marshal(cty.ObjectVal(m), v.Type())
	sum := sha256.Sum256(b)
	return "sha256:" + hex.EncodeToString(sum[:])
}

func (p *Provider) applyThing(ctx context.Context, req providers.ApplyRequest) providers.ApplyResponse {
	resp := providers.ApplyResponse{NewState: req.Prior, Private: req.PlannedPrivate}
	cfg := req.Planned
	if req.Action == providers.Delete {
		cfg = req.Prior
	}
	d, err := sleepOf(cfg)
	if err != nil {
		resp.Diagnostics = resp.Diagnostics.Errorf(cty.GetAttrPath("sleep"), "Invalid sleep", "The sleep %q is not a duration: %s.", str(cfg, "sleep"), err)
		return resp
	}
	if err := sleep(ctx, d); err != nil {
		resp.Diagnostics = resp.Diagnostics.FromError("Interrupted", err)
		return resp
	}
	if req.Action != providers.Delete && req.UI.Out != nil {
		// A progress line that repeats an input, as real providers' do.
		fmt.Fprintf(req.UI.Out, "making %q\n", str(cfg, "name"))
	}
	if flag(cfg, "fail") && req.Action != providers.Delete {
		resp.Diagnostics = resp.Diagnostics.Errorf(cty.GetAttrPath("fail"), "Apply failed", "%s (name %q) was told to fail (fail = true).", req.Address, str(cfg, "name"))
		return resp
	}
	if req.Action == providers.Delete {
		if id := str(req.Prior, "id"); id != "" {
			if err := os.Remove(filepath.Join(p.worldDir(), id+".json")); err != nil && !os.IsNotExist(err) {
				resp.Diagnostics = resp.Diagnostics.FromError("Cannot delete object", err)
				return resp
			}
		}
		resp.NewState = cty.NullVal(req.Prior.Type())
		return resp
	}
	id := str(req.Prior, "id")
	if req.Action == providers.Replace || req.Action == providers.Create || id == "" {
		if old := str(req.Prior, "id"); old != "" {
			_ = os.Remove(filepath.Join(p.worldDir(), old+".json"))
		}
		id = newID("thing")
	}
	if !req.Planned.IsWhollyKnown() {
		// Only computed attributes may still be unknown here.
		for _, n := range []string{"name", "variant", "args", "secret", "tags", "input_file", "step", "port"} {
			if !req.Planned.GetAttr(n).IsWhollyKnown() {
				resp.Diagnostics = resp.Diagnostics.Errorf(cty.GetAttrPath(n), "Unknown value at apply", "The engine passed an unknown value for %s.", n)
				return resp
			}
		}
	}
	st := req.Planned
	st = setAttr(st, "id", cty.StringVal(id))
	name := str(st, "name")
	st = setAttr(st, "out", cty.StringVal("out-"+name))
	st = setAttr(st, "promoted", cty.False)
	st = setAttr(st, "digest", cty.StringVal(digestOf(st)))
	// Applied, not promoted: pending until a Promote passes.
	if err := p.writeObject(id, st, true); err != nil {
		resp.Diagnostics = resp.Diagnostics.FromError("Cannot write object", err)
		return resp
	}
	resp.NewState = st
	resp.Private = withPending(req.PlannedPrivate, true)
	return resp
}

func (p *Provider) readThing(req providers.ReadRequest) providers.ReadResponse {
	resp := providers.ReadResponse{NewState: req.Prior, Private: req.Private}
	id := str(req.Prior, "id")
	if id == "" {
		return resp
	}
	p.mu.Lock()
	dataDir := p.env.DataDir
	p.mu.Unlock()
	v, pending, ok, err := readObject(dataDir, id)
	if err != nil {
		resp.Diagnostics = resp.Diagnostics.FromError("Cannot read object", err)
		return resp
	}
	if !ok {
		resp.NewState = cty.NullVal(req.Prior.Type())
		resp.Drift = "object " + id + " deleted outside sdform"
		return resp
	}
	resp.NewState = v
	// The world knows best whether a promotion is pending (the state may
	// predate the last Promote).
	if parsePrivate(req.Private).Pending != pending {
		resp.Private = withPending(req.Private, pending)
	}
	return resp
}
