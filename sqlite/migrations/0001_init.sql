-- Initial schema of the swarmjob store.
--
-- Times are TEXT in UTC with nine fractional digits, so that they sort as
-- text and keep nanoseconds for any year from 1 to 9999. Spec, status and
-- attempt records are JSON documents written by this package's record types;
-- the columns beside them exist only to be filtered, ordered or joined on.

CREATE TABLE jobs (
	-- seq orders jobs by creation and is never reused (AUTOINCREMENT), so
	-- it serves as the keyset of ListJobs' cursor.
	seq              INTEGER PRIMARY KEY AUTOINCREMENT,
	id               TEXT    NOT NULL UNIQUE,
	name             TEXT    NOT NULL,
	created_at       TEXT    NOT NULL,
	phase            TEXT    NOT NULL,
	-- terminal is jobs.Phase.Terminal() of phase, computed in Go so that
	-- the set of terminal phases is defined in one place.
	terminal         INTEGER NOT NULL CHECK (terminal IN (0, 1)),
	spec             TEXT    NOT NULL,
	status           TEXT    NOT NULL,
	cancel_requested INTEGER NOT NULL CHECK (cancel_requested IN (0, 1)),
	delete_requested INTEGER NOT NULL CHECK (delete_requested IN (0, 1))
) STRICT;

CREATE INDEX jobs_phase ON jobs (phase, seq);

-- The jobs the controller still has work on (see also attempts_live).
CREATE INDEX jobs_unfinished ON jobs (seq) WHERE terminal = 0 OR delete_requested = 1;

CREATE TABLE job_labels (
	job_seq INTEGER NOT NULL REFERENCES jobs (seq) ON DELETE CASCADE,
	key     TEXT    NOT NULL,
	value   TEXT    NOT NULL,
	PRIMARY KEY (job_seq, key)
) STRICT, WITHOUT ROWID;

CREATE INDEX job_labels_key_value ON job_labels (key, value, job_seq);

CREATE TABLE attempts (
	job_seq INTEGER NOT NULL REFERENCES jobs (seq) ON DELETE CASCADE,
	idx     INTEGER NOT NULL,
	attempt INTEGER NOT NULL,
	removed INTEGER NOT NULL CHECK (removed IN (0, 1)),
	record  TEXT    NOT NULL,
	PRIMARY KEY (job_seq, idx, attempt)
) STRICT, WITHOUT ROWID;

-- Attempts whose service may still exist in Swarm.
CREATE INDEX attempts_live ON attempts (job_seq) WHERE removed = 0;

-- Log chunks are large rows, so this stays a rowid table: WITHOUT ROWID
-- suits small rows only.
CREATE TABLE logs (
	job_seq INTEGER NOT NULL REFERENCES jobs (seq) ON DELETE CASCADE,
	idx     INTEGER NOT NULL,
	attempt INTEGER NOT NULL,
	seq     INTEGER NOT NULL,
	stream  INTEGER NOT NULL CHECK (stream IN (1, 2)),
	data    BLOB    NOT NULL,
	PRIMARY KEY (job_seq, idx, attempt, seq)
) STRICT;
