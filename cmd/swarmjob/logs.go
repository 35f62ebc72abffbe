package main

import (
	"github.com/spf13/cobra"

	"github.com/swarmjob/swarmjob/client"
)

// logsOptions are the flags of swarmjob logs.
type logsOptions struct {
	stream     string
	index      int
	attempt    int
	timestamps bool
}

func newLogsCmd(env *cliEnv) *cobra.Command {
	var o logsOptions
	cmd := &cobra.Command{
		Use:   "logs [flags] ID",
		Short: "Print the stored logs of a job",
		Long: "Print the stored logs of a job on stdout, index by index and attempt by\n" +
			"attempt. With --stream all, the job's stdout and stderr lines are interleaved\n" +
			"in the order they were written.",
		Args: exactlyOne("job ID"),
		RunE: func(cmd *cobra.Command, args []string) error {
			switch o.stream {
			case "stdout", "stderr", "all":
			default:
				return usageErrorf("--stream: must be stdout, stderr or all, got %q", o.stream)
			}
			opts := client.LogOptions{Stream: o.stream, Timestamps: o.timestamps}
			if cmd.Flags().Changed("index") {
				if o.index < 0 {
					return usageErrorf("--index: must not be negative, got %d", o.index)
				}
				opts.Index = &o.index
			}
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
	f.IntVar(&o.index, "index", 0, "completion index (default: every index)")
	f.IntVar(&o.attempt, "attempt", 0, "attempt number, of --index when given (default: every attempt)")
	f.BoolVar(&o.timestamps, "timestamps", false, "prefix each line with its time")
	return cmd
}
