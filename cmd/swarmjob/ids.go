package main

import (
	"context"
	"regexp"
	"strings"

	"github.com/spf13/cobra"

	"github.com/swarmjob/swarmjob/client"
)

// annotationJobIDs marks the commands whose arguments are job IDs; the root
// command resolves abbreviated ones before they run.
const annotationJobIDs = "swarmjob/job-ids"

// takesJobIDs marks cmd as one whose arguments are job IDs, and returns it.
func takesJobIDs(cmd *cobra.Command) *cobra.Command {
	if cmd.Annotations == nil {
		cmd.Annotations = map[string]string{}
	}
	cmd.Annotations[annotationJobIDs] = "true"
	return cmd
}

// abbreviatedIDRE is the start of a job ID (a lower-case UUID), long enough
// to be meant as one.
var abbreviatedIDRE = regexp.MustCompile(`^[0-9a-f][0-9a-f-]{2,34}$`)

// resolveJobIDs replaces, in args, each abbreviated job ID (as docker takes
// them) by the one job ID it starts, as the server lists the jobs this
// token sees. An abbreviation that matches several jobs is an error naming
// them; one that matches none, or a server that cannot be asked, leaves the
// argument as it is, for the command to report. A client that cannot be
// made (no token) is the error the command would give.
func resolveJobIDs(ctx context.Context, env *cliEnv, args []string) error {
	var c *client.Client
	for i, a := range args {
		if !abbreviatedIDRE.MatchString(a) {
			continue
		}
		if c == nil {
			// The command would fail the same way: say it now.
			var err error
			if c, err = env.client(); err != nil {
				return err
			}
		}
		list, err := c.ListJobs(ctx, client.ListOptions{IDPrefix: a, Limit: 3})
		if err != nil || len(list.Items) == 0 {
			continue
		}
		if len(list.Items) > 1 {
			ids := make([]string, len(list.Items))
			for j, job := range list.Items {
				ids[j] = job.ID
			}
			more := ""
			if list.NextCursor != "" {
				more = ", …"
			}
			return usageErrorf("job ID %q is ambiguous: it starts %s%s; give more of it", a, strings.Join(ids, ", "), more)
		}
		args[i] = list.Items[0].ID
	}
	return nil
}
