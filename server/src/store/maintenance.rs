//! Queries of the host-state workflows (maintenance and activation).

use app::api::HostStatus;
use sqlx::Row;

use super::{corrupt, Store, StoreResult};

/// A job that was running when the server stopped.
#[derive(Debug)]
pub struct UnfinishedHostJob {
    pub job_id: String,
    pub correlation_id: String,
    pub host_id: String,
    pub user: Option<String>,
    pub status_before: HostStatus,
    /// The options the job was started with (JSON), if it has any.
    pub options: Option<String>,
}

impl Store {
    pub async fn set_host_status(&self, host_id: &str, status: HostStatus) -> StoreResult<()> {
        sqlx::query("UPDATE hosts SET status = ? WHERE id = ?")
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
            "UPDATE vms SET host_id = ?, migrations = migrations + 1 WHERE id = ? AND host_id = ?",
        )
        .bind(to)
        .bind(vm_id)
        .bind(from)
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// After an install: the host's new OS and cluster levels (`levels` empty: unchanged), and
    /// no updates left to announce.
    pub async fn record_install(
        &self,
        host_id: &str,
        os: &str,
        levels: &[String],
    ) -> StoreResult<()> {
        let levels =
            (!levels.is_empty()).then(|| serde_json::to_string(levels).unwrap_or_default());
        sqlx::query(
            "UPDATE hosts SET os = ?, supported_cluster_levels = COALESCE(?, supported_cluster_levels),
                              updates_available = 0, available_updates = '[]', updates_notified_at = NULL,
                              levels_after_upgrade = NULL
             WHERE id = ?",
        )
        .bind(os)
        .bind(levels)
        .bind(host_id)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// What a host job needs to finish or resume: the host's status before it, its options.
    pub async fn set_job_host_context(
        &self,
        job_id: &str,
        status: HostStatus,
        options: Option<&str>,
    ) -> StoreResult<()> {
        sqlx::query("UPDATE jobs SET host_status_before = ?, options = ? WHERE id = ?")
            .bind(status.as_str())
            .bind(options)
            .bind(job_id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Whether a host job of any kind is running on this host.
    pub async fn host_job_running(&self, host_id: &str) -> StoreResult<Option<String>> {
        Ok(sqlx::query_scalar(
            "SELECT id FROM jobs WHERE host_id = ? AND status = 'running'
             AND kind IN ('host_maintenance', 'host_activate', 'host_upgrade')",
        )
        .bind(host_id)
        .fetch_optional(&self.pool)
        .await?)
    }

    /// Running jobs of `kind`, to resume after a restart.
    pub async fn unfinished_host_jobs(&self, kind: &str) -> StoreResult<Vec<UnfinishedHostJob>> {
        sqlx::query(
            "SELECT id, correlation_id, host_id, user_name, host_status_before, options FROM jobs
             WHERE kind = ? AND status = 'running' AND host_id IS NOT NULL ORDER BY created_at",
        )
        .bind(kind)
        .fetch_all(&self.pool)
        .await?
        .into_iter()
        .map(|row| {
            let before: Option<String> = row.try_get("host_status_before")?;
            let before = before.unwrap_or_else(|| "up".to_string());
            Ok(UnfinishedHostJob {
                job_id: row.try_get("id")?,
                correlation_id: row.try_get("correlation_id")?,
                host_id: row.try_get("host_id")?,
                user: row.try_get("user_name")?,
                status_before: HostStatus::parse(&before)
                    .ok_or_else(|| corrupt("host status", before))?,
                options: row.try_get("options")?,
            })
        })
        .collect()
    }
}
