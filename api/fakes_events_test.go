package api

import (
	"context"
	"sync"
	"time"

	"github.com/swarmjob/swarmjob/jobs"
)

// fakeKey is an idempotency key in fakeStore.
type fakeKey struct {
	hash     string
	jobID    string
	snapshot *jobs.Job
	created  time.Time
}

var _ jobs.IdempotentStore = (*fakeStore)(nil)

// CreateJobIdempotent follows the contract of jobs.IdempotentStore under
// the store's one lock.
func (f *fakeStore) CreateJobIdempotent(_ context.Context, j *jobs.Job, k jobs.IdempotencyKey) (*jobs.Job, bool, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.enter("CreateJobIdempotent"); err != nil {
		return nil, false, err
	}
	if old, err := f.lookupKey(k); old != nil || err != nil {
		return old, false, err
	}
	if _, ok := f.jobs[j.ID]; ok {
		return nil, false, jobs.Errorf(jobs.ECONFLICT, "job %q exists", j.ID)
	}
	f.jobs[j.ID] = cloneJob(j)
	f.order = append(f.order, j.ID)
	if f.keys == nil {
		f.keys = make(map[string]fakeKey)
	}
	f.keys[k.Key] = fakeKey{hash: k.RequestHash, jobID: j.ID, snapshot: cloneJob(j), created: j.CreatedAt}
	f.stored(createdEvent(j))
	return nil, true, nil
}

// IdempotentJob follows the contract of jobs.IdempotentStore.
func (f *fakeStore) IdempotentJob(_ context.Context, k jobs.IdempotencyKey) (*jobs.Job, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.enter("IdempotentJob"); err != nil {
		return nil, err
	}
	return f.lookupKey(k)
}

// lookupKey returns the job of a live key k; the caller holds f.mu.
func (f *fakeStore) lookupKey(k jobs.IdempotencyKey) (*jobs.Job, error) {
	old, ok := f.keys[k.Key]
	if !ok || old.created.Before(k.NotBefore) {
		return nil, nil
	}
	if old.hash != k.RequestHash {
		return nil, jobs.IdempotencyConflict(k.Key)
	}
	if cur, ok := f.jobs[old.jobID]; ok && !cur.DeleteRequested {
		return cloneJob(cur), nil
	}
	return cloneJob(old.snapshot), nil
}

func (f *fakeStore) PruneIdempotencyKeys(_ context.Context, before time.Time) (int64, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	var n int64
	for k, v := range f.keys {
		if v.created.Before(before) {
			delete(f.keys, k)
			n++
		}
	}
	return n, nil
}

// fakeEventStore is an in-memory jobs.EventStore with IDs from 1. Set
// failRead to make ReadEvents fail.
type fakeEventStore struct {
	mu       sync.Mutex
	events   []jobs.Event
	last     int64
	failRead error
}

var _ jobs.EventStore = (*fakeEventStore)(nil)

func (f *fakeEventStore) AppendEvent(_ context.Context, e jobs.Event) (jobs.Event, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.last++
	e.ID = f.last
	e.Time = e.Time.UTC()
	f.events = append(f.events, e)
	return e, nil
}

func (f *fakeEventStore) ReadEvents(_ context.Context, after int64, limit int) ([]jobs.Event, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.failRead != nil {
		return nil, f.failRead
	}
	var out []jobs.Event
	for _, e := range f.events {
		if e.ID > after && (limit < 1 || len(out) < limit) {
			out = append(out, e)
		}
	}
	return out, nil
}

func (f *fakeEventStore) OldestEventID(context.Context) (int64, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.events) == 0 {
		return f.last + 1, nil
	}
	return f.events[0].ID, nil
}

func (f *fakeEventStore) LastEventID(context.Context) (int64, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.last, nil
}

// PruneEvents drops the events up to the newest before the given time.
func (f *fakeEventStore) PruneEvents(_ context.Context, before time.Time) (int64, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	cut := 0
	for i, e := range f.events {
		if e.Time.Before(before) {
			cut = i + 1
		}
	}
	f.events = f.events[cut:]
	return int64(cut), nil
}

// dropThrough prunes the events with IDs up to id, for tests.
func (f *fakeEventStore) dropThrough(id int64) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for len(f.events) > 0 && f.events[0].ID <= id {
		f.events = f.events[1:]
	}
}

func (f *fakeEventStore) setFailRead(err error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.failRead = err
}
