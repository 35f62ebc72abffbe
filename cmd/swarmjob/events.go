package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/swarmjob/swarmjob/api/types"
	"github.com/swarmjob/swarmjob/client"
)

// eventsOptions are the flags of swarmjob events.
type eventsOptions struct {
	job    string
	labels []string
	since  int64
	output string
}

func newEventsCmd(env *cliEnv) *cobra.Command {
	var o eventsOptions
	cmd := &cobra.Command{
		Use:   "events [flags]",
		Short: "Print what happens to jobs as it happens",
		Long: "Print one line per event until interrupted: job created, attempt started and\n" +
			"finished, phase changed, job deleted. Each line is\n" +
			"  TIME ID TYPE JOB [DETAILS]\n" +
			"--since ID first prints the events after ID that the server still keeps (0:\n" +
			"all of them); a \"reset\" line says that some are no longer kept. When the\n" +
			"server ends the stream, events exits 1 and says how to resume.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if o.output != "text" && o.output != "json" {
				return usageErrorf("--output: must be text or json, got %q", o.output)
			}
			opts := client.EventsOptions{JobID: o.job, Labels: strings.Join(o.labels, ",")}
			if cmd.Flags().Changed("since") {
				if o.since < 0 {
					return usageErrorf("--since: must not be negative, got %d", o.since)
				}
				opts.Since = &o.since
			}
			return followEvents(cmd.Context(), env, opts, o.output)
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.job, "job", "", "only the events of this job")
	f.StringArrayVar(&o.labels, "label", nil, "only events of jobs matching this label selector: k=v, k!=v, k, !k, comma-separated (repeatable)")
	f.Int64Var(&o.since, "since", 0, "first print the kept events after this event ID (default: only new events)")
	f.StringVarP(&o.output, "output", "o", "text", "text or json (one event per line)")
	return cmd
}

// followEvents prints the events of the stream until ctx ends, which is the
// normal way to stop it (exit 0).
func followEvents(ctx context.Context, env *cliEnv, opts client.EventsOptions, output string) error {
	c, err := env.client()
	if err != nil {
		return err
	}
	st, err := c.Events(ctx, opts)
	if err != nil {
		if ctx.Err() != nil {
			return nil
		}
		return err
	}
	defer st.Close()
	enc := json.NewEncoder(env.stdout)
	enc.SetEscapeHTML(false)
	for {
		e, err := st.Next()
		switch {
		case ctx.Err() != nil:
			return nil
		case errors.Is(err, io.EOF):
			if id, ok := st.LastEventID(); ok {
				env.errorf("the server ended the event stream; resume with --since %d", id)
			} else {
				env.errorf("the server ended the event stream")
			}
			return &exitError{code: 1}
		case err != nil:
			// Cut (the server crashed, the network went): the stream
			// resumes where it broke.
			if id, ok := st.LastEventID(); ok {
				return fmt.Errorf("%w; resume with --since %d", err, id)
			}
			return err
		}
		if output == "json" {
			err = enc.Encode(e)
		} else {
			_, err = fmt.Fprintln(env.stdout, eventLine(e))
		}
		if err != nil {
			return err
		}
	}
}

// eventLine formats e as TIME ID TYPE JOB [DETAILS], with "-" for an event
// that is about no job and the details as key=value pairs.
func eventLine(e types.Event) string {
	parts := []string{e.Time.UTC().Format(time.RFC3339Nano), strconv.FormatInt(e.ID, 10), e.Type, dash(e.JobID)}
	add := func(k, v string) {
		if v != "" {
			parts = append(parts, k+"="+v)
		}
	}
	if e.Index != nil {
		add("index", strconv.Itoa(*e.Index))
	}
	if e.Attempt != nil {
		add("attempt", strconv.Itoa(*e.Attempt))
	}
	add("phase", e.Phase)
	add("state", e.State)
	if e.ExitCode != nil {
		add("exit", strconv.Itoa(*e.ExitCode))
	}
	add("reason", e.Reason)
	if e.Message != "" {
		add("message", strconv.Quote(e.Message))
	}
	return strings.Join(parts, " ")
}
