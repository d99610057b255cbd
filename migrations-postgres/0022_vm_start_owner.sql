-- Issue 22: which instance reserved a VM start. The instance that takes the background work
-- over settles the starts a stopped instance left reserved, and only those: a start another
-- live instance is making is that instance's to end.
ALTER TABLE vms ADD COLUMN starting_by TEXT;
