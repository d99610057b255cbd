-- Users, API tokens, the managed inventory and the simulator's private state.
-- Sessions live in the table tower-sessions' SQLite store creates itself.

CREATE TABLE users (
    id            TEXT PRIMARY KEY,
    name          TEXT NOT NULL UNIQUE,
    role          TEXT NOT NULL CHECK (role IN ('admin', 'viewer')),
    password_hash TEXT NOT NULL,
    -- Bumped on every password change: sessions remember the value they were made with, so a
    -- new password ends every older session.
    auth_version  INTEGER NOT NULL DEFAULT 1,
    created_at    TEXT NOT NULL
);

CREATE TABLE api_tokens (
    token_hash TEXT PRIMARY KEY,   -- SHA-256 of the token; the token itself is never stored
    user_id    TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at TEXT NOT NULL,
    expires_at TEXT NOT NULL
);

CREATE TABLE clusters (
    id                      TEXT PRIMARY KEY,
    name                    TEXT NOT NULL UNIQUE,
    compatibility_version   TEXT NOT NULL,
    scheduling_policy       TEXT NOT NULL,
    memory_headroom_percent INTEGER NOT NULL
);

CREATE TABLE hosts (
    id                       TEXT PRIMARY KEY,
    name                     TEXT NOT NULL UNIQUE,
    cluster_id               TEXT NOT NULL REFERENCES clusters (id),
    address                  TEXT NOT NULL,
    status                   TEXT NOT NULL,
    os                       TEXT NOT NULL,
    cpu_cores                INTEGER NOT NULL,
    memory_mb                INTEGER NOT NULL,
    supported_cluster_levels TEXT NOT NULL DEFAULT '[]',  -- JSON array
    hosted_engine            TEXT,                         -- JSON object, NULL when not configured
    updates_available        INTEGER NOT NULL DEFAULT 0,
    available_updates        TEXT NOT NULL DEFAULT '[]',  -- JSON array
    last_update_check        TEXT
);
CREATE INDEX hosts_cluster ON hosts (cluster_id);
CREATE INDEX hosts_status ON hosts (status);

CREATE TABLE vms (
    id                TEXT PRIMARY KEY,
    name              TEXT NOT NULL UNIQUE,
    host_id           TEXT REFERENCES hosts (id),
    status            TEXT NOT NULL,
    cpus              INTEGER NOT NULL,
    memory_mb         INTEGER NOT NULL,
    migration         TEXT NOT NULL,
    cpu_pinning       INTEGER NOT NULL DEFAULT 0,
    numa_pinning      INTEGER NOT NULL DEFAULT 0,
    host_devices      INTEGER NOT NULL DEFAULT 0,
    highly_available  INTEGER NOT NULL DEFAULT 0,
    hosted_engine     INTEGER NOT NULL DEFAULT 0,
    migrations        INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX vms_host ON vms (host_id);

CREATE TABLE events (
    id             INTEGER PRIMARY KEY AUTOINCREMENT,
    code           TEXT NOT NULL,
    severity       TEXT NOT NULL CHECK (severity IN ('normal', 'warning', 'error')),
    time           TEXT NOT NULL,
    message        TEXT NOT NULL,
    host_id        TEXT,
    cluster_id     TEXT,
    correlation_id TEXT,
    user_name      TEXT
);
CREATE INDEX events_correlation ON events (correlation_id);

-- The simulated datacenter behind the `sim` driver: what the fleet file said beyond the
-- inventory (speeds, the repository, each host's packages and failure mode). One row.
CREATE TABLE sim_world (
    id                      INTEGER PRIMARY KEY CHECK (id = 1),
    source                  TEXT NOT NULL,
    speed                   REAL NOT NULL,
    seed                    INTEGER NOT NULL,
    migration_gbps          REAL NOT NULL,
    max_migrations_per_host INTEGER NOT NULL,
    engine_version          TEXT NOT NULL,
    engine_available        TEXT,
    repository              TEXT NOT NULL,  -- JSON: os, supported_cluster_levels, packages
    loaded_at               TEXT NOT NULL
);

CREATE TABLE sim_hosts (
    host_id         TEXT PRIMARY KEY REFERENCES hosts (id),
    packages        TEXT NOT NULL,  -- JSON object name -> version
    upgrade_seconds REAL NOT NULL,
    reboot_seconds  REAL NOT NULL,
    fail            TEXT NOT NULL
);
