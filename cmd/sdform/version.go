package main

import (
	"context"
	"encoding/json"
	"fmt"
	"runtime"
	"strings"

	"github.com/sdform/sdform/lang"
	"github.com/sdform/sdform/planner/plan"
)

const versionUsage = `Usage: sdform version [options]

Prints sdform's version, the platform it was built for and the providers
compiled in.
`

func (c *cli) runVersion(ctx context.Context, args []string) int {
	var asJSON bool
	fs := c.commandFlags("version")
	fs.BoolVar(&asJSON, "json", false, "Print as JSON: {sdform_version, platform, providers}")
	if _, code, ok := c.parse(fs, args, versionUsage); !ok {
		return code
	}
	platform := runtime.GOOS + "_" + runtime.GOARCH
	names := registry().Names()
	if asJSON {
		enc := json.NewEncoder(c.stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(map[string]any{"format_version": plan.FormatVersion, "sdform_version": lang.Version, "platform": platform, "providers": names}); err != nil {
			return c.fail(err)
		}
		return exitOK
	}
	fmt.Fprintf(c.stdout, "sdform v%s\non %s\nproviders: %s\n", lang.Version, platform, strings.Join(names, ", "))
	return exitOK
}
