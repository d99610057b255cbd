-- Workflows (server/src/workflow): every long operation is a job whose steps are recorded before
-- and after their side effect, and a restarted server replays a job from this log.

-- A step's key is unique within its job (what a replay looks it up by); its name is shared by
-- the steps of its kind (what failpoints and docs/workflows.md use); its output or its error is
-- JSON, so a replay meets the same result. Older rows have no key and are never replayed.
ALTER TABLE job_steps ADD COLUMN step_key TEXT;
ALTER TABLE job_steps ADD COLUMN name TEXT;
ALTER TABLE job_steps ADD COLUMN output TEXT;
ALTER TABLE job_steps ADD COLUMN error TEXT;
CREATE UNIQUE INDEX job_steps_key ON job_steps (job_id, step_key);

-- A job's parameters (JSON): everything a resume needs, written with the job in one statement.
ALTER TABLE jobs RENAME COLUMN options TO params;

-- One job at a time per host (maintenance, activation, upgrade) and one upgrade run per
-- cluster, enforced by the database rather than by a look before the insert. Duplicates an older
-- Uplift may have left are ended first (the newer of two), so the indexes can be built.
UPDATE jobs SET status = 'failed', ended_at = COALESCE(ended_at, created_at), updated_at = created_at,
                message = 'ended when Uplift was upgraded: another job of this host was running'
WHERE ended_at IS NULL AND host_id IS NOT NULL
  AND kind IN ('host_maintenance', 'host_activate', 'host_upgrade')
  AND EXISTS (SELECT 1 FROM jobs o
              WHERE o.host_id = jobs.host_id AND o.ended_at IS NULL AND o.id <> jobs.id
                AND o.kind IN ('host_maintenance', 'host_activate', 'host_upgrade')
                AND (o.created_at < jobs.created_at OR (o.created_at = jobs.created_at AND o.id < jobs.id)));
UPDATE jobs SET status = 'failed', ended_at = COALESCE(ended_at, created_at), updated_at = created_at,
                message = 'ended when Uplift was upgraded: another upgrade of this cluster was running'
WHERE ended_at IS NULL AND kind = 'cluster_upgrade'
  AND EXISTS (SELECT 1 FROM jobs o
              WHERE o.cluster_id = jobs.cluster_id AND o.ended_at IS NULL AND o.id <> jobs.id
                AND o.kind = 'cluster_upgrade'
                AND (o.created_at < jobs.created_at OR (o.created_at = jobs.created_at AND o.id < jobs.id)));
CREATE UNIQUE INDEX jobs_one_per_host ON jobs (host_id)
    WHERE ended_at IS NULL AND kind IN ('host_maintenance', 'host_activate', 'host_upgrade');
CREATE UNIQUE INDEX jobs_one_run_per_cluster ON jobs (cluster_id)
    WHERE ended_at IS NULL AND kind = 'cluster_upgrade';
CREATE INDEX jobs_unfinished ON jobs (ended_at);

-- A job started by another job (a cluster run's host upgrades).
ALTER TABLE jobs ADD COLUMN parent_id TEXT REFERENCES jobs (id);

-- A VM start reserves its host before the host is asked to run it, in one statement that also
-- checks the host is Up; an evacuation waits for reservations on its host to end. So a start
-- cannot race a host into maintenance.
ALTER TABLE vms ADD COLUMN starting_on TEXT REFERENCES hosts (id);

-- Events a step writes are written once, however often the step runs (a replay after a crash).
ALTER TABLE events ADD COLUMN once_key TEXT;
CREATE UNIQUE INDEX events_once ON events (once_key);

-- The simulated hypervisors' own truth of where each VM runs, apart from Uplift's inventory
-- (vms.host_id), as a real host's libvirt is: a crash between a migration and its record leaves
-- the two apart, and the replayed step must bring them together.
CREATE TABLE sim_vms (
    vm_id   TEXT PRIMARY KEY REFERENCES vms (id),
    host_id TEXT REFERENCES hosts (id),
    status  TEXT NOT NULL
);
INSERT INTO sim_vms (vm_id, host_id, status) SELECT id, host_id, status FROM vms;

-- The simulated host's own OS, apart from the inventory's (hosts.os), for the same reason.
ALTER TABLE sim_hosts ADD COLUMN os TEXT;
UPDATE sim_hosts SET os = (SELECT os FROM hosts WHERE hosts.id = sim_hosts.host_id);
