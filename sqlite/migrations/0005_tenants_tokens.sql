-- Tenants and API tokens (issue 6).
--
-- Every job belongs to the tenant of the token that created it; the jobs
-- stored before tenants existed belong to 'default', the tenant of the
-- bootstrap admin token.
ALTER TABLE jobs ADD COLUMN tenant TEXT NOT NULL DEFAULT 'default';

-- ListJobs of one tenant, in creation order.
CREATE INDEX jobs_tenant ON jobs (tenant, seq);

-- The tenant of the job an event is about, so that the events stream shows
-- each tenant its own events only; '' when it was not known, which only
-- admins see. Older events were all of 'default' jobs.
ALTER TABLE events ADD COLUMN tenant TEXT NOT NULL DEFAULT 'default';

-- AppendEvent finds the tenant of a deleted job in its earlier events.
CREATE INDEX events_job ON events (job_id, id);

-- API tokens. The secret is never stored: hash is the SHA-256 of the whole
-- token string, compared in constant time by package auth.
CREATE TABLE tokens (
	id         TEXT NOT NULL PRIMARY KEY,
	name       TEXT NOT NULL,
	tenant     TEXT NOT NULL,
	-- A JSON array of scope names.
	scopes     TEXT NOT NULL,
	hash       BLOB NOT NULL CHECK (length(hash) = 32),
	created_at TEXT NOT NULL,
	-- NULL: the token never expires.
	expires_at TEXT
) STRICT;
