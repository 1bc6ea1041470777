package view

import (
	"bufio"
	"strings"
	"unicode/utf8"

	"github.com/hashicorp/hcl/v2"
)

// snippetWidth is the most bytes of one source line that a snippet shows.
// A minified workflow JSON is a single line, and printed whole it would
// flood the terminal and the JSON documents.
const snippetWidth = 200

// ellipsis marks where a snippet line was cut.
const ellipsis = "…"

// snippetLine is one source line of a snippet as it is shown.
type snippetLine struct {
	source hcl.Range // the line in its file
	text   string    // the line, cut to a window around the subject
	edited bool      // text is not the line as it is
	// start and end place the subject on this line, as byte offsets into
	// text; a subject that begins after the line starts at its end, one
	// that ends before the line ends at its start.
	start, end int
}

// snippetLines returns the lines of src that a diagnostic's snippet shows,
// as HCL's diagnostic writer chooses them (those of its subject and
// context), each cut to snippetWidth bytes around the part of subject on
// it, and for a terminal sanitised.
func snippetLines(src []byte, subject hcl.Range, context *hcl.Range, terminal bool) []snippetLine {
	snip := subject
	if context != nil {
		snip = hcl.RangeOver(snip, *context)
	}
	if snip.Empty() {
		snip.End.Byte++
		snip.End.Column++
	}
	var lines []snippetLine
	sc := hcl.NewRangeScanner(src, snip.Filename, bufio.ScanLines)
	for sc.Scan() {
		r := sc.Range()
		if !r.Overlaps(snip) {
			continue
		}
		line := string(sc.Bytes())
		hs := clamp(subject.Start.Byte-r.Start.Byte, 0, len(line))
		he := clamp(subject.End.Byte-r.Start.Byte, hs, len(line))
		from, to := window(line, hs, he)
		var lead, trail string
		if from > 0 {
			lead = ellipsis
		}
		if to < len(line) {
			trail = ellipsis
		}
		show := func(s string) string { return s }
		if terminal {
			show = Sanitize
		}
		at := func(off int) int { return len(lead) + len(show(line[from:clamp(off, from, to)])) }
		text := lead + show(line[from:to]) + trail
		lines = append(lines, snippetLine{
			source: r,
			text:   text,
			edited: text != line,
			start:  at(hs),
			end:    at(he),
		})
	}
	return lines
}

// window picks at most snippetWidth bytes of line around [hs, he): the
// subject in the middle, or its start when it is wider than the window.
// Both ends fall between characters.
func window(line string, hs, he int) (from, to int) {
	if len(line) <= snippetWidth {
		return 0, len(line)
	}
	from = clamp(hs-max(0, snippetWidth-(he-hs))/2, 0, len(line)-snippetWidth)
	to = from + snippetWidth
	for from > 0 && !utf8.RuneStart(line[from]) {
		from--
	}
	for to < len(line) && !utf8.RuneStart(line[to]) {
		to--
	}
	return from, to
}

// joinLines joins the lines of a snippet into one text, and places
// subject in it: the byte offsets of its start and end. In a stand-in for
// the file (padded) every line lies at its own line number, as
// RangeScanner counts them; a JSON snippet's code has them one after the
// other.
func joinLines(lines []snippetLine, subject hcl.Range, padded bool) (text string, start, end int) {
	var b strings.Builder
	start, end = -1, -1
	number := 1
	for i, l := range lines {
		switch {
		case padded:
			for ; number < l.source.Start.Line; number++ {
				b.WriteByte('\n')
			}
		case i > 0:
			b.WriteByte('\n')
		}
		if start < 0 && l.source.End.Byte >= subject.Start.Byte {
			start = b.Len() + l.start
		}
		if l.source.Start.Byte <= subject.End.Byte {
			end = b.Len() + l.end
		}
		b.WriteString(l.text)
	}
	if start < 0 {
		start = b.Len()
	}
	return b.String(), start, max(start, end)
}

// shownSource returns d and its file as HCL's diagnostic writer is to
// show them on a terminal: unchanged, or when a line of the snippet has to
// be cut or sanitised, a stand-in file that holds the lines as shown at
// their line numbers, and a copy of d whose ranges point into it. The
// writer takes only byte offsets from those ranges: the location line
// still names d's line, and the enclosing block is named from f.
func shownSource(d *hcl.Diagnostic, f *hcl.File) (*hcl.Diagnostic, *hcl.File) {
	subject := *d.Subject
	lines := snippetLines(f.Bytes, subject, d.Context, true)
	edited := false
	for _, l := range lines {
		edited = edited || l.edited
	}
	if !edited {
		return d, f
	}
	text, start, end := joinLines(lines, subject, true)
	shown := subject
	shown.Start.Byte, shown.End.Byte = start, end
	// The context spans the stand-in's lines, so that the writer shows
	// them all; the first one follows a newline for each line before it.
	first, last := lines[0].source.Start, lines[len(lines)-1].source.End
	context := hcl.Range{Filename: subject.Filename, Start: first, End: last}
	context.Start.Byte, context.End.Byte = first.Line-1, len(text)
	nd := *d
	nd.Subject, nd.Context = &shown, &context
	return &nd, &hcl.File{Bytes: []byte(text), Nav: blockName(contextString(f, subject.Start.Byte))}
}

// blockName stands in for a file's navigator: the enclosing block's name
// is worked out from the original file.
type blockName string

func (n blockName) ContextString(int) string { return string(n) }

func contextString(f *hcl.File, offset int) string {
	if cs, ok := f.Nav.(interface{ ContextString(int) string }); ok {
		return cs.ContextString(offset)
	}
	return ""
}
