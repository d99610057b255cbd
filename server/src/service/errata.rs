//! A host's errata (issue 21, seed 001 steps 6–11): listing what its content provider offers
//! it, and installing chosen errata as a job: the host is emptied into maintenance (unless it
//! is there already), the provider is asked to install and its task id is recorded, the task
//! is polled to its end (its progress is the job's), and the host is activated.
//!
//! Named failures: the provider unreachable (or refusing its credentials), the task failed
//! (with the provider's words), the host lost its association (unlinked or linked elsewhere
//! while the job ran). After the point of no return a failure leaves the host in Maintenance,
//! emptied, from where the admin installs again or activates it. Step table:
//! docs/workflows.md.
//!
//! Not here: the provider rows and host links (`providers`), the provider clients
//! (`content`), which errata apply to what (`domain::errata`).

use std::collections::{BTreeSet, HashMap};
use std::time::Duration;

use app::api::{
    ErrataCounts, ErrataInstall, Erratum, ErratumType, Host, HostStatus, Job, JobKind,
    UpgradeContent,
};
use serde::{Deserialize, Serialize};

use super::jobs::{job_params, JobEnd};
use super::maintenance::with_undo;
use super::{Actor, Service, ServiceError, ServiceResult};
use crate::content::{ContentProvider, ProviderError, TaskState};
use crate::domain::errata::{unknown_ids, ErrataFilter};
use crate::store::{ContentLink, JobRow};
use crate::workflow::{Flow, Step, StepError, StepResult};

/// How often a provider task is asked how it stands.
const TASK_POLL: Duration = Duration::from_millis(500);

/// Unanswered polls in a row before the provider counts as unreachable.
const UNANSWERED_POLLS: u32 = 10;

/// The most errata one install may name.
const MAX_ERRATA: usize = 500;

/// What an errata install keeps in its job row: the errata and the link it was started with.
#[derive(Clone, Debug, Serialize, Deserialize)]
struct ErrataParams {
    /// What the step that chose them says (empty in an install's job row).
    #[serde(default)]
    message: String,
    errata: Vec<String>,
    provider_id: String,
    content_host: String,
}

/// The install step's record: the provider's task id.
#[derive(Clone, Debug, Serialize, Deserialize)]
struct Requested {
    task: String,
    message: String,
}

impl Service {
    /// The host's provider link and its client; refused when there is none.
    async fn linked_client(
        &self,
        host: &Host,
    ) -> ServiceResult<(ContentLink, String, Box<dyn ContentProvider>)> {
        let link = self.store().content_link(&host.id).await?.ok_or_else(|| {
            ServiceError::Conflict(format!(
                "Host {} is not linked to a content provider; link it on its Errata tab first.",
                host.name
            ))
        })?;
        let row = self
            .store()
            .provider(&link.provider_id)
            .await?
            .ok_or_else(|| {
                ServiceError::Conflict(format!("Host {}'s content provider is gone.", host.name))
            })?;
        let client = self.provider_client(&row)?;
        Ok((link, row.name, client))
    }

    /// `GET /api/hosts/{id}/errata`: the errata the host's provider offers it, newest first,
    /// kept by `filter`.
    pub async fn host_errata(
        &self,
        host_id: &str,
        filter: &ErrataFilter,
    ) -> ServiceResult<Vec<Erratum>> {
        let host = self.host_by_id(host_id).await?;
        let (link, _, client) = self.linked_client(&host).await?;
        let content_host = self
            .find_content_host(client.as_ref(), &host, &link)
            .await?;
        let mut errata = client.errata(&content_host.id).await?;
        self.store()
            .set_errata_counts(&host.id, &ErrataCounts::of(&errata))
            .await?;
        errata.retain(|erratum| filter.keeps(erratum));
        errata.sort_by(|a, b| b.issued.cmp(&a.issued).then_with(|| a.id.cmp(&b.id)));
        Ok(errata)
    }

    /// Every erratum the host's provider offers it; `None` for a host with no provider (the
    /// portal's Errata tab, which says so rather than failing).
    pub async fn linked_host_errata(&self, host_id: &str) -> ServiceResult<Option<Vec<Erratum>>> {
        if self.store().content_link(host_id).await?.is_none() {
            self.host_by_id(host_id).await?;
            return Ok(None);
        }
        self.host_errata(host_id, &ErrataFilter::default())
            .await
            .map(Some)
    }

    /// `POST /api/hosts/{id}/errata/install`.
    pub async fn install_errata(
        &self,
        actor: Actor<'_>,
        host_id: &str,
        request: ErrataInstall,
    ) -> ServiceResult<Job> {
        actor.require_admin()?;
        let mut seen = BTreeSet::new();
        let errata: Vec<String> = request
            .errata
            .iter()
            .map(|id| id.trim().to_string())
            .filter(|id| seen.insert(id.clone()))
            .collect();
        if errata.is_empty() || errata.len() > MAX_ERRATA || errata.iter().any(String::is_empty) {
            return Err(ServiceError::invalid(
                "invalid_errata",
                format!("Name 1 to {MAX_ERRATA} errata to install, by their ids."),
            ));
        }
        let host = self.host_by_id(host_id).await?;
        if !matches!(host.status, HostStatus::Up | HostStatus::Maintenance) {
            return Err(ServiceError::Conflict(format!(
                "Host {} is {}; errata are installed on hosts that are Up or in Maintenance.",
                host.name,
                host.status.label()
            )));
        }
        let (link, provider, client) = self.linked_client(&host).await?;
        let content_host = self
            .find_content_host(client.as_ref(), &host, &link)
            .await?;
        if let Some(reason) = content_host.cannot_install {
            return Err(ServiceError::Conflict(format!(
                "{provider} cannot install content on host {}: {reason}",
                host.name
            )));
        }
        let offered = client.errata(&content_host.id).await?;
        let unknown = unknown_ids(&errata, &offered);
        if !unknown.is_empty() {
            return Err(ServiceError::invalid(
                "invalid_errata",
                format!(
                    "Not applicable to host {}: {}. Nothing was installed.",
                    host.name,
                    unknown.join(", ")
                ),
            ));
        }
        let params = ErrataParams {
            message: String::new(),
            errata,
            provider_id: link.provider_id,
            content_host: content_host.id,
        };
        let id = self
            .create_host_job(
                &actor.name(),
                &host,
                JobKind::HostErrataInstall,
                &params,
                None,
            )
            .await?;
        self.spawn_job(&id);
        self.job_by_id(&id).await
    }

    pub(super) async fn errata_flow(&self, flow: &Flow, row: &JobRow) -> StepResult<JobEnd> {
        let (host, before) = self.job_host(row).await?;
        let params = job_params::<ErrataParams>(row)?;
        self.announce_start(
            row,
            &host,
            "host_errata_install_started",
            format!(
                "Installing {} errata on host {} was started: {}.",
                params.errata.len(),
                host.name,
                params.errata.join(", ")
            ),
        )
        .await?;
        if before != HostStatus::Maintenance {
            if let Err(error) = self.evacuate_host(flow, row, &host, before, "").await {
                let undone = flow.unwind().await;
                let outcome = Err(with_undo(error, undone));
                return self
                    .finish_errata(flow, row, &host, before, before, outcome)
                    .await;
            }
        }
        flow.commit();
        let outcome = self.errata_steps(flow, row, &host, &params).await;
        let status = if outcome.is_ok() {
            HostStatus::Up
        } else {
            HostStatus::Maintenance
        };
        // The counts the clusters list shows follow the install (best effort: a provider
        // that does not answer now leaves the last counts).
        let _ = self.host_errata(&host.id, &ErrataFilter::default()).await;
        self.finish_errata(flow, row, &host, before, status, outcome)
            .await
    }

    async fn finish_errata(
        &self,
        flow: &Flow,
        row: &JobRow,
        host: &Host,
        before: HostStatus,
        status: HostStatus,
        outcome: StepResult<String>,
    ) -> StepResult<JobEnd> {
        self.finish_host_job(
            flow,
            row,
            host,
            before,
            status,
            outcome,
            ("host_errata_installed", "host_errata_install_failed"),
        )
        .await
    }

    /// The client of the provider the job was started with, while the host is still linked
    /// to the same content host there.
    async fn still_linked(
        &self,
        host: &Host,
        params: &ErrataParams,
    ) -> StepResult<Box<dyn ContentProvider>> {
        let link = self.store().content_link(&host.id).await?;
        let same = link.as_ref().is_some_and(|link| {
            link.provider_id == params.provider_id
                && link.content_host.as_deref() == Some(params.content_host.as_str())
        });
        let row = match (same, self.store().provider(&params.provider_id).await?) {
            (true, Some(row)) => row,
            _ => {
                return Err(StepError::Refused(format!(
                    "host {} lost its association with its content host {} (it was unlinked, linked elsewhere, or its provider removed)",
                    host.name, params.content_host
                )))
            }
        };
        self.provider_client(&row).map_err(StepError::from)
    }

    /// After the point of no return: ask the provider, poll its task, activate.
    async fn errata_steps(
        &self,
        flow: &Flow,
        row: &JobRow,
        host: &Host,
        params: &ErrataParams,
    ) -> StepResult<String> {
        flow.progress(40.0).await;
        self.provider_install(flow, host, params).await?;
        flow.progress(90.0).await;
        self.activate_step(flow, row, host, "")
            .await
            .map_err(|e| StepError::Host(format!("activating after the install failed: {e}")))?;
        Ok(format!(
            "{} errata installed ({})",
            params.errata.len(),
            params.errata.join(", ")
        ))
    }

    /// Asks the provider to install `params.errata` (the job's id as the request key, so a
    /// provider that can tell answers the task this job started before instead of installing
    /// twice), records its task id, and polls the task to its end.
    async fn provider_install(
        &self,
        flow: &Flow,
        host: &Host,
        params: &ErrataParams,
    ) -> StepResult<String> {
        let requested = flow
            .step(Step::once("request install").on_host(&host.id), || async {
                self.store()
                    .set_host_status(&host.id, HostStatus::Installing)
                    .await?;
                let client = self.still_linked(host, params).await?;
                let task = client
                    .install(&params.content_host, &params.errata, flow.job_id())
                    .await
                    .map_err(|e| provider_step_error("asking for the install", e))?;
                Ok(Requested {
                    message: format!("the provider started task {task}"),
                    task,
                })
            })
            .await?;
        flow.step(
            Step::once("wait for the provider task").on_host(&host.id),
            || self.poll_task(flow, host, params, &requested.task),
        )
        .await
    }

    /// A security-only upgrade's install (`content: security`): the security errata the
    /// host's provider says apply, installed through it.
    pub(super) async fn security_install(&self, flow: &Flow, host: &Host) -> StepResult<String> {
        let chosen: ErrataParams = flow
            .step(
                Step::once("choose security errata").on_host(&host.id),
                || async {
                    let (link, provider, client) = self.linked_client(host).await?;
                    let content_host = self.find_content_host(client.as_ref(), host, &link).await?;
                    if let Some(reason) = content_host.cannot_install {
                        return Err(StepError::Refused(format!(
                            "{provider} cannot install content on host {}: {reason}",
                            host.name
                        )));
                    }
                    let errata = client
                        .errata(&content_host.id)
                        .await
                        .map_err(|e| provider_step_error("listing the host's errata", e))?;
                    let errata: Vec<String> = errata
                        .into_iter()
                        .filter(|e| e.kind == ErratumType::Security)
                        .map(|e| e.id)
                        .collect();
                    Ok(ErrataParams {
                        message: format!(
                            "{} security errata apply: {}",
                            errata.len(),
                            errata.join(", ")
                        ),
                        errata,
                        provider_id: link.provider_id,
                        content_host: content_host.id,
                    })
                },
            )
            .await?;
        if chosen.errata.is_empty() {
            return Ok("no security errata apply to the host".to_string());
        }
        self.provider_install(flow, host, &chosen).await?;
        Ok(format!(
            "installed the {} security errata ({})",
            chosen.errata.len(),
            chosen.errata.join(", ")
        ))
    }

    /// The errata counts of the hosts linked to a content provider, by host id: what an
    /// upgrade with `content` installs on each (all that apply, or the security ones). A host
    /// whose provider fails is left out, with the failure in the second map.
    pub(super) async fn cluster_errata<'a>(
        &self,
        hosts: impl Iterator<Item = &'a Host>,
        content: UpgradeContent,
    ) -> ServiceResult<(HashMap<String, ErrataCounts>, HashMap<String, String>)> {
        let (mut counts, mut failures) = (HashMap::new(), HashMap::new());
        for host in hosts {
            if self.store().content_link(&host.id).await?.is_none() {
                continue;
            }
            match self.host_errata(&host.id, &ErrataFilter::default()).await {
                Ok(errata) => {
                    let mut found = ErrataCounts::of(&errata);
                    if content == UpgradeContent::Security {
                        found.bugfix = 0;
                        found.enhancement = 0;
                    }
                    counts.insert(host.id.clone(), found);
                }
                Err(error) => {
                    failures.insert(host.id.clone(), error.to_string());
                }
            }
        }
        Ok((counts, failures))
    }

    /// A security-only upgrade needs a status that allows an upgrade and a content provider.
    pub(super) async fn check_security_upgradable(&self, host: &Host) -> ServiceResult<()> {
        if !host.status.allows_upgrade() {
            return Err(ServiceError::Conflict(format!(
                "Host {} is {}; a host can be upgraded when it is Up, Maintenance, Non Operational or Install Failed.",
                host.name,
                host.status.label()
            )));
        }
        if self.store().content_link(&host.id).await?.is_none() {
            return Err(ServiceError::Conflict(format!(
                "Host {} is not linked to a content provider; a security-only upgrade installs its security errata through one.",
                host.name
            )));
        }
        Ok(())
    }

    /// Polls the provider's task to its end; its progress is the job's (40–90 %).
    async fn poll_task(
        &self,
        flow: &Flow,
        host: &Host,
        params: &ErrataParams,
        task: &str,
    ) -> StepResult<String> {
        let mut unanswered = 0;
        loop {
            let client = self.still_linked(host, params).await?;
            match client.task(task).await {
                Ok(TaskState::Succeeded) => return Ok(format!("provider task {task} succeeded")),
                Ok(TaskState::Failed(words)) => {
                    return Err(StepError::Host(format!(
                        "provider task {task} failed: {words}"
                    )))
                }
                Ok(TaskState::Running { percent }) => {
                    unanswered = 0;
                    flow.progress(40.0 + percent / 2.0).await;
                }
                Err(ProviderError::Unreachable(reason)) if unanswered + 1 < UNANSWERED_POLLS => {
                    unanswered += 1;
                    tracing::warn!(job = %flow.job_id(), task, %reason, "the provider did not answer a task poll");
                }
                Err(error) => {
                    return Err(provider_step_error(
                        &format!("following task {task}"),
                        error,
                    ))
                }
            }
            self.clock().sleep(TASK_POLL).await;
        }
    }
}

/// A provider's error as a step's failure, named by what was being done.
fn provider_step_error(doing: &str, error: ProviderError) -> StepError {
    StepError::Host(format!("{doing}: {error}"))
}
