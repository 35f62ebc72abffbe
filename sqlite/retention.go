package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"time"
)

// ExpiredJobs returns up to limit IDs of finished jobs whose record may go:
// terminal, not being deleted, every service removed, and either past their
// own ttlSecondsAfterFinished, or (when maxAge > 0) finished longer than
// maxAge ago, or (when keep > 0) not among the keep newest finished jobs.
// A job's own TTL takes precedence over maxAge, not over keep.
func (db *DB) ExpiredJobs(ctx context.Context, now time.Time, maxAge time.Duration, keep, limit int) ([]string, error) {
	const query = `
		SELECT id FROM jobs j
		WHERE terminal = 1 AND delete_requested = 0
		  AND NOT EXISTS (SELECT 1 FROM attempts a WHERE a.job_seq = j.seq AND a.removed = 0)
		  AND (
		    (json_extract(spec, '$.ttlSecondsAfterFinished') IS NOT NULL
		      AND CAST(strftime('%s', json_extract(status, '$.finishedAt')) AS INTEGER)
		          + json_extract(spec, '$.ttlSecondsAfterFinished') <= :now)
		    OR (:maxAge > 0 AND json_extract(spec, '$.ttlSecondsAfterFinished') IS NULL
		      AND CAST(strftime('%s', json_extract(status, '$.finishedAt')) AS INTEGER) + :maxAge <= :now)
		    OR (:keep > 0 AND seq < coalesce((SELECT min(seq) FROM (
		      SELECT seq FROM jobs WHERE terminal = 1 AND delete_requested = 0 ORDER BY seq DESC LIMIT :keep)), 0)
		      AND (SELECT count(*) FROM jobs WHERE terminal = 1 AND delete_requested = 0) > :keep)
		  )
		ORDER BY seq
		LIMIT :limit`
	ids, err := queryStrings(ctx, db.r, query,
		sql.Named("now", now.Unix()),
		sql.Named("maxAge", int64(maxAge/time.Second)),
		sql.Named("keep", keep),
		sql.Named("limit", limit))
	if err != nil {
		return nil, fmt.Errorf("listing expired jobs: %w", err)
	}
	return ids, nil
}
