-- The options a host upgrade was started with, so a resumed job keeps them (JSON).
ALTER TABLE jobs ADD COLUMN options TEXT;
