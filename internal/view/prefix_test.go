package view

import (
	"bytes"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/sdform/sdform/planner/plan"
)

// A provider that streams bytes without a newline must neither grow the
// held line without bound nor rescan it on every Write (which made a 4 MiB
// line take seconds): the line is passed on in parts of at most maxLine
// bytes, each but the last marked as cut, and nothing is lost.
func TestPrefixWriterCutsLongLines(t *testing.T) {
	var buf bytes.Buffer
	pw := NewPrefixWriter(&buf, "x: ")
	payload := strings.Repeat("0123456789abcdef", (4<<20)/16)
	for rest := payload; rest != ""; {
		n := min(4096, len(rest))
		if _, err := pw.Write([]byte(rest[:n])); err != nil {
			t.Fatal(err)
		}
		rest = rest[n:]
		if buf.Len() == 0 && len(payload)-len(rest) > maxLine {
			t.Fatalf("%d bytes held without a newline", len(payload)-len(rest))
		}
	}
	pw.Write([]byte("\n"))
	lines := strings.Split(strings.TrimSuffix(buf.String(), "\n"), "\n")
	var got strings.Builder
	for i, l := range lines {
		if len(l) > len("x: ")+maxLine+len("…") {
			t.Fatalf("line %d is %d bytes long", i, len(l))
		}
		l = strings.TrimPrefix(l, "x: ")
		if i < len(lines)-1 {
			var ok bool
			if l, ok = strings.CutSuffix(l, "…"); !ok {
				t.Fatalf("line %d does not say it was cut: …%q", i, l[len(l)-10:])
			}
		}
		got.WriteString(l)
	}
	if got.String() != payload {
		t.Errorf("the parts do not add up to what was written (%d bytes, want %d)", got.Len(), len(payload))
	}
}

// A multi-byte character is never split across the parts of a long line.
func TestPrefixWriterCutsBetweenCharacters(t *testing.T) {
	var buf bytes.Buffer
	pw := NewPrefixWriter(&buf, "")
	pw.Write([]byte(strings.Repeat("a", maxLine-1) + "é" + "b\n"))
	want := strings.Repeat("a", maxLine-1) + "…\néb\n"
	if buf.String() != want {
		t.Errorf("got …%q, want …%q", buf.String()[maxLine-4:], want[maxLine-4:])
	}
}

// terminalWriter is a SyncWriter that draws bars, as it does on a
// terminal.
func terminalWriter(buf *bytes.Buffer) *SyncWriter {
	sw := NewSyncWriter(buf)
	sw.terminal = true
	return sw
}

// A progress bar ("\r\x1b[K<bar>", as the comfyui provider draws it) is
// drawn as soon as it is written, and a line from elsewhere written
// meanwhile clears it and draws it again below: the bar was drawn one
// redraw late, and the next line overwrote it leaving its tail.
func TestProgressBarAndLines(t *testing.T) {
	var buf bytes.Buffer
	sw := terminalWriter(&buf)
	a := NewApply(sw, nil, Options{})
	bar := NewPrefixWriter(sw, "comfyui_model.w: ")
	other := NewPrefixWriter(sw, "docker_image.x: ")

	fmt.Fprintf(bar, "\r\x1b[K[=====>          ] 45%% 1.2 GB/s ETA 3m")
	if got := screen(buf.String()); got[len(got)-1] != "comfyui_model.w: [=====>          ] 45% 1.2 GB/s ETA 3m" {
		t.Fatalf("the bar is not drawn when written: %q", got)
	}
	fmt.Fprintf(bar, "\r\x1b[K[======>         ] 50%% 1.2 GB/s ETA 2m")
	a.Done("test_thing.a", plan.Create, "", nil, time.Second)
	fmt.Fprintf(other, "#3 DONE 0.1s\n")
	fmt.Fprintf(bar, "\r\x1b[K[==========>     ] 70%% 1.2 GB/s ETA 1m")
	fmt.Fprintf(bar, "\n")
	fmt.Fprintf(bar, "Downloaded w.safetensors\n")

	want := []string{
		"test_thing.a: Created after 1s",
		"docker_image.x: #3 DONE 0.1s",
		"comfyui_model.w: [==========>     ] 70% 1.2 GB/s ETA 1m",
		"comfyui_model.w: Downloaded w.safetensors",
		"",
	}
	if got := screen(buf.String()); strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("screen:\n%s\nwant:\n%s\nbytes: %q", strings.Join(got, "\n"), strings.Join(want, "\n"), buf.String())
	}
}

// A bar ended by "\r" (redrawn from its start next time) or left without
// a newline is also drawn at once, and Flush makes it a line.
func TestProgressBarTrailingReturn(t *testing.T) {
	var buf bytes.Buffer
	sw := terminalWriter(&buf)
	pw := NewPrefixWriter(sw, "x: ")
	fmt.Fprintf(pw, "10%%\r")
	if got := screen(buf.String()); got[0] != "x: 10%" {
		t.Fatalf("the bar is not drawn when written: %q", got)
	}
	fmt.Fprintf(pw, "20%%\r")
	fmt.Fprintf(sw, "line\n")
	fmt.Fprintf(pw, "30%%")
	if err := pw.Flush(); err != nil {
		t.Fatal(err)
	}
	want := "line\nx: 30%\n"
	if got := strings.Join(screen(buf.String()), "\n"); got != want {
		t.Errorf("screen %q, want %q; bytes %q", got, want, buf.String())
	}
}

// screen is what a terminal shows after s: "\r" returns to the first
// column, "\n" starts a new line, "\x1b[K" erases to the end of the line,
// any other sequence "\x1b[…m" is a colour, and other text overwrites.
func screen(s string) []string {
	lines := [][]rune{nil}
	col := 0
	for i := 0; i < len(s); i++ {
		cur := &lines[len(lines)-1]
		switch {
		case s[i] == '\r':
			col = 0
		case s[i] == '\n':
			lines = append(lines, nil)
			col = 0
		case strings.HasPrefix(s[i:], "\x1b[K"):
			*cur = (*cur)[:min(col, len(*cur))]
			i += len("\x1b[K") - 1
		case strings.HasPrefix(s[i:], "\x1b["):
			i += strings.IndexByte(s[i:], 'm')
		default:
			r := []rune(s[i:])[0]
			i += len(string(r)) - 1
			if col < len(*cur) {
				(*cur)[col] = r
			} else {
				*cur = append(*cur, r)
			}
			col++
		}
	}
	out := make([]string, len(lines))
	for i, l := range lines {
		out[i] = string(l)
	}
	return out
}
