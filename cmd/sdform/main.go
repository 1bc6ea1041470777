package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"runtime/debug"
	"syscall"
)

func main() {
	tuneGC()
	os.Exit(runWithSignals(os.Args[1:]))
}

// gcPercent is the GOGC that sdform runs with unless the environment sets
// one. sdform is a short-lived process whose live heap stays small (a
// configuration, a state file, a plan: a few MB even for hundreds of
// objects) while it allocates many short-lived values (HCL parsing, cty
// conversions, JSON). At Go's default of 100 the collector runs each time
// the heap doubles from 4 MB: 5 times in a no-op plan of 200 objects, once
// at 400, for about a fifth of that plan's CPU time; the memory cost is
// bounded by the small live heap (max RSS 48 → 52 MB there).
const gcPercent = 400

// tuneGC sets gcPercent unless GOGC is set in the environment, so that a
// user can undo the trade (GOGC=100) or push it further (GOGC=off).
func tuneGC() {
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(gcPercent)
	}
}

// runWithSignals runs the CLI with the process's streams. The first
// SIGINT or SIGTERM cancels the command's context, so that providers clean
// up (stop containers, close downloads) and apply saves what finished; the
// second exits at once.
func runWithSignals(args []string) int {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	sigs := make(chan os.Signal, 2)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	// Stop delivery, then close the channel so that the goroutine ends.
	defer close(sigs)
	defer signal.Stop(sigs)
	go func() {
		if _, ok := <-sigs; !ok {
			return
		}
		fmt.Fprintln(os.Stderr, "\nInterrupt received. Gracefully shutting down… (press Ctrl-C again to exit at once)")
		cancel()
		if _, ok := <-sigs; !ok {
			return
		}
		fmt.Fprintln(os.Stderr, "Second interrupt: exiting at once. What was in flight is left as it stood: a download stays as its .partial file (the next apply resumes it), and a ComfyUI server container may keep running (the next apply or destroy of its workflow removes it). The state holds every object finished before.")
		os.Exit(exitInterrupted)
	}()
	return run(ctx, args, os.Stdout, os.Stderr)
}
