//! What placement reads: a cluster's rules, its hosts and VMs as the scheduler sees them.

use app::api::{HostedEngine, MigrationMode, VmStatus};
use sqlx::{any::AnyRow, Row};

use super::{corrupt, flag, json, Store, StoreResult};
use crate::domain::SchedulingPolicy;
use crate::scheduler::{ClusterRules, HostOs, HostView, VmView};

/// A VM with where it is: what starting, migrating or explaining it needs.
#[derive(Debug)]
pub struct PlacedVm {
    pub view: VmView,
    pub status: VmStatus,
    pub host_id: Option<String>,
    pub cluster_id: Option<String>,
}

const VM_COLUMNS: &str =
    "id, name, memory_mb, cpus, migration, highly_available, hosted_engine, status, host_id, cluster_id";

fn count(row: &AnyRow, column: &str) -> StoreResult<u64> {
    let value: i64 = row.try_get(column)?;
    Ok(u64::try_from(value).unwrap_or(0))
}

fn placed_vm(row: AnyRow) -> StoreResult<PlacedVm> {
    let migration: String = row.try_get("migration")?;
    let status: String = row.try_get("status")?;
    Ok(PlacedVm {
        view: VmView {
            id: row.try_get("id")?,
            name: row.try_get("name")?,
            memory_mb: count(&row, "memory_mb")?,
            cpus: u32::try_from(count(&row, "cpus")?).unwrap_or(u32::MAX),
            migration: MigrationMode::parse(&migration)
                .ok_or_else(|| corrupt("migration mode", migration))?,
            highly_available: flag(&row, "highly_available")?,
            hosted_engine: flag(&row, "hosted_engine")?,
        },
        status: VmStatus::parse(&status).ok_or_else(|| corrupt("VM status", status))?,
        host_id: row.try_get("host_id")?,
        cluster_id: row.try_get("cluster_id")?,
    })
}

impl Store {
    /// The cluster's scheduling policy and memory headroom.
    pub async fn cluster_rules(&self, cluster_id: &str) -> StoreResult<Option<ClusterRules>> {
        sqlx::query_as::<_, (String, i64)>(
            "SELECT scheduling_policy, memory_headroom_percent FROM clusters WHERE id = $1",
        )
        .bind(cluster_id)
        .fetch_optional(&self.pool)
        .await?
        .map(|(policy, headroom)| {
            Ok(ClusterRules {
                policy: SchedulingPolicy::parse(&policy)
                    .ok_or_else(|| corrupt("scheduling policy", policy))?,
                memory_headroom_percent: u32::try_from(headroom).unwrap_or(0),
            })
        })
        .transpose()
    }

    /// The hosts of a cluster, by name, with the memory their running VMs use.
    pub async fn placement_hosts(&self, cluster_id: &str) -> StoreResult<Vec<HostView>> {
        sqlx::query(
            "SELECT h.id, h.name, h.status, h.os, h.cpu_cores, h.memory_mb, h.hosted_engine,
                    CAST(COALESCE((SELECT SUM(v.memory_mb) FROM vms v WHERE v.host_id = h.id), 0) AS BIGINT) AS used_mb
             FROM hosts h WHERE h.cluster_id = $1 ORDER BY h.name",
        )
        .bind(cluster_id)
        .fetch_all(&self.pool)
        .await?
        .into_iter()
        .map(|row| {
            let status: String = row.try_get("status")?;
            let os: String = row.try_get("os")?;
            let he: Option<String> = row.try_get("hosted_engine")?;
            let he = he
                .map(|text| json::<HostedEngine>("hosted engine state", &text))
                .transpose()?
                .filter(|he| he.configured);
            Ok(HostView {
                id: row.try_get("id")?,
                name: row.try_get("name")?,
                status: app::api::HostStatus::parse(&status)
                    .ok_or_else(|| corrupt("host status", status))?,
                os: HostOs::from(os.as_str()),
                cpu_cores: u32::try_from(count(&row, "cpu_cores")?).unwrap_or(u32::MAX),
                memory_mb: count(&row, "memory_mb")?,
                used_mb: count(&row, "used_mb")?,
                // What the engine VM may count on: the score of an active agent that is not
                // in local maintenance.
                ha_score: he.map(|he| {
                    if he.active && !he.local_maintenance {
                        he.score
                    } else {
                        0
                    }
                }),
            })
        })
        .collect()
    }

    /// The VMs running on a host, by name.
    pub async fn running_vms_on(&self, host_id: &str) -> StoreResult<Vec<VmView>> {
        sqlx::query(&format!(
            "SELECT {VM_COLUMNS} FROM vms WHERE host_id = $1 ORDER BY name"
        ))
        .bind(host_id)
        .fetch_all(&self.pool)
        .await?
        .into_iter()
        .map(|row| Ok(placed_vm(row)?.view))
        .collect()
    }

    /// The running VMs of a cluster, by name.
    pub async fn running_vms_in(&self, cluster_id: &str) -> StoreResult<Vec<PlacedVm>> {
        sqlx::query(&format!(
            "SELECT {VM_COLUMNS} FROM vms WHERE host_id IN (SELECT id FROM hosts WHERE cluster_id = $1)
             ORDER BY name"
        ))
        .bind(cluster_id)
        .fetch_all(&self.pool)
        .await?
        .into_iter()
        .map(placed_vm)
        .collect()
    }

    pub async fn placed_vm(&self, vm_id: &str) -> StoreResult<Option<PlacedVm>> {
        sqlx::query(&format!("SELECT {VM_COLUMNS} FROM vms WHERE id = $1"))
            .bind(vm_id)
            .fetch_optional(&self.pool)
            .await?
            .map(placed_vm)
            .transpose()
    }
}
