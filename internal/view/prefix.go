package view

import (
	"bytes"
	"io"
	"os"
	"sync"
	"unicode/utf8"

	"golang.org/x/term"
)

// SyncWriter serialises writes to w, so that whole lines from several
// goroutines never interleave. On a terminal it also keeps the last line
// for a progress bar, which a provider redraws through a PrefixWriter
// ("\r", then the new bar): a line written while a bar is drawn clears it
// first, and the bar is drawn again below that line.
type SyncWriter struct {
	mu       sync.Mutex
	w        io.Writer
	terminal bool
	bar      []byte        // the bar drawn on the last line, without a newline; nil when none
	barOwner *PrefixWriter // the writer whose bar it is
}

// clearLine returns to the start of the line and erases it.
const clearLine = "\r\x1b[K"

// NewSyncWriter wraps w; bars are drawn only when w is a terminal.
func NewSyncWriter(w io.Writer) *SyncWriter {
	f, ok := w.(*os.File)
	return &SyncWriter{w: w, terminal: ok && term.IsTerminal(int(f.Fd()))}
}

func (s *SyncWriter) Write(p []byte) (int, error) {
	if err := s.writeLine(nil, p); err != nil {
		return 0, err
	}
	return len(p), nil
}

// writeLine writes p for from (nil when p does not come from a
// PrefixWriter). A bar on the last line is cleared first and drawn again
// after p, unless p is its owner's line, which ends the bar, or p does not
// end a line.
func (s *SyncWriter) writeLine(from *PrefixWriter, p []byte) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.bar == nil {
		_, err := s.w.Write(p)
		return err
	}
	if from == s.barOwner || !bytes.HasSuffix(p, []byte("\n")) {
		s.bar, s.barOwner = nil, nil
	}
	out := make([]byte, 0, len(clearLine)+len(p)+len(s.bar))
	out = append(append(append(out, clearLine...), p...), s.bar...)
	_, err := s.w.Write(out)
	return err
}

// drawBar draws from's bar on the last line, in place of the bar there.
func (s *SyncWriter) drawBar(from *PrefixWriter, bar []byte) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.bar, s.barOwner = bar, from
	_, err := s.w.Write(append([]byte(clearLine), bar...))
	return err
}

// Unwrap returns the underlying writer, so that a provider can find the
// terminal beneath (BuildKit's tty display draws on it directly).
func (s *SyncWriter) Unwrap() io.Writer { return s.w }

// maxLine is the longest line a PrefixWriter holds: a provider that
// streams bytes without a newline is passed on in parts this long.
const maxLine = 64 << 10

// PrefixWriter prefixes every line written to it ("docker_image.x: ") and
// passes each whole line to the underlying writer in one Write, so lines
// of resources applied in parallel stay whole on a shared SyncWriter.
// Lines are sanitised (Sanitize), keeping colours and erase-in-line.
// A line longer than maxLine is passed on in parts, each but the last
// ending in "…".
//
// A carriage return starts the line again: what follows redraws it (a
// progress bar). On a terminal's SyncWriter the latest version is drawn at
// once, as the bar below the other lines, and becomes a line when a
// newline ends it; on any other writer each version is passed on ending
// in "\r". It is what the CLI hands providers as providers.UI.Out.
type PrefixWriter struct {
	mu     sync.Mutex
	w      io.Writer
	bars   *SyncWriter // w, when it draws bars
	raw    bool        // pass text on unsanitised (to JSON, which escapes it)
	prefix []byte
	line   []byte // the line so far, without the prefix
	redraw bool   // the line began after a "\r"
	// ended is the line a "\r" ended when cr is set: it is held until
	// the next byte tells whether the "\r" was half of "\r\n".
	ended []byte
	cr    bool
}

// NewPrefixWriter returns a writer that prefixes lines with prefix.
func NewPrefixWriter(w io.Writer, prefix string) *PrefixWriter {
	p := &PrefixWriter{w: w, prefix: []byte(prefix)}
	if s, ok := w.(*SyncWriter); ok && s.terminal {
		p.bars = s
	}
	return p
}

// Write scans only the bytes it is given, so a long line costs linear
// time.
func (p *PrefixWriter) Write(b []byte) (int, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	n := len(b)
	for len(b) > 0 {
		i := bytes.IndexAny(b, "\r\n")
		if i < 0 {
			if err := p.text(b); err != nil {
				return n, err
			}
			break
		}
		err := p.text(b[:i])
		if err == nil && b[i] == '\n' {
			err = p.newline()
		} else if err == nil {
			err = p.carriageReturn()
		}
		if err != nil {
			return n, err
		}
		b = b[i+1:]
	}
	return n, p.drawBar()
}

// text adds t to the line, passing on parts of a line that grows past
// maxLine.
func (p *PrefixWriter) text(t []byte) error {
	if len(t) == 0 {
		return nil
	}
	if err := p.settle(); err != nil {
		return err
	}
	for len(p.line)+len(t) > maxLine {
		cut := maxLine - len(p.line)
		for cut > 0 && !utf8.RuneStart(t[cut]) {
			cut--
		}
		p.line = append(p.line, t[:cut]...)
		if err := p.pass(p.line, "…\n"); err != nil {
			return err
		}
		p.line, t = p.line[:0], t[cut:]
	}
	p.line = append(p.line, t...)
	return nil
}

func (p *PrefixWriter) newline() error {
	line := p.line
	if p.cr {
		line = p.ended // "\r\n"
	}
	err := p.pass(line, "\n")
	p.line, p.redraw, p.cr = p.line[:0], false, false
	return err
}

func (p *PrefixWriter) carriageReturn() error {
	if err := p.settle(); err != nil {
		return err
	}
	if len(p.line) > 0 {
		p.ended, p.cr = append(p.ended[:0], p.line...), true
		p.line = p.line[:0]
	}
	p.redraw = true
	return nil
}

// settle passes on the line a "\r" ended, now that the "\r" proved not to
// be half of "\r\n". Where bars are drawn, the line was drawn as one or
// was redrawn before anyone saw it.
func (p *PrefixWriter) settle() error {
	if !p.cr {
		return nil
	}
	p.cr = false
	if p.bars != nil {
		return nil
	}
	return p.pass(p.ended, "\r")
}

// drawBar draws the latest version of a redrawn line, where bars are
// drawn.
func (p *PrefixWriter) drawBar() error {
	if p.bars == nil || !p.redraw {
		return nil
	}
	latest := p.line
	if p.cr {
		latest = p.ended
	}
	if len(latest) == 0 {
		return nil
	}
	return p.bars.drawBar(p, p.prefixed(latest, ""))
}

// pass writes one line: the prefix, text and end.
func (p *PrefixWriter) pass(text []byte, end string) error {
	line := p.prefixed(text, end)
	if p.bars != nil {
		return p.bars.writeLine(p, line)
	}
	_, err := p.w.Write(line)
	return err
}

func (p *PrefixWriter) prefixed(text []byte, end string) []byte {
	line := make([]byte, 0, len(p.prefix)+len(text)+len(end))
	line = append(line, p.prefix...)
	if p.raw {
		line = append(line, text...)
	} else {
		line = appendSafe(line, string(text), true)
	}
	return append(line, end...)
}

// Unwrap returns the underlying writer (see SyncWriter.Unwrap).
func (p *PrefixWriter) Unwrap() io.Writer { return p.w }

// Flush ends a last unterminated line, if any, with a newline; a bar
// becomes a line.
func (p *PrefixWriter) Flush() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(p.line) == 0 && !p.cr {
		return nil
	}
	return p.newline()
}
