package main

import (
	"context"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/swarmjob/swarmjob/client"
)

func newCancelCmd(env *cliEnv) *cobra.Command {
	return &cobra.Command{
		Use:               "cancel ID...",
		Short:             "Cancel jobs",
		Long:              "Ask the server to cancel jobs and print the ID of each one it accepted.\nCancellation completes in the background; use wait to see it done.",
		Args:              atLeastOne("job ID"),
		ValidArgsFunction: completeJobIDs(env, true, unfinished),
		RunE: func(cmd *cobra.Command, args []string) error {
			return forEachJob(cmd.Context(), env, args, func(ctx context.Context, c *client.Client, id string) error {
				_, err := c.CancelJob(ctx, id)
				return err
			})
		},
	}
}

func newRmCmd(env *cliEnv) *cobra.Command {
	return &cobra.Command{
		Use:               "rm ID...",
		Aliases:           []string{"delete"},
		Short:             "Delete jobs and their stored results",
		Long:              "Delete jobs, cancelling any that still run, and print the ID of each one deleted.",
		Args:              atLeastOne("job ID"),
		ValidArgsFunction: completeJobIDs(env, true, nil),
		RunE: func(cmd *cobra.Command, args []string) error {
			return forEachJob(cmd.Context(), env, args, func(ctx context.Context, c *client.Client, id string) error {
				return c.DeleteJob(ctx, id)
			})
		},
	}
}

// forEachJob calls fn for every ID, printing the ID when fn succeeds and
// the error when it fails, and goes on with the next ID. It returns an
// *exitError with code 1 when any call failed.
func forEachJob(ctx context.Context, env *cliEnv, ids []string, fn func(context.Context, *client.Client, string) error) error {
	c, err := env.client()
	if err != nil {
		return err
	}
	failed := false
	for _, id := range ids {
		if err := fn(ctx, c, id); err != nil {
			if ctx.Err() != nil {
				return err
			}
			env.errorf("%v", err)
			failed = true
			continue
		}
		fmt.Fprintln(env.stdout, id)
	}
	if failed {
		return &exitError{code: 1}
	}
	return nil
}
