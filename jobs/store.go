package jobs

import (
	"context"
	"time"
)

// AttemptKey names one attempt of one job.
type AttemptKey struct {
	JobID   string
	Index   int
	Attempt int
}

// Filter selects jobs in Store.ListJobs. Zero fields match everything.
type Filter struct {
	// Tenant keeps the jobs of this tenant; empty keeps every tenant's.
	Tenant string
	// ParentID keeps the children of this job; empty keeps every job.
	ParentID string
	// IDPrefix keeps the jobs whose ID starts with it (an abbreviated ID).
	IDPrefix string
	Phase    Phase
	// Selector must match the job's labels.
	Selector Selector
	// NamePrefix keeps the jobs whose name starts with it.
	NamePrefix string
	// CreatedAfter keeps the jobs created at or after it, CreatedBefore
	// those created strictly before it, so that consecutive ranges neither
	// overlap nor leave gaps. The zero time is no bound.
	CreatedAfter, CreatedBefore time.Time
	// Order is OrderDesc (newest first; also the zero value) or OrderAsc.
	Order Order
	// Limit caps the page size (default 100, at most 500).
	Limit int
	// Cursor is the opaque NextCursor of a previous page listed in the same
	// Order; anything else is EINVALID.
	Cursor string
}

// Order is the order of ListJobs, by creation.
type Order string

// Orders of Filter.Order.
const (
	OrderDesc Order = "desc"
	OrderAsc  Order = "asc"
)

// SpecPatch holds the spec fields that may change after submission; nil
// fields are left as they are.
type SpecPatch struct {
	Parallelism *int
	Suspend     *bool
}

// Page is one page of ListJobs, in the order the filter asked for.
type Page struct {
	Jobs       []*Job
	NextCursor string
}

// LogQuery selects stored log output.
type LogQuery struct {
	JobID string
	// Index selects one completion index; nil selects all.
	Index *int
	// Attempt selects one attempt number; nil selects all.
	Attempt *int
	// Streams selects stdout, stderr or both (zero value: both).
	Stdout, Stderr bool
}

// LogChunk is a run of stored output of one stream. Data holds whole or
// partial lines, each line prefixed with its RFC 3339 timestamp and a space.
type LogChunk struct {
	Index   int
	Attempt int
	Stream  Stream
	Data    []byte
}

// Store persists jobs, their attempts and their captured logs. A store is
// safe for concurrent use. Methods return *Error values with ENOTFOUND or
// ECONFLICT where those apply, and wrapped internal errors otherwise.
//
// Jobs with DeleteRequested set are invisible to GetJob and ListJobs; only
// GetJobForSync and UnfinishedJobIDs still see them.
//
// The events of the events stream are stored with the change they tell
// about, in its transaction: a crash keeps both or neither, so a client that
// resumes the stream misses no change that was stored.
type Store interface {
	// CreateJob inserts a new job and, in the same transaction, its
	// job.created event; ECONFLICT if its ID exists. A job with
	// a ParentID is a child job: in the same transaction the store checks
	// that the parent exists, is not finished nor cancelled (ECONFLICT),
	// and has created fewer than its ChildJobs.MaxChildren children
	// (EPOLICY), and counts the child; it sets j.Depth to the parent's
	// Depth+1.
	CreateJob(ctx context.Context, j *Job) error
	// GetJob returns the job with its attempts; ENOTFOUND if it is unknown
	// or being deleted.
	GetJob(ctx context.Context, id string) (*Job, error)
	// GetJobForSync is GetJob that also returns jobs being deleted.
	GetJobForSync(ctx context.Context, id string) (*Job, error)
	// ListJobs returns one page of jobs matching f, in f.Order (newest
	// first by default). Paging with NextCursor is stable under concurrent
	// inserts: a page never repeats or skips a job that existed when the
	// first page was read.
	ListJobs(ctx context.Context, f Filter) (Page, error)
	// UpdateStatus replaces the job's status, except its attempts, which
	// are written with PutAttempt, and stores events (such as
	// job.phase) in the same transaction.
	UpdateStatus(ctx context.Context, id string, s Status, events ...Event) error
	// PatchSpec changes the mutable parts of a job's spec and returns the
	// job as it is now; ENOTFOUND if unknown or being deleted, ECONFLICT
	// if it is terminal.
	PatchSpec(ctx context.Context, id string, p SpecPatch) (*Job, error)
	// RequestCancel sets CancelRequested (and DeleteRequested when del is
	// true) on the job and on all its descendants (child jobs, their
	// children...), in one transaction, and returns the job as it is now;
	// ENOTFOUND if unknown or already being deleted.
	RequestCancel(ctx context.Context, id string, del bool) (*Job, error)
	// DeleteJob removes the job, its attempts and its logs, and stores
	// events (job.deleted) in the same transaction. Deleting a missing job
	// is not an error, and stores no event.
	DeleteJob(ctx context.Context, id string, events ...Event) error
	// UnfinishedJobIDs returns the IDs of the jobs the controller still has
	// work on: not terminal, being deleted, or with a service not removed;
	// oldest first.
	UnfinishedJobIDs(ctx context.Context) ([]string, error)

	// PutAttempt inserts or replaces the attempt (job, index, attempt),
	// and stores events (attempt.started, attempt.finished) in the same
	// transaction; ENOTFOUND if the job is unknown. It works on jobs being
	// deleted.
	PutAttempt(ctx context.Context, jobID string, a Attempt, events ...Event) error

	// DeleteLogs removes the stored output of one attempt, so that a
	// capture interrupted by a crash can start over.
	DeleteLogs(ctx context.Context, k AttemptKey) error
	// AppendLog stores one chunk of an attempt's output; seq orders the
	// chunks of an attempt across both streams. ECONFLICT if seq is stored
	// already (DeleteLogs first to capture again).
	AppendLog(ctx context.Context, k AttemptKey, seq int, stream Stream, data []byte) error
	// ReadLogs calls fn for each stored chunk matching q, ordered by index,
	// attempt and seq. It stops at and returns the first error fn returns.
	// fn may keep Data and may call the store. ENOTFOUND if the job is
	// unknown or being deleted.
	ReadLogs(ctx context.Context, q LogQuery, fn func(LogChunk) error) error

	// Ping checks that the store is usable.
	Ping(ctx context.Context) error
	Close() error
}

// Clock is the time source of the controller, injected so that tests can
// move time.
type Clock interface {
	Now() time.Time
}
