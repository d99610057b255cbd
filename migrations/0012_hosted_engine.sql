-- Hosted engine (seed 004): the simulated HA agents' own state, apart from the inventory's
-- hosts.hosted_engine (what Uplift last heard from them). A host's agent runs (`ha_agent`) or
-- not; its score when healthy is `ha_base_score`; local maintenance is per host; global
-- maintenance is one flag of the hosted-engine cluster (the simulated world has one).
ALTER TABLE sim_hosts ADD COLUMN ha_configured INTEGER NOT NULL DEFAULT 0;
ALTER TABLE sim_hosts ADD COLUMN ha_agent INTEGER NOT NULL DEFAULT 0;
ALTER TABLE sim_hosts ADD COLUMN ha_base_score INTEGER NOT NULL DEFAULT 3400;
ALTER TABLE sim_hosts ADD COLUMN ha_local_maintenance INTEGER NOT NULL DEFAULT 0;
-- Until when the simulated host is off (rebooting): its agent does not run meanwhile. A time,
-- not a flag, so a host a dead server was rebooting is back by itself.
ALTER TABLE sim_hosts ADD COLUMN down_until TEXT;
ALTER TABLE sim_world ADD COLUMN ha_global_maintenance INTEGER NOT NULL DEFAULT 0;

UPDATE sim_hosts SET
    ha_configured = COALESCE((SELECT json_extract(h.hosted_engine, '$.configured') FROM hosts h WHERE h.id = sim_hosts.host_id), 0),
    ha_agent = COALESCE((SELECT json_extract(h.hosted_engine, '$.active') FROM hosts h WHERE h.id = sim_hosts.host_id), 0),
    ha_base_score = COALESCE((SELECT json_extract(h.hosted_engine, '$.score') FROM hosts h WHERE h.id = sim_hosts.host_id), 3400),
    ha_local_maintenance = COALESCE((SELECT json_extract(h.hosted_engine, '$.local_maintenance') FROM hosts h WHERE h.id = sim_hosts.host_id), 0);
UPDATE sim_world SET ha_global_maintenance =
    COALESCE((SELECT MAX(json_extract(hosted_engine, '$.global_maintenance')) FROM hosts WHERE hosted_engine IS NOT NULL), 0);
