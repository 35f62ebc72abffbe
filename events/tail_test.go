package events

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/swarmjob/swarmjob/jobs"
)

// countingStore counts ReadEvents calls of a fakeStore.
type countingStore struct {
	*fakeStore
	reads atomic.Int64
}

func (c *countingStore) ReadEvents(ctx context.Context, after int64, limit int) ([]jobs.Event, error) {
	c.reads.Add(1)
	return c.fakeStore.ReadEvents(ctx, after, limit)
}

func ids(es []jobs.Event) []int64 {
	out := make([]int64, len(es))
	for i, e := range es {
		out[i] = e.ID
	}
	return out
}

func equal(a, b []int64) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// Readers that follow the stream are served from memory; readers further
// back than the tail, from the store.
func TestTailServesFollowers(t *testing.T) {
	store := &countingStore{fakeStore: &fakeStore{}}
	// Two events from an earlier run: before the tail.
	for range 2 {
		if _, err := store.AppendEvent(t.Context(), jobs.Event{Type: jobs.EventJobCreated}); err != nil {
			t.Fatal(err)
		}
	}
	r := NewRecorder(store, nil)
	r.tailCap = 4
	for range 6 {
		r.Record(t.Context(), jobs.Event{Type: jobs.EventJobCreated, JobID: "j"})
	}
	// Events 1-8 are stored; the tail keeps 5-8.
	for _, c := range []struct {
		after, limit int64
		want         []int64
		fromStore    bool
	}{
		{after: 8, want: []int64{}},
		{after: 6, want: []int64{7, 8}},
		{after: 4, want: []int64{5, 6, 7, 8}},
		{after: 4, limit: 1, want: []int64{5}},
		{after: 3, want: []int64{4, 5, 6, 7, 8}, fromStore: true},
		{after: 0, want: []int64{1, 2, 3, 4, 5, 6, 7, 8}, fromStore: true},
	} {
		before := store.reads.Load()
		got, err := r.ReadEvents(t.Context(), c.after, int(c.limit))
		if err != nil {
			t.Fatal(err)
		}
		if !equal(ids(got), c.want) {
			t.Errorf("after %d limit %d: %v, want %v", c.after, c.limit, ids(got), c.want)
		}
		if read := store.reads.Load() > before; read != c.fromStore {
			t.Errorf("after %d: store read %v, want %v", c.after, read, c.fromStore)
		}
	}
}

// Records that finish out of ID order, or whose append failed, never make
// a reader skip an event.
func TestTailHolesAndFailures(t *testing.T) {
	store := &countingStore{fakeStore: &fakeStore{}}
	r := NewRecorder(store, nil)
	r.addToTailLocked(jobs.Event{ID: 1})
	r.addToTailLocked(jobs.Event{ID: 3}) // 2 is still being recorded
	if _, ok := r.fromTail(1, 0); ok {
		t.Error("a reader at 1 was served from the tail while 2 is missing")
	}
	if got, ok := r.fromTail(0, 0); !ok || !equal(ids(got), []int64{1}) {
		t.Errorf("after 0: %v %v, want [1] from the tail", ids(got), ok)
	}
	r.addToTailLocked(jobs.Event{ID: 2})
	if got, ok := r.fromTail(1, 0); !ok || !equal(ids(got), []int64{2, 3}) {
		t.Errorf("after 1 once 2 arrived: %v %v, want [2 3]", ids(got), ok)
	}

	// A failed append resets the tail: the event may be stored anyway.
	store.failWith = errors.New("timeout after commit?")
	r.Record(t.Context(), jobs.Event{Type: jobs.EventJobCreated})
	if _, ok := r.fromTail(3, 0); ok {
		t.Error("the tail still answers after a failed append")
	}
}

// addToTailLocked is addToTail with the lock, for tests.
func (r *Recorder) addToTailLocked(e jobs.Event) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.addToTail(e)
}

// Under concurrent Records, a follower sees every event once, in order.
func TestTailConcurrentFollowers(t *testing.T) {
	store := &fakeStore{}
	r := NewRecorder(store, nil)
	const writers, each = 8, 200
	var wg sync.WaitGroup
	for range writers {
		wg.Go(func() {
			for range each {
				r.Record(context.Background(), jobs.Event{Type: jobs.EventJobCreated})
			}
		})
	}
	var got []int64
	after := int64(0)
	for after < writers*each {
		changed := r.Changed()
		events, err := r.ReadEvents(t.Context(), after, 0)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range events {
			if e.ID != after+1 {
				t.Fatalf("after %d came %d", after, e.ID)
			}
			after = e.ID
			got = append(got, e.ID)
		}
		if len(events) == 0 {
			<-changed
		}
	}
	wg.Wait()
	if len(got) != writers*each {
		t.Errorf("saw %d events, want %d", len(got), writers*each)
	}
}
