package main

import (
	"github.com/spf13/cobra"

	"github.com/swarmjob/swarmjob/client"
)

// logsOptions are the flags of swarmjob logs.
type logsOptions struct {
	stream     string
	attempt    int
	timestamps bool
}

func newLogsCmd(env *cliEnv) *cobra.Command {
	var o logsOptions
	cmd := &cobra.Command{
		Use:   "logs [flags] ID",
		Short: "Print the stored logs of a job",
		Long: "Print the stored logs of a job on stdout. With --stream all, the job's\n" +
			"stdout and stderr lines are interleaved in the order they were written.",
		Args: exactlyOne("job ID"),
		RunE: func(cmd *cobra.Command, args []string) error {
			switch o.stream {
			case "stdout", "stderr", "all":
			default:
				return usageErrorf("--stream: must be stdout, stderr or all, got %q", o.stream)
			}
			opts := client.LogOptions{Stream: o.stream, Timestamps: o.timestamps}
			if cmd.Flags().Changed("attempt") {
				if o.attempt < 0 {
					return usageErrorf("--attempt: must not be negative, got %d", o.attempt)
				}
				opts.Attempt = &o.attempt
			}
			c, err := env.client()
			if err != nil {
				return err
			}
			return copyLogs(cmd.Context(), c, args[0], opts, env.stdout)
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.stream, "stream", "all", "stdout, stderr or all")
	f.IntVar(&o.attempt, "attempt", 0, "attempt number (default: the server's choice, the last attempt)")
	f.BoolVar(&o.timestamps, "timestamps", false, "prefix each line with its time")
	return cmd
}
