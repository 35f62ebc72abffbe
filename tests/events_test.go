package tests

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/swarmjob/swarmjob/api/types"
	"github.com/swarmjob/swarmjob/client"
)

// openEvents opens the events stream of s, closed at the end of the test.
func openEvents(t *testing.T, ctx context.Context, s *server, opts client.EventsOptions) *client.EventStream {
	t.Helper()
	st, err := s.client.Events(ctx, opts)
	if err != nil {
		t.Fatalf("opening the events stream: %v", err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

// readEventsUntil reads events until one satisfies stop, which is included.
// It returns an error naming what it waited for if the stream ends first.
func readEventsUntil(st *client.EventStream, what string, stop func(types.Event) bool) ([]types.Event, error) {
	var got []types.Event
	for {
		e, err := st.Next()
		if err != nil {
			return got, fmt.Errorf("events stream ended before %s (%w); got %s", what, err, describe(got))
		}
		got = append(got, e)
		if stop(e) {
			return got, nil
		}
	}
}

// mustReadEventsUntil is readEventsUntil that fails the test.
func mustReadEventsUntil(t *testing.T, st *client.EventStream, what string, stop func(types.Event) bool) []types.Event {
	t.Helper()
	got, err := readEventsUntil(st, what, stop)
	if err != nil {
		t.Fatal(err)
	}
	return got
}

// describe lists events as ID:type, for messages.
func describe(es []types.Event) string {
	var parts []string
	for _, e := range es {
		s := fmt.Sprintf("%d:%s", e.ID, e.Type)
		if e.Attempt != nil {
			s += fmt.Sprintf("/%d", *e.Attempt)
		}
		if e.Phase != "" {
			s += "/" + e.Phase
		}
		parts = append(parts, s)
	}
	return "[" + strings.Join(parts, " ") + "]"
}

func isDeleted(id string) func(types.Event) bool {
	return func(e types.Event) bool { return e.Type == types.EventJobDeleted && e.JobID == id }
}

// uniqueLabel returns a label value no other test uses, so that a label
// selector sees this test's jobs only on the shared server.
func uniqueLabel(t *testing.T) string {
	return strings.NewReplacer("/", "-", " ", "-").Replace(t.Name()) + fmt.Sprint("-", time.Now().UnixNano())
}

// TestEventsResumeMissesNothing follows a job with a retry with two clients:
// one stays connected throughout; the other disconnects once the first
// attempt started and reconnects with its Last-Event-ID once that attempt
// failed. Both must see the same events, in the same order, from job.created
// to job.deleted.
func TestEventsResumeMissesNothing(t *testing.T) {
	t.Parallel()
	ctx := testCtx(t, 2*time.Minute)
	label := uniqueLabel(t)
	opts := client.EventsOptions{Labels: "test=" + label}
	stayed := openEvents(t, ctx, shared, opts)
	resumed := openEvents(t, ctx, shared, opts)

	j := submit(t, shared, types.CreateJobRequest{
		Labels: map[string]string{"test": label},
		JobSpec: types.JobSpec{
			Command:      sh(`echo "attempt $SWARMJOB_ATTEMPT"; sleep 1; test "$SWARMJOB_ATTEMPT" = 1`),
			BackoffLimit: intp(1),
			Backoff:      &types.Backoff{InitialMs: int64p(1500)},
		},
	})

	var (
		wg     sync.WaitGroup
		all    []types.Event
		allErr error
	)
	wg.Go(func() { all, allErr = readEventsUntil(stayed, "job.deleted", isDeleted(j.ID)) })

	before := mustReadEventsUntil(t, resumed, "the first attempt.started", func(e types.Event) bool {
		return e.Type == types.EventAttemptStarted
	})
	last, ok := resumed.LastEventID()
	if !ok {
		t.Fatal("no last event ID after an event")
	}
	resumed.Close()
	t.Logf("disconnected after event %d", last)
	waitFor(t, 30*time.Second, "the first attempt to fail", func() (bool, error) {
		j, err := shared.client.GetJob(ctx, j.ID)
		return err == nil && j.Status.Failed == 1, err
	})

	resumed = openEvents(t, ctx, shared, client.EventsOptions{Labels: opts.Labels, Since: &last})
	// Read on until the job succeeds, then delete it: deletion events are
	// part of what a watcher must see.
	after := mustReadEventsUntil(t, resumed, "job.phase Succeeded", func(e types.Event) bool {
		return e.Type == types.EventPhaseChanged && e.Phase == types.PhaseSucceeded
	})
	if err := shared.client.DeleteJob(ctx, j.ID); err != nil {
		t.Fatal(err)
	}
	after = append(after, mustReadEventsUntil(t, resumed, "job.deleted", isDeleted(j.ID))...)
	wg.Wait()
	if allErr != nil {
		t.Fatalf("the connected client: %v", allErr)
	}

	t.Logf("events: %s", describe(all))
	got := append(before, after...)
	if describe(got) != describe(all) {
		t.Errorf("resumed client saw\n%s\nthe connected one saw\n%s", describe(got), describe(all))
	}
	for i, e := range all {
		if i > 0 && e.ID <= all[i-1].ID {
			t.Errorf("event IDs do not increase: %s", describe(all))
		}
		if e.JobID != j.ID || e.Labels["test"] != label {
			t.Errorf("event %d is about job %s with labels %v", e.ID, e.JobID, e.Labels)
		}
	}
	// What happened, in order: the two attempts each start and finish,
	// with the retry between them.
	var kinds []string
	for _, e := range all {
		switch e.Type {
		case types.EventAttemptStarted:
			kinds = append(kinds, fmt.Sprintf("started %d", *e.Attempt))
		case types.EventAttemptFinished:
			kinds = append(kinds, fmt.Sprintf("finished %d %s", *e.Attempt, e.State))
		case types.EventJobCreated, types.EventJobDeleted:
			kinds = append(kinds, e.Type)
		}
	}
	want := "job.created, started 0, finished 0 failed, started 1, finished 1 succeeded, job.deleted"
	if strings.Join(kinds, ", ") != want {
		t.Errorf("events = %s, want %s (all: %s)", strings.Join(kinds, ", "), want, describe(all))
	}
	if len(before) == 0 || len(after) == 0 || after[0].ID <= last {
		t.Errorf("the reconnect did not resume after %d: before %s, after %s", last, describe(before), describe(after))
	}
}

// TestEventsResetAfterRetention: a client that asks for events older than
// the retention gets a reset, then the events that follow.
func TestEventsResetAfterRetention(t *testing.T) {
	t.Parallel()
	s, err := startServer(filepath.Join(t.TempDir(), "data"), "--event-retention", "1s")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.stop)
	ctx := testCtx(t, time.Minute)
	j := submit(t, s, types.CreateJobRequest{JobSpec: types.JobSpec{Command: sh("true")}})
	waitTerminal(t, s, j.ID, 30*time.Second)
	// The pruner runs every second; give it time to drop the job's events.
	zero := int64(0)
	var first types.Event
	waitFor(t, 15*time.Second, "the events to be pruned", func() (bool, error) {
		st, err := s.client.Events(ctx, client.EventsOptions{Since: &zero})
		if err != nil {
			return false, err
		}
		defer st.Close()
		first, err = st.Next()
		return err == nil && first.Type == types.EventReset, err
	})
	if first.ID < 3 || !strings.Contains(first.Message, "no longer kept") {
		t.Errorf("reset = %+v, want the last event's ID and a message", first)
	}

	st := openEvents(t, ctx, s, client.EventsOptions{Since: &zero})
	if e, err := st.Next(); err != nil || e.Type != types.EventReset {
		t.Fatalf("first event %+v, %v; want a reset", e, err)
	}
	next := submit(t, s, types.CreateJobRequest{JobSpec: types.JobSpec{Command: sh("true")}})
	if e, err := st.Next(); err != nil || e.Type != types.EventJobCreated || e.JobID != next.ID {
		t.Errorf("after the reset: %+v, %v; want job.created of %s", e, err, next.ID)
	}
	waitTerminal(t, s, next.ID, 30*time.Second)
}

// TestIdempotentSubmitStartsOneAttempt submits one request with one
// Idempotency-Key many times at once and again later: it is one job, whose
// one attempt's service Swarm creates once. The key then still answers once
// the job is deleted, and refuses another request.
func TestIdempotentSubmitStartsOneAttempt(t *testing.T) {
	t.Parallel()
	created := watchServiceCreations(t)
	ctx := testCtx(t, time.Minute)
	key := uniqueLabel(t)
	req := types.CreateJobRequest{Name: "idempotent", JobSpec: types.JobSpec{Image: testImage, Command: sh("echo once; sleep 1")}}

	const n = 8
	var (
		wg   sync.WaitGroup
		mu   sync.Mutex
		ids  = map[string]int{}
		news int
	)
	for range n {
		wg.Go(func() {
			j, isNew, err := shared.client.CreateJobWithKey(ctx, key, req)
			if err != nil {
				t.Errorf("submitting: %v", err)
				return
			}
			mu.Lock()
			defer mu.Unlock()
			ids[j.ID]++
			if isNew {
				news++
			}
		})
	}
	wg.Wait()
	if len(ids) != 1 || news != 1 {
		t.Fatalf("jobs %v, %d created; want one job, created once", ids, news)
	}
	var id string
	for k := range ids {
		id = k
	}
	t.Cleanup(func() { assertNoServices(t, id) })

	j := waitTerminal(t, shared, id, 30*time.Second)
	if j.Status.Phase != types.PhaseSucceeded || len(j.Status.Attempts) != 1 {
		t.Fatalf("status = %+v, want Succeeded after one attempt", j.Status)
	}
	again, isNew, err := shared.client.CreateJobWithKey(ctx, key, req)
	if err != nil || isNew || again.ID != id || again.Status.Phase != types.PhaseSucceeded {
		t.Fatalf("repeat after the end = %+v, %v, %v; want job %s as it is now", again, isNew, err, id)
	}
	if got := logs(t, shared, id, client.LogOptions{}); got != "once\n" {
		t.Errorf("output = %q, want one run", got)
	}
	// Let the Engine's event stream catch up before counting.
	time.Sleep(500 * time.Millisecond)
	if counts := created.of(id); len(counts) != 1 || counts["swarmjob-"+id+"-0-0"] != 1 {
		t.Errorf("services created = %v, want swarmjob-%s-0-0 once", counts, id)
	}

	other := req
	other.Command = sh("echo twice")
	_, _, err = shared.client.CreateJobWithKey(ctx, key, other)
	var apiErr *client.Error
	if !errors.As(err, &apiErr) || apiErr.StatusCode != 409 || !strings.Contains(apiErr.Message, "Idempotency-Key") {
		t.Errorf("same key, other request: %v; want a 409 naming Idempotency-Key", err)
	}

	// Deleted for good: the controller removes the record and says so.
	watch := openEvents(t, ctx, shared, client.EventsOptions{JobID: id})
	if err := shared.client.DeleteJob(ctx, id); err != nil {
		t.Fatal(err)
	}
	mustReadEventsUntil(t, watch, "job.deleted", isDeleted(id))
	gone, isNew, err := shared.client.CreateJobWithKey(ctx, key, req)
	if err != nil || isNew || gone.ID != id || gone.Name != "idempotent" {
		t.Errorf("repeat after delete = %+v, %v, %v; want job %s from its snapshot", gone, isNew, err, id)
	}
}
