package jobs

import (
	"context"
	"time"
)

// EventType names what happened.
type EventType string

// Event types.
const (
	EventJobCreated      EventType = "job.created"
	EventAttemptStarted  EventType = "attempt.started"
	EventAttemptFinished EventType = "attempt.finished"
	EventPhaseChanged    EventType = "job.phase"
	EventJobDeleted      EventType = "job.deleted"
)

// Event is one thing that happened to a job, as the events stream shows it.
type Event struct {
	// ID is assigned by the recorder and increases monotonically.
	ID    int64
	Time  time.Time
	Type  EventType
	JobID string
	// Tenant is the tenant of the job; the events stream shows an event
	// only to that tenant's tokens and to admin tokens. A recorder that
	// leaves it empty lets the store fill it in from the job (see
	// EventStore.AppendEvent).
	Tenant string
	// Labels are the job's labels, for label-selector filtering.
	Labels map[string]string
	// Phase and Reason are set on job events.
	Phase  Phase
	Reason string
	// Index, Attempt, State and ExitCode are set on attempt events.
	Index    int
	Attempt  int
	State    AttemptState
	ExitCode *int
	// Message carries a human-readable detail, such as an attempt's error.
	Message string
}

// EventRecorder records events. Record must not block for long; it may drop
// an event only when its store fails, which it reports in its own logs.
type EventRecorder interface {
	Record(ctx context.Context, e Event)
}

// NopRecorder discards events.
type NopRecorder struct{}

// Record implements EventRecorder.
func (NopRecorder) Record(context.Context, Event) {}
