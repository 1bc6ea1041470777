package dockerfile

import (
	"bytes"
	"strings"

	"github.com/moby/buildkit/frontend/dockerfile/parser"
)

// SyntaxUse is one use, in a Dockerfile, of syntax that an older Dockerfile
// frontend cannot parse.
type SyntaxUse struct {
	Line int
	// What is the construct as written: "heredoc <<EOF", "COPY --link".
	What string
}

// flagsAfter12 are the instruction flags that Dockerfile syntax 1.2 does
// not know, by instruction. That syntax is what the frontend built into
// the Docker Engine 20.10 (BuildKit v0.8) parses; its parser fails on each
// of these with "Unknown flag" (checked against that Engine, except
// --checksum, which came with syntax 1.6).
var flagsAfter12 = map[string][]string{
	"add":  {"link", "exclude", "parents", "checksum", "keep-git-dir"},
	"copy": {"link", "exclude", "parents"},
	"run":  {"network", "security", "device"},
}

// SyntaxAfter12 lists what in the Dockerfile dt the Dockerfile syntax 1.2
// cannot parse: heredocs, which it reads as instructions of their own
// lines, and the flags of flagsAfter12. It returns nil when dt does not
// parse at all; the analysis reports that.
func SyntaxAfter12(dt []byte) []SyntaxUse {
	res, err := parser.Parse(bytes.NewReader(dt))
	if err != nil {
		return nil
	}
	var out []SyntaxUse
	for _, n := range res.AST.Children {
		for _, h := range n.Heredocs {
			out = append(out, SyntaxUse{Line: n.StartLine, What: "heredoc <<" + h.Name})
		}
		for _, f := range n.Flags {
			name, _, _ := strings.Cut(strings.TrimPrefix(f, "--"), "=")
			for _, newer := range flagsAfter12[strings.ToLower(n.Value)] {
				if strings.EqualFold(name, newer) {
					out = append(out, SyntaxUse{Line: n.StartLine, What: strings.ToUpper(n.Value) + " --" + newer})
				}
			}
		}
	}
	return out
}
