package view

import (
	"bytes"
	"io"
	"sync"
)

// SyncWriter serialises writes to w, so that whole lines from several
// goroutines never interleave.
type SyncWriter struct {
	mu sync.Mutex
	w  io.Writer
}

// NewSyncWriter wraps w.
func NewSyncWriter(w io.Writer) *SyncWriter { return &SyncWriter{w: w} }

func (s *SyncWriter) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.w.Write(p)
}

// Unwrap returns the underlying writer, so that a provider can find the
// terminal beneath (BuildKit's tty display draws on it directly).
func (s *SyncWriter) Unwrap() io.Writer { return s.w }

// PrefixWriter prefixes every line written to it ("docker_image.x: ") and
// passes each whole line to the underlying writer in one Write, so lines
// of resources applied in parallel stay whole on a shared SyncWriter. A
// carriage return ends a line too (progress redraws), and keeps its "\r".
// It is what the CLI hands providers as providers.UI.Out.
type PrefixWriter struct {
	mu     sync.Mutex
	w      io.Writer
	prefix []byte
	buf    []byte
}

// NewPrefixWriter returns a writer that prefixes lines with prefix.
func NewPrefixWriter(w io.Writer, prefix string) *PrefixWriter {
	return &PrefixWriter{w: w, prefix: []byte(prefix)}
}

func (p *PrefixWriter) Write(b []byte) (int, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.buf = append(p.buf, b...)
	for {
		i := bytes.IndexAny(p.buf, "\r\n")
		if i < 0 {
			break
		}
		end, next := i, i+1
		if p.buf[i] == '\r' && i+1 < len(p.buf) && p.buf[i+1] == '\n' {
			next = i + 2
		} else if p.buf[i] == '\r' && i+1 == len(p.buf) {
			// A "\r" at the end may be the first half of "\r\n": wait.
			break
		}
		term := []byte{'\n'}
		if p.buf[i] == '\r' && next == i+1 {
			term = []byte{'\r'}
		}
		line := make([]byte, 0, len(p.prefix)+end+1)
		line = append(line, p.prefix...)
		line = append(line, p.buf[:end]...)
		line = append(line, term...)
		p.buf = p.buf[next:]
		if _, err := p.w.Write(line); err != nil {
			return len(b), err
		}
	}
	return len(b), nil
}

// Unwrap returns the underlying writer (see SyncWriter.Unwrap).
func (p *PrefixWriter) Unwrap() io.Writer { return p.w }

// Flush writes a last unterminated line, if any, with a newline.
func (p *PrefixWriter) Flush() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(p.buf) == 0 {
		return nil
	}
	rest := bytes.TrimSuffix(p.buf, []byte{'\r'})
	line := append(append(append([]byte{}, p.prefix...), rest...), '\n')
	p.buf = nil
	_, err := p.w.Write(line)
	return err
}
