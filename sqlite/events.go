package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/swarmjob/swarmjob/jobs"
)

var _ jobs.EventStore = (*DB)(nil)

// Page sizes of ReadEvents: DefaultEventPage applies when the limit is not
// positive, and no call returns more than MaxEventPage events.
const (
	DefaultEventPage = 100
	MaxEventPage     = 1000
)

// eventRecord is jobs.Event without the fields that are columns: ID, Time,
// Type, JobID and Tenant.
type eventRecord struct {
	Labels   map[string]string `json:"labels,omitempty"`
	Phase    string            `json:"phase,omitempty"`
	Reason   string            `json:"reason,omitempty"`
	Index    int               `json:"index,omitempty"`
	Attempt  int               `json:"attempt,omitempty"`
	State    string            `json:"state,omitempty"`
	ExitCode *int              `json:"exitCode,omitempty"`
	Message  string            `json:"message,omitempty"`
}

// AppendEvent stores e with the next event ID, durably, and returns it with
// that ID, its time in UTC and its tenant. An event without a tenant gets
// its job's (see jobs.EventStore). It returns EINVALID for an event without
// a type. Unlike the events that come with a change (CreateJob,
// UpdateStatus, PutAttempt, DeleteJob), it is not announced to OnEvents:
// its caller has it.
func (db *DB) AppendEvent(ctx context.Context, e jobs.Event) (jobs.Event, error) {
	// One statement in its own transaction on the one writer connection:
	// IDs are assigned and committed in the same order, which is what lets
	// readers trust that no smaller ID appears later.
	return insertEvent(ctx, db.w, e)
}

// OnEvents sets fn to receive the events stored with the changes they tell
// about, once their transaction is committed, in ID order within a call
// (calls may overlap). Set it before the store is used; events.Recorder
// takes them into its tail and wakes its readers.
func (db *DB) OnEvents(fn func(context.Context, []jobs.Event)) { db.onEvents = fn }

// announce hands committed events to the OnEvents function.
func (db *DB) announce(ctx context.Context, stored []jobs.Event) {
	if len(stored) > 0 && db.onEvents != nil {
		db.onEvents(ctx, stored)
	}
}

// rowQuerier is what insertEvent needs of a *sql.DB or a *sql.Tx.
type rowQuerier interface {
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// insertEvents stores events with q, in order, and returns them as stored.
func insertEvents(ctx context.Context, q rowQuerier, events []jobs.Event) ([]jobs.Event, error) {
	var stored []jobs.Event
	for _, e := range events {
		s, err := insertEvent(ctx, q, e)
		if err != nil {
			return nil, err
		}
		stored = append(stored, s)
	}
	return stored, nil
}

// insertEvent stores e with the next event ID and returns it with that ID,
// its time in UTC (now when unset) and its tenant.
func insertEvent(ctx context.Context, q rowQuerier, e jobs.Event) (jobs.Event, error) {
	if e.Type == "" {
		return jobs.Event{}, jobs.Errorf(jobs.EINVALID, "type: is required")
	}
	rec, err := encode(eventRecord{
		Labels:   e.Labels,
		Phase:    string(e.Phase),
		Reason:   e.Reason,
		Index:    e.Index,
		Attempt:  e.Attempt,
		State:    string(e.State),
		ExitCode: e.ExitCode,
		Message:  e.Message,
	})
	if err != nil {
		return jobs.Event{}, fmt.Errorf("encoding event of job %q: %w", e.JobID, err)
	}
	if e.Time.IsZero() {
		e.Time = time.Now()
	}
	e.Time = e.Time.UTC()
	// An event without a tenant takes its job's: from the job, or from
	// the job's earlier events once the job is deleted.
	err = q.QueryRowContext(ctx, `INSERT INTO events (time, type, job_id, tenant, record) VALUES (?, ?, ?,
		coalesce(nullif(?, ''),
			(SELECT tenant FROM jobs WHERE id = ?),
			(SELECT tenant FROM events WHERE job_id = ? AND tenant != '' ORDER BY id DESC LIMIT 1),
			''),
		?)
		RETURNING id, tenant`,
		formatTime(e.Time), string(e.Type), e.JobID, e.Tenant, e.JobID, e.JobID, rec).Scan(&e.ID, &e.Tenant)
	if err != nil {
		return jobs.Event{}, fmt.Errorf("appending event of job %q: %w", e.JobID, err)
	}
	return e, nil
}

// ReadEvents returns the kept events with an ID above afterID, in ID order:
// at most limit, DefaultEventPage when limit < 1, and never more than
// MaxEventPage.
func (db *DB) ReadEvents(ctx context.Context, afterID int64, limit int) ([]jobs.Event, error) {
	if limit < 1 {
		limit = DefaultEventPage
	}
	limit = min(limit, MaxEventPage)
	var out []jobs.Event
	err := queryEach(ctx, db.r, `SELECT id, time, type, job_id, tenant, record FROM events WHERE id > ? ORDER BY id LIMIT ?`,
		[]any{afterID, limit}, func(rows *sql.Rows) error {
			var (
				e            jobs.Event
				at, typ, rec string
			)
			if err := rows.Scan(&e.ID, &at, &typ, &e.JobID, &e.Tenant, &rec); err != nil {
				return err
			}
			var err error
			if e.Time, err = parseTime(at); err != nil {
				return fmt.Errorf("event %d: %w", e.ID, err)
			}
			var r eventRecord
			if err := json.Unmarshal([]byte(rec), &r); err != nil {
				return fmt.Errorf("decoding event %d: %w", e.ID, err)
			}
			e.Type = jobs.EventType(typ)
			e.Labels, e.Phase, e.Reason = r.Labels, jobs.Phase(r.Phase), r.Reason
			e.Index, e.Attempt, e.State, e.ExitCode, e.Message = r.Index, r.Attempt, jobs.AttemptState(r.State), r.ExitCode, r.Message
			out = append(out, e)
			return nil
		})
	if err != nil {
		return nil, fmt.Errorf("reading events after %d: %w", afterID, err)
	}
	return out, nil
}

// OldestEventID returns the ID of the oldest kept event or, when none is
// kept, the ID the next event will get.
func (db *DB) OldestEventID(ctx context.Context) (int64, error) {
	var id int64
	err := db.read(ctx, func(tx *sql.Tx) error {
		var oldest sql.NullInt64
		if err := tx.QueryRowContext(ctx, `SELECT min(id) FROM events`).Scan(&oldest); err != nil {
			return err
		}
		if oldest.Valid {
			id = oldest.Int64
			return nil
		}
		last, err := lastEventID(ctx, tx)
		id = last + 1
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("reading oldest event ID: %w", err)
	}
	return id, nil
}

// LastEventID returns the highest event ID ever assigned, 0 if none was.
func (db *DB) LastEventID(ctx context.Context) (int64, error) {
	id, err := lastEventID(ctx, db.r)
	if err != nil {
		return 0, fmt.Errorf("reading last event ID: %w", err)
	}
	return id, nil
}

// lastEventID reads the AUTOINCREMENT counter of events, which pruning does
// not lower.
func lastEventID(ctx context.Context, q querier) (int64, error) {
	var id int64
	err := q.QueryRowContext(ctx, `SELECT seq FROM sqlite_sequence WHERE name = 'events'`).Scan(&id)
	if errors.Is(err, sql.ErrNoRows) {
		// No event was ever appended: SQLite adds the row on the first.
		return 0, nil
	}
	return id, err
}

// PruneEvents deletes every event up to the newest one whose time is before
// the given time, so that events keep one contiguous range of IDs even if
// the clock went back, and returns how many it deleted.
func (db *DB) PruneEvents(ctx context.Context, before time.Time) (int64, error) {
	res, err := db.w.ExecContext(ctx, `DELETE FROM events WHERE id <= (SELECT max(id) FROM events WHERE time < ?)`,
		formatTime(before))
	if err != nil {
		return 0, fmt.Errorf("pruning events: %w", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return 0, fmt.Errorf("pruning events: %w", err)
	}
	return n, nil
}
