-- Configuration values (SPEC §3). A missing row means the default; values are stored in the
-- canonical form the service validated.
CREATE TABLE config (
    name       TEXT PRIMARY KEY,
    value      TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    updated_by TEXT
);
