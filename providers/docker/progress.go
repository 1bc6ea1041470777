package docker

import (
	"context"
	"io"
	"sync"

	"github.com/containerd/console"
	bkclient "github.com/moby/buildkit/client"
	"github.com/moby/buildkit/util/progress/progressui"
	digest "github.com/opencontainers/go-digest"
	"github.com/sdform/sdform/providers"
)

// progressHub shares one BuildKit tty display among the builds that run at
// the same time, so parallel builds redraw one block of the terminal instead
// of fighting over it. Vertex names carry the resource address.
//
// Only a terminal display is shared: it needs the console itself, while the
// engine's per-resource writers prefix every line with the address. When
// UI.Out is the terminal, or unwraps to it (Unwrap() io.Writer), builds
// share one display; otherwise, and for plain and rawjson output, which are
// line-oriented, each build gets its own display writing to its prefixed
// UI.Out, which reads the same.
type progressHub struct {
	mu    sync.Mutex
	ch    chan *bkclient.SolveStatus
	users int
	done  chan struct{}
}

// join returns the shared channel, starting the display on out when no
// build is showing.
func (h *progressHub) join(out console.File) chan *bkclient.SolveStatus {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.ch == nil {
		d, err := progressui.NewDisplay(out, progressui.TtyMode)
		if err != nil {
			d, _ = progressui.NewDisplay(out, progressui.PlainMode)
		}
		h.ch = make(chan *bkclient.SolveStatus)
		h.done = make(chan struct{})
		go func(ch chan *bkclient.SolveStatus, done chan struct{}) {
			// Not the build's context: the display must drain and print
			// the error logs even when the build was cancelled.
			d.UpdateFrom(context.Background(), ch)
			close(done)
		}(h.ch, h.done)
	}
	h.users++
	return h.ch
}

// leave ends one build's use; the last one closes the display and waits
// for it to print its final state.
func (h *progressHub) leave() {
	h.mu.Lock()
	h.users--
	if h.users > 0 {
		h.mu.Unlock()
		return
	}
	ch, done := h.ch, h.done
	h.ch, h.done = nil, nil
	h.mu.Unlock()
	close(ch)
	<-done
}

// vertexLog keeps what a build's status stream said about its vertices.
type vertexLog struct {
	mu       sync.Mutex
	order    []digest.Digest
	vertices map[digest.Digest]*bkclient.Vertex
}

func (l *vertexLog) add(ss *bkclient.SolveStatus) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.vertices == nil {
		l.vertices = map[digest.Digest]*bkclient.Vertex{}
	}
	for _, v := range ss.Vertexes {
		if _, ok := l.vertices[v.Digest]; !ok {
			l.order = append(l.order, v.Digest)
		}
		cp := *v
		l.vertices[v.Digest] = &cp
	}
}

// list returns the last state of every vertex in first-seen order.
func (l *vertexLog) list() []*bkclient.Vertex {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := make([]*bkclient.Vertex, 0, len(l.order))
	for _, d := range l.order {
		out = append(out, l.vertices[d])
	}
	return out
}

// showProgress starts displaying one build. It returns the channel Solve
// writes its status into (Solve closes it) and a function that returns once
// everything has been printed.
func (p *Provider) showProgress(addr string, ui providers.UI, log *vertexLog) (chan *bkclient.SolveStatus, func()) {
	in := make(chan *bkclient.SolveStatus)
	out := ui.Out
	if out == nil {
		out = io.Discard
	}
	if f, ok := terminalOf(out); ok && ui.Terminal && !ui.JSON {
		if _, err := console.ConsoleFromFile(f); err == nil {
			shared := p.progress.join(f)
			done := make(chan struct{})
			go func() {
				defer close(done)
				for ss := range in {
					log.add(ss)
					shared <- withPrefix(scrubbed(ss, ui.Scrub), "["+addr+"] ")
				}
				p.progress.leave()
			}()
			return in, func() { <-done }
		}
	}
	mode := progressui.PlainMode
	if ui.JSON {
		mode = progressui.RawJSONMode
	}
	d, _ := progressui.NewDisplay(out, mode)
	own := make(chan *bkclient.SolveStatus)
	done := make(chan struct{})
	go func() {
		d.UpdateFrom(context.Background(), own)
		close(done)
	}()
	go func() {
		for ss := range in {
			log.add(ss)
			own <- scrubbed(ss, ui.Scrub)
		}
		close(own)
	}()
	return in, func() { <-done }
}

// terminalOf finds the terminal under w: w itself, or what its Unwrap
// chain leads to (a line-prefixing writer over the terminal).
func terminalOf(w io.Writer) (console.File, bool) {
	for i := 0; i < 8 && w != nil; i++ {
		if f, ok := w.(console.File); ok {
			return f, true
		}
		u, ok := w.(interface{ Unwrap() io.Writer })
		if !ok {
			return nil, false
		}
		w = u.Unwrap()
	}
	return nil, false
}

// scrubbed copies ss with the run's sensitive values replaced in what the
// display shows: step names, status names, warnings and the steps' output,
// which the terminal display writes straight to the terminal and the raw
// JSON one base64-encodes, past the engine's own scrubbing of Out. The
// original (which the vertex log holds) is left untouched.
func scrubbed(ss *bkclient.SolveStatus, scrub func(string) string) *bkclient.SolveStatus {
	if scrub == nil {
		return ss
	}
	cp := *ss
	cp.Vertexes = make([]*bkclient.Vertex, len(ss.Vertexes))
	for i, v := range ss.Vertexes {
		nv := *v
		nv.Name = scrub(v.Name)
		nv.Error = scrub(v.Error)
		cp.Vertexes[i] = &nv
	}
	cp.Statuses = make([]*bkclient.VertexStatus, len(ss.Statuses))
	for i, st := range ss.Statuses {
		ns := *st
		ns.ID, ns.Name = scrub(st.ID), scrub(st.Name)
		cp.Statuses[i] = &ns
	}
	cp.Logs = make([]*bkclient.VertexLog, len(ss.Logs))
	for i, l := range ss.Logs {
		nl := *l
		nl.Data = []byte(scrub(string(l.Data)))
		cp.Logs[i] = &nl
	}
	cp.Warnings = make([]*bkclient.VertexWarning, len(ss.Warnings))
	for i, w := range ss.Warnings {
		nw := *w
		nw.Short = []byte(scrub(string(w.Short)))
		nw.Detail = make([][]byte, len(w.Detail))
		for j, d := range w.Detail {
			nw.Detail[j] = []byte(scrub(string(d)))
		}
		cp.Warnings[i] = &nw
	}
	return &cp
}

// withPrefix copies ss with every vertex name prefixed, leaving the
// original (which the vertex log holds) untouched.
func withPrefix(ss *bkclient.SolveStatus, prefix string) *bkclient.SolveStatus {
	cp := *ss
	cp.Vertexes = make([]*bkclient.Vertex, len(ss.Vertexes))
	for i, v := range ss.Vertexes {
		nv := *v
		nv.Name = prefix + v.Name
		cp.Vertexes[i] = &nv
	}
	return &cp
}
