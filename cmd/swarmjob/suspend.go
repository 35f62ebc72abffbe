package main

import (
	"context"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/swarmjob/swarmjob/api/types"
	"github.com/swarmjob/swarmjob/client"
)

func newSuspendCmd(env *cliEnv) *cobra.Command {
	return &cobra.Command{
		Use:   "suspend ID...",
		Short: "Suspend jobs",
		Long: "Ask the server to suspend jobs and print the ID of each one it accepted. The\n" +
			"job's active attempts are stopped in the background (their output is kept\n" +
			"and they do not count as failures) and no attempt starts until it is\n" +
			"resumed. A finished job cannot be suspended.",
		Args:              atLeastOne("job ID"),
		ValidArgsFunction: completeJobIDs(env, true, suspendable),
		RunE: func(cmd *cobra.Command, args []string) error {
			return forEachJob(cmd.Context(), env, args, func(ctx context.Context, c *client.Client, id string) error {
				_, err := c.SuspendJob(ctx, id)
				return err
			})
		},
	}
}

func newResumeCmd(env *cliEnv) *cobra.Command {
	return &cobra.Command{
		Use:   "resume ID...",
		Short: "Resume suspended jobs",
		Long: "Ask the server to resume suspended jobs and print the ID of each one it\n" +
			"accepted. A job continues where it was: what succeeded stays done. Resuming\n" +
			"a job that is not suspended changes nothing.",
		Args:              atLeastOne("job ID"),
		ValidArgsFunction: completeJobIDs(env, true, resumable),
		RunE: func(cmd *cobra.Command, args []string) error {
			return forEachJob(cmd.Context(), env, args, func(ctx context.Context, c *client.Client, id string) error {
				_, err := c.ResumeJob(ctx, id)
				return err
			})
		},
	}
}

func newScaleCmd(env *cliEnv) *cobra.Command {
	var parallelism int
	cmd := &cobra.Command{
		Use:   "scale ID --parallelism N",
		Short: "Change how many attempts of a running job run at the same time",
		Long: "Change the parallelism of a job that has not finished and print its ID.\n" +
			"Raising it starts more attempts at once; lowering it stops the youngest\n" +
			"active attempts (they do not count as failures and are run again later).",
		Args:              exactlyOne("job ID"),
		ValidArgsFunction: completeJobIDs(env, false, unfinished),
		RunE: func(cmd *cobra.Command, args []string) error {
			if !cmd.Flags().Changed("parallelism") {
				return usageErrorf("--parallelism is required")
			}
			if parallelism < 1 {
				return usageErrorf("--parallelism: must be at least 1, got %d", parallelism)
			}
			c, err := env.client()
			if err != nil {
				return err
			}
			job, err := c.PatchJob(cmd.Context(), args[0], types.JobPatch{Parallelism: &parallelism})
			if err != nil {
				return err
			}
			fmt.Fprintln(env.stdout, job.ID)
			return nil
		},
	}
	cmd.Flags().IntVar(&parallelism, "parallelism", 0, "attempts run at the same time at most (required)")
	return cmd
}
