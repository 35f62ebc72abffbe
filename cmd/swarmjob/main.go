// Command swarmjob runs the swarmjob server (swarmjob serve) and is the
// command-line client of its REST API (run, submit, get, ls, logs, results,
// wait, cancel, suspend, resume, scale, rm, events, watch, completion).
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
	// Signals stay caught until run returns: after the first one cancels
	// ctx, run still has to cancel the job on the server (bounded by a
	// timeout), and a repeated signal (timeout(1) and process groups often
	// deliver two) must not kill the process before that.
	err := run(ctx, os.Args[1:], os.Getenv, os.Stdin, os.Stdout, os.Stderr)
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
