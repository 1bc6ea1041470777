package comfytest

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
)

// cacheEntry is a node's cached result, keyed by its input signature, as
// ComfyUI's classic output cache keeps the last prompt's results.
type cacheEntry struct {
	outputs []any
	ui      omap
}

// errInterrupted is InterruptProcessingException.
var errInterrupted = errors.New("interrupted")

// nodeError is an exception raised by a node: what execution_error carries.
type nodeError struct {
	typ, msg  string
	traceback []any
}

func (e *nodeError) Error() string { return e.msg }

func (s *Server) worker() {
	defer close(s.done)
	for {
		t := s.next()
		if t == nil {
			return
		}
		s.run(t)
	}
}

func (s *Server) next() *task {
	for {
		s.mu.Lock()
		if len(s.pending) > 0 {
			t := s.pending[0]
			s.pending = s.pending[1:]
			s.running = t
			s.broadcastStatusLocked()
			s.mu.Unlock()
			return t
		}
		s.mu.Unlock()
		select {
		case <-s.wake:
		case <-s.ctx.Done():
			return nil
		}
	}
}

func (s *Server) broadcastStatusLocked() {
	s.hub.send("", message("status", omap{{"status", s.queueInfoLocked()}}))
}

// execution is one run of a prompt: PromptExecutor.execute_async.
type execution struct {
	s        *Server
	t        *task
	sigs     map[string]string
	values   map[string][]any
	messages []any
	progress omap // node id → *omap state, in first-touch order
	executed []string
	ui       omap
	meta     omap
}

func (e *execution) send(typ string, data omap) {
	e.s.hub.send(e.t.clientID, message(typ, data))
}

// add is PromptExecutor.add_message: recorded for history, sent to the
// prompt's client (or to everyone when it has none and broadcast is set).
func (e *execution) add(typ string, data omap, broadcast bool) {
	data = append(data, kv{"timestamp", time.Now().UnixMilli()})
	e.messages = append(e.messages, []any{typ, data})
	if e.t.clientID != "" || broadcast {
		e.send(typ, data)
	}
}

func (s *Server) run(t *task) {
	e := &execution{s: s, t: t, values: map[string][]any{}, ui: omap{}, meta: omap{}}
	s.mu.Lock()
	s.interrupted = false
	s.clientID = t.clientID
	s.lastNode = ""
	s.mu.Unlock()

	e.add("execution_start", omap{{"prompt_id", t.id}}, false)
	e.sigs = signatures(t.prompt)
	cached := []any{}
	s.mu.Lock()
	for _, id := range t.prompt.order {
		if _, ok := s.cache[e.sigs[id]]; ok {
			cached = append(cached, id)
		}
	}
	s.mu.Unlock()
	e.add("execution_cached", omap{{"nodes", cached}, {"prompt_id", t.id}}, false)

	list := newExecList(s, t.prompt, e.isCached)
	for _, o := range t.outputs {
		list.addNode(o)
	}
	success := true
	for !list.empty() {
		id := list.stage()
		if id == "" {
			success = false
			e.fail(list.pending[0], &nodeError{typ: "graph.DependencyCycleError", msg: "Dependency cycle detected", traceback: []any{}})
			break
		}
		if err := e.execute(id); err != nil {
			success = false
			e.fail(id, err)
			break
		}
		list.complete(id)
	}
	if success {
		e.add("execution_success", omap{{"prompt_id", t.id}}, false)
	}

	// The classic cache keeps only the current prompt's nodes.
	keep := map[string]bool{}
	for _, sig := range e.sigs {
		keep[sig] = true
	}
	status := "success"
	if !success {
		status = "error"
	}
	entry := omap{
		{"prompt", t.item()},
		{"outputs", e.ui},
		{"status", omap{{"status_str", status}, {"completed", success}, {"messages", e.messages}}},
		{"meta", e.meta},
	}
	s.mu.Lock()
	for sig := range s.cache {
		if !keep[sig] {
			delete(s.cache, sig)
		}
	}
	s.running = nil
	if _, ok := s.entries[t.id]; !ok {
		s.history = append(s.history, t.id)
	}
	s.entries[t.id] = entry
	s.broadcastStatusLocked()
	s.lastNode = ""
	s.mu.Unlock()
	if t.clientID != "" {
		e.send("executing", omap{{"node", nil}, {"prompt_id", t.id}})
	}
}

func (e *execution) isCached(id string) bool {
	e.s.mu.Lock()
	defer e.s.mu.Unlock()
	_, ok := e.s.cache[e.sigs[id]]
	return ok
}

func (e *execution) progressState() {
	nodes := omap{}
	for _, p := range e.progress {
		st := p.V.(*omap)
		state, _ := st.get("state")
		if state == "pending" {
			continue
		}
		nodes = append(nodes, kv{p.K, *st})
	}
	e.send("progress_state", omap{{"prompt_id", e.t.id}, {"nodes", nodes}})
}

func (e *execution) setProgress(id, state string, value, max float64) {
	v, ok := e.progress.get(id)
	if !ok {
		v = &omap{{"value", pyFloat(0)}, {"max", pyFloat(1)}, {"state", "pending"}, {"node_id", id}, {"prompt_id", e.t.id},
			{"display_node_id", id}, {"parent_node_id", nil}, {"real_node_id", id}}
		e.progress = append(e.progress, kv{id, v})
	}
	st := v.(*omap)
	st.set("state", state)
	st.set("value", pyFloat(value))
	st.set("max", pyFloat(max))
	e.progressState()
}

func metaOf(id string) omap {
	return omap{{"node_id", id}, {"display_node", id}, {"parent_node", nil}, {"real_node_id", id}}
}

// execute is execution.execute for one node.
func (e *execution) execute(id string) error {
	s := e.s
	n := e.t.prompt.nodes[id]
	sig := e.sigs[id]
	s.mu.Lock()
	c, cached := s.cache[sig]
	s.mu.Unlock()
	if cached {
		if e.t.clientID != "" {
			var out any
			if c.ui != nil {
				out = c.ui
				e.ui.set(id, c.ui)
				e.meta.set(id, metaOf(id))
			}
			e.send("executed", omap{{"node", id}, {"display_node", id}, {"output", out}, {"prompt_id", e.t.id}})
		}
		e.setProgress(id, "finished", 1, 1)
		e.values[id] = c.outputs
		return nil
	}

	e.setProgress(id, "running", 0, 1)
	if e.t.clientID != "" {
		s.mu.Lock()
		s.lastNode = id
		s.mu.Unlock()
		e.send("executing", omap{{"node", id}, {"display_node", id}, {"prompt_id", e.t.id}})
	}
	if s.opts.DropWebSocketAt == id {
		s.hub.closeAll()
	}
	if e.interrupted() {
		return errInterrupted
	}
	inputs := omap{}
	for _, in := range n.inputs {
		if link, ok := in.V.([]any); ok && len(link) == 2 {
			from, _ := link[0].(string)
			slot, _ := toFloat(link[1])
			vals := e.values[from]
			if vals == nil {
				s.mu.Lock()
				if c, ok := s.cache[e.sigs[from]]; ok {
					vals = c.outputs
				}
				s.mu.Unlock()
			}
			var v any
			if int(slot) < len(vals) {
				v = vals[int(slot)]
			}
			inputs = append(inputs, kv{in.K, v})
			continue
		}
		inputs = append(inputs, in)
	}
	if err := e.sleep(s.opts.NodeDelay); err != nil {
		return err
	}
	outputs, ui, err := e.runNode(n, inputs)
	if err != nil {
		if ne, ok := err.(*nodeError); ok {
			s.logf("!!! Exception during processing !!! %s", ne.msg)
		}
		return err
	}
	if s.opts.OutputFilename != "" {
		renameOutputs(ui, s.opts.OutputFilename)
	}
	if len(ui) > 0 {
		e.ui.set(id, ui)
		e.meta.set(id, metaOf(id))
		if e.t.clientID != "" {
			e.send("executed", omap{{"node", id}, {"display_node", id}, {"output", ui}, {"prompt_id", e.t.id}})
		}
	} else {
		ui = nil
	}
	e.setProgress(id, "finished", 1, 1)
	e.executed = append(e.executed, id)
	e.values[id] = outputs
	s.mu.Lock()
	s.cache[sig] = &cacheEntry{outputs: outputs, ui: ui}
	s.nodeRuns++
	s.mu.Unlock()
	return nil
}

func (e *execution) interrupted() bool {
	e.s.mu.Lock()
	defer e.s.mu.Unlock()
	return e.s.interrupted || e.s.ctx.Err() != nil
}

// sleep waits d, returning errInterrupted if an interrupt comes first.
func (e *execution) sleep(d time.Duration) error {
	deadline := time.Now().Add(d)
	for time.Now().Before(deadline) {
		if e.interrupted() {
			return errInterrupted
		}
		time.Sleep(min(10*time.Millisecond, time.Until(deadline)))
	}
	return nil
}

// fail is PromptExecutor.handle_execution_error.
func (e *execution) fail(id string, err error) {
	n := e.t.prompt.nodes[id]
	executed := make([]any, len(e.executed))
	for i, x := range e.executed {
		executed[i] = x
	}
	if errors.Is(err, errInterrupted) {
		e.s.logf("Processing interrupted")
		e.add("execution_interrupted", omap{{"prompt_id", e.t.id}, {"node_id", id}, {"node_type", n.class}, {"executed", executed}}, true)
		return
	}
	ne, ok := err.(*nodeError)
	if !ok {
		ne = &nodeError{typ: "Exception", msg: err.Error(), traceback: []any{}}
	}
	current := omap{}
	for _, in := range n.inputs {
		if link, ok := in.V.([]any); ok && len(link) == 2 {
			from, _ := link[0].(string)
			slot, _ := toFloat(link[1])
			var v any
			if vals := e.values[from]; int(slot) < len(vals) {
				v = vals[int(slot)]
			}
			current = append(current, kv{in.K, []any{formatValue(v)}})
			continue
		}
		current = append(current, kv{in.K, []any{formatValue(in.V)}})
	}
	var outs []any
	for _, id := range dfsOrder(e.t.prompt, e.t.outputs) {
		outs = append(outs, id)
	}
	e.add("execution_error", omap{
		{"prompt_id", e.t.id}, {"node_id", id}, {"node_type", n.class}, {"executed", executed},
		{"exception_message", ne.msg + "\n"}, {"exception_type", ne.typ}, {"traceback", ne.traceback},
		{"current_inputs", current}, {"current_outputs", outs},
	}, false)
}

// formatValue is execution.format_value: primitives as they are, anything
// else through str().
func formatValue(v any) any {
	switch x := v.(type) {
	case nil, int64, pyFloat, string, bool, json.Number:
		return x
	case images:
		return x.String()
	}
	return fmt.Sprint(v)
}

func (im images) String() string {
	return fmt.Sprintf("tensor(shape=[%d, %d, %d, 3], first=%v)", len(im.frames), im.h, im.w, im.frames[0])
}

func dfsOrder(p *prompt, outputs []string) []string {
	seen := map[string]bool{}
	var out []string
	stack := append([]string(nil), outputs...)
	for len(stack) > 0 {
		id := stack[0]
		stack = stack[1:]
		if seen[id] || p.nodes[id] == nil {
			continue
		}
		seen[id] = true
		out = append(out, id)
		for _, in := range p.nodes[id].inputs {
			if link, ok := in.V.([]any); ok && len(link) == 2 {
				if from, ok := link[0].(string); ok {
					stack = append(stack, from)
				}
			}
		}
	}
	return out
}

func renameOutputs(ui omap, name string) {
	for _, e := range ui {
		list, ok := e.V.([]any)
		if !ok {
			continue
		}
		for _, item := range list {
			if m, ok := item.(omap); ok {
				m.set("filename", name)
			}
		}
	}
}

// signatures is the cache key of every node: its class and literal inputs,
// with links replaced by the signature of what they point at.
func signatures(p *prompt) map[string]string {
	sigs := map[string]string{}
	var sig func(id string, depth int) string
	sig = func(id string, depth int) string {
		if s, ok := sigs[id]; ok {
			return s
		}
		n := p.nodes[id]
		if n == nil || depth > len(p.order) {
			return "?" + id
		}
		var b strings.Builder
		b.WriteString(n.class)
		for _, in := range n.inputs {
			b.WriteString("|" + in.K + "=")
			if link, ok := in.V.([]any); ok && len(link) == 2 {
				from, _ := link[0].(string)
				fmt.Fprintf(&b, "(%s)#%v", sig(from, depth+1), link[1])
				continue
			}
			j, _ := json.Marshal(in.V)
			b.Write(j)
		}
		sigs[id] = b.String()
		return sigs[id]
	}
	for _, id := range p.order {
		sig(id, 0)
	}
	return sigs
}

// runNode executes one node for real where the fake knows the class, and
// passes images through (or gives opaque values) where it does not.
func (e *execution) runNode(n *pnode, in omap) ([]any, omap, error) {
	s := e.s
	switch {
	case n.class == s.opts.FailClass:
		return nil, nil, &nodeError{typ: "RuntimeError", msg: fmt.Sprintf("comfytest: %s fails as configured", n.class),
			traceback: traceback(`  File "/opt/ComfyUI/custom_nodes/comfytest/nodes.py", line 12, in execute
    raise RuntimeError(f"comfytest: {cls.__name__} fails as configured")
`)}
	case n.class == s.opts.HangClass:
		return nil, nil, e.hang(n)
	}
	switch n.class {
	case "EmptyImage":
		c := int64Of(in, "color", 0)
		return []any{solid(int(int64Of(in, "width", 512)), int(int64Of(in, "height", 512)), int(int64Of(in, "batch_size", 1)),
			[3]uint8{uint8(c >> 16), uint8(c >> 8), uint8(c)})}, nil, nil
	case "ImageInvert":
		src := imagesOf(in, "image")
		im := images{w: src.w, h: src.h}
		for _, f := range src.frames {
			im.frames = append(im.frames, [3]uint8{255 - f[0], 255 - f[1], 255 - f[2]})
		}
		return []any{im}, nil, nil
	case "ImageBatch":
		// image2 is scaled to image1's size, then appended.
		a, b := imagesOf(in, "image1"), imagesOf(in, "image2")
		im := images{w: a.w, h: a.h, frames: append(append([][3]uint8{}, a.frames...), b.frames...)}
		return []any{im}, nil, nil
	case "SaveImage", "PreviewImage":
		return e.saveImages(n, in)
	case "SaveAnimatedWEBP":
		return e.saveWebP(in)
	case "SaveWEBM", "SaveVideo":
		// The real server this fake copies had no PyAV.
		return nil, nil, &nodeError{typ: "RuntimeError", msg: "PyAV is not installed", traceback: traceback(`  File "/opt/ComfyUI/comfy_extras/nodes_video.py", line 39, in execute
    container = av.open(os.path.join(full_output_folder, file), mode="w")
                ^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^
`)}
	}
	def := s.defs[n.class]
	outs := make([]any, len(def.outputs))
	for i, typ := range def.outputs {
		outs[i] = fmt.Sprintf("<%s %s:%d>", typ, n.id, i)
		if typ == "IMAGE" {
			for _, x := range in {
				if im, ok := x.V.(images); ok {
					outs[i] = im
					break
				}
			}
		}
	}
	return outs, nil, nil
}

func traceback(last string) []any {
	return []any{
		"  File \"/opt/ComfyUI/execution.py\", line 518, in execute\n    output_data, output_ui, has_subgraph, has_pending_tasks = await get_output_data(prompt_id, unique_id, obj, input_data_all, execution_block_cb=execution_block_cb, pre_execute_cb=pre_execute_cb, v3_data=v3_data)\n",
		"  File \"/opt/ComfyUI/execution.py\", line 329, in get_output_data\n    return_values = await _async_map_node_over_list(prompt_id, unique_id, obj, input_data_all, obj.FUNCTION, allow_interrupt=True, execution_block_cb=execution_block_cb, pre_execute_cb=pre_execute_cb, v3_data=v3_data)\n",
		"  File \"/opt/ComfyUI/execution.py\", line 291, in process_inputs\n    result = f(**inputs)\n",
		last,
	}
}

// hang runs until interrupted, reporting step progress as a sampler does.
func (e *execution) hang(n *pnode) error {
	const steps = 1000
	for i := 1; ; i++ {
		if e.interrupted() {
			return errInterrupted
		}
		v := float64(i % steps)
		e.send("progress", omap{{"value", int64(v)}, {"max", int64(steps)}, {"prompt_id", e.t.id}, {"node", n.id}})
		e.setProgress(n.id, "running", v, steps)
		time.Sleep(20 * time.Millisecond)
	}
}

func int64Of(in omap, name string, def int64) int64 {
	v, ok := in.get(name)
	if !ok {
		return def
	}
	f, ok := toFloat(v)
	if !ok {
		return def
	}
	return int64(f)
}

func imagesOf(in omap, name string) images {
	v, _ := in.get(name)
	if im, ok := v.(images); ok {
		return im
	}
	return solid(64, 64, 1, [3]uint8{128, 128, 128})
}

// saveTarget is folder_paths.get_save_image_path: the folder and the next
// free counter for a filename_prefix like "sdform/still".
func (s *Server) saveTarget(typ, prefix string) (dir, sub, base string, counter int, err error) {
	root := filepath.Join(s.dir, typ)
	sub, base = filepath.Split(filepath.ToSlash(prefix))
	sub = strings.TrimSuffix(sub, "/")
	dir = filepath.Join(root, sub)
	if dir != root && !strings.HasPrefix(dir, root+string(filepath.Separator)) {
		return "", "", "", 0, &nodeError{typ: "Exception", msg: "**** ERROR: Saving image outside the output folder is not allowed.\n full_output_folder: " + dir + "\n         output_dir: " + root + "\n         commonpath: " + root,
			traceback: traceback("  File \"/opt/ComfyUI/folder_paths.py\", line 450, in get_save_image_path\n    raise Exception(err)\n")}
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", "", "", 0, err
	}
	re := regexp.MustCompile(`^` + regexp.QuoteMeta(base) + `_(\d+)_`)
	counter = 1
	entries, _ := os.ReadDir(dir)
	for _, de := range entries {
		if m := re.FindStringSubmatch(de.Name()); m != nil {
			if c, err := strconv.Atoi(m[1]); err == nil && c >= counter {
				counter = c + 1
			}
		}
	}
	return dir, sub, base, counter, nil
}

func (e *execution) saveImages(n *pnode, in omap) ([]any, omap, error) {
	im := imagesOf(in, "images")
	typ, prefix := "output", "ComfyUI"
	if p, ok := in.get("filename_prefix"); ok {
		prefix = pyStr(p)
	}
	if n.class == "PreviewImage" {
		typ = "temp"
		prefix = "ComfyUI_temp_" + newHex()[:5]
	}
	dir, sub, base, counter, err := e.s.saveTarget(typ, prefix)
	if err != nil {
		return nil, nil, err
	}
	promptJSON, _ := json.Marshal(e.t.prompt.marshal())
	var items []any
	for i, rgb := range im.frames {
		data, err := encodePNG(im.w, im.h, rgb, promptJSON)
		if err != nil {
			return nil, nil, err
		}
		name := fmt.Sprintf("%s_%05d_.png", base, counter+i)
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o644); err != nil {
			return nil, nil, err
		}
		items = append(items, omap{{"filename", name}, {"subfolder", sub}, {"type", typ}})
	}
	return []any{}, omap{{"images", items}}, nil
}

func (e *execution) saveWebP(in omap) ([]any, omap, error) {
	im := imagesOf(in, "images")
	prefix := "ComfyUI"
	if p, ok := in.get("filename_prefix"); ok {
		prefix = pyStr(p)
	}
	fps := 6.0
	if v, ok := in.get("fps"); ok {
		fps, _ = toFloat(v)
	}
	dir, sub, base, counter, err := e.s.saveTarget("output", prefix)
	if err != nil {
		return nil, nil, err
	}
	name := fmt.Sprintf("%s_%05d_.webp", base, counter)
	promptJSON, _ := json.Marshal(e.t.prompt.marshal())
	if err := os.WriteFile(filepath.Join(dir, name), encodeAnimatedWebP(im, fps, promptJSON), 0o644); err != nil {
		return nil, nil, err
	}
	// ComfyUI reports animated: true whatever libwebp made of the frames.
	return []any{}, omap{{"images", []any{omap{{"filename", name}, {"subfolder", sub}, {"type", "output"}}}}, {"animated", []any{true}}}, nil
}

// execList is comfy_execution.graph.ExecutionList: nodes staged in the
// order ComfyUI picks them (output nodes first once ready).
type execList struct {
	s          *Server
	p          *prompt
	cached     func(string) bool
	pending    []string
	blockCount map[string]int
	blocking   map[string][]string
}

func newExecList(s *Server, p *prompt, cached func(string) bool) *execList {
	return &execList{s: s, p: p, cached: cached, blockCount: map[string]int{}, blocking: map[string][]string{}}
}

func (l *execList) isPending(id string) bool { return slices.Contains(l.pending, id) }

func (l *execList) addNode(id string) {
	stack := []string{id}
	type link struct{ from, to string }
	var links []link
	for len(stack) > 0 {
		cur := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		if l.isPending(cur) {
			continue
		}
		l.pending = append(l.pending, cur)
		l.blockCount[cur] = 0
		l.blocking[cur] = nil
		for _, in := range l.p.nodes[cur].inputs {
			if lk, ok := in.V.([]any); ok && len(lk) == 2 {
				from, _ := lk[0].(string)
				if !l.cached(from) {
					stack = append(stack, from)
				}
				links = append(links, link{from, cur})
			}
		}
	}
	for _, lk := range links {
		if l.cached(lk.from) {
			continue
		}
		l.addNode(lk.from)
		if !slices.Contains(l.blocking[lk.from], lk.to) {
			l.blocking[lk.from] = append(l.blocking[lk.from], lk.to)
			l.blockCount[lk.to]++
		}
	}
}

func (l *execList) empty() bool { return len(l.pending) == 0 }

func (l *execList) isOutput(id string) bool { return l.s.defs[l.p.nodes[id].class].outputNode }

// stage is ux_friendly_pick_node over the ready nodes.
func (l *execList) stage() string {
	var ready []string
	for _, id := range l.pending {
		if l.blockCount[id] == 0 {
			ready = append(ready, id)
		}
	}
	if len(ready) == 0 {
		return ""
	}
	for _, id := range ready {
		if l.isOutput(id) {
			return id
		}
	}
	for _, id := range ready {
		for _, b := range l.blocking[id] {
			if l.isOutput(b) {
				return id
			}
		}
	}
	for _, id := range ready {
		for _, b := range l.blocking[id] {
			for _, b1 := range l.blocking[b] {
				if l.isOutput(b1) {
					return id
				}
			}
		}
	}
	return ready[0]
}

func (l *execList) complete(id string) {
	for i, p := range l.pending {
		if p == id {
			l.pending = append(l.pending[:i], l.pending[i+1:]...)
			break
		}
	}
	for _, to := range l.blocking[id] {
		l.blockCount[to]--
	}
	delete(l.blocking, id)
}
