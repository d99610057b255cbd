//! The simulator's private state. Only the `sim` driver reads it.

use std::collections::BTreeMap;

use sqlx::Row;

use super::{flag, json, Store, StoreResult};
use crate::fleet::Repository;

/// What the simulator knows of one host beyond the inventory.
#[derive(Debug)]
pub struct SimHost {
    pub os: String,
    pub packages: BTreeMap<String, String>,
    pub fail: String,
    pub upgrade_seconds: f64,
    pub reboot_seconds: f64,
    pub reinstall_seconds: f64,
    /// A node's image version; `None` for a plain host.
    pub image: Option<String>,
}

/// The simulated world's global settings.
#[derive(Debug)]
pub struct SimWorld {
    pub speed: f64,
    pub check_seconds: f64,
    pub migration_gbps: f64,
    pub max_migrations_per_host: u32,
    pub repository: Repository,
}

impl Store {
    /// The managed engine as the fleet describes it: its version and what its channel offers.
    pub async fn sim_engine(&self) -> StoreResult<Option<(String, Option<String>)>> {
        Ok(sqlx::query_as::<_, (String, Option<String>)>(
            "SELECT engine_version, engine_available FROM sim_world WHERE id = 1",
        )
        .fetch_optional(&self.pool)
        .await?)
    }

    pub async fn sim_world(&self) -> StoreResult<Option<SimWorld>> {
        let Some(row) =
            sqlx::query("SELECT speed, check_seconds, migration_gbps, max_migrations_per_host, repository FROM sim_world WHERE id = 1")
                .fetch_optional(&self.pool)
                .await?
        else {
            return Ok(None);
        };
        let repository: String = row.try_get("repository")?;
        let max_migrations: i64 = row.try_get("max_migrations_per_host")?;
        Ok(Some(SimWorld {
            speed: row.try_get("speed")?,
            check_seconds: row.try_get("check_seconds")?,
            migration_gbps: row.try_get("migration_gbps")?,
            max_migrations_per_host: u32::try_from(max_migrations).unwrap_or(1).max(1),
            repository: json("sim repository", &repository)?,
        }))
    }

    pub async fn sim_host(&self, host_id: &str) -> StoreResult<Option<SimHost>> {
        let Some(row) = sqlx::query(
            "SELECT COALESCE(s.os, h.os) AS os, s.packages, s.fail, s.upgrade_seconds, s.reboot_seconds,
                    s.reinstall_seconds, CASE WHEN h.host_type = 'node' THEN s.image END AS image
             FROM hosts h JOIN sim_hosts s ON s.host_id = h.id WHERE h.id = $1",
        )
        .bind(host_id)
        .fetch_optional(&self.pool)
        .await?
        else {
            return Ok(None);
        };
        let packages: String = row.try_get("packages")?;
        Ok(Some(SimHost {
            os: row.try_get("os")?,
            packages: json("sim packages", &packages)?,
            fail: row.try_get("fail")?,
            upgrade_seconds: row.try_get("upgrade_seconds")?,
            reboot_seconds: row.try_get("reboot_seconds")?,
            reinstall_seconds: row.try_get("reinstall_seconds")?,
            image: row.try_get("image")?,
        }))
    }

    /// Changes how a simulated host misbehaves; false when there is no such host.
    pub async fn set_sim_fail(&self, host_name: &str, fail: &str) -> StoreResult<bool> {
        let done = sqlx::query(
            "UPDATE sim_hosts SET fail = $1 WHERE host_id = (SELECT id FROM hosts WHERE name = $2)",
        )
        .bind(fail)
        .bind(host_name)
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// The simulated node's image after an install.
    pub async fn set_sim_image(&self, host_id: &str, image: &str) -> StoreResult<()> {
        sqlx::query("UPDATE sim_hosts SET image = $1 WHERE host_id = $2")
            .bind(image)
            .bind(host_id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// The simulated host's packages after an install.
    pub async fn set_sim_packages(
        &self,
        host_id: &str,
        packages: &BTreeMap<String, String>,
    ) -> StoreResult<()> {
        sqlx::query("UPDATE sim_hosts SET packages = $1 WHERE host_id = $2")
            .bind(serde_json::to_string(packages).unwrap_or_else(|_| "{}".into()))
            .bind(host_id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }
}

/// Where the simulated hypervisors run a VM, and in which state: the simulator's truth, which
/// Uplift's inventory follows.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SimVm {
    pub name: String,
    pub host: Option<String>,
    pub status: String,
}

impl Store {
    /// Where the simulator runs the VM (host id) and its state; `None` for a VM it does not know.
    pub async fn sim_vm_state(&self, vm_id: &str) -> StoreResult<Option<(Option<String>, String)>> {
        Ok(
            sqlx::query_as("SELECT host_id, status FROM sim_vms WHERE vm_id = $1")
                .bind(vm_id)
                .fetch_optional(&self.pool)
                .await?,
        )
    }

    /// The simulator's view of every VM, by name.
    pub async fn sim_vms(&self) -> StoreResult<Vec<SimVm>> {
        sqlx::query(
            "SELECT v.name, h.name AS host, s.status FROM sim_vms s
             JOIN vms v ON v.id = s.vm_id LEFT JOIN hosts h ON h.id = s.host_id ORDER BY v.name",
        )
        .fetch_all(&self.pool)
        .await?
        .into_iter()
        .map(|row| {
            Ok(SimVm {
                name: row.try_get("name")?,
                host: row.try_get("host")?,
                status: row.try_get("status")?,
            })
        })
        .collect()
    }

    /// The simulator now runs the VM on `host_id` in `status` (`None`: nowhere).
    pub async fn set_sim_vm(
        &self,
        vm_id: &str,
        host_id: Option<&str>,
        status: &str,
    ) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO sim_vms (vm_id, host_id, status) VALUES ($1, $2, $3)
             ON CONFLICT (vm_id) DO UPDATE SET host_id = excluded.host_id, status = excluded.status",
        )
        .bind(vm_id)
        .bind(host_id)
        .bind(status)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// The simulator moves a running VM from `from` to `to`, only if it still runs on `from`
    /// (what a hypervisor's migration does): a late write of a migration that another
    /// instance has done and gone past since cannot put the VM back. Whether it moved.
    pub async fn move_sim_vm(&self, vm_id: &str, from: &str, to: &str) -> StoreResult<bool> {
        let done = sqlx::query("UPDATE sim_vms SET host_id = $1 WHERE vm_id = $2 AND host_id = $3")
            .bind(to)
            .bind(vm_id)
            .bind(from)
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected() == 1)
    }

    /// The simulated host's OS after an install.
    pub async fn set_sim_os(&self, host_id: &str, os: &str) -> StoreResult<()> {
        sqlx::query("UPDATE sim_hosts SET os = $1 WHERE host_id = $2")
            .bind(os)
            .bind(host_id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }
}

/// A simulated hosted-engine host's HA agent, with what the engine sees of the host.
#[derive(Clone, Debug)]
pub struct SimAgent {
    pub host_id: String,
    pub name: String,
    pub agent: bool,
    pub base_score: u32,
    pub local_maintenance: bool,
    /// Until when the host is off (rebooting), RFC 3339.
    pub down_until: Option<String>,
    /// The host's status in the inventory.
    pub status: String,
}

/// The simulated engine VM: its id and where the hypervisors run it.
#[derive(Clone, Debug)]
pub struct SimEngineVm {
    pub vm_id: String,
    pub host_id: Option<String>,
    pub status: String,
}

impl Store {
    /// Every simulated hosted-engine host's agent, by name.
    pub async fn sim_agents(&self) -> StoreResult<Vec<SimAgent>> {
        sqlx::query(
            "SELECT h.id, h.name, h.status, s.ha_agent, s.ha_base_score, s.ha_local_maintenance, s.down_until
             FROM sim_hosts s JOIN hosts h ON h.id = s.host_id
             WHERE s.ha_configured = 1 ORDER BY h.name",
        )
        .fetch_all(&self.pool)
        .await?
        .into_iter()
        .map(|row| {
            let score: i64 = row.try_get("ha_base_score")?;
            Ok(SimAgent {
                host_id: row.try_get("id")?,
                name: row.try_get("name")?,
                agent: flag(&row, "ha_agent")?,
                base_score: u32::try_from(score).unwrap_or(0),
                local_maintenance: flag(&row, "ha_local_maintenance")?,
                down_until: row.try_get("down_until")?,
                status: row.try_get("status")?,
            })
        })
        .collect()
    }

    /// The hosted-engine cluster's global maintenance flag, as the agents share it.
    pub async fn sim_global_maintenance(&self) -> StoreResult<bool> {
        Ok(
            sqlx::query_scalar::<_, i64>(
                "SELECT ha_global_maintenance FROM sim_world WHERE id = 1",
            )
            .fetch_optional(&self.pool)
            .await?
            .is_some_and(|on| on != 0),
        )
    }

    pub async fn set_sim_global_maintenance(&self, enabled: bool) -> StoreResult<()> {
        sqlx::query("UPDATE sim_world SET ha_global_maintenance = $1 WHERE id = 1")
            .bind(i64::from(enabled))
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    pub async fn set_sim_local_maintenance(&self, host_id: &str, enabled: bool) -> StoreResult<()> {
        sqlx::query("UPDATE sim_hosts SET ha_local_maintenance = $1 WHERE host_id = $2")
            .bind(i64::from(enabled))
            .bind(host_id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// The simulated host is off until `until` (RFC 3339), or on (`None`).
    pub async fn set_sim_down_until(&self, host_id: &str, until: Option<&str>) -> StoreResult<()> {
        sqlx::query("UPDATE sim_hosts SET down_until = $1 WHERE host_id = $2")
            .bind(until)
            .bind(host_id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// The engine's own VM, if the fleet has one.
    pub async fn sim_engine_vm(&self) -> StoreResult<Option<SimEngineVm>> {
        sqlx::query(
            "SELECT v.id, s.host_id, s.status FROM vms v JOIN sim_vms s ON s.vm_id = v.id
             WHERE v.hosted_engine = 1 ORDER BY v.name LIMIT 1",
        )
        .fetch_optional(&self.pool)
        .await?
        .map(|row| {
            Ok(SimEngineVm {
                vm_id: row.try_get("id")?,
                host_id: row.try_get("host_id")?,
                status: row.try_get("status")?,
            })
        })
        .transpose()
    }
}
