//! One VM: why it goes where it goes (the placement explanation), and what an admin does to
//! it — start, stop, suspend, change its pinning. While its cluster is in upgrade mode
//! (seed 002), suspending and pinning are refused: a suspended or pinned VM could not follow
//! the upgrade's migrations.

use std::collections::HashSet;
use std::sync::{Mutex, PoisonError};

use app::api::{
    HostVerdict, Placement, Ref, Severity, UnitScore, Vm, VmAction, VmStatus, VmUpdate,
};

use super::{Actor, Service, ServiceError, ServiceResult};
use crate::domain::SchedulingPolicy;
use crate::scheduler::{explain, place, why_no_host, Ask, ClusterView, HostView, Verdict};
use crate::store::{NewEvent, PlacedVm};

/// VMs with a power action in flight. A second action on one of them is refused rather than
/// queued: two starts at once would otherwise each pick a host and run the VM twice.
#[derive(Default)]
pub(super) struct PowerLocks(Mutex<HashSet<String>>);

/// A VM's power lock, given back when the action ends, however it ends.
struct PowerLock<'a> {
    locks: &'a PowerLocks,
    vm_id: String,
}

impl PowerLocks {
    fn take(&self, vm_id: &str) -> ServiceResult<PowerLock<'_>> {
        let mut busy = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        if !busy.insert(vm_id.to_string()) {
            return Err(ServiceError::Conflict(
                "Another start, stop or suspend of this VM is in progress; try again when it ends."
                    .to_string(),
            ));
        }
        Ok(PowerLock {
            locks: self,
            vm_id: vm_id.to_string(),
        })
    }
}

impl Drop for PowerLock<'_> {
    fn drop(&mut self) {
        self.locks
            .0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(&self.vm_id);
    }
}

impl Service {
    /// A cluster's rules and hosts as the scheduler sees them.
    pub(super) async fn placement_world(&self, cluster_id: &str) -> ServiceResult<ClusterView> {
        self.placement_world_under(cluster_id, None).await
    }

    /// The same, under `policy` instead of the cluster's own (a plan's upgrade mode).
    pub(super) async fn placement_world_under(
        &self,
        cluster_id: &str,
        policy: Option<SchedulingPolicy>,
    ) -> ServiceResult<ClusterView> {
        let mut rules = self
            .store()
            .cluster_rules(cluster_id)
            .await?
            .ok_or_else(|| {
                ServiceError::NotFound(format!("There is no cluster with id {cluster_id}."))
            })?;
        if let Some(policy) = policy {
            rules.policy = policy;
        }
        let hosts = self.store().placement_hosts(cluster_id).await?;
        Ok(ClusterView::new(hosts, rules))
    }

    pub(super) async fn placed(&self, id: &str) -> ServiceResult<PlacedVm> {
        self.store()
            .placed_vm(id)
            .await?
            .ok_or_else(|| ServiceError::NotFound(format!("There is no VM with id {id}.")))
    }

    /// The VM's cluster, or why it has none.
    fn cluster_of(vm: &PlacedVm) -> ServiceResult<&str> {
        vm.cluster_id.as_deref().ok_or_else(|| {
            ServiceError::Conflict(format!(
                "VM {} belongs to no cluster, so no host can run it.",
                vm.view.name
            ))
        })
    }

    /// Every host of the VM's cluster with the filter that rejected it or its score.
    pub async fn vm_placement(&self, id: &str) -> ServiceResult<Placement> {
        let vm = self.placed(id).await?;
        let cluster = self.cluster_by_id(Self::cluster_of(&vm)?).await?;
        let world = self.placement_world(&cluster.id).await?;
        let hosts = world.hosts();
        let from = vm
            .host_id
            .as_ref()
            .and_then(|id| hosts.iter().position(|h| &h.id == id));
        let ask = Ask::new(&vm.view, from, &world);
        let (verdicts, chosen) = explain(&ask);
        let mut rows: Vec<HostVerdict> = hosts
            .iter()
            .zip(verdicts)
            .map(|(host, verdict)| {
                let (filter, reason, score, weights) = match verdict {
                    Verdict::Rejected { filter, why } => (
                        Some(filter.name().to_string()),
                        Some(why.to_string()),
                        None,
                        Vec::new(),
                    ),
                    Verdict::Scored { total, weights } => (
                        None,
                        None,
                        Some(total),
                        weights
                            .into_iter()
                            .map(|(unit, score)| UnitScore {
                                unit: unit.name().to_string(),
                                score,
                            })
                            .collect(),
                    ),
                };
                HostVerdict {
                    host: host_ref(host),
                    status: host.status,
                    os: host.os.text.clone(),
                    filter,
                    reason,
                    score,
                    weights,
                }
            })
            .collect();
        // `hosts` come by name, and the sort is stable: ties keep the name order `place` uses.
        rows.sort_by_key(|row| (row.score.is_none(), row.score));
        Ok(Placement {
            vm: Ref {
                id: vm.view.id.clone(),
                name: vm.view.name.clone(),
            },
            cluster: Ref {
                id: cluster.id,
                name: cluster.name,
            },
            policy: world.rules().policy.as_str().to_string(),
            action: if from.is_some() { "migrate" } else { "start" }.to_string(),
            chosen: chosen.map(|index| host_ref(&hosts[index])),
            hosts: rows,
        })
    }

    /// Starts, stops or suspends a VM: admins only, one action per VM at a time.
    pub async fn act_on_vm(
        &self,
        actor: Actor<'_>,
        id: &str,
        action: VmAction,
    ) -> ServiceResult<Vm> {
        actor.require_admin()?;
        let _lock = self.inner.power_locks.take(id)?;
        match action {
            VmAction::Start => self.start_vm(actor, id).await,
            VmAction::Stop | VmAction::Suspend => self.stop_vm(actor, id, action).await,
        }
    }

    /// Runs a VM that is down or suspended on the host its cluster's policy picks.
    async fn start_vm(&self, actor: Actor<'_>, id: &str) -> ServiceResult<Vm> {
        let vm = self.placed(id).await?;
        if vm.status.is_running() {
            return Err(ServiceError::Conflict(format!(
                "VM {} is already running.",
                vm.view.name
            )));
        }
        let cluster_id = Self::cluster_of(&vm)?;
        let world = self.placement_world(cluster_id).await?;
        let ask = Ask::new(&vm.view, None, &world);
        let target = place(&ask).ok_or_else(|| {
            ServiceError::Conflict(format!(
                "VM {} cannot start: {}.",
                vm.view.name,
                why_no_host(&ask)
            ))
        })?;
        let host = &world.hosts()[target];
        // The host is reserved first, in one statement that checks it is still Up: an
        // evacuation that began meanwhile waits for this start, or this start is refused.
        if !self
            .store()
            .reserve_vm_start(id, &host.id, self.instance_id())
            .await?
        {
            return Err(ServiceError::Conflict(format!(
                "VM {} cannot start on host {} now: the host is no longer Up, or the VM is being started already. Try again.",
                vm.view.name, host.name
            )));
        }
        let started = self
            .power(actor, &vm, (&host.id, &host.name), VmAction::Start)
            .await;
        self.store()
            .end_vm_start(id, self.instance_id(), started.is_ok())
            .await?;
        started?;
        self.vm_event(
            actor,
            &vm,
            "vm_started",
            Severity::Normal,
            format!("VM {} started on host {}.", vm.view.name, host.name),
        )
        .await?;
        self.vm_by_id(id).await
    }

    /// Shuts a running VM down, or suspends it (refused while its cluster upgrades).
    async fn stop_vm(&self, actor: Actor<'_>, id: &str, action: VmAction) -> ServiceResult<Vm> {
        let vm = self.placed(id).await?;
        let (verb, status, code) = match action {
            VmAction::Suspend => ("suspended", VmStatus::Suspended, "vm_suspended"),
            _ => ("stopped", VmStatus::Down, "vm_stopped"),
        };
        let host_id = vm
            .host_id
            .as_deref()
            .filter(|_| vm.status.is_running())
            .ok_or_else(|| {
                ServiceError::Conflict(format!(
                    "VM {} is {} and cannot be {verb}.",
                    vm.view.name, vm.status
                ))
            })?;
        if action == VmAction::Suspend {
            if let Some(cluster) = self.upgrade_mode(&vm).await? {
                return Err(ServiceError::Conflict(format!(
                    "VM {} cannot be suspended: cluster {cluster} is in upgrade mode, and a suspended VM could not follow the upgrade's migrations.",
                    vm.view.name
                )));
            }
        }
        let host = self.host_by_id(host_id).await?;
        self.power(actor, &vm, (&host.id, &host.name), action)
            .await?;
        self.store().set_vm_power(id, status, None).await?;
        self.vm_event(
            actor,
            &vm,
            code,
            Severity::Normal,
            format!("VM {} was {verb} on host {}.", vm.view.name, host.name),
        )
        .await?;
        self.vm_by_id(id).await
    }

    /// Changes a VM's migration mode and pinning. Pinning is refused while its cluster upgrades.
    pub async fn update_vm(
        &self,
        actor: Actor<'_>,
        id: &str,
        update: VmUpdate,
    ) -> ServiceResult<Vm> {
        actor.require_admin()?;
        let vm = self.placed(id).await?;
        let pins: Vec<&str> = [
            (
                update.migration == Some(app::api::MigrationMode::Pinned),
                "pinning it to its host (migration = pinned)",
            ),
            (update.cpu_pinning == Some(true), "CPU pinning"),
            (update.numa_pinning == Some(true), "NUMA pinning"),
            (
                update.host_devices == Some(true),
                "host devices (PCI passthrough)",
            ),
        ]
        .into_iter()
        .filter_map(|(asked, what)| asked.then_some(what))
        .collect();
        if !pins.is_empty() {
            if let Some(cluster) = self.upgrade_mode(&vm).await? {
                return Err(ServiceError::Conflict(format!(
                    "VM {} cannot get {}: cluster {cluster} is in upgrade mode, and a pinned VM could not follow the upgrade's migrations.",
                    vm.view.name,
                    pins.join(", ")
                )));
            }
        }
        if update == VmUpdate::default() {
            return Err(ServiceError::invalid(
                "empty_update",
                "Send at least one of migration, cpu_pinning, numa_pinning, host_devices.",
            ));
        }
        self.store().update_vm(id, &update).await?;
        let updated = self.vm_by_id(id).await?;
        self.vm_event(
            actor,
            &vm,
            "vm_updated",
            Severity::Normal,
            format!(
                "VM {} now has migration = {}, CPU pinning {}, NUMA pinning {}, host devices {}.",
                updated.name,
                updated.migration.as_str(),
                on_off(updated.cpu_pinning),
                on_off(updated.numa_pinning),
                on_off(updated.host_devices)
            ),
        )
        .await?;
        Ok(updated)
    }

    /// When this instance takes the background work over: VM starts a stopped instance left
    /// half done end as the host says (running where it was started, or not started). Starts
    /// live instances are making are left to them.
    pub async fn settle_vm_starts(&self) -> ServiceResult<()> {
        let lease = self.lease_ms().await;
        for (vm_id, host_id, by) in self.store().left_vm_starts(lease).await? {
            let Some(vm) = self.store().placed_vm(&vm_id).await? else {
                continue;
            };
            let runs_there = self
                .driver()
                .vm_host(&vm.view)
                .await?
                .is_some_and(|h| h == host_id);
            self.store().end_vm_start(&vm_id, &by, runs_there).await?;
        }
        Ok(())
    }

    /// The name of the VM's cluster when it is in upgrade mode.
    async fn upgrade_mode(&self, vm: &PlacedVm) -> ServiceResult<Option<String>> {
        let Some(cluster_id) = &vm.cluster_id else {
            return Ok(None);
        };
        let cluster = self.cluster_by_id(cluster_id).await?;
        Ok(
            (cluster.scheduling_policy == SchedulingPolicy::InClusterUpgrade.as_str())
                .then_some(cluster.name),
        )
    }

    async fn power(
        &self,
        actor: Actor<'_>,
        vm: &PlacedVm,
        (host_id, host_name): (&str, &str),
        action: VmAction,
    ) -> ServiceResult<()> {
        if let Err(error) = self.driver().power_vm(&vm.view, host_id, action).await {
            let message = format!(
                "VM {} could not {} on host {}: {error}",
                vm.view.name,
                match action {
                    VmAction::Start => "start",
                    VmAction::Stop => "stop",
                    VmAction::Suspend => "be suspended",
                },
                host_name
            );
            self.vm_event(
                actor,
                vm,
                "vm_power_failed",
                Severity::Error,
                message.clone(),
            )
            .await?;
            return Err(ServiceError::Host(message));
        }
        Ok(())
    }

    async fn vm_event(
        &self,
        actor: Actor<'_>,
        vm: &PlacedVm,
        code: &'static str,
        severity: Severity,
        message: String,
    ) -> ServiceResult<()> {
        let mut event = NewEvent::new(code, severity, message).user(Some(&actor.name()));
        if let Some(cluster) = &vm.cluster_id {
            event = event.cluster(cluster);
        }
        self.emit(event).await
    }
}

fn host_ref(host: &HostView) -> Ref {
    Ref {
        id: host.id.clone(),
        name: host.name.clone(),
    }
}

fn on_off(value: bool) -> &'static str {
    if value {
        "on"
    } else {
        "off"
    }
}
