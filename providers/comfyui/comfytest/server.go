package comfytest

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// Options shape a fake server. The zero value is a healthy ComfyUI 0.8.0
// with the bundled /object_info and no models.
type Options struct {
	// ObjectInfo replaces the bundled /object_info answer.
	ObjectInfo []byte
	// Combos replaces the options of combo inputs, keyed "Class.input"
	// ("CheckpointLoaderSimple.ckpt_name"): the model files a real server
	// would list.
	Combos map[string][]string
	// Models lists files per models folder, for /models/{folder}.
	Models map[string][]string
	// Dir holds the output, input and temp folders; empty means a new
	// temporary directory, removed by Close.
	Dir string

	// ReadyAfter delays readiness: until it has passed since start, every
	// request has its connection closed without an answer, as when the
	// process is still loading and nothing listens yet.
	ReadyAfter time.Duration
	// NeverReady keeps the server in that state for good.
	NeverReady bool
	// FailClass makes nodes of this class raise at execution (SaveWEBM
	// always does, as on the real server without PyAV).
	FailClass string
	// HangClass makes nodes of this class run, sending progress, until
	// /interrupt.
	HangClass string
	// NodeDelay is how long each executed node takes.
	NodeDelay time.Duration
	// DropWebSocketAt closes every WebSocket, without a close frame, when
	// the node with this id starts executing. Execution goes on.
	DropWebSocketAt string
	// OutputFilename, when set, replaces the filename the server reports
	// for every output (a hostile server naming "../../x").
	OutputFilename string
	// Devices replaces /system_stats' devices.
	Devices []map[string]any
	// Log receives the server's log lines ("got prompt", validation
	// failures, tracebacks); nil discards them.
	Log io.Writer
}

// Server is a fake ComfyUI server. Serve it with its Handler (httptest) or
// ListenAndServe.
type Server struct {
	opts      Options
	defs      map[string]*nodeDef
	defOrder  []string
	objInfo   []byte // the /object_info answer
	dir       string
	removeDir bool
	started   time.Time
	hub       *hub
	handler   http.Handler

	mu          sync.Mutex
	number      int
	pending     []*task
	running     *task
	history     []string
	entries     map[string]omap
	cache       map[string]*cacheEntry
	interrupted bool
	interrupts  []string // prompt ids (or "") of POST /interrupt, in order
	requests    []string // "METHOD /path" of every request
	clientID    string   // the client of the running prompt
	lastNode    string
	wake        chan struct{}
	ctx         context.Context
	cancel      context.CancelFunc
	done        chan struct{}
	nodeRuns    int
}

type task struct {
	number   int
	id       string
	prompt   *prompt
	extra    omap
	outputs  []string
	clientID string
}

// New builds a fake server and starts its execution worker. Close stops it.
func New(opts Options) (*Server, error) {
	s := &Server{
		opts:    opts,
		started: time.Now(),
		entries: map[string]omap{},
		cache:   map[string]*cacheEntry{},
		wake:    make(chan struct{}, 1),
		done:    make(chan struct{}),
	}
	info := opts.ObjectInfo
	if info == nil {
		info = ObjectInfo080
	}
	var err error
	if s.defs, s.defOrder, err = parseObjectInfo(info); err != nil {
		return nil, err
	}
	if err := s.applyCombos(); err != nil {
		return nil, err
	}
	s.dir = opts.Dir
	if s.dir == "" {
		if s.dir, err = os.MkdirTemp("", "comfytest-"); err != nil {
			return nil, err
		}
		s.removeDir = true
	}
	for _, d := range []string{"output", "input", "temp"} {
		if err := os.MkdirAll(filepath.Join(s.dir, d), 0o755); err != nil {
			return nil, err
		}
	}
	s.hub = newHub()
	s.ctx, s.cancel = context.WithCancel(context.Background())
	s.handler = s.routes()
	go s.worker()
	return s, nil
}

// Start serves a new fake on an httptest server closed with the test.
func Start(t testing.TB, opts Options) (*Server, string) {
	t.Helper()
	if opts.Dir == "" {
		opts.Dir = t.TempDir()
	}
	s, err := New(opts)
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(s.Handler())
	t.Cleanup(func() {
		s.Close()
		ts.CloseClientConnections()
		ts.Close()
	})
	return s, ts.URL
}

// Handler serves the ComfyUI routes.
func (s *Server) Handler() http.Handler { return s.handler }

// Close stops the worker, drops every WebSocket and removes a temporary
// directory the server made.
func (s *Server) Close() {
	s.cancel()
	<-s.done
	s.hub.closeAll()
	if s.removeDir {
		os.RemoveAll(s.dir)
	}
}

// Dir is the directory holding output/, input/ and temp/.
func (s *Server) Dir() string { return s.dir }

// Interrupts returns the prompt ids (or "" for a global interrupt) of every
// POST /interrupt received.
func (s *Server) Interrupts() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.interrupts...)
}

// Requests returns "METHOD /path" for every request received.
func (s *Server) Requests() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.requests...)
}

// Executed returns how many nodes actually ran (not served from cache)
// across all prompts.
func (s *Server) Executed() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.nodeRuns
}

func (s *Server) logf(format string, args ...any) {
	if s.opts.Log != nil {
		fmt.Fprintf(s.opts.Log, format+"\n", args...)
	}
}

func (s *Server) applyCombos() error {
	for key, list := range s.opts.Combos {
		class, input, ok := strings.Cut(key, ".")
		d := s.defs[class]
		if !ok || d == nil || d.input(input) == nil {
			return fmt.Errorf("comfytest: no combo input %s", key)
		}
		in := d.input(input)
		opts := make([]any, len(list))
		for i, e := range list {
			opts[i] = e
		}
		if in.typ == "COMBO" {
			in.extra.set("options", opts)
		} else {
			in.typ = opts
		}
		in.config = []any{in.typ, in.extra}
	}
	if len(s.opts.Combos) == 0 && s.opts.ObjectInfo == nil {
		s.objInfo = ObjectInfo080
		return nil
	}
	// Re-render the whole answer so that /object_info shows the lists.
	v, err := decodeOrdered(map[bool][]byte{true: s.opts.ObjectInfo, false: ObjectInfo080}[s.opts.ObjectInfo != nil])
	if err != nil {
		return err
	}
	all := v.(omap)
	for i, e := range all {
		d := s.defs[e.K]
		info := e.V.(omap)
		in, _ := info.get("input")
		inputs, _ := in.(omap)
		for j, cat := range inputs {
			specs, _ := cat.V.(omap)
			for k, spec := range specs {
				if id := d.input(spec.K); id != nil && id.category == cat.K {
					specs[k].V = id.config
				}
			}
			inputs[j].V = specs
		}
		info.set("input", inputs)
		all[i].V = info
		raw, err := json.Marshal(info)
		if err != nil {
			return err
		}
		d.raw = raw
	}
	b, err := json.Marshal(all)
	if err != nil {
		return err
	}
	s.objInfo = b
	return nil
}

func (s *Server) ready() bool {
	if s.opts.NeverReady {
		return false
	}
	return time.Since(s.started) >= s.opts.ReadyAfter
}

func (s *Server) routes() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /ws", s.serveWS)
	mux.HandleFunc("GET /system_stats", s.systemStats)
	mux.HandleFunc("GET /object_info", func(w http.ResponseWriter, r *http.Request) { writeRaw(w, 200, s.objInfo) })
	mux.HandleFunc("GET /object_info/{node}", s.objectInfoNode)
	mux.HandleFunc("GET /models", s.modelFolders)
	mux.HandleFunc("GET /models/{folder}", s.modelFiles)
	mux.HandleFunc("GET /embeddings", func(w http.ResponseWriter, r *http.Request) { writeJSON(w, 200, []any{}) })
	mux.HandleFunc("GET /features", func(w http.ResponseWriter, r *http.Request) { writeJSON(w, 200, serverFeatures()) })
	mux.HandleFunc("GET /api/jobs", s.jobs)
	mux.HandleFunc("GET /prompt", func(w http.ResponseWriter, r *http.Request) { writeJSON(w, 200, s.queueInfo()) })
	mux.HandleFunc("POST /prompt", s.postPrompt)
	mux.HandleFunc("GET /queue", s.getQueue)
	mux.HandleFunc("POST /queue", s.postQueue)
	mux.HandleFunc("POST /interrupt", s.postInterrupt)
	mux.HandleFunc("GET /history", s.getHistory)
	mux.HandleFunc("GET /history/{id}", s.getHistoryID)
	mux.HandleFunc("POST /history", s.postHistory)
	mux.HandleFunc("GET /view", s.view)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		s.requests = append(s.requests, r.Method+" "+r.URL.Path)
		s.mu.Unlock()
		if !s.ready() {
			dropConnection(w)
			return
		}
		if !originAllowed(r) {
			w.WriteHeader(http.StatusForbidden)
			return
		}
		// ComfyUI serves every route under /api too.
		if strings.HasPrefix(r.URL.Path, "/api/") && r.URL.Path != "/api/jobs" {
			r2 := r.Clone(r.Context())
			r2.URL.Path = strings.TrimPrefix(r.URL.Path, "/api")
			r = r2
		}
		mux.ServeHTTP(w, r)
	})
}

// dropConnection closes the connection without answering, which is what a
// client sees from a server that is not listening yet (or from a proxy in
// front of one).
func dropConnection(w http.ResponseWriter) {
	if hj, ok := w.(http.Hijacker); ok {
		if c, _, err := hj.Hijack(); err == nil {
			c.Close()
			return
		}
	}
	w.WriteHeader(http.StatusBadGateway)
}

// originAllowed is server.py's origin_only_middleware: on a loopback host,
// an Origin naming another host is refused.
func originAllowed(r *http.Request) bool {
	origin := r.Header.Get("Origin")
	if origin == "" || r.Host == "" {
		return true
	}
	host := strings.ToLower(r.Host)
	hostName, hostPort := splitHostPort(host)
	if !isLoopback(hostName) {
		return true
	}
	u, err := url.Parse(origin)
	if err != nil {
		return true
	}
	originDomain := strings.ToLower(u.Host)
	hostDomain := host
	if u.Port() == "" {
		hostDomain = hostName
	}
	if hostPort == "" {
		originDomain = strings.ToLower(u.Hostname())
	}
	if hostDomain == "" || originDomain == "" {
		return true
	}
	return hostDomain == originDomain
}

func splitHostPort(h string) (string, string) {
	if host, port, err := net.SplitHostPort(h); err == nil {
		return host, port
	}
	return strings.Trim(h, "[]"), ""
}

func isLoopback(host string) bool {
	if ip := net.ParseIP(host); ip != nil {
		return ip.IsLoopback()
	}
	return host == "localhost"
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		http.Error(w, err.Error(), 500)
		return
	}
	writeRaw(w, status, b)
}

func writeRaw(w http.ResponseWriter, status int, b []byte) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	w.Write(b)
}

// serverError is aiohttp's answer when a handler raises.
func serverError(w http.ResponseWriter) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.WriteHeader(http.StatusInternalServerError)
	io.WriteString(w, "500 Internal Server Error\n\nServer got itself in trouble")
}

func serverFeatures() omap {
	return omap{{"supports_preview_metadata", true}, {"max_upload_size", int64(104857600)}, {"extension", omap{{"manager", omap{{"supports_v4", true}}}}}}
}

func (s *Server) systemStats(w http.ResponseWriter, r *http.Request) {
	devices := []any{}
	if s.opts.Devices != nil {
		for _, d := range s.opts.Devices {
			devices = append(devices, d)
		}
	} else {
		devices = append(devices, omap{
			{"name", "cuda:0 comfytest fake GPU : cudaMallocAsync"}, {"type", "cuda"}, {"index", int64(0)},
			{"vram_total", int64(85017493504)}, {"vram_free", int64(84465090560)},
			{"torch_vram_total", int64(0)}, {"torch_vram_free", int64(0)},
		})
	}
	argv := []any{}
	for _, a := range os.Args {
		argv = append(argv, a)
	}
	writeJSON(w, 200, omap{
		{"system", omap{
			{"os", "linux"}, {"ram_total", int64(135148564480)}, {"ram_free", int64(133932638208)},
			{"comfyui_version", "0.8.0"}, {"required_frontend_version", "1.35.9"},
			{"installed_templates_version", nil}, {"required_templates_version", "0.7.67"},
			{"python_version", "3.12.3 (comfytest)"}, {"pytorch_version", "2.11.0+cu130"},
			{"embedded_python", false}, {"argv", argv},
		}},
		{"devices", devices},
	})
}

func (s *Server) objectInfoNode(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("node")
	d, ok := s.defs[name]
	if !ok {
		writeJSON(w, 200, omap{})
		return
	}
	writeJSON(w, 200, omap{{name, json.RawMessage(d.raw)}})
}

// modelFolders is folder_paths.folder_names_and_paths of ComfyUI 0.8.0.
var modelFolders = []string{"checkpoints", "configs", "loras", "vae", "text_encoders", "diffusion_models", "clip_vision",
	"style_models", "embeddings", "diffusers", "vae_approx", "controlnet", "gligen", "upscale_models", "latent_upscale_models",
	"custom_nodes", "hypernetworks", "photomaker", "classifiers", "model_patches", "audio_encoders"}

func (s *Server) modelFolders(w http.ResponseWriter, r *http.Request) {
	list := append([]string(nil), modelFolders...)
	for f := range s.opts.Models {
		if !slices.Contains(list, f) {
			list = append(list, f)
		}
	}
	writeJSON(w, 200, list)
}

func (s *Server) modelFiles(w http.ResponseWriter, r *http.Request) {
	f := r.PathValue("folder")
	files, ok := s.opts.Models[f]
	if !ok && !slices.Contains(modelFolders, f) {
		w.WriteHeader(http.StatusNotFound)
		return
	}
	if files == nil {
		files = []string{}
	}
	writeJSON(w, 200, files)
}

func (s *Server) jobs(w http.ResponseWriter, r *http.Request) {
	// The jobs API is not modelled: the fake answers as a fresh server.
	writeJSON(w, 200, omap{{"jobs", []any{}}, {"pagination", omap{{"offset", int64(0)}, {"limit", nil}, {"total", int64(0)}, {"has_more", false}}}})
}

func (s *Server) queueInfo() omap {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.queueInfoLocked()
}

func (s *Server) queueInfoLocked() omap {
	n := len(s.pending)
	if s.running != nil {
		n++
	}
	return omap{{"exec_info", omap{{"queue_remaining", int64(n)}}}}
}

func (t *task) item() []any {
	outs := make([]any, len(t.outputs))
	for i, o := range t.outputs {
		outs[i] = o
	}
	return []any{int64(t.number), t.id, t.prompt.marshal(), t.extra, outs}
}

func (s *Server) getQueue(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	running, pending := []any{}, []any{}
	if s.running != nil {
		running = append(running, s.running.item())
	}
	for _, t := range s.pending {
		pending = append(pending, t.item())
	}
	s.mu.Unlock()
	writeJSON(w, 200, omap{{"queue_running", running}, {"queue_pending", pending}})
}

// postQueue is server.py's post_queue: "clear" empties the pending queue
// and "delete" removes the pending prompts with those ids; a running
// prompt is not touched. Each change broadcasts the queue's status
// (PromptQueue.wipe_queue and delete_queue_item call queue_updated). The
// answer is 200 with no body, whatever was deleted.
func (s *Server) postQueue(w http.ResponseWriter, r *http.Request) {
	var body struct {
		Clear  bool     `json:"clear"`
		Delete []string `json:"delete"`
	}
	if err := json.NewDecoder(r.Body).Decode(&body); err != nil {
		serverError(w)
		return
	}
	s.mu.Lock()
	if body.Clear {
		s.pending = nil
		s.broadcastStatusLocked()
	}
	for _, id := range body.Delete {
		if i := slices.IndexFunc(s.pending, func(t *task) bool { return t.id == id }); i >= 0 {
			s.pending = slices.Delete(s.pending, i, i+1)
			s.broadcastStatusLocked()
		}
	}
	s.mu.Unlock()
	w.WriteHeader(200)
}

func (s *Server) postInterrupt(w http.ResponseWriter, r *http.Request) {
	var body struct {
		PromptID string `json:"prompt_id"`
	}
	_ = json.NewDecoder(r.Body).Decode(&body)
	s.mu.Lock()
	s.interrupts = append(s.interrupts, body.PromptID)
	if body.PromptID == "" || (s.running != nil && s.running.id == body.PromptID) {
		s.interrupted = true
		s.logf("Interrupting prompt %s", body.PromptID)
	}
	s.mu.Unlock()
	w.WriteHeader(200)
}

func (s *Server) getHistory(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	ids := s.history
	if m := r.URL.Query().Get("max_items"); m != "" {
		n, err := strconv.Atoi(m)
		if err != nil {
			serverError(w)
			return
		}
		if n < len(ids) {
			ids = ids[len(ids)-n:]
		}
	}
	out := omap{}
	for _, id := range ids {
		out = append(out, kv{id, s.entries[id]})
	}
	writeJSON(w, 200, out)
}

func (s *Server) getHistoryID(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	s.mu.Lock()
	defer s.mu.Unlock()
	e, ok := s.entries[id]
	if !ok {
		writeJSON(w, 200, omap{})
		return
	}
	writeJSON(w, 200, omap{{id, e}})
}

func (s *Server) postHistory(w http.ResponseWriter, r *http.Request) {
	var body struct {
		Clear  bool     `json:"clear"`
		Delete []string `json:"delete"`
	}
	if err := json.NewDecoder(r.Body).Decode(&body); err != nil {
		serverError(w)
		return
	}
	s.mu.Lock()
	if body.Clear {
		s.history, s.entries = nil, map[string]omap{}
	}
	for _, id := range body.Delete {
		delete(s.entries, id)
		for i, h := range s.history {
			if h == id {
				s.history = append(s.history[:i], s.history[i+1:]...)
				break
			}
		}
	}
	s.mu.Unlock()
	w.WriteHeader(200)
}

// contentTypes are what Python's mimetypes answers for the files ComfyUI
// writes.
var contentTypes = map[string]string{
	".png": "image/png", ".webp": "image/webp", ".gif": "image/gif", ".jpg": "image/jpeg", ".jpeg": "image/jpeg",
	".mp4": "video/mp4", ".webm": "video/webm", ".mov": "video/quicktime", ".wav": "audio/x-wav", ".flac": "audio/flac",
	".mp3": "audio/mpeg", ".json": "application/json", ".txt": "text/plain",
}

// view is server.py's /view without previews and channels.
func (s *Server) view(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	if !q.Has("filename") {
		w.WriteHeader(http.StatusNotFound)
		return
	}
	filename := q.Get("filename")
	if filename == "" || filename[0] == '/' || strings.Contains(filename, "..") {
		w.WriteHeader(http.StatusBadRequest)
		return
	}
	typ := q.Get("type")
	if typ == "" {
		typ = "output"
	}
	if typ != "output" && typ != "input" && typ != "temp" {
		w.WriteHeader(http.StatusBadRequest)
		return
	}
	dir := filepath.Join(s.dir, typ)
	if q.Has("subfolder") {
		full := filepath.Join(dir, q.Get("subfolder"))
		if full != dir && !strings.HasPrefix(full, dir+string(filepath.Separator)) {
			w.WriteHeader(http.StatusForbidden)
			return
		}
		dir = full
	}
	file := filepath.Join(dir, filepath.Base(filename))
	st, err := os.Stat(file)
	if err != nil || !st.Mode().IsRegular() {
		w.WriteHeader(http.StatusNotFound)
		return
	}
	ct := contentTypes[strings.ToLower(filepath.Ext(file))]
	if ct == "" {
		ct = "application/octet-stream"
	}
	w.Header().Set("Content-Type", ct)
	w.Header().Set("Content-Disposition", fmt.Sprintf("filename=%q", filepath.Base(filename)))
	http.ServeFile(w, r, file)
}

func (s *Server) inputFileExists(name string) bool {
	if name == "" || strings.Contains(name, "..") {
		return false
	}
	st, err := os.Stat(filepath.Join(s.dir, "input", name))
	return err == nil && st.Mode().IsRegular()
}

// postPrompt is server.py's post_prompt.
func (s *Server) postPrompt(w http.ResponseWriter, r *http.Request) {
	s.logf("got prompt")
	body, err := io.ReadAll(r.Body)
	if err != nil {
		serverError(w)
		return
	}
	v, err := decodeOrdered(body)
	data, ok := v.(omap)
	if err != nil || !ok {
		serverError(w)
		return
	}
	s.mu.Lock()
	number := s.number
	if n, ok := data.get("number"); ok {
		f, _ := toFloat(n)
		number = int(f)
	} else {
		s.number++
	}
	s.mu.Unlock()

	raw, ok := data.get("prompt")
	if !ok {
		writeJSON(w, 400, omap{{"error", errObj("no_prompt", "No prompt provided", "No prompt provided", nil)}, {"node_errors", omap{}}})
		return
	}
	p, perr := parsePrompt(raw)
	if perr != nil {
		if e, ok := perr.(*promptError); ok {
			s.logf("invalid prompt: %s", pyRepr(e.obj))
			writeJSON(w, 400, omap{{"error", e.obj}, {"node_errors", omap{}}})
			return
		}
		s.logf("Error handling request: %v", perr)
		serverError(w)
		return
	}
	promptID := newUUID()
	if id, ok := data.get("prompt_id"); ok {
		promptID = pyStr(id)
	}
	var partial []string
	if pt, ok := data.get("partial_execution_targets"); ok {
		if list, ok := pt.([]any); ok {
			for _, e := range list {
				partial = append(partial, pyStr(e))
			}
		}
	}
	valid, errObject, good, nodeErrors := s.validatePrompt(p, partial)
	extra := omap{}
	if e, ok := data.get("extra_data"); ok {
		if m, ok := e.(omap); ok {
			extra = m
		}
	}
	clientID := ""
	if c, ok := data.get("client_id"); ok {
		clientID = pyStr(c)
		extra.set("client_id", c)
	}
	if !valid {
		s.logf("invalid prompt: %s", pyRepr(errObject))
		writeJSON(w, 400, omap{{"error", errObject}, {"node_errors", nodeErrors}})
		return
	}
	extra.set("create_time", time.Now().UnixMilli())
	t := &task{number: number, id: promptID, prompt: p, extra: extra, outputs: good, clientID: clientID}
	s.mu.Lock()
	s.pending = append(s.pending, t)
	sort.SliceStable(s.pending, func(i, j int) bool { return s.pending[i].number < s.pending[j].number })
	s.broadcastStatusLocked()
	s.mu.Unlock()
	select {
	case s.wake <- struct{}{}:
	default:
	}
	writeJSON(w, 200, omap{{"prompt_id", promptID}, {"number", int64(number)}, {"node_errors", nodeErrors}})
}

// promptError is a 400 answer found while reading the prompt itself.
type promptError struct{ obj omap }

func (e *promptError) Error() string { return fmt.Sprint(e.obj) }

// parsePrompt reads the "prompt" member the way validate_prompt walks it:
// a member that is not an object makes Python raise (a 500), except a
// string, which `'class_type' not in` tests by substring.
func parsePrompt(raw any) (*prompt, error) {
	p := &prompt{nodes: map[string]*pnode{}}
	m, ok := raw.(omap)
	if !ok {
		if l, ok := raw.([]any); ok && len(l) == 0 {
			return p, nil
		}
		return nil, fmt.Errorf("prompt is %T", raw)
	}
	for _, e := range m {
		switch n := e.V.(type) {
		case omap:
			ct, ok := n.get("class_type")
			if !ok {
				return nil, &promptError{errObj("invalid_prompt", "Cannot execute because a node is missing the class_type property.", fmt.Sprintf("Node ID '#%s'", e.K), nil)}
			}
			in, _ := n.get("inputs")
			inputs, ok := in.(omap)
			if !ok {
				if in == nil {
					return nil, fmt.Errorf("node %s has no inputs", e.K)
				}
				return nil, fmt.Errorf("node %s inputs is %T", e.K, in)
			}
			p.order = append(p.order, e.K)
			p.nodes[e.K] = &pnode{id: e.K, class: pyStr(ct), inputs: inputs, raw: n}
		case string:
			if !strings.Contains(n, "class_type") {
				return nil, &promptError{errObj("invalid_prompt", "Cannot execute because a node is missing the class_type property.", fmt.Sprintf("Node ID '#%s'", e.K), nil)}
			}
			return nil, fmt.Errorf("string indices must be integers")
		default:
			return nil, fmt.Errorf("argument of type '%T' is not iterable", n)
		}
	}
	return p, nil
}
