//! The `ssh` driver's rows: the real datacenter as its fleet file named it, where each host
//! is reached, its pinned key, the boot it runs, and what the hosts said about themselves.

use std::collections::{HashMap, HashSet};

use app::api::{HostStatus, VmStatus};

use super::world::insert_clusters;
use super::{new_id, now_rfc3339, NewEvent, Store, StoreResult};
use crate::fleet::driver::{HostFacts, VmFacts};
use crate::fleet::ssh::SshFleet;

/// The real datacenter's own settings.
#[derive(Clone, Debug)]
pub struct SshWorld {
    pub key_file: Option<String>,
    pub engine_version: String,
    pub engine_available: Option<String>,
    pub survey_seconds: u64,
}

/// Where and as whom a host is reached, and what Uplift knows of its state.
#[derive(Clone, Debug)]
pub struct SshHostRow {
    pub host_id: String,
    pub name: String,
    pub address: String,
    pub port: u16,
    pub user: String,
    pub libvirt_uri: String,
    pub family: Option<String>,
    pub rebooting_from: Option<String>,
}

/// How a host's offered key compares with the pinned one.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PinOutcome {
    /// First contact: the key is pinned now.
    Pinned,
    Matches,
    Differs {
        pinned: String,
        since: String,
    },
}

type HostRow = (
    String,
    String,
    String,
    i64,
    String,
    String,
    Option<String>,
    Option<String>,
);

impl Store {
    /// Writes a validated real-hosts fleet in one transaction: clusters, and hosts that are
    /// Non Responsive until they first answer.
    pub async fn load_ssh_fleet(&self, fleet: &SshFleet, source: &str) -> StoreResult<()> {
        let mut tx = self.pool.begin().await?;
        sqlx::query(
            "INSERT INTO ssh_world (id, source, key_file, engine_version, engine_available,
                                    survey_seconds, loaded_at)
             VALUES (1, $1, $2, $3, $4, $5, $6)",
        )
        .bind(source)
        .bind(
            fleet
                .driver
                .key_file
                .as_ref()
                .map(|p| p.display().to_string()),
        )
        .bind(&fleet.engine.version)
        .bind(&fleet.engine.available_version)
        .bind(i64::try_from(*fleet.driver.survey_seconds.get_ref()).unwrap_or(i64::MAX))
        .bind(now_rfc3339())
        .execute(&mut *tx)
        .await?;
        let cluster_ids = insert_clusters(&mut tx, &fleet.clusters).await?;
        for host in &fleet.hosts {
            let id = new_id();
            let cluster = host.cluster.get_ref().as_str();
            let level = fleet
                .clusters
                .iter()
                .find(|c| c.name.get_ref() == cluster)
                .map(|c| c.compatibility_version.get_ref().clone());
            // A plain KVM host has no management agent to name the levels it supports; it
            // runs its cluster's.
            let levels = serde_json::to_string(&level.into_iter().collect::<Vec<_>>())
                .unwrap_or_else(|_| "[]".into());
            sqlx::query(
                "INSERT INTO hosts (id, name, cluster_id, address, status, os, cpu_cores, memory_mb,
                                    supported_cluster_levels)
                 VALUES ($1, $2, $3, $4, $5, 'unknown', 0, 0, $6)",
            )
            .bind(&id)
            .bind(host.name.get_ref())
            .bind(&cluster_ids[cluster])
            .bind(host.address.get_ref())
            .bind(HostStatus::NonResponsive.as_str())
            .bind(levels)
            .execute(&mut *tx)
            .await?;
            sqlx::query(
                "INSERT INTO ssh_hosts (host_id, port, login_user, libvirt_uri) VALUES ($1, $2, $3, $4)",
            )
            .bind(&id)
            .bind(i64::from(*host.port.get_ref()))
            .bind(host.user(&fleet.driver))
            .bind(host.libvirt_uri())
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    pub async fn ssh_world(&self) -> StoreResult<Option<SshWorld>> {
        let row: Option<(Option<String>, String, Option<String>, i64)> = sqlx::query_as(
            "SELECT key_file, engine_version, engine_available, survey_seconds
             FROM ssh_world WHERE id = 1",
        )
        .fetch_optional(&self.pool)
        .await?;
        Ok(row.map(
            |(key_file, engine_version, engine_available, survey)| SshWorld {
                key_file,
                engine_version,
                engine_available,
                survey_seconds: u64::try_from(survey).unwrap_or(30),
            },
        ))
    }

    /// The host the inventory says the VM runs on.
    pub async fn vm_host_id(&self, vm_id: &str) -> StoreResult<Option<String>> {
        let host: Option<Option<String>> =
            sqlx::query_scalar("SELECT host_id FROM vms WHERE id = $1")
                .bind(vm_id)
                .fetch_optional(&self.pool)
                .await?;
        Ok(host.flatten())
    }

    pub async fn ssh_host(&self, host_id: &str) -> StoreResult<Option<SshHostRow>> {
        let row: Option<HostRow> = sqlx::query_as(
            "SELECT h.id, h.name, h.address, s.port, s.login_user, s.libvirt_uri, s.family,
                    s.rebooting_from
             FROM ssh_hosts s JOIN hosts h ON h.id = s.host_id WHERE s.host_id = $1",
        )
        .bind(host_id)
        .fetch_optional(&self.pool)
        .await?;
        Ok(row.map(ssh_host_row))
    }

    /// Every real host, the one named `first` (if any) first.
    pub async fn ssh_hosts(&self, first: Option<&str>) -> StoreResult<Vec<SshHostRow>> {
        let rows: Vec<HostRow> = sqlx::query_as(
            "SELECT h.id, h.name, h.address, s.port, s.login_user, s.libvirt_uri, s.family,
                    s.rebooting_from
             FROM ssh_hosts s JOIN hosts h ON h.id = s.host_id
             ORDER BY h.id = $1 DESC, h.name",
        )
        .bind(first.unwrap_or(""))
        .fetch_all(&self.pool)
        .await?;
        Ok(rows.into_iter().map(ssh_host_row).collect())
    }

    pub async fn set_ssh_family(&self, host_id: &str, family: &str) -> StoreResult<()> {
        sqlx::query("UPDATE ssh_hosts SET family = $1 WHERE host_id = $2")
            .bind(family)
            .bind(host_id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// A reboot Uplift asked for is over once the host answers from another boot.
    pub async fn end_reboot_if_new_boot(&self, host_id: &str, boot_id: &str) -> StoreResult<()> {
        sqlx::query(
            "UPDATE ssh_hosts SET rebooting_from = NULL WHERE host_id = $1 AND rebooting_from <> $2",
        )
        .bind(host_id)
        .bind(boot_id)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Records, before a reboot is asked for, the boot it leaves (`None`: no reboot pending).
    pub async fn set_rebooting_from(
        &self,
        host_id: &str,
        boot_id: Option<&str>,
    ) -> StoreResult<()> {
        sqlx::query("UPDATE ssh_hosts SET rebooting_from = $1 WHERE host_id = $2")
            .bind(boot_id)
            .bind(host_id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Pins `public_key` for the host at first contact, in one statement (two first contacts
    /// at once pin one key), else compares it with the pinned one.
    pub async fn pin_host_key(
        &self,
        host_id: &str,
        public_key: &str,
        fingerprint: &str,
    ) -> StoreResult<PinOutcome> {
        let inserted = sqlx::query(
            "INSERT INTO host_keys (host_id, public_key, fingerprint, pinned_at) VALUES ($1, $2, $3, $4)
             ON CONFLICT (host_id) DO NOTHING",
        )
        .bind(host_id)
        .bind(public_key)
        .bind(fingerprint)
        .bind(now_rfc3339())
        .execute(&self.pool)
        .await?
        .rows_affected();
        if inserted == 1 {
            return Ok(PinOutcome::Pinned);
        }
        let (pinned_key, pinned, since): (String, String, String) = sqlx::query_as(
            "SELECT public_key, fingerprint, pinned_at FROM host_keys WHERE host_id = $1",
        )
        .bind(host_id)
        .fetch_one(&self.pool)
        .await?;
        Ok(if pinned_key == public_key {
            PinOutcome::Matches
        } else {
            PinOutcome::Differs { pinned, since }
        })
    }

    /// Forgets a host's pinned key; the next contact pins the key it offers then.
    pub async fn forget_host_key(&self, host_id: &str) -> StoreResult<bool> {
        let done = sqlx::query("DELETE FROM host_keys WHERE host_id = $1")
            .bind(host_id)
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected() > 0)
    }

    /// What a host said about itself (its VMs are synced by [`Store::sync_host_vms`]).
    pub async fn record_host_facts(&self, host_id: &str, facts: &HostFacts) -> StoreResult<()> {
        sqlx::query("UPDATE hosts SET os = $1, cpu_cores = $2, memory_mb = $3 WHERE id = $4")
            .bind(&facts.os)
            .bind(i64::from(facts.cpu_cores))
            .bind(i64::try_from(facts.memory_mb).unwrap_or(i64::MAX))
            .bind(host_id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Every VM's revision by name (see migration 0015), read before a survey asks the hosts.
    pub async fn vm_revisions(&self) -> StoreResult<HashMap<String, i64>> {
        let rows: Vec<(String, i64)> = sqlx::query_as("SELECT name, rev FROM vms")
            .fetch_all(&self.pool)
            .await?;
        Ok(rows.into_iter().collect())
    }

    /// Makes the inventory say what the host's libvirt says: its domains (by name) run here or
    /// are defined here; a VM the inventory had running here that the host no longer has runs
    /// nowhere (until another host reports it), unless a job that may be moving it runs. Only
    /// VMs whose revision is still the one in `seen` change: what a job did while the host was
    /// asked wins. Returns the names of VMs seen for the first time.
    pub async fn sync_host_vms(
        &self,
        host_id: &str,
        cluster_id: &str,
        vms: &[VmFacts],
        seen: &HashMap<String, i64>,
    ) -> StoreResult<Vec<String>> {
        let mut tx = self.pool.begin().await?;
        let mut new = Vec::new();
        for vm in vms {
            let running = vm.status.is_running();
            let host = running.then_some(host_id);
            let Some(rev) = seen.get(&vm.name) else {
                let inserted = sqlx::query(
                    "INSERT INTO vms (id, name, host_id, status, cpus, memory_mb, migration, cluster_id)
                     VALUES ($1, $2, $3, $4, $5, $6, 'migratable', $7) ON CONFLICT (name) DO NOTHING",
                )
                .bind(new_id())
                .bind(&vm.name)
                .bind(host)
                .bind(vm.status.as_str())
                .bind(i64::from(vm.cpus))
                .bind(i64::try_from(vm.memory_mb).unwrap_or(i64::MAX))
                .bind(cluster_id)
                .execute(&mut *tx)
                .await?
                .rows_affected();
                if inserted == 1 {
                    new.push(vm.name.clone());
                }
                continue;
            };
            sqlx::query(
                "UPDATE vms SET host_id = CASE WHEN $1 = 1 THEN $2 WHEN host_id = $3 THEN NULL ELSE host_id END,
                                status = CASE WHEN $4 = 1 OR host_id IS NULL OR host_id = $5 THEN $6 ELSE status END,
                                cpus = $7, memory_mb = $8
                 WHERE name = $9 AND rev = $10",
            )
            .bind(i64::from(running))
            .bind(host)
            .bind(host_id)
            .bind(i64::from(running))
            .bind(host_id)
            .bind(vm.status.as_str())
            .bind(i64::from(vm.cpus))
            .bind(i64::try_from(vm.memory_mb).unwrap_or(i64::MAX))
            .bind(&vm.name)
            .bind(rev)
            .execute(&mut *tx)
            .await?;
        }
        let present: HashSet<&str> = vms.iter().map(|vm| vm.name.as_str()).collect();
        // A VM a job is moving (a host job evacuating this host, or the VM's own job) may have
        // left the host's libvirt before the job records where it went: it is not gone.
        let here: Vec<(String, String)> = sqlx::query_as(
            "SELECT v.id, v.name FROM vms v WHERE v.host_id = $1
               AND NOT EXISTS (SELECT 1 FROM jobs j WHERE j.ended_at IS NULL
                                 AND (j.host_id = v.host_id OR j.vm_id = v.id))",
        )
        .bind(host_id)
        .fetch_all(&mut *tx)
        .await?;
        for (id, name) in here
            .iter()
            .filter(|(_, name)| !present.contains(name.as_str()))
        {
            let Some(rev) = seen.get(name) else { continue };
            sqlx::query("UPDATE vms SET host_id = NULL, status = $1 WHERE id = $2 AND rev = $3")
                .bind(VmStatus::Down.as_str())
                .bind(id)
                .bind(rev)
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        Ok(new)
    }
}

fn ssh_host_row(row: HostRow) -> SshHostRow {
    let (host_id, name, address, port, user, libvirt_uri, family, rebooting_from) = row;
    SshHostRow {
        host_id,
        name,
        address,
        port: u16::try_from(port).unwrap_or(22),
        user,
        libvirt_uri,
        family,
        rebooting_from,
    }
}

/// A host the survey looks at.
#[derive(Clone, Debug)]
pub struct SurveyTarget {
    pub host_id: String,
    pub name: String,
    pub cluster_id: String,
    pub status: HostStatus,
    /// The status revision seen (see migration 0015).
    pub status_rev: i64,
}

impl Store {
    /// Every host, with its status and status revision, for a survey.
    pub async fn survey_targets(&self) -> StoreResult<Vec<SurveyTarget>> {
        let rows: Vec<(String, String, String, String, i64)> = sqlx::query_as(
            "SELECT id, name, cluster_id, status, status_rev FROM hosts ORDER BY name",
        )
        .fetch_all(&self.pool)
        .await?;
        Ok(rows
            .into_iter()
            .filter_map(|(host_id, name, cluster_id, status, status_rev)| {
                Some(SurveyTarget {
                    host_id,
                    name,
                    cluster_id,
                    status: HostStatus::parse(&status)?,
                    status_rev,
                })
            })
            .collect())
    }

    /// Moves a host seen in status revision `seen` to `to` only if its status did not change
    /// since and no host job runs on it: what a survey saw must not undo what a job did
    /// meanwhile. The event that tells of the move is written in the same transaction (a
    /// reader never sees the new status without it); returns its id if the host moved.
    pub async fn set_status_if_idle(
        &self,
        host_id: &str,
        seen: i64,
        to: HostStatus,
        event: &NewEvent,
    ) -> StoreResult<Option<i64>> {
        let mut tx = self.pool.begin().await?;
        let done = sqlx::query(
            "UPDATE hosts SET status = $1 WHERE id = $2 AND status_rev = $3
               AND NOT EXISTS (SELECT 1 FROM jobs WHERE jobs.host_id = hosts.id AND ended_at IS NULL
                               AND kind IN ('host_maintenance', 'host_activate', 'host_upgrade'))",
        )
        .bind(to.as_str())
        .bind(host_id)
        .bind(seen)
        .execute(&mut *tx)
        .await?;
        if done.rows_affected() != 1 {
            return Ok(None);
        }
        let id = self.add_event_on(&mut tx, event).await?;
        tx.commit().await?;
        self.wake_hub();
        Ok(Some(id))
    }

    /// A real host's id and cluster by name.
    pub async fn ssh_host_named(&self, name: &str) -> StoreResult<Option<(String, String)>> {
        Ok(sqlx::query_as(
            "SELECT h.id, h.cluster_id FROM ssh_hosts s JOIN hosts h ON h.id = s.host_id WHERE h.name = $1",
        )
        .bind(name)
        .fetch_optional(&self.pool)
        .await?)
    }
}
