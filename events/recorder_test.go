package events

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/swarmjob/swarmjob/jobs"
)

func closed(ch <-chan struct{}) bool {
	select {
	case <-ch:
		return true
	default:
		return false
	}
}

func TestRecordStoresAndWakes(t *testing.T) {
	store := &fakeStore{}
	r := NewRecorder(store, nil)
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	r.now = func() time.Time { return now }

	before := r.Changed()
	if closed(before) {
		t.Fatal("Changed is closed before any event")
	}
	r.Record(t.Context(), jobs.Event{Type: jobs.EventJobCreated, JobID: "j1", Phase: jobs.PhasePending})
	if !closed(before) {
		t.Error("a reader waiting before the event was not woken")
	}
	after := r.Changed()
	if closed(after) {
		t.Error("Changed taken after the event is already closed")
	}
	stamped := now.Add(-time.Hour)
	r.Record(t.Context(), jobs.Event{Time: stamped, Type: jobs.EventJobDeleted, JobID: "j1"})
	if !closed(after) {
		t.Error("the second event did not wake")
	}

	got, err := r.ReadEvents(t.Context(), 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	want := []jobs.Event{
		{ID: 1, Time: now, Type: jobs.EventJobCreated, JobID: "j1", Phase: jobs.PhasePending},
		{ID: 2, Time: stamped, Type: jobs.EventJobDeleted, JobID: "j1"},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("stored events (-want +got):\n%s", diff)
	}
	if last, err := r.LastEventID(t.Context()); err != nil || last != 2 {
		t.Errorf("LastEventID = %d, %v; want 2", last, err)
	}
}

// TestRecordOutlivesCancellation: the caller's change is committed, so its
// event is written even when the caller's context has just ended.
func TestRecordOutlivesCancellation(t *testing.T) {
	store := &fakeStore{}
	r := NewRecorder(store, nil)
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	r.Record(ctx, jobs.Event{Type: jobs.EventPhaseChanged, JobID: "j"})
	if len(store.events) != 1 || store.ctxErrs[0] != nil {
		t.Errorf("events %v, store saw context error %v; want the event written with a live context", store.events, store.ctxErrs)
	}
}

func TestRecordStoreFailureIsLogged(t *testing.T) {
	var logs bytes.Buffer
	store := &fakeStore{failWith: errors.New("disk full")}
	r := NewRecorder(store, slog.New(slog.NewTextHandler(&logs, nil)))
	ch := r.Changed()
	r.Record(t.Context(), jobs.Event{Type: jobs.EventAttemptStarted, JobID: "j7"})
	if closed(ch) {
		t.Error("readers were woken for an event that was not stored")
	}
	for _, want := range []string{"recording event failed", "job=j7", "type=attempt.started", "disk full"} {
		if !strings.Contains(logs.String(), want) {
			t.Errorf("log %q lacks %q", logs.String(), want)
		}
	}
}
