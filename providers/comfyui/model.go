package comfyui

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"path"
	"path/filepath"
	"strings"

	"github.com/zclconf/go-cty/cty"

	"github.com/sdform/sdform/lang"
	"github.com/sdform/sdform/providers"
	"github.com/sdform/sdform/providers/comfyui/download"
)

// modelType is comfyui_model: one weight file under ComfyUI's models folder.
type modelType struct {
	p *Provider
	// owners and validated record which objects write which file in this
	// command, so that two of them at one file fail instead of
	// overwriting each other at every apply.
	owners    fileOwners
	validated blockFiles
	// space records what each object's plan downloads where (checkSpace).
	space spaceTally
}

var modelSchema = &providers.Schema{
	Description: "A model weight file in ComfyUI's models folder, downloaded from Hugging Face or an http(s) URL (or copied from a local file) and verified by sha256.",
	Verb:        "download",
	Attributes: map[string]*providers.Attribute{
		"source": {Type: cty.String, Required: true,
			Description: "hf://ORG/REPO@REVISION/PATH (revision: branch, tag or commit), an http(s) URL, or a local file: file:///ABSOLUTE/PATH or file:PATH relative to the configuration directory."},
		"sha256": {Type: cty.String, Optional: true, Computed: true,
			Description: "Expected sha256 (hex); taken from the hub (X-Linked-Etag) when not set, or from the download."},
		"size": {Type: cty.Number, Optional: true,
			Description: "Expected size in bytes, checked against the server's."},
		"models_dir": {Type: cty.String, Optional: true, Computed: true, ForceNew: true,
			Description: "ComfyUI's models folder; the provider's models_dir (\"models\") when not set."},
		"path": {Type: cty.String, Required: true, ForceNew: true,
			Description: "Destination inside models_dir, starting with the model-type folder: diffusion_models/WanVideo/x.safetensors."},
		"name": {Type: cty.String, Computed: true,
			Description: "The name ComfyUI lists the file under: path without its model-type folder (WanVideo/x.safetensors)."},
		"full_path":       {Type: cty.String, Computed: true, Description: "Absolute path of the file."},
		"size_bytes":      {Type: cty.Number, Computed: true, Description: "Size of the file in bytes."},
		"resolved_commit": {Type: cty.String, Computed: true, Description: "The hub commit the revision resolved to; null for plain URLs."},
	},
}

func (m *modelType) schema() *providers.Schema { return modelSchema }

// What the plan decided apply must do, carried in PlannedPrivate.
const (
	stepNone     = "none"     // verified file unchanged: nothing
	stepRecord   = "record"   // verified file already has the wanted sha256: update attributes only
	stepRehash   = "rehash"   // file present but its stat changed (or never recorded): hash, download on mismatch
	stepDownload = "download" // fetch (resuming any partial file)
)

// modelPrivate is the provider's private data for a comfyui_model: in state,
// the verified file's record; in a plan, also the resolved remote and the
// step apply must take.
type modelPrivate struct {
	Version int              `json:"version"`
	File    *download.Record `json:"file,omitempty"`
	Remote  *download.Remote `json:"remote,omitempty"`
	Step    string           `json:"step,omitempty"`
	// Source is the stat of a local (file:) source when it was copied: a
	// no-op plan compares it, as cheap as the stat of the copy, so that a
	// changed source is noticed without a sha256 in the config.
	Source *download.StatRecord `json:"source,omitempty"`
}

// sourceStat is the stat of remote's local file, nil for remote sources.
func sourceStat(remote *download.Remote) *download.StatRecord {
	if remote == nil || remote.LocalPath() == "" {
		return nil
	}
	st, err := download.Stat(remote.LocalPath())
	if err != nil {
		return nil
	}
	return &st
}

func decodePrivate(b []byte) modelPrivate {
	var pv modelPrivate
	if len(b) == 0 || json.Unmarshal(b, &pv) != nil || pv.Version != 1 {
		return modelPrivate{Version: 1}
	}
	return pv
}

func (pv modelPrivate) encode() []byte {
	pv.Version = 1
	b, _ := json.Marshal(pv)
	return b
}

// modelConfig is a decoded comfyui_model config.
type modelConfig struct {
	Source    string
	SHA256    string // "" when not set
	Size      int64  // -1 when not set
	ModelsDir string // "" when not set
	Path      string
	// Known is false while source, path or models_dir depend on values
	// known only after apply; FileKnown is true once path and models_dir
	// are known, whatever the source.
	Known, FileKnown bool
}

// decodeModel reads and checks a config offline.
func decodeModel(v cty.Value) (modelConfig, providers.Diagnostics) {
	var diags providers.Diagnostics
	c := modelConfig{Size: -1, Known: true}
	if v.IsNull() || !v.IsKnown() {
		c.Known = false
		return c, nil
	}
	v, _ = v.UnmarkDeep()
	c.FileKnown = v.GetAttr("path").IsKnown() && v.GetAttr("models_dir").IsKnown()
	c.Known = c.FileKnown && v.GetAttr("source").IsKnown()
	if s, ok := str(v, "source"); ok {
		c.Source = s
		if _, err := download.ParseSource(s); err != nil {
			diags = diags.Errorf(cty.GetAttrPath("source"), "Invalid model source",
				"The source %q is not usable: %v.", download.Redact(s), err)
		}
	}
	if s, ok := str(v, "sha256"); ok {
		c.SHA256 = strings.ToLower(s)
		if !download.IsSHA256(c.SHA256) {
			diags = diags.Errorf(cty.GetAttrPath("sha256"), "Invalid sha256",
				"The sha256 %q is not 64 hexadecimal digits.", s)
		}
	}
	if n, ok, isInt := num(v, "size"); ok {
		if !isInt || n < 0 {
			diags = diags.Errorf(cty.GetAttrPath("size"), "Invalid size", "The size must be a whole number of bytes, 0 or more.")
		}
		c.Size = n
	}
	if s, ok := str(v, "models_dir"); ok {
		if s == "" {
			diags = diags.Errorf(cty.GetAttrPath("models_dir"), "Empty models_dir", "The models_dir must name a folder.")
		}
		c.ModelsDir = s
	}
	if s, ok := str(v, "path"); ok {
		c.Path = s
		if d := checkModelPath(s); d != "" {
			diags = diags.Errorf(cty.GetAttrPath("path"), "Invalid model path", "%s", d)
		}
	}
	return c, diags
}

// checkModelPath checks a path without touching the disk (symlinks are
// checked when planning).
func checkModelPath(p string) string {
	slashed := filepath.ToSlash(p)
	clean := path.Clean(slashed)
	switch last := slashed[strings.LastIndex(slashed, "/")+1:]; {
	case p == "":
		return "The path is empty."
	case filepath.IsAbs(p) || strings.HasPrefix(p, "/"):
		return fmt.Sprintf("The path %q is absolute; write it relative to the models folder, starting with the model-type folder (diffusion_models/…).", p)
	case !filepath.IsLocal(p):
		return fmt.Sprintf("The path %q leaves the models folder; \"..\" may not climb out of it.", p)
	case clean == ".":
		return fmt.Sprintf("The path %q names the models folder itself, not a file in it.", p)
	case last == "" || last == "." || last == "..":
		return fmt.Sprintf("The path %q names a folder; write the weight file's name at its end.", p)
	case !strings.Contains(clean, "/"):
		msg := fmt.Sprintf("The path %q names no model-type folder; ComfyUI lists only files inside one", p)
		// Suggested only where the suggestion is itself a clean path.
		if hint := "diffusion_models/" + slashed; path.Clean(hint) == hint {
			return msg + ", such as " + hint + "."
		}
		return msg + "."
	}
	return ""
}

// modelName is the name ComfyUI lists a file under: the path without its
// model-type folder, with forward slashes.
func modelName(p string) string {
	_, rest, _ := strings.Cut(filepath.ToSlash(filepath.Clean(p)), "/")
	return rest
}

func (m *modelType) validate(_ context.Context, req providers.ValidateRequest) providers.ValidateResponse {
	c, diags := decodeModel(req.Config)
	// Configured, the provider is planning: plan, told the address, finds
	// two objects at one file and names both.
	if !diags.HasErrors() && c.FileKnown && !m.p.configured() {
		diags = m.validated.add(req.Address, c)
	}
	return providers.ValidateResponse{Diagnostics: diags}
}

// locate returns the models folder (as written and absolute) and the
// file's full path, refusing paths that escape the folder.
func (m *modelType) locate(c modelConfig) (dir, full string, diags providers.Diagnostics) {
	dir, abs := m.p.cfg.ModelsDir, m.p.cfg.ModelsDirAbs
	if c.ModelsDir != "" {
		dir, abs = c.ModelsDir, m.p.abs(c.ModelsDir)
	}
	full, err := download.Join(abs, c.Path)
	if err != nil {
		return "", "", diags.Errorf(cty.GetAttrPath("path"), "Unsafe model path", "The file must stay inside the models folder %s: %v.", abs, err)
	}
	return dir, full, nil
}

// shown is a full path as messages give it: relative to the configuration
// directory when inside it (models/checkpoints/a), else absolute.
func (m *modelType) shown(full string) string {
	if rel, err := filepath.Rel(m.p.abs("."), full); err == nil && filepath.IsLocal(rel) {
		return rel
	}
	return full
}

// occupied says what is at full that a downloaded file cannot be renamed
// over ("a directory"); "" when nothing or a regular file is there.
func occupied(full string) string {
	fi, err := os.Stat(full)
	switch {
	case err != nil || fi.Mode().IsRegular():
		return ""
	case fi.IsDir():
		return "a directory"
	default:
		return "not a regular file"
	}
}

// claim records that the object at addr writes full, and fails when
// another object writes it too. The engine plans objects in parallel, so
// the one planned second fails; the words are the same whichever it is.
func (m *modelType) claim(addr, full string) providers.Diagnostics {
	owners := m.owners.claim(addr, full)
	if len(owners) < 2 {
		return nil
	}
	both := "both"
	if len(owners) > 2 {
		both = "all"
	}
	return providers.Diagnostics{}.Errorf(cty.GetAttrPath("path"), "Two objects write one model file",
		"%s %s write %s; each file can belong to one comfyui_model only, or every apply downloads it over the other's. Give one of them another path or models_dir.",
		lang.JoinAnd(owners), both, m.shown(full))
}

// computed are the values a plan or apply fills in.
type computed struct {
	modelsDir, fullPath string
	sha256, commit      cty.Value
	size                cty.Value
}

// value builds the object: config attributes as given (marks kept), the
// rest from c.
func (m *modelType) value(config cty.Value, c computed) cty.Value {
	get := func(name string) cty.Value { return config.GetAttr(name) }
	attrs := map[string]cty.Value{
		"source":          get("source"),
		"size":            get("size"),
		"path":            get("path"),
		"models_dir":      get("models_dir"),
		"sha256":          get("sha256"),
		"name":            cty.UnknownVal(cty.String),
		"full_path":       cty.UnknownVal(cty.String),
		"size_bytes":      c.size,
		"resolved_commit": c.commit,
	}
	if attrs["models_dir"].IsNull() {
		attrs["models_dir"] = cty.StringVal(c.modelsDir)
	}
	if attrs["sha256"].IsNull() {
		attrs["sha256"] = c.sha256
	}
	if p, ok := str(config, "path"); ok {
		attrs["name"] = cty.StringVal(modelName(p))
	}
	if c.fullPath != "" {
		attrs["full_path"] = cty.StringVal(c.fullPath)
	}
	return cty.ObjectVal(attrs)
}

func strOrNull(s string) cty.Value {
	if s == "" {
		return cty.NullVal(cty.String)
	}
	return cty.StringVal(s)
}

func strOrUnknown(s string) cty.Value {
	if s == "" {
		return cty.UnknownVal(cty.String)
	}
	return cty.StringVal(s)
}

func sizeOrUnknown(n int64) cty.Value {
	if n < 0 {
		return cty.UnknownVal(cty.Number)
	}
	return cty.NumberIntVal(n)
}

func (m *modelType) plan(ctx context.Context, req providers.PlanRequest) providers.PlanResponse {
	// What an earlier plan of this object downloads no longer counts;
	// checkSpace records what this one does.
	m.space.drop(req.Address)
	c, diags := decodeModel(req.Config)
	if diags.HasErrors() {
		return providers.PlanResponse{Planned: req.Proposed, Diagnostics: diags}
	}
	var dir, full string
	if c.FileKnown {
		if dir, full, diags = m.locate(c); diags.HasErrors() {
			return providers.PlanResponse{Planned: req.Proposed, Diagnostics: diags}
		}
		if diags = m.claim(req.Address, full); diags.HasErrors() {
			return providers.PlanResponse{Planned: req.Proposed, Diagnostics: diags}
		}
	}
	if !c.Known || !req.Config.IsKnown() {
		planned := cty.UnknownVal(modelSchema.ImpliedType())
		if req.Config.IsKnown() && !req.Config.IsNull() {
			planned = m.value(req.Config, computed{modelsDir: m.p.cfg.ModelsDir, sha256: cty.UnknownVal(cty.String),
				commit: cty.UnknownVal(cty.String), size: cty.UnknownVal(cty.Number)})
		}
		return providers.PlanResponse{Planned: planned, Details: []string{"will be downloaded: size known after apply (its source depends on other resources)"}}
	}
	pv := decodePrivate(req.PriorPrivate)
	st, statErr := download.Stat(full)
	if statErr != nil && !errors.Is(statErr, os.ErrNotExist) {
		return providers.PlanResponse{Planned: req.Proposed, Diagnostics: diags.FromError("Cannot inspect model file", fmt.Errorf("stat %s: %w", full, statErr))}
	}
	intact := statErr == nil && pv.File != nil && st == pv.File.Stat

	// The no-op: the verified file is intact and the config asks for what
	// was recorded. Decided by one stat(2); no read, no network.
	if intact && !req.Prior.IsNull() && req.Prior.IsKnown() {
		prior, _ := req.Prior.UnmarkDeep()
		ps, _ := str(prior, "source")
		pfull, _ := str(prior, "full_path")
		psha, _ := str(prior, "sha256")
		if ps == c.Source && pfull == full && psha == pv.File.SHA256 &&
			(c.SHA256 == "" || c.SHA256 == pv.File.SHA256) && (c.Size < 0 || c.Size == st.Size) &&
			localSourceUnchanged(pv) {
			planned := m.value(req.Config, computed{modelsDir: dir, fullPath: full, sha256: cty.StringVal(pv.File.SHA256),
				commit: prior.GetAttr("resolved_commit"), size: cty.NumberIntVal(st.Size)})
			return providers.PlanResponse{
				Planned: planned, PlannedPrivate: req.PriorPrivate,
				Fingerprint: fingerprint("intact", pv.File),
				Details:     []string{"up to date: " + full + " (stat unchanged since it was verified)"},
			}
		}
	}

	// A download lands by rename, which cannot replace a directory: say
	// so now rather than after the whole file came.
	if what := occupied(full); what != "" {
		return providers.PlanResponse{Planned: req.Proposed, Diagnostics: providers.Diagnostics{}.Errorf(cty.GetAttrPath("path"), "Model path is not a file",
			"%s would write %s, which is %s; remove or rename it, or choose another path.", req.Address, m.shown(full), what)}
	}
	// So would a symlink where the download keeps its partial file.
	if err := download.CheckPartial(full); err != nil {
		return providers.PlanResponse{Planned: req.Proposed, Diagnostics: providers.Diagnostics{}.Errorf(cty.GetAttrPath("path"), "Unsafe partial download",
			"%s: %v.", req.Address, err)}
	}

	// Something must be decided: ask the server what it has. A server that
	// cannot be reached at all (no network, DNS, a mirror that is down) does
	// not stop the plan, as a missing daemon does not stop the docker
	// provider's: the plan says what it cannot know and apply asks again.
	remote, diags, unreachable := m.resolvePlan(ctx, c)
	if diags.HasErrors() {
		return providers.PlanResponse{Planned: req.Proposed, Diagnostics: diags}
	}
	resp := providers.PlanResponse{Diagnostics: diags}
	size := remote.Size
	var step string
	switch {
	case statErr != nil:
		step = stepDownload
		// Only a file missing where the prior object had it was deleted;
		// at a new path (path or models_dir changed) the engine's reason,
		// the changed attributes, is the right one.
		if pfull, ok := priorFullPath(req.Prior); ok && pfull == full {
			resp.Reason = "file deleted outside sdform"
		}
	case intact && remote.SHA256 != "" && pv.File.SHA256 == remote.SHA256:
		step = stepRecord
		resp.Reason = "the file on disk already has the expected sha256"
		resp.Details = append(resp.Details, "up to date: no download")
	case intact && !localSourceUnchanged(pv):
		step = stepDownload
		resp.Reason = "source file changed: " + remote.LocalPath()
	case intact:
		step = stepDownload
		resp.Reason = "the recorded file is not the one wanted now (sha256 or source changed)"
	case pv.File != nil:
		step = stepRehash
		resp.Reason = "file on disk changed: will re-hash"
	default:
		step = stepRehash
		resp.Reason = "a file is already at the path: will hash it and keep it if it matches"
	}
	if step == stepRehash && remote.SHA256 == "" {
		// Nothing to compare a re-hash with: the file is fetched again.
		step = stepDownload
	}
	switch step {
	case stepDownload:
		have := download.PartialBytes(full, remote)
		line := "will be downloaded: " + sizeText(size)
		if lp := remote.LocalPath(); lp != "" {
			line = "will be copied: " + sizeText(size) + " from " + lp
		}
		if have > 0 {
			line += fmt.Sprintf(" (resuming: %s already in %s)", lang.FormatSize(have), filepath.Base(download.PartialPath(full)))
		}
		resp.Details = append(resp.Details, line)
		if resp.Reason == "" {
			resp.Reason = sizeText(size) + " from " + download.Redact(c.Source)
		}
		resp.Diagnostics = append(resp.Diagnostics, m.checkSpace(req.Address, full, size-have, true)...)
	case stepRehash:
		resp.Details = append(resp.Details, fmt.Sprintf("will re-hash %s on disk; downloaded again (%s) only if its sha256 differs",
			lang.FormatSize(st.Size), sizeText(size)))
		resp.Diagnostics = append(resp.Diagnostics, m.checkSpace(req.Address, full, size-download.PartialBytes(full, remote), false)...)
	}
	if s, _ := download.ParseSource(c.Source); s.Hub && !s.IsCommit() && remote.Commit != "" {
		resp.Details = append(resp.Details, fmt.Sprintf("revision %s resolves to commit %s", s.Revision, remote.Commit))
	}

	planned := computed{modelsDir: dir, fullPath: full, sha256: strOrUnknown(remote.SHA256),
		commit: strOrNull(remote.Commit), size: sizeOrUnknown(size)}
	if step == stepRecord {
		planned.size = cty.NumberIntVal(st.Size)
		resp.Plain = true
	}
	resp.Planned = m.value(req.Config, planned)
	planRemote := remote
	if unreachable {
		// Apply resolves the source itself; the commit is not known.
		planRemote = nil
		resp.Planned = m.value(req.Config, computed{modelsDir: dir, fullPath: full, sha256: planned.sha256,
			commit: cty.UnknownVal(cty.String), size: planned.size})
	}
	resp.PlannedPrivate = modelPrivate{File: pv.File, Remote: planRemote, Step: step}.encode()
	resp.Fingerprint = fingerprint(step, remote, st)
	return resp
}

// resolvePlan is resolve for plan: when the source's server cannot be
// reached at all, it returns what the config says (sha256 and size when
// given, unknown otherwise) with a warning instead of an error. A server
// that answers — 404, 401, a wrong sha256 — is still an error.
func (m *modelType) resolvePlan(ctx context.Context, c modelConfig) (*download.Remote, providers.Diagnostics, bool) {
	remote, err := m.p.client.Resolve(ctx, c.Source)
	if err != nil && unreachable(err) && ctx.Err() == nil {
		var diags providers.Diagnostics
		diags = diags.Warnf(cty.GetAttrPath("source"), "Model source not reachable",
			"%s cannot be reached now (%v), so the plan cannot tell its size, sha256 or commit; apply asks again and verifies the file as usual.", download.Redact(c.Source), err)
		return &download.Remote{Source: c.Source, Size: c.Size, SHA256: c.SHA256}, diags, true
	}
	remote, diags := m.reconcile(c, remote, err)
	return remote, diags, false
}

// unreachable reports whether err means no server answered: the name did
// not resolve, the connection was refused or timed out.
func unreachable(err error) bool {
	var dnsErr *net.DNSError
	var opErr *net.OpError
	return errors.As(err, &dnsErr) || errors.As(err, &opErr) && opErr.Op == "dial"
}

// priorFullPath is the full_path the prior object recorded.
func priorFullPath(prior cty.Value) (string, bool) {
	if prior.IsNull() || !prior.IsKnown() {
		return "", false
	}
	v, _ := prior.UnmarkDeep()
	return str(v, "full_path")
}

// resolve asks the server about the source and reconciles the answer with
// the sha256 and size the config expects; the returned remote carries the
// expected sha256 and size that the download must match.
func (m *modelType) resolve(ctx context.Context, c modelConfig) (*download.Remote, providers.Diagnostics) {
	remote, err := m.p.client.Resolve(ctx, c.Source)
	return m.reconcile(c, remote, err)
}

// reconcile checks a Resolve answer against the config's sha256 and size.
func (m *modelType) reconcile(c modelConfig, remote *download.Remote, err error) (*download.Remote, providers.Diagnostics) {
	var diags providers.Diagnostics
	if err != nil {
		return nil, diags.Errorf(cty.GetAttrPath("source"), "Cannot resolve model source", "%v.", err)
	}
	if c.SHA256 != "" {
		if remote.SHA256 != "" && remote.SHA256 != c.SHA256 {
			return nil, diags.Errorf(cty.GetAttrPath("sha256"), "sha256 does not match the source",
				"The config expects sha256 %s, but %s says the file at %s has %s.", c.SHA256, download.Redact(remote.URL), download.Redact(c.Source), remote.SHA256)
		}
		remote.SHA256 = c.SHA256
	}
	if c.Size >= 0 {
		if remote.Size >= 0 && remote.Size != c.Size {
			return nil, diags.Errorf(cty.GetAttrPath("size"), "size does not match the source",
				"The config expects %d bytes, but %s has %d.", c.Size, download.Redact(remote.URL), remote.Size)
		}
		remote.Size = c.Size
	}
	return remote, nil
}

// checkSpace reports a diagnostic when need bytes, with what the other
// objects of this plan download to the same file system, do not fit on
// the file system that will hold full. certain says the object downloads
// (an error when it does not fit), rather than only may (a re-hash that
// downloads on a mismatch: a warning, and not counted for the others).
func (m *modelType) checkSpace(addr, full string, need int64, certain bool) providers.Diagnostics {
	free, at, err := download.FreeSpace(filepath.Dir(full))
	if err != nil || need <= 0 {
		m.space.drop(addr)
		return nil
	}
	fs, err := download.Stat(at)
	if err != nil {
		m.space.drop(addr)
		return nil
	}
	own := need
	if !certain {
		own = 0
	}
	others, sum := describeOthers(m.space.others(addr, fs.Dev, own))
	if need+sum <= free {
		return nil
	}
	sev := providers.Warning
	if certain {
		sev = providers.Error
	}
	detail := fmt.Sprintf("%s needs %s, %s free at %s.", addr, lang.FormatSize(need), lang.FormatSize(free), at)
	if sum > 0 {
		detail = fmt.Sprintf("%s needs %s, and this plan also downloads %s to the same file system: %s in all, %s free at %s.",
			addr, lang.FormatSize(need), others, lang.FormatSize(need+sum), lang.FormatSize(free), at)
	}
	return providers.Diagnostics{{Severity: sev, Summary: "Not enough disk space", Detail: detail, Attribute: cty.GetAttrPath("path")}}
}

func sizeText(n int64) string {
	if n < 0 {
		return "size unknown"
	}
	return lang.FormatSize(n)
}

func fingerprint(parts ...any) string {
	b, _ := json.Marshal(parts)
	s := sha256.Sum256(b)
	return "sha256:" + hex.EncodeToString(s[:])
}

func (m *modelType) apply(ctx context.Context, req providers.ApplyRequest) providers.ApplyResponse {
	pv := decodePrivate(req.PlannedPrivate)
	failed := func(diags providers.Diagnostics) providers.ApplyResponse {
		// The file at the path is untouched by a failed apply (downloads
		// land there only by rename), so the prior value still holds.
		return providers.ApplyResponse{NewState: req.Prior, Private: modelPrivate{File: pv.File}.encode(), Diagnostics: diags}
	}
	if req.Action == providers.Delete {
		return m.delete(req)
	}
	c, diags := decodeModel(req.Config)
	if diags.HasErrors() {
		return failed(diags)
	}
	if !c.Known {
		return failed(diags.Errorf(nil, "Model source not known", "%s: source, path or models_dir is still unknown at apply.", req.Address))
	}
	dir, full, diags := m.locate(c)
	if diags.HasErrors() {
		return failed(diags)
	}
	remote := pv.Remote
	if remote == nil || remote.Source != c.Source {
		// The plan could not resolve (its source depended on other
		// resources): resolve now.
		if remote, diags = m.resolve(ctx, c); diags.HasErrors() {
			return failed(diags)
		}
	}
	if what := occupied(full); what != "" {
		return failed(providers.Diagnostics{}.FromError("Model path is not a file", fmt.Errorf("%s is %s", m.shown(full), what)))
	}
	view := newProgressView(req.UI, modelName(c.Path))
	defer m.space.drop(req.Address)
	rec, err := m.ensure(ctx, req.Address, full, remote, pv.File, view)
	if err != nil {
		return failed(providers.Diagnostics{}.FromError("Download failed", err))
	}
	if req.Action == providers.Replace && !req.Prior.IsNull() {
		// A replaced model moved (path or models_dir changed): the old
		// file goes, as a destroy would remove it, unless another object
		// now writes it.
		if old, ok := str(req.Prior, "full_path"); ok && old != full && !m.owners.writtenByOther(req.Address, old) {
			removeModelFile(old)
		}
	}
	state := m.value(req.Config, computed{modelsDir: dir, fullPath: full, sha256: cty.StringVal(rec.SHA256),
		commit: strOrNull(remote.Commit), size: cty.NumberIntVal(rec.Stat.Size)})
	return providers.ApplyResponse{NewState: state, Private: modelPrivate{File: rec, Remote: remote, Source: sourceStat(remote)}.encode()}
}

// localSourceUnchanged reports whether a file: source still has the stat it
// had when it was copied (true for remote sources, which a no-op plan does
// not ask: pin them with sha256 or a commit).
func localSourceUnchanged(pv modelPrivate) bool {
	if pv.Source == nil || pv.Remote == nil || pv.Remote.LocalPath() == "" {
		return true
	}
	st, err := download.Stat(pv.Remote.LocalPath())
	return err == nil && st == *pv.Source
}

// ensure makes the file at full the one remote describes and returns its
// record: a file whose stat is unchanged since it was verified as the
// expected sha256 is kept unread; one whose stat changed is re-hashed and
// kept if it matches; otherwise it is downloaded.
func (m *modelType) ensure(ctx context.Context, addr, full string, remote *download.Remote, prev *download.Record, view *progressView) (*download.Record, error) {
	if _, err := download.Stat(full); err == nil && remote.SHA256 != "" {
		if prev == nil {
			prev = &download.Record{}
		}
		rec, trusted, err := download.Verify(ctx, full, *prev, view.update)
		if err != nil {
			return nil, err
		}
		if !trusted {
			view.done("verified", rec.Stat.Size)
		}
		if rec.SHA256 == remote.SHA256 {
			return &rec, nil
		}
		view.note(fmt.Sprintf("%s on disk has sha256 %s, expected %s: downloading it again", filepath.Base(full), rec.SHA256, remote.SHA256))
	} else if err != nil && !errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("stat %s: %w", full, err)
	}
	progress := func(p download.Progress) {
		if p.Total >= 0 {
			m.space.left(addr, p.Total-p.Done)
		}
		view.update(p)
	}
	res, err := m.p.client.Fetch(ctx, remote, full, download.FetchOptions{Connections: m.p.cfg.Connections, Progress: progress})
	if err != nil {
		return nil, err
	}
	verb := "downloaded"
	if remote.LocalPath() != "" {
		verb = "copied"
	}
	view.done(verb, res.Size)
	st, err := download.Stat(full)
	if err != nil {
		return nil, fmt.Errorf("stat %s: %w", full, err)
	}
	return &download.Record{Stat: st, SHA256: res.SHA256}, nil
}

// delete removes the file (and any unfinished download of it).
func (m *modelType) delete(req providers.ApplyRequest) providers.ApplyResponse {
	if req.Prior.IsNull() {
		return providers.ApplyResponse{NewState: cty.NullVal(modelSchema.ImpliedType())}
	}
	full, ok := str(req.Prior, "full_path")
	if !ok {
		return providers.ApplyResponse{NewState: cty.NullVal(modelSchema.ImpliedType())}
	}
	if m.owners.writtenByOther(req.Address, full) {
		// Another object of this command writes the file now, maybe at
		// this moment: it is that object's.
		return providers.ApplyResponse{NewState: cty.NullVal(modelSchema.ImpliedType())}
	}
	if err := removeModelFile(full); err != nil {
		return providers.ApplyResponse{NewState: req.Prior, Private: req.PlannedPrivate,
			Diagnostics: providers.Diagnostics{}.FromError("Cannot delete model file", fmt.Errorf("delete %s: %w", req.Address, err))}
	}
	return providers.ApplyResponse{NewState: cty.NullVal(modelSchema.ImpliedType())}
}

// removeModelFile removes a model file and its partial download; a path
// that is not a regular file (a directory, say) is left alone.
func removeModelFile(full string) error {
	os.Remove(download.PartialPath(full))
	os.Remove(download.SidecarPath(full))
	fi, err := os.Lstat(full)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	if !fi.Mode().IsRegular() {
		return fmt.Errorf("%s is not a regular file; left in place", full)
	}
	return os.Remove(full)
}

func (m *modelType) read(_ context.Context, req providers.ReadRequest) providers.ReadResponse {
	resp := providers.ReadResponse{NewState: req.Prior, Private: req.Private}
	if req.Prior.IsNull() || !req.Prior.IsKnown() {
		return resp
	}
	prior, _ := req.Prior.UnmarkDeep()
	full, ok := str(prior, "full_path")
	if !ok {
		return resp
	}
	pv := decodePrivate(req.Private)
	st, err := download.Stat(full)
	switch {
	case errors.Is(err, os.ErrNotExist):
		resp.NewState = cty.NullVal(modelSchema.ImpliedType())
		resp.Drift = "file deleted outside sdform: " + full
		return resp
	case err != nil:
		resp.Diagnostics = resp.Diagnostics.FromError("Cannot inspect model file", fmt.Errorf("stat %s: %w", full, err))
		return resp
	case pv.File != nil && st == pv.File.Stat:
		return resp
	}
	// The bytes are no longer vouched for: sha256 unknown until re-hashed.
	attrs := prior.AsValueMap()
	attrs["sha256"] = cty.NullVal(cty.String)
	attrs["size_bytes"] = cty.NumberIntVal(st.Size)
	resp.NewState = cty.ObjectVal(attrs)
	resp.Drift = "file on disk changed outside sdform (" + full + "): it will be re-hashed"
	if pv.File == nil {
		resp.Drift = "file on disk was never verified by sdform (" + full + "): it will be hashed"
	}
	return resp
}
