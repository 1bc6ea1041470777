package comfyui

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
	"unsafe"

	"bytes"
	"syscall"

	"github.com/zclconf/go-cty/cty"

	"github.com/sdform/sdform/providers"
)

const testCommit = "89abcdef0123456789abcdef0123456789abcdef"

// fakeHub is a Hugging Face-like hub and its CDN: HEAD/GET on
// /ORG/REPO/resolve/REV/PATH answer 302 to the CDN with X-Repo-Commit,
// X-Linked-Etag and X-Linked-Size; the CDN serves the bytes with Range
// support. Files can be gated (401 without the token).
type fakeHub struct {
	hub, cdn *httptest.Server
	mu       sync.Mutex
	files    map[string][]byte // path after resolve/REV/ → content
	// linkedSize overrides X-Linked-Size (to claim a huge file).
	linkedSize map[string]int64
	gated      map[string]bool
	token      string
	hubReqs    atomic.Int64
	cdnGets    atomic.Int64
	cdnHeads   atomic.Int64
}

func newFakeHub(t testing.TB) *fakeHub {
	h := &fakeHub{files: map[string][]byte{}, linkedSize: map[string]int64{}, gated: map[string]bool{}}
	h.cdn = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodHead {
			h.cdnHeads.Add(1)
		} else {
			h.cdnGets.Add(1)
		}
		if r.Header.Get("Authorization") != "" {
			http.Error(w, "the CDN got a token", http.StatusBadRequest)
			return
		}
		h.mu.Lock()
		b, ok := h.files[strings.TrimPrefix(r.URL.Path, "/cdn/")]
		h.mu.Unlock()
		if !ok {
			http.NotFound(w, r)
			return
		}
		http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(b))
	}))
	h.hub = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h.hubReqs.Add(1)
		// /Org/Repo/resolve/REV/PATH
		parts := strings.SplitN(strings.TrimPrefix(r.URL.Path, "/"), "/", 5)
		if len(parts) < 5 || parts[2] != "resolve" {
			http.NotFound(w, r)
			return
		}
		file := parts[4]
		h.mu.Lock()
		b, ok := h.files[file]
		size, sized := h.linkedSize[file]
		gated := h.gated[file]
		h.mu.Unlock()
		if gated && r.Header.Get("Authorization") != "Bearer "+h.token {
			http.Error(w, "gated", http.StatusUnauthorized)
			return
		}
		if !ok {
			http.Error(w, "Entry not found", http.StatusNotFound)
			return
		}
		if !sized {
			size = int64(len(b))
		}
		sum := sha256.Sum256(b)
		w.Header().Set("X-Repo-Commit", testCommit)
		w.Header().Set("X-Linked-Etag", `"`+hex.EncodeToString(sum[:])+`"`)
		w.Header().Set("X-Linked-Size", strconv.FormatInt(size, 10))
		w.Header().Set("Location", h.cdn.URL+"/cdn/"+file+"?X-Amz-Signature=abc")
		w.WriteHeader(http.StatusFound)
	}))
	t.Cleanup(h.hub.Close)
	t.Cleanup(h.cdn.Close)
	return h
}

func (h *fakeHub) put(path string, b []byte) {
	h.mu.Lock()
	h.files[path] = b
	h.mu.Unlock()
}

// requests is the number of requests both servers saw.
func (h *fakeHub) requests() int64 { return h.hubReqs.Load() + h.cdnGets.Load() + h.cdnHeads.Load() }

func randomBytes(n int, seed uint64) []byte {
	r := rand.New(rand.NewPCG(seed, seed+1))
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	return b
}

func hexSum(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

// configure returns a configured provider whose models folder is modelsDir.
func configure(t testing.TB, h *fakeHub, configDir string, attrs map[string]cty.Value) *Provider {
	t.Helper()
	t.Setenv("HF_TOKEN", "")
	t.Setenv("HF_ENDPOINT", "")
	vals := map[string]cty.Value{
		"models_dir":  cty.StringVal("models"),
		"token":       cty.NullVal(cty.String),
		"hf_endpoint": cty.NullVal(cty.String),
		"connections": cty.NullVal(cty.Number),
	}
	if h != nil {
		vals["hf_endpoint"] = cty.StringVal(h.hub.URL)
	}
	for k, v := range attrs {
		vals[k] = v
	}
	p := New().(*Provider)
	resp := p.Configure(context.Background(), providers.ConfigureRequest{
		Config: cty.ObjectVal(vals), Env: providers.Env{ConfigDir: configDir, DataDir: configDir + "/.sdform"},
	})
	if resp.Diagnostics.HasErrors() {
		t.Fatalf("Configure: %v", resp.Diagnostics)
	}
	t.Cleanup(func() { p.Close() })
	return p
}

// modelConfig builds a comfyui_model config value; nil means null.
func modelCfg(source, path string, sha256 *string, size *int64) cty.Value {
	v := map[string]cty.Value{}
	for name, a := range modelSchema.Attributes {
		v[name] = cty.NullVal(a.Type)
	}
	v["source"] = cty.StringVal(source)
	v["path"] = cty.StringVal(path)
	if sha256 != nil {
		v["sha256"] = cty.StringVal(*sha256)
	}
	if size != nil {
		v["size"] = cty.NumberIntVal(*size)
	}
	return cty.ObjectVal(v)
}

// object is a resource as the engine keeps it between calls.
type object struct {
	value   cty.Value
	private []byte
}

func none() object { return object{value: cty.NullVal(modelSchema.ImpliedType())} }

func planModel(t testing.TB, p *Provider, prior object, cfg cty.Value) providers.PlanResponse {
	t.Helper()
	return p.PlanResource(context.Background(), providers.PlanRequest{
		TypeName: "comfyui_model", Address: "comfyui_model.test",
		Prior: prior.value, PriorPrivate: prior.private, Config: cfg, Proposed: cfg,
	})
}

func applyModel(t testing.TB, p *Provider, prior object, cfg cty.Value, pr providers.PlanResponse, out *bytes.Buffer) providers.ApplyResponse {
	t.Helper()
	action := providers.Update
	if prior.value.IsNull() {
		action = providers.Create
	}
	ui := providers.UI{Out: out}
	return p.ApplyResource(context.Background(), providers.ApplyRequest{
		TypeName: "comfyui_model", Address: "comfyui_model.test", Action: action,
		Prior: prior.value, Planned: pr.Planned, Config: cfg, PlannedPrivate: pr.PlannedPrivate, UI: ui,
	})
}

func readModel(t testing.TB, p *Provider, o object) providers.ReadResponse {
	t.Helper()
	return p.ReadResource(context.Background(), providers.ReadRequest{
		TypeName: "comfyui_model", Address: "comfyui_model.test", Prior: o.value, Private: o.private,
	})
}

func attr(v cty.Value, name string) string {
	a := v.GetAttr(name)
	if !a.IsKnown() {
		return "(unknown)"
	}
	if a.IsNull() {
		return "(null)"
	}
	if a.Type() == cty.Number {
		return a.AsBigFloat().Text('f', -1)
	}
	return a.AsString()
}

func diagText(ds providers.Diagnostics) string {
	var b strings.Builder
	for _, d := range ds {
		fmt.Fprintf(&b, "[%d] %s: %s (%v)\n", d.Severity, d.Summary, d.Detail, d.Attribute)
	}
	return b.String()
}

// openWatch counts, through inotify, how often anyone opened or read path
// since the previous call. It observes the kernel, so no code path of ours
// can read the file unseen.
func openWatch(t testing.TB, path string) func() int {
	t.Helper()
	fd, err := syscall.InotifyInit1(syscall.IN_NONBLOCK | syscall.IN_CLOEXEC)
	if err != nil {
		t.Skipf("inotify unavailable: %v", err)
	}
	t.Cleanup(func() { syscall.Close(fd) })
	if _, err := syscall.InotifyAddWatch(fd, path, syscall.IN_OPEN|syscall.IN_ACCESS); err != nil {
		t.Fatalf("watch %s: %v", path, err)
	}
	return func() int {
		count := 0
		buf := make([]byte, 64<<10)
		for {
			n, err := syscall.Read(fd, buf)
			if n <= 0 || err != nil {
				return count
			}
			for off := 0; off+syscall.SizeofInotifyEvent <= n; {
				ev := (*syscall.InotifyEvent)(unsafe.Pointer(&buf[off]))
				count++
				off += syscall.SizeofInotifyEvent + int(ev.Len)
			}
		}
	}
}
