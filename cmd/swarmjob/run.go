package main

import (
	"context"
	"fmt"
	"io"
	"math"
	"time"

	"github.com/spf13/cobra"

	"github.com/swarmjob/swarmjob/api/types"
	"github.com/swarmjob/swarmjob/client"
)

// cancelTimeout bounds the cancel request sent after Ctrl-C, when the
// command's own context is already done.
const cancelTimeout = 10 * time.Second

// runOptions are the flags of swarmjob run.
type runOptions struct {
	name         string
	labels       kvFlag
	env          kvFlag
	command      []string
	workdir      string
	user         string
	backoffLimit int
	deadline     time.Duration
	cpus         float64
	memory       bytesFlag
	constraints  []string
	networks     []string
	detach       bool
	verbose      bool
}

func newRunCmd(env *cliEnv) *cobra.Command {
	var o runOptions
	cmd := &cobra.Command{
		Use:   "run [flags] IMAGE [ARGS...]",
		Short: "Submit a job, print its output and exit with its exit code",
		Long: "Submit a job, wait until it finishes, print its stdout and stderr, and exit\n" +
			"with its exit code, like docker run. Exit codes: the job's own exit code;\n" +
			"124 when its deadline passed; 125 when it failed without an exit code (for\n" +
			"example a missing image); 130 when it was cancelled. Ctrl-C cancels the job\n" +
			"unless --detach is given. Flags must come before IMAGE; everything after\n" +
			"IMAGE is the job's ARGS.",
		Args: atLeastOne("IMAGE"),
		RunE: func(cmd *cobra.Command, args []string) error {
			req, err := o.request(cmd, args)
			if err != nil {
				return err
			}
			return runJob(cmd.Context(), env, req, o.detach, o.verbose)
		},
	}
	// Everything after IMAGE belongs to the job, flags included.
	cmd.Flags().SetInterspersed(false)
	f := cmd.Flags()
	f.StringVar(&o.name, "name", "", "job name")
	f.Var(&o.labels, "label", "job label (repeatable)")
	f.VarP(&o.env, "env", "e", "environment variable of the job (repeatable)")
	f.StringArrayVar(&o.command, "command", nil, "replace the image's ENTRYPOINT; each use adds one argv element (repeatable)")
	f.StringVarP(&o.workdir, "workdir", "w", "", "working directory inside the container")
	f.StringVarP(&o.user, "user", "u", "", "user to run as (name|uid[:group|gid])")
	f.IntVar(&o.backoffLimit, "backoff-limit", 0, "retries after failed attempts (server default 0)")
	f.DurationVar(&o.deadline, "deadline", 0, "time limit of the job from its start, rounded up to seconds (0 = none)")
	f.Float64Var(&o.cpus, "cpus", 0, "CPU limit per attempt, may be fractional (0 = none)")
	f.Var(&o.memory, "memory", "memory limit per attempt, such as 64m or 1g (0 = none)")
	f.StringArrayVar(&o.constraints, "constraint", nil, "Swarm placement constraint such as node.role==worker (repeatable)")
	f.StringArrayVar(&o.networks, "network", nil, "network to attach (repeatable)")
	f.BoolVarP(&o.detach, "detach", "d", false, "print the job ID and return without waiting")
	f.BoolVarP(&o.verbose, "verbose", "v", false, "report the job ID on stderr when it is submitted")
	return cmd
}

// request builds the job request from the flags and IMAGE [ARGS...].
func (o *runOptions) request(cmd *cobra.Command, args []string) (types.CreateJobRequest, error) {
	req := types.CreateJobRequest{
		Name:   o.name,
		Labels: o.labels.m,
		JobSpec: types.JobSpec{
			Image:      args[0],
			Command:    o.command,
			Env:        o.env.m,
			WorkingDir: o.workdir,
			User:       o.user,
			Networks:   o.networks,
		},
	}
	if len(args) > 1 {
		req.Args = args[1:]
	}
	if cmd.Flags().Changed("backoff-limit") {
		if o.backoffLimit < 0 {
			return req, usageErrorf("--backoff-limit: must not be negative, got %d", o.backoffLimit)
		}
		req.BackoffLimit = &o.backoffLimit
	}
	switch {
	case o.deadline < 0:
		return req, usageErrorf("--deadline: must not be negative, got %s", o.deadline)
	case o.deadline > 0:
		secs := int64((o.deadline + time.Second - 1) / time.Second)
		req.ActiveDeadlineSeconds = &secs
	}
	if math.IsNaN(o.cpus) || math.IsInf(o.cpus, 0) || o.cpus < 0 {
		return req, usageErrorf("--cpus: must be a non-negative number, got %v", o.cpus)
	}
	if o.cpus > 0 || o.memory.n > 0 {
		req.Resources = &types.Resources{Limits: &types.ResourceAmounts{CPUs: o.cpus, MemoryBytes: o.memory.n}}
	}
	if len(o.constraints) > 0 {
		req.Placement = &types.Placement{Constraints: o.constraints}
	}
	return req, nil
}

// runJob submits req and, unless detach, waits for the job, copies its logs
// and returns an *exitError with the job's exit code when it is not 0.
func runJob(ctx context.Context, env *cliEnv, req types.CreateJobRequest, detach, verbose bool) error {
	c, err := env.client()
	if err != nil {
		return err
	}
	job, err := c.CreateJob(ctx, req)
	if err != nil {
		return err
	}
	if detach {
		fmt.Fprintln(env.stdout, job.ID)
		return nil
	}
	if verbose {
		env.errorf("job %s submitted", job.ID)
	}

	final, err := c.WaitTerminal(ctx, job.ID)
	if err != nil {
		if ctx.Err() == nil {
			return err
		}
		// Interrupted: cancel on the server with a context of our own,
		// since ctx is done.
		cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), cancelTimeout)
		defer cancel()
		if _, err := c.CancelJob(cctx, job.ID); err != nil {
			env.errorf("cancelling job %s: %v", job.ID, err)
		} else {
			env.errorf("cancelled job %s", job.ID)
		}
		return &exitError{code: exitInterrupted}
	}

	if len(final.Status.Attempts) > 0 {
		for _, s := range []struct {
			stream string
			w      io.Writer
		}{{"stdout", env.stdout}, {"stderr", env.stderr}} {
			if err := copyLogs(ctx, c, final.ID, client.LogOptions{Stream: s.stream}, s.w); err != nil {
				if ctx.Err() != nil {
					return &exitError{code: exitInterrupted}
				}
				// The job's result decides the exit code; missing
				// output is reported but does not hide it.
				env.errorf("fetching %s of job %s: %v", s.stream, final.ID, err)
			}
		}
	}
	return jobResult(env, final)
}

// copyLogs writes a job's logs selected by opts to w.
func copyLogs(ctx context.Context, c *client.Client, id string, opts client.LogOptions, w io.Writer) error {
	rc, err := c.Logs(ctx, id, opts)
	if err != nil {
		return err
	}
	defer rc.Close()
	if _, err := io.Copy(w, rc); err != nil {
		return fmt.Errorf("reading logs: %w", err)
	}
	return nil
}

// reasonDeadlineExceeded is the status reason of a job stopped at its
// activeDeadlineSeconds. It is part of the API contract; the server's
// jobs package defines the same string.
const reasonDeadlineExceeded = "DeadlineExceeded"

// Exit codes for jobs that did not exit on their own, following docker run
// and timeout(1).
const (
	exitDeadline  = 124
	exitNoCode    = 125
	exitCancelled = 130
)

// exitCode maps a job to the exit code of run and wait: 0 for Succeeded,
// 124 for Failed by its deadline, the last attempt's exit code for other
// failures, 125 when there is none (rejected task, or an exit code that a
// process cannot return), 130 for Cancelled, and 1 for any other phase.
func exitCode(job *types.Job) int {
	switch job.Status.Phase {
	case types.PhaseSucceeded:
		return 0
	case types.PhaseCancelled:
		return exitCancelled
	case types.PhaseFailed:
		if job.Status.Reason == reasonDeadlineExceeded {
			return exitDeadline
		}
		if code, ok := job.ExitCode(); ok && code > 0 && code <= 255 {
			return code
		}
		return exitNoCode
	default:
		return 1
	}
}

// jobResult reports a terminal job that did not succeed on stderr and
// returns its exit code as an *exitError, or nil when it succeeded.
func jobResult(env *cliEnv, job *types.Job) error {
	code := exitCode(job)
	if code == 0 {
		return nil
	}
	env.errorf("%s", failureLine(job))
	return &exitError{code: code}
}

// failureLine is "job <id> <phase>[: <reason>][: <message>]", leaving out a
// reason that repeats the phase.
func failureLine(job *types.Job) string {
	s := fmt.Sprintf("job %s %s", job.ID, job.Status.Phase)
	if r := job.Status.Reason; r != "" && r != job.Status.Phase {
		s += ": " + r
	}
	if m := job.Status.Message; m != "" {
		s += ": " + m
	}
	return s
}
