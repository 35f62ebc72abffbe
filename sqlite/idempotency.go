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

var _ jobs.IdempotentStore = (*DB)(nil)

// snapshotRecord is a job as it was created, kept with its idempotency key.
// Spec and status are the documents of the jobs table; attempts are not kept.
type snapshotRecord struct {
	ID        string            `json:"id"`
	Name      string            `json:"name,omitempty"`
	Tenant    string            `json:"tenant,omitempty"`
	ParentID  string            `json:"parentId,omitempty"`
	Depth     int               `json:"depth,omitempty"`
	Labels    map[string]string `json:"labels,omitempty"`
	CreatedAt time.Time         `json:"createdAt"`
	Phase     string            `json:"phase"`
	Spec      json.RawMessage   `json:"spec"`
	Status    json.RawMessage   `json:"status"`
}

// CreateJobIdempotent creates j unless the key k.Key was stored at or after
// k.NotBefore, in one write transaction with the key, so that concurrent
// calls with one key create one job. See jobs.IdempotentStore for what it
// returns. Besides ECONFLICT for a key used with another request hash, it
// returns the errors of CreateJob.
func (db *DB) CreateJobIdempotent(ctx context.Context, j *jobs.Job, k jobs.IdempotencyKey) (*jobs.Job, bool, error) {
	if k.Key == "" {
		return nil, false, jobs.Errorf(jobs.EINVALID, "Idempotency-Key: is empty")
	}
	enc, err := encodeJob(j)
	if err != nil {
		return nil, false, err
	}
	snapshot, err := encode(snapshotRecord{
		ID: j.ID, Name: j.Name, Tenant: j.Tenant, ParentID: j.ParentID, Depth: j.Depth, Labels: j.Labels, CreatedAt: j.CreatedAt.UTC(), Phase: string(enc.phase),
		Spec: json.RawMessage(enc.spec), Status: json.RawMessage(enc.status),
	})
	if err != nil {
		return nil, false, fmt.Errorf("encoding snapshot of job %q: %w", j.ID, err)
	}
	var (
		existing *jobs.Job
		stored   []jobs.Event
	)
	err = db.write(ctx, func(tx *sql.Tx) error {
		var err error
		if existing, err = lookupKey(ctx, tx, k); existing != nil || err != nil {
			return err
		}
		if stored, err = insertJobAndEvent(ctx, tx, j, enc); err != nil {
			return err
		}
		// An expired row of the same key is replaced.
		if _, err := tx.ExecContext(ctx, `
			INSERT INTO idempotency_keys (key, request_hash, job_id, job_snapshot, created_at) VALUES (?, ?, ?, ?, ?)
			ON CONFLICT (key) DO UPDATE SET request_hash = excluded.request_hash, job_id = excluded.job_id,
				job_snapshot = excluded.job_snapshot, created_at = excluded.created_at`,
			k.Key, k.RequestHash, j.ID, snapshot, formatTime(j.CreatedAt)); err != nil {
			return fmt.Errorf("storing idempotency key of job %q: %w", j.ID, err)
		}
		return nil
	})
	if err != nil {
		return nil, false, err
	}
	db.announce(ctx, stored)
	return existing, existing == nil, nil
}

// IdempotentJob returns the job that key k created, when k is live and was
// used with k.RequestHash: as it is now, or its snapshot once deleted. It
// returns nil when k is unknown or expired, and the ECONFLICT error of
// IdempotencyConflict when it was used with another request.
func (db *DB) IdempotentJob(ctx context.Context, k jobs.IdempotencyKey) (*jobs.Job, error) {
	var j *jobs.Job
	err := db.read(ctx, func(tx *sql.Tx) error {
		var err error
		j, err = lookupKey(ctx, tx, k)
		return err
	})
	return j, err
}

// lookupKey is IdempotentJob within tx.
func lookupKey(ctx context.Context, tx *sql.Tx, k jobs.IdempotencyKey) (*jobs.Job, error) {
	var hash, jobID, snap, createdAt string
	err := tx.QueryRowContext(ctx,
		`SELECT request_hash, job_id, job_snapshot, created_at FROM idempotency_keys WHERE key = ?`, k.Key).
		Scan(&hash, &jobID, &snap, &createdAt)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return nil, nil
	case err != nil:
		return nil, fmt.Errorf("reading idempotency key: %w", err)
	case createdAt < formatTime(k.NotBefore):
		// Times are stored sortable as text; this key expired.
		return nil, nil
	case hash != k.RequestHash:
		return nil, jobs.IdempotencyConflict(k.Key)
	}
	j, err := getJob(ctx, tx, jobID, false)
	if jobs.IsNotFound(err) {
		j, err = decodeSnapshot(snap)
	}
	return j, err
}

// decodeSnapshot returns the job stored in a snapshotRecord, without
// attempts.
func decodeSnapshot(text string) (*jobs.Job, error) {
	var r snapshotRecord
	if err := json.Unmarshal([]byte(text), &r); err != nil {
		return nil, fmt.Errorf("decoding job snapshot: %w", err)
	}
	spec, err := decodeSpec(string(r.Spec))
	if err != nil {
		return nil, fmt.Errorf("job snapshot %q: %w", r.ID, err)
	}
	status, err := decodeStatus(jobs.Phase(r.Phase), string(r.Status))
	if err != nil {
		return nil, fmt.Errorf("job snapshot %q: %w", r.ID, err)
	}
	return &jobs.Job{ID: r.ID, Name: r.Name, Tenant: r.Tenant, ParentID: r.ParentID, Depth: r.Depth, Labels: r.Labels, CreatedAt: r.CreatedAt, Spec: spec, Status: status}, nil
}

// PruneIdempotencyKeys deletes the keys created before the given time and
// returns how many it deleted.
func (db *DB) PruneIdempotencyKeys(ctx context.Context, before time.Time) (int64, error) {
	res, err := db.w.ExecContext(ctx, `DELETE FROM idempotency_keys WHERE created_at < ?`, formatTime(before))
	if err != nil {
		return 0, fmt.Errorf("pruning idempotency keys: %w", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return 0, fmt.Errorf("pruning idempotency keys: %w", err)
	}
	return n, nil
}
