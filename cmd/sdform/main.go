// Command sdform plans and applies GPU image pipelines declared in
// .sdf.hcl files: images built with BuildKit, weight files, and the tests
// that accept them. Run `sdform -h` for the commands.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"
)

func main() { os.Exit(runWithSignals(os.Args[1:])) }

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
		fmt.Fprintln(os.Stderr, "Second interrupt: exiting at once.")
		os.Exit(exitInterrupted)
	}()
	return run(ctx, args, os.Stdout, os.Stderr)
}
