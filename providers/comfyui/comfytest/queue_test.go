package comfytest

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"
)

// TestQueueDelete checks POST /queue {"delete": [...]} against server.py's
// post_queue: a pending prompt is removed (and every client gets a status
// message with the new queue size), a running one is left running, the
// answer is 200 with no body whatever was deleted, and a body that is not
// JSON is a 500.
func TestQueueDelete(t *testing.T) {
	_, base := Start(t, Options{HangClass: "ImageInvert"})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	post := func(path, body string) (int, []byte) {
		t.Helper()
		resp, err := http.Post(base+path, "application/json", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, b
	}
	submit := func(prefix string) string {
		t.Helper()
		st, b := post("/prompt", `{"client_id": "x", "prompt": {
			"1": {"class_type": "EmptyImage", "inputs": {"width": 64, "height": 64, "batch_size": 1, "color": 0}},
			"2": {"class_type": "ImageInvert", "inputs": {"image": ["1", 0]}},
			"3": {"class_type": "SaveImage", "inputs": {"images": ["2", 0], "filename_prefix": "`+prefix+`"}}}}`)
		var r struct {
			PromptID string `json:"prompt_id"`
		}
		if st != 200 || json.Unmarshal(b, &r) != nil {
			t.Fatalf("POST /prompt: %d %s", st, b)
		}
		return r.PromptID
	}
	queue := func() (running, pending []string) {
		var q struct {
			Running [][]any `json:"queue_running"`
			Pending [][]any `json:"queue_pending"`
		}
		resp, err := http.Get(base + "/queue")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		json.NewDecoder(resp.Body).Decode(&q)
		for _, it := range q.Running {
			running = append(running, it[1].(string))
		}
		for _, it := range q.Pending {
			pending = append(pending, it[1].(string))
		}
		return running, pending
	}
	first, second := submit("a"), submit("b")
	for i := 0; i < 500; i++ {
		if r, _ := queue(); len(r) == 1 {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	// A client connected now gets the queue's status, then one per change.
	ws := dial(t, ctx, base, "watcher")
	readUntil(t, ctx, ws, "status")

	st, body := post("/queue", `{"delete": ["`+first+`", "`+second+`", "no-such-prompt"]}`)
	if st != 200 || len(body) != 0 {
		t.Errorf("POST /queue delete: %d %q, want 200 with no body", st, body)
	}
	running, pending := queue()
	if len(running) != 1 || running[0] != first || len(pending) != 0 {
		t.Errorf("queue after the delete: running %v, pending %v; want [%s] running and none pending", running, pending, first)
	}
	msgs := readUntil(t, ctx, ws, "status")
	last, _ := json.Marshal(msgs[len(msgs)-1])
	if !bytes.Contains(last, []byte(`"queue_remaining":1`)) {
		t.Errorf("status after the delete: %s, want queue_remaining 1", last)
	}
	if st, _ := post("/queue", "not json"); st != 500 {
		t.Errorf("POST /queue with a body that is not JSON: %d, want 500", st)
	}
	post("/interrupt", "{}")
}
