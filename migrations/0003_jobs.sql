-- Jobs: long work (update checks now; upgrades later) as a row plus its steps, so the API and
-- the UI can follow it and a restart knows what was in flight.
CREATE TABLE jobs (
    id               TEXT PRIMARY KEY,
    kind             TEXT NOT NULL,
    status           TEXT NOT NULL,
    percent_complete REAL NOT NULL DEFAULT 0,
    correlation_id   TEXT NOT NULL,
    host_id          TEXT REFERENCES hosts (id),
    cluster_id       TEXT REFERENCES clusters (id),
    user_name        TEXT,
    message          TEXT,
    created_at       TEXT NOT NULL,
    ended_at         TEXT
);
CREATE INDEX jobs_status ON jobs (status);

CREATE TABLE job_steps (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    job_id     TEXT NOT NULL REFERENCES jobs (id),
    host_id    TEXT REFERENCES hosts (id),
    phase      TEXT NOT NULL,
    status     TEXT NOT NULL,
    started_at TEXT NOT NULL,
    ended_at   TEXT,
    message    TEXT
);
CREATE INDEX job_steps_job ON job_steps (job_id);

-- When the "updates are available" event was last written for a host (at most once a day).
ALTER TABLE hosts ADD COLUMN updates_notified_at TEXT;

-- How long a simulated update check takes (before `speed`).
ALTER TABLE sim_world ADD COLUMN check_seconds REAL NOT NULL DEFAULT 2.0;
