//! Reinstalling a host (seed 000: "reuse the existing re-install flow"; seed 002 step 6): for a
//! host in Maintenance or Install Failed, its management software is deployed again, then the
//! host is activated unless the admin asked to keep it in maintenance. A failed reinstall
//! leaves the host Install Failed, from where it can be reinstalled again. Upgrades do not
//! come here: they install updates, this puts back what is installed. Step table:
//! docs/workflows.md.

use app::api::{Host, HostReinstall, HostStatus, Job, JobKind};
use serde::{Deserialize, Serialize};

use super::jobs::{job_params, JobEnd};
use super::{Actor, Service, ServiceError, ServiceResult};
use crate::store::JobRow;
use crate::workflow::{Flow, Step, StepError, StepResult};

/// What a reinstall keeps in its job row.
#[derive(Clone, Copy, Debug, Serialize, Deserialize)]
struct ReinstallParams {
    activate: bool,
}

impl Service {
    /// `POST /api/hosts/{id}/reinstall`.
    pub async fn reinstall_host(
        &self,
        actor: Actor<'_>,
        host_id: &str,
        request: HostReinstall,
    ) -> ServiceResult<Job> {
        actor.require_admin()?;
        let host = self.host_by_id(host_id).await?;
        if !host.status.allows_reinstall() {
            return Err(ServiceError::Conflict(format!(
                "Host {} is {}; only hosts in Maintenance or Install Failed can be reinstalled.",
                host.name,
                host.status.label()
            )));
        }
        if host.vm_count > 0 {
            return Err(ServiceError::Conflict(format!(
                "Host {} runs {} VMs; move it to maintenance first, which migrates them.",
                host.name, host.vm_count
            )));
        }
        let params = ReinstallParams {
            activate: request.activate,
        };
        let id = self
            .create_host_job(&actor.name(), &host, JobKind::HostReinstall, &params, None)
            .await?;
        self.spawn_job(&id);
        self.job_by_id(&id).await
    }

    pub(super) async fn reinstall_flow(&self, flow: &Flow, row: &JobRow) -> StepResult<JobEnd> {
        let (host, before) = self.job_host(row).await?;
        let params = job_params::<ReinstallParams>(row)?;
        self.announce_start(
            row,
            &host,
            "host_reinstall_started",
            format!("Host {} is being reinstalled.", host.name),
        )
        .await?;
        let outcome = self.reinstall_steps(flow, row, &host, params).await;
        let status = match &outcome {
            Ok(_) if params.activate => HostStatus::Up,
            Ok(_) => HostStatus::Maintenance,
            Err(_) => HostStatus::InstallFailed,
        };
        self.finish_host_job(
            flow,
            row,
            &host,
            before,
            status,
            outcome,
            ("host_reinstalled", "host_reinstall_failed"),
        )
        .await
    }

    async fn reinstall_steps(
        &self,
        flow: &Flow,
        row: &JobRow,
        host: &Host,
        params: ReinstallParams,
    ) -> StepResult<String> {
        flow.step(Step::once("reinstall").on_host(&host.id), || async {
            self.store()
                .set_host_status(&host.id, HostStatus::Installing)
                .await?;
            let monitored = self.monitored().await?;
            self.driver()
                .reinstall(&host.id, &monitored)
                .await
                .map_err(|e| StepError::Host(format!("reinstalling failed: {e}")))?;
            Ok("the host's management software is deployed again".to_string())
        })
        .await?;
        if !params.activate {
            return Ok("reinstalled; the host stays in maintenance".to_string());
        }
        flow.progress(80.0).await;
        self.activate_step(flow, row, host, "")
            .await
            .map_err(|e| StepError::Host(format!("activating after the reinstall failed: {e}")))?;
        Ok("reinstalled and activated".to_string())
    }
}
