-- Facts about this store itself, such as the ID of the swarmjob instance
-- that owns it: services carry that ID so that several instances can share
-- one Swarm without touching each other's services.
CREATE TABLE meta (
	key   TEXT NOT NULL PRIMARY KEY,
	value TEXT NOT NULL
) STRICT;
