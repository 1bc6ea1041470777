package main

import (
	"context"
	"fmt"
)

const graphUsage = `Usage: sdform graph [options]

Prints the dependency graph of the configuration: which objects wait for
which (references and depends_on), the order apply follows. Render the dot
output with Graphviz, or paste the Mermaid output into a Markdown file.

Examples:
  sdform graph | dot -Tsvg > graph.svg
  sdform graph -format=mermaid
`

func (c *cli) runGraph(ctx context.Context, args []string) int {
	var format string
	fs := c.commandFlags("graph")
	fs.StringVar(&format, "format", "dot", "Output `FORMAT`: dot (Graphviz) or mermaid")
	rest, code, ok := c.parse(fs, args, graphUsage)
	if !ok {
		return code
	}
	if len(rest) > 0 {
		return c.usageError("graph", fmt.Sprintf("graph takes no arguments, got %q", rest))
	}
	if format != "dot" && format != "mermaid" {
		return c.usageError("graph", fmt.Sprintf("-format must be dot or mermaid, not %q", format))
	}
	s, cfg, diags := c.open(ctx, sessionOptions{noVars: true})
	if s == nil {
		c.diagnostics(diags, cfg.Files)
		return exitError
	}
	g, gdiags := s.pctx.Graph()
	diags = append(diags, gdiags...)
	diags = append(diags, s.close()...)
	if c.diagnostics(diags, cfg.Files) || g == nil {
		return exitError
	}
	if format == "mermaid" {
		fmt.Fprint(c.stdout, g.Mermaid())
	} else {
		fmt.Fprint(c.stdout, g.Dot())
	}
	return exitOK
}
