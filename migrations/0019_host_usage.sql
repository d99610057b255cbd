-- Issue 20: what a host's VMs use (how many, their memory, whether one is the engine VM) is
-- kept on the host row by triggers, so listing 10,000 hosts reads 10,000 rows and not every
-- VM once per host. The triggers are the only writers of these columns.
ALTER TABLE hosts ADD COLUMN vm_count INTEGER NOT NULL DEFAULT 0;
ALTER TABLE hosts ADD COLUMN used_mb INTEGER NOT NULL DEFAULT 0;
ALTER TABLE hosts ADD COLUMN engine_vms INTEGER NOT NULL DEFAULT 0;

UPDATE hosts SET
    vm_count = (SELECT COUNT(*) FROM vms v WHERE v.host_id = hosts.id),
    used_mb = (SELECT COALESCE(SUM(v.memory_mb), 0) FROM vms v WHERE v.host_id = hosts.id),
    engine_vms = (SELECT COUNT(*) FROM vms v WHERE v.host_id = hosts.id AND v.hosted_engine = 1);

CREATE TRIGGER vms_usage_insert AFTER INSERT ON vms WHEN NEW.host_id IS NOT NULL
BEGIN
    UPDATE hosts SET vm_count = vm_count + 1, used_mb = used_mb + NEW.memory_mb,
                     engine_vms = engine_vms + (NEW.hosted_engine = 1)
    WHERE id = NEW.host_id;
END;

CREATE TRIGGER vms_usage_delete AFTER DELETE ON vms WHEN OLD.host_id IS NOT NULL
BEGIN
    UPDATE hosts SET vm_count = vm_count - 1, used_mb = used_mb - OLD.memory_mb,
                     engine_vms = engine_vms - (OLD.hosted_engine = 1)
    WHERE id = OLD.host_id;
END;

CREATE TRIGGER vms_usage_update AFTER UPDATE OF host_id, memory_mb, hosted_engine ON vms
BEGIN
    UPDATE hosts SET vm_count = vm_count - 1, used_mb = used_mb - OLD.memory_mb,
                     engine_vms = engine_vms - (OLD.hosted_engine = 1)
    WHERE id = OLD.host_id;
    UPDATE hosts SET vm_count = vm_count + 1, used_mb = used_mb + NEW.memory_mb,
                     engine_vms = engine_vms + (NEW.hosted_engine = 1)
    WHERE id = NEW.host_id;
END;
