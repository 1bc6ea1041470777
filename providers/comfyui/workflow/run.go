package workflow

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/coder/websocket"
)

// RunOptions tune Run.
type RunOptions struct {
	// ClientID names this client to the server; random when empty.
	ClientID string
	// Timeout bounds the whole run (30 minutes when zero). When it
	// passes, Run cancels the prompt (see Client.Cancel) and returns a
	// *TimeoutError.
	Timeout time.Duration
	// Events, when set, receives progress as it happens.
	Events func(Event)
	// PollInterval is the first wait between /history polls after the
	// WebSocket dropped (250ms when zero); it grows by half each time up
	// to MaxPollInterval (5s when zero).
	PollInterval, MaxPollInterval time.Duration
}

// Event is one step of a run, for progress display.
type Event struct {
	// Type is the WebSocket message type ("execution_start", "executing",
	// "progress", "executed", "execution_cached") or "websocket_dropped".
	Type  string
	Node  string
	Class string
	// Value and Max are a node's step progress ("progress").
	Value, Max float64
	// Nodes lists the cached nodes (execution_cached).
	Nodes []string
	Err   error
}

// Result is a finished, successful run.
type Result struct {
	PromptID string
	Outputs  []OutputRef
	// Cached lists the nodes the server took from its cache; Executed the
	// nodes it ran.
	Cached, Executed []string
	// ViaHistory is true when the WebSocket dropped and the end of the
	// run was learnt by polling /history.
	ViaHistory bool
	Duration   time.Duration
}

// ExecutionError is a node that raised during the run (execution_error).
type ExecutionError struct {
	PromptID, NodeID, NodeType string
	ExceptionType, Message     string
	Traceback                  []string
}

// TracebackFrames is how many of the traceback's last frames Error shows.
const TracebackFrames = 3

func (e *ExecutionError) Error() string {
	msg := strings.TrimSpace(e.Message)
	s := fmt.Sprintf("node %s (%s) raised %s: %s", e.NodeID, e.NodeType, e.ExceptionType, msg)
	if n := len(e.Traceback); n > 0 {
		frames := e.Traceback[max(0, n-TracebackFrames):]
		s += fmt.Sprintf("\nTraceback (last %d of %d frames):\n", len(frames), n)
		for _, f := range frames {
			s += strings.TrimRight(f, "\n") + "\n"
		}
		s = strings.TrimRight(s, "\n")
	}
	return s
}

// InterruptedError is a run stopped by /interrupt (execution_interrupted).
type InterruptedError struct {
	PromptID, NodeID, NodeType string
}

func (e *InterruptedError) Error() string {
	return fmt.Sprintf("the run was interrupted at node %s (%s)", e.NodeID, e.NodeType)
}

// TimeoutError is a run that outlived its timeout; Run cancelled it.
type TimeoutError struct {
	PromptID string
	After    time.Duration
	// Node is the node executing when time ran out ("" if none yet), with
	// its last step progress.
	Node, Class, Progress string
	// Stopped says what cancelling the prompt did; StopErr is set
	// instead when it failed.
	Stopped Cancelled
	StopErr error
}

func (e *TimeoutError) Error() string {
	s := fmt.Sprintf("the run did not finish within %s", e.After)
	switch {
	case e.Node != "":
		s += fmt.Sprintf(" (node %s (%s) was executing", e.Node, e.Class)
		if e.Progress != "" {
			s += ", at step " + e.Progress
		}
		s += ")"
	default:
		s += " (no node had started: the server may be busy with another prompt)"
	}
	switch {
	case e.StopErr != nil:
		return s + "; stopping it failed too: " + e.StopErr.Error()
	case e.Stopped == Dequeued:
		return s + "; sdform deleted it from the server's queue, where it was still waiting"
	case e.Stopped == Finished:
		return s + "; the server finished it meanwhile"
	}
	return s + "; sdform asked the server to interrupt it"
}

func randomID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// wsMessage is one JSON message of /ws.
type wsMessage struct {
	Type string          `json:"type"`
	Data json.RawMessage `json:"data"`
}

type wsData struct {
	PromptID      string   `json:"prompt_id"`
	Node          *string  `json:"node"`
	Nodes         []string `json:"-"`
	Value         float64  `json:"value"`
	Max           float64  `json:"max"`
	NodeID        string   `json:"node_id"`
	NodeType      string   `json:"node_type"`
	ExceptionType string   `json:"exception_type"`
	Message       string   `json:"exception_message"`
	Traceback     []string `json:"traceback"`
}

// run is the state of one Run.
type run struct {
	c        *Client
	p        Prompt
	opts     RunOptions
	id       string
	node     string // executing now
	progress string
	res      *Result
}

func (r *run) emit(ev Event) {
	if r.opts.Events != nil {
		if ev.Node != "" && ev.Class == "" {
			if n := r.p[ev.Node]; n != nil {
				ev.Class = n.ClassType
			}
		}
		r.opts.Events(ev)
	}
}

// Run submits the prompt and follows it to its end: it opens
// /ws?clientId=… first (so that no message is missed), posts the prompt,
// then follows the run's messages. A dropped WebSocket falls back to
// polling /history/{id}. On success the outputs come from the history
// entry; a node error is an *ExecutionError, a rejected prompt a
// *RejectedError, an interrupt an *InterruptedError and a timeout a
// *TimeoutError (after Client.Cancel).
func (c *Client) Run(ctx context.Context, p Prompt, opts RunOptions) (*Result, error) {
	if opts.ClientID == "" {
		opts.ClientID = randomID()
	}
	if opts.Timeout <= 0 {
		opts.Timeout = 30 * time.Minute
	}
	if opts.PollInterval <= 0 {
		opts.PollInterval = 250 * time.Millisecond
	}
	if opts.MaxPollInterval <= 0 {
		opts.MaxPollInterval = 5 * time.Second
	}
	start := time.Now()
	runCtx, cancel := context.WithTimeout(ctx, opts.Timeout)
	defer cancel()
	r := &run{c: c, p: p, opts: opts, res: &Result{}}

	ws, wsErr := c.dial(runCtx, opts.ClientID)
	if ws != nil {
		defer ws.CloseNow()
		// The server registers the client id just after the handshake and
		// then sends "status": a prompt posted before that could have its
		// messages sent to nobody.
		if err := awaitStatus(runCtx, ws); err != nil {
			ws.CloseNow()
			ws, wsErr = nil, err
		}
	}
	id, err := c.Submit(runCtx, p, opts.ClientID)
	if err != nil {
		if runCtx.Err() != nil && ctx.Err() == nil {
			return nil, &TimeoutError{After: opts.Timeout}
		}
		return nil, err
	}
	r.id, r.res.PromptID = id, id

	var entry *HistoryEntry
	done := false
	if ws != nil {
		done, err = r.follow(runCtx, ws)
		if err != nil {
			return nil, r.stop(ctx, runCtx, err)
		}
	} else {
		r.emit(Event{Type: "websocket_dropped", Err: wsErr})
	}
	if !done {
		r.res.ViaHistory = true
	}
	// The history entry is written right after the last message; poll
	// until it is there (at once, normally).
	entry, err = r.poll(runCtx)
	if err != nil {
		return nil, r.stop(ctx, runCtx, err)
	}
	if err := r.fromHistory(entry); err != nil {
		return nil, err
	}
	r.res.Outputs = OutputsOf(entry.Outputs)
	r.res.Duration = time.Since(start)
	return r.res, nil
}

// stop turns a failure into Run's error: on timeout or cancellation the
// prompt is cancelled first (deleted from the queue, or interrupted), so
// the server does not keep working on it.
func (r *run) stop(ctx, runCtx context.Context, err error) error {
	if runCtx.Err() == nil {
		return err
	}
	cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	stopped, cerr := r.c.Cancel(cctx, r.id)
	if ctx.Err() != nil {
		if cerr != nil {
			return fmt.Errorf("run cancelled; stop prompt %s: %w", r.id, cerr)
		}
		return fmt.Errorf("run cancelled (prompt %s %s): %w", r.id, stopped, ctx.Err())
	}
	te := &TimeoutError{PromptID: r.id, After: r.opts.Timeout, Node: r.node, Progress: r.progress, Stopped: stopped, StopErr: cerr}
	if n := r.p[r.node]; n != nil {
		te.Class = n.ClassType
	}
	return te
}

func (c *Client) dial(ctx context.Context, clientID string) (*websocket.Conn, error) {
	u := *c.base
	switch u.Scheme {
	case "https":
		u.Scheme = "wss"
	default:
		u.Scheme = "ws"
	}
	u.Path = strings.TrimRight(u.Path, "/") + "/ws"
	u.RawQuery = url.Values{"clientId": {clientID}}.Encode()
	dctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	conn, resp, err := websocket.Dial(dctx, u.String(), &websocket.DialOptions{HTTPClient: c.hc})
	if err != nil {
		if resp != nil && resp.StatusCode == http.StatusForbidden {
			return nil, fmt.Errorf("open %s: the server refused the WebSocket (403): %w", u.String(), err)
		}
		return nil, fmt.Errorf("open %s: %w", u.String(), err)
	}
	// Previews and large messages (execution_error's current_inputs)
	// exceed the default 32 KiB.
	conn.SetReadLimit(64 << 20)
	return conn, nil
}

func awaitStatus(ctx context.Context, ws *websocket.Conn) error {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	for {
		_, data, err := ws.Read(ctx)
		if err != nil {
			return fmt.Errorf("wait for the WebSocket's first status message: %w", err)
		}
		var m wsMessage
		if json.Unmarshal(data, &m) == nil && m.Type == "status" {
			return nil
		}
	}
}

// follow reads the run's messages until it ends. done is false when the
// socket dropped before the end (poll /history then).
func (r *run) follow(ctx context.Context, ws *websocket.Conn) (done bool, err error) {
	for {
		typ, data, err := ws.Read(ctx)
		if err != nil {
			if ctx.Err() != nil {
				return false, ctx.Err()
			}
			r.emit(Event{Type: "websocket_dropped", Err: err})
			return false, nil
		}
		if typ != websocket.MessageText {
			continue // binary previews
		}
		var m wsMessage
		if json.Unmarshal(data, &m) != nil || m.Type == "status" || m.Type == "feature_flags" {
			continue
		}
		var d wsData
		_ = json.Unmarshal(m.Data, &d)
		if d.PromptID != "" && d.PromptID != r.id {
			continue
		}
		switch m.Type {
		case "execution_start":
			r.emit(Event{Type: m.Type})
		case "execution_cached":
			var c struct {
				Nodes []string `json:"nodes"`
			}
			_ = json.Unmarshal(m.Data, &c)
			r.res.Cached = c.Nodes
			r.emit(Event{Type: m.Type, Nodes: c.Nodes})
		case "executing":
			if d.Node == nil {
				if d.PromptID == r.id {
					return true, nil
				}
				continue
			}
			r.node, r.progress = *d.Node, ""
			r.res.Executed = append(r.res.Executed, *d.Node)
			r.emit(Event{Type: m.Type, Node: *d.Node})
		case "progress":
			var pr struct {
				Node string `json:"node"`
			}
			_ = json.Unmarshal(m.Data, &pr)
			r.progress = fmt.Sprintf("%g/%g", d.Value, d.Max)
			r.emit(Event{Type: m.Type, Node: pr.Node, Value: d.Value, Max: d.Max})
		case "executed":
			if d.Node != nil {
				r.emit(Event{Type: m.Type, Node: *d.Node})
			}
		case "execution_success":
			return true, nil
		case "execution_error":
			return true, &ExecutionError{PromptID: r.id, NodeID: d.NodeID, NodeType: d.NodeType,
				ExceptionType: d.ExceptionType, Message: d.Message, Traceback: d.Traceback}
		case "execution_interrupted":
			return true, &InterruptedError{PromptID: r.id, NodeID: d.NodeID, NodeType: d.NodeType}
		}
	}
}

// poll waits for the prompt's history entry with growing pauses, bounded
// by ctx (the run's timeout). Transient errors (a restarting proxy) are
// retried; the last one is reported if time runs out.
func (r *run) poll(ctx context.Context) (*HistoryEntry, error) {
	wait := r.opts.PollInterval
	var last error
	for {
		actx, cancel := context.WithTimeout(ctx, 30*time.Second)
		e, err := r.c.History(actx, r.id)
		if err == nil && e == nil {
			// Not finished: it must still be queued or running, unless the
			// server restarted (history and queue live in memory) or
			// someone deleted it. ComfyUI moves a prompt from its queue
			// to its history under one lock, so the history is read again
			// after the queue.
			var queued bool
			if queued, err = r.c.queued(actx, r.id); err == nil && !queued {
				if e, err = r.c.History(actx, r.id); err == nil && e == nil {
					cancel()
					return nil, fmt.Errorf("prompt %s is neither queued, running nor in the history of %s: the server restarted, or someone deleted the prompt", r.id, r.c.URL())
				}
			}
		}
		cancel()
		if err == nil && e != nil {
			return e, nil
		}
		if err != nil {
			last = err
		}
		select {
		case <-ctx.Done():
			if last != nil {
				return nil, fmt.Errorf("poll history of prompt %s: %w (last error: %v)", r.id, ctx.Err(), last)
			}
			return nil, ctx.Err()
		case <-time.After(wait):
		}
		wait = min(wait*3/2, r.opts.MaxPollInterval)
	}
}

// fromHistory reads the end of the run from its history entry: an error
// or interruption recorded in its messages is returned as such.
func (r *run) fromHistory(e *HistoryEntry) error {
	for _, m := range e.Status.Messages {
		if len(m) != 2 {
			continue
		}
		var typ string
		_ = json.Unmarshal(m[0], &typ)
		var d wsData
		_ = json.Unmarshal(m[1], &d)
		switch typ {
		case "execution_cached":
			if r.res.Cached == nil {
				var c struct {
					Nodes []string `json:"nodes"`
				}
				_ = json.Unmarshal(m[1], &c)
				r.res.Cached = c.Nodes
			}
		case "execution_error":
			return &ExecutionError{PromptID: r.id, NodeID: d.NodeID, NodeType: d.NodeType,
				ExceptionType: d.ExceptionType, Message: d.Message, Traceback: d.Traceback}
		case "execution_interrupted":
			return &InterruptedError{PromptID: r.id, NodeID: d.NodeID, NodeType: d.NodeType}
		}
	}
	if e.Status.StatusStr != "" && e.Status.StatusStr != "success" {
		return fmt.Errorf("prompt %s ended with status %q", r.id, e.Status.StatusStr)
	}
	return nil
}
