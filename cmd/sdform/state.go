package main

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/hashicorp/hcl/v2"
	"github.com/sdform/sdform/internal/view"
	"github.com/sdform/sdform/lang"
	"github.com/sdform/sdform/planner/state"
)

const stateUsage = `Usage: sdform state <subcommand> [options] [args]

Inspects or edits the state file (.sdform/state.json unless the sdform
block's state { path } says otherwise), where sdform records every object
it built, downloaded or ran.

Subcommands:
  list [ADDRESS...]   List objects in the state, or those matching ADDRESS
                      (an address or a prefix such as docker_image)
  show ADDRESS        Print one object's recorded attributes
  rm ADDRESS...       Forget objects: remove them from the state and leave
                      the real images and files alone
  unlock LOCK_ID      Clear a lock left by a process that died; refused
                      while the holder is still running

Examples:
  sdform state list
  sdform state show docker_image.comfyui
  sdform state rm comfyui_model.old
  sdform state unlock 3f9a8c1e2b7d4a60
`

func (c *cli) runState(ctx context.Context, args []string) int {
	if len(args) == 0 {
		fmt.Fprint(c.stderr, stateUsage)
		return exitError
	}
	switch args[0] {
	case "-h", "-help", "--help", "help":
		fmt.Fprint(c.stdout, stateUsage)
		return exitOK
	case "list":
		return c.stateList(args[1:])
	case "show":
		return c.stateShow(args[1:])
	case "rm":
		return c.stateRm(ctx, args[1:])
	case "unlock":
		return c.stateUnlock(args[1:])
	}
	return c.usageError("state", fmt.Sprintf("unknown subcommand %q (list, show, rm or unlock)", args[0]))
}

const stateListUsage = `Usage: sdform state list [options] [ADDRESS...]

Lists the addresses of the objects in the state, one per line. With
ADDRESS arguments, lists only objects whose address is one of them or
starts with one followed by a dot (docker_image lists every docker_image).
`

func (c *cli) stateList(args []string) int {
	fs := c.commandFlags("state list")
	rest, code, ok := c.parse(fs, args, stateListUsage)
	if !ok {
		return code
	}
	st, err := state.Load(statePath())
	if err != nil {
		return c.fail(err)
	}
	for _, r := range st.Resources {
		if matchesAny(r.Address, rest) {
			fmt.Fprintln(c.stdout, r.Address)
		}
	}
	return exitOK
}

func matchesAny(addr string, filters []string) bool {
	if len(filters) == 0 {
		return true
	}
	for _, f := range filters {
		if addr == f || strings.HasPrefix(addr, f+".") {
			return true
		}
	}
	return false
}

const stateShowUsage = `Usage: sdform state show [options] ADDRESS

Prints the attributes recorded for one object. Sensitive values are stored
as keyed hashes and print as (sensitive value).
`

func (c *cli) stateShow(args []string) int {
	fs := c.commandFlags("state show")
	rest, code, ok := c.parse(fs, args, stateShowUsage)
	if !ok {
		return code
	}
	if len(rest) != 1 {
		return c.usageError("state show", "give exactly one address")
	}
	st, err := state.Load(statePath())
	if err != nil {
		return c.fail(err)
	}
	r := st.Resource(rest[0])
	if r == nil {
		return c.fail(fmt.Errorf("no object %s in the state%s", rest[0], suggestAddress(st, rest[0])))
	}
	if err := view.StateResource(c.stdout, r, c.viewOptions(c.stdout)); err != nil {
		return c.fail(err)
	}
	return exitOK
}

func suggestAddress(st *state.File, addr string) string {
	var near []string
	for _, r := range st.Resources {
		if strings.HasSuffix(r.Address, "."+lastPart(addr)) || strings.HasPrefix(r.Address, firstPart(addr)+".") {
			near = append(near, r.Address)
		}
	}
	if len(near) == 0 {
		return " (\"sdform state list\" lists what is there)"
	}
	return fmt.Sprintf(" (did you mean %s?)", strings.Join(near, " or "))
}

func lastPart(addr string) string {
	i := strings.LastIndex(addr, ".")
	return addr[i+1:]
}

func firstPart(addr string) string {
	first, _, _ := strings.Cut(strings.TrimPrefix(addr, "data."), ".")
	return first
}

const stateRmUsage = `Usage: sdform state rm [options] ADDRESS...

Removes objects from the state without touching them: sdform forgets the
image or file, which stays where it is. The next plan treats them as new.
The previous state is kept as state.json.backup.
`

func (c *cli) stateRm(ctx context.Context, args []string) int {
	var lockTimeout time.Duration
	fs := c.commandFlags("state rm")
	fs.DurationVar(&lockTimeout, "lock-timeout", 0, "Wait up to `DURATION` for the state lock; 0 fails at once")
	rest, code, ok := c.parse(fs, args, stateRmUsage)
	if !ok {
		return code
	}
	if len(rest) == 0 {
		return c.usageError("state rm", "give at least one address")
	}
	path := statePath()
	lock, err := state.Lock(ctx, path, "state rm", lockTimeout)
	if err != nil {
		c.diagnostics(hcl.Diagnostics{lockDiag(err, lockTimeout)}, nil)
		return exitError
	}
	defer func() {
		if err := lock.Unlock(); err != nil {
			c.diagnostics(hcl.Diagnostics{errorDiag("Cannot release the state lock", err)}, nil)
		}
	}()
	st, err := state.Load(path)
	if err != nil {
		return c.fail(err)
	}
	for _, addr := range rest {
		if st.Resource(addr) == nil {
			return c.fail(fmt.Errorf("no object %s in the state%s; nothing was removed", addr, suggestAddress(st, addr)))
		}
	}
	for _, addr := range rest {
		st.Remove(addr)
	}
	st.SdformVersion = lang.Version
	if err := st.Save(path); err != nil {
		return c.fail(err)
	}
	for _, addr := range rest {
		fmt.Fprintf(c.stdout, "Removed %s\n", addr)
	}
	fmt.Fprintf(c.stdout, "Removed %d object(s) from the state; the objects themselves were left alone.\n", len(rest))
	return exitOK
}

const stateUnlockUsage = `Usage: sdform state unlock [options] LOCK_ID

Clears the state lock with LOCK_ID when the process that took it is gone
(killed, or its machine rebooted). The lock error of another command shows
the ID. A lock whose holder still runs is never cleared: wait for it.
`

func (c *cli) stateUnlock(args []string) int {
	fs := c.commandFlags("state unlock")
	rest, code, ok := c.parse(fs, args, stateUnlockUsage)
	if !ok {
		return code
	}
	if len(rest) != 1 {
		return c.usageError("state unlock", "give the lock ID")
	}
	if err := state.ForceUnlock(statePath(), rest[0]); err != nil {
		if errors.Is(err, state.ErrNotLocked) {
			fmt.Fprintln(c.stdout, "The state is not locked: nothing to do.")
			return exitOK
		}
		return c.fail(err)
	}
	fmt.Fprintf(c.stdout, "Cleared lock %s: other commands can use the state again.\n", rest[0])
	return exitOK
}
