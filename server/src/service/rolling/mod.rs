//! Rolling cluster upgrades (SPEC §5; seeds 000, 001 and 002). This module makes plans: the
//! preview an admin reviews (no side effects) and the re-plan a run makes before each wave, from
//! the cluster as it is then. Starting and steering a run is in `start`, the run itself (a
//! workflow) in `run`; the planning itself is the pure `crate::planner`.

mod end;
mod run;
mod start;

use std::collections::{BTreeSet, HashMap};

use app::api::{
    ClusterUpgradeOptions, ErrataCounts, Host, HostErrataCounts, HostQuery, MaxParallel,
    PlanBlocker, PlanMigration, PlanWave, UpgradeContent, UpgradePlan,
};

use super::upgrade::validate_timeout;
use super::{Service, ServiceError, ServiceResult};
use crate::domain::{is_cluster_level, SchedulingPolicy};
use crate::planner::{self, Blocker, Candidate, Plan, PlanRequest, RunningVm, Strategy, Timing};
use crate::scheduler::{ClusterView, HostOs};

/// Where a run stands, for its re-plan before each wave.
struct Replan<'a> {
    /// Hosts whose upgrade failed in this run: they are not tried again.
    failed: &'a BTreeSet<String>,
    repeats_left: usize,
}

/// A plan with the cluster and VMs it was made from, to name things.
struct RunPlan {
    plan: Plan,
    cluster: ClusterView,
    vms: Vec<RunningVm>,
    /// Errata counts of the cluster's hosts linked to a content provider, by host id.
    errata: HashMap<String, ErrataCounts>,
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

impl RunPlan {
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
            hosted_engine_hosts: plan
                .waves
                .iter()
                .flat_map(|w| w.hosts.iter())
                .filter(|&&h| hosts[h].ha_score.is_some())
                .map(|&h| hosts[h].name.clone())
                .collect(),
            engine_vm_host: self
                .vms
                .iter()
                .find(|vm| vm.view.hosted_engine)
                .map(|vm| hosts[vm.host].name.clone()),
            errata: plan
                .waves
                .iter()
                .flat_map(|w| w.hosts.iter())
                .filter_map(|&h| {
                    let counts = self.errata.get(&hosts[h].id)?;
                    Some(HostErrataCounts {
                        host: hosts[h].name.clone(),
                        counts: *counts,
                    })
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
    ) -> ServiceResult<RunPlan> {
        let strict = run.is_none();
        let cluster = self
            .placement_world_under(cluster_id, Some(SchedulingPolicy::InClusterUpgrade))
            .await?;
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
            None => Vec::new(),
        };
        let (errata, provider_errors) =
            self.cluster_errata(hosts.values(), options.content).await?;
        let needs = |host: &Host| match options.content {
            UpgradeContent::All => host.updates_available,
            UpgradeContent::Security => errata.get(&host.id).is_some_and(|c| c.security > 0),
        };
        let selected = match &options.hosts {
            Some(_) => selected,
            None => hosts.values().filter(|h| needs(h)).collect(),
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
            if !needs(host) {
                if strict {
                    blockers.push(Blocker {
                        kind: "no_updates",
                        message: match (options.content, provider_errors.get(&host.id)) {
                            (UpgradeContent::All, _) => {
                                format!("Host {} has no updates available.", host.name)
                            }
                            (UpgradeContent::Security, Some(error)) => format!(
                                "Host {}'s security errata cannot be listed: {error}",
                                host.name
                            ),
                            (UpgradeContent::Security, None) => format!(
                                "Host {} has no security errata to install (or no content provider).",
                                host.name
                            ),
                        },
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
            let estimates = self.driver().estimates(&host.id).await?;
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
            repeat_allowance: run.map(|r| r.repeats_left),
            timing: timing.unwrap_or(Timing {
                migration_gbps: 10.0,
                max_migrations_per_host: 2,
                state_change_seconds: 1.0,
                reboot: options.reboot,
            }),
        });
        Ok(RunPlan {
            plan,
            cluster,
            vms,
            errata,
        })
    }
}

/// What the types cannot say about the options.
fn validate(options: &ClusterUpgradeOptions) -> ServiceResult<()> {
    validate_timeout(options.timeout_minutes)?;
    if let Some(hosts) = &options.hosts {
        let mut seen = BTreeSet::new();
        let twice: BTreeSet<&str> = hosts
            .iter()
            .filter(|id| !seen.insert(id.as_str()))
            .map(String::as_str)
            .collect();
        if !twice.is_empty() {
            return Err(ServiceError::invalid(
                "invalid_hosts",
                format!(
                    "Each host may be chosen once; chosen more than once: {}.",
                    twice.into_iter().collect::<Vec<_>>().join(", ")
                ),
            ));
        }
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
