//! Forming waves: the state of a plan between two waves (where every VM is, which hosts are
//! still waiting, what is left of the allowance of VMs that move twice) and the two ways to
//! pick the next wave: `next_wave` (the strategies) and `take_wave` (a given set of hosts, for
//! the exhaustive search). Only the planner uses it; the types it answers with are the
//! planner's.
//!
//! Hosts still waiting are held back from placement ([`ClusterView::hold`]): a VM goes to a
//! host already upgraded, or one not being upgraded at all, whenever one has room, and only
//! then, within the allowance, to a waiting host (the one whose turn comes last).

use std::collections::HashSet;
use std::rc::Rc;

use app::api::{HostStatus, MigrationMode};

use super::{
    migration_seconds, repeat_allowance, Blocker, Candidate, Migration, Plan, PlanRequest,
    RunningVm, Strategy, Timing, Wave,
};
use crate::scheduler::{
    admits, evacuate_by, place, try_evacuate_by, Ask, ClusterView, HostView, Move, Stuck, VmView,
};

/// After this many hosts in a row fail to join a wave that has members, the wave is taken as
/// large as the room allows. It bounds the planning time (a try places every VM of a host).
const MISFITS_IN_A_ROW: usize = 32;

/// A plan between two waves.
#[derive(Clone)]
pub(super) struct Planning {
    cluster: ClusterView,
    /// Shared: the exhaustive search clones a plan at every step.
    vms: Rc<[RunningVm]>,
    /// The VMs on each host, by index into `vms`.
    on_host: Vec<Vec<usize>>,
    /// The hosts still to be upgraded.
    remaining: Vec<Candidate>,
    /// By host: one of `remaining`.
    waiting: Vec<bool>,
    /// Each host's status when the plan started: a host in maintenance comes back in
    /// maintenance (SPEC §1), so it never takes VMs.
    before: Vec<HostStatus>,
    blockers: Vec<Blocker>,
    cap: usize,
    timing: Timing,
    allowance: usize,
    allowance_left: usize,
    engine_host: Option<usize>,
    /// The engine VM (by index into `vms`), and the host where room is kept for it.
    engine_vm: Option<usize>,
    kept_for_engine: Option<usize>,
    /// VMs this large or larger (the allowance's worth of the largest that leave) go to a
    /// waiting host first in `auto`, while the allowance lasts.
    park_from_mb: u64,
    /// Hosted-engine hosts with a positive HA score: one of them stands by in every wave.
    ha_hosts: usize,
}

/// A host whose VMs the engine VM may count on.
fn standing_by(host: &HostView) -> bool {
    host.ha_score.is_some_and(|score| score > 0)
}

/// Why a host did not join a wave.
enum Misfit {
    /// A VM fits nowhere (only reported for a wave's first host).
    Stuck(Vec<Stuck>),
    /// Its VMs would move twice beyond the allowance, or a rule keeps it out.
    Refused,
}

/// A wave being formed.
#[derive(Default)]
struct Forming {
    members: Vec<usize>,
    migrations: Vec<Migration>,
    stopped: Vec<usize>,
    /// Waiting hosts that received VMs: they cannot join (their new VMs would move twice in a
    /// row).
    targets: HashSet<usize>,
    repeats: usize,
    ha_down: usize,
}

impl Planning {
    /// Screens the candidates (pinned VMs, hosted-engine standby) and holds the rest back.
    pub(super) fn new(request: PlanRequest) -> Planning {
        let PlanRequest {
            mut cluster,
            vms,
            candidates,
            mut blockers,
            strategy,
            max_parallel,
            stop_pinned_vms,
            timing,
            repeat_allowance: left,
        } = request;
        let hosts = cluster.hosts().len();
        let mut on_host: Vec<Vec<usize>> = vec![Vec::new(); hosts];
        for (index, vm) in vms.iter().enumerate() {
            on_host[vm.host].push(index);
        }
        let ha_hosts = cluster.hosts().iter().filter(|h| standing_by(h)).count();
        let engine_vm = vms.iter().position(|vm| vm.view.hosted_engine);
        let engine_host = engine_vm.map(|vm| vms[vm].host);
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
                let host = &host.name;
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
        let mut waiting = vec![false; hosts];
        for candidate in &remaining {
            waiting[candidate.index] = true;
            cluster.hold(candidate.index, true);
        }
        // The VMs that leave, largest first.
        let mut sizes: Vec<u64> = remaining
            .iter()
            .flat_map(|c| &on_host[c.index])
            .filter(|&&vm| vms[vm].view.migration != MigrationMode::Pinned)
            .map(|&vm| vms[vm].view.memory_mb)
            .collect();
        sizes.sort_unstable_by(|a, b| b.cmp(a));
        let allowance = left.unwrap_or_else(|| repeat_allowance(sizes.len()));
        let park_from_mb = match allowance {
            0 => u64::MAX,
            n => sizes.get(n - 1).copied().unwrap_or(u64::MAX),
        };
        let before = cluster.hosts().iter().map(|h| h.status).collect();
        let mut planning = Planning {
            cluster,
            vms: vms.into(),
            on_host,
            remaining,
            waiting,
            before,
            blockers,
            cap: strategy.wave_cap(max_parallel),
            timing,
            allowance,
            allowance_left: allowance,
            engine_host,
            engine_vm,
            kept_for_engine: None,
            park_from_mb,
            ha_hosts,
        };
        planning.keep_engine_room(None);
        planning
    }

    pub(super) fn remaining(&self) -> &[Candidate] {
        &self.remaining
    }

    /// The next wave by the strategy, or `None` when every host is planned (or blocked).
    ///
    /// The queue goes emptiest first, by the share of memory used in bands of 5 % (fewer VMs
    /// to place while the upgraded room is small), and within a band the largest hosts first:
    /// they give back the most room, and the hosts left for the last waves are the small ones,
    /// which pack (large ones left to the end could not all be down at once). It is sorted again
    /// before each wave, as VMs sent to waiting hosts change their load. A host that does not
    /// fit is passed by, so lighter hosts behind it still join.
    pub(super) fn next_wave(&mut self) -> Option<Wave> {
        while !self.remaining.is_empty() {
            let (cluster, engine_host) = (&self.cluster, self.engine_host);
            self.remaining.sort_by(|a, b| {
                let (ha, hb) = (&cluster.hosts()[a.index], &cluster.hosts()[b.index]);
                (Some(a.index) == engine_host)
                    .cmp(&(Some(b.index) == engine_host))
                    .then_with(|| {
                        let band = |h: &HostView| h.used_mb * 20 / h.memory_mb.max(1);
                        band(ha).cmp(&band(hb))
                    })
                    .then_with(|| hb.memory_mb.cmp(&ha.memory_mb))
                    .then_with(|| ha.used_mb.cmp(&hb.used_mb))
                    .then_with(|| ha.name.cmp(&hb.name))
            });
            let last_first = self.last_first();
            let mut wave = Forming::default();
            let mut first_refusal = Vec::new();
            let mut misfits = 0;
            for position in 0..self.remaining.len() {
                if wave.members.len() == self.cap
                    || (!wave.members.is_empty() && misfits == MISFITS_IN_A_ROW)
                {
                    break;
                }
                match self.join(&mut wave, position, &last_first) {
                    Ok(()) => misfits = 0,
                    Err(Misfit::Stuck(stuck)) if position == 0 => {
                        first_refusal = stuck;
                        misfits += 1;
                    }
                    Err(_) => misfits += 1,
                }
            }
            if wave.members.is_empty() {
                // Not even the emptiest host can be emptied: name every VM in the way.
                let index = self.remaining[0].index;
                let host = &self.cluster.hosts()[index].name;
                self.blockers
                    .extend(first_refusal.into_iter().map(|s| Blocker {
                        kind: "no_room",
                        message: format!("VM {} on host {host} fits nowhere: {}.", s.vm, s.reason),
                    }));
                self.waiting[index] = false;
                self.cluster.hold(index, false);
                self.remaining.remove(0);
                continue;
            }
            return Some(self.commit(wave));
        }
        None
    }

    /// The wave of exactly `hosts` (indices of the cluster), or `None` if one of them cannot
    /// join it. A wave of one host may exceed the allowance, as in `next_wave`.
    pub(super) fn take_wave(&mut self, hosts: &[usize]) -> Option<Wave> {
        if hosts.len() > self.cap {
            return None;
        }
        // The engine VM's host joins last, when it is the last host left.
        let mut hosts = hosts.to_vec();
        hosts.sort_by_key(|&h| Some(h) == self.engine_host);
        let last_first = self.last_first();
        let mut wave = Forming::default();
        for host in hosts {
            let position = self.remaining.iter().position(|c| c.index == host)?;
            self.join(&mut wave, position, &last_first).ok()?;
        }
        Some(self.commit(wave))
    }

    /// The waiting hosts a VM may go to when no host that stays has room, the one whose turn
    /// comes last first. Not the engine VM's host: it goes last anyway, with every host left,
    /// and the lighter it is then, the likelier that last wave is not a wave of its own.
    fn last_first(&self) -> Vec<usize> {
        self.remaining
            .iter()
            .rev()
            .map(|c| c.index)
            .filter(|&h| Some(h) != self.engine_host)
            .collect()
    }

    /// Tries `remaining[position]` in the wave: all its movable VMs get a target (booked) and
    /// it joins, or nothing changes.
    fn join(
        &mut self,
        wave: &mut Forming,
        position: usize,
        last_first: &[usize],
    ) -> Result<(), Misfit> {
        let index = self.remaining[position].index;
        if wave.targets.contains(&index) {
            return Err(Misfit::Refused);
        }
        // The engine VM's host (sorted last) goes only with every other host.
        if Some(index) == self.engine_host && wave.members.len() + 1 < self.remaining.len() {
            return Err(Misfit::Refused);
        }
        // Another hosted-engine host must stand by while this wave's are down.
        let ha = standing_by(&self.cluster.hosts()[index]);
        if ha && wave.ha_down + 2 > self.ha_hosts {
            return Err(Misfit::Refused);
        }
        let vms = &self.vms;
        let (pinned, mut moving): (Vec<usize>, Vec<usize>) = self.on_host[index]
            .iter()
            .partition(|&&vm| vms[vm].view.migration == MigrationMode::Pinned);
        // The engine VM first, into the room kept for it.
        moving.sort_by_key(|&vm| !vms[vm].view.hosted_engine);
        let views: Vec<VmView> = moving.iter().map(|&vm| vms[vm].view.clone()).collect();
        let status = self.cluster.hosts()[index].status;
        self.cluster.set_status(index, HostStatus::Maintenance);
        let kept = self.unkeep_engine_room(index);
        let explain = wave.members.is_empty() && position == 0;
        let planned = match self.evacuate(index, &views, last_first, explain) {
            Ok(planned) => planned,
            Err(stuck) => {
                self.cluster.set_status(index, status);
                self.keep_engine_room(kept);
                return Err(Misfit::Stuck(stuck));
            }
        };
        let again = planned.iter().filter(|p| self.waiting[p.to]).count();
        if !wave.members.is_empty() && again > self.allowance_left {
            for p in &planned {
                self.cluster.release(p.to, views[p.vm].memory_mb);
            }
            self.cluster.set_status(index, status);
            self.keep_engine_room(kept);
            return Err(Misfit::Refused);
        }
        self.allowance_left = self.allowance_left.saturating_sub(again);
        wave.repeats += again;
        wave.members.push(position);
        wave.ha_down += usize::from(ha);
        for p in planned {
            if self.waiting[p.to] {
                wave.targets.insert(p.to);
            }
            wave.migrations.push(Migration {
                vm: moving[p.vm],
                from: index,
                to: p.to,
            });
        }
        wave.stopped.extend(pinned);
        Ok(())
    }

    /// Targets for `views` leaving host `index`. A host that waits is held back from `place`:
    /// a VM goes there only when no host it will stay on has room, and then to the host whose
    /// turn comes last, where it stays longest, so the hosts next in line stay light while the
    /// waves are small. The engine VM (first, if there) is placed on its own, before the others
    /// can take the room kept for it.
    ///
    /// Only with `explain` does a refusal name the VMs and why (it costs a look at every host).
    fn evacuate(
        &mut self,
        index: usize,
        views: &[VmView],
        last_first: &[usize],
        explain: bool,
    ) -> Result<Vec<Move>, Vec<Stuck>> {
        // `auto` spends its allowance on the largest VMs: parked on a waiting host, each leaves
        // the most room on the hosts that stay for the VMs of other hosts of the wave.
        let park = std::cell::Cell::new(if self.cap > 1 { self.allowance_left } else { 0 });
        let choose = |ask: &Ask<'_>| {
            if ask.vm.memory_mb >= self.park_from_mb && park.get() > 0 {
                if let Some(h) = last_first.iter().copied().find(|&h| admits(ask, h)) {
                    park.set(park.get() - 1);
                    return Some(h);
                }
            }
            place(ask).or_else(|| last_first.iter().copied().find(|&h| admits(ask, h)))
        };
        let run = |vms: &[VmView], cluster: &mut ClusterView| match explain {
            true => evacuate_by(index, vms, cluster, choose),
            false => try_evacuate_by(index, vms, cluster, choose).ok_or_else(Vec::new),
        };
        let split = usize::from(views.first().is_some_and(|vm| vm.hosted_engine));
        let mut planned = run(&views[..split], &mut self.cluster)?;
        match run(&views[split..], &mut self.cluster) {
            Ok(rest) => {
                planned.extend(rest.into_iter().map(|m| Move {
                    vm: m.vm + split,
                    to: m.to,
                }));
                Ok(planned)
            }
            Err(stuck) => {
                for p in &planned {
                    self.cluster.release(p.to, views[p.vm].memory_mb);
                }
                Err(stuck)
            }
        }
    }

    /// While the engine VM's host waits, room for the engine VM is kept on a hosted-engine host
    /// it may go to (one not upgraded, or upgraded already), so the VMs of earlier waves do
    /// not fill every such host before the engine VM's turn (the last).
    fn keep_engine_room(&mut self, host: Option<usize>) {
        if self.kept_for_engine.is_some() {
            return;
        }
        let (Some(vm), Some(from)) = (self.engine_vm, self.engine_host) else {
            return;
        };
        if !self.waiting[from] {
            return;
        }
        let view = self.vms[vm].view.clone();
        let to = host.or_else(|| place(&Ask::new(&view, Some(from), &self.cluster)));
        if let Some(to) = to {
            if evacuate_by(from, std::slice::from_ref(&view), &mut self.cluster, |_| {
                Some(to)
            })
            .is_ok()
            {
                self.kept_for_engine = Some(to);
            }
        }
    }

    /// Gives back the room kept for the engine VM when its host is about to leave; returns
    /// where it was, to keep it there again if the host does not join.
    fn unkeep_engine_room(&mut self, index: usize) -> Option<usize> {
        if Some(index) != self.engine_host {
            return None;
        }
        let (kept, vm) = (self.kept_for_engine.take()?, self.engine_vm?);
        self.cluster.release(kept, self.vms[vm].view.memory_mb);
        Some(kept)
    }

    /// The wave happens: its VMs move, its hosts come back upgraded and empty (but for their
    /// pinned VMs, started again where they were) in the status they had, and take VMs.
    fn commit(&mut self, wave: Forming) -> Wave {
        for m in &wave.migrations {
            self.on_host[m.from].retain(|&vm| vm != m.vm);
            self.on_host[m.to].push(m.vm);
            self.cluster.release(m.from, self.vms[m.vm].view.memory_mb);
        }
        let mut seconds: f64 = 0.0;
        for &position in &wave.members {
            let candidate = &self.remaining[position];
            let index = candidate.index;
            self.cluster.set_os(index, candidate.os_after.clone());
            let after = match self.before[index] {
                HostStatus::Maintenance => HostStatus::Maintenance,
                _ => HostStatus::Up,
            };
            self.cluster.set_status(index, after);
            self.cluster.hold(index, false);
            self.waiting[index] = false;
            let sizes: Vec<u64> = wave
                .migrations
                .iter()
                .filter(|m| m.from == index)
                .map(|m| self.vms[m.vm].view.memory_mb)
                .collect();
            seconds = seconds.max(host_seconds(candidate, sizes, &self.timing));
        }
        let hosts: Vec<usize> = wave
            .members
            .iter()
            .map(|&p| self.remaining[p].index)
            .collect();
        self.remaining.retain(|c| !hosts.contains(&c.index));
        self.keep_engine_room(None);
        Wave {
            hosts,
            migrations: wave.migrations,
            stopped: wave.stopped,
            seconds,
            repeats: wave.repeats,
        }
    }

    /// The plan of these waves.
    pub(super) fn finish(self, strategy: Strategy, waves: Vec<Wave>) -> Plan {
        let migrations = waves.iter().map(|w| w.migrations.len()).sum();
        let repeats = waves.iter().map(|w| w.repeats).sum();
        let moved_mb: u64 = waves
            .iter()
            .flat_map(|w| &w.migrations)
            .map(|m| self.vms[m.vm].view.memory_mb)
            .sum();
        Plan {
            strategy,
            seconds: waves.iter().map(|w| w.seconds).sum(),
            waves,
            blockers: self.blockers,
            migrations,
            repeats,
            gib: moved_mb as f64 / 1024.0,
            repeat_allowance: self.allowance,
        }
    }
}

/// Seconds from a host's wave start until it is back: its VMs leave, it enters maintenance,
/// installs, reboots (if asked) and is activated.
pub(super) fn host_seconds(candidate: &Candidate, sizes: Vec<u64>, timing: &Timing) -> f64 {
    let reboot = if timing.reboot {
        candidate.reboot_seconds
    } else {
        0.0
    };
    migration_seconds(sizes, timing)
        + 2.0 * timing.state_change_seconds
        + candidate.install_seconds
        + reboot
}
