package main

import (
	"context"
	"fmt"

	"github.com/sdform/sdform/internal/view"
)

const validateUsage = `Usage: sdform validate [options]

Checks the configuration in this directory for mistakes without touching
anything: syntax, unknown blocks and arguments (with "did you mean"), types,
undefined references, dependency cycles, and each provider's offline checks
(Dockerfile lint, build arguments, workflow files). Variables need no
values. It needs no Docker, GPU or network, so it suits CI and editors.

Examples:
  sdform validate
  sdform validate -json | jq '.diagnostics[] | .range.filename + ": " + .summary'
`

func (c *cli) runValidate(ctx context.Context, args []string) int {
	var asJSON bool
	fs := c.commandFlags("validate")
	fs.BoolVar(&asJSON, "json", false, "Print the result as JSON: {valid, error_count, warning_count, diagnostics}")
	rest, code, ok := c.parse(fs, args, validateUsage)
	if !ok {
		return code
	}
	if len(rest) > 0 {
		return c.usageError("validate", fmt.Sprintf("validate takes no arguments, got %q", rest))
	}
	s, cfg, diags := c.open(ctx, sessionOptions{noVars: true, json: asJSON})
	if s != nil {
		diags = append(diags, s.pctx.Validate(ctx)...)
		diags = append(diags, s.close()...)
	}
	if asJSON {
		if err := view.ValidateJSON(c.stdout, diags, cfg.Files); err != nil {
			return c.fail(err)
		}
	} else {
		c.diagnostics(diags, cfg.Files)
		if !diags.HasErrors() {
			o := c.viewOptions(c.stdout)
			if len(diags) > 0 {
				fmt.Fprintf(c.stdout, "%s The configuration is valid, with the warnings shown above.\n", successWord(o))
			} else {
				fmt.Fprintf(c.stdout, "%s The configuration is valid.\n", successWord(o))
			}
		}
	}
	if diags.HasErrors() {
		return exitError
	}
	return exitOK
}

func successWord(o view.Options) string {
	if o.Color {
		return "\x1b[1;32mSuccess!\x1b[0m"
	}
	return "Success!"
}
