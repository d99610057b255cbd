-- Issue 21: content providers (Foreman/Katello, or the simulator as one), the link of a host
-- to its provider's content host, the simulator's errata and its provider tasks.

CREATE TABLE providers (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    kind TEXT NOT NULL CHECK (kind IN ('foreman', 'sim')),
    url TEXT NOT NULL DEFAULT '',
    username TEXT NOT NULL DEFAULT '',
    -- Sent to the provider as HTTP basic auth, so kept as given; never returned by the API.
    password TEXT NOT NULL DEFAULT '',
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE UNIQUE INDEX providers_name ON providers (lower(name));

-- The host's provider and its content host there (the provider's own id for it).
ALTER TABLE hosts ADD COLUMN provider_id TEXT REFERENCES providers (id) ON DELETE SET NULL;
ALTER TABLE hosts ADD COLUMN content_host TEXT;

-- The fleet file's `[[erratum]]` list, as JSON (the `sim` provider's catalogue).
ALTER TABLE sim_world ADD COLUMN errata TEXT NOT NULL DEFAULT '[]';

-- The `sim` provider's install tasks. `request` is the caller's idempotency key: asking
-- again with the same key answers the same task instead of installing twice.
CREATE TABLE sim_content_tasks (
    id TEXT PRIMARY KEY,
    request TEXT NOT NULL UNIQUE,
    host_id TEXT NOT NULL REFERENCES hosts (id) ON DELETE CASCADE,
    errata TEXT NOT NULL,
    created_at TEXT NOT NULL,
    ends_at TEXT NOT NULL,
    state TEXT NOT NULL CHECK (state IN ('running', 'succeeded', 'failed')),
    result TEXT
);

-- What a host's provider last said applies to it, by type: the clusters list and the
-- dashboard sum these (asking every provider for every host on each page would be slow).
CREATE TABLE host_errata_counts (
    host_id TEXT PRIMARY KEY REFERENCES hosts (id) ON DELETE CASCADE,
    security INTEGER NOT NULL,
    bugfix INTEGER NOT NULL,
    enhancement INTEGER NOT NULL,
    counted_at TEXT NOT NULL
);
