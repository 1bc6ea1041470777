package comfytest

import (
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
)

// volatile keys hold values that differ between any two runs of a real
// server (ids, clocks, the host's memory); their types are still compared.
var volatile = map[string]bool{
	"prompt_id": true, "timestamp": true, "sid": true, "create_time": true, "client_id": true,
	"ram_total": true, "ram_free": true, "vram_total": true, "vram_free": true, "python_version": true,
	"argv": true, "name": true, "traceback": true, "current_inputs": true, "current_outputs": true,
}

// compareJSON reports every difference in shape between want and got:
// JSON types, object keys, array lengths, and values unless volatile.
func compareJSON(path string, want, got any, diffs *[]string) {
	add := func(format string, args ...any) {
		*diffs = append(*diffs, path+": "+fmt.Sprintf(format, args...))
	}
	if kind(want) != kind(got) {
		add("type %s, want %s (got %s, want %s)", kind(got), kind(want), short(got), short(want))
		return
	}
	key := path[strings.LastIndexAny(path, ".]")+1:]
	switch w := want.(type) {
	case map[string]any:
		g := got.(map[string]any)
		for k := range w {
			if _, ok := g[k]; !ok {
				add("missing key %q", k)
			}
		}
		for k := range g {
			if _, ok := w[k]; !ok {
				add("extra key %q", k)
			}
		}
		for k, wv := range w {
			if gv, ok := g[k]; ok {
				if volatile[k] {
					if kind(wv) != kind(gv) {
						add("%s: type %s, want %s", k, kind(gv), kind(wv))
					}
					continue
				}
				compareJSON(path+"."+k, wv, gv, diffs)
			}
		}
	case []any:
		g := got.([]any)
		// A history entry's outputs to execute come from a Python set:
		// their order varies from run to run of a real server.
		if strings.HasSuffix(path, ".prompt[4]") {
			w, g = sortedStrings(w), sortedStrings(g)
		}
		if len(w) != len(g) {
			add("%d elements, want %d (got %s, want %s)", len(g), len(w), short(got), short(want))
			return
		}
		for i := range w {
			compareJSON(fmt.Sprintf("%s[%d]", path, i), w[i], g[i], diffs)
		}
	default:
		// A history entry's "prompt" is [number, prompt_id, …].
		if volatile[key] || strings.HasSuffix(path, ".prompt[1]") {
			return
		}
		if fmt.Sprint(numeric(want)) != fmt.Sprint(numeric(got)) {
			add("%s, want %s", short(got), short(want))
		}
	}
}

func sortedStrings(list []any) []any {
	out := append([]any(nil), list...)
	sort.Slice(out, func(i, j int) bool { return fmt.Sprint(out[i]) < fmt.Sprint(out[j]) })
	return out
}

func numeric(v any) any {
	if n, ok := v.(json.Number); ok {
		f, _ := n.Float64()
		return f
	}
	return v
}

func kind(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case bool:
		return "bool"
	case json.Number:
		return "number"
	case string:
		return "string"
	case []any:
		return "array"
	case map[string]any:
		return "object"
	}
	return fmt.Sprintf("%T", v)
}

func short(v any) string {
	b, _ := json.Marshal(v)
	if len(b) > 120 {
		return string(b[:120]) + "…"
	}
	return string(b)
}

func decode(t *testing.T, b []byte) any {
	t.Helper()
	d := json.NewDecoder(bytes.NewReader(b))
	d.UseNumber()
	var v any
	if err := d.Decode(&v); err != nil {
		t.Fatalf("decode %q: %v", short(string(b)), err)
	}
	return v
}

type replay struct {
	t    *testing.T
	base string
	want map[string]any
	errs []string
}

func (r *replay) check(name string, want, got any) {
	var diffs []string
	compareJSON(name, want, got, &diffs)
	r.errs = append(r.errs, diffs...)
}

func (r *replay) do(method, path string, body any) (int, http.Header, []byte) {
	r.t.Helper()
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			r.t.Fatal(err)
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, r.base+path, rd)
	if err != nil {
		r.t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		r.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		r.t.Fatal(err)
	}
	return resp.StatusCode, resp.Header, b
}

// pair is a transcript row [status, body].
func (r *replay) pair(key string) (int, any) {
	row := r.want[key].([]any)
	st, _ := row[0].(json.Number).Int64()
	return int(st), row[1]
}

func (r *replay) expectRow(key, method, path string, body any) any {
	r.t.Helper()
	wantStatus, wantBody := r.pair(key)
	st, _, b := r.do(method, path, body)
	if st != wantStatus {
		r.errs = append(r.errs, fmt.Sprintf("%s: status %d, want %d (body %s)", key, st, wantStatus, short(string(b))))
		return nil
	}
	got := decode(r.t, b)
	r.check(key, wantBody, got)
	return got
}

// readUntil reads WebSocket messages until one of type stop (after n such
// stops), failing on timeout.
func readUntil(t *testing.T, ctx context.Context, c *websocket.Conn, stops ...string) []any {
	t.Helper()
	var msgs []any
	for len(stops) > 0 {
		_, data, err := c.Read(ctx)
		if err != nil {
			t.Fatalf("read WebSocket after %d messages (waiting for %s): %v", len(msgs), stops[0], err)
		}
		m := decode(t, data)
		msgs = append(msgs, m)
		if m.(map[string]any)["type"] == stops[0] {
			stops = stops[1:]
		}
	}
	return msgs
}

func dial(t *testing.T, ctx context.Context, base, clientID string) *websocket.Conn {
	t.Helper()
	u := "ws" + strings.TrimPrefix(base, "http") + "/ws?clientId=" + url.QueryEscape(clientID)
	c, _, err := websocket.Dial(ctx, u, nil)
	if err != nil {
		t.Fatal(err)
	}
	c.SetReadLimit(16 << 20)
	t.Cleanup(func() { c.CloseNow() })
	return c
}

// historyPrompt returns the API prompt of the n-th history_all entry, in
// the transcript's order of prompt numbers.
func historyPrompts(want map[string]any) (ids []string, prompts []any) {
	h := want["history_all"].(map[string]any)
	for id := range h {
		ids = append(ids, id)
	}
	num := func(id string) int64 {
		n, _ := h[id].(map[string]any)["prompt"].([]any)[0].(json.Number).Int64()
		return n
	}
	sort.Slice(ids, func(i, j int) bool { return num(ids[i]) < num(ids[j]) })
	for _, id := range ids {
		prompts = append(prompts, h[id].(map[string]any)["prompt"].([]any)[2])
	}
	return ids, prompts
}

// TestTranscriptReplay sends every request of the transcript, in its order,
// to a fresh fake and compares status codes, JSON shapes and values (except
// volatile ones) and WebSocket sequences (types in order, data keys).
//
// With SDFORM_COMFYUI_URL set, the same requests go to that server instead:
// a fresh real ComfyUI 0.8.0 started as the transcript says must pass too,
// which checks the requests reconstructed here.
func TestTranscriptReplay(t *testing.T) {
	base := os.Getenv("SDFORM_COMFYUI_URL")
	if base == "" {
		_, base = Start(t, Options{})
	}
	want := decode(t, Transcript080).(map[string]any)
	r := &replay{t: t, base: base, want: want}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	st, _, b := r.do("GET", "/system_stats", nil)
	if st != 200 {
		t.Fatalf("/system_stats: %d", st)
	}
	r.check("system_stats", want["system_stats"], decode(t, b))

	st, _, b = r.do("GET", "/object_info", nil)
	if n := len(decode(t, b).(map[string]any)); st != 200 || fmt.Sprint(n) != fmt.Sprint(want["object_info_count"]) {
		r.errs = append(r.errs, fmt.Sprintf("object_info: status %d, %d nodes, want 200 and %v", st, n, want["object_info_count"]))
	}
	for key := range want {
		if path, ok := strings.CutPrefix(key, "get "); ok {
			r.expectRow(key, "GET", path, nil)
		}
	}
	for node, info := range want["object_info_samples"].(map[string]any) {
		st, _, b := r.do("GET", "/object_info/"+node, nil)
		if st != 200 {
			r.errs = append(r.errs, fmt.Sprintf("object_info/%s: status %d", node, st))
			continue
		}
		r.check("object_info_samples."+node, map[string]any{node: info}, decode(t, b))
	}
	_, _, b = r.do("GET", "/queue", nil)
	r.check("queue_empty", want["queue_empty"], decode(t, b))

	// The transcript keeps answers, not request bodies; these are the
	// requests its answers and the server log describe.
	empty := func(w, h int) map[string]any {
		return map[string]any{"class_type": "EmptyImage", "inputs": map[string]any{"width": w, "height": h, "batch_size": 1, "color": 0}}
	}
	r.expectRow("prompt_bad_class", "POST", "/prompt", map[string]any{"prompt": map[string]any{"1": map[string]any{"class_type": "NoSuchNode", "inputs": map[string]any{}}}})
	r.expectRow("prompt_missing_input", "POST", "/prompt", map[string]any{"prompt": map[string]any{
		"1": empty(64, 48),
		"3": map[string]any{"class_type": "SaveImage", "inputs": map[string]any{"filename_prefix": "sdform/x"}},
	}})
	r.expectRow("prompt_bad_value", "POST", "/prompt", map[string]any{"prompt": map[string]any{
		"1": empty(-5, 48),
		"3": map[string]any{"class_type": "SaveImage", "inputs": map[string]any{"images": []any{"1", 0}, "filename_prefix": "sdform/x"}},
	}})
	r.expectRow("prompt_no_output", "POST", "/prompt", map[string]any{"prompt": map[string]any{"1": empty(64, 48)}})

	// A UI-format workflow posted as the prompt: its first member is an int.
	ui := json.RawMessage(`{"last_node_id": 2, "last_link_id": 1, "nodes": [{"id": 1, "type": "EmptyImage", "widgets_values": [64, 48, 1, 0]}], "links": [], "version": 0.4}`)
	wantStatus, wantBody := r.pair("prompt_ui_format")
	st, hdr, b := r.do("POST", "/prompt", map[string]any{"prompt": ui})
	wb := wantBody.(map[string]any)
	if st != wantStatus || string(b) != wb["non_json_body"] || hdr.Get("Content-Type") != wb["content_type"] {
		r.errs = append(r.errs, fmt.Sprintf("prompt_ui_format: %d %q %q, want %d %q %q", st, hdr.Get("Content-Type"), b, wantStatus, wb["content_type"], wb["non_json_body"]))
	}

	ids, prompts := historyPrompts(want)
	if len(ids) != 3 {
		t.Fatalf("transcript history has %d entries, want 3", len(ids))
	}
	clientA := "232f6455-6e34-4a10-8525-52ea469b511e"
	ws := dial(t, ctx, base, clientA)
	msgs := readUntil(t, ctx, ws, "status")
	good := r.expectRow("prompt_good", "POST", "/prompt", map[string]any{"prompt": prompts[0], "client_id": clientA})
	msgs = append(msgs, readUntil(t, ctx, ws, "execution_success", "executing")...)
	if last := msgs[len(msgs)-1].(map[string]any); last["data"].(map[string]any)["node"] != nil {
		t.Fatalf("run ended with %s, want executing with node null", short(last))
	}
	again := r.expectRow("prompt_again", "POST", "/prompt", map[string]any{"prompt": prompts[1], "client_id": clientA})
	msgs = append(msgs, readUntil(t, ctx, ws, "execution_success")...)
	r.compareWS("ws_messages", want["ws_messages"].([]any), msgs)

	clientB := "7fba8457-d99b-43d9-83f5-79a53fd364c5"
	wsB := dial(t, ctx, base, clientB)
	msgsB := readUntil(t, ctx, wsB, "status")
	fail := r.expectRow("prompt_fail", "POST", "/prompt", map[string]any{"prompt": prompts[2], "client_id": clientB})
	msgsB = append(msgsB, readUntil(t, ctx, wsB, "execution_error")...)
	r.compareWS("ws_messages_error", want["ws_messages_error"].([]any), msgsB)

	// history_all, with the fake's prompt ids in place of the real ones.
	waitIdle(t, ctx, r)
	gotIDs := []string{}
	for _, v := range []any{good, again, fail} {
		if m, ok := v.(map[string]any); ok {
			gotIDs = append(gotIDs, m["prompt_id"].(string))
		}
	}
	st, _, b = r.do("GET", "/history", nil)
	hist := decode(t, b).(map[string]any)
	if st != 200 || len(gotIDs) != 3 || len(hist) != 3 {
		t.Fatalf("history: status %d, %d entries, %d prompts posted", st, len(hist), len(gotIDs))
	}
	for i, id := range ids {
		r.check("history_all."+id, want["history_all"].(map[string]any)[id], hist[gotIDs[i]])
	}
	_, _, b = r.do("GET", "/queue", nil)
	r.check("queue_after", want["queue_after"], decode(t, b))

	for i, v := range want["view"].([]any) {
		row := v.(map[string]any)
		item := row["item"].(map[string]any)
		q := url.Values{"filename": {item["filename"].(string)}, "subfolder": {item["subfolder"].(string)}, "type": {item["type"].(string)}}
		st, hdr, b := r.do("GET", "/view?"+q.Encode(), nil)
		magic, _ := hex.DecodeString(row["magic"].(string))
		wantBytes, _ := row["bytes"].(json.Number).Int64()
		switch {
		case fmt.Sprint(st) != fmt.Sprint(row["status"]) || hdr.Get("Content-Type") != row["content_type"]:
			r.errs = append(r.errs, fmt.Sprintf("view[%d] %s: %d %s, want %v %v", i, item["filename"], st, hdr.Get("Content-Type"), row["status"], row["content_type"]))
		case len(b) < len(magic) || !bytes.Equal(b[:4], magic[:4]) || !bytes.Equal(b[8:len(magic)], magic[8:]):
			r.errs = append(r.errs, fmt.Sprintf("view[%d] %s: magic %x, want %x", i, item["filename"], b[:min(len(b), 16)], magic))
		case int64(len(b)) < wantBytes/4 || int64(len(b)) > wantBytes*4:
			r.errs = append(r.errs, fmt.Sprintf("view[%d] %s: %d bytes, real server wrote %d", i, item["filename"], len(b), wantBytes))
		}
	}
	for key := range want {
		path, ok := strings.CutPrefix(key, "probe ")
		if !ok {
			continue
		}
		wantStatus, wantBody := r.pair(key)
		st, _, b := r.do("GET", path, nil)
		var ok2 bool
		switch wb := wantBody.(type) {
		case string:
			ok2 = string(b) == wb
		case json.Number:
			ok2 = fmt.Sprint(len(b)) == wb.String()
		}
		if st != wantStatus || !ok2 {
			r.errs = append(r.errs, fmt.Sprintf("%s: %d %q, want %d %v", key, st, b, wantStatus, wantBody))
		}
	}
	for _, e := range r.errs {
		t.Error(e)
	}
}

// compareWS compares message types in order and each message's data
// (keys, types, and values except volatile ones).
func (r *replay) compareWS(name string, want, got []any) {
	if len(got) < len(want) {
		r.errs = append(r.errs, fmt.Sprintf("%s: %d messages, want %d", name, len(got), len(want)))
	}
	var wt, gt []string
	for _, m := range want {
		wt = append(wt, m.(map[string]any)["type"].(string))
	}
	for _, m := range got[:min(len(got), len(want))] {
		gt = append(gt, m.(map[string]any)["type"].(string))
	}
	if strings.Join(wt, " ") != strings.Join(gt, " ") {
		r.errs = append(r.errs, fmt.Sprintf("%s: types\n got %v\nwant %v", name, gt, wt))
		return
	}
	// In a fully cached run the output nodes are replayed in the order of
	// a Python set, which varies between runs of a real server: compare
	// that stretch as a whole (which nodes, what outputs, the final
	// progress) rather than message by message.
	cached := cachedStretch(want)
	for i := range want {
		if cached[i] {
			continue
		}
		r.check(fmt.Sprintf("%s[%d](%s)", name, i, wt[i]), want[i], got[i])
	}
	if len(cached) > 0 {
		r.check(name+"(cached run)", summarizeCached(want, cached), summarizeCached(got, cached))
	}
}

// cachedStretch marks the executed/progress_state messages that follow an
// execution_cached naming nodes, up to the run's end.
func cachedStretch(msgs []any) map[int]bool {
	out := map[int]bool{}
	in := false
	for i, m := range msgs {
		mm := m.(map[string]any)
		switch mm["type"] {
		case "execution_cached":
			nodes, _ := mm["data"].(map[string]any)["nodes"].([]any)
			in = len(nodes) > 0
		case "executed", "progress_state":
			if in {
				out[i] = true
			}
		default:
			in = false
		}
	}
	return out
}

// summarizeCached is what a cached stretch must show whatever its order:
// each node's replayed output, and the last progress state.
func summarizeCached(msgs []any, idx map[int]bool) map[string]any {
	executed := map[string]any{}
	var last any
	for i := range msgs {
		if !idx[i] {
			continue
		}
		d := msgs[i].(map[string]any)["data"].(map[string]any)
		switch msgs[i].(map[string]any)["type"] {
		case "executed":
			executed[fmt.Sprint(d["node"])] = d["output"]
		case "progress_state":
			last = d["nodes"]
		}
	}
	return map[string]any{"executed": executed, "last_progress": last}
}

func waitIdle(t *testing.T, ctx context.Context, r *replay) {
	t.Helper()
	for ctx.Err() == nil {
		_, _, b := r.do("GET", "/prompt", nil)
		var q struct {
			ExecInfo struct {
				QueueRemaining int `json:"queue_remaining"`
			} `json:"exec_info"`
		}
		if json.Unmarshal(b, &q) == nil && q.ExecInfo.QueueRemaining == 0 {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatal("queue did not drain")
}
