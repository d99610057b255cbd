//! Maintenance and activation of one host (SPEC §4 deactivate/activate). Maintenance empties
//! the host by live migration first; a VM that cannot move fails the job at once, naming the
//! VM and why, and the host gets its original status back — never left in
//! `preparing_for_maintenance`. Each step is recorded before and after it runs, and a job the
//! server was running when it died is run again at start: migrations already done are not
//! redone (a VM no longer on the host is not moved), so a replay is safe.

use std::time::Duration;

use app::api::{Host, HostStatus, Job, JobKind, JobStatus, Severity};

use super::upgrade::UpgradeOptions;
use super::{Actor, Service, ServiceError, ServiceResult};
use crate::scheduler::{evacuate, HostView, VmView};
use crate::store::{new_id, NewEvent, NewJob};

/// Identity of one running host job.
#[derive(Clone)]
pub(super) struct HostJob {
    pub id: String,
    pub correlation_id: String,
    pub user: Option<String>,
    pub status_before: HostStatus,
}

/// One planned live migration: a VM, the id of the host it leaves, and its target.
pub(super) struct Move<'a> {
    pub vm: &'a VmView,
    pub from: &'a str,
    pub to: &'a HostView,
}

/// How a host job ended: its message and the status it leaves the host in.
pub(super) type Ending = Result<(String, HostStatus), (String, HostStatus)>;

/// The event codes of a host job's two endings.
pub(super) struct Codes {
    pub done: &'static str,
    pub failed: &'static str,
}

impl HostJob {
    pub(super) fn event(
        &self,
        host: &Host,
        code: &'static str,
        severity: Severity,
        message: String,
    ) -> NewEvent {
        NewEvent::new(code, severity, message)
            .host(&host.id, &host.cluster.id)
            .correlation(&self.correlation_id)
            .user(self.user.as_deref())
    }
}

impl Service {
    /// `POST /api/hosts/{id}/deactivate`: move the host to maintenance, migrating its VMs.
    pub async fn deactivate_host(&self, actor: Actor<'_>, host_id: &str) -> ServiceResult<Job> {
        actor.require_admin()?;
        let host = self.host_by_id(host_id).await?;
        if !matches!(
            host.status,
            HostStatus::Up | HostStatus::NonOperational | HostStatus::InstallFailed
        ) {
            return Err(ServiceError::Conflict(format!(
                "Host {} is {}; only hosts that are Up, Non Operational or Install Failed can be moved to maintenance.",
                host.name,
                host.status.label()
            )));
        }
        let job = self
            .begin_host_job(&actor.name(), &host, JobKind::HostMaintenance, None, None)
            .await?;
        self.store()
            .set_host_status(&host.id, HostStatus::PreparingForMaintenance)
            .await?;
        self.emit(job.event(
            &host,
            "host_maintenance_started",
            Severity::Normal,
            format!("Host {} is being moved to maintenance.", host.name),
        ))
        .await?;
        let service = self.clone();
        let id = job.id.clone();
        tokio::spawn(async move { service.run_maintenance(&host.id, job).await });
        self.job_by_id(&id).await
    }

    /// `POST /api/hosts/{id}/activate`: bring a host in maintenance back to Up.
    pub async fn activate_host(&self, actor: Actor<'_>, host_id: &str) -> ServiceResult<Job> {
        actor.require_admin()?;
        let host = self.host_by_id(host_id).await?;
        if host.status != HostStatus::Maintenance {
            return Err(ServiceError::Conflict(format!(
                "Host {} is {}; only hosts in maintenance can be activated.",
                host.name,
                host.status.label()
            )));
        }
        let job = self
            .begin_host_job(&actor.name(), &host, JobKind::HostActivate, None, None)
            .await?;
        let service = self.clone();
        let id = job.id.clone();
        tokio::spawn(async move { service.run_activation(&host.id, job).await });
        self.job_by_id(&id).await
    }

    /// Creates the job row, refusing a second job on a busy host.
    pub(super) async fn begin_host_job(
        &self,
        user: &str,
        host: &Host,
        kind: JobKind,
        options: Option<&str>,
        correlation_id: Option<&str>,
    ) -> ServiceResult<HostJob> {
        if let Some(running) = self.store().host_job_running(&host.id).await? {
            return Err(ServiceError::Conflict(format!(
                "Host {} is busy with job {running}; wait for it to end.",
                host.name
            )));
        }
        let job = HostJob {
            id: new_id(),
            correlation_id: correlation_id.map_or_else(new_id, str::to_string),
            user: Some(user.to_string()),
            status_before: host.status,
        };
        self.store()
            .insert_job(&NewJob {
                id: &job.id,
                kind,
                correlation_id: &job.correlation_id,
                host_id: Some(&host.id),
                cluster_id: Some(&host.cluster.id),
                user: job.user.as_deref(),
            })
            .await?;
        self.store()
            .set_job_host_context(&job.id, host.status, options)
            .await?;
        Ok(job)
    }

    /// Runs maintenance to its end, whatever happens: success, or the original status back.
    async fn run_maintenance(&self, host_id: &str, job: HostJob) {
        let limit = self
            .config_number("HostUpgradeTimeoutInMinutes")
            .await
            .unwrap_or(120);
        let outcome = match tokio::time::timeout(
            Duration::from_secs(limit * 60),
            self.maintain(host_id, &job),
        )
        .await
        {
            Ok(outcome) => outcome,
            Err(_) => Err(format!(
                "moving the host to maintenance took longer than {limit} minutes"
            )),
        };
        let ending = outcome
            .map(|message| (message, HostStatus::Maintenance))
            .map_err(|reason| (reason, job.status_before));
        let codes = Codes {
            done: "host_maintenance_finished",
            failed: "host_maintenance_failed",
        };
        self.end_host_job(host_id, &job, ending, codes).await;
    }

    async fn run_activation(&self, host_id: &str, job: HostJob) {
        let outcome = async {
            let step = self
                .store()
                .start_step(&job.id, Some(host_id), "activate")
                .await
                .map_err(|e| e.to_string())?;
            self.driver()
                .activate(host_id)
                .await
                .map_err(|e| e.to_string())?;
            self.store()
                .finish_step(step, JobStatus::Succeeded, "activated")
                .await
                .map_err(|e| e.to_string())?;
            Ok("activated".to_string())
        }
        .await;
        let ending = outcome
            .map(|message| (message, HostStatus::Up))
            .map_err(|reason| (reason, job.status_before));
        let codes = Codes {
            done: "host_activated",
            failed: "host_activation_failed",
        };
        self.end_host_job(host_id, &job, ending, codes).await;
    }

    /// Records the end of a host job: the status it leaves the host in, the job's result and
    /// the event that says so.
    pub(super) async fn end_host_job(
        &self,
        host_id: &str,
        job: &HostJob,
        ending: Ending,
        codes: Codes,
    ) {
        let result: ServiceResult<()> = async {
            let host = self.host_by_id(host_id).await?;
            let (status, message, code, severity, job_status) = match &ending {
                Ok((message, status)) => (
                    *status,
                    message,
                    codes.done,
                    Severity::Normal,
                    JobStatus::Succeeded,
                ),
                Err((reason, status)) => (
                    *status,
                    reason,
                    codes.failed,
                    Severity::Error,
                    JobStatus::Failed,
                ),
            };
            self.store().set_host_status(host_id, status).await?;
            self.store()
                .finish_job(&job.id, job_status, Some(message))
                .await?;
            let verb = if ending.is_err() && status == job.status_before {
                "stays"
            } else {
                "is"
            };
            self.emit(job.event(
                &host,
                code,
                severity,
                format!("Host {} {verb} {}: {message}", host.name, status.label()),
            ))
            .await?;
            Ok(())
        }
        .await;
        if let Err(error) = result {
            tracing::error!(job = %job.id, error = %error, "cannot record the end of a host job");
        }
    }

    /// Empties the host and takes it out of service. `Err` says why, naming VMs.
    pub(super) async fn maintain(&self, host_id: &str, job: &HostJob) -> Result<String, String> {
        let text = |e: ServiceError| e.to_string();
        let host = self.host_by_id(host_id).await.map_err(text)?;
        let vms = self
            .store()
            .running_vms_on(host_id)
            .await
            .map_err(|e| e.to_string())?;
        let mut world = self.placement_world(&host.cluster.id).await.map_err(text)?;
        let source = world
            .hosts()
            .iter()
            .position(|h| h.id == host.id)
            .ok_or_else(|| format!("host {} is not in its cluster", host.name))?;
        let planned = evacuate(source, &vms, &mut world).map_err(|stuck| {
            let names: Vec<String> = stuck
                .iter()
                .map(|s| format!("VM {} cannot move: {}", s.vm, s.reason))
                .collect();
            names.join("; ")
        })?;
        let moves: Vec<Move> = planned
            .into_iter()
            .map(|p| Move {
                vm: &vms[p.vm],
                from: &host.id,
                to: &world.hosts()[p.to],
            })
            .collect();
        self.migrate(&job.id, &moves).await?;
        let step = self
            .store()
            .start_step(&job.id, Some(&host.id), "enter maintenance")
            .await
            .map_err(|e| e.to_string())?;
        if let Err(error) = self.driver().enter_maintenance(&host.id).await {
            self.store()
                .finish_step(step, JobStatus::Failed, &error.to_string())
                .await
                .map_err(|e| e.to_string())?;
            return Err(error.to_string());
        }
        self.store()
            .finish_step(step, JobStatus::Succeeded, "in maintenance")
            .await
            .map_err(|e| e.to_string())?;
        Ok(format!(
            "{} VMs migrated; the host is in maintenance.",
            moves.len()
        ))
    }

    /// Live-migrates VMs, all at once (the driver keeps each host to its own limit), each as a
    /// step of `job_id`. `Err` names every VM that did not move, and why.
    pub(super) async fn migrate(&self, job_id: &str, moves: &[Move<'_>]) -> Result<(), String> {
        let migrations = moves.iter().map(|Move { vm, from, to }| async move {
            let step = self
                .store()
                .start_step(
                    job_id,
                    Some(from),
                    &format!("migrate {} to {}", vm.name, to.name),
                )
                .await
                .map_err(|e| e.to_string())?;
            match self.driver().migrate_vm(vm, from, &to.id).await {
                Ok(()) => {
                    self.store()
                        .record_migration(&vm.id, from, &to.id)
                        .await
                        .map_err(|e| e.to_string())?;
                    self.store()
                        .finish_step(step, JobStatus::Succeeded, "migrated")
                        .await
                        .map_err(|e| e.to_string())?;
                    Ok(())
                }
                Err(error) => {
                    let reason =
                        format!("VM {} could not migrate to {}: {error}", vm.name, to.name);
                    self.store()
                        .finish_step(step, JobStatus::Failed, &reason)
                        .await
                        .map_err(|e| e.to_string())?;
                    Err(reason)
                }
            }
        });
        let failures: Vec<String> = futures::future::join_all(migrations)
            .await
            .into_iter()
            .filter_map(Result::err)
            .collect();
        if failures.is_empty() {
            Ok(())
        } else {
            Err(failures.join("; "))
        }
    }

    /// At start: runs again the host jobs a dead server left running. Each run starts from
    /// the host's status now, and every step is safe to replay.
    pub async fn resume_host_jobs(&self) -> ServiceResult<()> {
        for kind in [
            JobKind::HostMaintenance,
            JobKind::HostActivate,
            JobKind::HostUpgrade,
        ] {
            for unfinished in self.store().unfinished_host_jobs(kind.as_str()).await? {
                tracing::info!(job = %unfinished.job_id, kind = kind.as_str(), "resuming a job interrupted by a restart");
                let job = HostJob {
                    id: unfinished.job_id,
                    correlation_id: unfinished.correlation_id,
                    user: unfinished.user,
                    status_before: unfinished.status_before,
                };
                let options = unfinished.options;
                let service = self.clone();
                let host_id = unfinished.host_id;
                tokio::spawn(async move {
                    match kind {
                        JobKind::HostMaintenance => service.run_maintenance(&host_id, job).await,
                        JobKind::HostActivate => service.run_activation(&host_id, job).await,
                        _ => {
                            service
                                .run_upgrade(
                                    &host_id,
                                    job,
                                    UpgradeOptions::from_stored(options.as_deref()),
                                )
                                .await
                        }
                    }
                });
            }
        }
        Ok(())
    }
}
