-- Issue 17: limits and retention kept by the database.

-- At most 20 subscriptions per user, however many requests race (the service names the limit;
-- this makes it true).
CREATE TRIGGER subscriptions_per_user BEFORE INSERT ON subscriptions
WHEN (SELECT COUNT(*) FROM subscriptions WHERE user_id = NEW.user_id) >= 20
BEGIN
    SELECT RAISE(ABORT, 'subscription_limit');
END;

-- `GET /api/events?host=` and the retention prune read by these instead of scanning.
CREATE INDEX events_host ON events (host_id, id);
CREATE INDEX events_time ON events (time);
CREATE INDEX deliveries_event ON deliveries (event_id);
CREATE INDEX api_tokens_user ON api_tokens (user_id);
CREATE INDEX api_tokens_expires ON api_tokens (expires_at);
CREATE INDEX jobs_parent ON jobs (parent_id);
