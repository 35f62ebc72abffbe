package main

import (
	"io"
	"time"

	"github.com/spf13/cobra"

	"github.com/swarmjob/swarmjob/client"
)

// logsOptions are the flags of swarmjob logs.
type logsOptions struct {
	stream     string
	index      int
	attempt    int
	timestamps bool
	follow     bool
	since      string
	tail       int
}

func newLogsCmd(env *cliEnv) *cobra.Command {
	var o logsOptions
	cmd := &cobra.Command{
		Use:   "logs [flags] ID",
		Short: "Print the logs of a job",
		Long: "Print the logs of a job on stdout, index by index and attempt by attempt.\n" +
			"With --stream all, the job's stdout and stderr lines are interleaved in the\n" +
			"order they were written. Without --follow, only attempts that finished have\n" +
			"output; with --follow, running attempts stream live and the command returns\n" +
			"when the job is terminal.",
		Args:              exactlyOne("job ID"),
		ValidArgsFunction: completeJobIDs(env, false, nil),
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
			opts.Follow = o.follow
			if o.since != "" {
				if err := checkSince(o.since); err != nil {
					return err
				}
				opts.Since = o.since
			}
			if cmd.Flags().Changed("tail") {
				if o.tail < 0 {
					return usageErrorf("--tail: must not be negative, got %d", o.tail)
				}
				opts.Tail = &o.tail
			}
			c, err := env.client()
			if err != nil {
				return err
			}
			out := &countingWriter{w: env.stdout}
			if err := copyLogs(cmd.Context(), c, args[0], opts, out); err != nil {
				return err
			}
			if out.n == 0 && !o.follow {
				// Nothing stored yet: say why when the job still runs.
				if j, err := c.GetJob(cmd.Context(), args[0]); err == nil && j.Status.Active > 0 {
					env.errorf("job %s is %s: the output of its running attempts is stored when they end; follow it live with: swarmjob logs -f %s",
						j.ID, j.Status.Phase, j.ID)
				}
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.stream, "stream", "all", "stdout, stderr or all")
	f.IntVar(&o.index, "index", 0, "completion index (default: every index)")
	f.IntVar(&o.attempt, "attempt", 0, "attempt number, of --index when given (default: every attempt)")
	f.BoolVar(&o.timestamps, "timestamps", false, "prefix each line with its time")
	f.BoolVarP(&o.follow, "follow", "f", false, "stream output while the job runs, until it is terminal")
	f.StringVar(&o.since, "since", "", "only lines written since an RFC 3339 time or for a duration such as 10m")
	f.IntVar(&o.tail, "tail", 0, "only the last N lines (default: all)")
	return cmd
}

// checkSince accepts what the server accepts as ?since: an RFC 3339 time,
// or a non-negative duration before now.
func checkSince(v string) error {
	if _, err := time.Parse(time.RFC3339Nano, v); err == nil {
		return nil
	}
	if d, err := time.ParseDuration(v); err == nil && d >= 0 {
		return nil
	}
	return usageErrorf("--since: must be an RFC 3339 time such as 2026-11-26T08:00:00Z or a duration such as 10m, got %q", v)
}

// countingWriter counts the bytes written through it.
type countingWriter struct {
	w io.Writer
	n int64
}

func (c *countingWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}
