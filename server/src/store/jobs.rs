use app::api::{HostStatus, Job, JobKind, JobStatus, JobStep, Ref};
use sqlx::{any::AnyRow, Row};

use super::{corrupt, now_rfc3339, Store, StoreError, StoreResult};

/// A job about to be created, with everything a resume needs: its parameters and, for a host
/// job, the host's status before it.
#[derive(Debug)]
pub struct NewJob<'a> {
    pub id: &'a str,
    pub kind: JobKind,
    pub correlation_id: &'a str,
    pub host_id: Option<&'a str>,
    pub cluster_id: Option<&'a str>,
    pub user: Option<&'a str>,
    pub host_status_before: Option<HostStatus>,
    /// The flow's parameters (JSON).
    pub params: Option<&'a str>,
    pub parent_id: Option<&'a str>,
    /// The VM a VM job works on (one unfinished per VM).
    pub vm_id: Option<&'a str>,
}

/// What inserting a job did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum JobInsert {
    Created,
    /// A job with this id exists already (a replayed step created it before).
    Existed,
    /// The host, or the cluster, has an unfinished job of a kind that excludes this one.
    Busy,
}

fn status(text: String) -> StoreResult<JobStatus> {
    JobStatus::parse(&text).ok_or_else(|| corrupt("job status", text))
}

fn step_from(row: AnyRow) -> StoreResult<JobStep> {
    let host_id: Option<String> = row.try_get("host_id")?;
    let host_name: Option<String> = row.try_get("host_name")?;
    Ok(JobStep {
        host: host_id.zip(host_name).map(|(id, name)| Ref { id, name }),
        phase: row.try_get("phase")?,
        name: row.try_get("name")?,
        status: status(row.try_get("status")?)?,
        started_at: row.try_get("started_at")?,
        ended_at: row.try_get("ended_at")?,
        message: row.try_get("message")?,
    })
}

impl Store {
    /// Creates a job in one statement. The database refuses a second unfinished job on one host
    /// (maintenance, activation, upgrade) or a second upgrade run of one cluster (`Busy`).
    /// Inserts the job, and with it (`holder`: the creating instance and the lease time) the
    /// job's lease, so no other instance claims a new job before its creator runs it.
    pub async fn insert_job(
        &self,
        job: &NewJob<'_>,
        holder: Option<(&str, i64)>,
    ) -> StoreResult<JobInsert> {
        let inserted = self.insert_job_tx(job, holder).await;
        self.wake_hub();
        match inserted {
            Ok(true) => Ok(JobInsert::Created),
            Ok(false) => Ok(JobInsert::Existed),
            Err(StoreError::Sql(sqlx::Error::Database(e))) if e.is_unique_violation() => {
                Ok(JobInsert::Busy)
            }
            Err(e) => Err(e),
        }
    }

    async fn insert_job_tx(
        &self,
        job: &NewJob<'_>,
        holder: Option<(&str, i64)>,
    ) -> StoreResult<bool> {
        let now = now_rfc3339();
        let mut tx = self.pool.begin().await?;
        let done = sqlx::query(
            "INSERT INTO jobs (id, kind, status, correlation_id, host_id, cluster_id, user_name,
                               host_status_before, params, parent_id, vm_id, created_at, updated_at)
             VALUES ($1, $2, 'running', $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)
             ON CONFLICT (id) DO NOTHING",
        )
        .bind(job.id)
        .bind(job.kind.as_str())
        .bind(job.correlation_id)
        .bind(job.host_id)
        .bind(job.cluster_id)
        .bind(job.user)
        .bind(job.host_status_before.map(HostStatus::as_str))
        .bind(job.params)
        .bind(job.parent_id)
        .bind(job.vm_id)
        .bind(&now)
        .bind(&now)
        .execute(&mut *tx)
        .await?;
        let created = done.rows_affected() == 1;
        if let (true, Some((owner, lease_ms))) = (created, holder) {
            let now_ms = self.backend().now_ms();
            sqlx::query(&format!(
                "INSERT INTO job_leases (job_id, owner, fence, until_ms)
                 VALUES ($1, $2, 0, {now_ms} + $3)"
            ))
            .bind(job.id)
            .bind(owner)
            .bind(lease_ms)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(created)
    }

    pub async fn job(&self, id: &str) -> StoreResult<Option<Job>> {
        let Some(mut job) = self.job_state(id).await? else {
            return Ok(None);
        };
        job.steps = sqlx::query(
            "SELECT s.phase, s.name, s.status, s.started_at, s.ended_at, s.message, h.id AS host_id, h.name AS host_name
             FROM job_steps s LEFT JOIN hosts h ON h.id = s.host_id WHERE s.job_id = $1 ORDER BY s.id",
        )
        .bind(id)
        .fetch_all(&self.pool)
        .await?
        .into_iter()
        .map(step_from)
        .collect::<StoreResult<Vec<_>>>()?;
        Ok(Some(job))
    }

    /// A job without its steps (`steps` empty): what the event stream publishes at each change.
    pub async fn job_state(&self, id: &str) -> StoreResult<Option<Job>> {
        let Some(row) = sqlx::query(
            "SELECT id, kind, status, percent_complete, correlation_id, created_at, ended_at, message
             FROM jobs WHERE id = $1",
        )
        .bind(id)
        .fetch_optional(&self.pool)
        .await?
        else {
            return Ok(None);
        };
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
            steps: Vec::new(),
        }))
    }

    /// Ids of the newest jobs, newest first.
    pub async fn recent_job_ids(&self, limit: i64) -> StoreResult<Vec<String>> {
        Ok(
            sqlx::query_scalar("SELECT id FROM jobs ORDER BY created_at DESC, id LIMIT $1")
                .bind(limit)
                .fetch_all(&self.pool)
                .await?,
        )
    }
}
