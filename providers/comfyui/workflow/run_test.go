package workflow

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sdform/sdform/providers/comfyui/comfytest"
)

func loadPrompt(t *testing.T, name string) Prompt {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	p, g, err := Parse(b)
	if err != nil || g != nil {
		t.Fatalf("parse %s: %v (UI graph %v)", name, err, g != nil)
	}
	return p
}

func newClient(t *testing.T, base string) *Client {
	t.Helper()
	c, err := NewClient(base, nil)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestRunSuccessAndCachedRerun(t *testing.T) {
	fake, base := comfytest.Start(t, comfytest.Options{})
	c := newClient(t, base)
	ctx := context.Background()
	st, err := c.WaitReady(ctx, 5*time.Second)
	if err != nil || st.ComfyUIVersion != "0.8.0" || len(st.Devices) != 1 {
		t.Fatalf("WaitReady = %+v, %v", st, err)
	}
	p := loadPrompt(t, "smoke-api.json")
	var events []string
	res, err := c.Run(ctx, p, RunOptions{Timeout: 10 * time.Second, Events: func(e Event) { events = append(events, e.Type+":"+e.Node) }})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Outputs) != 7 || res.ViaHistory || len(res.Cached) != 0 || strings.Join(res.Executed, ",") != "1,4,2,3" {
		t.Fatalf("first run: %+v", res)
	}
	dir := t.TempDir()
	files, err := c.Fetch(ctx, res.Outputs, dir)
	if err != nil {
		t.Fatal(err)
	}
	kinds := map[string]int{}
	for _, f := range files {
		kinds[f.Kind+"/"+f.Format]++
		if !strings.HasPrefix(f.Path, dir) || len(f.SHA256) != 64 || f.Bytes < 100 {
			t.Errorf("file %+v", f)
		}
	}
	// Six identical frames: libwebp (and the fake) write a still WebP.
	if kinds["image/png"] != 6 || kinds["image/webp"] != 1 {
		t.Errorf("kinds = %v", kinds)
	}
	if err := (Expect{Kind: KindImage, MinCount: 7, MinBytes: 100}).Check(files); err != nil {
		t.Error(err)
	}
	if err := (Expect{Kind: KindVideo}).Check(files); err == nil || !strings.Contains(err.Error(), "6 image (png") {
		t.Errorf("video expectation: %v", err)
	}
	ran := fake.Executed()

	again, err := c.Run(ctx, p.Clone(), RunOptions{Timeout: 10 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(again.Cached, ",") != "1,2,3,4" || len(again.Executed) != 0 || len(again.Outputs) != 7 || fake.Executed() != ran {
		t.Errorf("re-run: cached %v executed %v outputs %d, nodes run %d→%d", again.Cached, again.Executed, len(again.Outputs), ran, fake.Executed())
	}
	if !contains(events, "executing:3") || !contains(events, "execution_cached:") {
		t.Errorf("events = %v", events)
	}
}

// TestRunAnimatedFrames batches three red and two blue frames: the
// animated WebP keeps two frames (identical neighbours merge).
func TestRunAnimatedFrames(t *testing.T) {
	_, base := comfytest.Start(t, comfytest.Options{})
	c := newClient(t, base)
	res, err := c.Run(context.Background(), loadPrompt(t, "animated-api.json"), RunOptions{Timeout: 10 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	files, err := c.Fetch(context.Background(), res.Outputs, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	if len(files) != 1 || files[0].Kind != KindAnimated || files[0].Format != "webp" || files[0].Frames != 2 {
		t.Fatalf("files = %+v", files)
	}
	if err := (Expect{Kind: KindAnimated, Frames: 2}).Check(files); err != nil {
		t.Error(err)
	}
}

func contains(list []string, s string) bool {
	for _, e := range list {
		if e == s {
			return true
		}
	}
	return false
}

func TestRunExecutionError(t *testing.T) {
	_, base := comfytest.Start(t, comfytest.Options{})
	c := newClient(t, base)
	p := Prompt{
		"1": {ClassType: "EmptyImage", Inputs: map[string]any{"width": 64, "height": 48, "batch_size": 4, "color": 255}},
		"2": {ClassType: "SaveWEBM", Inputs: map[string]any{"images": newLink("1", 0), "filename_prefix": "sdform/fail", "codec": "vp9", "fps": 8.0, "crf": 32.0}},
	}
	_, err := c.Run(context.Background(), p, RunOptions{Timeout: 10 * time.Second})
	var ee *ExecutionError
	if !errors.As(err, &ee) {
		t.Fatalf("err = %v, want an ExecutionError", err)
	}
	msg := err.Error()
	for _, want := range []string{"node 2 (SaveWEBM) raised RuntimeError: PyAV is not installed", "Traceback (last 3 of 4 frames)", "nodes_video.py\", line 39", "av.open("} {
		if !strings.Contains(msg, want) {
			t.Errorf("error lacks %q:\n%s", want, msg)
		}
	}
	if strings.Contains(msg, "line 518") {
		t.Errorf("error shows more than the last frames:\n%s", msg)
	}
}

func TestRunRejected(t *testing.T) {
	_, base := comfytest.Start(t, comfytest.Options{})
	c := newClient(t, base)
	p := loadPrompt(t, "smoke-api.json")
	p["1"].Inputs["width"] = -5
	_, err := c.Run(context.Background(), p, RunOptions{Timeout: 10 * time.Second})
	var rej *RejectedError
	if !errors.As(err, &rej) || len(rej.Nodes) != 1 || rej.Nodes[0].ID != "1" || rej.Nodes[0].Errors[0].Input != "width" {
		t.Fatalf("err = %#v", err)
	}
	if !strings.Contains(err.Error(), "node 1 (EmptyImage): Value -5 smaller than min of 1: width") {
		t.Errorf("message:\n%s", err)
	}
}

func TestRunTimeoutInterrupts(t *testing.T) {
	fake, base := comfytest.Start(t, comfytest.Options{HangClass: "ImageInvert"})
	c := newClient(t, base)
	p := loadPrompt(t, "smoke-api.json")
	start := time.Now()
	_, err := c.Run(context.Background(), p, RunOptions{Timeout: 600 * time.Millisecond})
	var te *TimeoutError
	if !errors.As(err, &te) {
		t.Fatalf("err = %v, want a TimeoutError", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("timeout took %s", d)
	}
	if te.Node != "2" || te.Class != "ImageInvert" || te.Progress == "" || te.StopErr != nil || te.Stopped != Interrupted {
		t.Errorf("timeout error = %+v", te)
	}
	if got := fake.Interrupts(); len(got) != 1 || got[0] != te.PromptID {
		t.Errorf("interrupts = %v, want [%s]", got, te.PromptID)
	}
	// The server stopped the run: its history says interrupted.
	deadline := time.Now().Add(5 * time.Second)
	for {
		e, err := c.History(context.Background(), te.PromptID)
		if err == nil && e != nil {
			r := &run{id: te.PromptID, res: &Result{}}
			var ie *InterruptedError
			if err := r.fromHistory(e); !errors.As(err, &ie) || ie.NodeID != "2" {
				t.Errorf("history says %v, want interrupted at node 2", err)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the interrupted run never reached history")
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestRunWebSocketDropFallsBackToHistory(t *testing.T) {
	fake, base := comfytest.Start(t, comfytest.Options{DropWebSocketAt: "2", NodeDelay: 150 * time.Millisecond})
	c := newClient(t, base)
	var dropped bool
	res, err := c.Run(context.Background(), loadPrompt(t, "smoke-api.json"), RunOptions{
		Timeout: 10 * time.Second, PollInterval: 20 * time.Millisecond,
		Events: func(e Event) {
			if e.Type == "websocket_dropped" {
				dropped = true
			}
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	if !res.ViaHistory || !dropped || len(res.Outputs) != 7 {
		t.Errorf("result %+v dropped=%v", res, dropped)
	}
	polls := 0
	for _, r := range fake.Requests() {
		if strings.HasPrefix(r, "GET /history/") {
			polls++
		}
	}
	if polls < 2 {
		t.Errorf("%d history polls, want several while the run went on", polls)
	}
}

func TestWaitReadyTimesOut(t *testing.T) {
	_, base := comfytest.Start(t, comfytest.Options{NeverReady: true})
	c := newClient(t, base)
	start := time.Now()
	_, err := c.WaitReady(context.Background(), 700*time.Millisecond)
	if err == nil || !strings.Contains(err.Error(), "not ready after") || !strings.Contains(err.Error(), base) {
		t.Fatalf("err = %v", err)
	}
	if d := time.Since(start); d < 600*time.Millisecond || d > 5*time.Second {
		t.Errorf("gave up after %s", d)
	}
	// A server that becomes ready in time is waited for.
	_, base2 := comfytest.Start(t, comfytest.Options{ReadyAfter: 400 * time.Millisecond})
	if _, err := newClient(t, base2).WaitReady(context.Background(), 5*time.Second); err != nil {
		t.Fatal(err)
	}
}

func TestFetchRefusesEscapingNames(t *testing.T) {
	_, base := comfytest.Start(t, comfytest.Options{OutputFilename: "../../x.png"})
	c := newClient(t, base)
	res, err := c.Run(context.Background(), loadPrompt(t, "smoke-api.json"), RunOptions{Timeout: 10 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	root := t.TempDir()
	dir := filepath.Join(root, "out")
	_, err = c.Fetch(context.Background(), res.Outputs, dir)
	if err == nil || !strings.Contains(err.Error(), "could write outside the output folder") {
		t.Fatalf("err = %v", err)
	}
	if _, err := os.Stat(filepath.Join(root, "x.png")); !os.IsNotExist(err) {
		t.Errorf("x.png written outside: %v", err)
	}
	for name, ref := range map[string]OutputRef{
		"dotdot subfolder": {Filename: "a.png", Subfolder: "../up", Type: "output"},
		"absolute":         {Filename: "a.png", Subfolder: "/etc", Type: "output"},
		"backslash":        {Filename: `..\a.png`, Type: "output"},
		"bad type":         {Filename: "a.png", Type: "elsewhere"},
	} {
		if _, err := LocalName(ref); err == nil {
			t.Errorf("%s: LocalName(%+v) accepted", name, ref)
		}
	}
	if got, err := LocalName(OutputRef{Filename: "a.png", Subfolder: "x/y", Type: "temp"}); err != nil || got != filepath.Join("temp", "x", "y", "a.png") {
		t.Errorf("LocalName = %q, %v", got, err)
	}
}

// TestFetchRefusesCollidingNames fetches a temp file and an output in
// subfolder "temp" of the same name: both map to temp/a.png, and the
// second is refused rather than overwriting the first.
func TestFetchRefusesCollidingNames(t *testing.T) {
	fake, base := comfytest.Start(t, comfytest.Options{})
	for _, f := range []string{"output/temp/a.png", "temp/a.png"} {
		path := filepath.Join(fake.Dir(), f)
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(f), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	dir := t.TempDir()
	files, err := newClient(t, base).Fetch(context.Background(), []OutputRef{
		{Node: "1", Filename: "a.png", Subfolder: "temp", Type: "output"},
		{Node: "2", Filename: "a.png", Type: "temp"},
	}, dir)
	if err == nil || !strings.Contains(err.Error(), `refuse output "a.png" (temp) of node 2: it would overwrite "a.png" (output) of node 1 at temp/a.png`) {
		t.Fatalf("err = %v", err)
	}
	if b, rerr := os.ReadFile(filepath.Join(dir, "temp", "a.png")); rerr != nil || string(b) != "output/temp/a.png" || len(files) != 1 {
		t.Errorf("temp/a.png holds %q (%v); %d files", b, rerr, len(files))
	}
}

// TestRunNoticesLostPrompt drops the WebSocket and then answers as a
// restarted server does (empty history, empty queue): the run ends at once
// with the reason, not at its timeout.
func TestRunNoticesLostPrompt(t *testing.T) {
	fake, err := comfytest.New(comfytest.Options{Dir: t.TempDir(), DropWebSocketAt: "2", HangClass: "ImageInvert"})
	if err != nil {
		t.Fatal(err)
	}
	defer fake.Close()
	var restarted atomic.Bool
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasPrefix(r.URL.Path, "/history/") {
			restarted.Store(true)
		}
		if restarted.Load() {
			switch {
			case strings.HasPrefix(r.URL.Path, "/history/"):
				io.WriteString(w, "{}")
				return
			case r.URL.Path == "/queue":
				io.WriteString(w, `{"queue_running": [], "queue_pending": []}`)
				return
			}
		}
		fake.Handler().ServeHTTP(w, r)
	}))
	defer ts.Close()
	defer ts.CloseClientConnections()
	c := newClient(t, ts.URL)
	start := time.Now()
	_, err = c.Run(context.Background(), loadPrompt(t, "smoke-api.json"), RunOptions{Timeout: 20 * time.Second, PollInterval: 20 * time.Millisecond})
	if err == nil || !strings.Contains(err.Error(), "is neither queued, running nor in the history of "+ts.URL+": the server restarted") {
		t.Fatalf("err = %v", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("noticed after %s", d)
	}
}

// TestRunPollsWhileQueued follows a run through /history while it waits in
// the queue behind another prompt: being queued is not being lost.
func TestRunPollsWhileQueued(t *testing.T) {
	fake, base := comfytest.Start(t, comfytest.Options{DropWebSocketAt: "2", NodeDelay: 50 * time.Millisecond})
	c := newClient(t, base)
	first := make(chan error, 1)
	go func() {
		_, err := c.Run(context.Background(), loadPrompt(t, "animated-api.json"), RunOptions{Timeout: 20 * time.Second, PollInterval: 10 * time.Millisecond})
		first <- err
	}()
	res, err := c.Run(context.Background(), loadPrompt(t, "smoke-api.json"), RunOptions{Timeout: 20 * time.Second, PollInterval: 10 * time.Millisecond})
	if err != nil || len(res.Outputs) != 7 {
		t.Fatalf("second run: %v %+v", err, res)
	}
	if err := <-first; err != nil {
		t.Fatal(err)
	}
	queues := 0
	for _, r := range fake.Requests() {
		if r == "GET /queue" {
			queues++
		}
	}
	if queues == 0 {
		t.Error("no run looked at the queue while it polled")
	}
}

// TestRunStoppedWhileQueuedIsDeleted times out, or cancels, a run whose
// prompt still waits in the queue behind another client's (the fake's
// HangClass keeps that one running). ComfyUI's /interrupt skips a prompt
// that is not running, so what must hold: the prompt is deleted from the
// queue (it never runs later), the other client's prompt is not
// interrupted, and the error says the prompt was deleted, not interrupted.
func TestRunStoppedWhileQueuedIsDeleted(t *testing.T) {
	for name, cancelled := range map[string]bool{"timeout": false, "cancelled": true} {
		t.Run(name, func(t *testing.T) {
			fake, base := comfytest.Start(t, comfytest.Options{HangClass: "ImageInvert"})
			c := newClient(t, base)
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			p := loadPrompt(t, "smoke-api.json")
			other, err := c.Submit(ctx, p, "someone-else")
			if err != nil {
				t.Fatal(err)
			}
			for i := 0; i < 500; i++ {
				if where, _ := c.place(ctx, other); where == placeRunning {
					break
				}
				time.Sleep(10 * time.Millisecond)
			}
			mine := p.Clone()
			mine["4"].Inputs["filename_prefix"] = "sdform/mine"
			opts := RunOptions{Timeout: 500 * time.Millisecond}
			if cancelled {
				opts.Timeout = time.Minute
				time.AfterFunc(500*time.Millisecond, cancel)
			}
			_, err = c.Run(ctx, mine, opts)

			var te *TimeoutError
			switch {
			case !cancelled && !errors.As(err, &te):
				t.Fatalf("err = %v, want a TimeoutError", err)
			case !cancelled && (te.Stopped != Dequeued || te.StopErr != nil || !strings.Contains(err.Error(), "sdform deleted it from the server's queue, where it was still waiting")):
				t.Errorf("timeout error = %v (%+v)", err, te)
			case cancelled && (err == nil || !strings.Contains(err.Error(), " removed from the server's queue before it started)")):
				t.Errorf("err = %v, want a cancel that says the prompt was deleted from the queue", err)
			}
			bg := context.Background()
			var q struct {
				Running [][]any `json:"queue_running"`
				Pending [][]any `json:"queue_pending"`
			}
			if err := c.getJSON(bg, "/queue", nil, &q); err != nil {
				t.Fatal(err)
			}
			if len(q.Pending) != 0 || len(q.Running) != 1 || q.Running[0][1] != other {
				t.Errorf("queue after the stop: running %v, pending %v; want only %s running", q.Running, q.Pending, other)
			}
			if got := fake.Interrupts(); len(got) != 0 {
				t.Errorf("interrupts sent: %q; a prompt that was not running needs none", got)
			}
			c.Interrupt(bg, "")
		})
	}
}

// TestCancel stops prompts in each place a prompt can be: waiting (deleted
// from the queue), running (interrupted by id) and finished (nothing
// sent).
func TestCancel(t *testing.T) {
	fake, base := comfytest.Start(t, comfytest.Options{HangClass: "ImageInvert"})
	c := newClient(t, base)
	ctx := context.Background()
	p := loadPrompt(t, "smoke-api.json")
	running, err := c.Submit(ctx, p, "a")
	if err != nil {
		t.Fatal(err)
	}
	q := p.Clone()
	q["4"].Inputs["filename_prefix"] = "sdform/waiting"
	waiting, err := c.Submit(ctx, q, "b")
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 500; i++ {
		if where, _ := c.place(ctx, running); where == placeRunning {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	if got, err := c.Cancel(ctx, waiting); got != Dequeued || err != nil {
		t.Errorf("Cancel(waiting) = %q, %v; want %q", got, err, Dequeued)
	}
	if got, err := c.Cancel(ctx, running); got != Interrupted || err != nil {
		t.Errorf("Cancel(running) = %q, %v; want %q", got, err, Interrupted)
	}
	for i := 0; i < 500; i++ {
		if where, _ := c.place(ctx, running); where == placeFinished {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	if got, err := c.Cancel(ctx, running); got != Finished || err != nil {
		t.Errorf("Cancel(finished) = %q, %v; want %q", got, err, Finished)
	}
	if got := fake.Interrupts(); len(got) != 1 || got[0] != running {
		t.Errorf("interrupts = %q, want only [%s]", got, running)
	}
	if e, _ := c.History(ctx, waiting); e != nil {
		t.Errorf("the deleted prompt ran: %+v", e)
	}
}
