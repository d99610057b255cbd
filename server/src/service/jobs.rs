//! The one place jobs are created, run and resumed. A new job and a job a dead server left
//! behind take the same path: [`Service::spawn_job`] loads the job's row and its step log and
//! runs its kind's flow, which replays what the log holds and goes on from there. The end of a
//! job is written until it sticks.
//!
//! What a flow does is not here: each kind's flow lives with its feature (`maintenance`,
//! `upgrade`, `checks`, `rolling`, `engine`).

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use app::api::{Job, JobKind, JobStatus};
use serde::de::DeserializeOwned;
use tokio::task::AbortHandle;

use super::{Service, ServiceError, ServiceResult};
use crate::store::{JobInsert, JobLog, JobRow, NewJob, StoreError};
use crate::workflow::{Flow, StepError, StepLog, StepResult};

/// The jobs this process runs now: a job runs at most once per process. Each entry knows its
/// task (to stop it when another instance took the job over) and whether it holds the job's
/// lease yet (only held jobs are renewed by the heartbeat).
#[derive(Default)]
pub(super) struct Running(Mutex<HashMap<String, RunningJob>>);

struct RunningJob {
    /// Tells this run from a later run of the same job (a release only ends its own).
    run: u64,
    task: Option<AbortHandle>,
    held: bool,
}

impl Running {
    fn lock(&self) -> MutexGuard<'_, HashMap<String, RunningJob>> {
        self.0.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The job's run number, unless the job runs here already.
    fn claim(&self, job_id: &str, run: u64) -> bool {
        let mut jobs = self.lock();
        if jobs.contains_key(job_id) {
            return false;
        }
        let entry = RunningJob {
            run,
            task: None,
            held: false,
        };
        jobs.insert(job_id.to_string(), entry);
        true
    }

    fn started(&self, job_id: &str, run: u64, task: AbortHandle) {
        if let Some(job) = self.lock().get_mut(job_id).filter(|job| job.run == run) {
            job.task = Some(task);
        }
    }

    fn held(&self, job_id: &str) {
        if let Some(job) = self.lock().get_mut(job_id) {
            job.held = true;
        }
    }

    fn contains(&self, job_id: &str) -> bool {
        self.lock().contains_key(job_id)
    }

    fn release(&self, job_id: &str, run: u64) {
        let mut jobs = self.lock();
        if jobs.get(job_id).is_some_and(|job| job.run == run) {
            jobs.remove(job_id);
        }
    }

    /// The jobs whose lease this process holds.
    pub(super) fn holding(&self) -> Vec<String> {
        let jobs = self.lock();
        let mut held: Vec<String> = jobs
            .iter()
            .filter(|(_, job)| job.held)
            .map(|(id, _)| id.clone())
            .collect();
        held.sort();
        held
    }

    /// Stops the job's task here (another instance runs the job now).
    pub(super) fn abort(&self, job_id: &str) {
        if let Some(job) = self.lock().remove(job_id) {
            if let Some(task) = job.task {
                task.abort();
            }
        }
    }
}

/// Ends a run's entry however its task ends: returned, panicked or aborted.
struct Release {
    service: Service,
    job_id: String,
    run: u64,
}

impl Drop for Release {
    fn drop(&mut self) {
        self.service.inner.running.release(&self.job_id, self.run);
    }
}

/// How a flow says its job ended.
#[derive(Clone, Debug, PartialEq)]
pub(super) struct JobEnd {
    pub status: JobStatus,
    pub message: String,
}

impl JobEnd {
    pub fn succeeded(message: impl Into<String>) -> Self {
        JobEnd {
            status: JobStatus::Succeeded,
            message: message.into(),
        }
    }

    pub fn failed(message: impl Into<String>) -> Self {
        JobEnd {
            status: JobStatus::Failed,
            message: message.into(),
        }
    }
}

/// The flow's parameters, as its job's row holds them.
pub(super) fn job_params<P: DeserializeOwned>(row: &JobRow) -> StepResult<P> {
    let text = row
        .params
        .as_deref()
        .ok_or_else(|| StepError::Internal(format!("job {} has no parameters", row.id)))?;
    serde_json::from_str(text)
        .map_err(|e| StepError::Internal(format!("the job's parameters cannot be read: {e}")))
}

/// A flow's error where a request is answered (reading a job outside its flow).
impl From<StepError> for ServiceError {
    fn from(error: StepError) -> Self {
        match error {
            StepError::Host(reason) | StepError::Timeout(reason) => ServiceError::Host(reason),
            StepError::Refused(reason) => ServiceError::Conflict(reason),
            StepError::Store(reason) | StepError::Internal(reason) => {
                ServiceError::Internal(reason)
            }
            StepError::Fenced(reason) => ServiceError::Conflict(reason),
        }
    }
}

impl Service {
    /// Creates a job in one statement with everything its resume needs. A host (or cluster)
    /// that already has an unfinished job of an excluding kind is refused by the database, and
    /// the refusal is a conflict that says so with `busy`.
    pub(super) async fn create_job(
        &self,
        job: &NewJob<'_>,
        busy: impl FnOnce() -> String,
    ) -> ServiceResult<()> {
        let lease = self.lease_ms().await;
        let holder = Some((self.instance_id(), lease));
        match self.store().insert_job(job, holder).await? {
            JobInsert::Created | JobInsert::Existed => Ok(()),
            JobInsert::Busy => Err(ServiceError::Conflict(busy())),
        }
    }

    /// Runs the job's flow in the background, unless this process runs it already.
    pub(super) fn spawn_job(&self, job_id: &str) {
        static RUNS: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
        let run = RUNS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        if !self.inner.running.claim(job_id, run) {
            return;
        }
        let release = Release {
            service: self.clone(),
            job_id: job_id.to_string(),
            run,
        };
        let task = tokio::spawn(async move {
            let release = release;
            release.service.run_job(&release.job_id).await;
        });
        self.inner.running.started(job_id, run, task.abort_handle());
    }

    /// Every unfinished job no live instance holds (at start: what the last run of this
    /// instance left; at each heartbeat: what an instance that stopped beating left), run by
    /// the same path a new job takes. Returns how many were found.
    pub async fn resume_jobs(&self) -> ServiceResult<usize> {
        let unfinished = self.store().claimable_jobs().await?;
        for id in &unfinished {
            if !self.inner.running.contains(id) {
                tracing::info!(job = %id, "taking over a job no running instance holds");
            }
            self.spawn_job(id);
        }
        Ok(unfinished.len())
    }

    /// Claims the job's lease, loads its log, runs its flow to the end, and records the end.
    /// A job another live instance holds is left to it; a job taken over while it runs here
    /// stops at its next write (its fencing token is stale) without recording an end.
    async fn run_job(&self, job_id: &str) {
        let row = loop {
            match self.store().job_row(job_id).await {
                Ok(Some(row)) => break row,
                Ok(None) => return,
                Err(error) => {
                    tracing::warn!(job = %job_id, %error, "cannot read the job yet; trying again");
                    self.clock().sleep(crate::workflow::backoff(3)).await;
                }
            }
        };
        if row.ended {
            return;
        }
        let lease = self.lease_ms().await;
        let fence = loop {
            match self
                .store()
                .claim_job(job_id, self.instance_id(), lease)
                .await
            {
                Ok(fence) => break fence,
                Err(error) => {
                    tracing::warn!(job = %job_id, %error, "cannot claim the job yet; trying again");
                    self.clock().sleep(crate::workflow::backoff(3)).await;
                }
            }
        };
        let Some(fence) = fence else {
            tracing::debug!(job = %job_id, "another instance runs this job");
            return;
        };
        self.inner.running.held(job_id);
        self.keep_leases();
        let log = JobLog::new(self.store().clone(), fence);
        let shared: Arc<dyn StepLog> = Arc::new(log.clone());
        let flow = loop {
            match Flow::load(
                job_id,
                row.kind.as_str(),
                shared.clone(),
                self.inner.clock.clone(),
                self.inner.faults.clone(),
            )
            .await
            {
                Ok(flow) => break flow,
                Err(error) => {
                    tracing::warn!(job = %job_id, %error, "cannot read the job's steps yet; trying again");
                    self.clock().sleep(crate::workflow::backoff(3)).await;
                }
            }
        };
        let end = match row.kind {
            JobKind::HostMaintenance => self.maintenance_flow(&flow, &row).await,
            JobKind::HostActivate => self.activation_flow(&flow, &row).await,
            JobKind::HostUpgrade => self.upgrade_flow(&flow, &row).await,
            JobKind::HostUpgradeCheck | JobKind::ClusterUpgradeCheck => {
                self.check_flow(&flow, &row).await
            }
            JobKind::ClusterUpgrade => self.cluster_upgrade_flow(&flow, &row).await,
            JobKind::EngineUpdateCheck => self.engine_check_flow(&flow, &row).await,
            JobKind::HostHaMaintenance => self.ha_maintenance_flow(&flow, &row).await,
            JobKind::HostedEngineUpgrade => self.appliance_upgrade_flow(&flow, &row).await,
            JobKind::HostedEngineRollback => self.appliance_rollback_flow(&flow, &row).await,
            JobKind::VmMigrate => self.vm_migrate_flow(&flow, &row).await,
            JobKind::HostReinstall => self.reinstall_flow(&flow, &row).await,
            JobKind::HostErrataInstall => self.errata_flow(&flow, &row).await,
        };
        if flow.is_fenced() {
            tracing::warn!(job = %job_id, "another instance took this job over; it runs the job from here");
            return;
        }
        // A flow that cannot even begin (its job's row is unreadable) fails with the reason.
        let end = end.unwrap_or_else(|error| JobEnd::failed(error.to_string()));
        self.end_job(&log, job_id, &end).await;
    }

    /// Writes a job's end, trying until it sticks (a job whose end is lost would keep its host
    /// or cluster busy for ever), or until another instance has taken the job over.
    async fn end_job(&self, log: &JobLog, job_id: &str, end: &JobEnd) {
        let mut tries = 0;
        let mut injected = self.inner.faults.job_end_failures();
        loop {
            let written = if injected > 0 {
                injected -= 1;
                // Injected (UPLIFT_FAIL_JOB_ENDS): stands in for a database too busy to answer.
                Err(StoreError::Sql(sqlx::Error::PoolTimedOut))
            } else {
                log.finish(job_id, end.status, Some(&end.message)).await
            };
            match written {
                Ok(()) => return,
                Err(StoreError::Fenced(_)) => {
                    tracing::warn!(job = %job_id, "another instance took this job over before its end was written");
                    return;
                }
                Err(error) => {
                    tries += 1;
                    tracing::warn!(job = %job_id, %error, tries, "cannot record the end of a job yet; trying again");
                    self.clock().sleep(crate::workflow::backoff(tries)).await;
                }
            }
        }
    }

    /// Waits until the job has ended; its row then.
    pub(super) async fn job_ended(&self, job_id: &str) -> ServiceResult<JobRow> {
        loop {
            let row = self.store().job_row(job_id).await?.ok_or_else(|| {
                ServiceError::NotFound(format!("There is no job with id {job_id}."))
            })?;
            if row.ended {
                return Ok(row);
            }
            self.clock().sleep(super::POLL).await;
        }
    }

    pub async fn job_by_id(&self, id: &str) -> ServiceResult<Job> {
        self.store()
            .job(id)
            .await?
            .ok_or_else(|| ServiceError::NotFound(format!("There is no job with id {id}.")))
    }

    pub async fn recent_jobs(&self) -> ServiceResult<Vec<Job>> {
        let mut jobs = Vec::new();
        for id in self.store().recent_job_ids(100).await? {
            jobs.extend(self.store().job(&id).await?);
        }
        Ok(jobs)
    }
}
