//! Queries of rolling cluster upgrades: the cluster's unfinished run, the run's status (how
//! pause, resume and cancel reach its flow, also across restarts), and its host jobs.

use app::api::{JobKind, JobStatus};
use sqlx::Row;

use super::{now_rfc3339, Store, StoreResult};

/// A cluster upgrade that has not ended.
#[derive(Debug)]
pub struct ActiveRun {
    pub job_id: String,
    pub status: String,
}

impl Store {
    /// The cluster's upgrade run that has not ended, if any.
    pub async fn active_run(&self, cluster_id: &str) -> StoreResult<Option<ActiveRun>> {
        sqlx::query(
            "SELECT id, status FROM jobs WHERE kind = $1 AND cluster_id = $2 AND ended_at IS NULL",
        )
        .bind(JobKind::ClusterUpgrade.as_str())
        .bind(cluster_id)
        .fetch_optional(&self.pool)
        .await?
        .map(|row| {
            Ok(ActiveRun {
                job_id: row.try_get("id")?,
                status: row.try_get("status")?,
            })
        })
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
                "UPDATE jobs SET status = $1, updated_at = $2 WHERE id = $3 AND status = $4 AND ended_at IS NULL",
            )
            .bind(to.as_str())
            .bind(now_rfc3339())
            .bind(job_id)
            .bind(status.as_str())
            .execute(&self.pool)
            .await?;
            switched |= done.rows_affected() == 1;
        }
        self.wake_hub();
        Ok(switched)
    }

    /// The ids of the jobs of one kind that share a correlation id, oldest first.
    pub async fn jobs_of_correlation(
        &self,
        correlation_id: &str,
        kind: JobKind,
    ) -> StoreResult<Vec<String>> {
        Ok(sqlx::query_scalar(
            "SELECT id FROM jobs WHERE correlation_id = $1 AND kind = $2 ORDER BY created_at, id",
        )
        .bind(correlation_id)
        .bind(kind.as_str())
        .fetch_all(&self.pool)
        .await?)
    }

    /// The hosts of the jobs of `kind` that share a correlation id (a run's host upgrades).
    pub async fn job_hosts_of_correlation(
        &self,
        correlation_id: &str,
        kind: JobKind,
    ) -> StoreResult<Vec<String>> {
        Ok(sqlx::query_scalar(
            "SELECT host_id FROM jobs
             WHERE correlation_id = $1 AND kind = $2 AND host_id IS NOT NULL",
        )
        .bind(correlation_id)
        .bind(kind.as_str())
        .fetch_all(&self.pool)
        .await?)
    }
}
