//! The run of a rolling cluster upgrade: one `cluster_upgrade` job whose flow takes the
//! cluster into upgrade mode, then wave after wave (control, re-plan, prepare the hosts, stop
//! pinned VMs, migrate, one host upgrade job per host, start the pinned VMs again) until nothing
//! is left, the run is cancelled, or too many hosts failed; and always ends by raising the level
//! if asked and giving the cluster its policy back. Each decision that reads the world (the
//! control, the plan) is a step, so a replay after a crash takes the same path. Step table:
//! docs/workflows.md.

use std::collections::BTreeSet;

use app::api::{
    ClusterUpgradeOptions, Host, HostStatus, JobKind, JobStatus, Severity, VmAction, VmStatus,
};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::super::jobs::{job_params, JobEnd};
use super::super::maintenance::PlannedMove;
use super::super::upgrade::UpgradeParams;
use super::super::Service;
use super::Replan;
use crate::domain::SchedulingPolicy;
use crate::store::{JobInsert, JobRow, NewJob, PlacedVm};
use crate::workflow::{Flow, Step, StepError, StepResult};

/// What a run keeps in its job row: how it was asked, and what it gives back at its end.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub(super) struct RunParams {
    pub options: ClusterUpgradeOptions,
    /// The hosts chosen at the start (ids); the selection does not grow during the run.
    pub hosts: Vec<String>,
    pub previous_policy: String,
    /// VMs the run may send to hosts still waiting for their upgrade (each re-plan spends
    /// from this, not from a fresh allowance).
    #[serde(alias = "repeats_left")]
    pub repeat_allowance: usize,
}

/// A wave as its plan step records it.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub(super) struct WavePlan {
    /// (id, name) of each host of the wave.
    pub hosts: Vec<(String, String)>,
    pub moves: Vec<PlannedMove>,
    /// Pinned VMs stopped for the wave: (VM id, VM name, host id).
    pub stopped: Vec<(String, String, String)>,
    /// Migrations to hosts still waiting (those VMs move again).
    pub repeats: usize,
    /// Hosts left to upgrade, this wave's included.
    pub remaining: usize,
}

/// What the control step decided before a wave.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
enum Control {
    Go,
    Cancel,
}

/// How one host's upgrade within the run ended.
#[derive(Clone, Debug, Serialize, Deserialize)]
struct HostOutcome {
    job_id: String,
    succeeded: bool,
}

/// How a run ended, when it was not a failure.
pub(super) enum RunEnd {
    Done,
    Cancelled,
}

/// The id of the host upgrade job a run starts for a host: the same on every replay, so the
/// step that creates it creates it once.
fn child_id(run_id: &str, host_id: &str) -> String {
    let digest = Sha256::digest(format!("{run_id}/{host_id}").as_bytes());
    hex::encode(&digest[..16])
}

impl Service {
    pub(in crate::service) async fn cluster_upgrade_flow(
        &self,
        flow: &Flow,
        row: &JobRow,
    ) -> StepResult<JobEnd> {
        let Some(cluster_id) = row.cluster_id.clone() else {
            return Ok(JobEnd::failed(format!("job {} names no cluster", row.id)));
        };
        let params = match job_params::<RunParams>(row) {
            Ok(params) => params,
            Err(unreadable) => {
                // Whatever the state, the cluster is released and gets a policy back.
                let previous = flow.recorded::<String>("upgrade mode");
                let end = self
                    .end_run(flow, row, &cluster_id, previous, None, Err(unreadable))
                    .await;
                return Ok(end);
            }
        };
        let outcome = self.drive(flow, row, &cluster_id, &params).await;
        let previous = Some(params.previous_policy.clone());
        Ok(self
            .end_run(flow, row, &cluster_id, previous, Some(&params), outcome)
            .await)
    }

    /// Wave after wave until nothing is left, the run is cancelled, or it fails.
    async fn drive(
        &self,
        flow: &Flow,
        row: &JobRow,
        cluster_id: &str,
        params: &RunParams,
    ) -> StepResult<RunEnd> {
        flow.step(Step::once("upgrade mode"), || async {
            self.store()
                .set_cluster_policy(cluster_id, SchedulingPolicy::InClusterUpgrade.as_str())
                .await?;
            Ok(params.previous_policy.clone())
        })
        .await?;
        if params.options.check_upgrade {
            let mut hosts = Vec::new();
            for id in &params.hosts {
                hosts.push(self.host_by_id(id).await?);
            }
            // A failed check is the host's own business: the plan then leaves the host out.
            self.check_hosts(flow, row, &hosts, "check first: ").await;
        }
        let mut repeats_left = params.repeat_allowance;
        let mut failed: BTreeSet<String> = BTreeSet::new();
        for wave in 1.. {
            let prefix = format!("wave {wave}: ");
            let control = flow
                .step(Step::keyed("control", format!("{prefix}control")), || {
                    self.await_go(flow, row, wave)
                })
                .await?;
            if control == Control::Cancel {
                return Ok(RunEnd::Cancelled);
            }
            if failed.len() > params.options.max_failed_hosts as usize {
                return Err(StepError::Refused(format!(
                    "{} hosts failed to upgrade, more than the {} allowed; the run stopped",
                    failed.len(),
                    params.options.max_failed_hosts
                )));
            }
            let plan: Option<WavePlan> = flow
                .step(Step::keyed("plan wave", format!("{prefix}plan")), || {
                    self.plan_wave(cluster_id, params, &failed, repeats_left)
                })
                .await?;
            let Some(plan) = plan else {
                return Ok(RunEnd::Done);
            };
            let total = params.hosts.len().max(1);
            let done = total.saturating_sub(plan.remaining);
            flow.progress(100.0 * done as f64 / total as f64).await;
            repeats_left = repeats_left.saturating_sub(plan.repeats);
            for (host_id, succeeded) in self.run_wave(flow, row, params, &plan, &prefix).await? {
                if !succeeded {
                    failed.insert(host_id);
                }
            }
        }
        unreachable!("waves are counted without end")
    }

    /// The control step: waits while the run is paused; says whether to go on.
    async fn await_go(&self, flow: &Flow, row: &JobRow, wave: usize) -> StepResult<Control> {
        loop {
            let status = self
                .store()
                .job_row(&row.id)
                .await?
                .map(|r| r.status)
                .ok_or_else(|| StepError::Internal(format!("the run's job {} is gone", row.id)))?;
            match status {
                JobStatus::Cancelling => return Ok(Control::Cancel),
                JobStatus::Pausing => {
                    self.store()
                        .switch_job_status(&row.id, &[JobStatus::Pausing], JobStatus::Paused)
                        .await?;
                    self.emit(
                        self.run_event(row, "cluster_upgrade_paused", Severity::Normal)
                            .message("The cluster upgrade is paused: no more hosts start until it is resumed.")
                            .once(flow.job_id(), &format!("wave {wave}: paused")),
                    )
                    .await?;
                }
                JobStatus::Paused => self.clock().sleep(super::super::POLL).await,
                _ => return Ok(Control::Go),
            }
        }
    }

    /// The next wave from the cluster as it is now, or `None` when no host is left.
    async fn plan_wave(
        &self,
        cluster_id: &str,
        params: &RunParams,
        failed: &BTreeSet<String>,
        repeats_left: usize,
    ) -> StepResult<Option<WavePlan>> {
        let options = ClusterUpgradeOptions {
            hosts: Some(params.hosts.clone()),
            ..params.options.clone()
        };
        let planned = self
            .build_plan(
                cluster_id,
                &options,
                Some(Replan {
                    failed,
                    repeats_left,
                }),
            )
            .await?;
        if !planned.plan.blockers.is_empty() {
            return Err(StepError::Refused(planned.blockers()));
        }
        let remaining = planned.plan.waves.iter().map(|w| w.hosts.len()).sum();
        let Some(wave) = planned.plan.waves.first() else {
            return Ok(None);
        };
        let hosts = planned.cluster.hosts();
        Ok(Some(WavePlan {
            hosts: wave
                .hosts
                .iter()
                .map(|&h| (hosts[h].id.clone(), hosts[h].name.clone()))
                .collect(),
            moves: wave
                .migrations
                .iter()
                .map(|m| PlannedMove {
                    vm_id: planned.vms[m.vm].view.id.clone(),
                    vm: planned.vms[m.vm].view.name.clone(),
                    from: hosts[m.from].id.clone(),
                    to: hosts[m.to].id.clone(),
                    to_name: hosts[m.to].name.clone(),
                })
                .collect(),
            stopped: wave
                .stopped
                .iter()
                .map(|&vm| {
                    let vm = &planned.vms[vm];
                    (
                        vm.view.id.clone(),
                        vm.view.name.clone(),
                        hosts[vm.host].id.clone(),
                    )
                })
                .collect(),
            repeats: wave.repeats,
            remaining,
        }))
    }

    /// One wave: its hosts stop taking VMs, pinned VMs stop (recorded before they stop), the
    /// planned VMs move, every host runs its own upgrade job at once, and the pinned VMs start
    /// again on their hosts. Returns each host's outcome.
    async fn run_wave(
        &self,
        flow: &Flow,
        row: &JobRow,
        params: &RunParams,
        plan: &WavePlan,
        prefix: &str,
    ) -> StepResult<Vec<(String, bool)>> {
        let ids: Vec<String> = plan.hosts.iter().map(|(id, _)| id.clone()).collect();
        let service = self.clone();
        let before: Vec<(String, HostStatus)> = flow
            .step_with_undo(
                Step::keyed("prepare hosts", format!("{prefix}prepare hosts")),
                || self.prepare_hosts(&ids),
                move |before: Vec<(String, HostStatus)>| {
                    let service = service.clone();
                    async move {
                        for (host_id, status) in before {
                            service
                                .store()
                                .restore_host_status(
                                    &host_id,
                                    HostStatus::PreparingForMaintenance,
                                    status,
                                )
                                .await?;
                        }
                        Ok(())
                    }
                },
            )
            .await?;
        for (vm_id, vm_name, host_id) in &plan.stopped {
            let key = format!("{prefix}stop {vm_name}");
            flow.step(
                Step::keyed("stop pinned VM", key.clone()).on_host(host_id),
                || self.power_pinned(flow, row, (vm_id, host_id), &key, VmAction::Stop),
            )
            .await?;
        }
        // A VM that did not move is tried again by its host's own flow, which fails the host
        // (not the run) if it still cannot go.
        if let Err(reason) = self.migrate(flow, &plan.moves, prefix).await {
            tracing::warn!(job = %row.id, %reason, "some planned migrations failed");
        }
        let upgrades = plan.hosts.iter().map(|(host_id, name)| {
            let status = before
                .iter()
                .find(|(id, _)| id == host_id)
                .map_or(HostStatus::Up, |(_, s)| *s);
            flow.step(
                Step::keyed("upgrade host", format!("{prefix}upgrade {name}")).on_host(host_id),
                move || self.upgrade_in_run(row, params, host_id, status),
            )
        });
        let mut outcomes = Vec::new();
        for (outcome, (host_id, _)) in futures::future::join_all(upgrades)
            .await
            .into_iter()
            .zip(&plan.hosts)
        {
            outcomes.push((host_id.clone(), outcome?.succeeded));
        }
        // The hosts are in their own jobs' hands now: nothing of this wave is undone any more.
        flow.commit();
        for (vm_id, vm_name, host_id) in &plan.stopped {
            let key = format!("{prefix}start {vm_name}");
            flow.step(
                Step::keyed("start pinned VM", key.clone()).on_host(host_id),
                || self.power_pinned(flow, row, (vm_id, host_id), &key, VmAction::Start),
            )
            .await?;
        }
        Ok(outcomes)
    }

    /// Hosts that are Up stop taking VMs; returns each host's status before.
    async fn prepare_hosts(&self, ids: &[String]) -> StepResult<Vec<(String, HostStatus)>> {
        let mut before = Vec::new();
        for id in ids {
            let host = self.host_by_id(id).await?;
            // A replay finds hosts it prepared itself: they were Up.
            let status = match host.status {
                HostStatus::PreparingForMaintenance => HostStatus::Up,
                other => other,
            };
            if status == HostStatus::Up {
                self.store()
                    .set_host_status(id, HostStatus::PreparingForMaintenance)
                    .await?;
            }
            before.push((id.clone(), status));
        }
        Ok(before)
    }

    /// A pinned VM of the run and its host.
    async fn pinned(&self, vm_id: &str, host_id: &str) -> StepResult<(PlacedVm, Host)> {
        let vm = self
            .store()
            .placed_vm(vm_id)
            .await?
            .ok_or_else(|| StepError::Refused(format!("VM {vm_id} no longer exists")))?;
        Ok((vm, self.host_by_id(host_id).await?))
    }

    /// Stops a pinned VM for its host's upgrade, or starts it again on its host once the
    /// host is Up (a VM whose host did not come back stays down, and the step says so). Safe to
    /// repeat: the driver leaves a VM that is already as asked.
    async fn power_pinned(
        &self,
        flow: &Flow,
        row: &JobRow,
        (vm_id, host_id): (&str, &str),
        key: &str,
        action: VmAction,
    ) -> StepResult<String> {
        let (vm, host) = self.pinned(vm_id, host_id).await?;
        let name = &vm.view.name;
        let (code, message, status, on) = match action {
            VmAction::Start if host.status != HostStatus::Up => {
                let message = format!(
                    "VM {name} stays down: its host {} is {} after its upgrade.",
                    host.name,
                    host.status.label()
                );
                self.emit(
                    self.run_event(row, "vm_start_failed", Severity::Error)
                        .message(message.clone())
                        .once(flow.job_id(), key),
                )
                .await?;
                return Ok(message);
            }
            VmAction::Start => (
                "vm_started_after_upgrade",
                format!("VM {name} started again on host {}.", host.name),
                VmStatus::Up,
                Some(host_id),
            ),
            _ => (
                "vm_stopped_for_upgrade",
                format!(
                    "VM {name} (pinned) was stopped for the upgrade of host {}.",
                    host.name
                ),
                VmStatus::Down,
                None,
            ),
        };
        self.driver().power_vm(&vm.view, host_id, action).await?;
        self.store().set_vm_power(vm_id, status, on).await?;
        self.emit(
            self.run_event(row, code, Severity::Normal)
                .message(message.clone())
                .once(flow.job_id(), key),
        )
        .await?;
        Ok(message)
    }

    /// A host's upgrade within the run: its own job (created once, whatever the replays),
    /// resumed like any job after a restart; this step waits for its end.
    async fn upgrade_in_run(
        &self,
        row: &JobRow,
        params: &RunParams,
        host_id: &str,
        before: HostStatus,
    ) -> StepResult<HostOutcome> {
        let id = child_id(&row.id, host_id);
        let host = self.host_by_id(host_id).await?;
        let upgrade = UpgradeParams {
            content: params.options.content,
            reboot: params.options.reboot,
            timeout_minutes: match params.options.timeout_minutes {
                Some(minutes) => minutes,
                None => self.config_number("HostUpgradeTimeoutInMinutes").await?,
            },
        };
        let text = serde_json::to_string(&upgrade)
            .map_err(|e| StepError::Internal(format!("job parameters: {e}")))?;
        let inserted = self
            .store()
            .insert_job(
                &NewJob {
                    id: &id,
                    kind: JobKind::HostUpgrade,
                    correlation_id: &row.correlation_id,
                    host_id: Some(host_id),
                    cluster_id: Some(&host.cluster.id),
                    user: row.user.as_deref(),
                    host_status_before: Some(before),
                    params: Some(&text),
                    parent_id: Some(&row.id),
                    vm_id: None,
                },
                Some((self.instance_id(), self.lease_ms().await)),
            )
            .await?;
        if inserted == JobInsert::Busy {
            return Ok(HostOutcome {
                job_id: id,
                succeeded: false,
            });
        }
        self.spawn_job(&id);
        let ended = self.job_ended(&id).await?;
        Ok(HostOutcome {
            job_id: id,
            succeeded: ended.status == JobStatus::Succeeded,
        })
    }
}
