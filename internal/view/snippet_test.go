package view

import (
	"bytes"
	"os"
	"strconv"
	"strings"
	"testing"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
)

// A provider's diagnostic on line 1 of a minified 100 KB workflow JSON
// printed the whole line, in the terminal and in the JSON snippet: the line
// is cut to a window, "…" marking the cut.
func TestSnippetOfLongProviderLine(t *testing.T) {
	t.Chdir(t.TempDir())
	line := `{"1":{"class_type":"X","inputs":{"text":"` + strings.Repeat("a", 100_000) + `"}}}`
	if err := os.WriteFile("wf.json", []byte(line+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	d := &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Node rejected", Detail: "Bad input.",
		Subject: &hcl.Range{Filename: "wf.json", Start: hcl.Pos{Line: 1}, End: hcl.Pos{Line: 1}}}
	var buf bytes.Buffer
	if err := Diagnostics(&buf, hcl.Diagnostics{d}, nil, Options{Width: 78}); err != nil {
		t.Fatal(err)
	}
	want := "Error: Node rejected\n\n  on wf.json:1:1:\n   1: " + line[:snippetWidth] + "…\n\nBad input.\n\n"
	if buf.String() != want {
		t.Errorf("got %d bytes:\n%.400s\nwant:\n%s", buf.Len(), buf.String(), want)
	}
	s := NewJSONDiagnostics(hcl.Diagnostics{d}, nil)[0].Snippet
	if s == nil || s.Code != line[:snippetWidth]+"…" || s.HighlightStartOffset != 0 || s.HighlightEndOffset != snippetWidth {
		t.Errorf("JSON snippet of %d bytes, highlight %d-%d", len(s.Code), s.HighlightStartOffset, s.HighlightEndOffset)
	}
}

// In a long configuration line the window is centred on the subject, which
// stays highlighted; the location still names its real line and column,
// and the lines around it keep their numbers.
func TestSnippetWindowAroundSubject(t *testing.T) {
	long := `  tags = ["` + strings.Repeat("x", 300) + `", nmae, "` + strings.Repeat("y", 300) + `"]`
	src := "resource \"test_thing\" \"a\" {\n\n" + long + "\n}\n"
	f, diags := hclsyntax.ParseConfig([]byte(src), "main.sdf.hcl", hcl.InitialPos)
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	at := strings.Index(src, "nmae")
	col := at - strings.Index(src, long) + 1
	subject := hcl.Range{Filename: "main.sdf.hcl",
		Start: hcl.Pos{Line: 3, Column: col, Byte: at}, End: hcl.Pos{Line: 3, Column: col + 4, Byte: at + 4}}
	context := f.Body.(*hclsyntax.Body).Blocks[0].Range()
	d := &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Unknown variable", Detail: "D.", Subject: &subject, Context: &context}
	files := map[string]*hcl.File{"main.sdf.hcl": f}

	var buf bytes.Buffer
	if err := Diagnostics(&buf, hcl.Diagnostics{d}, files, Options{Color: true}); err != nil {
		t.Fatal(err)
	}
	before := (snippetWidth - len("nmae")) / 2
	shown := "…" + long[col-1-before:col-1] + "\x1b[1;4mnmae\x1b[0m" + long[col+3:col-1+snippetWidth-before] + "…"
	for _, want := range []string{
		"  on main.sdf.hcl:3:" + strconv.Itoa(col) + ", in resource \"test_thing\" \"a\":\n",
		"   1: resource \"test_thing\" \"a\" {\n   3: " + shown + "\n   4: }\n",
	} {
		if !strings.Contains(buf.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, buf.String())
		}
	}

	s := NewJSONDiagnostics(hcl.Diagnostics{d}, files)[0].Snippet
	if got := s.Code[s.HighlightStartOffset:s.HighlightEndOffset]; got != "nmae" {
		t.Errorf("JSON highlight = %q, want nmae", got)
	}
	for _, l := range strings.Split(s.Code, "\n") {
		if len(l) > snippetWidth+2*len("…") {
			t.Errorf("JSON snippet line of %d bytes", len(l))
		}
	}
}

// Cutting never splits a character, and a short line is left alone.
func TestSnippetWindow(t *testing.T) {
	tests := map[string]struct {
		line     string
		hs, he   int
		from, to int
	}{
		"short":             {"abc", 1, 2, 0, 3},
		"centred":           {strings.Repeat("a", 1000), 500, 510, 405, 605},
		"at the start":      {strings.Repeat("a", 1000), 0, 10, 0, 200},
		"at the end":        {strings.Repeat("a", 1000), 995, 1000, 800, 1000},
		"wider than window": {strings.Repeat("a", 1000), 100, 900, 100, 300},
		"multi-byte ends":   {strings.Repeat("é", 500), 500, 500, 400, 600},
		"between bytes":     {"a" + strings.Repeat("é", 500), 502, 502, 401, 601},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			from, to := window(tc.line, tc.hs, tc.he)
			if from != tc.from || to != tc.to {
				t.Errorf("window = %d-%d, want %d-%d", from, to, tc.from, tc.to)
			}
		})
	}
}
