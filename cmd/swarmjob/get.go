package main

import (
	"encoding/json"

	"github.com/spf13/cobra"
)

func newGetCmd(env *cliEnv) *cobra.Command {
	return &cobra.Command{
		Use:   "get ID",
		Short: "Print a job as JSON",
		Args:  exactlyOne("job ID"),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := env.client()
			if err != nil {
				return err
			}
			job, err := c.GetJob(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			enc := json.NewEncoder(env.stdout)
			enc.SetIndent("", "  ")
			enc.SetEscapeHTML(false) // for people and jq, not for HTML

			return enc.Encode(job)
		},
	}
}
