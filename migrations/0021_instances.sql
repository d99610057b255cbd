-- Issue 22: several Uplift instances on one database. Every instance registers itself and
-- beats; a job is run by the instance that holds its lease, and every write its flow makes
-- carries the lease's fencing token, so an instance that lost the lease (paused, cut off)
-- cannot write after another took the job over. Times are milliseconds since the epoch on the
-- database's clock, so instances whose clocks differ still agree on when a lease ends.

CREATE TABLE instances (
    id TEXT PRIMARY KEY,
    -- The instance's name (`--instance-name`): a restarted instance takes over what the
    -- earlier process of the same name held, at once.
    name TEXT NOT NULL,
    address TEXT NOT NULL DEFAULT '',
    version TEXT NOT NULL,
    started_at TEXT NOT NULL,
    heartbeat_ms BIGINT NOT NULL,
    stopped BIGINT NOT NULL DEFAULT 0
);
CREATE INDEX instances_name ON instances (name);

-- Who runs an unfinished job, until when, and the fencing token (raised at every takeover).
CREATE TABLE job_leases (
    job_id TEXT PRIMARY KEY REFERENCES jobs (id) ON DELETE CASCADE,
    owner TEXT NOT NULL,
    fence BIGINT NOT NULL,
    until_ms BIGINT NOT NULL
);
CREATE INDEX job_leases_owner ON job_leases (owner);

-- Work only one instance does at a time (the periodic checks, deliveries, the HA monitor, …).
CREATE TABLE leases (
    name TEXT PRIMARY KEY,
    holder TEXT NOT NULL,
    fence BIGINT NOT NULL,
    until_ms BIGINT NOT NULL
);
