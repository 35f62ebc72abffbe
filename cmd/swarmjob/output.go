package main

import (
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"
	"sigs.k8s.io/yaml"

	"github.com/swarmjob/swarmjob/api/types"
)

// Output formats of -o on get and ls.
const (
	outputTable = "table"
	outputWide  = "wide"
	outputJSON  = "json"
	outputYAML  = "yaml"
)

// checkOutput returns a usage error unless format is one of the formats of
// get and ls.
func checkOutput(format string) error {
	switch format {
	case outputTable, outputWide, outputJSON, outputYAML:
		return nil
	}
	return usageErrorf("--output: must be table, wide, json or yaml, got %q", format)
}

// completeFlagValues makes the shell complete the values of flag with those
// of values that start with what is typed, never with file names.
func completeFlagValues(cmd *cobra.Command, flag string, values ...string) {
	complete := func(_ *cobra.Command, _ []string, toComplete string) ([]cobra.Completion, cobra.ShellCompDirective) {
		var out []cobra.Completion
		for _, v := range values {
			if strings.HasPrefix(v, toComplete) {
				out = append(out, v)
			}
		}
		return out, cobra.ShellCompDirectiveNoFileComp
	}
	// It fails only for a flag the command does not have, or one that has
	// a completion already: a programming error, which TestFlagCompletions
	// would meet first.
	if err := cmd.RegisterFlagCompletionFunc(flag, complete); err != nil {
		panic(err)
	}
}

// phases are the values of --phase.
var phases = []string{types.PhasePending, types.PhaseRunning, types.PhaseSuspended,
	types.PhaseSucceeded, types.PhaseFailed, types.PhaseCancelled}

// writeJSON writes v as indented JSON, with <>& not escaped: it is for
// people and jq, not for HTML.
func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	return enc.Encode(v)
}

// writeYAML writes v as YAML with the field names of its JSON form, which
// are the API's; keys come out sorted.
func writeYAML(w io.Writer, v any) error {
	b, err := yaml.Marshal(v)
	if err != nil {
		return fmt.Errorf("encoding YAML: %w", err)
	}
	_, err = w.Write(b)
	return err
}

// jobTable writes jobs as an aligned table: the columns of ls, and with
// wide those that say how far each job got, when it ran and its labels.
// Call header once, row per job, then flush.
type jobTable struct {
	tw   *tabwriter.Writer
	wide bool
	now  time.Time
}

func newJobTable(w io.Writer, wide bool, now time.Time) *jobTable {
	return &jobTable{tw: tabwriter.NewWriter(w, 0, 8, 3, ' ', 0), wide: wide, now: now}
}

func (t *jobTable) header() {
	if t.wide {
		fmt.Fprintln(t.tw, "ID\tNAME\tTENANT\tPHASE\tCOMPLETIONS\tPARALLELISM\tATTEMPTS\tAGE\tSTARTED\tDURATION\tREASON\tPARENT\tLABELS")
		return
	}
	fmt.Fprintln(t.tw, "ID\tNAME\tPHASE\tATTEMPTS\tAGE\tREASON")
}

func (t *jobTable) row(j *types.Job) {
	st := &j.Status
	if !t.wide {
		fmt.Fprintf(t.tw, "%s\t%s\t%s\t%d\t%s\t%s\n", j.ID, dash(j.Name), st.Phase,
			len(st.Attempts), age(t.now.Sub(j.CreatedAt)), dash(st.Reason))
		return
	}
	started, duration := "-", "-"
	if st.StartedAt != nil {
		started = age(t.now.Sub(*st.StartedAt))
		end := t.now
		if st.FinishedAt != nil {
			end = *st.FinishedAt
		}
		duration = elapsed(end.Sub(*st.StartedAt))
	}
	fmt.Fprintf(t.tw, "%s\t%s\t%s\t%s\t%s\t%s\t%d\t%s\t%s\t%s\t%s\t%s\t%s\n", j.ID, dash(j.Name), dash(j.Tenant), st.Phase,
		completions(j), intOrDash(j.Spec.Parallelism), len(st.Attempts), age(t.now.Sub(j.CreatedAt)),
		started, duration, dash(st.Reason), dash(j.ParentID), dash(labelList(j.Labels)))
}

func (t *jobTable) flush() error { return t.tw.Flush() }

// printJobs writes jobs in format: a table, or the JSON or YAML of list,
// which holds the same jobs.
func printJobs(w io.Writer, format string, list *types.JobList, now time.Time) error {
	switch format {
	case outputJSON:
		return writeJSON(w, list)
	case outputYAML:
		return writeYAML(w, list)
	}
	t := newJobTable(w, format == outputWide, now)
	t.header()
	for i := range list.Items {
		t.row(&list.Items[i])
	}
	return t.flush()
}

// completions is "succeeded/completions", such as 3/4; a job stored without
// completions (the server always fills them in) counts as 1.
func completions(j *types.Job) string {
	n := 1
	if c := j.Spec.Completions; c != nil {
		n = *c
	}
	return fmt.Sprintf("%d/%d", j.Status.Succeeded, n)
}

func intOrDash(p *int) string {
	if p == nil {
		return "-"
	}
	return strconv.Itoa(*p)
}

// labelList is k=v,k2=v2 with the keys sorted.
func labelList(labels map[string]string) string {
	keys := slices.Sorted(maps.Keys(labels))
	for i, k := range keys {
		keys[i] = k + "=" + labels[k]
	}
	return strings.Join(keys, ",")
}

// elapsed formats a duration to the second for people: 45s, 12m5s, 3h2m.
// Negative durations (clock skew) are 0s.
func elapsed(d time.Duration) string {
	d = max(d, 0).Truncate(time.Second)
	switch {
	case d < time.Minute:
		return d.String()
	case d < time.Hour:
		return fmt.Sprintf("%dm%ds", int(d/time.Minute), int(d%time.Minute/time.Second))
	default:
		return fmt.Sprintf("%dh%dm", int(d/time.Hour), int(d%time.Hour/time.Minute))
	}
}
