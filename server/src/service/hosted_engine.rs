//! Hosted engine (seed 004): what the HA agents report, HA maintenance (local for one host,
//! global for the hosted-engine cluster) as a job, the steps host flows use to set and clear
//! local maintenance, and the monitor that keeps the inventory in step with the agents (they
//! start and move the engine's VM by themselves). The agents themselves are the driver's.

use std::time::Duration;

use app::api::{HaMaintenance, HaMode, Host, HostedEngine, Job, JobKind, Severity};
use serde::{Deserialize, Serialize};

use super::jobs::{job_params, JobEnd};
use super::{Actor, Service, ServiceError, ServiceResult};
use crate::store::{JobRow, NewEvent};
use crate::workflow::{Flow, Step, StepResult};

/// How often the monitor asks the hosted-engine hosts how they are.
const MONITOR_TICK: Duration = Duration::from_secs(1);

/// One host's line of `uplift hosted-engine status`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct HaHostStatus {
    pub host: String,
    pub status: String,
    pub agent: bool,
    pub score: u32,
    pub local_maintenance: bool,
    pub runs_engine_vm: bool,
    pub out_of_sync: bool,
}

/// The whole picture `uplift hosted-engine status` prints.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct HaStatus {
    pub global_maintenance: bool,
    pub engine_vm_host: Option<String>,
    pub hosts: Vec<HaHostStatus>,
}

/// What `uplift hosted-engine set-maintenance --mode` asks for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MaintenanceMode {
    Global,
    Local,
    None,
}

impl Service {
    /// `POST /api/hosts/{id}/ha_maintenance`: HA maintenance through the host's agent, as a
    /// job; 409 for a host without hosted engine.
    pub async fn ha_maintenance(
        &self,
        actor: Actor<'_>,
        host_id: &str,
        request: HaMaintenance,
    ) -> ServiceResult<Job> {
        actor.require_admin()?;
        let host = self.host_by_id(host_id).await?;
        if !host.hosted_engine.is_some_and(|he| he.configured) {
            return Err(ServiceError::Conflict(format!(
                "Host {} has no hosted engine, so it has no HA maintenance.",
                host.name
            )));
        }
        let id = crate::store::new_id();
        let params = serde_json::to_string(&request)
            .map_err(|e| ServiceError::Internal(format!("job parameters: {e}")))?;
        let correlation = crate::store::new_id();
        let user = actor.name();
        self.create_job(
            &crate::store::NewJob {
                id: &id,
                kind: JobKind::HostHaMaintenance,
                correlation_id: &correlation,
                host_id: Some(&host.id),
                cluster_id: Some(&host.cluster.id),
                user: Some(&user),
                host_status_before: Some(host.status),
                params: Some(&params),
                parent_id: None,
                vm_id: None,
            },
            String::new,
        )
        .await?;
        self.spawn_job(&id);
        self.job_by_id(&id).await
    }

    pub(super) async fn ha_maintenance_flow(
        &self,
        flow: &Flow,
        row: &JobRow,
    ) -> StepResult<JobEnd> {
        let request = job_params::<HaMaintenance>(row)?;
        let (host, _) = self.job_host(row).await?;
        let outcome = self
            .ha_maintenance_step(flow, row, &host, request, "", false)
            .await;
        Ok(match outcome {
            Ok(said) => JobEnd::succeeded(said),
            Err(error) => JobEnd::failed(error.to_string()),
        })
    }

    /// The step that sets HA maintenance through `host`'s agent, refreshes what the inventory
    /// knows of the agents, and says so (event, once). Around a host flow (`around_flow`) an
    /// agent that does not run (yet) is waited for a while and then left as it is; asked for
    /// by an admin, that is a failure the driver names.
    async fn ha_maintenance_step(
        &self,
        flow: &Flow,
        row: &JobRow,
        host: &Host,
        request: HaMaintenance,
        prefix: &str,
        around_flow: bool,
    ) -> StepResult<String> {
        let verb = if request.enabled { "enable" } else { "disable" };
        let key = format!("{prefix}{verb} {} HA maintenance", request.mode.as_str());
        let name = match (request.mode, request.enabled) {
            (HaMode::Local, true) => "enable local HA maintenance",
            (HaMode::Local, false) => "disable local HA maintenance",
            (HaMode::Global, true) => "enable global HA maintenance",
            (HaMode::Global, false) => "disable global HA maintenance",
        };
        flow.step(Step::keyed(name, key.clone()).on_host(&host.id), || async {
            if around_flow && !self.agent_answers(host).await? {
                return Ok(format!(
                    "The HA agent of host {} does not run; its HA maintenance stays as it was.",
                    host.name
                ));
            }
            self.driver()
                .set_ha_maintenance(&host.id, request.mode, request.enabled)
                .await?;
            self.refresh_agents().await?;
            let said = match request.mode {
                HaMode::Local => format!(
                    "Local HA maintenance of host {} is {}.",
                    host.name,
                    if request.enabled {
                        "enabled"
                    } else {
                        "disabled"
                    }
                ),
                HaMode::Global => format!(
                    "Global HA maintenance is {} (set through host {}).",
                    if request.enabled {
                        "enabled"
                    } else {
                        "disabled"
                    },
                    host.name
                ),
            };
            self.emit(
                self.host_event(host, "host_ha_maintenance_changed", Severity::Normal)
                    .message(said.clone())
                    .correlation(&row.correlation_id)
                    .user(row.user.as_deref())
                    .once(flow.job_id(), &key),
            )
            .await?;
            Ok(said)
        })
        .await
    }

    /// Local HA maintenance on or off around a host flow, for a hosted-engine host whose agent
    /// runs; nothing for other hosts (an agent that does not run cannot be told).
    pub(super) async fn local_ha_maintenance(
        &self,
        flow: &Flow,
        row: &JobRow,
        host: &Host,
        enabled: bool,
        prefix: &str,
    ) -> StepResult<()> {
        // Whether the host has a hosted engine is what its fleet says: the same on a replay.
        // Whether its agent runs is asked inside the step.
        let configured = self
            .host_by_id(&host.id)
            .await?
            .hosted_engine
            .is_some_and(|he| he.configured);
        if !configured {
            return Ok(());
        }
        let request = HaMaintenance {
            mode: HaMode::Local,
            enabled,
        };
        self.ha_maintenance_step(flow, row, host, request, prefix, true)
            .await
            .map(drop)
    }

    /// Whether the host's HA agent runs, waiting for it a while (an agent starts some time
    /// after its host, within `ServerRebootTimeoutInSeconds`).
    async fn agent_answers(&self, host: &Host) -> ServiceResult<bool> {
        let limit = self.config_number("ServerRebootTimeoutInSeconds").await?;
        let deadline = self.clock().now() + Duration::from_secs(limit);
        loop {
            if self
                .driver()
                .ha_state(&host.id)
                .await?
                .is_some_and(|he| he.active)
            {
                return Ok(true);
            }
            if self.clock().now() >= deadline {
                return Ok(false);
            }
            self.clock().sleep(super::POLL).await;
        }
    }

    /// The monitor: keeps the inventory in step with what the HA agents report and with where
    /// the engine VM runs. Runs until the process ends.
    pub async fn run_ha_monitor(self) {
        loop {
            if let Err(error) = self.refresh_agents().await {
                tracing::warn!(%error, "cannot read the hosted-engine HA state");
            }
            self.clock().sleep(MONITOR_TICK).await;
        }
    }

    /// One look at every hosted-engine host and at the engine VM; changes are written, and
    /// the ones an admin cares about are events.
    pub(super) async fn refresh_agents(&self) -> ServiceResult<()> {
        for row in self.store().hosted_engine_hosts().await? {
            let Some(now) = self.driver().ha_state(&row.host_id).await? else {
                continue;
            };
            let before = row.state;
            let now = HostedEngine {
                runs_engine_vm: false,
                ..now
            };
            let was = HostedEngine {
                runs_engine_vm: false,
                ..before
            };
            if now == was {
                continue;
            }
            self.store().set_hosted_engine(&row.host_id, &now).await?;
            let changed = |what: &str, on: bool| {
                NewEvent::new(
                    "hosted_engine_ha_changed",
                    Severity::Normal,
                    format!(
                        "Hosted engine HA on host {}: {what} {}.",
                        row.name,
                        if on { "enabled" } else { "disabled" }
                    ),
                )
                .host(&row.host_id, &row.cluster_id)
            };
            if now.active != before.active {
                let said = if now.active {
                    format!(
                        "The hosted engine HA agent of host {} is active again.",
                        row.name
                    )
                } else {
                    format!(
                        "The hosted engine HA agent of host {} is not active.",
                        row.name
                    )
                };
                self.emit(
                    NewEvent::new("hosted_engine_ha_changed", Severity::Normal, said)
                        .host(&row.host_id, &row.cluster_id),
                )
                .await?;
            }
            if now.local_maintenance != before.local_maintenance {
                self.emit(changed("local maintenance", now.local_maintenance))
                    .await?;
            }
            if now.active && before.active && now.global_maintenance != before.global_maintenance {
                self.emit(changed("global maintenance", now.global_maintenance))
                    .await?;
            }
        }
        for vm_id in self.store().engine_vm_ids().await? {
            self.follow_engine_vm(&vm_id).await?;
        }
        Ok(())
    }

    /// The engine VM where the hosts say it runs (the HA agents may have started or moved it).
    async fn follow_engine_vm(&self, vm_id: &str) -> ServiceResult<()> {
        let Some(vm) = self.store().placed_vm(vm_id).await? else {
            return Ok(());
        };
        let now = self.driver().vm_host(&vm.view).await?;
        let was = vm.host_id.clone().filter(|_| vm.status.is_running());
        if now == was
            || !self
                .store()
                .follow_vm(vm_id, vm.host_id.as_deref(), now.as_deref())
                .await?
        {
            return Ok(());
        }
        let (from, to) = (
            self.host_name(was.as_deref()).await,
            self.host_name(now.as_deref()).await,
        );
        let message = match (&was, &now) {
            (Some(_), Some(_)) => format!(
                "The engine VM {} runs on host {to} now (it ran on {from}).",
                vm.view.name
            ),
            (None, Some(_)) => format!(
                "The engine VM {} was started on host {to} by the HA agents.",
                vm.view.name
            ),
            _ => format!(
                "The engine VM {} is down (it ran on host {from}).",
                vm.view.name
            ),
        };
        let mut event = NewEvent::new("engine_vm_moved", Severity::Normal, message);
        if let Some(cluster) = &vm.cluster_id {
            event = event.cluster(cluster);
        }
        self.emit(event).await
    }

    /// A host's name for a message (its id if it is gone; nothing for no host).
    async fn host_name(&self, id: Option<&str>) -> String {
        match id {
            Some(id) => self
                .host_by_id(id)
                .await
                .map_or_else(|_| id.to_string(), |h| h.name),
            None => String::new(),
        }
    }

    /// `uplift hosted-engine status`.
    pub async fn hosted_engine_status(&self) -> ServiceResult<HaStatus> {
        self.refresh_agents().await?;
        let mut hosts = Vec::new();
        let mut global = false;
        let mut engine = None;
        for row in self.store().hosted_engine_hosts().await? {
            let host = self.host_by_id(&row.host_id).await?;
            let Some(he) = host.hosted_engine else {
                continue;
            };
            global |= he.global_maintenance;
            if he.runs_engine_vm {
                engine = Some(host.name.clone());
            }
            hosts.push(HaHostStatus {
                out_of_sync: host.ha_out_of_sync(),
                host: host.name,
                status: host.status.label().to_string(),
                agent: he.active,
                score: he.score,
                local_maintenance: he.local_maintenance,
                runs_engine_vm: he.runs_engine_vm,
            });
        }
        Ok(HaStatus {
            global_maintenance: global,
            engine_vm_host: engine,
            hosts,
        })
    }

    /// `uplift hosted-engine set-maintenance`: global or none through `host` (default: the
    /// first active hosted-engine host), local for `host`. Waits for the jobs; says what it did.
    pub async fn set_hosted_engine_maintenance(
        &self,
        mode: MaintenanceMode,
        host: Option<&str>,
    ) -> ServiceResult<Vec<String>> {
        let rows = self.store().hosted_engine_hosts().await?;
        let named = |name: &str| {
            rows.iter().find(|r| r.name == name).ok_or_else(|| {
                ServiceError::NotFound(format!("There is no hosted-engine host {name}."))
            })
        };
        let any_active = || {
            rows.iter().find(|r| r.state.active).ok_or_else(|| {
                ServiceError::Conflict("No hosted-engine host has an active HA agent.".to_string())
            })
        };
        let asks: Vec<(String, HaMaintenance)> = match (mode, host) {
            (MaintenanceMode::Local, None) => {
                return Err(ServiceError::invalid(
                    "missing_host",
                    "Local maintenance is set on one host: name it with --host.",
                ))
            }
            (MaintenanceMode::Local, Some(name)) => vec![(
                named(name)?.host_id.clone(),
                HaMaintenance {
                    mode: HaMode::Local,
                    enabled: true,
                },
            )],
            (MaintenanceMode::Global, host) => {
                let through = match host {
                    Some(name) => named(name)?,
                    None => any_active()?,
                };
                vec![(
                    through.host_id.clone(),
                    HaMaintenance {
                        mode: HaMode::Global,
                        enabled: true,
                    },
                )]
            }
            // `none`, as on a hosted-engine host: no maintenance of either kind.
            (MaintenanceMode::None, host) => {
                let through = match host {
                    Some(name) => named(name)?,
                    None => any_active()?,
                };
                let mut asks = vec![(
                    through.host_id.clone(),
                    HaMaintenance {
                        mode: HaMode::Global,
                        enabled: false,
                    },
                )];
                let local: Vec<&crate::store::HaHostRow> = match host {
                    Some(_) => vec![through],
                    None => rows.iter().filter(|r| r.state.local_maintenance).collect(),
                };
                for row in local {
                    asks.push((
                        row.host_id.clone(),
                        HaMaintenance {
                            mode: HaMode::Local,
                            enabled: false,
                        },
                    ));
                }
                asks
            }
        };
        let mut said = Vec::new();
        for (host_id, request) in asks {
            let job = self.ha_maintenance(Actor::Cli, &host_id, request).await?;
            let ended = self.job_ended(&job.id).await?;
            let job = self.job_by_id(&ended.id).await?;
            let message = job.message.unwrap_or_default();
            if ended.status != app::api::JobStatus::Succeeded {
                return Err(ServiceError::Host(message));
            }
            said.push(message);
        }
        Ok(said)
    }
}
