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
}

/// The cluster's rules.
#[derive(Clone, Copy, Debug)]
pub struct ClusterRules {
    pub policy: SchedulingPolicy,
    pub memory_headroom_percent: u32,
}

impl HostView {
    /// Memory a host may hand out: all of it but the cluster's headroom.
    fn usable_mb(&self, headroom_percent: u32) -> u64 {
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
/// scheduler scans. Planning a move books the VM's memory on its target, so one `Cluster` can
/// plan many moves in a row.
#[derive(Clone, Debug)]
pub struct Cluster {
    hosts: Vec<HostView>,
    slots: Vec<Slot>,
    rules: ClusterRules,
    /// Each host's position when the hosts are sorted by name (ties go to the first name).
    name_rank: Vec<u32>,
    index: FreeIndex,
}

impl Cluster {
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
                Cluster::slot(host, rules, family)
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
        Cluster {
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
        let slot = Cluster::slot(host, self.rules, self.slots[index].family);
        self.reslot(index, slot);
    }

    /// Plans a host out of service (`Maintenance`) or back `Up`.
    pub fn set_status(&mut self, index: usize, status: HostStatus) {
        self.hosts[index].status = status;
        let mut slot = self.slots[index];
        slot.up = status == HostStatus::Up;
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
        let slot = Cluster::slot(&self.hosts[index], self.rules, family);
        self.reslot(index, slot);
    }
}

/// One placement question: this VM, leaving one of the cluster's hosts (or starting).
pub struct Ask<'a> {
    pub vm: &'a VmView,
    /// The index of the host the VM leaves; `None` when it starts.
    pub from: Option<usize>,
    cluster: &'a Cluster,
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
    pub fn new(vm: &'a VmView, from: Option<usize>, cluster: &'a Cluster) -> Self {
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
    let from = ask.from.unwrap_or(usize::MAX);
    let mut best: Option<(i64, u32, usize)> = None;
    for entries in cluster.index.groups(ask.os_floor) {
        for &(Reverse(free_mb), rank, index) in entries {
            if free_mb < need_mb {
                break;
            }
            let slot = &cluster.slots[index];
            if index == from || slot.cores < cpus {
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
        if !slot.up || index == from || slot.free_mb < need_mb || slot.cores < cpus {
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
pub struct Planned {
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
    cluster: &mut Cluster,
) -> Result<Vec<Planned>, Vec<Stuck>> {
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
    cluster: &mut Cluster,
    mut choose: impl FnMut(&Ask<'_>) -> Option<usize>,
) -> Result<Vec<Planned>, Vec<Stuck>> {
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
            choose(&ask).ok_or_else(|| why_no_host(&ask))
        };
        match target {
            Ok(to) => {
                cluster.book(to, vms[vm].memory_mb);
                moves.push(Planned { vm, to });
            }
            Err(reason) => stuck.push(Stuck {
                vm: vms[vm].name.clone(),
                reason,
            }),
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
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn host(name: &str, status: HostStatus, memory_mb: u64, used_mb: u64) -> HostView {
        host_os(name, "RHEL 8.9", status, memory_mb, used_mb)
    }

    fn host_os(name: &str, os: &str, status: HostStatus, memory_mb: u64, used_mb: u64) -> HostView {
        HostView {
            id: name.into(),
            name: name.into(),
            status,
            os: HostOs::from(os),
            cpu_cores: 16,
            memory_mb,
            used_mb,
        }
    }

    fn vm(name: &str, memory_mb: u64, migration: MigrationMode) -> VmView {
        VmView {
            id: name.into(),
            name: name.into(),
            memory_mb,
            cpus: 2,
            migration,
            highly_available: false,
        }
    }

    fn rules(policy: SchedulingPolicy, memory_headroom_percent: u32) -> ClusterRules {
        ClusterRules {
            policy,
            memory_headroom_percent,
        }
    }

    const UPGRADE: ClusterRules = ClusterRules {
        policy: SchedulingPolicy::InClusterUpgrade,
        memory_headroom_percent: 0,
    };

    const SPREAD: ClusterRules = ClusterRules {
        policy: SchedulingPolicy::EvenlyDistributed,
        memory_headroom_percent: 10,
    };

    /// The one verdict of `filter` for `vm` on `hosts[target]`, leaving `from` (or starting).
    fn verdict(
        filter: Filter,
        vm: &VmView,
        from: Option<usize>,
        hosts: &[HostView],
        target: usize,
    ) -> Result<(), String> {
        let cluster = Cluster::new(hosts.to_vec(), UPGRADE);
        let ask = Ask::new(vm, from, &cluster);
        filter
            .check_vm(vm, from.is_some())
            .and_then(|()| filter.check_host(&ask, target))
            .map_err(|why| why.to_string())
    }

    fn names(moves: &[Planned], vms: &[VmView], hosts: &[HostView]) -> Vec<(String, String)> {
        moves
            .iter()
            .map(|p| (vms[p.vm].name.clone(), hosts[p.to].name.clone()))
            .collect()
    }

    #[test]
    fn status_filter_wants_another_host_that_is_up() {
        let hosts = [
            host("src", HostStatus::Up, 1000, 0),
            host("m", HostStatus::Maintenance, 1000, 0),
            host("ok", HostStatus::Up, 1000, 0),
        ];
        let v = vm("v", 1, MigrationMode::Migratable);
        assert_eq!(
            verdict(Filter::Status, &v, Some(0), &hosts, 0).unwrap_err(),
            "it is the host the VM leaves"
        );
        assert_eq!(
            verdict(Filter::Status, &v, Some(0), &hosts, 1).unwrap_err(),
            "it is Maintenance"
        );
        assert!(verdict(Filter::Status, &v, Some(0), &hosts, 2).is_ok());
        assert!(verdict(Filter::Status, &v, None, &hosts, 0).is_ok());
    }

    #[test]
    fn memory_filter_keeps_the_headroom_to_the_mib() {
        let cluster = Cluster::new(
            vec![host("h", HostStatus::Up, 1000, 500)],
            rules(SchedulingPolicy::None, 10),
        );
        let fits = vm("fits", 400, MigrationMode::Migratable);
        let over = vm("over", 401, MigrationMode::Migratable);
        let ask = Ask::new(&fits, None, &cluster);
        assert!(Filter::Memory.check_host(&ask, 0).is_ok());
        let ask = Ask::new(&over, None, &cluster);
        assert_eq!(
            Filter::Memory.check_host(&ask, 0).unwrap_err().to_string(),
            "it has 400 MiB free after the cluster's 10% headroom, the VM needs 401 MiB"
        );
    }

    #[test]
    fn cpu_filter_counts_cores() {
        let hosts = [host("h", HostStatus::Up, 1000, 0)];
        let mut wide = vm("wide", 1, MigrationMode::Migratable);
        wide.cpus = 16;
        assert!(verdict(Filter::Cpu, &wide, None, &hosts, 0).is_ok());
        wide.cpus = 17;
        assert_eq!(
            verdict(Filter::Cpu, &wide, None, &hosts, 0).unwrap_err(),
            "it has 16 CPU cores, the VM needs 17"
        );
    }

    #[test]
    fn migration_filter_keeps_pinned_vms_home_but_lets_them_start() {
        let hosts = [
            host("a", HostStatus::Up, 1000, 0),
            host("b", HostStatus::Up, 1000, 0),
        ];
        let pinned = vm("p", 1, MigrationMode::Pinned);
        assert!(verdict(Filter::Migration, &pinned, Some(0), &hosts, 1).is_err());
        assert!(verdict(Filter::Migration, &pinned, None, &hosts, 1).is_ok());
        let by_hand = vm("u", 1, MigrationMode::UserMigratable);
        assert!(verdict(Filter::Migration, &by_hand, Some(0), &hosts, 1).is_ok());
    }

    #[test]
    fn cluster_maintenance_starts_only_highly_available_vms_and_still_migrates() {
        let cluster = Cluster::new(
            vec![
                host("a", HostStatus::Up, 1000, 0),
                host("b", HostStatus::Up, 1000, 0),
            ],
            rules(SchedulingPolicy::ClusterMaintenance, 0),
        );
        let mut plain = vm("plain", 1, MigrationMode::Migratable);
        let ask = Ask::new(&plain, None, &cluster);
        assert_eq!(place(&ask), None);
        assert_eq!(
            why_no_host(&ask),
            "the cluster is in maintenance: only highly available VMs start"
        );
        assert!(place(&Ask::new(&plain, Some(0), &cluster)).is_some());
        plain.highly_available = true;
        assert!(place(&Ask::new(&plain, None, &cluster)).is_some());
    }

    #[test]
    fn in_cluster_upgrade_filter_follows_the_seed_example() {
        // A VM on Fedora 22 may go to 22 or 23, not 21; once on 23, only 23; down, anywhere.
        let hosts = [
            host_os("f21", "Fedora 21", HostStatus::Up, 1000, 0),
            host_os("f22", "Fedora 22", HostStatus::Up, 1000, 0),
            host_os("f23", "Fedora 23", HostStatus::Up, 1000, 0),
            host_os("el", "RHEL 9.4", HostStatus::Up, 1000, 0),
            host_os("odd", "mystery", HostStatus::Up, 1000, 0),
        ];
        let v = vm("v", 1, MigrationMode::Migratable);
        let allowed = |from: Option<usize>| -> Vec<&str> {
            (0..hosts.len())
                .filter(|&t| verdict(Filter::InClusterUpgrade, &v, from, &hosts, t).is_ok())
                .map(|t| hosts[t].name.as_str())
                .collect()
        };
        assert_eq!(allowed(Some(1)), ["f22", "f23"]);
        assert_eq!(allowed(Some(2)), ["f23"]);
        assert_eq!(allowed(None), ["f21", "f22", "f23", "el", "odd"]);
        assert_eq!(
            verdict(Filter::InClusterUpgrade, &v, Some(1), &hosts, 0).unwrap_err(),
            "its OS Fedora 21 is older than Fedora 22"
        );
        assert_eq!(
            verdict(Filter::InClusterUpgrade, &v, Some(1), &hosts, 3).unwrap_err(),
            "it runs RHEL, not Fedora"
        );
        assert_eq!(
            verdict(Filter::InClusterUpgrade, &v, Some(1), &hosts, 4).unwrap_err(),
            "OS \"mystery\" has no version"
        );
    }

    #[test]
    fn weights_rank_emptiest_fullest_and_newest() {
        let hosts = [
            host_os("src", "RHEL 8.9", HostStatus::Up, 1000, 0),
            host_os("old", "RHEL 8.8", HostStatus::Up, 1000, 0),
            host_os("same", "RHEL 8.9", HostStatus::Up, 1000, 300),
            host_os("new", "RHEL 9.4", HostStatus::Up, 1000, 600),
        ];
        let v = vm("v", 100, MigrationMode::Migratable);
        let cluster = Cluster::new(hosts.to_vec(), UPGRADE);
        let ask = Ask::new(&v, Some(0), &cluster);
        let penalty = |w: Weight, i: usize| w.penalty(&ask, &cluster.slots[i]);
        assert_eq!(penalty(Weight::EvenDistribution, 2), -600);
        assert_eq!(penalty(Weight::PowerSaving, 3), 300);
        assert_eq!(penalty(Weight::InClusterUpgrade, 3), 0);
        assert_eq!(penalty(Weight::InClusterUpgrade, 2), units::OS_TIER);
        assert_eq!(penalty(Weight::InClusterUpgrade, 1), 2 * units::OS_TIER);
    }

    #[test]
    fn each_policy_picks_by_its_weights() {
        let hosts = [
            host_os("src", "RHEL 8.9", HostStatus::Up, 1000, 100),
            host_os("b-full", "RHEL 8.9", HostStatus::Up, 1000, 800),
            host_os("a-empty", "RHEL 8.9", HostStatus::Up, 1000, 0),
            host_os("c-new", "RHEL 9.4", HostStatus::Up, 1000, 700),
        ];
        let v = vm("v", 100, MigrationMode::Migratable);
        let pick = |policy| {
            let cluster = Cluster::new(hosts.to_vec(), rules(policy, 0));
            place(&Ask::new(&v, Some(0), &cluster)).map(|i| hosts[i].name.as_str())
        };
        assert_eq!(pick(SchedulingPolicy::None), Some("a-empty"), "by name");
        assert_eq!(pick(SchedulingPolicy::EvenlyDistributed), Some("a-empty"));
        assert_eq!(pick(SchedulingPolicy::ClusterMaintenance), Some("a-empty"));
        assert_eq!(pick(SchedulingPolicy::PowerSaving), Some("b-full"));
        assert_eq!(pick(SchedulingPolicy::InClusterUpgrade), Some("c-new"));
    }

    #[test]
    fn a_start_under_in_cluster_upgrade_prefers_the_newest_hosts() {
        let hosts = [
            host_os("old", "RHEL 8.9", HostStatus::Up, 1000, 0),
            host_os("new", "RHEL 9.4", HostStatus::Up, 1000, 900),
        ];
        let v = vm("v", 50, MigrationMode::Migratable);
        let cluster = Cluster::new(hosts.to_vec(), UPGRADE);
        assert_eq!(place(&Ask::new(&v, None, &cluster)), Some(1));
    }

    #[test]
    fn explain_names_the_rejecting_filter_or_the_penalties_of_every_host() {
        let hosts = [
            host_os("src", "RHEL 8.9", HostStatus::Up, 1000, 100),
            host_os("down", "RHEL 9.4", HostStatus::Down, 1000, 0),
            host_os("old", "RHEL 7.9", HostStatus::Up, 1000, 0),
            host_os("new", "RHEL 9.4", HostStatus::Up, 1000, 0),
        ];
        let v = vm("v", 100, MigrationMode::Migratable);
        let cluster = Cluster::new(hosts.to_vec(), UPGRADE);
        let ask = Ask::new(&v, Some(0), &cluster);
        let (verdicts, chosen) = explain(&ask);
        assert_eq!(chosen, Some(3));
        let filters: Vec<Option<Filter>> = verdicts
            .iter()
            .map(|v| match v {
                Verdict::Rejected { filter, .. } => Some(*filter),
                Verdict::Scored { .. } => None,
            })
            .collect();
        assert_eq!(
            filters,
            [
                Some(Filter::Status),
                Some(Filter::Status),
                Some(Filter::InClusterUpgrade),
                None
            ]
        );
        let alone = Cluster::new(vec![host("only", HostStatus::Up, 1000, 0)], SPREAD);
        let v = vm("v", 1, MigrationMode::Migratable);
        assert_eq!(
            why_no_host(&Ask::new(&v, Some(0), &alone)),
            "the cluster has no other host"
        );
        assert_eq!(
            verdicts[3],
            Verdict::Scored {
                total: -900,
                weights: vec![
                    (Weight::InClusterUpgrade, 0),
                    (Weight::EvenDistribution, -900)
                ],
            }
        );
    }

    #[test]
    fn in_cluster_upgrade_never_moves_a_vm_to_an_older_os_and_prefers_newer() {
        let hosts = [
            host_os("src", "Fedora 22", HostStatus::Up, 1000, 100),
            host_os("f21", "Fedora 21", HostStatus::Up, 1000, 0),
            host_os("f22", "Fedora 22", HostStatus::Up, 1000, 0),
            host_os("f23", "Fedora 23", HostStatus::Up, 1000, 900),
        ];
        let vms = [vm("v", 100, MigrationMode::Migratable)];
        let moves = evacuate(0, &vms, &mut Cluster::new(hosts.to_vec(), UPGRADE)).unwrap();
        assert_eq!(
            hosts[moves[0].to].name, "f23",
            "newer wins even when fuller"
        );
        let hosts = [
            host_os("src", "Fedora 23", HostStatus::Up, 1000, 100),
            host_os("f22", "Fedora 22", HostStatus::Up, 1000, 0),
        ];
        let stuck = evacuate(0, &vms, &mut Cluster::new(hosts.to_vec(), UPGRADE)).unwrap_err();
        assert_eq!(
            stuck[0].reason,
            "no host fits (f22: its OS Fedora 22 is older than Fedora 23)"
        );
    }

    #[test]
    fn vms_go_to_up_hosts_with_room_emptiest_first() {
        let hosts = [
            host("src", HostStatus::Up, 1000, 600),
            host("a", HostStatus::Up, 1000, 500),
            host("b", HostStatus::Up, 1000, 100),
            host("m", HostStatus::Maintenance, 1000, 0),
        ];
        let vms = [
            vm("big", 400, MigrationMode::Migratable),
            vm("small", 200, MigrationMode::UserMigratable),
        ];
        let mut cluster = Cluster::new(hosts.to_vec(), SPREAD);
        let moves = evacuate(0, &vms, &mut cluster).unwrap();
        // big (400) to b (free 800); then small: a has 400 free, b 400 free -> tie by name: a.
        assert_eq!(
            names(&moves, &vms, &hosts),
            [("big".into(), "b".into()), ("small".into(), "a".into())]
        );
        let booked = cluster.hosts();
        assert_eq!((booked[1].used_mb, booked[2].used_mb), (700, 500));
        assert_eq!(
            (cluster.slots[1].free_mb, cluster.slots[2].free_mb),
            (200, 400)
        );
    }

    #[test]
    fn headroom_is_kept_and_stuck_vms_are_named() {
        let hosts = [
            host("src", HostStatus::Up, 1000, 950),
            host("a", HostStatus::Up, 1000, 500),
        ];
        // a may use 900 MiB: 400 free. 450 does not fit; the pinned VM never moves.
        let vms = [
            vm("fits", 400, MigrationMode::Migratable),
            vm("too-big", 450, MigrationMode::Migratable),
            vm("pin", 100, MigrationMode::Pinned),
        ];
        let stuck = evacuate(0, &vms, &mut Cluster::new(hosts.to_vec(), SPREAD)).unwrap_err();
        let stuck_names: Vec<&str> = stuck.iter().map(|s| s.vm.as_str()).collect();
        // Nothing stays booked after a refusal: "fits" did not move either.
        let mut cluster = Cluster::new(hosts.to_vec(), SPREAD);
        assert!(evacuate(0, &vms, &mut cluster).is_err());
        assert_eq!(cluster.hosts()[1].used_mb, 500);
        assert_eq!(stuck_names, ["too-big", "pin"]);
        assert!(
            stuck[0].reason.contains("a: it has 400 MiB free"),
            "{:?}",
            stuck[0]
        );
        assert_eq!(
            stuck[1].reason,
            "the VM is pinned to its host (migration = pinned)"
        );
    }

    #[test]
    fn long_reasons_name_three_hosts_and_count_the_rest() {
        let mut hosts: Vec<HostView> = (0..6)
            .map(|i| host(&format!("h{i}"), HostStatus::Maintenance, 1000, 0))
            .collect();
        hosts[0].status = HostStatus::Up;
        let stuck = evacuate(
            0,
            &[vm("v", 1, MigrationMode::Migratable)],
            &mut Cluster::new(hosts, SPREAD),
        )
        .unwrap_err();
        assert_eq!(
            stuck[0].reason,
            "no host fits (h1, h2, h3 and 2 more: it is Maintenance)"
        );
    }

    /// Random clusters: OS majors 7–9 (and the odd unparsable OS), statuses, memory in use,
    /// cores, and VMs of random size, width, mode and HA.
    fn random_cluster() -> impl Strategy<Value = (Vec<HostView>, Vec<VmView>, u32)> {
        let hosts = proptest::collection::vec((7u64..11, 0u64..900, any::<bool>(), 1u32..8), 2..10);
        let vms = proptest::collection::vec((1u64..300, 1u32..8, 0usize..3, any::<bool>()), 0..12);
        (hosts, vms, 0u32..30).prop_map(|(hosts, vms, headroom)| {
            let hosts = hosts
                .into_iter()
                .enumerate()
                .map(|(i, (major, used, up, cores))| {
                    let os = if major == 10 {
                        "unknown".to_string()
                    } else {
                        format!("RHEL {major}.2")
                    };
                    let status = if up {
                        HostStatus::Up
                    } else {
                        HostStatus::Maintenance
                    };
                    let mut view = host_os(&format!("h{i}"), &os, status, 1000, used);
                    view.cpu_cores = cores;
                    view
                })
                .collect();
            let modes = [
                MigrationMode::Migratable,
                MigrationMode::UserMigratable,
                MigrationMode::Pinned,
            ];
            let vms = vms
                .into_iter()
                .enumerate()
                .map(|(i, (memory, cpus, mode, ha))| VmView {
                    cpus,
                    highly_available: ha,
                    ..vm(&format!("v{i}"), memory, modes[mode])
                })
                .collect();
            (hosts, vms, headroom)
        })
    }

    proptest! {
        #[test]
        fn in_cluster_upgrade_never_downgrades_and_never_overfills(
            (hosts, vms, headroom) in random_cluster(),
        ) {
            let mut cluster = Cluster::new(hosts.clone(), rules(SchedulingPolicy::InClusterUpgrade, headroom));
            if let Ok(moves) = evacuate(0, &vms, &mut cluster) {
                prop_assert_eq!(moves.len(), vms.len());
                let major = |h: &HostView| h.os.parsed.as_ref().map(|os| os.major).ok();
                for planned in &moves {
                    prop_assert!(planned.to != 0);
                    prop_assert_eq!(hosts[planned.to].status, HostStatus::Up);
                    prop_assert!(major(&hosts[planned.to]).is_some());
                    prop_assert!(major(&hosts[planned.to]) >= major(&hosts[0]));
                    prop_assert!(hosts[planned.to].cpu_cores >= vms[planned.vm].cpus);
                }
                for (index, target) in hosts.iter().enumerate() {
                    let added: u64 = moves.iter().filter(|p| p.to == index).map(|p| vms[p.vm].memory_mb).sum();
                    prop_assert!(added == 0 || target.used_mb + added <= target.usable_mb(headroom));
                    prop_assert_eq!(cluster.hosts()[index].used_mb, target.used_mb + added);
                }
            }
        }

        /// `place` (the fused fast loop) picks exactly what judging every host unit by unit
        /// picks, for every policy, migrating or starting.
        #[test]
        fn the_fast_loop_agrees_with_the_units(
            (hosts, vms, headroom) in random_cluster(),
            policy in 0usize..5,
            starting in any::<bool>(),
        ) {
            let cluster = Cluster::new(hosts, rules(SchedulingPolicy::ALL[policy], headroom));
            for vm in &vms {
                let ask = Ask::new(vm, (!starting).then_some(0), &cluster);
                let slow = (0..cluster.hosts().len())
                    .filter_map(|i| ask.judge(i).ok().map(|score| (score, &cluster.hosts()[i].name, i)))
                    .min()
                    .map(|(_, _, i)| i);
                prop_assert_eq!(place(&ask), slow);
            }
        }
    }
}
