//! Cluster settings and what their preconditions look at.

use app::api::HostStatus;
use sqlx::Row;

use super::{flag, json, Store, StoreResult};

/// A VM of a cluster, with what the InClusterUpgrade preconditions ask of it.
#[derive(Debug)]
pub struct VmTraits {
    pub id: String,
    pub name: String,
    pub status: String,
    pub migration: String,
    pub cpu_pinning: bool,
    pub numa_pinning: bool,
    pub host_devices: bool,
}

impl Store {
    /// The VMs of a cluster, running or not.
    pub async fn cluster_vm_traits(&self, cluster_id: &str) -> StoreResult<Vec<VmTraits>> {
        sqlx::query(
            "SELECT v.id, v.name, v.status, v.migration, v.cpu_pinning, v.numa_pinning, v.host_devices
             FROM vms v WHERE v.cluster_id = $1 ORDER BY v.name",
        )
        .bind(cluster_id)
        .fetch_all(&self.pool)
        .await?
        .into_iter()
        .map(|row| {
            Ok(VmTraits {
                id: row.try_get("id")?,
                name: row.try_get("name")?,
                status: row.try_get("status")?,
                migration: row.try_get("migration")?,
                cpu_pinning: flag(&row, "cpu_pinning")?,
                numa_pinning: flag(&row, "numa_pinning")?,
                host_devices: flag(&row, "host_devices")?,
            })
        })
        .collect()
    }

    /// The distinct sets of levels the cluster's hosts will support once upgraded (each host's:
    /// what its last check learned if it has updates pending, otherwise what it supports now).
    /// Distinct, so a cluster of 500 hosts reads a handful of rows, not 500.
    pub async fn cluster_level_sets(&self, cluster_id: &str) -> StoreResult<Vec<Vec<String>>> {
        sqlx::query_scalar::<_, String>(
            "SELECT DISTINCT CASE WHEN updates_available = 1 AND levels_after_upgrade IS NOT NULL
                                  THEN levels_after_upgrade ELSE supported_cluster_levels END
             FROM hosts WHERE cluster_id = $1",
        )
        .bind(cluster_id)
        .fetch_all(&self.pool)
        .await?
        .iter()
        .map(|text| json("cluster levels", text))
        .collect()
    }

    pub async fn set_cluster_policy(&self, cluster_id: &str, policy: &str) -> StoreResult<()> {
        sqlx::query("UPDATE clusters SET scheduling_policy = $1 WHERE id = $2")
            .bind(policy)
            .bind(cluster_id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Takes a cluster out of upgrade mode to `policy`, if it is still in upgrade mode.
    pub async fn reset_upgrade_policy(&self, cluster_id: &str, policy: &str) -> StoreResult<()> {
        sqlx::query(
            "UPDATE clusters SET scheduling_policy = $1 WHERE id = $2 AND scheduling_policy = 'in_cluster_upgrade'",
        )
        .bind(policy)
        .bind(cluster_id)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Hosts of the cluster left Preparing For Maintenance with no job of their own get `to`.
    pub async fn release_prepared_hosts(
        &self,
        cluster_id: &str,
        to: HostStatus,
    ) -> StoreResult<u64> {
        let done = sqlx::query(
            "UPDATE hosts SET status = $1 WHERE cluster_id = $2 AND status = 'preparing_for_maintenance'
             AND NOT EXISTS (SELECT 1 FROM jobs WHERE jobs.host_id = hosts.id AND jobs.ended_at IS NULL
                             AND jobs.kind IN ('host_maintenance', 'host_activate', 'host_upgrade'))",
        )
        .bind(to.as_str())
        .bind(cluster_id)
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected())
    }

    pub async fn set_cluster_level(&self, cluster_id: &str, level: &str) -> StoreResult<()> {
        sqlx::query("UPDATE clusters SET compatibility_version = $1 WHERE id = $2")
            .bind(level)
            .bind(cluster_id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }
}
