//! Rolling cluster upgrades (SPEC §5; seeds 000, 001 and 002): the plan preview, and the run.
//!
//! A run is one `cluster_upgrade` job. Its row holds its state (options, the selection, the
//! policy to restore), and its status is how Pause, Resume and Cancel reach the loop. So a
//! restarted server picks the run up where it was. The loop re-plans before every wave from
//! the cluster as it is now. A host that failed, a VM that started, a host that is already
//! done: the next wave accounts for all of them. The loop never starts a wave while a host of
//! the cluster is still busy with a job. Each host goes through the single-host upgrade flow,
//! as a job of its own that shares the run's correlation id.

use std::collections::{HashMap, HashSet};
use std::time::Duration;

use app::api::{
    ClusterUpgradeOptions, Host, HostQuery, HostStatus, Job, JobControl, JobKind, JobStatus,
    MaxParallel, PlanBlocker, PlanMigration, PlanWave, Severity, UpgradePlan, VmAction, VmStatus,
};
use serde::{Deserialize, Serialize};

use super::maintenance::Move;
use super::upgrade::UpgradeOptions;
use super::{Actor, Service, ServiceError, ServiceResult};
use crate::domain::{is_cluster_level, SchedulingPolicy};
use crate::planner::{self, Blocker, Candidate, Plan, PlanRequest, RunningVm, Strategy, Timing};
use crate::scheduler::{Cluster, HostOs};
use crate::store::{new_id, ActiveRun, NewEvent, NewJob};

/// How often a run looks at its own status while paused, or at hosts still busy.
const POLL: Duration = Duration::from_millis(200);

/// What a run keeps in its job row.
#[derive(Clone, Debug, Serialize, Deserialize)]
struct RunState {
    options: ClusterUpgradeOptions,
    /// The hosts chosen at the start (ids); the selection does not grow during the run.
    hosts: Vec<String>,
    previous_policy: String,
    checked: bool,
    /// Pinned VMs stopped for their host's upgrade: VM id -> host id, to start them again.
    stopped: Vec<(String, String)>,
    /// VMs the rest of the run may still send to hosts waiting for their upgrade (each re-plan
    /// spends from what the first plan was allowed, not from a fresh allowance).
    #[serde(default)]
    repeats_left: usize,
}

/// Where a run stands, for its re-plan before each wave.
struct Replan<'a> {
    /// Hosts whose upgrade failed in this run: they are not tried again.
    failed: &'a HashSet<String>,
    repeats_left: usize,
}

/// A plan with the cluster and VMs it was made from, to name things.
struct Planned {
    plan: Plan,
    cluster: Cluster,
    vms: Vec<RunningVm>,
}

/// How a run ended, when it was not a failure.
enum RunEnd {
    Done,
    Cancelled,
}

/// The OS a host runs after its upgrade: the OS update's version, if one is pending.
fn os_after(host: &Host) -> HostOs {
    host.available_updates
        .iter()
        .find(|u| u.name == "os")
        .map_or_else(
            || HostOs::from(host.os.as_str()),
            |u| HostOs::from(u.available_version.as_str()),
        )
}

impl Planned {
    /// Every blocker, in one text.
    fn blockers(&self) -> String {
        let reasons: Vec<&str> = self
            .plan
            .blockers
            .iter()
            .map(|b| b.message.as_str())
            .collect();
        reasons.join(" ")
    }

    fn to_api(&self) -> UpgradePlan {
        let hosts = self.cluster.hosts();
        let plan = &self.plan;
        UpgradePlan {
            strategy: plan.strategy.as_str().to_string(),
            waves: plan
                .waves
                .iter()
                .map(|wave| PlanWave {
                    hosts: wave.hosts.iter().map(|&h| hosts[h].name.clone()).collect(),
                    migrations: wave
                        .migrations
                        .iter()
                        .map(|m| PlanMigration {
                            vm: self.vms[m.vm].view.name.clone(),
                            from: hosts[m.from].name.clone(),
                            to: hosts[m.to].name.clone(),
                        })
                        .collect(),
                    stopped_vms: wave
                        .stopped
                        .iter()
                        .map(|&vm| self.vms[vm].view.name.clone())
                        .collect(),
                    seconds: wave.seconds,
                })
                .collect(),
            predicted_migrations: u32::try_from(plan.migrations).unwrap_or(u32::MAX),
            predicted_repeat_migrations: u32::try_from(plan.repeats).unwrap_or(u32::MAX),
            predicted_gib: plan.gib,
            predicted_seconds: plan.seconds,
            blockers: plan
                .blockers
                .iter()
                .map(|b| PlanBlocker {
                    kind: b.kind.to_string(),
                    message: b.message.clone(),
                })
                .collect(),
        }
    }
}

impl Service {
    /// `POST /api/clusters/{id}/upgrade/plan`: the preview, with no side effects.
    pub async fn plan_cluster_upgrade(
        &self,
        cluster_id: &str,
        options: &ClusterUpgradeOptions,
    ) -> ServiceResult<UpgradePlan> {
        validate(options)?;
        let planned = self.build_plan(cluster_id, options, None).await?;
        Ok(planned.to_api())
    }

    /// Plans from the cluster as it is now: a preview or a start (`run` is `None`), or a
    /// run's re-plan. Before a run, a chosen host without updates is a blocker (the admin's
    /// choice was wrong); during one, it is a host that is done.
    async fn build_plan(
        &self,
        cluster_id: &str,
        options: &ClusterUpgradeOptions,
        run: Option<Replan<'_>>,
    ) -> ServiceResult<Planned> {
        let strict = run.is_none();
        let mut rules = self
            .store()
            .cluster_rules(cluster_id)
            .await?
            .ok_or_else(|| {
                ServiceError::NotFound(format!("There is no cluster with id {cluster_id}."))
            })?;
        rules.policy = SchedulingPolicy::InClusterUpgrade;
        let cluster = Cluster::new(self.store().placement_hosts(cluster_id).await?, rules);
        let hosts: HashMap<String, Host> = self
            .host_page(&HostQuery {
                cluster: Some(cluster_id.to_string()),
                ..HostQuery::default()
            })
            .await?
            .items
            .into_iter()
            .map(|h| (h.id.clone(), h))
            .collect();
        let selected: Vec<&Host> = match &options.hosts {
            Some(ids) => ids
                .iter()
                .map(|id| {
                    hosts.get(id).ok_or_else(|| {
                        ServiceError::invalid(
                            "invalid_hosts",
                            format!("Host {id} is not a host of this cluster."),
                        )
                    })
                })
                .collect::<ServiceResult<_>>()?,
            None => hosts.values().filter(|h| h.updates_available).collect(),
        };
        let index_of: HashMap<&str, usize> = cluster
            .hosts()
            .iter()
            .enumerate()
            .map(|(i, h)| (h.id.as_str(), i))
            .collect();

        let mut blockers = Vec::new();
        let mut candidates = Vec::new();
        let mut timing = None;
        for host in selected {
            if run.as_ref().is_some_and(|r| r.failed.contains(&host.id)) {
                continue;
            }
            if !host.updates_available {
                if strict {
                    blockers.push(Blocker {
                        kind: "no_updates",
                        message: format!("Host {} has no updates available.", host.name),
                    });
                }
                continue;
            }
            if !host.status.allows_upgrade() {
                blockers.push(Blocker {
                    kind: "host_status",
                    message: format!(
                        "Host {} is {}; it can be upgraded when it is Up, Maintenance, Non Operational or Install Failed.",
                        host.name,
                        host.status.label()
                    ),
                });
                continue;
            }
            let estimates = self
                .driver()
                .estimates(&host.id)
                .await
                .map_err(|e| ServiceError::Host(e.to_string()))?;
            timing.get_or_insert(Timing {
                migration_gbps: estimates.migration_gbps,
                max_migrations_per_host: estimates.max_migrations_per_host,
                state_change_seconds: estimates.state_change_seconds,
                reboot: options.reboot,
            });
            candidates.push(Candidate {
                index: index_of[host.id.as_str()],
                os_after: os_after(host),
                install_seconds: estimates.install_seconds,
                reboot_seconds: estimates.reboot_seconds,
            });
        }
        let vms: Vec<RunningVm> = self
            .store()
            .running_vms_in(cluster_id)
            .await?
            .into_iter()
            .filter_map(|vm| {
                let host = index_of.get(vm.host_id.as_deref()?)?;
                Some(RunningVm {
                    view: vm.view,
                    host: *host,
                })
            })
            .collect();
        let (strategy, max_parallel) = match options.max_parallel {
            MaxParallel::Hosts(1) => (Strategy::Sequential, 1),
            MaxParallel::Hosts(n) => (Strategy::Auto, n as usize),
            MaxParallel::Auto => (Strategy::Auto, cluster.hosts().len()),
        };
        let plan = planner::plan(PlanRequest {
            cluster: cluster.clone(),
            vms: vms.clone(),
            candidates,
            blockers,
            strategy,
            max_parallel,
            stop_pinned_vms: options.stop_pinned_vms,
            repeat_allowance: run
                .map_or_else(|| planner::repeat_allowance(vms.len()), |r| r.repeats_left),
            timing: timing.unwrap_or(Timing {
                migration_gbps: 10.0,
                max_migrations_per_host: 2,
                state_change_seconds: 1.0,
                reboot: options.reboot,
            }),
        });
        Ok(Planned { plan, cluster, vms })
    }

    /// `POST /api/clusters/{id}/upgrade`: starts the run, or says why not.
    pub async fn start_cluster_upgrade(
        &self,
        actor: Actor<'_>,
        cluster_id: &str,
        options: ClusterUpgradeOptions,
    ) -> ServiceResult<Job> {
        actor.require_admin()?;
        validate(&options)?;
        let cluster = self.cluster_by_id(cluster_id).await?;
        if let Some(run) = self.store().active_run(cluster_id).await? {
            return Err(ServiceError::Conflict(format!(
                "Cluster {} is already being upgraded (job {}).",
                cluster.name, run.job_id
            )));
        }
        let planned = self.build_plan(cluster_id, &options, None).await?;
        if !planned.plan.blockers.is_empty() {
            return Err(ServiceError::Conflict(format!(
                "Cluster {} cannot be upgraded as asked: {}",
                cluster.name,
                planned.blockers()
            )));
        }
        let hosts: Vec<String> = planned
            .plan
            .waves
            .iter()
            .flat_map(|w| {
                w.hosts
                    .iter()
                    .map(|&h| planned.cluster.hosts()[h].id.clone())
            })
            .collect();
        if hosts.is_empty() {
            return Err(ServiceError::Conflict(format!(
                "Cluster {} has no host with updates to upgrade.",
                cluster.name
            )));
        }
        let state = RunState {
            options,
            hosts,
            previous_policy: cluster.scheduling_policy.clone(),
            checked: false,
            stopped: Vec::new(),
            repeats_left: planner::repeat_allowance(planned.vms.len()),
        };
        let (id, correlation_id) = (new_id(), new_id());
        let user = actor.name();
        self.store()
            .insert_job(&NewJob {
                id: &id,
                kind: JobKind::ClusterUpgrade,
                correlation_id: &correlation_id,
                host_id: None,
                cluster_id: Some(cluster_id),
                user: Some(&user),
            })
            .await?;
        self.save_state(&id, &state).await?;
        // Upgrade mode for the run: equal-or-newer placement, no suspending or pinning.
        self.store()
            .set_cluster_policy(cluster_id, SchedulingPolicy::InClusterUpgrade.as_str())
            .await?;
        self.emit(
            NewEvent::new(
                "cluster_upgrade_started",
                Severity::Normal,
                format!(
                    "Upgrade of cluster {} was started: {} hosts in {} waves.",
                    cluster.name,
                    state.hosts.len(),
                    planned.plan.waves.len()
                ),
            )
            .cluster(cluster_id)
            .correlation(&correlation_id)
            .user(Some(&user)),
        )
        .await?;
        let service = self.clone();
        let run_id = id.clone();
        tokio::spawn(async move { service.run_cluster_upgrade(run_id).await });
        self.job_by_id(&id).await
    }

    /// At start: picks up the runs a dead server left, where they were.
    pub async fn resume_cluster_upgrades(&self) -> ServiceResult<()> {
        for run in self.store().active_runs().await? {
            tracing::info!(job = %run.job_id, "resuming a cluster upgrade interrupted by a restart");
            let service = self.clone();
            tokio::spawn(async move { service.run_cluster_upgrade(run.job_id).await });
        }
        Ok(())
    }

    /// Pause (finish the hosts in flight, start no more), Resume, or Cancel (finish the hosts
    /// in flight, then end `cancelled`).
    pub async fn control_job(
        &self,
        actor: Actor<'_>,
        job_id: &str,
        control: JobControl,
    ) -> ServiceResult<Job> {
        actor.require_admin()?;
        let job = self.job_by_id(job_id).await?;
        if job.kind != JobKind::ClusterUpgrade || job.status.is_final() {
            return Err(ServiceError::Conflict(format!(
                "Job {job_id} is a {} that is {}; only a running cluster upgrade can be paused, resumed or cancelled.",
                job.kind.label(),
                job.status.label()
            )));
        }
        let (from, to, verb): (&[JobStatus], JobStatus, &str) = match control {
            JobControl::Pause => (&[JobStatus::Running], JobStatus::Pausing, "pause"),
            JobControl::Resume => (
                &[JobStatus::Pausing, JobStatus::Paused],
                JobStatus::Running,
                "resume",
            ),
            JobControl::Cancel => (
                &[JobStatus::Running, JobStatus::Pausing, JobStatus::Paused],
                JobStatus::Cancelling,
                "cancel",
            ),
        };
        if !self.store().switch_job_status(job_id, from, to).await? {
            return Err(ServiceError::Conflict(format!(
                "Job {job_id} is {}; it cannot {verb} now.",
                job.status.label()
            )));
        }
        self.emit(
            NewEvent::new(
                "cluster_upgrade_control",
                Severity::Normal,
                format!("{} asked the cluster upgrade to {verb}.", actor.name()),
            )
            .correlation(&job.correlation_id)
            .user(Some(&actor.name())),
        )
        .await?;
        self.job_by_id(job_id).await
    }

    /// The host upgrade jobs of a cluster upgrade (they share its correlation id).
    pub async fn run_host_jobs(&self, job_id: &str) -> ServiceResult<Vec<Job>> {
        let run = self.job_by_id(job_id).await?;
        let mut jobs = Vec::new();
        for id in self
            .store()
            .jobs_of_correlation(&run.correlation_id, JobKind::HostUpgrade)
            .await?
        {
            jobs.push(self.job_by_id(&id).await?);
        }
        Ok(jobs)
    }

    async fn save_state(&self, job_id: &str, state: &RunState) -> ServiceResult<()> {
        let text = serde_json::to_string(state)
            .map_err(|e| ServiceError::Internal(format!("run state: {e}")))?;
        Ok(self.store().set_run_state(job_id, &text).await?)
    }

    /// The run, to its end, whatever happens.
    async fn run_cluster_upgrade(&self, job_id: String) {
        let outcome = self.drive(&job_id).await;
        if let Err(error) = self.end_run(&job_id, outcome).await {
            tracing::error!(job = %job_id, error = %error, "cannot record the end of a cluster upgrade");
        }
    }

    /// The loop: wave after wave until nothing is left, the run is cancelled, or it fails.
    async fn drive(&self, job_id: &str) -> Result<RunEnd, String> {
        let text = |e: ServiceError| e.to_string();
        loop {
            let run = self
                .store()
                .run(job_id)
                .await
                .map_err(|e| e.to_string())?
                .ok_or_else(|| format!("the run's job {job_id} has ended"))?;
            let mut state = run_state(&run)?;
            match JobStatus::parse(&run.status) {
                Some(JobStatus::Cancelling) => return Ok(RunEnd::Cancelled),
                Some(JobStatus::Pausing) => {
                    self.store()
                        .switch_job_status(job_id, &[JobStatus::Pausing], JobStatus::Paused)
                        .await
                        .map_err(|e| e.to_string())?;
                    self.run_event(
                        &run,
                        "cluster_upgrade_paused",
                        Severity::Normal,
                        "paused: no more hosts start until it is resumed".to_string(),
                    )
                    .await
                    .map_err(text)?;
                    continue;
                }
                Some(JobStatus::Paused) => {
                    tokio::time::sleep(POLL).await;
                    continue;
                }
                _ => {}
            }
            self.settle(&run).await.map_err(text)?;

            if state.options.check_upgrade && !state.checked {
                self.check_selection(&run, &state).await.map_err(text)?;
                state.checked = true;
                self.save_state(job_id, &state).await.map_err(text)?;
            }
            let failed: HashSet<String> = self
                .store()
                .failed_hosts_of(&run.correlation_id)
                .await
                .map_err(|e| e.to_string())?
                .into_iter()
                .collect();
            if failed.len() > state.options.max_failed_hosts as usize {
                return Err(format!(
                    "{} hosts failed to upgrade, more than the {} allowed; the run stopped",
                    failed.len(),
                    state.options.max_failed_hosts
                ));
            }
            let options = ClusterUpgradeOptions {
                hosts: Some(state.hosts.clone()),
                ..state.options.clone()
            };
            let planned = self
                .build_plan(
                    &run.cluster_id,
                    &options,
                    Some(Replan {
                        failed: &failed,
                        repeats_left: state.repeats_left,
                    }),
                )
                .await
                .map_err(text)?;
            if !planned.plan.blockers.is_empty() {
                return Err(planned.blockers());
            }
            let remaining: usize = planned.plan.waves.iter().map(|w| w.hosts.len()).sum();
            let total = state.hosts.len().max(1);
            let done = total.saturating_sub(remaining);
            let _ = self
                .store()
                .set_job_progress(job_id, 100.0 * done as f64 / total as f64)
                .await;
            if planned.plan.waves.is_empty() {
                return Ok(RunEnd::Done);
            }
            self.run_wave(&run, &mut state, &planned)
                .await
                .map_err(text)?;
        }
    }

    /// Waits until no host of the cluster is busy with a job (after a restart, the hosts of
    /// the interrupted wave finish first); a host left preparing for maintenance with no job
    /// (the server died between the two) is put back up.
    async fn settle(&self, run: &ActiveRun) -> ServiceResult<()> {
        loop {
            let hosts = self
                .host_page(&HostQuery {
                    cluster: Some(run.cluster_id.clone()),
                    ..HostQuery::default()
                })
                .await?
                .items;
            let mut busy = false;
            for host in &hosts {
                if self.store().host_job_running(&host.id).await?.is_some() {
                    busy = true;
                } else if host.status == HostStatus::PreparingForMaintenance {
                    self.store()
                        .set_host_status(&host.id, HostStatus::Up)
                        .await?;
                }
            }
            if !busy {
                return Ok(());
            }
            tokio::time::sleep(POLL).await;
        }
    }

    /// "Check first": the chosen hosts are checked for updates, as steps of the run.
    async fn check_selection(&self, run: &ActiveRun, state: &RunState) -> ServiceResult<()> {
        let mut hosts = Vec::new();
        for id in &state.hosts {
            hosts.push(self.host_by_id(id).await?);
        }
        self.check_hosts_for_run(
            &hosts,
            &run.job_id,
            &run.correlation_id,
            run.user.as_deref(),
        )
        .await
    }

    /// One wave: its hosts stop taking VMs, their VMs move as planned (pinned ones stop if
    /// allowed), then every host runs the single-host upgrade flow at once; stopped VMs start
    /// again on their host once it is back.
    async fn run_wave(
        &self,
        run: &ActiveRun,
        state: &mut RunState,
        planned: &Planned,
    ) -> ServiceResult<()> {
        let Some(wave) = planned.plan.waves.first() else {
            return Ok(());
        };
        let hosts = planned.cluster.hosts();
        let user = run.user.clone().unwrap_or_else(|| "uplift".to_string());
        let mut before = Vec::new();
        for &h in &wave.hosts {
            let host = self.host_by_id(&hosts[h].id).await?;
            if host.status == HostStatus::Up {
                self.store()
                    .set_host_status(&host.id, HostStatus::PreparingForMaintenance)
                    .await?;
            }
            before.push(host);
        }
        for &vm in &wave.stopped {
            let (view, host) = (&planned.vms[vm].view, &hosts[planned.vms[vm].host]);
            if self
                .driver()
                .power_vm(view, &host.id, VmAction::Stop)
                .await
                .is_ok()
            {
                self.store()
                    .set_vm_power(&view.id, VmStatus::Down, None)
                    .await?;
                state.stopped.push((view.id.clone(), host.id.clone()));
                self.run_event(
                    run,
                    "vm_stopped_for_upgrade",
                    Severity::Normal,
                    format!(
                        "VM {} (pinned) was stopped for the upgrade of host {}.",
                        view.name, host.name
                    ),
                )
                .await?;
            }
        }
        // Spent before the VMs move, so a restart mid-wave does not spend it twice.
        state.repeats_left = state.repeats_left.saturating_sub(wave.repeats);
        self.save_state(&run.job_id, state).await?;
        let moves: Vec<Move> = wave
            .migrations
            .iter()
            .map(|m| Move {
                vm: &planned.vms[m.vm].view,
                from: &hosts[m.from].id,
                to: &hosts[m.to],
            })
            .collect();
        // A VM that did not move is retried by its host's own flow, which fails the host
        // (not the run) if it still cannot go.
        if let Err(reason) = self.migrate(&run.job_id, &moves).await {
            tracing::warn!(job = %run.job_id, %reason, "some planned migrations failed");
        }

        let options = UpgradeOptions {
            reboot: state.options.reboot,
            timeout_minutes: state.options.timeout_minutes,
        };
        let stored = serde_json::to_string(&options).ok();
        let flows = before.iter().map(|host| {
            let stored = stored.clone();
            let user = user.clone();
            async move {
                let job = self
                    .begin_host_job(
                        &user,
                        host,
                        JobKind::HostUpgrade,
                        stored.as_deref(),
                        Some(&run.correlation_id),
                    )
                    .await?;
                self.emit(job.event(
                    host,
                    "host_upgrade_started",
                    Severity::Normal,
                    format!(
                        "Upgrade of host {} was started by the cluster upgrade.",
                        host.name
                    ),
                ))
                .await?;
                self.run_upgrade(&host.id, job, options).await;
                ServiceResult::Ok(())
            }
        });
        for outcome in futures::future::join_all(flows).await {
            outcome?;
        }
        self.restart_stopped(run, state).await
    }

    /// Starts the pinned VMs stopped for the upgrade, on their host, once it is up again.
    async fn restart_stopped(&self, run: &ActiveRun, state: &mut RunState) -> ServiceResult<()> {
        let mut waiting = Vec::new();
        for (vm_id, host_id) in std::mem::take(&mut state.stopped) {
            let host = self.host_by_id(&host_id).await?;
            let Some(vm) = self.store().placed_vm(&vm_id).await? else {
                continue;
            };
            if host.status != HostStatus::Up || vm.status.is_running() {
                if !vm.status.is_running() {
                    waiting.push((vm_id, host_id));
                }
                continue;
            }
            match self
                .driver()
                .power_vm(&vm.view, &host.id, VmAction::Start)
                .await
            {
                Ok(()) => {
                    self.store()
                        .set_vm_power(&vm_id, VmStatus::Up, Some(&host.id))
                        .await?;
                    self.run_event(
                        run,
                        "vm_started_after_upgrade",
                        Severity::Normal,
                        format!("VM {} started again on host {}.", vm.view.name, host.name),
                    )
                    .await?;
                }
                Err(error) => {
                    self.run_event(
                        run,
                        "vm_start_failed",
                        Severity::Error,
                        format!(
                            "VM {} could not start again on host {}: {error}",
                            vm.view.name, host.name
                        ),
                    )
                    .await?
                }
            }
        }
        state.stopped = waiting;
        self.save_state(&run.job_id, state).await
    }

    /// The end of a run: the level raised if asked (and every host supports it), the
    /// previous policy back in every case, the job ended, one event.
    async fn end_run(&self, job_id: &str, outcome: Result<RunEnd, String>) -> ServiceResult<()> {
        let Some(run) = self.store().run(job_id).await? else {
            return Ok(());
        };
        let state = run_state(&run).map_err(ServiceError::Internal)?;
        let cluster = self.cluster_by_id(&run.cluster_id).await?;
        let (status, code, severity, mut message) = match &outcome {
            Ok(RunEnd::Done) => (
                JobStatus::Succeeded,
                "cluster_upgrade_finished",
                Severity::Normal,
                format!("Upgrade of cluster {} finished.", cluster.name),
            ),
            Ok(RunEnd::Cancelled) => (
                JobStatus::Cancelled,
                "cluster_upgrade_cancelled",
                Severity::Warning,
                format!("Upgrade of cluster {} was cancelled.", cluster.name),
            ),
            Err(reason) => (
                JobStatus::Failed,
                "cluster_upgrade_failed",
                Severity::Error,
                format!("Upgrade of cluster {} failed: {reason}.", cluster.name),
            ),
        };
        if let (Ok(RunEnd::Done), Some(level)) =
            (&outcome, &state.options.target_compatibility_version)
        {
            message.push(' ');
            message.push_str(&self.raise_level(&run, &cluster.name, level).await?);
        }
        self.store()
            .set_cluster_policy(&run.cluster_id, &state.previous_policy)
            .await?;
        self.store()
            .finish_job(job_id, status, Some(&message))
            .await?;
        self.run_event(&run, code, severity, message).await
    }

    /// Raises the cluster's level when every host supports it; says what happened.
    async fn raise_level(
        &self,
        run: &ActiveRun,
        cluster_name: &str,
        level: &str,
    ) -> ServiceResult<String> {
        let hosts = self
            .host_page(&HostQuery {
                cluster: Some(run.cluster_id.clone()),
                ..HostQuery::default()
            })
            .await?
            .items;
        let lacking: Vec<&str> = hosts
            .iter()
            .filter(|h| !h.supported_cluster_levels.iter().any(|l| l == level))
            .map(|h| h.name.as_str())
            .collect();
        if !lacking.is_empty() {
            let message = format!(
                "The compatibility level stays: hosts {} do not support {level}.",
                lacking.join(", ")
            );
            self.run_event(
                run,
                "cluster_level_not_raised",
                Severity::Warning,
                message.clone(),
            )
            .await?;
            return Ok(message);
        }
        self.store()
            .set_cluster_level(&run.cluster_id, level)
            .await?;
        let message = format!("Cluster {cluster_name} is now at compatibility level {level}.");
        self.run_event(
            run,
            "cluster_level_changed",
            Severity::Normal,
            message.clone(),
        )
        .await?;
        Ok(message)
    }

    async fn run_event(
        &self,
        run: &ActiveRun,
        code: &'static str,
        severity: Severity,
        message: String,
    ) -> ServiceResult<()> {
        self.emit(
            NewEvent::new(code, severity, message)
                .cluster(&run.cluster_id)
                .correlation(&run.correlation_id)
                .user(run.user.as_deref()),
        )
        .await
    }
}

fn run_state(run: &ActiveRun) -> Result<RunState, String> {
    run.state
        .as_deref()
        .and_then(|text| serde_json::from_str(text).ok())
        .ok_or_else(|| {
            format!(
                "the run's state in job {} is missing or unreadable",
                run.job_id
            )
        })
}

/// What the types cannot say about the options.
fn validate(options: &ClusterUpgradeOptions) -> ServiceResult<()> {
    if options.timeout_minutes == Some(0) {
        return Err(ServiceError::invalid(
            "invalid_timeout",
            "timeout_minutes must be at least 1.",
        ));
    }
    if let Some(level) = &options.target_compatibility_version {
        if !is_cluster_level(level) {
            return Err(ServiceError::invalid(
                "invalid_level",
                format!("{level:?} is not a level like \"4.8\"."),
            ));
        }
    }
    Ok(())
}
