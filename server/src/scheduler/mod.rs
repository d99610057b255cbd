//! Placement: where a VM may go (filters, hard) and where it should go (weights, soft), as
//! plain data in and plain data out. A cluster's scheduling policy is a list of policy units
//! (`policy`); the units themselves live in `units`. The same code answers "where does this VM
//! go" (`place`), "why there" (`explain`) and "where do all of this host's VMs go"
//! (`evacuate`), so what the admin reads is what the scheduler did.

mod index;
pub mod policy;
pub mod units;

use std::cmp::Reverse;
use std::collections::BTreeMap;

use app::api::{HostStatus, MigrationMode};

use crate::domain::os::{parse_os, Os};
use crate::domain::SchedulingPolicy;
use index::FreeIndex;
pub use policy::{units, PolicyUnits};
pub use units::{Filter, Rejection, Weight};

/// A host's OS as reported, and as parsed once when the view is built.
#[derive(Clone, Debug, PartialEq)]
pub struct HostOs {
    pub text: String,
    pub parsed: Result<Os, String>,
}

impl From<&str> for HostOs {
    fn from(text: &str) -> Self {
        HostOs {
            text: text.to_string(),
            parsed: parse_os(text),
        }
    }
}

/// A host as placement sees it.
#[derive(Clone, Debug, PartialEq)]
pub struct HostView {
    pub id: String,
    pub name: String,
    pub status: HostStatus,
    pub os: HostOs,
    pub cpu_cores: u32,
    pub memory_mb: u64,
    /// Memory of the VMs running there (and of those already sent there by this plan).
    pub used_mb: u64,
    /// The hosted-engine HA score the engine VM may count on here (0 for an agent that is not
    /// active or in local maintenance); `None` for a host without hosted engine.
    pub ha_score: Option<u32>,
}

/// A VM as placement sees it.
#[derive(Clone, Debug, PartialEq)]
pub struct VmView {
    pub id: String,
    pub name: String,
    pub memory_mb: u64,
    pub cpus: u32,
    pub migration: MigrationMode,
    pub highly_available: bool,
    /// The engine's own VM: it runs only on hosted-engine hosts with a positive HA score.
    pub hosted_engine: bool,
}

/// The cluster's rules.
#[derive(Clone, Copy, Debug)]
pub struct ClusterRules {
    pub policy: SchedulingPolicy,
    pub memory_headroom_percent: u32,
}

impl HostView {
    /// Memory a host may hand out: all of it but the cluster's headroom.
    pub fn usable_mb(&self, headroom_percent: u32) -> u64 {
        self.memory_mb * u64::from(100 - headroom_percent.min(100)) / 100
    }
}

/// The family index of a host whose OS does not parse.
const UNKNOWN_FAMILY: u32 = u32::MAX;

/// What the inner loop reads of a host, small and flat so a 5,000-host cluster stays in
/// cache: placement is a scan over every host, and its speed is this struct's size.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Slot {
    up: bool,
    /// Held back by a planner (see [`ClusterView::hold`]): `place` passes it by.
    held: bool,
    /// A hosted-engine host with a positive HA score: the engine VM may run here.
    ha: bool,
    cores: u32,
    /// MiB the host can still hand out once the cluster's headroom is kept back.
    free_mb: u64,
    /// The OS family as a number within this cluster, or `UNKNOWN_FAMILY`.
    family: u32,
    /// `major << 32 | minor`: OS versions compare as integers.
    rank: u64,
}

impl Slot {
    fn major_floor(self) -> u64 {
        self.rank & !u64::from(u32::MAX)
    }
}

/// A cluster as placement sees it: its hosts (by name), its rules, and the compact copy the
/// scheduler scans. Planning a move books the VM's memory on its target, so one `ClusterView` can
/// plan many moves in a row.
#[derive(Clone, Debug)]
pub struct ClusterView {
    hosts: Vec<HostView>,
    slots: Vec<Slot>,
    rules: ClusterRules,
    /// Each host's position when the hosts are sorted by name (ties go to the first name).
    name_rank: Vec<u32>,
    index: FreeIndex,
}

impl ClusterView {
    pub fn new(hosts: Vec<HostView>, rules: ClusterRules) -> Self {
        // Family names become small numbers, so the inner loop compares integers.
        let mut families: Vec<&str> = Vec::new();
        let slots: Vec<Slot> = hosts
            .iter()
            .map(|host| {
                let family = match &host.os.parsed {
                    Ok(os) => {
                        let family = families
                            .iter()
                            .position(|f| *f == os.family)
                            .unwrap_or_else(|| {
                                families.push(&os.family);
                                families.len() - 1
                            });
                        u32::try_from(family).unwrap_or(UNKNOWN_FAMILY)
                    }
                    Err(_) => UNKNOWN_FAMILY,
                };
                ClusterView::slot(host, rules, family)
            })
            .collect();
        let mut by_name: Vec<usize> = (0..hosts.len()).collect();
        by_name.sort_by(|&a, &b| hosts[a].name.cmp(&hosts[b].name));
        let mut name_rank = vec![0; hosts.len()];
        for (rank, &host) in by_name.iter().enumerate() {
            name_rank[host] = u32::try_from(rank).unwrap_or(u32::MAX);
        }
        let mut index = FreeIndex::default();
        for (i, slot) in slots.iter().enumerate() {
            index.insert(i, slot, name_rank[i]);
        }
        ClusterView {
            hosts,
            slots,
            rules,
            name_rank,
            index,
        }
    }

    /// Replaces host `index`'s slot, keeping the ordered view in step.
    fn reslot(&mut self, index: usize, slot: Slot) {
        let rank = self.name_rank[index];
        self.index.remove(index, &self.slots[index], rank);
        self.slots[index] = slot;
        self.index.insert(index, &slot, rank);
    }

    fn slot(host: &HostView, rules: ClusterRules, family: u32) -> Slot {
        let rank = host.os.parsed.as_ref().map_or(0, |os| {
            os.major.min(u64::from(u32::MAX)) << 32 | os.minor.min(u64::from(u32::MAX))
        });
        Slot {
            up: host.status == HostStatus::Up,
            held: false,
            ha: host.ha_score.is_some_and(|score| score > 0),
            cores: host.cpu_cores,
            free_mb: host
                .usable_mb(rules.memory_headroom_percent)
                .saturating_sub(host.used_mb),
            family,
            rank,
        }
    }

    pub fn hosts(&self) -> &[HostView] {
        &self.hosts
    }

    pub fn rules(&self) -> ClusterRules {
        self.rules
    }

    /// Books a planned VM's memory on host `index`.
    fn book(&mut self, index: usize, memory_mb: u64) {
        self.hosts[index].used_mb += memory_mb;
        let mut slot = self.slots[index];
        slot.free_mb = slot.free_mb.saturating_sub(memory_mb);
        self.reslot(index, slot);
    }

    /// Frees what a VM leaving host `index` used there.
    pub fn release(&mut self, index: usize, memory_mb: u64) {
        let host = &mut self.hosts[index];
        host.used_mb = host.used_mb.saturating_sub(memory_mb);
        let slot = Slot {
            held: self.slots[index].held,
            ..ClusterView::slot(host, self.rules, self.slots[index].family)
        };
        self.reslot(index, slot);
    }

    /// Plans a host out of service (`Maintenance`) or back `Up`.
    pub fn set_status(&mut self, index: usize, status: HostStatus) {
        self.hosts[index].status = status;
        let mut slot = self.slots[index];
        slot.up = status == HostStatus::Up;
        self.reslot(index, slot);
    }

    /// Holds host `index` back from [`place`] (or lets it take VMs again): a planner keeps the
    /// hosts still waiting for their own upgrade as a last resort, since a VM sent there
    /// moves again. The filters (`admits`, `explain`) still judge a held host as it is.
    pub fn hold(&mut self, index: usize, held: bool) {
        let mut slot = self.slots[index];
        slot.held = held;
        self.reslot(index, slot);
    }

    /// Plans a host's OS after its upgrade.
    pub fn set_os(&mut self, index: usize, os: HostOs) {
        let family = match &os.parsed {
            Ok(parsed) => self
                .hosts
                .iter()
                .zip(&self.slots)
                .find(|(h, _)| {
                    h.os.parsed
                        .as_ref()
                        .is_ok_and(|o| o.family == parsed.family)
                })
                .map_or(UNKNOWN_FAMILY - 1, |(_, slot)| slot.family),
            Err(_) => UNKNOWN_FAMILY,
        };
        self.hosts[index].os = os;
        let slot = Slot {
            held: self.slots[index].held,
            ..ClusterView::slot(&self.hosts[index], self.rules, family)
        };
        self.reslot(index, slot);
    }
}

/// One placement question: this VM, leaving one of the cluster's hosts (or starting).
pub struct Ask<'a> {
    pub vm: &'a VmView,
    /// The index of the host the VM leaves; `None` when it starts.
    pub from: Option<usize>,
    cluster: &'a ClusterView,
    units: &'static PolicyUnits,
    /// The first verdict of a unit about the VM alone: it is the same for every host.
    vm_verdict: Option<(Filter, Rejection<'a>)>,
    /// Whether the InClusterUpgrade filter applies: then only the source's family, at its
    /// major version or newer (`None` for the family when the source's OS is unknown).
    os_floor: Option<(u32, u64)>,
    /// The OS the InClusterUpgrade weight compares with (family, rank): the source host's,
    /// or for a start the oldest in the cluster (so anything newer is preferred).
    reference: Option<(u32, u64)>,
    /// The memory weights folded into one factor of "MiB free after": -1 for
    /// EvenDistribution, +1 for PowerSaving (the sum when both), 0 without them.
    memory_factor: i64,
    /// Whether the InClusterUpgrade weight applies.
    os_weight: bool,
}

impl<'a> Ask<'a> {
    /// A question about `vm` in `cluster`; `from` is the index of the host it leaves.
    pub fn new(vm: &'a VmView, from: Option<usize>, cluster: &'a ClusterView) -> Self {
        let units = units(cluster.rules.policy);
        let source = from.map(|index| cluster.slots[index]);
        let reference = match source {
            Some(slot) => Some((slot.family, slot.rank)),
            None if units.weights.contains(&Weight::InClusterUpgrade) => cluster
                .slots
                .iter()
                .filter(|s| s.family != UNKNOWN_FAMILY)
                .min_by_key(|s| s.rank)
                .map(|s| (s.family, s.rank)),
            None => None,
        };
        let os_floor = source
            .filter(|_| units.filters.contains(&Filter::InClusterUpgrade))
            .map(|slot| (slot.family, slot.major_floor()));
        let vm_verdict = units
            .filters
            .iter()
            .find_map(|f| f.check_vm(vm, from.is_some()).err().map(|why| (*f, why)));
        let memory_factor = units
            .weights
            .iter()
            .map(|w| match w {
                Weight::EvenDistribution => -1,
                Weight::PowerSaving => 1,
                Weight::InClusterUpgrade => 0,
            })
            .sum();
        Ask {
            vm,
            from,
            cluster,
            units,
            vm_verdict,
            os_floor,
            reference,
            memory_factor,
            os_weight: units.weights.contains(&Weight::InClusterUpgrade),
        }
    }

    /// The first filter host `index` fails, or its total penalty.
    fn judge(&self, index: usize) -> Result<i64, (Filter, Rejection<'a>)> {
        for filter in self.units.filters {
            filter
                .check_vm(self.vm, self.from.is_some())
                .and_then(|()| filter.check_host(self, index))
                .map_err(|why| (*filter, why))?;
        }
        Ok(self.score(&self.cluster.slots[index]))
    }

    fn score(&self, slot: &Slot) -> i64 {
        self.units
            .weights
            .iter()
            .map(|w| w.penalty(self, slot))
            .sum()
    }

    /// `score` of a host that passed the filters (so the VM fits), with the weights folded
    /// into one expression: what the hot loop computes.
    #[inline]
    fn fast_score(&self, slot: &Slot) -> i64 {
        let free_after = (slot.free_mb - self.vm.memory_mb) as i64;
        let os = if self.os_weight {
            Weight::InClusterUpgrade.penalty(self, slot)
        } else {
            0
        };
        self.memory_factor * free_after + os
    }
}

/// The chosen host: the lowest penalty; ties go to the host name, so plans are deterministic.
///
/// This is `judge` over every host, done fast (a property test holds the two equal): with an
/// EvenDistribution weight, through the ordered view of the hosts; otherwise in one pass over
/// the compact slots with the filters fused. It is the scheduler's hot path.
pub fn place(ask: &Ask<'_>) -> Option<usize> {
    if ask.vm_verdict.is_some() || ask.os_floor.is_some_and(|(f, _)| f == UNKNOWN_FAMILY) {
        return None;
    }
    if ask.memory_factor < 0 {
        place_by_index(ask)
    } else {
        place_by_scan(ask)
    }
}

/// The best host of each OS group is its first that has the cores and is not the source
/// (entries come most free first, so once one lacks the memory, the rest of the group does).
fn place_by_index(ask: &Ask<'_>) -> Option<usize> {
    let cluster = ask.cluster;
    let (need_mb, cpus) = (ask.vm.memory_mb, ask.vm.cpus);
    let engine = ask.vm.hosted_engine;
    let from = ask.from.unwrap_or(usize::MAX);
    let mut best: Option<(i64, u32, usize)> = None;
    for entries in cluster.index.groups(ask.os_floor) {
        for &(Reverse(free_mb), rank, index) in entries {
            if free_mb < need_mb {
                break;
            }
            let slot = &cluster.slots[index];
            if index == from || slot.cores < cpus || (engine && !slot.ha) {
                continue;
            }
            let score = ask.fast_score(slot);
            if best.is_none_or(|(low, low_rank, _)| (score, rank) < (low, low_rank)) {
                best = Some((score, rank, index));
            }
            break;
        }
    }
    best.map(|(_, _, index)| index)
}

fn place_by_scan(ask: &Ask<'_>) -> Option<usize> {
    let (hosts, slots) = (&ask.cluster.hosts, &ask.cluster.slots);
    let (need_mb, cpus) = (ask.vm.memory_mb, ask.vm.cpus);
    let from = ask.from.unwrap_or(usize::MAX);
    let (family, floor) = ask.os_floor.unwrap_or((UNKNOWN_FAMILY, 0));
    let check_os = ask.os_floor.is_some();
    let mut best: Option<(i64, usize)> = None;
    for (index, slot) in slots.iter().enumerate() {
        if !slot.up || slot.held || index == from || slot.free_mb < need_mb || slot.cores < cpus {
            continue;
        }
        if ask.vm.hosted_engine && !slot.ha {
            continue;
        }
        if check_os && (slot.family != family || slot.rank < floor) {
            continue;
        }
        let score = ask.fast_score(slot);
        best = match best {
            Some((low, at))
                if low < score || (low == score && hosts[at].name <= hosts[index].name) =>
            {
                Some((low, at))
            }
            _ => Some((score, index)),
        };
    }
    best.map(|(_, index)| index)
}

/// What placement thought of one host.
#[derive(Debug, PartialEq)]
pub enum Verdict<'a> {
    Rejected {
        filter: Filter,
        why: Rejection<'a>,
    },
    Scored {
        total: i64,
        weights: Vec<(Weight, i64)>,
    },
}

/// Every host with the filter that rejected it or its penalties, in the cluster's order, and
/// the host `place` picks.
pub fn explain<'a>(ask: &Ask<'a>) -> (Vec<Verdict<'a>>, Option<usize>) {
    let verdicts = (0..ask.cluster.hosts.len())
        .map(|index| match ask.judge(index) {
            Err((filter, why)) => Verdict::Rejected { filter, why },
            Ok(total) => Verdict::Scored {
                total,
                weights: ask
                    .units
                    .weights
                    .iter()
                    .map(|w| (*w, w.penalty(ask, &ask.cluster.slots[index])))
                    .collect(),
            },
        })
        .collect();
    (verdicts, place(ask))
}

/// Why a VM cannot leave its host.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Stuck {
    pub vm: String,
    pub reason: String,
}

/// A planned live migration: `vms[vm]` goes to `hosts[to]`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Move {
    pub vm: usize,
    pub to: usize,
}

/// How many hosts a reason names before it says "and N more".
const NAMED_HOSTS: usize = 3;

/// Why no host takes the VM, in one sentence: a verdict about the VM once, otherwise each
/// distinct reason with the hosts it applies to (the host the VM leaves goes without saying).
pub fn why_no_host(ask: &Ask<'_>) -> String {
    if let Some((_, why)) = ask.vm_verdict {
        return why.to_string();
    }
    let mut by_reason: BTreeMap<String, Vec<&str>> = BTreeMap::new();
    for (index, host) in ask.cluster.hosts.iter().enumerate() {
        if let Err((_, why)) = ask.judge(index) {
            if why.about_the_vm() {
                return why.to_string();
            }
            if why == Rejection::Source {
                continue;
            }
            by_reason
                .entry(why.to_string())
                .or_default()
                .push(&host.name);
        }
    }
    let reasons: Vec<String> = by_reason
        .into_iter()
        .map(|(reason, names)| {
            let shown = names[..names.len().min(NAMED_HOSTS)].join(", ");
            match names.len().saturating_sub(NAMED_HOSTS) {
                0 => format!("{shown}: {reason}"),
                more => format!("{shown} and {more} more: {reason}"),
            }
        })
        .collect();
    if reasons.is_empty() {
        return "the cluster has no other host".to_string();
    }
    format!("no host fits ({})", reasons.join("; "))
}

/// Targets for every VM leaving host `source`, biggest VMs first (they are the hardest to
/// fit). Each planned VM's memory is booked on its target, so a caller can plan several hosts
/// in a row. All or nothing: either every VM has a target (booked), or nothing is booked and
/// every VM that cannot move is named.
pub fn evacuate(
    source: usize,
    vms: &[VmView],
    cluster: &mut ClusterView,
) -> Result<Vec<Move>, Vec<Stuck>> {
    evacuate_by(source, vms, cluster, place)
}

/// Whether host `index` passes every filter of the policy for this ask.
pub fn admits(ask: &Ask<'_>, index: usize) -> bool {
    ask.judge(index).is_ok()
}

/// [`evacuate`] with each target picked by `choose` (which returns `None` when the VM fits
/// nowhere): for a planner that has its own preference among the hosts the policy admits.
pub fn evacuate_by(
    source: usize,
    vms: &[VmView],
    cluster: &mut ClusterView,
    choose: impl FnMut(&Ask<'_>) -> Option<usize>,
) -> Result<Vec<Move>, Vec<Stuck>> {
    evacuate_with(source, vms, cluster, choose, true)
}

/// [`evacuate_by`] without the reasons: it gives up at the first VM that fits nowhere, and
/// says nothing about it. For a planner that tries many hosts, where a reason costs a look
/// at every host of the cluster.
pub fn try_evacuate_by(
    source: usize,
    vms: &[VmView],
    cluster: &mut ClusterView,
    choose: impl FnMut(&Ask<'_>) -> Option<usize>,
) -> Option<Vec<Move>> {
    evacuate_with(source, vms, cluster, choose, false).ok()
}

fn evacuate_with(
    source: usize,
    vms: &[VmView],
    cluster: &mut ClusterView,
    mut choose: impl FnMut(&Ask<'_>) -> Option<usize>,
    explain: bool,
) -> Result<Vec<Move>, Vec<Stuck>> {
    let mut order: Vec<usize> = (0..vms.len()).collect();
    order.sort_by(|&a, &b| {
        vms[b]
            .memory_mb
            .cmp(&vms[a].memory_mb)
            .then_with(|| vms[a].name.cmp(&vms[b].name))
    });
    let mut moves = Vec::with_capacity(vms.len());
    let mut stuck = Vec::new();
    for vm in order {
        let target = {
            let ask = Ask::new(&vms[vm], Some(source), cluster);
            choose(&ask).ok_or_else(|| explain.then(|| why_no_host(&ask)))
        };
        match target {
            Ok(to) => {
                cluster.book(to, vms[vm].memory_mb);
                moves.push(Move { vm, to });
            }
            Err(reason) => {
                stuck.push(Stuck {
                    vm: vms[vm].name.clone(),
                    reason: reason.unwrap_or_default(),
                });
                if !explain {
                    break;
                }
            }
        }
    }
    if stuck.is_empty() {
        Ok(moves)
    } else {
        for planned in &moves {
            cluster.release(planned.to, vms[planned.vm].memory_mb);
        }
        Err(stuck)
    }
}

#[cfg(test)]
mod tests;
