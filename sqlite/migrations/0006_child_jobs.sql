-- Child jobs (issue 6): a job may create jobs through its child-job token.
--
-- parent_id is the job whose token created this one ('' for a job a client
-- submitted), depth its generation (0 for those), children how many jobs
-- were created below it over its life (children and theirs): CreateJob
-- checks and counts them in the transaction that inserts a child, so that
-- no count exceeds its job's limit, however many requests race and whatever
-- is deleted.
ALTER TABLE jobs ADD COLUMN parent_id TEXT NOT NULL DEFAULT '';
ALTER TABLE jobs ADD COLUMN depth INTEGER NOT NULL DEFAULT 0;
ALTER TABLE jobs ADD COLUMN children INTEGER NOT NULL DEFAULT 0;

-- ListJobs of one parent's children, and RequestCancel's walk down the tree.
CREATE INDEX jobs_parent ON jobs (parent_id, seq) WHERE parent_id != '';
