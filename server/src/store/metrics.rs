//! The counts `/metrics` reports, each one aggregate query (a scrape of a 10,000-host fleet
//! stays a few milliseconds).

use super::{Store, StoreResult};

/// A running cluster upgrade: its job, its cluster's name, and how many of its host
/// upgrades succeeded so far.
#[derive(Debug)]
pub struct RunningRun {
    pub job_id: String,
    pub cluster: String,
    pub hosts_done: i64,
}

impl Store {
    /// Hosts per status.
    pub async fn hosts_by_status(&self) -> StoreResult<Vec<(String, i64)>> {
        Ok(
            sqlx::query_as("SELECT status, COUNT(*) FROM hosts GROUP BY status ORDER BY status")
                .fetch_all(&self.pool)
                .await?,
        )
    }

    /// Jobs per kind and status.
    pub async fn jobs_by_kind_and_status(&self) -> StoreResult<Vec<(String, String, i64)>> {
        Ok(sqlx::query_as(
            "SELECT kind, status, COUNT(*) FROM jobs GROUP BY kind, status ORDER BY kind, status",
        )
        .fetch_all(&self.pool)
        .await?)
    }

    /// Notification deliveries per status.
    pub async fn deliveries_by_status(&self) -> StoreResult<Vec<(String, i64)>> {
        Ok(sqlx::query_as(
            "SELECT status, COUNT(*) FROM deliveries GROUP BY status ORDER BY status",
        )
        .fetch_all(&self.pool)
        .await?)
    }

    /// Cluster upgrades that have not ended.
    pub async fn running_runs(&self) -> StoreResult<Vec<RunningRun>> {
        let rows: Vec<(String, String, i64)> = sqlx::query_as(
            "SELECT j.id, c.name,
                    (SELECT COUNT(*) FROM jobs h
                      WHERE h.correlation_id = j.correlation_id AND h.kind = 'host_upgrade'
                        AND h.status = 'succeeded')
             FROM jobs j JOIN clusters c ON c.id = j.cluster_id
             WHERE j.kind = 'cluster_upgrade' AND j.ended_at IS NULL
             ORDER BY c.name",
        )
        .fetch_all(&self.pool)
        .await?;
        Ok(rows
            .into_iter()
            .map(|(job_id, cluster, hosts_done)| RunningRun {
                job_id,
                cluster,
                hosts_done,
            })
            .collect())
    }

    /// The oldest host update check (RFC 3339), hosts never checked aside, and how many hosts
    /// were never checked.
    pub async fn host_check_times(&self) -> StoreResult<(Option<String>, i64)> {
        Ok(sqlx::query_as(
            "SELECT MIN(last_update_check),
                    CAST(SUM(CASE WHEN last_update_check IS NULL THEN 1 ELSE 0 END) AS BIGINT)
             FROM hosts",
        )
        .fetch_one(&self.pool)
        .await
        .map(|(oldest, never): (Option<String>, Option<i64>)| (oldest, never.unwrap_or(0)))?)
    }
}
