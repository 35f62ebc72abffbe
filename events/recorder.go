// Package events is the events stream of swarmjob: what happens to jobs (job
// created, attempt started and finished, phase changed, job deleted), stored
// durably with increasing IDs so that clients can resume after the last event
// they saw, and announced to in-process readers as it is recorded.
package events

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/swarmjob/swarmjob/jobs"
)

// appendTimeout bounds the store write of one event.
const appendTimeout = 5 * time.Second

// Recorder records events in a jobs.EventStore and wakes the readers of the
// stream at each new one, so that readers wait on a channel instead of
// polling the store: one wake-up costs one channel close, whatever the
// number of readers. It keeps the latest events it recorded in memory (a
// tail), from which readers that follow the stream are served without a
// store read: with N clients following, an event costs one store write, not
// N reads.
//
// It implements jobs.EventRecorder for the controller and the API, and gives
// readers the store's read methods. A Recorder is safe for concurrent use.
type Recorder struct {
	store jobs.EventStore
	log   *slog.Logger
	now   func() time.Time

	mu   sync.Mutex
	wake chan struct{}
	// tail holds recorded events with contiguous IDs, oldest first, at
	// most tailCap of them. pending holds recorded events whose
	// predecessor is not in tail yet: concurrent Records can finish out of
	// ID order.
	tail    []jobs.Event
	tailCap int
	pending map[int64]jobs.Event
}

// DefaultTailEvents is how many recent events a Recorder keeps in memory.
const DefaultTailEvents = 4096

// maxPending bounds the events waiting for a predecessor; beyond it the
// predecessor is taken as lost (its append failed after its ID was taken)
// and the tail starts over.
const maxPending = 64

// NewRecorder returns a Recorder on store that logs store failures to log
// (nil: discard).
func NewRecorder(store jobs.EventStore, log *slog.Logger) *Recorder {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Recorder{store: store, log: log, now: time.Now, wake: make(chan struct{}), tailCap: DefaultTailEvents, pending: map[int64]jobs.Event{}}
}

// Record appends e to the store, stamped now if e.Time is zero, and then
// announces it (Announce). It blocks for one store write. A store failure is
// logged and the event is lost; Record never fails its caller, whose own
// change is already stored. The events of a change are better stored with
// it (jobs.Store) and only announced here.
//
// The write outlives ctx's cancellation (not its values), for up to
// appendTimeout: the change the event tells about has been committed, and a
// shutdown that cancels the caller must not make readers miss it.
func (r *Recorder) Record(ctx context.Context, e jobs.Event) {
	if e.Time.IsZero() {
		e.Time = r.now()
	}
	wctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), appendTimeout)
	defer cancel()
	stored, err := r.store.AppendEvent(wctx, e)
	if err != nil {
		r.mu.Lock()
		// The event may be stored all the same (a timeout after the
		// commit): the tail can no longer tell that it is complete.
		r.tail, r.pending = nil, map[int64]jobs.Event{}
		r.mu.Unlock()
		r.log.LogAttrs(ctx, slog.LevelError, "recording event failed",
			slog.String("job", e.JobID), slog.String("type", string(e.Type)), slog.Any("err", err))
		return
	}
	r.Announce(ctx, []jobs.Event{stored})
}

// Announce takes events that are stored already (with their IDs) into the
// tail and wakes every reader waiting on Changed. The store calls it after
// committing a change with its events (sqlite.DB.OnEvents).
func (r *Recorder) Announce(_ context.Context, stored []jobs.Event) {
	if len(stored) == 0 {
		return
	}
	r.mu.Lock()
	for _, e := range stored {
		r.addToTail(e)
	}
	ch := r.wake
	r.wake = make(chan struct{})
	r.mu.Unlock()
	close(ch)
}

// addToTail adds a stored event to the tail, or to pending until its
// predecessor is in the tail. The caller holds r.mu.
func (r *Recorder) addToTail(e jobs.Event) {
	switch {
	case len(r.tail) == 0 && len(r.pending) == 0:
		// The first event since the start (or a reset): the tail begins
		// here; readers further back are served by the store.
		r.tail = append(r.tail, e)
	case len(r.tail) > 0 && e.ID == r.tail[len(r.tail)-1].ID+1:
		r.tail = append(r.tail, e)
		for {
			next, ok := r.pending[r.tail[len(r.tail)-1].ID+1]
			if !ok {
				break
			}
			delete(r.pending, next.ID)
			r.tail = append(r.tail, next)
		}
	case len(r.tail) > 0 && e.ID <= r.tail[len(r.tail)-1].ID:
		// Not newer than the tail: the store's IDs went back (a new
		// store?); start over.
		r.tail, r.pending = []jobs.Event{e}, map[int64]jobs.Event{}
	default:
		r.pending[e.ID] = e
		if len(r.pending) > maxPending {
			// The hole never filled: start over after it.
			r.tail, r.pending = nil, map[int64]jobs.Event{}
			r.tail = append(r.tail, e)
		}
	}
	if over := len(r.tail) - r.tailCap; over > 0 {
		r.tail = append(r.tail[:0:0], r.tail[over:]...)
	}
}

// fromTail returns the events after afterID from the tail, at most limit,
// and true; or false when the tail cannot tell them all: afterID is before
// the tail, or at its end while later events wait for a missing one.
func (r *Recorder) fromTail(afterID int64, limit int) ([]jobs.Event, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.tail) == 0 {
		return nil, false
	}
	first, last := r.tail[0].ID, r.tail[len(r.tail)-1].ID
	if afterID < first-1 || afterID > last || (afterID == last && len(r.pending) > 0) {
		return nil, false
	}
	rest := r.tail[afterID-first+1:]
	if limit < 1 {
		limit = tailPage
	}
	rest = rest[:min(len(rest), limit)]
	return append([]jobs.Event(nil), rest...), true
}

// tailPage is the page of ReadEvents from the tail when limit < 1.
const tailPage = 256

// Changed returns a channel that is closed once an event is recorded after
// the call. A reader takes it before it reads the store, so that an event
// recorded between its read and its wait still wakes it.
func (r *Recorder) Changed() <-chan struct{} {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.wake
}

// ReadEvents returns the events after afterID, as
// jobs.EventStore.ReadEvents does: from the tail when it holds every event
// after afterID that was recorded, from the store otherwise.
func (r *Recorder) ReadEvents(ctx context.Context, afterID int64, limit int) ([]jobs.Event, error) {
	if events, ok := r.fromTail(afterID, limit); ok {
		return events, nil
	}
	return r.store.ReadEvents(ctx, afterID, limit)
}

// OldestEventID is jobs.EventStore.OldestEventID.
func (r *Recorder) OldestEventID(ctx context.Context) (int64, error) {
	return r.store.OldestEventID(ctx)
}

// LastEventID is jobs.EventStore.LastEventID.
func (r *Recorder) LastEventID(ctx context.Context) (int64, error) {
	return r.store.LastEventID(ctx)
}
