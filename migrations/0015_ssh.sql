-- Real hosts reached over SSH (the `ssh` driver, issue 18). A datacenter is either simulated
-- (sim_world) or real (ssh_world), chosen by the fleet file of the first start.
CREATE TABLE ssh_world (
    id               INTEGER PRIMARY KEY CHECK (id = 1),
    source           TEXT NOT NULL,
    key_file         TEXT,            -- NULL: ~/.ssh/id_ed25519, or a key Uplift made
    engine_version   TEXT NOT NULL,
    engine_available TEXT,
    survey_seconds   INTEGER NOT NULL CHECK (survey_seconds >= 1),  -- how often hosts are looked at
    loaded_at        TEXT NOT NULL
);

CREATE TABLE ssh_hosts (
    host_id        TEXT PRIMARY KEY REFERENCES hosts (id),
    port           INTEGER NOT NULL CHECK (port BETWEEN 1 AND 65535),
    login_user     TEXT NOT NULL,
    libvirt_uri    TEXT NOT NULL,
    family         TEXT CHECK (family IN ('apt', 'dnf')),  -- once the host said
    rebooting_from TEXT   -- the boot id before a reboot Uplift asked for, until a new one answers
);

-- A host's SSH key, pinned on first contact; a different key is refused until an admin
-- forgets this one.
CREATE TABLE host_keys (
    host_id     TEXT PRIMARY KEY REFERENCES hosts (id),
    public_key  TEXT NOT NULL,
    fingerprint TEXT NOT NULL,
    pinned_at   TEXT NOT NULL
);

-- Every status change bumps the host's revision, so a slow look at a host (the survey) can
-- change its status only if nothing else did since it looked, even a change and back.
ALTER TABLE hosts ADD COLUMN status_rev INTEGER NOT NULL DEFAULT 0;
CREATE TRIGGER hosts_status_rev AFTER UPDATE OF status ON hosts
BEGIN
    UPDATE hosts SET status_rev = OLD.status_rev + 1 WHERE id = NEW.id;
END;

-- The same for a VM's place and status: the survey's picture of a host's VMs applies only to
-- VMs nothing else moved or changed since the survey began.
ALTER TABLE vms ADD COLUMN rev INTEGER NOT NULL DEFAULT 0;
CREATE TRIGGER vms_rev AFTER UPDATE OF host_id, status ON vms
BEGIN
    UPDATE vms SET rev = OLD.rev + 1 WHERE id = NEW.id;
END;
