-- When a job (or one of its steps) last changed: the event stream sends changed jobs.
ALTER TABLE jobs ADD COLUMN updated_at TEXT;
UPDATE jobs SET updated_at = COALESCE(ended_at, created_at);
CREATE INDEX jobs_updated ON jobs (updated_at);
