//! Queries of rolling cluster upgrades: the run's job row (its status is how pause, resume and
//! cancel reach the running loop, also across restarts), its state, and its host jobs.

use app::api::{JobKind, JobStatus};
use sqlx::Row;

use super::{now_rfc3339, Store, StoreResult};

/// A cluster upgrade that has not ended.
#[derive(Debug)]
pub struct ActiveRun {
    pub job_id: String,
    pub correlation_id: String,
    pub cluster_id: String,
    pub user: Option<String>,
    pub status: String,
    pub percent: f64,
    /// The run's state (JSON), written by the service.
    pub state: Option<String>,
}

const RUN_COLUMNS: &str =
    "id, correlation_id, cluster_id, user_name, status, percent_complete, options";

fn run_from(row: sqlx::sqlite::SqliteRow) -> StoreResult<ActiveRun> {
    Ok(ActiveRun {
        job_id: row.try_get("id")?,
        correlation_id: row.try_get("correlation_id")?,
        cluster_id: row.try_get("cluster_id")?,
        user: row.try_get("user_name")?,
        status: row.try_get("status")?,
        percent: row.try_get("percent_complete")?,
        state: row.try_get("options")?,
    })
}

impl Store {
    /// The cluster's upgrade run that has not ended, if any.
    pub async fn active_run(&self, cluster_id: &str) -> StoreResult<Option<ActiveRun>> {
        sqlx::query(&format!(
            "SELECT {RUN_COLUMNS} FROM jobs WHERE kind = ? AND cluster_id = ? AND ended_at IS NULL"
        ))
        .bind(JobKind::ClusterUpgrade.as_str())
        .bind(cluster_id)
        .fetch_optional(&self.pool)
        .await?
        .map(run_from)
        .transpose()
    }

    /// Every upgrade run that has not ended (to resume them at start).
    pub async fn active_runs(&self) -> StoreResult<Vec<ActiveRun>> {
        sqlx::query(&format!(
            "SELECT {RUN_COLUMNS} FROM jobs WHERE kind = ? AND ended_at IS NULL ORDER BY created_at"
        ))
        .bind(JobKind::ClusterUpgrade.as_str())
        .fetch_all(&self.pool)
        .await?
        .into_iter()
        .map(run_from)
        .collect()
    }

    pub async fn run(&self, job_id: &str) -> StoreResult<Option<ActiveRun>> {
        sqlx::query(&format!(
            "SELECT {RUN_COLUMNS} FROM jobs WHERE kind = ? AND id = ? AND ended_at IS NULL"
        ))
        .bind(JobKind::ClusterUpgrade.as_str())
        .bind(job_id)
        .fetch_optional(&self.pool)
        .await?
        .map(run_from)
        .transpose()
    }

    /// Moves a job that has not ended to `to`, if its status is one of `from`.
    pub async fn switch_job_status(
        &self,
        job_id: &str,
        from: &[JobStatus],
        to: JobStatus,
    ) -> StoreResult<bool> {
        let mut switched = false;
        for status in from {
            let done = sqlx::query(
                "UPDATE jobs SET status = ?, updated_at = ? WHERE id = ? AND status = ? AND ended_at IS NULL",
            )
            .bind(to.as_str())
            .bind(now_rfc3339())
            .bind(job_id)
            .bind(status.as_str())
            .execute(&self.pool)
            .await?;
            switched |= done.rows_affected() == 1;
        }
        Ok(switched)
    }

    pub async fn set_run_state(&self, job_id: &str, state: &str) -> StoreResult<()> {
        sqlx::query("UPDATE jobs SET options = ? WHERE id = ?")
            .bind(state)
            .bind(job_id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// The ids of the jobs of one kind that share a correlation id, oldest first.
    pub async fn jobs_of_correlation(
        &self,
        correlation_id: &str,
        kind: JobKind,
    ) -> StoreResult<Vec<String>> {
        Ok(sqlx::query_scalar(
            "SELECT id FROM jobs WHERE correlation_id = ? AND kind = ? ORDER BY created_at, id",
        )
        .bind(correlation_id)
        .bind(kind.as_str())
        .fetch_all(&self.pool)
        .await?)
    }

    /// Hosts whose upgrade within the run (its correlation id) failed.
    pub async fn failed_hosts_of(&self, correlation_id: &str) -> StoreResult<Vec<String>> {
        Ok(sqlx::query_scalar(
            "SELECT DISTINCT host_id FROM jobs
             WHERE correlation_id = ? AND kind = ? AND status = 'failed' AND host_id IS NOT NULL",
        )
        .bind(correlation_id)
        .bind(JobKind::HostUpgrade.as_str())
        .fetch_all(&self.pool)
        .await?)
    }
}
