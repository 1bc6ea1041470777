package main

import (
	"context"
	"fmt"
	"time"

	"github.com/sdform/sdform/internal/view"
)

const rollbackUsage = `Usage: sdform rollback [options] ADDRESS

Puts one object back to what it was before its last apply. For a
docker_image that is the image its tags pointed to before sdform last moved
them: the tags move back (in the Docker Engine, or in the registry), and
are pushed again when the image is pushed. Each tag is printed with the
digest it leaves and the digest it returns to.

The state then records the image the tags point to. The configuration
still asks for the build that was rolled back, so the next "sdform plan"
proposes to build and promote it again, and says it was rolled back; change
the configuration, or apply when the cause is fixed.

A rollback restores one step: the digests recorded at the last promotion.
Without one (the tags were new, or never moved) it fails and changes
nothing. Running it again right after a rollback moves nothing: it says the
tags already point to the previous build and exits 0 (it never moves them
forward again). To return to the configured build, run "sdform apply".

Examples:
  sdform rollback docker_image.comfyui
  sdform rollback -lock-timeout=1m docker_image.comfyui
`

type rollbackCmd struct {
	varFlags
	lockTimeout time.Duration
	lock        bool
}

func (c *cli) runRollback(ctx context.Context, args []string) int {
	var f rollbackCmd
	fs := c.commandFlags("rollback")
	f.varFlags.register(fs)
	fs.DurationVar(&f.lockTimeout, "lock-timeout", 0, "Wait up to `DURATION` (\"30s\", \"5m\") for the state lock; 0 fails at once")
	fs.BoolVar(&f.lock, "lock", true, "Take the state lock; -lock=false skips it (only where nothing else can write the state)")
	rest, code, ok := c.parse(fs, args, rollbackUsage)
	if !ok {
		return code
	}
	if len(rest) != 1 {
		return c.usageError("rollback", "give exactly one address, like docker_image.comfyui")
	}
	addr := rest[0]
	progress := view.NewSyncWriter(c.stdout)
	output := func(a string) *view.PrefixWriter { return view.NewPrefixWriter(progress, a+": ") }
	s, cfg, diags := c.open(ctx, sessionOptions{vars: f.varFlags, lockOp: "rollback", lockTimeout: f.lockTimeout, noLock: !f.lock, output: output, optionalVars: true})
	if s == nil {
		c.diagnostics(diags, cfg.Files)
		return exitError
	}
	res, rdiags := s.pctx.Rollback(ctx, s.st, addr, s.persist)
	c.flushProgress()
	diags = append(diags, rdiags...)
	diags = append(diags, s.close()...)
	for _, m := range res.Messages {
		fmt.Fprintf(c.stdout, "%s: %s\n", addr, m)
	}
	if c.diagnostics(diags, cfg.Files) {
		return exitError
	}
	if !res.Changed {
		fmt.Fprintf(c.stdout, "\nNothing rolled back: the state of %s is unchanged.\n", addr)
		return exitOK
	}
	fmt.Fprintf(c.stdout, "\nRolled back %s. Run \"sdform plan\" to see what applying the configuration would change now.\n", addr)
	return exitOK
}
