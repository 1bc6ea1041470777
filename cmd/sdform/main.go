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

func main() {
	ctx, cancel := context.WithCancel(context.Background())
	sigs := make(chan os.Signal, 2)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	go func() {
		<-sigs
		// The first interrupt lets providers clean up (stop containers,
		// close downloads) and apply persist what finished.
		fmt.Fprintln(os.Stderr, "\nInterrupt received. Gracefully shutting down… (press Ctrl-C again to exit at once)")
		cancel()
		<-sigs
		fmt.Fprintln(os.Stderr, "Second interrupt: exiting at once.")
		os.Exit(exitInterrupted)
	}()
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	cancel()
	os.Exit(code)
}
