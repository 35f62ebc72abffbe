// Command bench measures swarmjob against the raw Docker Engine API it is
// built on, in the same run, on the same Swarm, with the same jobs.
//
// Run it with `make bench` (or `go run ./bench` from the module root, after
// hack/swarm-up.sh). It builds swarmjob, starts `swarmjob serve` on a free
// port with its store in a temporary directory, and measures two systems:
//
//   - raw: the floor. With github.com/moby/moby/client it creates the same
//     one-shot service swarmjob would (replicated, 1 replica, restart
//     none), polls TaskList by label every 25 ms until the task is
//     terminal, reads the service's logs (stdout and stderr, demultiplexed)
//     and removes the service. Nothing is stored.
//   - swarmjob: the same job through the REST API with the Go client:
//     CreateJob, server-side Wait until terminal, then Logs read fully. The
//     server's own costs (store writes with fsync, its 100 ms poll, removing
//     the service before it reports the job terminal) are all inside this.
//
// Workloads, each measured on both systems:
//
//   - single job latency, sequential, for `true` and `sleep 1`: the time
//     from the create call (raw) or the submission (swarmjob) until the
//     exit status and the logs are in hand. Two job lengths, because the
//     manager records task states in ~100 ms batches, so a single length
//     can land on a lucky or unlucky step.
//   - burst: N jobs submitted at once; the time until the results of all
//     of them are in hand.
//   - the server's own cost: its CPU time (utime+stime from /proc) over an
//     idle window and during the bursts, and its peak RSS (VmHWM). The
//     Engine API calls the server makes are not counted (that would need a
//     proxy in the server's DOCKER_HOST, adding a hop to every timed call),
//     so CPU time stands in for them.
//
// Why ratios: this machine (2 vCPU, shared with other work) is noisy, and
// absolute latencies drift by tens of percent between runs. Both systems are
// therefore measured in the same run, interleaved per iteration (the order
// alternates, so neither always runs second), each after an uncounted
// warm-up, and each run waits until the previous run's containers are gone.
// The swarmjob/raw ratio is the number to compare across machines and
// commits; the absolute values only describe this run.
//
// Nothing here asserts a time: a benchmark that fails on a slow machine
// measures the machine. The program fails only when a job does not succeed
// or the Engine or the server returns an error.
//
// Cleanup: raw services carry the label io.swarmjob.bench.run=<run ID> and
// are removed by ID (and, as a safety net, by that label) even on error or
// interrupt. They deliberately do not carry io.swarmjob.managed=true: every
// swarmjob server on this Swarm would otherwise observe them (and poll
// fast), and another server's garbage collector could remove them. swarmjob
// jobs are deleted through the API at the end; services of those jobs still
// present after the server stopped are removed directly. Nothing else on
// the Swarm is touched: the server runs with a long --orphan-grace so that
// its garbage collector leaves other servers' services alone.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"
)

// config holds the command-line flags.
type config struct {
	runs      int
	burst     int
	burstRuns int
	idle      time.Duration
	rawPoll   time.Duration
	image     string
	jsonPath  string
	// serveFlags are extra flags for `swarmjob serve`, to measure other
	// settings (such as --poll-interval).
	serveFlags []string
}

func parseFlags() config {
	var c config
	flag.IntVar(&c.runs, "n", 15, "sequential runs per system for each single-job workload")
	flag.IntVar(&c.burst, "burst", 20, "jobs submitted at once in the burst workload")
	flag.IntVar(&c.burstRuns, "burst-runs", 2, "bursts per system; the median is reported")
	flag.DurationVar(&c.idle, "idle", 10*time.Second, "window over which the idle server's CPU time is measured")
	flag.DurationVar(&c.rawPoll, "raw-poll", 25*time.Millisecond, "TaskList poll interval of the raw baseline")
	flag.StringVar(&c.image, "image", "swarmjob/busybox:test", "image of every job (must be present locally)")
	flag.StringVar(&c.jsonPath, "json", "", "also write the raw numbers as JSON to this file")
	serveFlags := flag.String("serve-flags", "", "extra flags for swarmjob serve, space-separated (e.g. \"--poll-interval 25ms\")")
	flag.Parse()
	c.serveFlags = strings.Fields(*serveFlags)
	return c
}

func (c config) validate() error {
	switch {
	case flag.NArg() > 0:
		return fmt.Errorf("unexpected arguments %q", flag.Args())
	case c.runs < 1 || c.burst < 1 || c.burstRuns < 1:
		return errors.New("-n, -burst and -burst-runs must be at least 1")
	case c.idle <= 0 || c.rawPoll <= 0:
		return errors.New("-idle and -raw-poll must be positive")
	}
	return nil
}

func main() {
	cfg := parseFlags()
	if err := cfg.validate(); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, cfg)
	interrupted := ctx.Err() != nil
	stop()
	if interrupted {
		// The errors are all "interrupt signal received"; cleanup ran.
		fmt.Fprintln(os.Stderr, "bench: interrupted")
		os.Exit(130)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

// run sets everything up, measures, reports, and tears down. Teardown runs
// on every path, with a context of its own so that an interrupt does not
// cut it short.
func run(ctx context.Context, cfg config) (err error) {
	b, err := setUp(ctx, cfg)
	defer func() { err = errors.Join(err, b.tearDown(ctx, err)) }()
	if err != nil {
		return err
	}

	rep, err := b.measureAll(ctx)
	if err != nil {
		return err
	}
	printReport(os.Stdout, rep)
	if cfg.jsonPath != "" {
		if err := writeJSON(cfg.jsonPath, rep); err != nil {
			return err
		}
		logf("raw numbers written to %s", cfg.jsonPath)
	}
	return nil
}

// logf prints progress to stderr, keeping stdout for the report.
func logf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "bench: "+format+"\n", args...)
}
