// Command swarmjob runs the swarmjob server (swarmjob serve) and is the
// command-line client of its REST API (run, get, ls, logs, wait, cancel, rm).
package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	// After the first signal has cancelled ctx, restore the default handling
	// so that a second Ctrl-C ends the process at once, even while run is
	// still cancelling a job on the server.
	go func() {
		<-ctx.Done()
		stop()
	}()
	err := run(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr)
	stop()
	code := 0
	if err != nil {
		code = 1
		var ee *exitError
		if errors.As(err, &ee) {
			code = ee.code
		} else {
			// run reports its errors itself; this is only a safety net.
			fmt.Fprintln(os.Stderr, "swarmjob:", err)
		}
	}
	os.Exit(code)
}
