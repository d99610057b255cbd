//! Migrating a VM by hand (seed 002 step 4, "pre-migrate VMs manually"; issue 19): to the host
//! the cluster's policy picks, or to one the admin chose, if the scheduler's filters let it.
//!
//! The request is refused at once, with the filter's reason, when the VM or the target cannot
//! do it; then a job (one unfinished per VM, said by the database) checks the target again in
//! its first step, so a host that filled up meanwhile is not overcommitted, and moves the VM
//! with the same migration step evacuations use.

use app::api::{Job, JobKind, Placement, Severity, VmMigrate};
use serde::{Deserialize, Serialize};

use super::jobs::{job_params, JobEnd};
use super::maintenance::PlannedMove;
use super::{Actor, Service, ServiceError, ServiceResult};
use crate::store::{new_id, JobRow, NewEvent, NewJob};
use crate::workflow::{Flow, Step, StepError, StepResult};

/// What the job keeps in its row.
#[derive(Debug, Serialize, Deserialize)]
struct MigrateParams {
    vm_id: String,
    /// The host the admin chose; none: the scheduler's choice when the job runs.
    host: Option<String>,
}

impl Service {
    /// `POST /api/vms/{id}/migrate`: admins only; 202 with the job.
    pub async fn migrate_vm_by_hand(
        &self,
        actor: Actor<'_>,
        vm_id: &str,
        request: VmMigrate,
    ) -> ServiceResult<Job> {
        actor.require_admin()?;
        let (planned, cluster_id) = self.plan_move(vm_id, request.host.as_deref()).await?;
        let params = MigrateParams {
            vm_id: vm_id.to_string(),
            host: request.host.clone(),
        };
        let params = serde_json::to_string(&params)
            .map_err(|e| ServiceError::Internal(format!("job parameters: {e}")))?;
        let (id, correlation_id, user) = (new_id(), new_id(), actor.name());
        self.create_job(
            &NewJob {
                id: &id,
                kind: JobKind::VmMigrate,
                correlation_id: &correlation_id,
                host_id: Some(&planned.from),
                cluster_id: Some(&cluster_id),
                user: Some(&user),
                host_status_before: None,
                params: Some(&params),
                parent_id: None,
                vm_id: Some(vm_id),
            },
            || format!("VM {} is being migrated already.", planned.vm),
        )
        .await?;
        tracing::info!(vm = %planned.vm, to = %planned.to_name, "manual migration requested");
        self.spawn_job(&id);
        self.job_by_id(&id).await
    }

    pub(super) async fn vm_migrate_flow(&self, flow: &Flow, row: &JobRow) -> StepResult<JobEnd> {
        let params: MigrateParams = job_params(row)?;
        let planned: PlannedMove = flow
            .step(Step::once("choose the target"), || async {
                // Again: what was true at the request may not be now.
                match self.plan_move(&params.vm_id, params.host.as_deref()).await {
                    Ok((planned, _)) => Ok(planned),
                    Err(ServiceError::Conflict(why)) => Err(StepError::Refused(why)),
                    Err(other) => Err(other.into()),
                }
            })
            .await?;
        let outcome = self.migrate(flow, std::slice::from_ref(&planned), "").await;
        let (code, severity, message) = match &outcome {
            Ok(()) => (
                "vm_migrated",
                Severity::Normal,
                format!(
                    "VM {} was migrated to host {}.",
                    planned.vm, planned.to_name
                ),
            ),
            Err(error) => (
                "vm_migration_failed",
                Severity::Error,
                format!("VM {} was not migrated: {error}", planned.vm),
            ),
        };
        flow.step(Step::once("announce"), || async {
            let mut event = NewEvent::new(code, severity, message.clone())
                .user(row.user.as_deref())
                .once(&row.id, "announce")
                .correlation(&row.correlation_id);
            if let Some(cluster) = &row.cluster_id {
                event = event.host(&planned.from, cluster);
            }
            self.emit(event).await?;
            Ok(())
        })
        .await?;
        Ok(match outcome {
            Ok(()) => JobEnd::succeeded(message),
            Err(_) => JobEnd::failed(message),
        })
    }
}

impl Service {
    /// The move the VM would make now (and its cluster), or why it cannot: it must run, and the
    /// target must exist, be in its cluster, and pass the scheduler's filters.
    async fn plan_move(
        &self,
        vm_id: &str,
        wanted: Option<&str>,
    ) -> ServiceResult<(PlannedMove, String)> {
        let vm = self.placed(vm_id).await?;
        let Some(from) = vm.host_id.clone() else {
            return Err(ServiceError::Conflict(format!(
                "VM {} is {}; only a running VM can be migrated.",
                vm.view.name,
                vm.status.label()
            )));
        };
        let placement = self.vm_placement(vm_id).await?;
        if let Some(wanted) = wanted {
            // A host that does not exist at all is "not found", not a refusal.
            self.host_by_id(wanted).await?;
        }
        let to = choose(&placement, &from, wanted)?;
        let planned = PlannedMove {
            vm_id: vm_id.to_string(),
            vm: vm.view.name,
            from,
            to: to.id,
            to_name: to.name,
        };
        Ok((planned, placement.cluster.id))
    }
}

/// The target: the admin's host if the filters let it take the VM, else the scheduler's choice.
fn choose(placement: &Placement, from: &str, wanted: Option<&str>) -> ServiceResult<app::api::Ref> {
    let vm = &placement.vm.name;
    let Some(wanted) = wanted else {
        return placement.chosen.clone().ok_or_else(|| {
            let reasons: Vec<String> = placement
                .hosts
                .iter()
                .filter(|row| row.host.id != from)
                .filter_map(|row| Some(format!("{}: {}", row.host.name, row.reason.as_ref()?)))
                .collect();
            ServiceError::Conflict(format!(
                "No host can take VM {vm}: {}.",
                if reasons.is_empty() {
                    "its cluster has no other host".to_string()
                } else {
                    reasons.join("; ")
                }
            ))
        });
    };
    let Some(row) = placement.hosts.iter().find(|row| row.host.id == wanted) else {
        return Err(ServiceError::Conflict(format!(
            "Host {wanted} is not a host of cluster {}, where VM {vm} runs.",
            placement.cluster.name
        )));
    };
    if row.host.id == from {
        return Err(ServiceError::Conflict(format!(
            "VM {vm} runs on host {} already.",
            row.host.name
        )));
    }
    match (&row.filter, &row.reason) {
        (Some(filter), Some(reason)) => Err(ServiceError::Conflict(format!(
            "Host {} cannot take VM {vm}: {reason} ({filter} filter).",
            row.host.name
        ))),
        _ => Ok(row.host.clone()),
    }
}
