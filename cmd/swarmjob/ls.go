package main

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/swarmjob/swarmjob/api/types"
	"github.com/swarmjob/swarmjob/client"
)

// lsOptions are the flags of swarmjob ls.
type lsOptions struct {
	phase         string
	selectors     []string
	namePrefix    string
	createdAfter  string
	createdBefore string
	order         string
	tenant        string
	parent        string
	limit         int
	all           bool
	quiet         bool
	output        string
}

func newLsCmd(env *cliEnv) *cobra.Command {
	var o lsOptions
	cmd := &cobra.Command{
		Use:     "ls [flags]",
		Aliases: []string{"list"},
		Short:   "List jobs",
		Long: "List jobs, newest first unless --order asc, one page of --limit jobs unless\n" +
			"--all follows the server's cursors to the last page. --label takes a label\n" +
			"selector: key=value, key!=value (other value or no such label), key (has\n" +
			"the label) and !key (has not), comma-separated; all must hold. The times of\n" +
			"--created-after (inclusive) and --created-before (exclusive) are RFC 3339\n" +
			"times or durations back from now, such as 2h.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if o.limit < 0 {
				return usageErrorf("--limit: must not be negative, got %d", o.limit)
			}
			if err := checkOutput(o.output); err != nil {
				return err
			}
			if o.quiet && cmd.Flags().Changed("output") {
				return usageErrorf("--quiet and --output cannot be combined")
			}
			opts, err := o.listOptions(env.now())
			if err != nil {
				return err
			}
			return listJobs(cmd.Context(), env, o, opts)
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.phase, "phase", "", "only jobs in this phase: Pending, Running, Suspended, Succeeded, Failed or Cancelled")
	f.StringArrayVar(&o.selectors, "label", nil, "only jobs matching this label selector, such as team=data,env!=dev (repeatable)")
	f.StringVar(&o.namePrefix, "name-prefix", "", "only jobs whose name starts with this")
	f.StringVar(&o.createdAfter, "created-after", "", "only jobs created at or after this time (RFC 3339, or a duration ago such as 2h)")
	f.StringVar(&o.createdBefore, "created-before", "", "only jobs created before this time (RFC 3339, or a duration ago)")
	f.StringVar(&o.order, "order", "desc", "desc (newest first) or asc (oldest first)")
	f.StringVar(&o.tenant, "tenant", "", "only this tenant's jobs (admin tokens; others always see their own)")
	f.StringVar(&o.parent, "parent", "", "only the child jobs of this job")
	f.IntVar(&o.limit, "limit", 0, "jobs per page (0 = server default)")
	f.BoolVar(&o.all, "all", false, "list every page")
	f.BoolVarP(&o.quiet, "quiet", "q", false, "print only job IDs")
	f.StringVarP(&o.output, "output", "o", outputTable, "table, wide (more columns), json or yaml")
	completeFlagValues(cmd, "output", outputTable, outputWide, outputJSON, outputYAML)
	completeFlagValues(cmd, "phase", phases...)
	completeFlagValues(cmd, "order", "desc", "asc")
	return cmd
}

// listOptions turns the flags into the options of ListJobs; times given as
// durations count back from now.
func (o lsOptions) listOptions(now time.Time) (client.ListOptions, error) {
	opts := client.ListOptions{Phase: o.phase, Selector: strings.Join(o.selectors, ","), NamePrefix: o.namePrefix, Tenant: o.tenant, Parent: o.parent, Limit: o.limit}
	switch o.order {
	case "desc":
	case "asc":
		opts.Order = o.order
	default:
		return client.ListOptions{}, usageErrorf("--order: must be asc or desc, got %q", o.order)
	}
	var err error
	if opts.CreatedAfter, err = parseTimeFlag("--created-after", o.createdAfter, now); err != nil {
		return client.ListOptions{}, err
	}
	if opts.CreatedBefore, err = parseTimeFlag("--created-before", o.createdBefore, now); err != nil {
		return client.ListOptions{}, err
	}
	return opts, nil
}

// parseTimeFlag reads an RFC 3339 time or a duration back from now; "" is
// the zero time.
func parseTimeFlag(flag, v string, now time.Time) (time.Time, error) {
	if v == "" {
		return time.Time{}, nil
	}
	if t, err := time.Parse(time.RFC3339Nano, v); err == nil {
		return t, nil
	}
	if d, err := time.ParseDuration(v); err == nil && d >= 0 {
		return now.Add(-d), nil
	}
	return time.Time{}, usageErrorf("%s: must be an RFC 3339 time such as 2026-01-02T15:04:05Z or a duration such as 2h, got %q", flag, v)
}

// listJobs prints the jobs opts selects, page after page with o.all. A
// table is written as pages come; JSON and YAML hold every job listed in
// one types.JobList, whose nextCursor is set when more pages exist.
func listJobs(ctx context.Context, env *cliEnv, o lsOptions, opts client.ListOptions) error {
	c, err := env.client()
	if err != nil {
		return err
	}
	structured := o.output == outputJSON || o.output == outputYAML
	var all types.JobList
	t := newJobTable(env.stdout, o.output == outputWide, env.now())
	tw := tabwriter.NewWriter(env.stdout, 0, 8, 3, ' ', 0)
	if !o.quiet && !structured {
		t.header()
	}
	seen := map[string]bool{}
	more := false
	for {
		list, err := c.ListJobs(ctx, opts)
		if err != nil {
			return err
		}
		for i := range list.Items {
			switch {
			case o.quiet:
				fmt.Fprintln(tw, list.Items[i].ID)
			case structured:
				all.Items = append(all.Items, list.Items[i])
			default:
				t.row(&list.Items[i])
			}
		}
		if list.NextCursor == "" {
			break
		}
		if !o.all {
			all.NextCursor, more = list.NextCursor, true
			break
		}
		// A server repeating a cursor would make --all loop forever.
		if seen[list.NextCursor] {
			return fmt.Errorf("listing jobs: server returned cursor %q twice", list.NextCursor)
		}
		seen[list.NextCursor] = true
		opts.Cursor = list.NextCursor
	}
	switch {
	case o.quiet:
		err = tw.Flush()
	case structured:
		if all.Items == nil {
			all.Items = []types.Job{}
		}
		err = printJobs(env.stdout, o.output, &all, env.now())
	default:
		err = t.flush()
	}
	if err != nil {
		return err
	}
	if more {
		env.errorf("more jobs exist; use --all to list them all")
	}
	return nil
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
