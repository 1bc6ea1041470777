package view

import (
	"bytes"
	"fmt"
	"io"

	"github.com/hashicorp/hcl/v2"
)

// Diagnostics writes diags for people with HCL's own text writer, so each
// one shows where it points and a source snippet when files holds the file
// it points into (lang.Config.Files). The location reads
// "on main.sdf.hcl:2:13, in resource …": file:line:column is what editors
// and terminals turn into a link, where HCL writes "on main.sdf.hcl line 2".
// Summaries, details and source lines are sanitised (Sanitize), and a
// source line longer than 200 bytes is cut to a window around the subject.
func Diagnostics(w io.Writer, diags hcl.Diagnostics, files map[string]*hcl.File, o Options) error {
	if len(diags) == 0 {
		return nil
	}
	width := o.Width
	if width < 0 {
		width = 0
	}
	diags, files = withSources(diags, files)
	var body, head bytes.Buffer
	hw := hcl.NewDiagnosticTextWriter(&head, nil, uint(width), o.Color)
	for _, d := range diags {
		shown, shownFiles := d, files
		if d.Subject != nil {
			if f := files[d.Subject.Filename]; f != nil && f.Bytes != nil {
				var sf *hcl.File
				shown, sf = shownSource(d, f)
				shownFiles = map[string]*hcl.File{d.Subject.Filename: sf}
			}
		}
		shown = withSafeText(shown)
		body.Reset()
		if err := hcl.NewDiagnosticTextWriter(&body, shownFiles, uint(width), o.Color).WriteDiagnostic(shown); err != nil {
			return err
		}
		out := body.Bytes()
		if d.Subject != nil && d.Subject.Filename != "" {
			// HCL writes the heading (severity and summary) first; the
			// location line follows it. Writing the heading alone tells
			// exactly where that line starts, whatever the summary holds.
			head.Reset()
			if err := hw.WriteDiagnostic(&hcl.Diagnostic{Severity: shown.Severity, Summary: shown.Summary}); err != nil {
				return err
			}
			out = withColumn(out, head.Len(), *d.Subject)
		}
		if _, err := w.Write(out); err != nil {
			return err
		}
	}
	return nil
}

// withSafeText returns d, or a copy of it whose summary and detail are
// sanitised for a terminal.
func withSafeText(d *hcl.Diagnostic) *hcl.Diagnostic {
	summary, detail := Sanitize(d.Summary), Sanitize(d.Detail)
	if summary == d.Summary && detail == d.Detail {
		return d
	}
	nd := *d
	nd.Summary, nd.Detail = summary, detail
	return &nd
}

// withColumn rewrites the location line that starts at offset at in out,
// "  on FILE line N", as "  on FILE:N:C". out is returned unchanged when
// the line is not there as expected.
func withColumn(out []byte, at int, r hcl.Range) []byte {
	old := fmt.Sprintf("  on %s line %d", r.Filename, r.Start.Line)
	if at > len(out) || !bytes.HasPrefix(out[at:], []byte(old)) {
		return out
	}
	loc := fmt.Sprintf("  on %s:%d", r.Filename, r.Start.Line)
	if r.Start.Column > 0 {
		loc += fmt.Sprintf(":%d", r.Start.Column)
	}
	res := make([]byte, 0, len(out)-len(old)+len(loc))
	res = append(res, out[:at]...)
	res = append(res, loc...)
	return append(res, out[at+len(old):]...)
}

// JSONDiagnostic is one diagnostic in every -json document.
type JSONDiagnostic struct {
	Severity string       `json:"severity"` // "error" or "warning"
	Summary  string       `json:"summary"`
	Detail   string       `json:"detail"`
	Range    *JSONRange   `json:"range,omitempty"`
	Snippet  *JSONSnippet `json:"snippet,omitempty"`
}

// JSONRange is a source range; positions count from 1 (line, column) and
// from 0 (byte).
type JSONRange struct {
	Filename string  `json:"filename"`
	Start    JSONPos `json:"start"`
	End      JSONPos `json:"end"`
}

// JSONPos is one position in a source file.
type JSONPos struct {
	Line   int `json:"line"`
	Column int `json:"column"`
	Byte   int `json:"byte"`
}

// JSONSnippet is the source code a diagnostic points at, so that a tool
// can show it without reading the file.
type JSONSnippet struct {
	// Context names the enclosing block (`resource "docker_image" "x"`),
	// when HCL can tell.
	Context *string `json:"context"`
	// Code is the lines the range covers, without the final newline; a
	// line longer than 200 bytes is cut to 200 bytes around the range,
	// "…" marking each cut end.
	Code string `json:"code"`
	// StartLine is the line number of Code's first line.
	StartLine int `json:"start_line"`
	// HighlightStartOffset and HighlightEndOffset are byte offsets into
	// Code of the diagnostic's subject.
	HighlightStartOffset int `json:"highlight_start_offset"`
	HighlightEndOffset   int `json:"highlight_end_offset"`
}

// NewJSONDiagnostics converts diags for a -json document; never nil.
func NewJSONDiagnostics(diags hcl.Diagnostics, files map[string]*hcl.File) []JSONDiagnostic {
	out := make([]JSONDiagnostic, 0, len(diags))
	diags, files = withSources(diags, files)
	for _, d := range diags {
		jd := JSONDiagnostic{Severity: "error", Summary: d.Summary, Detail: d.Detail}
		if d.Severity == hcl.DiagWarning {
			jd.Severity = "warning"
		}
		if d.Subject != nil {
			r := *d.Subject
			jd.Range = &JSONRange{
				Filename: r.Filename,
				Start:    JSONPos{Line: r.Start.Line, Column: r.Start.Column, Byte: r.Start.Byte},
				End:      JSONPos{Line: r.End.Line, Column: r.End.Column, Byte: r.End.Byte},
			}
			if f := files[r.Filename]; f != nil && f.Bytes != nil {
				jd.Snippet = snippet(f, r, d.Context)
			}
		}
		out = append(out, jd)
	}
	return out
}

func snippet(f *hcl.File, subject hcl.Range, context *hcl.Range) *JSONSnippet {
	lines := snippetLines(f.Bytes, subject, context, false)
	if len(lines) == 0 {
		return nil
	}
	s := &JSONSnippet{StartLine: lines[0].source.Start.Line}
	if c := contextString(f, subject.Start.Byte); c != "" {
		s.Context = &c
	}
	s.Code, s.HighlightStartOffset, s.HighlightEndOffset = joinLines(lines, subject, false)
	return s
}

func clamp(v, lo, hi int) int {
	return max(lo, min(v, hi))
}
