package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/spf13/cobra"

	"github.com/swarmjob/swarmjob/api/types"
	"github.com/swarmjob/swarmjob/client"
)

// exitWaitTimeout is wait's exit code when --timeout passes first.
const exitWaitTimeout = 2

// How wait follows a job. Each wait call asks the server to answer when the
// job is terminal or after the refresh interval, whichever comes first, so
// the progress shown on stderr is at most that old: the live line on a
// terminal ticks every second; the plain lines elsewhere need no ticking.
// Calls start at least minWaitCall apart, so the live line is redrawn at
// most four times a second even by a server that answers at once.
const (
	liveRefresh  = time.Second
	plainRefresh = 5 * time.Second
	minWaitCall  = 250 * time.Millisecond
	// retryAfter503 is the pause after a 503: the server is restarting.
	retryAfter503 = time.Second
)

func newWaitCmd(env *cliEnv) *cobra.Command {
	var timeout time.Duration
	cmd := &cobra.Command{
		Use:   "wait [flags] ID",
		Short: "Wait for a job to finish and exit with its exit code",
		Long: "Wait until the job is Succeeded, Failed or Cancelled, print its phase and\n" +
			"exit with the same codes as run. When --timeout passes first, exit 2.\n" +
			"While it waits, it shows the job on stderr: on a terminal, one status line\n" +
			"with the elapsed time, updated in place; otherwise, one line each time the\n" +
			"phase (or its reason) changes.",
		Args:              exactlyOne("job ID"),
		ValidArgsFunction: completeJobIDs(env, false, nil),
		RunE: func(cmd *cobra.Command, args []string) error {
			if timeout < 0 {
				return usageErrorf("--timeout: must not be negative, got %s", timeout)
			}
			return waitJob(cmd.Context(), env, args[0], timeout)
		},
	}
	cmd.Flags().DurationVar(&timeout, "timeout", 0, "give up after this long (0 = wait forever)")
	return cmd
}

// waitJob waits for job id, for at most timeout when it is positive,
// showing its progress on stderr.
func waitJob(ctx context.Context, env *cliEnv, id string, timeout time.Duration) error {
	c, err := env.client()
	if err != nil {
		return err
	}
	wctx := ctx
	if timeout > 0 {
		var cancel context.CancelFunc
		wctx, cancel = context.WithTimeout(ctx, timeout)
		defer cancel()
	}
	p := newWaitProgress(env.stderr, env.now)
	job, err := followWait(wctx, c, id, p.refresh(), p.show)
	p.end()
	if err != nil {
		if ctx.Err() != nil || !errors.Is(wctx.Err(), context.DeadlineExceeded) {
			return err
		}
		// --timeout passed: look at the job once more, since it may have
		// finished as the last wait call was cut.
		if job, err = c.GetJob(ctx, id); err != nil {
			return err
		}
		if !terminal(job) {
			fmt.Fprintln(env.stdout, job.Status.Phase)
			env.errorf("timed out after %s waiting for job %s (%s)", timeout, id, job.Status.Phase)
			return &exitError{code: exitWaitTimeout}
		}
	}
	fmt.Fprintln(env.stdout, job.Status.Phase)
	return jobResult(env, job)
}

// followWait reads the job, then makes wait calls of refresh each until it
// is terminal, and returns it then. It calls show with the job as first
// read and after every call. A 503 (the server restarts) is waited out; any
// other error, and ctx ending, is returned.
func followWait(ctx context.Context, c *client.Client, id string, refresh time.Duration, show func(*types.Job)) (*types.Job, error) {
	job, err := c.GetJob(ctx, id)
	if err != nil {
		return nil, err
	}
	for {
		show(job)
		if terminal(job) {
			return job, nil
		}
		start := time.Now()
		next, err := c.Wait(ctx, id, refresh)
		pause := minWaitCall - time.Since(start)
		var apiErr *client.Error
		switch {
		case errors.As(err, &apiErr) && apiErr.StatusCode == http.StatusServiceUnavailable:
			pause = retryAfter503
		case err != nil:
			return nil, err
		default:
			if job = next; terminal(job) {
				continue
			}
		}
		if err := sleepCtx(ctx, pause); err != nil {
			return nil, err
		}
	}
}

// sleepCtx sleeps for d, or until ctx ends and returns its error.
func sleepCtx(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// waitProgress shows a waited-for job on w (stderr). On a terminal it
// redraws one status line in place (live); elsewhere it writes a line each
// time the phase or its reason changes (plain). It never shows a terminal
// phase: wait prints that on stdout.
type waitProgress struct {
	w     io.Writer
	live  bool
	now   func() time.Time
	drawn bool   // live: a status line is on the screen
	last  string // plain: the phase and reason last written
}

func newWaitProgress(w io.Writer, now func() time.Time) *waitProgress {
	return &waitProgress{w: w, live: isTerminal(w), now: now}
}

// refresh is the server-side timeout of each wait call.
func (p *waitProgress) refresh() time.Duration {
	if p.live {
		return liveRefresh
	}
	return plainRefresh
}

func (p *waitProgress) show(job *types.Job) {
	if terminal(job) {
		return
	}
	if p.live {
		fmt.Fprint(p.w, eraseLine+liveStatus(job, p.now()))
		p.drawn = true
		return
	}
	key := job.Status.Phase + "\x00" + job.Status.Reason
	if key == p.last {
		return
	}
	p.last = key
	// The form of run's and wait's final line, for a job not done yet.
	fmt.Fprintf(p.w, "swarmjob: %s\n", failureLine(job))
}

// end erases the status line, so that what follows starts on a clean line.
func (p *waitProgress) end() {
	if p.drawn {
		fmt.Fprint(p.w, eraseLine)
		p.drawn = false
	}
}

// liveStatus is the live line of a job: its phase (and reason), how long
// since it was created, and its counters, such as
// "Running  1m5s  active 1  succeeded 2/4  failed 0". It is kept short, so
// that it fits on one line of a narrow terminal.
func liveStatus(job *types.Job, now time.Time) string {
	st := &job.Status
	phase := st.Phase
	if st.Reason != "" && st.Reason != st.Phase {
		phase += " (" + st.Reason + ")"
	}
	return fmt.Sprintf("%s  %s  active %d  succeeded %s  failed %d",
		phase, elapsed(now.Sub(job.CreatedAt)), st.Active, completions(job), st.Failed)
}

// terminal reports whether job has finished.
func terminal(job *types.Job) bool { return types.TerminalPhase(job.Status.Phase) }
