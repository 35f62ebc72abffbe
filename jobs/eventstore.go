package jobs

import (
	"context"
	"time"
)

// DefaultEventRetention is how long the events stream keeps events for
// clients that reconnect, unless configured otherwise.
const DefaultEventRetention = 24 * time.Hour

// EventStore keeps the events of the events stream for a bounded time, so
// that a client that reconnects can read what it missed. It is apart from
// Store, which the controller uses, because only the events stream needs it.
//
// IDs are assigned by AppendEvent, increase with every event and are never
// reused, also after pruning. They become visible in order: once ReadEvents
// returns an event, every event with a smaller ID that is still kept is
// visible too. An EventStore is safe for concurrent use.
type EventStore interface {
	// AppendEvent stores e durably with a new ID and returns it with that
	// ID (and its time in UTC). e.ID is ignored. When e.Tenant is empty it
	// stores the tenant of job e.JobID, from the job or, once the job is
	// gone, from the job's earlier events; it stays empty when neither is
	// known, and such an event is shown to admin tokens only.
	AppendEvent(ctx context.Context, e Event) (Event, error)
	// ReadEvents returns the kept events whose ID is above afterID, in ID
	// order, at most limit of them (a limit below 1 means a default page).
	ReadEvents(ctx context.Context, afterID int64, limit int) ([]Event, error)
	// OldestEventID returns the ID of the oldest event kept or, when none
	// is, the ID the next event will get. A client that has seen every
	// event up to ID n missed none when n+1 >= OldestEventID.
	OldestEventID(ctx context.Context) (int64, error)
	// LastEventID returns the highest ID ever assigned, 0 when none was,
	// also when that event was pruned since.
	LastEventID(ctx context.Context) (int64, error)
	// PruneEvents deletes the oldest events up to the newest one recorded
	// before the given time, so that the kept events are always one
	// contiguous range of IDs, and returns how many it deleted.
	PruneEvents(ctx context.Context, before time.Time) (int64, error)
}
