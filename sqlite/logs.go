package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/swarmjob/swarmjob/jobs"
)

// logBatch is how many chunks ReadLogs reads per query. It bounds the memory
// of one ReadLogs call (at about logBatch * 64 KiB) and the time a reading
// connection is held: fn runs between queries, with no connection held.
const logBatch = 32

// DeleteLogs removes the stored output of the attempt k. Deleting the logs of
// an attempt or job that does not exist is not an error.
func (db *DB) DeleteLogs(ctx context.Context, k jobs.AttemptKey) error {
	_, err := db.w.ExecContext(ctx, `
		DELETE FROM logs
		WHERE job_seq = (SELECT seq FROM jobs WHERE id = ?) AND idx = ? AND attempt = ?`,
		k.JobID, k.Index, k.Attempt)
	if err != nil {
		return fmt.Errorf("deleting logs of job %q attempt %d/%d: %w", k.JobID, k.Index, k.Attempt, err)
	}
	return nil
}

// AppendLog stores one chunk of the output of attempt k, durably, in its own
// transaction. It returns ENOTFOUND if the job does not exist, ECONFLICT if
// the attempt already has a chunk seq, and EINVALID for a stream other than
// Stdout or Stderr.
func (db *DB) AppendLog(ctx context.Context, k jobs.AttemptKey, seq int, stream jobs.Stream, data []byte) error {
	if stream != jobs.Stdout && stream != jobs.Stderr {
		return jobs.Errorf(jobs.EINVALID, "stream: unknown stream %d", stream)
	}
	if data == nil {
		// A nil slice is bound as NULL.
		data = []byte{}
	}
	res, err := db.w.ExecContext(ctx, `
		INSERT INTO logs (job_seq, idx, attempt, seq, stream, data)
		SELECT seq, ?, ?, ?, ?, ? FROM jobs WHERE id = ?
		ON CONFLICT (job_seq, idx, attempt, seq) DO NOTHING`,
		k.Index, k.Attempt, seq, int(stream), data, k.JobID)
	if err != nil {
		return fmt.Errorf("appending log of job %q attempt %d/%d: %w", k.JobID, k.Index, k.Attempt, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return fmt.Errorf("appending log of job %q attempt %d/%d: %w", k.JobID, k.Index, k.Attempt, err)
	}
	if n == 1 {
		return nil
	}
	// Nothing inserted: either the job is missing or the chunk exists.
	var one int
	err = db.w.QueryRowContext(ctx, `SELECT 1 FROM jobs WHERE id = ?`, k.JobID).Scan(&one)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return notFound(k.JobID)
	case err != nil:
		return fmt.Errorf("appending log of job %q attempt %d/%d: %w", k.JobID, k.Index, k.Attempt, err)
	}
	return jobs.Errorf(jobs.ECONFLICT, "log chunk %d of job %q attempt %d/%d already exists", seq, k.JobID, k.Index, k.Attempt)
}

// ReadLogs calls fn for each stored chunk of job q.JobID that matches q, in
// (index, attempt, seq) order. q.Index selects one index and q.Attempt one
// attempt number (of every selected index); q.Stdout and q.Stderr select streams, and both false selects both.
// ReadLogs returns the first error of fn unchanged, and ENOTFOUND if the job
// does not exist or is being deleted.
//
// Chunks are read in batches between which no connection or lock is held,
// so a slow fn delays no writer and no other reader. Chunks appended during
// the call are returned if they sort after the last chunk returned. Each
// chunk's Data is a fresh slice that fn may keep.
func (db *DB) ReadLogs(ctx context.Context, q jobs.LogQuery, fn func(jobs.LogChunk) error) error {
	var (
		jobSeq   int64
		deleting bool
	)
	err := db.r.QueryRowContext(ctx, `SELECT seq, delete_requested FROM jobs WHERE id = ?`, q.JobID).Scan(&jobSeq, &deleting)
	switch {
	case errors.Is(err, sql.ErrNoRows) || (err == nil && deleting):
		return notFound(q.JobID)
	case err != nil:
		return fmt.Errorf("reading logs of job %q: %w", q.JobID, err)
	}

	// The query text is built from constant fragments only.
	filter := `job_seq = ?`
	args := []any{jobSeq}
	if q.Index != nil {
		filter += ` AND idx = ?`
		args = append(args, *q.Index)
	}
	if q.Attempt != nil {
		// The unary + keeps SQLite from treating attempt as a constant,
		// which would make it sort each index's chunks (blobs included)
		// instead of reading them in primary-key order.
		filter += ` AND +attempt = ?`
		args = append(args, *q.Attempt)
	}
	if q.Stdout != q.Stderr {
		filter += ` AND stream = ?`
		if q.Stdout {
			args = append(args, int(jobs.Stdout))
		} else {
			args = append(args, int(jobs.Stderr))
		}
	}
	const (
		columns = `SELECT idx, attempt, seq, stream, data FROM logs WHERE `
		order   = ` ORDER BY idx, attempt, seq LIMIT ?`
	)
	first := columns + filter + order
	next := columns + filter + ` AND (idx, attempt, seq) > (?, ?, ?)` + order

	type chunk struct {
		jobs.LogChunk
		seq int64
	}
	batch := make([]chunk, 0, logBatch)
	for {
		query, qargs := first, append(args[:len(args):len(args)], logBatch)
		if n := len(batch); n > 0 {
			last := batch[n-1]
			query, qargs = next, append(args[:len(args):len(args)], last.Index, last.Attempt, last.seq, logBatch)
		}
		batch = batch[:0]
		err := queryEach(ctx, db.r, query, qargs, func(rows *sql.Rows) error {
			var c chunk
			// Scanning into a []byte copies the driver's buffer.
			if err := rows.Scan(&c.Index, &c.Attempt, &c.seq, &c.Stream, &c.Data); err != nil {
				return err
			}
			batch = append(batch, c)
			return nil
		})
		if err != nil {
			return fmt.Errorf("reading logs of job %q: %w", q.JobID, err)
		}
		for _, c := range batch {
			if err := fn(c.LogChunk); err != nil {
				return err
			}
		}
		if len(batch) < logBatch {
			return nil
		}
	}
}
