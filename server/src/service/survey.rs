//! The survey of real hosts: every `survey_interval` the driver is asked what each host is and
//! runs. The answers keep the inventory true (OS, cores, memory, VMs); a host that stops
//! answering becomes Non Responsive with the reason in its events (again whenever the reason
//! changes), and Up again when it answers.
//!
//! Status changes here never undo a job's: they apply only to a host whose status did not change
//! since the survey looked (its status revision, bumped by a trigger on every change) and with
//! no host job running, written with the event that tells of it (one transaction,
//! `set_status_if_idle`). Drivers without a survey (the simulator) never start this loop.

use std::collections::HashMap;

use app::api::{HostStatus, Severity};
use futures::StreamExt;

use super::{Actor, Service, ServiceError, ServiceResult};
use crate::fleet::driver::{HostFacts, Survey};
use crate::store::{NewEvent, SurveyTarget};

/// Hosts surveyed at once.
const SURVEYED_AT_ONCE: usize = 16;

/// Why each silent host was last said to be silent: a new reason (sshd was restarting, now its
/// key has changed) is a new event; the same one again is not.
#[derive(Default)]
pub(super) struct Silences(std::sync::Mutex<HashMap<String, String>>);

impl Silences {
    /// Records `reason` for the host; says whether it differs from the last one.
    fn note(&self, host_id: &str, reason: &str) -> bool {
        let mut last = self
            .0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        last.insert(host_id.to_string(), reason.to_string())
            .as_deref()
            != Some(reason)
    }

    fn clear(&self, host_id: &str) {
        self.0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .remove(host_id);
    }
}

impl Service {
    /// Surveys every host now and then, until the process ends.
    pub async fn run_host_survey(self) {
        let Some(interval) = self.driver().survey_interval() else {
            return;
        };
        loop {
            if let Err(error) = self.survey_hosts().await {
                tracing::warn!(%error, "the host survey failed");
            }
            self.clock().sleep(interval).await;
        }
    }

    /// One look at every host.
    pub async fn survey_hosts(&self) -> ServiceResult<()> {
        let targets = self.store().survey_targets().await?;
        // Before any host is asked: changes made meanwhile are newer than the answers.
        let seen = self.store().vm_revisions().await?;
        let seen = &seen;
        let results: Vec<ServiceResult<()>> = futures::stream::iter(targets)
            .map(|target| async move { self.survey_host(&target, seen).await })
            .buffer_unordered(SURVEYED_AT_ONCE)
            .collect()
            .await;
        results.into_iter().collect()
    }

    async fn survey_host(
        &self,
        target: &SurveyTarget,
        seen: &HashMap<String, i64>,
    ) -> ServiceResult<()> {
        let survey = match self.driver().survey(&target.host_id).await {
            Ok(survey) => survey,
            Err(error) => {
                tracing::warn!(host = %target.name, %error, "cannot survey the host");
                return Ok(());
            }
        };
        match survey {
            Survey::Answered(facts) => self.answered(target, &facts, seen).await,
            Survey::Silent(reason) => self.silent(target, &reason).await,
        }
    }

    async fn answered(
        &self,
        target: &SurveyTarget,
        facts: &HostFacts,
        seen: &HashMap<String, i64>,
    ) -> ServiceResult<()> {
        self.inner.silences.clear(&target.host_id);
        self.store()
            .record_host_facts(&target.host_id, facts)
            .await?;
        if let Some(vms) = &facts.vms {
            let new = self
                .store()
                .sync_host_vms(&target.host_id, &target.cluster_id, vms, seen)
                .await?;
            if !new.is_empty() {
                let event = NewEvent::new(
                    "vms_discovered",
                    Severity::Normal,
                    format!(
                        "Host {} runs VMs new to the inventory: {}.",
                        target.name,
                        new.join(", ")
                    ),
                )
                .host(&target.host_id, &target.cluster_id);
                self.emit(event).await?;
            }
        }
        if target.status == HostStatus::NonResponsive {
            let event = NewEvent::new(
                "host_responding",
                Severity::Normal,
                format!(
                    "Host {} answers over SSH: {}, {} cores, {:.1} GiB of memory.",
                    target.name,
                    facts.os,
                    facts.cpu_cores,
                    facts.memory_mb as f64 / 1024.0
                ),
            )
            .host(&target.host_id, &target.cluster_id);
            self.move_status(target, HostStatus::Up, event).await?;
        }
        Ok(())
    }

    async fn silent(&self, target: &SurveyTarget, reason: &str) -> ServiceResult<()> {
        tracing::debug!(host = %target.name, %reason, "the host does not answer");
        let event = NewEvent::new(
            "host_non_responsive",
            Severity::Error,
            format!("Host {} does not answer: {reason}.", target.name),
        )
        .host(&target.host_id, &target.cluster_id);
        let watched = matches!(target.status, HostStatus::Up | HostStatus::NonOperational);
        let moved = watched
            && self
                .move_status(target, HostStatus::NonResponsive, event.clone())
                .await?;
        if !moved && target.status != HostStatus::NonResponsive {
            return Ok(());
        }
        // Said when the host goes silent (with the move), and again when the reason changes.
        if self.inner.silences.note(&target.host_id, reason) && !moved {
            self.emit(event).await?;
        }
        Ok(())
    }

    /// Moves an idle host to `to` together with the event that tells of it (one transaction);
    /// whether it moved.
    async fn move_status(
        &self,
        target: &SurveyTarget,
        to: HostStatus,
        event: NewEvent,
    ) -> ServiceResult<bool> {
        let moved = self
            .store()
            .set_status_if_idle(&target.host_id, target.status_rev, to, &event)
            .await?;
        match moved {
            Some(id) => self.emitted(id, event.code).await.map(|()| true),
            None => Ok(false),
        }
    }

    /// Forgets a real host's pinned SSH key (the admin knows it was reinstalled).
    pub async fn forget_host_key(&self, actor: Actor<'_>, name: &str) -> ServiceResult<()> {
        actor.require_admin()?;
        let Some((host_id, cluster_id)) = self.store().ssh_host_named(name).await? else {
            return Err(ServiceError::NotFound(format!(
                "There is no host {name} reached over SSH."
            )));
        };
        let forgot = self.store().forget_host_key(&host_id).await?;
        let message = if forgot {
            format!("The SSH key of host {name} was forgotten; its next answer pins a new one.")
        } else {
            format!("Host {name} had no pinned SSH key.")
        };
        let event = NewEvent::new("host_key_forgotten", Severity::Warning, message)
            .host(&host_id, &cluster_id)
            .user(Some(&actor.name()));
        self.emit(event).await
    }
}
