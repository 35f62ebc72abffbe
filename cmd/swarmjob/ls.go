package main

import (
	"context"
	"fmt"
	"strconv"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/swarmjob/swarmjob/client"
)

// lsOptions are the flags of swarmjob ls.
type lsOptions struct {
	phase  string
	labels kvFlag
	limit  int
	all    bool
	quiet  bool
}

func newLsCmd(env *cliEnv) *cobra.Command {
	var o lsOptions
	cmd := &cobra.Command{
		Use:     "ls [flags]",
		Aliases: []string{"list"},
		Short:   "List jobs",
		Long: "List jobs, one page of --limit jobs unless --all follows the server's\n" +
			"cursors to the last page.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if o.limit < 0 {
				return usageErrorf("--limit: must not be negative, got %d", o.limit)
			}
			return listJobs(cmd.Context(), env, o)
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.phase, "phase", "", "only jobs in this phase: Pending, Running, Suspended, Succeeded, Failed or Cancelled")
	f.Var(&o.labels, "label", "only jobs with this label (repeatable)")
	f.IntVar(&o.limit, "limit", 0, "jobs per page (0 = server default)")
	f.BoolVar(&o.all, "all", false, "list every page")
	f.BoolVarP(&o.quiet, "quiet", "q", false, "print only job IDs")
	return cmd
}

func listJobs(ctx context.Context, env *cliEnv, o lsOptions) error {
	c, err := env.client()
	if err != nil {
		return err
	}
	tw := tabwriter.NewWriter(env.stdout, 0, 8, 3, ' ', 0)
	if !o.quiet {
		fmt.Fprintln(tw, "ID\tNAME\tPHASE\tATTEMPTS\tAGE\tREASON")
	}
	now := env.now()
	opts := client.ListOptions{Phase: o.phase, Labels: o.labels.m, Limit: o.limit}
	seen := map[string]bool{}
	for {
		list, err := c.ListJobs(ctx, opts)
		if err != nil {
			return err
		}
		for i := range list.Items {
			j := &list.Items[i]
			if o.quiet {
				fmt.Fprintln(tw, j.ID)
				continue
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%s\t%s\n", j.ID, dash(j.Name), j.Status.Phase,
				len(j.Status.Attempts), age(now.Sub(j.CreatedAt)), dash(j.Status.Reason))
		}
		if list.NextCursor == "" {
			break
		}
		if !o.all {
			if err := tw.Flush(); err != nil {
				return err
			}
			env.errorf("more jobs exist; use --all to list them all")
			return nil
		}
		// A server repeating a cursor would make --all loop forever.
		if seen[list.NextCursor] {
			return fmt.Errorf("listing jobs: server returned cursor %q twice", list.NextCursor)
		}
		seen[list.NextCursor] = true
		opts.Cursor = list.NextCursor
	}
	return tw.Flush()
}

// dash stands in for an empty table cell, so columns stay parseable.
func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// age formats d in the largest whole unit that fits, like kubectl: 45s,
// 12m, 5h, 3d. Negative ages (clock skew) are 0s.
func age(d time.Duration) string {
	switch {
	case d < time.Minute:
		return strconv.Itoa(max(int(d/time.Second), 0)) + "s"
	case d < time.Hour:
		return strconv.Itoa(int(d/time.Minute)) + "m"
	case d < 48*time.Hour:
		return strconv.Itoa(int(d/time.Hour)) + "h"
	default:
		return strconv.Itoa(int(d/(24*time.Hour))) + "d"
	}
}
