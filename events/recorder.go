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
// number of readers.
//
// It implements jobs.EventRecorder for the controller and the API, and gives
// readers the store's read methods. A Recorder is safe for concurrent use.
type Recorder struct {
	store jobs.EventStore
	log   *slog.Logger
	now   func() time.Time

	mu   sync.Mutex
	wake chan struct{}
}

// NewRecorder returns a Recorder on store that logs store failures to log
// (nil: discard).
func NewRecorder(store jobs.EventStore, log *slog.Logger) *Recorder {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Recorder{store: store, log: log, now: time.Now, wake: make(chan struct{})}
}

// Record appends e to the store, stamped now if e.Time is zero, and then
// wakes every reader waiting on Changed. It blocks for one store write. A
// store failure is logged and the event is lost; Record never fails its
// caller, whose own change is already stored.
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
	if _, err := r.store.AppendEvent(wctx, e); err != nil {
		r.log.LogAttrs(ctx, slog.LevelError, "recording event failed",
			slog.String("job", e.JobID), slog.String("type", string(e.Type)), slog.Any("err", err))
		return
	}
	r.mu.Lock()
	ch := r.wake
	r.wake = make(chan struct{})
	r.mu.Unlock()
	close(ch)
}

// Changed returns a channel that is closed once an event is recorded after
// the call. A reader takes it before it reads the store, so that an event
// recorded between its read and its wait still wakes it.
func (r *Recorder) Changed() <-chan struct{} {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.wake
}

// ReadEvents returns the stored events after afterID, as
// jobs.EventStore.ReadEvents does.
func (r *Recorder) ReadEvents(ctx context.Context, afterID int64, limit int) ([]jobs.Event, error) {
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
