-- Notification subscriptions (SPEC §4) and their deliveries. A delivery row is written with
-- the event, so the producer never waits for a network, and a restart loses nothing: the
-- delivery loop sends what is due and retries with backoff.
CREATE TABLE subscriptions (
    id         TEXT PRIMARY KEY,
    user_id    TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    event      TEXT NOT NULL,
    method     TEXT NOT NULL CHECK (method IN ('webhook', 'email')),
    target     TEXT NOT NULL,            -- the webhook URL or the email address
    secret     TEXT,                     -- the webhook's HMAC key
    created_at TEXT NOT NULL
);
CREATE INDEX subscriptions_event ON subscriptions (event);

CREATE TABLE deliveries (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    subscription_id TEXT NOT NULL REFERENCES subscriptions (id) ON DELETE CASCADE,
    event_id        INTEGER NOT NULL REFERENCES events (id),
    status          TEXT NOT NULL CHECK (status IN ('pending', 'delivered', 'failed')),
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at TEXT NOT NULL,
    last_error      TEXT,
    delivered_at    TEXT,
    UNIQUE (subscription_id, event_id)
);
CREATE INDEX deliveries_due ON deliveries (status, next_attempt_at);
