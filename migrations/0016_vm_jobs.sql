-- A VM's own jobs (a manual migration, issue 19): at most one unfinished job per VM, said by
-- the database, so two admins migrating one VM at once get one job and one refusal.
ALTER TABLE jobs ADD COLUMN vm_id TEXT REFERENCES vms (id);
CREATE UNIQUE INDEX jobs_one_per_vm ON jobs (vm_id) WHERE ended_at IS NULL AND vm_id IS NOT NULL;
