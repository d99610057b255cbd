-- A host job remembers the host's status before it began, so a failure (or a resume after a
-- restart) can give the host back its original status.
ALTER TABLE jobs ADD COLUMN host_status_before TEXT;
