//! Starting and steering a rolling upgrade: the start (validated, planned, refused with every
//! blocker named), Pause / Resume / Cancel, and the host jobs of a run.

use std::collections::{BTreeSet, HashMap};

use app::api::{
    ClusterUpgradeOptions, HostQuery, Job, JobControl, JobKind, JobStatus, Ref, Severity,
    WaitingHost,
};

use super::run::RunParams;
use super::{validate, Replan};
use crate::service::jobs::job_params;
use crate::service::{Actor, Service, ServiceError, ServiceResult};
use crate::store::{new_id, NewEvent, NewJob};

impl Service {
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
        let busy = |job: Option<&str>| {
            format!(
                "Cluster {} is already being upgraded (job {}).",
                cluster.name,
                job.unwrap_or("started a moment ago")
            )
        };
        if let Some(run) = self.store().active_run(cluster_id).await? {
            return Err(ServiceError::Conflict(busy(Some(&run.job_id))));
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
        let params = RunParams {
            options,
            hosts,
            previous_policy: cluster.scheduling_policy.clone(),
            repeat_allowance: planned.plan.repeat_allowance,
        };
        let text = serde_json::to_string(&params)
            .map_err(|e| ServiceError::Internal(format!("job parameters: {e}")))?;
        let (id, correlation_id) = (new_id(), new_id());
        let user = actor.name();
        // One statement: the run and all it needs to resume; a second run of the cluster is
        // refused by the database even when two starts race.
        self.create_job(
            &NewJob {
                id: &id,
                kind: JobKind::ClusterUpgrade,
                correlation_id: &correlation_id,
                cluster_id: Some(cluster_id),
                user: Some(&user),
                host_id: None,
                host_status_before: None,
                params: Some(&text),
                parent_id: None,
                vm_id: None,
            },
            || busy(None),
        )
        .await?;
        self.spawn_job(&id);
        self.emit(
            NewEvent::new(
                "cluster_upgrade_started",
                Severity::Normal,
                format!(
                    "Upgrade of cluster {} was started: {} hosts in {} waves.",
                    cluster.name,
                    params.hosts.len(),
                    planned.plan.waves.len()
                ),
            )
            .cluster(cluster_id)
            .correlation(&correlation_id)
            .user(Some(&user))
            .once(&id, "started"),
        )
        .await?;
        self.job_by_id(&id).await
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

    /// How many hosts a run chose at its start.
    pub(in crate::service) async fn run_host_count(&self, job_id: &str) -> ServiceResult<i64> {
        let row = self
            .store()
            .job_row(job_id)
            .await?
            .ok_or_else(|| ServiceError::NotFound(format!("There is no job {job_id}.")))?;
        let params = job_params::<RunParams>(&row)?;
        Ok(i64::try_from(params.hosts.len()).unwrap_or(i64::MAX))
    }

    /// The hosts a run chose that have not started yet, with the wave the plan gives each now
    /// (1: the next wave; `None`: the plan leaves it out, or the run has ended without it).
    pub async fn run_waiting_hosts(&self, job_id: &str) -> ServiceResult<Vec<WaitingHost>> {
        let row = self
            .store()
            .job_row(job_id)
            .await?
            .ok_or_else(|| ServiceError::NotFound(format!("There is no job {job_id}.")))?;
        if row.kind != JobKind::ClusterUpgrade {
            return Err(ServiceError::invalid(
                "invalid_job",
                format!("Job {job_id} is not a cluster upgrade."),
            ));
        }
        let params = job_params::<RunParams>(&row)?;
        let started: BTreeSet<String> = self
            .store()
            .job_hosts_of_correlation(&row.correlation_id, JobKind::HostUpgrade)
            .await?
            .into_iter()
            .collect();
        let waiting: Vec<String> = params
            .hosts
            .iter()
            .filter(|id| !started.contains(*id))
            .cloned()
            .collect();
        if waiting.is_empty() {
            return Ok(Vec::new());
        }
        let cluster_id = row.cluster_id.as_deref().unwrap_or_default();
        let mut waves = HashMap::new();
        if !row.ended {
            let options = ClusterUpgradeOptions {
                hosts: Some(waiting.clone()),
                ..params.options.clone()
            };
            let none = BTreeSet::new();
            let replan = Replan {
                failed: &none,
                repeats_left: params.repeat_allowance,
            };
            // A plan that cannot be made now leaves the waves unknown, not the page broken.
            if let Ok(planned) = self.build_plan(cluster_id, &options, Some(replan)).await {
                let hosts = planned.cluster.hosts();
                for (wave, planned_wave) in planned.plan.waves.iter().enumerate() {
                    for &h in &planned_wave.hosts {
                        waves.insert(
                            hosts[h].id.clone(),
                            u32::try_from(wave + 1).unwrap_or(u32::MAX),
                        );
                    }
                }
            }
        }
        let mut list: Vec<WaitingHost> = self
            .host_page(&HostQuery {
                cluster: Some(cluster_id.to_string()),
                ..HostQuery::default()
            })
            .await?
            .items
            .into_iter()
            .filter(|host| waiting.contains(&host.id))
            .map(|host| WaitingHost {
                wave: waves.get(&host.id).copied(),
                host: Ref {
                    id: host.id,
                    name: host.name,
                },
                status: host.status,
            })
            .collect();
        list.sort_by_key(|w| (w.wave.unwrap_or(u32::MAX), w.host.name.clone()));
        Ok(list)
    }
}
