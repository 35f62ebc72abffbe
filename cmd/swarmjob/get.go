package main

import (
	"github.com/spf13/cobra"

	"github.com/swarmjob/swarmjob/api/types"
)

func newGetCmd(env *cliEnv) *cobra.Command {
	var output string
	cmd := &cobra.Command{
		Use:   "get [flags] ID",
		Short: "Print a job",
		Long: "Print a job with its status and every attempt: as indented JSON by default\n" +
			"(-o json), as YAML (-o yaml), or as one row of the table of ls (-o table, or\n" +
			"-o wide for more columns).",
		Args:              exactlyOne("job ID"),
		ValidArgsFunction: completeJobIDs(env, false, nil),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := checkOutput(output); err != nil {
				return err
			}
			c, err := env.client()
			if err != nil {
				return err
			}
			job, err := c.GetJob(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			switch output {
			case outputJSON:
				return writeJSON(env.stdout, job)
			case outputYAML:
				return writeYAML(env.stdout, job)
			}
			return printJobs(env.stdout, output, &types.JobList{Items: []types.Job{*job}}, env.now())
		},
	}
	// JSON stays the default: scripts read get's output with jq.
	cmd.Flags().StringVarP(&output, "output", "o", outputJSON, "json, yaml, table or wide")
	completeFlagValues(cmd, "output", outputJSON, outputYAML, outputTable, outputWide)
	return cmd
}
