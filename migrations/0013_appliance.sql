-- The hosted-engine appliance world (seed 003), the simulator's: the hosted-engine storage
-- domain with the engine VM's disk (what it holds, and how far a deploy over it got), the
-- backup disks on it, and the appliance images on offer. One hosted-engine cluster per world.
CREATE TABLE sim_he (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    cluster_id TEXT NOT NULL,
    storage_total_gb INTEGER NOT NULL,
    engine_disk_gb INTEGER NOT NULL,
    disk_os TEXT NOT NULL,
    disk_version TEXT NOT NULL,
    -- engine: a working engine; appliance: an image written over it; injected: with a backup
    -- in it; restored: set up from that backup (it boots into a working engine).
    disk_state TEXT NOT NULL DEFAULT 'engine'
        CHECK (disk_state IN ('engine', 'appliance', 'injected', 'restored'))
);

CREATE TABLE sim_he_catalog (
    version TEXT PRIMARY KEY,
    os TEXT NOT NULL,
    size_gb INTEGER NOT NULL,
    sha1 TEXT NOT NULL,
    fail TEXT NOT NULL DEFAULT 'none',
    cluster_levels TEXT NOT NULL DEFAULT '[]'
);

-- Backup disks: created (ready once the storage finished), filled by a copy of the engine
-- disk, and registered with the engine under a name.
CREATE TABLE sim_he_disks (
    id TEXT PRIMARY KEY,
    size_gb INTEGER NOT NULL,
    created_at TEXT NOT NULL,
    ready INTEGER NOT NULL DEFAULT 0,
    content_os TEXT,
    content_version TEXT,
    name TEXT UNIQUE,
    registered_at TEXT
);

ALTER TABLE sim_hosts ADD COLUMN spm INTEGER NOT NULL DEFAULT 0;

-- Uplift backup archives uploaded for an appliance upgrade (verified before they are kept):
-- what each holds, and its bytes.
CREATE TABLE he_archives (
    id TEXT PRIMARY KEY,
    description TEXT NOT NULL,
    data BLOB NOT NULL,
    uploaded_at TEXT NOT NULL,
    user TEXT NOT NULL
);

-- One appliance upgrade or rollback at a time: the database refuses a second.
CREATE UNIQUE INDEX jobs_one_appliance_job ON jobs (cluster_id)
    WHERE ended_at IS NULL AND kind IN ('hosted_engine_upgrade', 'hosted_engine_rollback');
