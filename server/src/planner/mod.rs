//! The rolling-upgrade planner (SPEC §5), pure: given a cluster, the hosts to upgrade and the
//! options, which hosts go down together (waves), where every running VM goes, and what that
//! costs in migrations, GiB and time, with every blocker named.
//!
//! Placement is the scheduler's, under `in_cluster_upgrade` (the policy a run switches to), so
//! VMs prefer hosts already upgraded and never go to an older OS. `sequential` takes one host
//! per wave (oVirt's behaviour). `auto` grows each wave, emptiest hosts first, while every VM of
//! the wave still finds room outside it with the cluster's headroom, up to `max_parallel`, and
//! while the VMs that land on hosts still waiting (and so move twice) stay within
//! [`repeat_allowance`]. Such VMs go to the host whose turn comes last. A host that received
//! VMs in a wave cannot join that wave: its new VMs would move twice in a row.
//!
//! Hosted engine (seed 004): while hosted-engine hosts are down, at least one other one with a
//! positive HA score stands by, so a wave never takes them all; the host running the engine's
//! VM goes last, so that VM moves once, to a host already upgraded.

use std::collections::HashSet;

use app::api::{HostStatus, MigrationMode};

use crate::scheduler::{admits, evacuate_by, place, Ask, ClusterView, HostOs, VmView};

/// How waves are formed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Strategy {
    Sequential,
    Auto,
}

impl Strategy {
    pub fn as_str(self) -> &'static str {
        match self {
            Strategy::Sequential => "sequential",
            Strategy::Auto => "auto",
        }
    }
}

/// A host chosen for the upgrade, with what its upgrade brings and costs.
#[derive(Clone, Debug)]
pub struct Candidate {
    /// Index in the cluster's host list.
    pub index: usize,
    /// The OS the host runs once upgraded.
    pub os_after: HostOs,
    /// Seconds its install takes, and its reboot.
    pub install_seconds: f64,
    pub reboot_seconds: f64,
}

/// A running VM and the index of its host.
#[derive(Clone, Debug)]
pub struct RunningVm {
    pub view: VmView,
    pub host: usize,
}

/// What time a plan predicts from.
#[derive(Clone, Copy, Debug)]
pub struct Timing {
    /// Live-migration copy speed per migration, in Gbit/s.
    pub migration_gbps: f64,
    /// Migrations a host sends at once.
    pub max_migrations_per_host: u32,
    /// Seconds a host takes to enter maintenance, or to be activated.
    pub state_change_seconds: f64,
    pub reboot: bool,
}

/// The question.
pub struct PlanRequest {
    /// The cluster as it is, under the rules the run will use.
    pub cluster: ClusterView,
    pub vms: Vec<RunningVm>,
    pub candidates: Vec<Candidate>,
    /// What the caller already found wrong (hosts that cannot be upgraded).
    pub blockers: Vec<Blocker>,
    pub strategy: Strategy,
    /// The most hosts in one wave (`auto`); `sequential` ignores it.
    pub max_parallel: usize,
    pub stop_pinned_vms: bool,
    pub timing: Timing,
    /// How many VMs `auto` may still send to hosts that wait for their own upgrade (each of
    /// them moves again later); see [`repeat_allowance`].
    pub repeat_allowance: usize,
}

/// One live migration of the plan: `vms[vm]` from host `from` to host `to`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Migration {
    pub vm: usize,
    pub from: usize,
    pub to: usize,
}

/// Hosts upgraded at the same time, and the migrations that empty them.
#[derive(Clone, Debug, PartialEq)]
pub struct Wave {
    pub hosts: Vec<usize>,
    pub migrations: Vec<Migration>,
    /// Pinned VMs stopped for the upgrade and started again on their host afterwards.
    pub stopped: Vec<usize>,
    /// Predicted seconds from the wave's start until its hosts are back.
    pub seconds: f64,
    /// Migrations to hosts still to be upgraded: those VMs move again in a later wave.
    pub repeats: usize,
}

/// Why (part of) the plan cannot run, in words.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Blocker {
    /// `host_status`, `pinned_vm` or `no_room`.
    pub kind: &'static str,
    pub message: String,
}

/// The answer.
#[derive(Clone, Debug, PartialEq)]
pub struct Plan {
    pub strategy: Strategy,
    pub waves: Vec<Wave>,
    pub blockers: Vec<Blocker>,
    pub migrations: usize,
    /// Of `migrations`, those to hosts still waiting: the VMs that move twice.
    pub repeats: usize,
    pub gib: f64,
    pub seconds: f64,
}

/// One running VM in this many may move twice in an `auto` plan.
const REPEAT_ONE_IN: usize = 20;

/// The VMs an `auto` plan may move twice: one in [`REPEAT_ONE_IN`] of the running ones.
///
/// Why any: before a host is upgraded, the first wave's VMs can only go to hosts that are
/// still waiting, and they move again when those hosts' turn comes. Why so few: every move
/// is a pause for the VM and a copy of its memory over the network, and admins judge a
/// rolling upgrade by how little it disturbs the VMs. With no allowance, waves could only grow
/// into upgraded room (about 1.3 times per wave at 70 % memory use, one host to begin
/// with); this allowance lets the first wave be a few hosts, which is most of the speed.
pub fn repeat_allowance(running_vms: usize) -> usize {
    running_vms / REPEAT_ONE_IN
}

/// Seconds to migrate `vms` (MiB) off one host, `lanes` at a time, biggest first.
fn migration_seconds(mut sizes: Vec<u64>, timing: &Timing) -> f64 {
    let lanes = timing.max_migrations_per_host.max(1) as usize;
    sizes.sort_unstable_by(|a, b| b.cmp(a));
    let mut busy = vec![0.0_f64; lanes];
    for mb in sizes {
        let seconds = mb as f64 * 8.0 / 1024.0 / timing.migration_gbps.max(f64::MIN_POSITIVE);
        if let Some(lane) = busy.iter_mut().min_by(|a, b| a.total_cmp(b)) {
            *lane += seconds;
        }
    }
    busy.into_iter().fold(0.0, f64::max)
}

/// Plans the upgrade. Deterministic: the same request gives the same plan.
pub fn plan(request: PlanRequest) -> Plan {
    let PlanRequest {
        mut cluster,
        vms,
        candidates,
        mut blockers,
        strategy,
        max_parallel,
        stop_pinned_vms,
        timing,
        mut repeat_allowance,
    } = request;
    let hosts = cluster.hosts().len();
    let mut on_host: Vec<Vec<usize>> = vec![Vec::new(); hosts];
    for (index, vm) in vms.iter().enumerate() {
        on_host[vm.host].push(index);
    }

    // Hosted engine: the hosts that can stand by for the engine VM, and where it runs.
    let standing_by = |h: &crate::scheduler::HostView| h.ha_score.is_some_and(|score| score > 0);
    let ha_hosts = cluster.hosts().iter().filter(|h| standing_by(h)).count();
    let engine_host = vms
        .iter()
        .find(|vm| vm.view.hosted_engine)
        .map(|vm| vm.host);

    // Pinned VMs either block their host or are stopped with it.
    let mut remaining: Vec<Candidate> = Vec::new();
    for candidate in candidates {
        let host = &cluster.hosts()[candidate.index];
        if standing_by(host) && ha_hosts < 2 {
            blockers.push(Blocker {
                kind: "hosted_engine",
                message: format!(
                    "Host {} runs hosted-engine HA, and no other hosted-engine host with a positive HA score can stand by for the engine while it is down.",
                    host.name
                ),
            });
            continue;
        }
        let pinned: Vec<usize> = on_host[candidate.index]
            .iter()
            .copied()
            .filter(|&vm| vms[vm].view.migration == MigrationMode::Pinned)
            .collect();
        if !pinned.is_empty() && !stop_pinned_vms {
            let host = &cluster.hosts()[candidate.index].name;
            blockers.extend(pinned.iter().map(|&vm| Blocker {
                kind: "pinned_vm",
                message: format!(
                    "VM {} on host {host} is pinned to it (migration = pinned); stop it, or choose to stop pinned VMs.",
                    vms[vm].view.name
                ),
            }));
            continue;
        }
        remaining.push(candidate);
    }
    let cap = match strategy {
        Strategy::Sequential => 1,
        Strategy::Auto => max_parallel.max(1),
    };

    let mut waves = Vec::new();
    while !remaining.is_empty() {
        // The queue, emptiest first: fewer VMs to place while the upgraded room is small. It
        // is sorted again before each wave, as VMs sent to waiting hosts change their load.
        remaining.sort_by(|a, b| {
            let (ha, hb) = (&cluster.hosts()[a.index], &cluster.hosts()[b.index]);
            (Some(a.index) == engine_host)
                .cmp(&(Some(b.index) == engine_host))
                .then_with(|| ha.used_mb.cmp(&hb.used_mb))
                .then_with(|| ha.name.cmp(&hb.name))
        });
        let waiting: HashSet<usize> = remaining.iter().map(|c| c.index).collect();
        let last_first: Vec<usize> = remaining.iter().rev().map(|c| c.index).collect();
        let mut members: Vec<usize> = Vec::new();
        let mut migrations: Vec<Migration> = Vec::new();
        let mut stopped: Vec<usize> = Vec::new();
        let mut targets: HashSet<usize> = HashSet::new();
        let mut first_refusal = Vec::new();
        let mut repeats = 0;
        let mut ha_down = 0;
        for (position, candidate) in remaining.iter().enumerate() {
            if members.len() == cap {
                break;
            }
            let index = candidate.index;
            if targets.contains(&index) {
                continue;
            }
            // The engine VM's host (sorted last) goes only with every other host done.
            if Some(index) == engine_host && members.len() + 1 < remaining.len() {
                continue;
            }
            // Another hosted-engine host must stand by while this wave's are down.
            let ha = standing_by(&cluster.hosts()[index]);
            if ha && ha_down + 2 > ha_hosts {
                continue;
            }
            let (pinned, moving): (Vec<usize>, Vec<usize>) = on_host[index]
                .iter()
                .partition(|&&vm| vms[vm].view.migration == MigrationMode::Pinned);
            let views: Vec<VmView> = moving.iter().map(|&vm| vms[vm].view.clone()).collect();
            let before = cluster.hosts()[index].status;
            cluster.set_status(index, HostStatus::Maintenance);
            // The policy prefers upgraded hosts. A VM it sends to a host still waiting will
            // move again: it goes to the host whose turn comes last, where it stays longest,
            // so the hosts next in line stay light while the waves are small.
            let choose = |ask: &Ask<'_>| {
                let chosen = place(ask)?;
                if !waiting.contains(&chosen) {
                    return Some(chosen);
                }
                last_first.iter().copied().find(|&h| admits(ask, h))
            };
            match evacuate_by(index, &views, &mut cluster, choose) {
                Ok(planned) => {
                    let again = planned.iter().filter(|p| waiting.contains(&p.to)).count();
                    if !members.is_empty() && again > repeat_allowance {
                        // Its VMs would move twice beyond the allowance: the wave is full.
                        for p in &planned {
                            cluster.release(p.to, views[p.vm].memory_mb);
                        }
                        cluster.set_status(index, before);
                        break;
                    }
                    repeat_allowance = repeat_allowance.saturating_sub(again);
                    repeats += again;
                    members.push(position);
                    ha_down += usize::from(ha);
                    for p in planned {
                        targets.insert(p.to);
                        migrations.push(Migration {
                            vm: moving[p.vm],
                            from: index,
                            to: p.to,
                        });
                    }
                    stopped.extend(pinned);
                }
                Err(stuck) => {
                    cluster.set_status(index, before);
                    if position == 0 {
                        first_refusal = stuck;
                    }
                    // The rest carry more (they come emptiest first): the wave is as large
                    // as the room allows. Stopping here also bounds the planning time.
                    if !members.is_empty() {
                        break;
                    }
                }
            }
        }
        if members.is_empty() {
            // Not even the emptiest host can be emptied: name every VM in the way.
            let host = &cluster.hosts()[remaining[0].index].name;
            blockers.extend(first_refusal.into_iter().map(|s| Blocker {
                kind: "no_room",
                message: format!("VM {} on host {host} fits nowhere: {}.", s.vm, s.reason),
            }));
            remaining.remove(0);
            continue;
        }

        // The wave happens: its VMs move, its hosts come back upgraded and empty (but for
        // their pinned VMs, started again where they were).
        for m in &migrations {
            on_host[m.from].retain(|&vm| vm != m.vm);
            on_host[m.to].push(m.vm);
            cluster.release(m.from, vms[m.vm].view.memory_mb);
        }
        let mut seconds: f64 = 0.0;
        for &position in &members {
            let candidate = &remaining[position];
            cluster.set_os(candidate.index, candidate.os_after.clone());
            cluster.set_status(candidate.index, HostStatus::Up);
            let sizes: Vec<u64> = migrations
                .iter()
                .filter(|m| m.from == candidate.index)
                .map(|m| vms[m.vm].view.memory_mb)
                .collect();
            let reboot = if timing.reboot {
                candidate.reboot_seconds
            } else {
                0.0
            };
            let host_seconds = migration_seconds(sizes, &timing)
                + 2.0 * timing.state_change_seconds
                + candidate.install_seconds
                + reboot;
            seconds = seconds.max(host_seconds);
        }
        let hosts_in_wave: Vec<usize> = members.iter().map(|&p| remaining[p].index).collect();
        remaining.retain(|c| !hosts_in_wave.contains(&c.index));
        waves.push(Wave {
            hosts: hosts_in_wave,
            migrations,
            stopped,
            seconds,
            repeats,
        });
    }

    let migrations = waves.iter().map(|w| w.migrations.len()).sum();
    let repeats = waves.iter().map(|w| w.repeats).sum();
    let moved_mb: u64 = waves
        .iter()
        .flat_map(|w| &w.migrations)
        .map(|m| vms[m.vm].view.memory_mb)
        .sum();
    Plan {
        strategy,
        seconds: waves.iter().map(|w| w.seconds).sum(),
        waves,
        blockers,
        migrations,
        repeats,
        gib: moved_mb as f64 / 1024.0,
    }
}

#[cfg(test)]
mod tests;
