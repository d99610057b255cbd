-- Host types and the reinstall (issue 19). A host is a plain host (upgraded package by package)
-- or an oVirt Node (upgraded as a whole image, always with a reboot). The simulator keeps a
-- node's image version and how long a reinstall of the host's management software takes.
ALTER TABLE hosts ADD COLUMN host_type TEXT NOT NULL DEFAULT 'plain'
    CHECK (host_type IN ('plain', 'node'));
ALTER TABLE sim_hosts ADD COLUMN image TEXT;
ALTER TABLE sim_hosts ADD COLUMN reinstall_seconds REAL NOT NULL DEFAULT 30;
