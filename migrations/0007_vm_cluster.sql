-- A VM belongs to a cluster even when it runs nowhere: a stopped or suspended VM starts again
-- on one of its cluster's hosts, and the cluster's preconditions count it.
ALTER TABLE vms ADD COLUMN cluster_id TEXT REFERENCES clusters (id);
UPDATE vms SET cluster_id = (SELECT cluster_id FROM hosts WHERE hosts.id = vms.host_id);
CREATE INDEX vms_cluster ON vms (cluster_id);
