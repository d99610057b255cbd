//! Upgrading one host (SPEC §1): the evacuation (unless the host is in maintenance already),
//! then the point of no return, the install of the monitored packages' updates, a reboot if
//! asked, and the host back to its original status with its update notification cleared.
//! A failure or timeout while emptying the host gives it its original status back; one in the
//! install, reboot or activation leaves it Install Failed with its updates still listed, so
//! Upgrade can run again. Step tables: docs/workflows.md.

use std::time::Duration;

use app::api::{Host, HostStatus, HostType, Job, JobKind, UpgradeContent};
use serde::{Deserialize, Serialize};

use super::jobs::{job_params, JobEnd};
use super::maintenance::{with_undo, EVACUABLE};
use super::{Actor, Service, ServiceError, ServiceResult};
use crate::store::JobRow;
use crate::workflow::{Flow, Step, StepError, StepResult};

/// How often a rebooted host is asked whether it answers.
const RESPONSE_POLL: Duration = Duration::from_millis(200);

/// The longest per-host timeout an admin may ask for: a week.
pub const MAX_TIMEOUT_MINUTES: u64 = 7 * 24 * 60;

/// What the admin chose (`POST /api/hosts/{id}/upgrade` body).
#[derive(Clone, Copy, Debug, Serialize, Deserialize, utoipa::ToSchema)]
pub struct UpgradeOptions {
    #[serde(default = "default_reboot")]
    pub reboot: bool,
    #[serde(default)]
    pub timeout_minutes: Option<u64>,
    /// `all` (the default) or `security`: only the host's applicable security errata,
    /// through its content provider.
    #[serde(default)]
    pub content: UpgradeContent,
}

fn default_reboot() -> bool {
    true
}

impl Default for UpgradeOptions {
    fn default() -> Self {
        UpgradeOptions {
            reboot: true,
            timeout_minutes: None,
            content: UpgradeContent::All,
        }
    }
}

/// What an upgrade installed: every pending update, or part of them (security errata).
enum Installed {
    All(String),
    Part(String),
}

impl Installed {
    fn message(self) -> String {
        match self {
            Installed::All(message) | Installed::Part(message) => message,
        }
    }
}

/// What an upgrade keeps in its job row: the options with the timeout settled.
#[derive(Clone, Copy, Debug, Serialize, Deserialize)]
pub(super) struct UpgradeParams {
    pub reboot: bool,
    pub timeout_minutes: u64,
    /// Absent from jobs stored before issue 21: everything.
    #[serde(default)]
    pub content: UpgradeContent,
}

/// `timeout_minutes`, if given, within 1 minute and a week.
pub(super) fn validate_timeout(minutes: Option<u64>) -> ServiceResult<()> {
    match minutes {
        Some(m) if !(1..=MAX_TIMEOUT_MINUTES).contains(&m) => Err(ServiceError::invalid(
            "invalid_timeout",
            format!("timeout_minutes must be between 1 and {MAX_TIMEOUT_MINUTES} (a week)."),
        )),
        _ => Ok(()),
    }
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
        validate_timeout(options.timeout_minutes)?;
        let host = self.host_by_id(host_id).await?;
        match options.content {
            UpgradeContent::All => self.check_upgradable(&host)?,
            UpgradeContent::Security => self.check_security_upgradable(&host).await?,
        }
        let params = self.upgrade_params(options).await?;
        let id = self
            .create_host_job(&actor.name(), &host, JobKind::HostUpgrade, &params, None)
            .await?;
        self.spawn_job(&id);
        self.job_by_id(&id).await
    }

    /// The options with the default timeout filled in.
    pub(super) async fn upgrade_params(
        &self,
        options: UpgradeOptions,
    ) -> ServiceResult<UpgradeParams> {
        Ok(UpgradeParams {
            content: options.content,
            reboot: options.reboot,
            timeout_minutes: match options.timeout_minutes {
                Some(minutes) => minutes,
                None => self.config_number("HostUpgradeTimeoutInMinutes").await?,
            },
        })
    }

    /// SPEC §1.1: an upgrade needs a status that allows it and updates to install.
    pub(super) fn check_upgradable(&self, host: &Host) -> ServiceResult<()> {
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
        Ok(())
    }

    pub(super) async fn upgrade_flow(&self, flow: &Flow, row: &JobRow) -> StepResult<JobEnd> {
        let (host, before) = self.job_host(row).await?;
        let mut params = job_params::<UpgradeParams>(row)?;
        // A node is upgraded as a whole image: it always boots into the new one (seed 000).
        params.reboot |= host.host_type == HostType::Node;
        let by = if row.parent_id.is_some() {
            " by the cluster upgrade"
        } else {
            ""
        };
        self.announce_start(
            row,
            &host,
            "host_upgrade_started",
            format!("Upgrade of host {} was started{by}.", host.name),
        )
        .await?;
        let minutes = params.timeout_minutes;
        flow.set_deadline(Some((
            self.deadline(row, minutes),
            format!("the upgrade took longer than {minutes} minutes"),
        )));
        // Before the point of no return: a failure gives the host its original status back.
        if EVACUABLE.contains(&before) {
            if let Err(error) = self.evacuate_host(flow, row, &host, before, "").await {
                let undone = flow.unwind().await;
                return self
                    .finish_upgrade(
                        flow,
                        row,
                        &host,
                        before,
                        before,
                        Err(with_undo(error, undone)),
                    )
                    .await;
            }
        }
        flow.commit();
        let outcome = self
            .install_and_restart(flow, row, &host, before, params)
            .await;
        flow.set_deadline(None);
        let status = match outcome {
            Ok(_) if before == HostStatus::Maintenance => HostStatus::Maintenance,
            Ok(_) => HostStatus::Up,
            Err(_) => HostStatus::InstallFailed,
        };
        // A security-only upgrade leaves the other updates pending: they stay listed.
        let outcome = match (outcome, params.content) {
            (Ok(message), UpgradeContent::Security) => Ok(Installed::Part(message)),
            (outcome, _) => outcome.map(Installed::All),
        };
        self.finish_upgrade(flow, row, &host, before, status, outcome)
            .await
    }

    /// After the point of no return: install, reboot, wait for the host, activate.
    async fn install_and_restart(
        &self,
        flow: &Flow,
        row: &JobRow,
        host: &Host,
        before: HostStatus,
        params: UpgradeParams,
    ) -> StepResult<String> {
        flow.progress(40.0).await;
        if params.content == UpgradeContent::Security {
            self.security_install(flow, host).await?;
        } else {
            self.install_step(flow, host).await?;
        }
        self.restart_and_activate(flow, row, host, before, params)
            .await
    }

    /// The install of every pending update (`content: all`).
    async fn install_step(&self, flow: &Flow, host: &Host) -> StepResult<String> {
        flow.step(Step::once("install").on_host(&host.id), || async {
            self.store()
                .set_host_status(&host.id, HostStatus::Installing)
                .await?;
            let installs = self.upgrade_installs().await?;
            // Safe to repeat: a host with nothing pending installs nothing.
            let installed = self
                .driver()
                .install_updates(&host.id, &installs)
                .await
                .map_err(|e| StepError::Host(format!("installing the updates failed: {e}")))?;
            self.store()
                .record_install(&host.id, &installed.os, &installed.supported_cluster_levels)
                .await?;
            let mut message = match host.host_type {
                HostType::Node => format!(
                    "installed the new node image; the host runs {}",
                    installed.os
                ),
                HostType::Plain => format!(
                    "installed the {} pending updates; the host runs {}",
                    host.available_updates.len(),
                    installed.os
                ),
            };
            // The package manager's own words, for the job's log.
            if !installed.log.trim().is_empty() {
                message.push_str(":\n");
                message.push_str(installed.log.trim_end());
            }
            Ok(message)
        })
        .await
    }

    /// After the install: reboot if asked, wait for the host, activate.
    async fn restart_and_activate(
        &self,
        flow: &Flow,
        row: &JobRow,
        host: &Host,
        before: HostStatus,
        params: UpgradeParams,
    ) -> StepResult<String> {
        let progress = |percent: f64| async move {
            flow.progress(percent).await;
        };
        if params.reboot {
            progress(70.0).await;
            flow.step(Step::once("reboot").on_host(&host.id), || async {
                self.store()
                    .set_host_status(&host.id, HostStatus::Reboot)
                    .await?;
                self.driver()
                    .reboot(&host.id)
                    .await
                    .map_err(|e| StepError::Host(format!("rebooting failed: {e}")))?;
                Ok("rebooted".to_string())
            })
            .await?;
            flow.step(
                Step::once("wait for the host to answer").on_host(&host.id),
                || self.wait_until_responding(host),
            )
            .await?;
        }
        if before == HostStatus::Maintenance {
            return Ok("upgraded; the host stays in maintenance".to_string());
        }
        progress(90.0).await;
        self.activate_step(flow, row, host, "")
            .await
            .map_err(|e| StepError::Host(format!("activating after the upgrade failed: {e}")))?;
        Ok(if params.reboot {
            "upgraded and rebooted"
        } else {
            "upgraded"
        }
        .to_string())
    }

    /// After a reboot, waits (within `ServerRebootTimeoutInSeconds`) until the host answers;
    /// a host that is briefly Non Responsive meanwhile is expected, not a failure.
    async fn wait_until_responding(&self, host: &Host) -> StepResult<String> {
        let limit = self.config_number("ServerRebootTimeoutInSeconds").await?;
        let deadline = self.clock().now() + Duration::from_secs(limit);
        let mut silent = 0;
        while !self.driver().is_responding(&host.id).await? {
            silent += 1;
            self.store()
                .set_host_status(&host.id, HostStatus::NonResponsive)
                .await?;
            if self.clock().now() >= deadline {
                return Err(StepError::Host(format!(
                    "the host did not answer within {limit} seconds after its reboot"
                )));
            }
            self.clock().sleep(RESPONSE_POLL).await;
        }
        self.store()
            .set_host_status(&host.id, HostStatus::Initializing)
            .await?;
        Ok(format!("answered after {silent} unanswered polls"))
    }

    /// The upgrade's last step: a host that made it has its update notification cleared.
    async fn finish_upgrade(
        &self,
        flow: &Flow,
        row: &JobRow,
        host: &Host,
        before: HostStatus,
        status: HostStatus,
        outcome: StepResult<Installed>,
    ) -> StepResult<JobEnd> {
        if let Ok(Installed::All(_)) = &outcome {
            let cleared = flow
                .step(Step::once("clear updates").on_host(&host.id), || async {
                    self.store().clear_updates(&host.id).await?;
                    Ok(())
                })
                .await;
            if let Err(error) = cleared {
                return Ok(JobEnd::failed(format!(
                    "the upgrade could not be recorded: {error}"
                )));
            }
        }
        self.finish_host_job(
            flow,
            row,
            host,
            before,
            status,
            outcome.map(Installed::message),
            ("host_upgrade_finished", "host_upgrade_failed"),
        )
        .await
    }
}
