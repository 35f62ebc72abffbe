package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/swarmjob/swarmjob/api/types"
	"github.com/swarmjob/swarmjob/client"
)

// How watch follows the jobs. After an event it waits watchDebounce for
// more before it lists the jobs again, so that a burst of events costs one
// list; an event stream that ended is opened again after
// watchReconnect, with the ID of the last event it sent, so that nothing
// is missed.
const (
	watchDebounce  = 250 * time.Millisecond
	watchReconnect = time.Second
)

// watchOptions are the flags of swarmjob watch.
type watchOptions struct {
	phase      string
	selectors  []string
	namePrefix string
	limit      int
	output     string
}

func newWatchCmd(env *cliEnv) *cobra.Command {
	var o watchOptions
	cmd := &cobra.Command{
		Use:   "watch [flags]",
		Short: "Show a live table of jobs",
		Long: "Show the jobs as ls does, and list them again each time the server's event\n" +
			"stream says something changed, until interrupted (Ctrl-C exits 0). On a\n" +
			"terminal the table is redrawn in place; otherwise each change is printed\n" +
			"as a line: TIME ID NAME PHASE REASON, first for every job listed, then for\n" +
			"each job that appears or changes phase or reason, and with the phase Gone\n" +
			"for one that left the list (deleted, or no longer among those listed).",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if o.output != outputTable && o.output != outputWide {
				return usageErrorf("--output: must be table or wide, got %q", o.output)
			}
			if o.limit < 0 {
				return usageErrorf("--limit: must not be negative, got %d", o.limit)
			}
			return watchJobs(cmd.Context(), env, o)
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.phase, "phase", "", "only jobs in this phase")
	f.StringArrayVar(&o.selectors, "label", nil, "only jobs matching this label selector, such as team=data,env!=dev (repeatable)")
	f.StringVar(&o.namePrefix, "name-prefix", "", "only jobs whose name starts with this")
	f.IntVar(&o.limit, "limit", 0, "show the newest N jobs (0 = server default, 100)")
	f.StringVarP(&o.output, "output", "o", outputTable, "table or wide")
	completeFlagValues(cmd, "output", outputTable, outputWide)
	completeFlagValues(cmd, "phase", phases...)
	return cmd
}

// watchJobs shows the jobs until ctx ends, which is the normal way to stop
// (nil). It opens the event stream before the first list, so that no change
// falls between the two. An error of that first stream or list is
// returned; later ones are shown, and watching goes on.
func watchJobs(ctx context.Context, env *cliEnv, o watchOptions) error {
	c, err := env.client()
	if err != nil {
		return err
	}
	selector := strings.Join(o.selectors, ",")
	listOpts := client.ListOptions{Phase: o.phase, Selector: selector, NamePrefix: o.namePrefix, Limit: o.limit}
	// The stream ends with fctx, which ends before watchJobs returns.
	fctx, stop := context.WithCancel(ctx)
	defer stop()
	st, err := c.Events(fctx, client.EventsOptions{Labels: selector})
	if err != nil {
		if ctx.Err() != nil {
			return nil
		}
		return err
	}
	changed := make(chan struct{}, 1)
	problems := make(chan error, 1)
	done := make(chan struct{})
	defer func() { stop(); <-done }()
	go func() {
		defer close(done)
		followChanges(fctx, c, st, selector, changed, problems)
	}()

	v := &watchView{out: env.stdout, errOut: env.stderr, live: isTerminal(env.stdout),
		wide: o.output == outputWide, now: env.now, seen: map[string]watchedJob{}}
	if err := v.refresh(ctx, c, listOpts); err != nil {
		if ctx.Err() != nil {
			return nil
		}
		return err
	}
	if v.outErr != nil {
		return v.outErr
	}
	var tick <-chan time.Time
	if v.live {
		// The ages in the table move on without events.
		t := time.NewTicker(time.Second)
		defer t.Stop()
		tick = t.C
	}
	var debounce <-chan time.Time
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-changed:
			if debounce == nil {
				debounce = time.After(watchDebounce)
			}
		case <-debounce:
			debounce = nil
			// A failed list is shown; the next event tries again.
			if err := v.refresh(ctx, c, listOpts); err != nil && ctx.Err() == nil {
				v.problem(fmt.Errorf("listing jobs: %w", err))
			}
		case err := <-problems:
			v.problem(err)
		case <-tick:
			v.draw()
		}
		if v.outErr != nil {
			// Nobody reads the output any more (a closed pipe).
			return v.outErr
		}
	}
}

// followChanges reads the event stream st and signals changed (without
// blocking) for every event, and once more each time it opened the stream
// again after it ended, since the jobs may have changed meanwhile. It
// reports each failure on problems (without blocking), and returns when
// ctx ends.
func followChanges(ctx context.Context, c *client.Client, st *client.EventStream, selector string, changed chan<- struct{}, problems chan<- error) {
	signal := func() {
		select {
		case changed <- struct{}{}:
		default:
		}
	}
	report := func(err error) {
		select {
		case problems <- err:
		default:
		}
	}
	for {
		var err error
		for err == nil {
			if _, err = st.Next(); err == nil {
				signal()
			}
		}
		st.Close()
		if ctx.Err() != nil {
			return
		}
		if !errors.Is(err, io.EOF) {
			report(fmt.Errorf("event stream: %w", err))
		}
		opts := client.EventsOptions{Labels: selector}
		if id, ok := st.LastEventID(); ok {
			opts.Since = &id
		}
		for {
			if sleepCtx(ctx, watchReconnect) != nil {
				return
			}
			if st, err = c.Events(ctx, opts); err == nil {
				break
			}
			if ctx.Err() != nil {
				return
			}
			report(fmt.Errorf("event stream: %w", err))
		}
		signal()
	}
}

// watchedJob is what plain output last said of a job.
type watchedJob struct {
	name, phase, reason string
}

// watchView shows the listed jobs: on a terminal (live) a table redrawn in
// place under a status line; otherwise a line per change. It is used by
// one goroutine.
type watchView struct {
	out, errOut io.Writer
	live, wide  bool
	now         func() time.Time

	jobs []types.Job
	more bool  // the server has more jobs than listed
	err  error // of the last list, shown until one succeeds
	// seen holds what plain output last said of each job listed.
	seen map[string]watchedJob
	// outErr is the first error writing to out.
	outErr error
}

// write writes p to out, remembering the first error.
func (v *watchView) write(p []byte) {
	if v.outErr != nil {
		return
	}
	if _, err := v.out.Write(p); err != nil {
		v.outErr = fmt.Errorf("writing the jobs: %w", err)
	}
}

// refresh lists the jobs and shows them. It returns the error of the list,
// and then shows nothing; an error writing the output is left in outErr.
func (v *watchView) refresh(ctx context.Context, c *client.Client, opts client.ListOptions) error {
	list, err := c.ListJobs(ctx, opts)
	if err != nil {
		return err
	}
	v.jobs, v.more, v.err = list.Items, list.NextCursor != "", nil
	if v.live {
		v.draw()
	} else {
		v.printChanges()
	}
	return nil
}

// problem shows err: live, under the table until the next good list;
// otherwise as a line on stderr.
func (v *watchView) problem(err error) {
	if v.live {
		v.err = err
		v.draw()
		return
	}
	fmt.Fprintf(v.errOut, "swarmjob: %v\n", err)
}

// draw redraws the screen: a status line, then the table.
func (v *watchView) draw() {
	if !v.live {
		return
	}
	now := v.now()
	var b bytes.Buffer
	b.WriteString(clearScreen)
	fmt.Fprintf(&b, "swarmjob watch: %d jobs at %s; Ctrl-C to quit", len(v.jobs), now.Format(time.TimeOnly))
	if v.more {
		b.WriteString(" (the newest only; more exist)")
	}
	b.WriteString("\n")
	if v.err != nil {
		fmt.Fprintf(&b, "swarmjob: %v\n", v.err)
	}
	b.WriteString("\n")
	t := newJobTable(&b, v.wide, now)
	t.header()
	for i := range v.jobs {
		t.row(&v.jobs[i])
	}
	if err := t.flush(); err != nil {
		v.outErr = err
		return
	}
	v.write(b.Bytes())
}

// printChanges writes a line for each listed job that is new or whose
// phase or reason changed since the last list, oldest first, then one for
// each job that left the list.
func (v *watchView) printChanges() {
	stamp := v.now().UTC().Format(time.RFC3339)
	var b bytes.Buffer
	defer func() { v.write(b.Bytes()) }()
	listed := make(map[string]bool, len(v.jobs))
	jobs := slices.Clone(v.jobs)
	slices.SortStableFunc(jobs, func(a, b types.Job) int { return a.CreatedAt.Compare(b.CreatedAt) })
	for _, j := range jobs {
		listed[j.ID] = true
		now := watchedJob{name: j.Name, phase: j.Status.Phase, reason: j.Status.Reason}
		if v.seen[j.ID] == now {
			continue
		}
		v.seen[j.ID] = now
		fmt.Fprintf(&b, "%s %s %s %s %s\n", stamp, j.ID, dash(j.Name), j.Status.Phase, dash(j.Status.Reason))
	}
	var gone []string
	for id := range v.seen {
		if !listed[id] {
			gone = append(gone, id)
		}
	}
	slices.Sort(gone)
	for _, id := range gone {
		fmt.Fprintf(&b, "%s %s %s Gone -\n", stamp, id, dash(v.seen[id].name))
		delete(v.seen, id)
	}
}
