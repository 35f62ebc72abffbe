-- The events of the events stream (GET /v1/events), kept for a bounded
-- retention so that a client that reconnects reads what it missed.
--
-- id is the event ID clients see: AUTOINCREMENT, so that an ID is never
-- reused, also after the newest events were pruned (sqlite_sequence keeps
-- the highest ID ever assigned). Events are not tied to jobs by a foreign
-- key: they outlive the jobs they tell about, deletion included.
CREATE TABLE events (
	id     INTEGER PRIMARY KEY AUTOINCREMENT,
	time   TEXT    NOT NULL,
	type   TEXT    NOT NULL,
	job_id TEXT    NOT NULL,
	-- The rest of the event, a JSON document of this package's eventRecord.
	record TEXT    NOT NULL
) STRICT;

-- PruneEvents finds the newest event older than the retention.
CREATE INDEX events_time ON events (time);
