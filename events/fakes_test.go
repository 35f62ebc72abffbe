package events

import (
	"context"
	"sync"
	"time"

	"github.com/swarmjob/swarmjob/jobs"
)

// fakeStore is an in-memory jobs.EventStore. failWith makes AppendEvent
// fail; ctxErrs records the context error each AppendEvent saw.
type fakeStore struct {
	mu       sync.Mutex
	events   []jobs.Event
	failWith error
	ctxErrs  []error
}

var _ jobs.EventStore = (*fakeStore)(nil)

func (f *fakeStore) AppendEvent(ctx context.Context, e jobs.Event) (jobs.Event, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.ctxErrs = append(f.ctxErrs, ctx.Err())
	if f.failWith != nil {
		return jobs.Event{}, f.failWith
	}
	e.ID = int64(len(f.events) + 1)
	e.Time = e.Time.UTC()
	f.events = append(f.events, e)
	return e, nil
}

func (f *fakeStore) ReadEvents(_ context.Context, after int64, limit int) ([]jobs.Event, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []jobs.Event
	for _, e := range f.events {
		if e.ID > after && (limit < 1 || len(out) < limit) {
			out = append(out, e)
		}
	}
	return out, nil
}

func (f *fakeStore) OldestEventID(context.Context) (int64, error) { return 1, nil }

func (f *fakeStore) LastEventID(context.Context) (int64, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return int64(len(f.events)), nil
}

func (f *fakeStore) PruneEvents(context.Context, time.Time) (int64, error) { return 0, nil }
