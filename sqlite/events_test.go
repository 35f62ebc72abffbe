package sqlite

import (
	"context"
	"fmt"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/swarmjob/swarmjob/jobs"
)

func appendEvents(t *testing.T, db *DB, es ...jobs.Event) []jobs.Event {
	t.Helper()
	var out []jobs.Event
	for _, e := range es {
		got, err := db.AppendEvent(t.Context(), e)
		if err != nil {
			t.Fatalf("AppendEvent(%+v): %v", e, err)
		}
		out = append(out, got)
	}
	return out
}

func readEvents(t *testing.T, db *DB, after int64, limit int) []jobs.Event {
	t.Helper()
	es, err := db.ReadEvents(t.Context(), after, limit)
	if err != nil {
		t.Fatalf("ReadEvents(%d, %d): %v", after, limit, err)
	}
	return es
}

func eventIDs(es []jobs.Event) []int64 {
	out := []int64{}
	for _, e := range es {
		out = append(out, e.ID)
	}
	return out
}

// eventBounds returns OldestEventID and LastEventID.
func eventBounds(t *testing.T, db *DB) (oldest, last int64) {
	t.Helper()
	oldest, err := db.OldestEventID(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	last, err = db.LastEventID(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	return oldest, last
}

func TestAppendAndReadEvents(t *testing.T) {
	db := openTest(t)
	at := time.Date(2026, 1, 2, 3, 4, 5, 123456789, zone)
	in := []jobs.Event{
		{ID: 99, Time: at, Type: jobs.EventJobCreated, JobID: "j1", Labels: map[string]string{"team": "a"}, Phase: jobs.PhasePending},
		{Time: at.Add(time.Second), Type: jobs.EventAttemptStarted, JobID: "j1", Labels: map[string]string{"team": "a"}, Index: 2, Attempt: 1, State: jobs.AttemptCreating},
		{Time: at.Add(2 * time.Second), Type: jobs.EventAttemptFinished, JobID: "j1", Index: 2, Attempt: 1, State: jobs.AttemptFailed,
			ExitCode: ptr(0), Reason: jobs.AttemptReasonFailed, Message: "task: non-zero exit (3)"},
		{Time: at.Add(3 * time.Second), Type: jobs.EventPhaseChanged, JobID: "j1", Phase: jobs.PhaseFailed, Reason: jobs.ReasonBackoffLimitExceeded},
		{Time: at.Add(4 * time.Second), Type: jobs.EventJobDeleted, JobID: "j1", Phase: jobs.PhaseFailed},
	}
	got := appendEvents(t, db, in...)
	var want []jobs.Event
	for i, e := range in {
		e.ID = int64(i + 1)
		e.Time = e.Time.UTC()
		want = append(want, e)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("AppendEvent results (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(want, readEvents(t, db, 0, 0)); diff != "" {
		t.Errorf("ReadEvents (-want +got):\n%s", diff)
	}
	for _, tc := range []struct {
		after int64
		limit int
		want  []int64
	}{
		{0, 2, []int64{1, 2}},
		{2, 2, []int64{3, 4}},
		{4, 2, []int64{5}},
		{5, 2, []int64{}},
		{99, 0, []int64{}},
		{-1, 1, []int64{1}},
	} {
		t.Run(fmt.Sprintf("after %d limit %d", tc.after, tc.limit), func(t *testing.T) {
			if diff := cmp.Diff(tc.want, eventIDs(readEvents(t, db, tc.after, tc.limit))); diff != "" {
				t.Errorf("IDs (-want +got):\n%s", diff)
			}
		})
	}

	_, err := db.AppendEvent(t.Context(), jobs.Event{JobID: "j1"})
	wantCode(t, err, jobs.EINVALID)
}

func TestReadEventsPageSize(t *testing.T) {
	db := openTest(t)
	for range MaxEventPage + 5 {
		appendEvents(t, db, jobs.Event{Type: jobs.EventJobCreated, JobID: "j"})
	}
	if n := len(readEvents(t, db, 0, 0)); n != DefaultEventPage {
		t.Errorf("default page: %d events, want %d", n, DefaultEventPage)
	}
	if n := len(readEvents(t, db, 0, MaxEventPage+5)); n != MaxEventPage {
		t.Errorf("oversized page: %d events, want %d", n, MaxEventPage)
	}
}

// TestEventIDsSurvivePruning checks the bounds a reconnecting client is
// judged by: IDs are never reused, also after every event was pruned and
// the database reopened.
func TestEventIDsSurvivePruning(t *testing.T) {
	path := filepath.Join(t.TempDir(), "swarmjob.db")
	db := openAt(t, path)
	if oldest, last := eventBounds(t, db); oldest != 1 || last != 0 {
		t.Fatalf("empty store: oldest %d, last %d; want 1, 0", oldest, last)
	}
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for i := range 5 {
		appendEvents(t, db, jobs.Event{Time: t0.Add(time.Duration(i) * time.Minute), Type: jobs.EventJobCreated, JobID: "j"})
	}
	if oldest, last := eventBounds(t, db); oldest != 1 || last != 5 {
		t.Fatalf("after 5 events: oldest %d, last %d; want 1, 5", oldest, last)
	}

	n, err := db.PruneEvents(t.Context(), t0.Add(2*time.Minute))
	if err != nil || n != 2 {
		t.Fatalf("PruneEvents = %d, %v; want 2 deleted", n, err)
	}
	if oldest, last := eventBounds(t, db); oldest != 3 || last != 5 {
		t.Fatalf("after pruning 2: oldest %d, last %d; want 3, 5", oldest, last)
	}
	if diff := cmp.Diff([]int64{3, 4, 5}, eventIDs(readEvents(t, db, 0, 0))); diff != "" {
		t.Errorf("kept IDs (-want +got):\n%s", diff)
	}

	if n, err := db.PruneEvents(t.Context(), t0.Add(time.Hour)); err != nil || n != 3 {
		t.Fatalf("PruneEvents = %d, %v; want 3 deleted", n, err)
	}
	if oldest, last := eventBounds(t, db); oldest != 6 || last != 5 {
		t.Fatalf("after pruning all: oldest %d, last %d; want 6, 5", oldest, last)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}

	db = openAt(t, path)
	if got := appendEvents(t, db, jobs.Event{Type: jobs.EventJobCreated, JobID: "j"}); got[0].ID != 6 {
		t.Errorf("first event after pruning all and reopening has ID %d, want 6", got[0].ID)
	}
}

// TestPruneEventsKeepsContiguousRange: an event stamped earlier than the one
// before it (the clock went back) takes the ones before it along, so the
// kept events stay one range of IDs.
func TestPruneEventsKeepsContiguousRange(t *testing.T) {
	db := openTest(t)
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for _, m := range []int{0, 10, 20, 5, 30} {
		appendEvents(t, db, jobs.Event{Time: t0.Add(time.Duration(m) * time.Minute), Type: jobs.EventPhaseChanged, JobID: "j"})
	}
	n, err := db.PruneEvents(t.Context(), t0.Add(8*time.Minute))
	if err != nil || n != 4 {
		t.Fatalf("PruneEvents = %d, %v; want 4 deleted (up to the event of minute 5, ID 4)", n, err)
	}
	if diff := cmp.Diff([]int64{5}, eventIDs(readEvents(t, db, 0, 0))); diff != "" {
		t.Errorf("kept IDs (-want +got):\n%s", diff)
	}
	if n, err := db.PruneEvents(t.Context(), t0); err != nil || n != 0 {
		t.Errorf("PruneEvents with nothing older = %d, %v; want 0", n, err)
	}
}

// TestEventsBecomeVisibleInOrder appends from many goroutines while a reader
// follows: the reader never sees an ID before a smaller one, which is what
// lets the events stream resume after the last ID it sent.
func TestEventsBecomeVisibleInOrder(t *testing.T) {
	db := openTest(t)
	const writers, each = 8, 25
	var wg sync.WaitGroup
	for w := range writers {
		wg.Go(func() {
			for range each {
				if _, err := db.AppendEvent(t.Context(), jobs.Event{Type: jobs.EventJobCreated, JobID: fmt.Sprint(w)}); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	var after int64
	for finished := false; ; {
		select {
		case <-done:
			finished = true
		default:
		}
		es := readEvents(t, db, after, 0)
		for _, e := range es {
			if e.ID != after+1 {
				t.Fatalf("read event %d after %d: an ID was skipped", e.ID, after)
			}
			after = e.ID
		}
		if finished && len(es) == 0 {
			break
		}
	}
	if after != writers*each {
		t.Errorf("read up to %d, want %d", after, writers*each)
	}
}

// The events of a change are stored in its transaction and announced once
// it is committed: both or neither.
func TestEventsAreStoredWithTheirChange(t *testing.T) {
	db := openTest(t)
	var announced []jobs.Event
	db.OnEvents(func(_ context.Context, es []jobs.Event) { announced = append(announced, es...) })
	types := func(es []jobs.Event) []string {
		var out []string
		for _, e := range es {
			out = append(out, fmt.Sprintf("%d %s %s %s", e.ID, e.Type, e.JobID, e.Tenant))
		}
		return out
	}
	job := newJob("j")
	job.Tenant = "a"
	create(t, db, job)
	now := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	running := jobs.Status{Phase: jobs.PhaseRunning}
	if err := db.UpdateStatus(t.Context(), "j", running, jobs.Event{Time: now, Type: jobs.EventPhaseChanged, JobID: "j", Phase: jobs.PhaseRunning}); err != nil {
		t.Fatal(err)
	}
	a := jobs.Attempt{Index: 0, Attempt: 0, State: jobs.AttemptCreating, ServiceID: "s1"}
	if err := db.PutAttempt(t.Context(), "j", a, jobs.Event{Time: now, Type: jobs.EventAttemptStarted, JobID: "j"}); err != nil {
		t.Fatal(err)
	}

	// A change that fails stores no event; an event that fails undoes its
	// change.
	if err := db.UpdateStatus(t.Context(), "ghost", running, jobs.Event{Time: now, Type: jobs.EventPhaseChanged, JobID: "ghost"}); jobs.ErrorCode(err) != jobs.ENOTFOUND {
		t.Errorf("status of an unknown job: %v, want ENOTFOUND", err)
	}
	if err := db.PutAttempt(t.Context(), "ghost", a, jobs.Event{Time: now, Type: jobs.EventAttemptStarted, JobID: "ghost"}); jobs.ErrorCode(err) != jobs.ENOTFOUND {
		t.Errorf("attempt of an unknown job: %v, want ENOTFOUND", err)
	}
	if err := db.UpdateStatus(t.Context(), "j", jobs.Status{Phase: jobs.PhaseFailed}, jobs.Event{Time: now, JobID: "j"}); jobs.ErrorCode(err) != jobs.EINVALID {
		t.Errorf("an event without a type: %v, want EINVALID", err)
	}
	if got, err := db.GetJob(t.Context(), "j"); err != nil || got.Status.Phase != jobs.PhaseRunning {
		t.Errorf("the change of a refused event was kept: %+v, %v", got, err)
	}
	if err := db.DeleteJob(t.Context(), "ghost", jobs.Event{Time: now, Type: jobs.EventJobDeleted, JobID: "ghost"}); err != nil {
		t.Errorf("deleting an unknown job: %v", err)
	}
	// The job's tenant, from its row: the event is stored before the row
	// goes, in the same transaction.
	if err := db.DeleteJob(t.Context(), "j", jobs.Event{Time: now, Type: jobs.EventJobDeleted, JobID: "j", Reason: "Expired"}); err != nil {
		t.Fatal(err)
	}

	want := []string{"1 job.created j a", "2 job.phase j a", "3 attempt.started j a", "4 job.deleted j a"}
	if diff := cmp.Diff(want, types(readEvents(t, db, 0, 10))); diff != "" {
		t.Errorf("stored (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(want, types(announced)); diff != "" {
		t.Errorf("announced (-want +got):\n%s", diff)
	}
}

func TestIdempotentReplayStoresNoEvent(t *testing.T) {
	db := openTest(t)
	var announced int
	db.OnEvents(func(_ context.Context, es []jobs.Event) { announced += len(es) })
	k := jobs.IdempotencyKey{Key: "k", RequestHash: "h", NotBefore: time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)}
	for range 2 {
		if _, _, err := db.CreateJobIdempotent(t.Context(), newJob("j"), k); err != nil {
			t.Fatal(err)
		}
	}
	if es := readEvents(t, db, 0, 10); len(es) != 1 || es[0].Type != jobs.EventJobCreated || announced != 1 {
		t.Errorf("events after a create and its replay: %+v (announced %d), want one job.created", es, announced)
	}
}
