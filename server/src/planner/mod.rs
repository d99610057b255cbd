//! The rolling-upgrade planner (SPEC §5), pure: given a cluster, the hosts to upgrade and the
//! options, which hosts go down together (waves), where every running VM goes, and what that
//! costs in migrations, GiB and time, with every blocker named.
//!
//! Placement is the scheduler's, under `in_cluster_upgrade` (the policy a run switches to), so
//! VMs prefer hosts already upgraded and never go to an older OS. `sequential` takes one host
//! per wave (oVirt's behaviour). `auto` fills each wave from the queue of waiting hosts,
//! emptiest first (by the share of memory used, in 5 % bands, the largest hosts first within a
//! band), passing by a host that does not fit (so one behind it still joins), up to `max_parallel`, while every VM of the wave finds room outside it with the
//! cluster's headroom, and while the VMs that land on hosts still waiting (and so move twice)
//! stay within [`repeat_allowance`]. Waiting hosts are the last resort of placement: a VM goes
//! to a host that is done or not upgraded at all whenever one has room (hosts already on the
//! newest OS are landing room from the first wave), and only then to the waiting host whose
//! turn comes last; `auto` spends the allowance on the largest VMs first, as each leaves the
//! most room on the hosts that stay. A host that received VMs in a wave cannot join that wave: its new VMs
//! would move twice in a row. A host in maintenance comes back in maintenance, so it is never
//! landing room; a non-operational one comes back up.
//!
//! Why waves and not a pipeline (a host starting as soon as room and `max_parallel` allow):
//! the plan's waves are SPEC's contract (the preview, the picture, the run's steps), a run
//! re-plans between waves from the cluster as it is, and the crash-proven run executes waves.
//! What a pipeline could win is the wait for each wave's slowest host; docs/benchmarks.md
//! gives the waves against the lower bounds of `bounds`, which hold for a pipeline too.
//!
//! Hosted engine (seed 004): while hosted-engine hosts are down, at least one other one with a
//! positive HA score stands by, so a wave never takes them all; the host running the engine's
//! VM goes last, so that VM moves once, to a host already upgraded.
//!
//! `wave` forms the waves; `bounds` and `exhaustive` measure plans (benchmarks and tests).

mod bounds;
mod exhaustive;
mod wave;

pub use bounds::{bounds, Bounds};
pub use exhaustive::best_plan;

use crate::scheduler::{ClusterView, HostOs, VmView};
use wave::Planning;

/// How waves are formed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Strategy {
    Sequential,
    Auto,
}

impl Strategy {
    /// The most hosts in one wave, given the request's `max_parallel`.
    pub fn wave_cap(self, max_parallel: usize) -> usize {
        match self {
            Strategy::Sequential => 1,
            Strategy::Auto => max_parallel.max(1),
        }
    }

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
    /// them moves again later): `None` for a new plan ([`repeat_allowance`] of the VMs that
    /// leave the chosen hosts), what is left of it for a run's re-plan.
    pub repeat_allowance: Option<usize>,
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
    /// The allowance of VMs that may move twice this plan started from.
    pub repeat_allowance: usize,
}

/// One running VM in this many may move twice in an `auto` plan.
const REPEAT_ONE_IN: usize = 20;

/// The VMs an `auto` plan may move twice: one in [`REPEAT_ONE_IN`] of those that leave the
/// hosts to upgrade, so that an `auto` plan makes at most 5 % more migrations than a
/// `sequential` one (which moves each of them at least once).
///
/// Why any: before a host is upgraded, the first wave's VMs can only go to hosts that are
/// still waiting, and they move again when those hosts' turn comes. Why so few: every move
/// is a pause for the VM and a copy of its memory over the network, and admins judge a
/// rolling upgrade by how little it disturbs the VMs. With no allowance, waves could only grow
/// into upgraded room (about 1.3 times per wave at 70 % memory use, one host to begin
/// with); this allowance lets the first wave be a few hosts, which is most of the speed.
pub fn repeat_allowance(moving_vms: usize) -> usize {
    moving_vms / REPEAT_ONE_IN
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
    let strategy = request.strategy;
    let mut planning = Planning::new(request);
    let mut waves = Vec::new();
    while let Some(wave) = planning.next_wave() {
        waves.push(wave);
    }
    planning.finish(strategy, waves)
}

#[cfg(test)]
mod tests;
