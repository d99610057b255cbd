use app::api::{Job, JobKind, JobStatus, JobStep, Ref};
use sqlx::{sqlite::SqliteRow, Row};

use super::{corrupt, now_rfc3339, Store, StoreResult};

/// A job about to be created.
#[derive(Debug)]
pub struct NewJob<'a> {
    pub id: &'a str,
    pub kind: JobKind,
    pub correlation_id: &'a str,
    pub host_id: Option<&'a str>,
    pub cluster_id: Option<&'a str>,
    pub user: Option<&'a str>,
}

fn status(text: String) -> StoreResult<JobStatus> {
    JobStatus::parse(&text).ok_or_else(|| corrupt("job status", text))
}

fn step_from(row: SqliteRow) -> StoreResult<JobStep> {
    let host_id: Option<String> = row.try_get("host_id")?;
    let host_name: Option<String> = row.try_get("host_name")?;
    Ok(JobStep {
        host: host_id.zip(host_name).map(|(id, name)| Ref { id, name }),
        phase: row.try_get("phase")?,
        status: status(row.try_get("status")?)?,
        started_at: row.try_get("started_at")?,
        ended_at: row.try_get("ended_at")?,
        message: row.try_get("message")?,
    })
}

impl Store {
    pub async fn insert_job(&self, job: &NewJob<'_>) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO jobs (id, kind, status, correlation_id, host_id, cluster_id, user_name, created_at, updated_at)
             VALUES (?, ?, 'running', ?, ?, ?, ?, ?, ?)",
        )
        .bind(job.id)
        .bind(job.kind.as_str())
        .bind(job.correlation_id)
        .bind(job.host_id)
        .bind(job.cluster_id)
        .bind(job.user)
        .bind(now_rfc3339())
        .bind(now_rfc3339())
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    pub async fn set_job_progress(&self, id: &str, percent: f64) -> StoreResult<()> {
        sqlx::query("UPDATE jobs SET percent_complete = ?, updated_at = ? WHERE id = ?")
            .bind(percent)
            .bind(now_rfc3339())
            .bind(id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    pub async fn finish_job(
        &self,
        id: &str,
        status: JobStatus,
        message: Option<&str>,
    ) -> StoreResult<()> {
        sqlx::query(
            "UPDATE jobs SET status = ?, message = ?, ended_at = ?, updated_at = ?,
                             percent_complete = CASE WHEN ? = 'succeeded' THEN 100 ELSE percent_complete END
             WHERE id = ?",
        )
        .bind(status.as_str())
        .bind(message)
        .bind(now_rfc3339())
        .bind(now_rfc3339())
        .bind(status.as_str())
        .bind(id)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Records that a step began; returns its id.
    pub async fn start_step(
        &self,
        job_id: &str,
        host_id: Option<&str>,
        phase: &str,
    ) -> StoreResult<i64> {
        let id = sqlx::query(
            "INSERT INTO job_steps (job_id, host_id, phase, status, started_at) VALUES (?, ?, ?, 'running', ?)",
        )
        .bind(job_id)
        .bind(host_id)
        .bind(phase)
        .bind(now_rfc3339())
        .execute(&self.pool)
        .await?
        .last_insert_rowid();
        sqlx::query("UPDATE jobs SET updated_at = ? WHERE id = ?")
            .bind(now_rfc3339())
            .bind(job_id)
            .execute(&self.pool)
            .await?;
        Ok(id)
    }

    pub async fn finish_step(
        &self,
        step_id: i64,
        status: JobStatus,
        message: &str,
    ) -> StoreResult<()> {
        sqlx::query("UPDATE job_steps SET status = ?, message = ?, ended_at = ? WHERE id = ?")
            .bind(status.as_str())
            .bind(message)
            .bind(now_rfc3339())
            .bind(step_id)
            .execute(&self.pool)
            .await?;
        sqlx::query(
            "UPDATE jobs SET updated_at = ? WHERE id = (SELECT job_id FROM job_steps WHERE id = ?)",
        )
        .bind(now_rfc3339())
        .bind(step_id)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Jobs changed after `since` (RFC 3339), oldest change first, with their change times.
    pub async fn jobs_changed_since(&self, since: &str) -> StoreResult<Vec<(String, String)>> {
        Ok(sqlx::query_as::<_, (String, String)>(
            "SELECT id, updated_at FROM jobs WHERE updated_at > ? ORDER BY updated_at, id LIMIT 200",
        )
        .bind(since)
        .fetch_all(&self.pool)
        .await?)
    }

    pub async fn job(&self, id: &str) -> StoreResult<Option<Job>> {
        let Some(row) = sqlx::query(
            "SELECT id, kind, status, percent_complete, correlation_id, created_at, ended_at, message
             FROM jobs WHERE id = ?",
        )
        .bind(id)
        .fetch_optional(&self.pool)
        .await?
        else {
            return Ok(None);
        };
        let steps = sqlx::query(
            "SELECT s.phase, s.status, s.started_at, s.ended_at, s.message, h.id AS host_id, h.name AS host_name
             FROM job_steps s LEFT JOIN hosts h ON h.id = s.host_id WHERE s.job_id = ? ORDER BY s.id",
        )
        .bind(id)
        .fetch_all(&self.pool)
        .await?
        .into_iter()
        .map(step_from)
        .collect::<StoreResult<Vec<_>>>()?;
        let kind: String = row.try_get("kind")?;
        Ok(Some(Job {
            id: row.try_get("id")?,
            kind: JobKind::parse(&kind).ok_or_else(|| corrupt("job kind", kind))?,
            status: status(row.try_get("status")?)?,
            percent_complete: row.try_get("percent_complete")?,
            correlation_id: row.try_get("correlation_id")?,
            created_at: row.try_get("created_at")?,
            ended_at: row.try_get("ended_at")?,
            message: row.try_get("message")?,
            steps,
        }))
    }

    /// Ids of the newest jobs, newest first.
    pub async fn recent_job_ids(&self, limit: i64) -> StoreResult<Vec<String>> {
        Ok(
            sqlx::query_scalar("SELECT id FROM jobs ORDER BY created_at DESC, id LIMIT ?")
                .bind(limit)
                .fetch_all(&self.pool)
                .await?,
        )
    }

    /// Ends the jobs of `kinds` a dead server left running; returns how many.
    pub async fn fail_interrupted_jobs(&self, kinds: &[JobKind]) -> StoreResult<u64> {
        let mut ended = 0;
        for kind in kinds {
            let now = now_rfc3339();
            sqlx::query(
                "UPDATE job_steps SET status = 'failed', ended_at = ?, message = 'interrupted by a server restart'
                 WHERE status = 'running' AND job_id IN (SELECT id FROM jobs WHERE kind = ? AND status = 'running')",
            )
            .bind(&now)
            .bind(kind.as_str())
            .execute(&self.pool)
            .await?;
            ended += sqlx::query(
                "UPDATE jobs SET status = 'failed', ended_at = ?, updated_at = ?,
                                 message = 'interrupted by a server restart'
                 WHERE kind = ? AND status = 'running'",
            )
            .bind(&now)
            .bind(&now)
            .bind(kind.as_str())
            .execute(&self.pool)
            .await?
            .rows_affected();
        }
        Ok(ended)
    }
}
