//! Queries of the host-state workflows (maintenance and activation).

use app::api::HostStatus;

use super::{Store, StoreResult};

impl Store {
    pub async fn set_host_status(&self, host_id: &str, status: HostStatus) -> StoreResult<()> {
        sqlx::query("UPDATE hosts SET status = $1 WHERE id = $2")
            .bind(status.as_str())
            .bind(host_id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Records a finished live migration, once: a VM no longer on `from` is not moved again,
    /// so replaying a step after a restart never counts a migration twice.
    pub async fn record_migration(&self, vm_id: &str, from: &str, to: &str) -> StoreResult<bool> {
        let done = sqlx::query(
            "UPDATE vms SET host_id = $1, migrations = migrations + 1 WHERE id = $2 AND host_id = $3",
        )
        .bind(to)
        .bind(vm_id)
        .bind(from)
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// After an install: the host's new OS and cluster levels (`levels` empty: unchanged). Its
    /// updates stay listed until the upgrade has ended well (SPEC §1.5: a host whose reboot
    /// failed can be upgraded again).
    pub async fn record_install(
        &self,
        host_id: &str,
        os: &str,
        levels: &[String],
    ) -> StoreResult<()> {
        let levels =
            (!levels.is_empty()).then(|| serde_json::to_string(levels).unwrap_or_default());
        sqlx::query(
            "UPDATE hosts SET os = $1, supported_cluster_levels = COALESCE($2, supported_cluster_levels)
             WHERE id = $3",
        )
        .bind(os)
        .bind(levels)
        .bind(host_id)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// After an upgrade that ended well: no updates left to announce.
    pub async fn clear_updates(&self, host_id: &str) -> StoreResult<()> {
        sqlx::query(
            "UPDATE hosts SET updates_available = 0, available_updates = '[]', updates_notified_at = NULL,
                              levels_after_upgrade = NULL
             WHERE id = $1",
        )
        .bind(host_id)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Gives a host back `to` if it is still `from` and no job of its own is running (a host a
    /// job has taken on is that job's to give back).
    pub async fn restore_host_status(
        &self,
        host_id: &str,
        from: HostStatus,
        to: HostStatus,
    ) -> StoreResult<()> {
        sqlx::query(
            "UPDATE hosts SET status = $1 WHERE id = $2 AND status = $3
             AND NOT EXISTS (SELECT 1 FROM jobs WHERE jobs.host_id = hosts.id AND jobs.ended_at IS NULL
                             AND jobs.kind IN ('host_maintenance', 'host_activate', 'host_upgrade'))",
        )
        .bind(to.as_str())
        .bind(host_id)
        .bind(from.as_str())
        .execute(&self.pool)
        .await?;
        Ok(())
    }
}
