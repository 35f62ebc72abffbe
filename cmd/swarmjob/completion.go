package main

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/swarmjob/swarmjob/api/types"
	"github.com/swarmjob/swarmjob/client"
)

// Shell completion: cobra's own "completion" command writes the scripts
// (bash, zsh, fish, powershell); they call "swarmjob __complete ...", which
// runs the ValidArgsFunction of the command being completed. Commands that
// take job IDs offer those of recent jobs.

// completionListTimeout bounds the list request of a completion: a shell
// waits for it, and a server that does not answer must not hang the prompt.
const completionListTimeout = 3 * time.Second

// completionListLimit is how many of the newest jobs a completion offers.
const completionListLimit = 200

// completeJobIDs returns a ValidArgsFunction offering the IDs of the newest
// jobs that start with what is typed, newest first, each described by its
// name, phase and age. keep, when not nil, picks the jobs that make sense
// for the command (cancel offers only unfinished jobs). A command that
// takes one ID (many false) completes only its first argument; one that
// takes several leaves out the IDs already given. It is best effort: when
// the server cannot be reached, it offers nothing (and never file names).
func completeJobIDs(env *cliEnv, many bool, keep func(*types.Job) bool) cobra.CompletionFunc {
	return func(cmd *cobra.Command, args []string, toComplete string) ([]cobra.Completion, cobra.ShellCompDirective) {
		const directive = cobra.ShellCompDirectiveNoFileComp | cobra.ShellCompDirectiveKeepOrder
		if !many && len(args) > 0 {
			return nil, directive
		}
		jobs, err := recentJobs(cmd.Context(), env)
		if err != nil {
			cobra.CompDebugln(fmt.Sprintf("listing jobs for completion: %v", err), false)
			return nil, directive
		}
		now := env.now()
		var out []cobra.Completion
		for i := range jobs {
			j := &jobs[i]
			if !strings.HasPrefix(j.ID, toComplete) || slices.Contains(args, j.ID) || (keep != nil && !keep(j)) {
				continue
			}
			desc := fmt.Sprintf("%s %s %s", dash(j.Name), j.Status.Phase, age(now.Sub(j.CreatedAt)))
			out = append(out, cobra.CompletionWithDesc(j.ID, desc))
		}
		return out, directive
	}
}

// recentJobs lists the newest jobs, within completionListTimeout.
func recentJobs(ctx context.Context, env *cliEnv) ([]types.Job, error) {
	c, err := env.client()
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(ctx, completionListTimeout)
	defer cancel()
	list, err := c.ListJobs(ctx, client.ListOptions{Limit: completionListLimit})
	if err != nil {
		return nil, err
	}
	return list.Items, nil
}

// unfinished keeps jobs that are not terminal: those cancel and scale act on.
func unfinished(j *types.Job) bool { return !terminal(j) }

// suspendable keeps unfinished jobs not asked to suspend yet.
func suspendable(j *types.Job) bool { return unfinished(j) && !isSuspended(j) }

// resumable keeps unfinished jobs that are suspended or asked to be.
func resumable(j *types.Job) bool { return unfinished(j) && isSuspended(j) }

func isSuspended(j *types.Job) bool {
	return j.Status.Phase == types.PhaseSuspended || (j.Spec.Suspend != nil && *j.Spec.Suspend)
}
