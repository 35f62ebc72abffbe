package main

import (
	"encoding/json"
	"fmt"
	"strconv"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/swarmjob/swarmjob/api/types"
)

func newResultsCmd(env *cliEnv) *cobra.Command {
	var output string
	cmd := &cobra.Command{
		Use:   "results [flags] ID",
		Short: "Print the outcome of each completion index of a job",
		Long: "Print one line per completion index of a job: its state (Succeeded, Failed,\n" +
			"Running or Pending), the exit code of its last attempt, its number of\n" +
			"attempts and the bytes of output stored for it. A NonIndexed job runs\n" +
			"every attempt as index 0 and has one line. -o json prints the server's\n" +
			"answer as indented JSON.",
		Args:              exactlyOne("job ID"),
		ValidArgsFunction: completeJobIDs(env, false, nil),
		RunE: func(cmd *cobra.Command, args []string) error {
			if output != "table" && output != "json" {
				return usageErrorf("--output: must be table or json, got %q", output)
			}
			c, err := env.client()
			if err != nil {
				return err
			}
			res, err := c.Results(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			if output == "json" {
				enc := json.NewEncoder(env.stdout)
				enc.SetIndent("", "  ")
				enc.SetEscapeHTML(false)
				return enc.Encode(res)
			}
			return printResults(env, res)
		},
	}
	cmd.Flags().StringVarP(&output, "output", "o", "table", "table or json")
	return cmd
}

// printResults writes the table of results, with - for a missing exit code
// and "(truncated)" after the size of output the cap cut.
func printResults(env *cliEnv, res *types.Results) error {
	tw := tabwriter.NewWriter(env.stdout, 0, 8, 3, ' ', 0)
	fmt.Fprintln(tw, "INDEX\tSTATE\tEXIT\tATTEMPTS\tLOGBYTES")
	for _, it := range res.Items {
		exit := "-"
		if it.ExitCode != nil {
			exit = strconv.Itoa(*it.ExitCode)
		}
		logBytes := strconv.FormatInt(it.LogBytes, 10)
		if it.Truncated {
			// The cap cut the output: say so where the size is.
			logBytes += " (truncated)"
		}
		fmt.Fprintf(tw, "%d\t%s\t%s\t%d\t%s\n", it.Index, it.State, exit, it.Attempts, logBytes)
	}
	return tw.Flush()
}
