//! Maintenance and activation of one host (SPEC §4 deactivate/activate), and the evacuation
//! both maintenance and an upgrade start with. Evacuating a host: Preparing For Maintenance
//! (undone on failure: the host gets its original status back, never left preparing), a plan
//! of where each running VM goes, the live migrations, then Maintenance. A VM that cannot move
//! fails the job at once, naming the VM and why. Step tables: docs/workflows.md.

use app::api::{Host, HostStatus, Job, JobKind, Severity};
use serde::{Deserialize, Serialize};

use super::jobs::{job_params, JobEnd};
use super::{Actor, Service, ServiceError, ServiceResult};
use crate::scheduler::evacuate;
use crate::store::{new_id, JobRow, NewEvent, NewJob};
use crate::workflow::{Flow, Step, StepError, StepResult};

/// Statuses a host can be emptied from.
pub(super) const EVACUABLE: [HostStatus; 4] = [
    HostStatus::Up,
    HostStatus::NonOperational,
    HostStatus::InstallFailed,
    HostStatus::PreparingForMaintenance,
];

/// One planned live migration, as a plan step records it.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub(super) struct PlannedMove {
    pub vm_id: String,
    pub vm: String,
    pub from: String,
    pub to: String,
    pub to_name: String,
}

/// What maintenance keeps in its job row.
#[derive(Debug, Serialize, Deserialize)]
struct MaintenanceParams {
    timeout_minutes: u64,
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
        let params = MaintenanceParams {
            timeout_minutes: self.config_number("HostUpgradeTimeoutInMinutes").await?,
        };
        let id = self
            .create_host_job(
                &actor.name(),
                &host,
                JobKind::HostMaintenance,
                &params,
                None,
            )
            .await?;
        self.spawn_job(&id);
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
        let id = self
            .create_host_job(&actor.name(), &host, JobKind::HostActivate, &(), None)
            .await?;
        self.spawn_job(&id);
        self.job_by_id(&id).await
    }

    /// Creates a host job with its parameters and the host's status now, in one statement; a
    /// host with another unfinished job is refused (by the database). Returns the job's id.
    pub(super) async fn create_host_job(
        &self,
        user: &str,
        host: &Host,
        kind: JobKind,
        params: &impl Serialize,
        parent: Option<(&str, &str)>,
    ) -> ServiceResult<String> {
        let params = serde_json::to_string(params)
            .map_err(|e| ServiceError::Internal(format!("job parameters: {e}")))?;
        let (id, correlation_id) = match parent {
            Some((id, correlation)) => (id.to_string(), correlation.to_string()),
            None => (new_id(), new_id()),
        };
        self.create_job(
            &NewJob {
                id: &id,
                kind,
                correlation_id: &correlation_id,
                host_id: Some(&host.id),
                cluster_id: Some(&host.cluster.id),
                user: Some(user),
                host_status_before: Some(host.status),
                params: Some(&params),
                parent_id: None,
                vm_id: None,
            },
            || {
                format!(
                    "Host {} is busy with another job; wait for it to end.",
                    host.name
                )
            },
        )
        .await?;
        Ok(id)
    }

    /// A host job's "started" event, written once, with the job's correlation id and user.
    pub(super) async fn announce_start(
        &self,
        row: &JobRow,
        host: &Host,
        code: &'static str,
        message: String,
    ) -> StepResult<()> {
        self.emit(
            self.host_event(host, code, Severity::Normal)
                .message(message)
                .correlation(&row.correlation_id)
                .user(row.user.as_deref())
                .once(&row.id, "started"),
        )
        .await?;
        Ok(())
    }

    /// An event about a host, for a job's steps to complete.
    pub(super) fn host_event(
        &self,
        host: &Host,
        code: &'static str,
        severity: Severity,
    ) -> NewEvent {
        NewEvent::new(code, severity, String::new()).host(&host.id, &host.cluster.id)
    }

    /// The host a host job is about, and its status before the job.
    pub(super) async fn job_host(&self, row: &JobRow) -> StepResult<(Host, HostStatus)> {
        let host_id = row
            .host_id
            .as_deref()
            .ok_or_else(|| StepError::Internal(format!("job {} names no host", row.id)))?;
        let host = self.host_by_id(host_id).await?;
        let before = row.host_status_before.ok_or_else(|| {
            StepError::Internal(format!(
                "job {} does not say the host's status before it, so it cannot give the host back",
                row.id
            ))
        })?;
        Ok((host, before))
    }

    pub(super) async fn maintenance_flow(&self, flow: &Flow, row: &JobRow) -> StepResult<JobEnd> {
        let (host, before) = self.job_host(row).await?;
        let minutes = job_params::<MaintenanceParams>(row)?.timeout_minutes;
        self.announce_start(
            row,
            &host,
            "host_maintenance_started",
            format!("Host {} is being moved to maintenance.", host.name),
        )
        .await?;
        flow.set_deadline(Some((
            self.deadline(row, minutes),
            format!("moving the host to maintenance took longer than {minutes} minutes"),
        )));
        let outcome = self.evacuate_host(flow, row, &host, before, "").await;
        flow.set_deadline(None);
        let (status, message) = match outcome {
            Ok(moved) => (
                HostStatus::Maintenance,
                Ok(format!("{moved} VMs migrated; the host is in maintenance.")),
            ),
            Err(error) => {
                let undone = flow.unwind().await;
                (before, Err(with_undo(error, undone)))
            }
        };
        self.finish_host_job(
            flow,
            row,
            &host,
            before,
            status,
            message,
            ("host_maintenance_finished", "host_maintenance_failed"),
        )
        .await
    }

    pub(super) async fn activation_flow(&self, flow: &Flow, row: &JobRow) -> StepResult<JobEnd> {
        let (host, before) = self.job_host(row).await?;
        let outcome = self.activate_step(flow, row, &host, "").await;
        let (status, message) = match outcome {
            Ok(()) => (HostStatus::Up, Ok("activated".to_string())),
            Err(error) => (before, Err(error)),
        };
        self.finish_host_job(
            flow,
            row,
            &host,
            before,
            status,
            message,
            ("host_activated", "host_activation_failed"),
        )
        .await
    }

    /// The `activate` step: the host back in service, Up; a hosted-engine host's local HA
    /// maintenance is cleared first (seed 004).
    pub(super) async fn activate_step(
        &self,
        flow: &Flow,
        row: &JobRow,
        host: &Host,
        prefix: &str,
    ) -> StepResult<()> {
        self.local_ha_maintenance(flow, row, host, false, prefix)
            .await?;
        flow.step(
            Step::keyed("activate", format!("{prefix}activate")).on_host(&host.id),
            || async {
                self.driver().activate(&host.id).await?;
                self.store()
                    .set_host_status(&host.id, HostStatus::Up)
                    .await?;
                // The agents score a host by its status: what they say now, not in a second.
                if host.hosted_engine.is_some() {
                    self.refresh_agents().await?;
                }
                Ok(())
            },
        )
        .await
    }

    /// Empties the host and takes it out of service; returns how many VMs moved. A
    /// hosted-engine host gets local HA maintenance once its VMs (the engine's included) are
    /// gone. Steps are keyed with `prefix` (a cluster run's wave). Undo on failure: the host's
    /// status `before`.
    pub(super) async fn evacuate_host(
        &self,
        flow: &Flow,
        row: &JobRow,
        host: &Host,
        before: HostStatus,
        prefix: &str,
    ) -> StepResult<usize> {
        let service = self.clone();
        let host_id = host.id.clone();
        flow.step_with_undo(
            Step::keyed("prepare", format!("{prefix}prepare")).on_host(&host.id),
            || async {
                self.store()
                    .set_host_status(&host.id, HostStatus::PreparingForMaintenance)
                    .await?;
                Ok(())
            },
            move |()| {
                let (service, host_id) = (service.clone(), host_id.clone());
                async move {
                    // Only a host still preparing goes back: one that moved on is left as it is.
                    service
                        .store()
                        .restore_host_status(&host_id, HostStatus::PreparingForMaintenance, before)
                        .await?;
                    Ok(())
                }
            },
        )
        .await?;
        let moves: Vec<PlannedMove> = flow
            .step(
                Step::keyed("plan evacuation", format!("{prefix}plan evacuation"))
                    .on_host(&host.id),
                || self.plan_evacuation(host),
            )
            .await?;
        self.migrate(flow, &moves, prefix).await?;
        flow.step(
            Step::keyed("enter maintenance", format!("{prefix}enter maintenance"))
                .on_host(&host.id),
            || async {
                let left = self.store().running_vms_on(&host.id).await?;
                if !left.is_empty() {
                    let names: Vec<&str> = left.iter().map(|vm| vm.name.as_str()).collect();
                    return Err(StepError::Refused(format!(
                        "VMs still run on host {}: {}",
                        host.name,
                        names.join(", ")
                    )));
                }
                self.driver().enter_maintenance(&host.id).await?;
                self.store()
                    .set_host_status(&host.id, HostStatus::Maintenance)
                    .await?;
                Ok("in maintenance".to_string())
            },
        )
        .await?;
        self.local_ha_maintenance(flow, row, host, true, prefix)
            .await?;
        Ok(moves.len())
    }

    /// Where each VM running on the host goes, once no VM start is reserving the host.
    async fn plan_evacuation(&self, host: &Host) -> StepResult<Vec<PlannedMove>> {
        while self.store().vm_starts_on(&host.id).await? > 0 {
            self.clock().sleep(super::POLL).await;
        }
        let vms = self.store().running_vms_on(&host.id).await?;
        let mut world = self.placement_world(&host.cluster.id).await?;
        let source = world
            .hosts()
            .iter()
            .position(|h| h.id == host.id)
            .ok_or_else(|| {
                StepError::Internal(format!("host {} is not in its cluster", host.name))
            })?;
        let planned = evacuate(source, &vms, &mut world).map_err(|stuck| {
            let names: Vec<String> = stuck
                .iter()
                .map(|s| format!("VM {} cannot move: {}", s.vm, s.reason))
                .collect();
            StepError::Refused(names.join("; "))
        })?;
        Ok(planned
            .into_iter()
            .map(|p| {
                let to = &world.hosts()[p.to];
                PlannedMove {
                    vm_id: vms[p.vm].id.clone(),
                    vm: vms[p.vm].name.clone(),
                    from: host.id.clone(),
                    to: to.id.clone(),
                    to_name: to.name.clone(),
                }
            })
            .collect())
    }

    /// Live-migrates VMs, all at once (the driver keeps each host to its own limit), a step
    /// each. The error names every VM that did not move, and why.
    pub(super) async fn migrate(
        &self,
        flow: &Flow,
        moves: &[PlannedMove],
        prefix: &str,
    ) -> StepResult<()> {
        let migrations = moves.iter().map(|m| {
            let step = Step::keyed(
                "migrate",
                format!("{prefix}migrate {} to {}", m.vm, m.to_name),
            )
            .on_host(&m.from);
            flow.step(step, move || self.migrate_one(m))
        });
        let failures: Vec<String> = futures::future::join_all(migrations)
            .await
            .into_iter()
            .filter_map(|outcome| outcome.err().map(|e| e.to_string()))
            .collect();
        if failures.is_empty() {
            Ok(())
        } else {
            Err(StepError::Host(failures.join("; ")))
        }
    }

    /// One migration, safe to repeat: the driver does nothing for a VM already on its target,
    /// and the inventory counts a migration once.
    async fn migrate_one(&self, m: &PlannedMove) -> StepResult<String> {
        let vm = self
            .store()
            .placed_vm(&m.vm_id)
            .await?
            .ok_or_else(|| StepError::Refused(format!("VM {} no longer exists", m.vm)))?;
        let moved = self.driver().migrate_vm(&vm.view, &m.from, &m.to).await;
        self.inner.migrations.count(moved.is_ok());
        moved.map_err(|e| {
            StepError::Host(format!(
                "VM {} could not migrate to {}: {e}",
                m.vm, m.to_name
            ))
        })?;
        self.store()
            .record_migration(&m.vm_id, &m.from, &m.to)
            .await?;
        Ok("migrated".to_string())
    }

    /// The end of a host job: the status it leaves the host in and the event that says so,
    /// as the job's last step (so both happen once), then the job's end.
    #[allow(clippy::too_many_arguments)]
    pub(super) async fn finish_host_job(
        &self,
        flow: &Flow,
        row: &JobRow,
        host: &Host,
        before: HostStatus,
        status: HostStatus,
        outcome: StepResult<String>,
        (done, failed): (&'static str, &'static str),
    ) -> StepResult<JobEnd> {
        let verb = if outcome.is_err() && status == before {
            "stays"
        } else {
            "is"
        };
        let (code, severity, text) = match &outcome {
            Ok(message) => (done, Severity::Normal, message.clone()),
            Err(reason) => (failed, Severity::Error, reason.to_string()),
        };
        let event = self
            .host_event(host, code, severity)
            .message(format!(
                "Host {} {verb} {}: {text}",
                host.name,
                status.label()
            ))
            .correlation(&row.correlation_id)
            .user(row.user.as_deref());
        let finished = flow
            .step(Step::once("finish").on_host(&host.id), || async {
                self.store().set_host_status(&host.id, status).await?;
                self.emit(event.clone().once(flow.job_id(), "finish"))
                    .await?;
                Ok(())
            })
            .await;
        Ok(match (outcome, finished) {
            (Ok(message), Ok(())) => JobEnd::succeeded(message),
            (Err(reason), _) => JobEnd::failed(reason.to_string()),
            (Ok(_), Err(error)) => {
                JobEnd::failed(format!("the job's end could not be recorded: {error}"))
            }
        })
    }
}

/// A failure, and what its undo said if that failed too.
pub(super) fn with_undo(error: StepError, undone: StepResult<()>) -> StepError {
    match undone {
        Ok(()) => error,
        Err(undo) => StepError::Internal(format!(
            "{error} (and giving the host its status back failed: {undo})"
        )),
    }
}

impl From<ServiceError> for StepError {
    fn from(error: ServiceError) -> Self {
        match error {
            ServiceError::Store(store) => store.into(),
            ServiceError::Host(reason) => StepError::Host(reason),
            ServiceError::Internal(reason) => StepError::Internal(reason),
            other => StepError::Refused(other.to_string()),
        }
    }
}
