package main

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/swarmjob/swarmjob/api/types"
)

// exitWaitTimeout is wait's exit code when --timeout passes first.
const exitWaitTimeout = 2

func newWaitCmd(env *cliEnv) *cobra.Command {
	var timeout time.Duration
	cmd := &cobra.Command{
		Use:   "wait [flags] ID",
		Short: "Wait for a job to finish and exit with its exit code",
		Long: "Wait until the job is Succeeded, Failed or Cancelled, print its phase and\n" +
			"exit with the same codes as run. When --timeout passes first, exit 2.",
		Args: exactlyOne("job ID"),
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

// waitJob waits for job id, for at most timeout when it is positive.
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
	job, err := c.WaitTerminal(wctx, id)
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

// terminal reports whether job has finished.
func terminal(job *types.Job) bool { return types.TerminalPhase(job.Status.Phase) }
