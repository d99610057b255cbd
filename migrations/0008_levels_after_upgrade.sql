-- The cluster levels a host will support once its pending updates are installed, as its last
-- update check learned them (JSON array; NULL: unknown, or nothing pending).
ALTER TABLE hosts ADD COLUMN levels_after_upgrade TEXT;
