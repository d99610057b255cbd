//! The workflows' step log (`job_steps` rows with a key, output and error) and the job rows the
//! one resume path reads. Steps without a key are older rows: shown, never replayed.

use app::api::{HostStatus, JobKind, JobStatus};
use sqlx::Row;
use time::OffsetDateTime;

use super::{corrupt, now_rfc3339, rfc3339, Fence, Store, StoreError, StoreResult};
use crate::workflow::{Recorded, Step, StepError, StepLog, StepRecord};

/// A job as a flow needs it.
#[derive(Clone, Debug)]
pub struct JobRow {
    pub id: String,
    pub kind: JobKind,
    pub status: JobStatus,
    pub correlation_id: String,
    pub host_id: Option<String>,
    pub cluster_id: Option<String>,
    pub user: Option<String>,
    /// The host's status when a host job was created.
    pub host_status_before: Option<HostStatus>,
    /// The flow's parameters (JSON).
    pub params: Option<String>,
    pub parent_id: Option<String>,
    pub created_at: String,
    pub ended: bool,
}

fn recorded(status: &str, output: Option<String>, error: Option<String>) -> StoreResult<Recorded> {
    match status {
        "running" => Ok(Recorded::Started),
        "succeeded" => {
            let text = output.unwrap_or_else(|| "null".to_string());
            Ok(Recorded::Succeeded(
                serde_json::from_str(&text).map_err(|e| corrupt("step output", e))?,
            ))
        }
        _ => {
            let text = error.ok_or_else(|| corrupt("step error", "a failed step has no error"))?;
            Ok(Recorded::Failed(
                serde_json::from_str::<StepError>(&text).map_err(|e| corrupt("step error", e))?,
            ))
        }
    }
}

impl Store {
    /// The job, ended or not.
    pub async fn job_row(&self, id: &str) -> StoreResult<Option<JobRow>> {
        let Some(row) = sqlx::query(
            "SELECT id, kind, status, correlation_id, host_id, cluster_id, user_name,
                    host_status_before, params, parent_id, created_at, ended_at
             FROM jobs WHERE id = $1",
        )
        .bind(id)
        .fetch_optional(&self.pool)
        .await?
        else {
            return Ok(None);
        };
        let kind: String = row.try_get("kind")?;
        let status: String = row.try_get("status")?;
        let before: Option<String> = row.try_get("host_status_before")?;
        let ended_at: Option<String> = row.try_get("ended_at")?;
        Ok(Some(JobRow {
            id: row.try_get("id")?,
            kind: JobKind::parse(&kind).ok_or_else(|| corrupt("job kind", &kind))?,
            status: JobStatus::parse(&status).ok_or_else(|| corrupt("job status", &status))?,
            correlation_id: row.try_get("correlation_id")?,
            host_id: row.try_get("host_id")?,
            cluster_id: row.try_get("cluster_id")?,
            user: row.try_get("user_name")?,
            host_status_before: before
                .map(|b| HostStatus::parse(&b).ok_or_else(|| corrupt("host status", b)))
                .transpose()?,
            params: row.try_get("params")?,
            parent_id: row.try_get("parent_id")?,
            created_at: row.try_get("created_at")?,
            ended: ended_at.is_some(),
        }))
    }

    /// Every job that has not ended, oldest first: what a starting server resumes.
    pub async fn unfinished_job_ids(&self) -> StoreResult<Vec<String>> {
        Ok(
            sqlx::query_scalar(
                "SELECT id FROM jobs WHERE ended_at IS NULL ORDER BY created_at, id",
            )
            .fetch_all(&self.pool)
            .await?,
        )
    }
}

/// A job's step log as the holder of its lease writes it. Every write runs in a transaction
/// that first checks the lease still carries this fencing token (locking its row, so a
/// takeover waits for the write or the write sees the takeover): once another instance took
/// the job over, every write of the old holder fails with [`StoreError::Fenced`] and changes
/// nothing.
#[derive(Clone)]
pub struct JobLog {
    store: Store,
    fence: Fence,
}

impl JobLog {
    pub fn new(store: Store, fence: Fence) -> Self {
        JobLog { store, fence }
    }

    async fn begin(&self, job_id: &str) -> StoreResult<sqlx::Transaction<'static, sqlx::Any>> {
        let mut tx = self.store.pool.begin().await?;
        let held = sqlx::query(
            "UPDATE job_leases SET fence = fence WHERE job_id = $1 AND owner = $2 AND fence = $3",
        )
        .bind(job_id)
        .bind(&self.fence.owner)
        .bind(self.fence.token)
        .execute(&mut *tx)
        .await?;
        if held.rows_affected() == 0 {
            return Err(StoreError::Fenced(job_id.to_string()));
        }
        Ok(tx)
    }

    /// The change written, the job marked updated, committed, the hub woken.
    async fn commit(
        &self,
        mut tx: sqlx::Transaction<'static, sqlx::Any>,
        job_id: &str,
    ) -> StoreResult<()> {
        sqlx::query("UPDATE jobs SET updated_at = $1 WHERE id = $2")
            .bind(now_rfc3339())
            .bind(job_id)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        self.store.wake_hub();
        Ok(())
    }

    /// Ends the job, once: a job that has ended keeps its first end (a replay changes nothing).
    pub async fn finish(
        &self,
        job_id: &str,
        status: JobStatus,
        message: Option<&str>,
    ) -> StoreResult<()> {
        let mut tx = self.begin(job_id).await?;
        sqlx::query(
            "UPDATE jobs SET status = $1, message = $2, ended_at = $3,
                             percent_complete = CASE WHEN $4 = 'succeeded' THEN 100 ELSE percent_complete END
             WHERE id = $5 AND ended_at IS NULL",
        )
        .bind(status.as_str())
        .bind(message)
        .bind(now_rfc3339())
        .bind(status.as_str())
        .bind(job_id)
        .execute(&mut *tx)
        .await?;
        self.commit(tx, job_id).await
    }
}

#[async_trait::async_trait]
impl StepLog for JobLog {
    async fn load(&self, job_id: &str) -> StoreResult<Vec<StepRecord>> {
        sqlx::query(
            "SELECT step_key, status, output, error FROM job_steps
             WHERE job_id = $1 AND step_key IS NOT NULL ORDER BY id",
        )
        .bind(job_id)
        .fetch_all(&self.store.pool)
        .await?
        .into_iter()
        .map(|row| {
            let status: String = row.try_get("status")?;
            Ok(StepRecord {
                key: row.try_get("step_key")?,
                state: recorded(&status, row.try_get("output")?, row.try_get("error")?)?,
            })
        })
        .collect()
    }

    async fn started(&self, job_id: &str, step: &Step, at: OffsetDateTime) -> StoreResult<()> {
        let mut tx = self.begin(job_id).await?;
        sqlx::query(
            "INSERT INTO job_steps (job_id, host_id, phase, status, started_at, step_key, name)
             VALUES ($1, $2, $3, 'running', $4, $5, $6)
             ON CONFLICT (job_id, step_key) DO NOTHING",
        )
        .bind(job_id)
        .bind(&step.host)
        .bind(&step.key)
        .bind(rfc3339(at))
        .bind(&step.key)
        .bind(step.name)
        .execute(&mut *tx)
        .await?;
        self.commit(tx, job_id).await
    }

    async fn ended(
        &self,
        job_id: &str,
        step: &Step,
        outcome: &Result<serde_json::Value, StepError>,
        message: &str,
        at: OffsetDateTime,
    ) -> StoreResult<()> {
        let (status, output, error) = match outcome {
            Ok(value) => (JobStatus::Succeeded, Some(value.to_string()), None),
            Err(error) => (
                JobStatus::Failed,
                None,
                Some(serde_json::to_string(error).map_err(|e| corrupt("step error", e))?),
            ),
        };
        let mut tx = self.begin(job_id).await?;
        sqlx::query(
            "UPDATE job_steps SET status = $1, message = $2, ended_at = $3, output = $4, error = $5
             WHERE job_id = $6 AND step_key = $7",
        )
        .bind(status.as_str())
        .bind(message)
        .bind(rfc3339(at))
        .bind(output)
        .bind(error)
        .bind(job_id)
        .bind(&step.key)
        .execute(&mut *tx)
        .await?;
        self.commit(tx, job_id).await
    }

    async fn progress(&self, job_id: &str, percent: f64) -> StoreResult<()> {
        let mut tx = self.begin(job_id).await?;
        sqlx::query("UPDATE jobs SET percent_complete = $1 WHERE id = $2")
            .bind(percent)
            .bind(job_id)
            .execute(&mut *tx)
            .await?;
        self.commit(tx, job_id).await
    }
}
