package main

import (
	"cmp"
	"context"
	"fmt"
	"io"
	"math"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/swarmjob/swarmjob/api/types"
	"github.com/swarmjob/swarmjob/client"
	"github.com/swarmjob/swarmjob/jobs"
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
	secrets      fileRefFlag
	configs      fileRefFlag
	maxLogBytes  bytesFlag
	detach       bool
	verbose      bool

	// Batch flags; the int ones are sent only when given.
	completions          int
	parallelism          int
	indexed              bool
	backoffLimitPerIndex int
	maxFailedIndexes     int
	attemptDeadline      time.Duration
	stopGracePeriod      time.Duration
	suspend              bool
	maxChildren          int
	maxChildDepth        int
	idempotencyKey       string
}

func newRunCmd(env *cliEnv) *cobra.Command {
	var o runOptions
	cmd := &cobra.Command{
		Use:   "run [flags] IMAGE [ARGS...]",
		Short: "Submit a job, stream its output and exit with its exit code",
		Long: "Submit a job, stream its stdout to stdout and its stderr to stderr while it\n" +
			"runs, attempt after attempt, and exit with its exit code once it finished,\n" +
			"like docker run. Exit codes: 0 when it succeeded; when it\n" +
			"failed, the exit code of its last failed attempt; 124 when its deadline\n" +
			"passed; 125 when it failed without an exit code (for example a missing\n" +
			"image); 130 when it was cancelled. Ctrl-C cancels the job unless --detach is\n" +
			"given. Flags must come before IMAGE; everything after IMAGE is the job's ARGS.\n" +
			"For failure and success policies, use submit with a job file.",
		Args: atLeastOne("IMAGE"),
		RunE: func(cmd *cobra.Command, args []string) error {
			req, err := o.request(cmd, args)
			if err != nil {
				return err
			}
			return runJob(cmd.Context(), env, req, o.idempotencyKey, o.detach, o.verbose)
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
	f.IntVar(&o.completions, "completions", 1, "successful attempts (or indexes, with --indexed) the job needs")
	f.IntVar(&o.parallelism, "parallelism", 1, "attempts run at the same time at most")
	f.BoolVar(&o.indexed, "indexed", false, "completionMode Indexed: each index 0..completions-1 must succeed once; attempts see SWARMJOB_INDEX")
	f.IntVar(&o.backoffLimitPerIndex, "backoff-limit-per-index", 0, "retries per index after failed attempts (needs --indexed; makes --backoff-limit default to unlimited)")
	f.IntVar(&o.maxFailedIndexes, "max-failed-indexes", 0, "fail the job once more indexes than this failed (needs --backoff-limit-per-index)")
	f.DurationVar(&o.attemptDeadline, "attempt-deadline", 0, "time limit of each attempt from its creation, rounded up to seconds (0 = none)")
	f.DurationVar(&o.stopGracePeriod, "stop-grace-period", 0, "time a stopped attempt has between SIGTERM and SIGKILL, rounded up to seconds; its output until it exits is kept (default: Swarm's 10s, or the tenant's policy ceiling when lower)")
	f.BoolVar(&o.suspend, "suspend", false, "submit the job suspended; it starts once resumed (swarmjob resume ID)")
	f.Float64Var(&o.cpus, "cpus", 0, "CPU limit per attempt, may be fractional (0 = none)")
	f.Var(&o.memory, "memory", "memory limit per attempt, such as 64m or 1g (0 = none)")
	f.StringArrayVar(&o.constraints, "constraint", nil, "Swarm placement constraint such as node.role==worker (repeatable)")
	f.StringArrayVar(&o.networks, "network", nil, "network to attach (repeatable)")
	f.Var(&o.secrets, "secret", "Swarm secret to give the job as a file, as docker service create takes it: NAME (at /run/secrets/NAME) or source=NAME,target=FILE,uid=0,gid=0,mode=0400 (repeatable)")
	f.Var(&o.configs, "config", "Swarm config to give the job as a file: NAME (at /NAME) or source=NAME,target=/PATH,uid=0,gid=0,mode=0444 (repeatable)")
	f.Var(&o.maxLogBytes, "max-log-bytes", "output kept per attempt, such as 64k (default: the server's, lowered to the tenant's ceiling)")
	f.IntVar(&o.maxChildren, "max-children", 0, "let the job start up to this many child jobs: it gets SWARMJOB_URL and SWARMJOB_TOKEN (needs a server with --job-network)")
	f.IntVar(&o.maxChildDepth, "max-child-depth", 0, "generations of child jobs allowed below the job (default 1: children only; needs --max-children)")
	f.StringVar(&o.idempotencyKey, "idempotency-key", "", "submit at most once per key (24 h): repeating the command with the same key and job follows the job the first one created")
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
			Secrets:    o.secrets.refs,
			Configs:    o.configs.refs,
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
	var err error
	if req.ActiveDeadlineSeconds, err = deadlineSeconds("--deadline", o.deadline); err != nil {
		return req, err
	}
	if req.AttemptDeadlineSeconds, err = deadlineSeconds("--attempt-deadline", o.attemptDeadline); err != nil {
		return req, err
	}
	if cmd.Flags().Changed("stop-grace-period") {
		// 0 is a grace period too: none.
		if o.stopGracePeriod < 0 || o.stopGracePeriod > jobs.MaxStopGracePeriodSeconds*time.Second {
			return req, usageErrorf("--stop-grace-period: must be between 0 and %s, got %s", jobs.MaxStopGracePeriodSeconds*time.Second, o.stopGracePeriod)
		}
		secs := int64((o.stopGracePeriod + time.Second - 1) / time.Second)
		req.StopGracePeriodSeconds = &secs
	}
	for _, c := range []struct {
		flag string
		v    int
		min  int
		dst  **int
	}{
		{"completions", o.completions, 1, &req.Completions},
		{"parallelism", o.parallelism, 1, &req.Parallelism},
		{"backoff-limit-per-index", o.backoffLimitPerIndex, 0, &req.BackoffLimitPerIndex},
		{"max-failed-indexes", o.maxFailedIndexes, 0, &req.MaxFailedIndexes},
	} {
		if !cmd.Flags().Changed(c.flag) {
			continue
		}
		if c.v < c.min {
			return req, usageErrorf("--%s: must be at least %d, got %d", c.flag, c.min, c.v)
		}
		*c.dst = &c.v
	}
	if o.indexed {
		req.CompletionMode = types.CompletionIndexed
	}
	if o.suspend {
		req.Suspend = &o.suspend
	}
	if cmd.Flags().Changed("max-log-bytes") {
		if o.maxLogBytes.n < 1 {
			return req, usageErrorf("--max-log-bytes: must be at least 1 byte, got %d", o.maxLogBytes.n)
		}
		req.MaxLogBytes = &o.maxLogBytes.n
	}
	switch {
	case o.maxChildren < 0 || o.maxChildDepth < 0:
		return req, usageErrorf("--max-children and --max-child-depth: must not be negative")
	case o.maxChildDepth > 0 && o.maxChildren == 0:
		return req, usageErrorf("--max-child-depth: needs --max-children")
	case o.maxChildren > 0:
		req.ChildJobs = &types.ChildJobs{MaxChildren: o.maxChildren, MaxDepth: o.maxChildDepth}
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

// deadlineSeconds converts the duration of a deadline flag to whole seconds,
// rounded up; 0 means none (nil).
func deadlineSeconds(flag string, d time.Duration) (*int64, error) {
	switch {
	case d < 0:
		return nil, usageErrorf("%s: must not be negative, got %s", flag, d)
	case d == 0:
		return nil, nil
	}
	secs := int64((d + time.Second - 1) / time.Second)
	return &secs, nil
}

// runJob submits req and, unless detach, waits for the job, copies its logs
// and returns an *exitError with the job's exit code when it is not 0.
func runJob(ctx context.Context, env *cliEnv, req types.CreateJobRequest, key string, detach, verbose bool) error {
	c, err := env.client()
	if err != nil {
		return err
	}
	job, err := createJob(ctx, env, c, req, key)
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
	if s := job.Spec.Suspend; s != nil && *s {
		env.errorf("job %s is suspended; it starts once resumed: swarmjob resume %s", job.ID, job.ID)
	}

	// The output streams while the job runs; both streams end once the job
	// is terminal. Then the wait returns at once with the final job.
	watchCtx, stopWatching := context.WithCancel(ctx)
	watched := make(chan struct{})
	go func() {
		defer close(watched)
		reportWaiting(watchCtx, c, env, job.ID)
	}()
	streamErr := streamOutput(ctx, c, job.ID, env.stdout, env.stderr)
	stopWatching()
	<-watched
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
			env.errorf("cancel requested for job %s; what it writes while it stops is kept: swarmjob logs %s", job.ID, job.ID)
		}
		return &exitError{code: exitInterrupted}
	}

	if streamErr != nil {
		// The job's result decides the exit code; missing output is
		// reported but does not hide it.
		env.errorf("output of job %s is incomplete (%v); the stored output: swarmjob logs %s", final.ID, streamErr, final.ID)
	}
	return jobResult(env, final)
}

// reportWaiting tells on stderr why the job is not running yet, whenever
// that changes (no node fits, queued behind the tenant's cap, backing off),
// until ctx ends. The job's output says nothing while it waits, so without
// this `run` would look hung. Errors end the reporting silently: it is a
// courtesy, the output streams and the final wait carry the result.
func reportWaiting(ctx context.Context, c *client.Client, env *cliEnv, id string) {
	last := ""
	for ctx.Err() == nil {
		j, err := c.Wait(ctx, id, 2*time.Second)
		if err != nil || types.TerminalPhase(j.Status.Phase) {
			return
		}
		why := ""
		if j.Status.Phase == types.PhasePending || j.Status.Reason != "" {
			why = strings.TrimPrefix(j.Status.Reason+": "+j.Status.Message, ": ")
		}
		if why != last && strings.TrimSpace(why) != "" && strings.TrimSpace(why) != ":" {
			env.errorf("job %s %s: %s", id, strings.ToLower(j.Status.Phase), why)
		}
		last = why
		if err := sleepCtx(ctx, time.Second); err != nil {
			return
		}
	}
}

// streamOutput copies the job's stdout to stdout and its stderr to stderr
// as the job writes them, with two followed logs requests, until the job
// is terminal. It returns the first error of either stream, such as a
// response cut by a server restart or ctx ending.
func streamOutput(ctx context.Context, c *client.Client, id string, stdout, stderr io.Writer) error {
	errs := make(chan error, 2)
	for _, s := range []struct {
		stream string
		w      io.Writer
	}{{"stdout", stdout}, {"stderr", stderr}} {
		go func() {
			errs <- copyLogs(ctx, c, id, client.LogOptions{Stream: s.stream, Follow: true}, s.w)
		}()
	}
	return cmp.Or(<-errs, <-errs)
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

// Exit codes for jobs that did not exit on their own, following docker run
// and timeout(1).
const (
	exitDeadline  = 124
	exitNoCode    = 125
	exitCancelled = 130
)

// exitCode maps a job to the exit code of run and wait: 0 for Succeeded;
// for Failed, 124 when the job's deadline passed, else the exit code of its
// last failed attempt (the one that finished last), else 124 when that
// attempt passed its own deadline, else 125 (no attempt failed, a rejected
// task, or an exit code that a process cannot return); 130 for Cancelled;
// 1 for any other phase.
func exitCode(job *types.Job) int {
	switch job.Status.Phase {
	case types.PhaseSucceeded:
		return 0
	case types.PhaseCancelled:
		return exitCancelled
	case types.PhaseFailed:
		if job.Status.Reason == types.ReasonDeadlineExceeded {
			return exitDeadline
		}
		a := lastFailedAttempt(job)
		switch {
		case a == nil:
		case a.ExitCode != nil && *a.ExitCode > 0 && *a.ExitCode <= 255:
			return *a.ExitCode
		case a.Reason == types.AttemptReasonDeadlineExceeded:
			return exitDeadline
		}
		return exitNoCode
	default:
		return 1
	}
}

// lastFailedAttempt returns the failed attempt that finished last, the
// later one in the list on a tie, or nil when no attempt failed. With
// parallel attempts, the last attempt in the list may be one that was
// stopped or still succeeded.
func lastFailedAttempt(job *types.Job) *types.Attempt {
	var last *types.Attempt
	for i := range job.Status.Attempts {
		a := &job.Status.Attempts[i]
		if a.State != types.AttemptFailed {
			continue
		}
		if last == nil || finishedAt(a).Compare(finishedAt(last)) >= 0 {
			last = a
		}
	}
	return last
}

func finishedAt(a *types.Attempt) time.Time {
	if a.FinishedAt == nil {
		return time.Time{}
	}
	return *a.FinishedAt
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

// createJob submits req, with the Idempotency-Key key when it is not
// empty; a replay (the job the key created before) is said on stderr.
func createJob(ctx context.Context, env *cliEnv, c *client.Client, req types.CreateJobRequest, key string) (*types.Job, error) {
	if key == "" {
		return c.CreateJob(ctx, req)
	}
	job, created, err := c.CreateJobWithKey(ctx, key, req)
	if err == nil && !created {
		env.errorf("job %s was already submitted with this idempotency key; nothing new was created", job.ID)
	}
	return job, err
}
