-- Idempotency keys of job submission (POST /v1/jobs with Idempotency-Key):
-- the request each key was first used with, and the job it created, both as
-- its ID and as a snapshot taken at creation, so that the key still answers
-- with the job once the job itself is deleted.
CREATE TABLE idempotency_keys (
	key          TEXT NOT NULL PRIMARY KEY,
	-- SHA-256 of the canonical request, computed by the API.
	request_hash TEXT NOT NULL,
	job_id       TEXT NOT NULL,
	-- A JSON document of this package's snapshotRecord.
	job_snapshot TEXT NOT NULL,
	created_at   TEXT NOT NULL
) STRICT;

-- PruneIdempotencyKeys deletes by age.
CREATE INDEX idempotency_keys_created_at ON idempotency_keys (created_at);
