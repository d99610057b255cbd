-- The engine update check (SPEC §6): the last answer, kept when a later check fails, the
-- version already announced (one event per version), and each user's dismissed versions.
CREATE TABLE engine_state (
    id                INTEGER PRIMARY KEY CHECK (id = 1),
    version           TEXT NOT NULL,
    available_version TEXT,
    notes_url         TEXT,
    last_checked      TEXT,
    last_error        TEXT,
    announced_version TEXT
);

CREATE TABLE engine_dismissals (
    user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    version TEXT NOT NULL,
    PRIMARY KEY (user_id, version)
);
