//! Upgrading one host (SPEC §1): maintenance (live-migrating its VMs away) unless it is in
//! maintenance already, install the monitored packages' updates, reboot if asked, then back to
//! its original status with its update notification cleared. A failure while emptying the host
//! gives it its original status back; a failure in install or reboot leaves it
//! `install_failed`, from which Upgrade can run again.

use std::time::Duration;

use app::api::{HostStatus, Job, JobKind, JobStatus, Severity};
use serde::{Deserialize, Serialize};

use super::maintenance::{Codes, Ending, HostJob};
use super::{Actor, Service, ServiceError, ServiceResult};

/// How often a rebooted host is asked whether it answers.
const RESPONSE_POLL: Duration = Duration::from_millis(200);

/// What the admin chose (`POST /api/hosts/{id}/upgrade` body).
#[derive(Clone, Copy, Debug, Serialize, Deserialize)]
pub struct UpgradeOptions {
    #[serde(default = "default_reboot")]
    pub reboot: bool,
    #[serde(default)]
    pub timeout_minutes: Option<u64>,
}

fn default_reboot() -> bool {
    true
}

impl Default for UpgradeOptions {
    fn default() -> Self {
        UpgradeOptions {
            reboot: true,
            timeout_minutes: None,
        }
    }
}

impl UpgradeOptions {
    /// The options a job stored; the defaults when none were (or they no longer parse).
    pub fn from_stored(text: Option<&str>) -> Self {
        text.and_then(|t| serde_json::from_str(t).ok())
            .unwrap_or_default()
    }
}

/// Where the upgrade failed decides the host's status afterwards.
fn failed_in_install(reason: String) -> (String, HostStatus) {
    (reason, HostStatus::InstallFailed)
}

impl Service {
    /// `POST /api/hosts/{id}/upgrade`.
    pub async fn upgrade_host(
        &self,
        actor: Actor<'_>,
        host_id: &str,
        options: UpgradeOptions,
    ) -> ServiceResult<Job> {
        actor.require_admin()?;
        let host = self.host_by_id(host_id).await?;
        if !host.status.allows_upgrade() {
            return Err(ServiceError::Conflict(format!(
                "Host {} is {}; a host can be upgraded when it is Up, Maintenance, Non Operational or Install Failed.",
                host.name,
                host.status.label()
            )));
        }
        if !host.updates_available {
            return Err(ServiceError::Conflict(format!(
                "Host {} has no updates available; check it for updates first.",
                host.name
            )));
        }
        if options.timeout_minutes == Some(0) {
            return Err(ServiceError::invalid(
                "invalid_timeout",
                "timeout_minutes must be at least 1.",
            ));
        }
        let stored = serde_json::to_string(&options).ok();
        let job = self
            .begin_host_job(
                &actor.name(),
                &host,
                JobKind::HostUpgrade,
                stored.as_deref(),
                None,
            )
            .await?;
        self.emit(job.event(
            &host,
            "host_upgrade_started",
            Severity::Normal,
            format!("Upgrade of host {} was started.", host.name),
        ))
        .await?;
        let service = self.clone();
        let id = job.id.clone();
        tokio::spawn(async move { service.run_upgrade(&host.id, job, options).await });
        self.job_by_id(&id).await
    }

    pub(super) async fn run_upgrade(&self, host_id: &str, job: HostJob, options: UpgradeOptions) {
        let minutes = match options.timeout_minutes {
            Some(minutes) => minutes,
            None => self
                .config_number("HostUpgradeTimeoutInMinutes")
                .await
                .unwrap_or(120),
        };
        let ending = match tokio::time::timeout(
            Duration::from_secs(minutes * 60),
            self.upgrade(host_id, &job, options),
        )
        .await
        {
            Ok(ending) => ending,
            Err(_) => Err(failed_in_install(format!(
                "the upgrade took longer than {minutes} minutes"
            ))),
        };
        let codes = Codes {
            done: "host_upgrade_finished",
            failed: "host_upgrade_failed",
        };
        self.end_host_job(host_id, &job, ending, codes).await;
    }

    /// After a reboot, waits (within `ServerRebootTimeoutInSeconds`) until the host answers;
    /// a host that is briefly Non Responsive meanwhile is expected, not a failure.
    async fn wait_until_responding(
        &self,
        host_id: &str,
        job: &HostJob,
    ) -> Result<(), (String, HostStatus)> {
        let limit = self
            .config_number("ServerRebootTimeoutInSeconds")
            .await
            .map_err(|e| failed_in_install(e.to_string()))?;
        let step = self
            .store()
            .start_step(&job.id, Some(host_id), "wait for the host to answer")
            .await
            .map_err(|e| failed_in_install(e.to_string()))?;
        let deadline = tokio::time::Instant::now() + Duration::from_secs(limit);
        let mut silent = 0;
        loop {
            match self.driver().is_responding(host_id).await {
                Ok(true) => break,
                Ok(false) => {
                    silent += 1;
                    self.store()
                        .set_host_status(host_id, HostStatus::NonResponsive)
                        .await
                        .map_err(|e| failed_in_install(e.to_string()))?;
                }
                Err(error) => return Err(failed_in_install(error.to_string())),
            }
            if tokio::time::Instant::now() >= deadline {
                let reason =
                    format!("the host did not answer within {limit} seconds after its reboot");
                let _ = self
                    .store()
                    .finish_step(step, JobStatus::Failed, &reason)
                    .await;
                return Err(failed_in_install(reason));
            }
            tokio::time::sleep(RESPONSE_POLL).await;
        }
        self.store()
            .finish_step(
                step,
                JobStatus::Succeeded,
                &format!("answered after {silent} unanswered polls"),
            )
            .await
            .map_err(|e| failed_in_install(e.to_string()))?;
        self.store()
            .set_host_status(host_id, HostStatus::Initializing)
            .await
            .map_err(|e| failed_in_install(e.to_string()))
    }

    /// The flow, from wherever the host is now (so a resumed job continues where it was).
    async fn upgrade(&self, host_id: &str, job: &HostJob, options: UpgradeOptions) -> Ending {
        let internal = |e: ServiceError| (e.to_string(), job.status_before);
        let step = |phase: &'static str| async move {
            self.store()
                .start_step(&job.id, Some(host_id), phase)
                .await
                .map_err(|e| e.to_string())
        };
        let finish = |id: i64, status: JobStatus, message: String| async move {
            self.store()
                .finish_step(id, status, &message)
                .await
                .map_err(|e| e.to_string())
        };
        let host = self.host_by_id(host_id).await.map_err(internal)?;
        let monitored = self.monitored().await.map_err(internal)?;

        if matches!(
            host.status,
            HostStatus::Up
                | HostStatus::NonOperational
                | HostStatus::InstallFailed
                | HostStatus::PreparingForMaintenance
        ) {
            self.store()
                .set_host_status(host_id, HostStatus::PreparingForMaintenance)
                .await
                .map_err(|e| (e.to_string(), job.status_before))?;
            self.maintain(host_id, job)
                .await
                .map_err(|reason| (reason, job.status_before))?;
        }

        // Skip an install a previous run finished (a restart between install and reboot).
        let pending = self
            .driver()
            .check_updates(host_id, &monitored)
            .await
            .map_err(|e| failed_in_install(e.to_string()))?;
        if host.status != HostStatus::Reboot
            && host.status != HostStatus::Initializing
            && !pending.is_empty()
        {
            let _ = self.store().set_job_progress(&job.id, 40.0).await;
            self.store()
                .set_host_status(host_id, HostStatus::Installing)
                .await
                .map_err(|e| failed_in_install(e.to_string()))?;
            let id = step("install").await.map_err(failed_in_install)?;
            match self.driver().install_updates(host_id, &monitored).await {
                Ok(installed) => {
                    self.store()
                        .record_install(host_id, &installed.os, &installed.supported_cluster_levels)
                        .await
                        .map_err(|e| failed_in_install(e.to_string()))?;
                    finish(
                        id,
                        JobStatus::Succeeded,
                        format!("installed {} updates", pending.len()),
                    )
                    .await
                    .map_err(failed_in_install)?;
                }
                Err(error) => {
                    finish(id, JobStatus::Failed, error.to_string())
                        .await
                        .map_err(failed_in_install)?;
                    return Err(failed_in_install(format!(
                        "installing the updates failed: {error}"
                    )));
                }
            }
        } else {
            let host = self.host_by_id(host_id).await.map_err(internal)?;
            self.store()
                .record_install(host_id, &host.os, &[])
                .await
                .map_err(|e| failed_in_install(e.to_string()))?;
        }

        if options.reboot {
            let _ = self.store().set_job_progress(&job.id, 70.0).await;
            self.store()
                .set_host_status(host_id, HostStatus::Reboot)
                .await
                .map_err(|e| failed_in_install(e.to_string()))?;
            let id = step("reboot").await.map_err(failed_in_install)?;
            if let Err(error) = self.driver().reboot(host_id).await {
                finish(id, JobStatus::Failed, error.to_string())
                    .await
                    .map_err(failed_in_install)?;
                return Err(failed_in_install(format!("rebooting failed: {error}")));
            }
            finish(id, JobStatus::Succeeded, "rebooted".to_string())
                .await
                .map_err(failed_in_install)?;
            self.wait_until_responding(host_id, job).await?;
        }

        // Back where it started: Up (through activation), or Maintenance.
        if job.status_before == HostStatus::Maintenance {
            return Ok((
                "upgraded; the host stays in maintenance".to_string(),
                HostStatus::Maintenance,
            ));
        }
        let _ = self.store().set_job_progress(&job.id, 90.0).await;
        let id = step("activate").await.map_err(failed_in_install)?;
        if let Err(error) = self.driver().activate(host_id).await {
            finish(id, JobStatus::Failed, error.to_string())
                .await
                .map_err(failed_in_install)?;
            return Err(failed_in_install(format!(
                "activating after the upgrade failed: {error}"
            )));
        }
        finish(id, JobStatus::Succeeded, "activated".to_string())
            .await
            .map_err(failed_in_install)?;
        Ok((
            if options.reboot {
                "upgraded and rebooted"
            } else {
                "upgraded"
            }
            .to_string(),
            HostStatus::Up,
        ))
    }
}
