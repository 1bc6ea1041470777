package workflow

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"sync"
	"time"
)

// Client talks to one ComfyUI server over HTTP and WebSocket. It is safe
// for concurrent use; /object_info is read once and cached.
type Client struct {
	base *url.URL
	hc   *http.Client

	mu   sync.Mutex
	info Info
}

// NewClient returns a client for the server at baseURL
// ("http://127.0.0.1:8188"). hc nil means a client without an overall
// timeout: every call is bounded by its context.
func NewClient(baseURL string, hc *http.Client) (*Client, error) {
	u, err := url.Parse(strings.TrimRight(baseURL, "/"))
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("ComfyUI server URL %q must be http(s)://host:port", baseURL)
	}
	if hc == nil {
		hc = &http.Client{}
	}
	return &Client{base: u, hc: hc}, nil
}

// URL is the server's base URL.
func (c *Client) URL() string { return c.base.String() }

func (c *Client) endpoint(path string, q url.Values) string {
	u := *c.base
	u.Path = strings.TrimRight(u.Path, "/") + path
	if q != nil {
		u.RawQuery = q.Encode()
	}
	return u.String()
}

// do sends a request and returns the response when its status is 200.
func (c *Client) do(ctx context.Context, method, path string, q url.Values, body any) (*http.Response, error) {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return nil, err
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.endpoint(path, q), rd)
	if err != nil {
		return nil, err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	return c.hc.Do(req)
}

// getJSON GETs path and decodes a 200 answer into v.
func (c *Client) getJSON(ctx context.Context, path string, q url.Values, v any) error {
	resp, err := c.do(ctx, http.MethodGet, path, q, nil)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return &StatusError{Method: http.MethodGet, Path: path, Status: resp.Status, Body: readLimited(resp.Body, 512)}
	}
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return fmt.Errorf("read %s: %w", path, err)
	}
	if err := decodeNumbers(b, v); err != nil {
		return fmt.Errorf("decode %s: %w", path, err)
	}
	return nil
}

// StatusError is an unexpected HTTP status.
type StatusError struct {
	Method, Path, Status, Body string
}

func (e *StatusError) Error() string {
	msg := fmt.Sprintf("%s %s: server answered %s", e.Method, e.Path, e.Status)
	if e.Body != "" {
		msg += ": " + e.Body
	}
	return msg
}

// Stats is what /system_stats says about the server.
type Stats struct {
	ComfyUIVersion string
	PythonVersion  string
	PytorchVersion string
	OS             string
	Devices        []Device
}

// Device is one compute device the server uses.
type Device struct {
	Name      string `json:"name"`
	Type      string `json:"type"`
	Index     *int   `json:"index"`
	VRAMTotal int64  `json:"vram_total"`
	VRAMFree  int64  `json:"vram_free"`
}

// SystemStats reads /system_stats.
func (c *Client) SystemStats(ctx context.Context) (*Stats, error) {
	var r struct {
		System struct {
			OS             string `json:"os"`
			ComfyUIVersion string `json:"comfyui_version"`
			PythonVersion  string `json:"python_version"`
			PytorchVersion string `json:"pytorch_version"`
		} `json:"system"`
		Devices []Device `json:"devices"`
	}
	if err := c.getJSON(ctx, "/system_stats", nil, &r); err != nil {
		return nil, err
	}
	return &Stats{ComfyUIVersion: r.System.ComfyUIVersion, PythonVersion: r.System.PythonVersion,
		PytorchVersion: r.System.PytorchVersion, OS: r.System.OS, Devices: r.Devices}, nil
}

// WaitReady polls /system_stats until the server answers, for at most
// timeout. Its error names the last failure.
func (c *Client) WaitReady(ctx context.Context, timeout time.Duration) (*Stats, error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	start := time.Now()
	interval := 200 * time.Millisecond
	var last error
	for {
		attempt, cancelAttempt := context.WithTimeout(ctx, 10*time.Second)
		st, err := c.SystemStats(attempt)
		cancelAttempt()
		if err == nil {
			return st, nil
		}
		last = err
		select {
		case <-ctx.Done():
			if errors.Is(ctx.Err(), context.DeadlineExceeded) {
				return nil, fmt.Errorf("wait for ComfyUI at %s: not ready after %s: last error: %w", c.URL(), time.Since(start).Round(time.Second), last)
			}
			return nil, fmt.Errorf("wait for ComfyUI at %s: %w", c.URL(), ctx.Err())
		case <-time.After(interval):
		}
		interval = min(interval*3/2, 2*time.Second)
	}
}

// ObjectInfo reads /object_info once per client.
func (c *Client) ObjectInfo(ctx context.Context) (Info, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.info != nil {
		return c.info, nil
	}
	resp, err := c.do(ctx, http.MethodGet, "/object_info", nil, nil)
	if err != nil {
		return nil, fmt.Errorf("read object_info: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, &StatusError{Method: http.MethodGet, Path: "/object_info", Status: resp.Status, Body: readLimited(resp.Body, 512)}
	}
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, fmt.Errorf("read object_info: %w", err)
	}
	info, err := ParseInfo(b)
	if err != nil {
		return nil, err
	}
	c.info = info
	return info, nil
}

// Models lists the files of one models folder (/models/{folder}).
func (c *Client) Models(ctx context.Context, folder string) ([]string, error) {
	var files []string
	if err := c.getJSON(ctx, "/models/"+url.PathEscape(folder), nil, &files); err != nil {
		return nil, err
	}
	return files, nil
}

// RejectedError is a 400 answer to POST /prompt: the server's own
// validation failed, node by node.
type RejectedError struct {
	Type, Message, Details string
	Nodes                  []NodeRejection
}

// NodeRejection is one node's entry in node_errors.
type NodeRejection struct {
	ID, Class string
	Errors    []RejectionReason
}

// RejectionReason is one error of a node.
type RejectionReason struct {
	Type, Message, Details, Input string
}

func (e *RejectedError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "the server rejected the workflow: %s", e.Message)
	if e.Details != "" && len(e.Nodes) == 0 {
		fmt.Fprintf(&b, " (%s)", e.Details)
	}
	for _, n := range e.Nodes {
		for _, r := range n.Errors {
			fmt.Fprintf(&b, "\n  node %s (%s): %s", n.ID, n.Class, r.Message)
			if r.Details != "" {
				fmt.Fprintf(&b, ": %s", r.Details)
			}
		}
	}
	return b.String()
}

// Problems returns the rejection as problems, one per node error.
func (e *RejectedError) Problems() []Problem {
	var out []Problem
	for _, n := range e.Nodes {
		for _, r := range n.Errors {
			what := fmt.Sprintf("node %s (%s)", n.ID, n.Class)
			if r.Input != "" {
				what = "input " + r.Input + " of " + what
			}
			msg := strings.TrimSuffix(r.Message, ".")
			if r.Details != "" && r.Details != r.Input {
				msg += ": " + strings.TrimSuffix(r.Details, ".")
			}
			out = append(out, Problem{Node: n.ID, Class: n.Class, Input: r.Input, Summary: r.Message,
				Detail: fmt.Sprintf("The server rejected %s: %s.", what, msg)})
		}
	}
	if len(out) == 0 {
		out = append(out, Problem{Summary: e.Message, Detail: e.Details})
	}
	return out
}

// Submit posts the prompt with the client id whose WebSocket gets its
// messages, and returns the prompt id.
func (c *Client) Submit(ctx context.Context, p Prompt, clientID string) (string, error) {
	resp, err := c.do(ctx, http.MethodPost, "/prompt", nil, map[string]any{"prompt": p, "client_id": clientID})
	if err != nil {
		return "", fmt.Errorf("submit prompt: %w", err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 8<<20))
	if err != nil {
		return "", fmt.Errorf("submit prompt: %w", err)
	}
	switch resp.StatusCode {
	case http.StatusOK:
		var ok struct {
			PromptID string `json:"prompt_id"`
		}
		if err := json.Unmarshal(b, &ok); err != nil || ok.PromptID == "" {
			return "", fmt.Errorf("submit prompt: unexpected answer %q", truncate(string(b), 300))
		}
		return ok.PromptID, nil
	case http.StatusBadRequest:
		if rej := parseRejection(b); rej != nil {
			return "", rej
		}
	}
	return "", &StatusError{Method: http.MethodPost, Path: "/prompt", Status: resp.Status, Body: truncate(strings.TrimSpace(string(b)), 512)}
}

func parseRejection(b []byte) *RejectedError {
	var r struct {
		Error *struct {
			Type    string `json:"type"`
			Message string `json:"message"`
			Details string `json:"details"`
		} `json:"error"`
		NodeErrors map[string]struct {
			ClassType string `json:"class_type"`
			Errors    []struct {
				Type      string `json:"type"`
				Message   string `json:"message"`
				Details   string `json:"details"`
				ExtraInfo struct {
					InputName string `json:"input_name"`
				} `json:"extra_info"`
			} `json:"errors"`
		} `json:"node_errors"`
	}
	if json.Unmarshal(b, &r) != nil || r.Error == nil {
		return nil
	}
	rej := &RejectedError{Type: r.Error.Type, Message: r.Error.Message, Details: r.Error.Details}
	for id, ne := range r.NodeErrors {
		nr := NodeRejection{ID: id, Class: ne.ClassType}
		for _, e := range ne.Errors {
			nr.Errors = append(nr.Errors, RejectionReason{Type: e.Type, Message: e.Message, Details: e.Details, Input: e.ExtraInfo.InputName})
		}
		rej.Nodes = append(rej.Nodes, nr)
	}
	sort.Slice(rej.Nodes, func(i, j int) bool { return lessID(rej.Nodes[i].ID, rej.Nodes[j].ID) })
	return rej
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}

// HistoryEntry is /history/{id}'s entry for a finished prompt.
type HistoryEntry struct {
	Outputs map[string]map[string]json.RawMessage `json:"outputs"`
	Status  struct {
		StatusStr string              `json:"status_str"`
		Completed bool                `json:"completed"`
		Messages  [][]json.RawMessage `json:"messages"`
	} `json:"status"`
}

// History returns the prompt's entry, or nil while it has not finished
// (the server answers {} until then).
func (c *Client) History(ctx context.Context, promptID string) (*HistoryEntry, error) {
	var r map[string]*HistoryEntry
	if err := c.getJSON(ctx, "/history/"+url.PathEscape(promptID), nil, &r); err != nil {
		return nil, err
	}
	return r[promptID], nil
}

// Interrupt asks the server to stop the prompt if it is running
// (POST /interrupt). ComfyUI answers 200 also when the prompt is not
// running, and does nothing then: Cancel stops a prompt wherever it is.
func (c *Client) Interrupt(ctx context.Context, promptID string) error {
	body := map[string]any{}
	if promptID != "" {
		body["prompt_id"] = promptID
	}
	return c.post(ctx, "/interrupt", body)
}

// Dequeue deletes the prompt from the server's queue if it is still
// waiting there (POST /queue {"delete": [id]}); a running prompt is left
// alone. ComfyUI answers 200 either way.
func (c *Client) Dequeue(ctx context.Context, promptID string) error {
	return c.post(ctx, "/queue", map[string]any{"delete": []string{promptID}})
}

func (c *Client) post(ctx context.Context, path string, body any) error {
	resp, err := c.do(ctx, http.MethodPost, path, nil, body)
	if err != nil {
		return fmt.Errorf("POST %s: %w", path, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return &StatusError{Method: http.MethodPost, Path: path, Status: resp.Status, Body: readLimited(resp.Body, 256)}
	}
	return nil
}

// Cancelled says what Cancel did to a prompt.
type Cancelled string

const (
	// Dequeued: the prompt was still waiting and is deleted from the
	// queue; it never runs.
	Dequeued Cancelled = "removed from the server's queue before it started"
	// Interrupted: the prompt was running and the server was asked to
	// interrupt it; it stops at its current node's next check.
	Interrupted Cancelled = "interrupted"
	// Finished: the prompt was neither queued nor running any more.
	Finished Cancelled = "already finished"
)

// Cancel stops the prompt wherever it is: deleted from the queue while it
// waits, interrupted while it runs. Where it is comes from GET /queue,
// before and after the delete (it may start meanwhile), because neither
// POST says whether it took effect. A prompt that is not running is never
// interrupted: a server older than targeted interrupts (which ignores
// prompt_id) would interrupt another client's prompt.
func (c *Client) Cancel(ctx context.Context, promptID string) (Cancelled, error) {
	before, err := c.place(ctx, promptID)
	if err != nil {
		return "", err
	}
	if before == placeFinished {
		return Finished, nil
	}
	if before == placePending {
		if err := c.Dequeue(ctx, promptID); err != nil {
			return "", fmt.Errorf("delete prompt %s from the queue: %w", promptID, err)
		}
	}
	now, err := c.place(ctx, promptID)
	if err != nil {
		return "", err
	}
	switch now {
	case placePending:
		return "", fmt.Errorf("delete prompt %s from the queue: it is still in GET /queue's queue_pending", promptID)
	case placeRunning:
		if err := c.Interrupt(ctx, promptID); err != nil {
			return "", fmt.Errorf("interrupt prompt %s: %w", promptID, err)
		}
		return Interrupted, nil
	}
	if before == placePending {
		return Dequeued, nil
	}
	return Finished, nil
}

// queuePlace is where a prompt is on the server.
type queuePlace int

const (
	placeFinished queuePlace = iota // or never there
	placePending
	placeRunning
)

// place says where the prompt is (GET /queue).
func (c *Client) place(ctx context.Context, promptID string) (queuePlace, error) {
	var q struct {
		Running []json.RawMessage `json:"queue_running"`
		Pending []json.RawMessage `json:"queue_pending"`
	}
	if err := c.getJSON(ctx, "/queue", nil, &q); err != nil {
		return 0, err
	}
	has := func(items []json.RawMessage) bool {
		for _, item := range items {
			// [number, prompt_id, prompt, extra_data, outputs_to_execute]
			var head []json.RawMessage
			var id string
			if json.Unmarshal(item, &head) == nil && len(head) > 1 && json.Unmarshal(head[1], &id) == nil && id == promptID {
				return true
			}
		}
		return false
	}
	switch {
	case has(q.Running):
		return placeRunning, nil
	case has(q.Pending):
		return placePending, nil
	}
	return placeFinished, nil
}

// queued reports whether the prompt is running or pending (GET /queue).
func (c *Client) queued(ctx context.Context, promptID string) (bool, error) {
	where, err := c.place(ctx, promptID)
	return where != placeFinished, err
}
