//! Placement: where a VM may go (filters, hard) and where it should go (weights, soft), as
//! plain data in and plain data out. A cluster's scheduling policy is a list of policy units
//! (`policy`); the units themselves live in `units`. The same code answers "where does this VM
//! go" (`place`), "why there" (`explain`) and "where do all of this host's VMs go"
//! (`evacuate`), so what the admin reads is what the scheduler did.

pub mod policy;
pub mod units;

use std::collections::BTreeMap;

use app::api::{HostStatus, MigrationMode};

use crate::domain::os::{parse_os, Os};
use crate::domain::SchedulingPolicy;
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

/// One placement question: this VM, leaving this host (or starting), under these rules.
pub struct Ask<'a> {
    pub vm: &'a VmView,
    /// The host the VM leaves and its index in the cluster's list; `None` when it starts.
    pub from: Option<(usize, &'a HostView)>,
    headroom_percent: u32,
    units: &'static PolicyUnits,
    /// The OS the InClusterUpgrade weight compares with: the source host's, or for a start
    /// the oldest in the cluster (so anything newer is preferred).
    reference_os: Option<&'a Os>,
}

impl<'a> Ask<'a> {
    /// A question about `vm` among `hosts`; `from` is the index of the host it leaves.
    pub fn new(
        vm: &'a VmView,
        from: Option<usize>,
        hosts: &'a [HostView],
        rules: &ClusterRules,
    ) -> Self {
        let from = from.map(|index| (index, &hosts[index]));
        let units = units(rules.policy);
        let reference_os = match from {
            Some((_, host)) => host.os.parsed.as_ref().ok(),
            None if units.weights.contains(&Weight::InClusterUpgrade) => hosts
                .iter()
                .filter_map(|h| h.os.parsed.as_ref().ok())
                .min_by_key(|os| (os.major, os.minor)),
            None => None,
        };
        Ask {
            vm,
            from,
            headroom_percent: rules.memory_headroom_percent,
            units,
            reference_os,
        }
    }

    /// The first filter `host` fails, or its total penalty.
    fn judge(&self, index: usize, host: &'a HostView) -> Result<i64, (Filter, Rejection<'a>)> {
        for filter in self.units.filters {
            filter
                .check(self, index, host)
                .map_err(|why| (*filter, why))?;
        }
        Ok(self
            .units
            .weights
            .iter()
            .map(|w| w.penalty(self, host))
            .sum())
    }
}

/// The chosen host: the lowest penalty; ties go to the host name, so plans are deterministic.
pub fn place(ask: &Ask<'_>, hosts: &[HostView]) -> Option<usize> {
    let mut best: Option<(i64, usize)> = None;
    for (index, host) in hosts.iter().enumerate() {
        let Ok(score) = ask.judge(index, host) else {
            continue;
        };
        best = match best {
            Some((low, at)) if low < score || (low == score && hosts[at].name <= host.name) => {
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
pub fn explain<'a>(ask: &Ask<'a>, hosts: &'a [HostView]) -> (Vec<Verdict<'a>>, Option<usize>) {
    let verdicts = hosts
        .iter()
        .enumerate()
        .map(|(index, host)| match ask.judge(index, host) {
            Err((filter, why)) => Verdict::Rejected { filter, why },
            Ok(total) => Verdict::Scored {
                total,
                weights: ask
                    .units
                    .weights
                    .iter()
                    .map(|w| (*w, w.penalty(ask, host)))
                    .collect(),
            },
        })
        .collect();
    (verdicts, place(ask, hosts))
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
pub fn why_no_host(ask: &Ask<'_>, hosts: &[HostView]) -> String {
    let mut by_reason: BTreeMap<String, Vec<&str>> = BTreeMap::new();
    for (index, host) in hosts.iter().enumerate() {
        if let Err((_, why)) = ask.judge(index, host) {
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

/// Targets for every VM leaving `hosts[source]`, biggest VMs first (they are the hardest to
/// fit). Each planned VM's memory is added to its target in `hosts`, so a caller can plan
/// several hosts in a row. All or nothing: either every VM has a target, or every VM that
/// cannot move is named.
pub fn evacuate(
    source: usize,
    vms: &[VmView],
    hosts: &mut [HostView],
    rules: &ClusterRules,
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
            let ask = Ask::new(&vms[vm], Some(source), hosts, rules);
            place(&ask, hosts).ok_or_else(|| why_no_host(&ask, hosts))
        };
        match target {
            Ok(to) => {
                hosts[to].used_mb += vms[vm].memory_mb;
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
    fn verdict<'a>(
        filter: Filter,
        vm: &'a VmView,
        from: Option<usize>,
        hosts: &'a [HostView],
        target: usize,
    ) -> Result<(), String> {
        let ask = Ask::new(vm, from, hosts, &UPGRADE);
        filter
            .check(&ask, target, &hosts[target])
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
        let hosts = [host("h", HostStatus::Up, 1000, 500)];
        let ask_rules = rules(SchedulingPolicy::None, 10);
        let fits = vm("fits", 400, MigrationMode::Migratable);
        let over = vm("over", 401, MigrationMode::Migratable);
        let ask = Ask::new(&fits, None, &hosts, &ask_rules);
        assert!(Filter::Memory.check(&ask, 0, &hosts[0]).is_ok());
        let ask = Ask::new(&over, None, &hosts, &ask_rules);
        assert_eq!(
            Filter::Memory
                .check(&ask, 0, &hosts[0])
                .unwrap_err()
                .to_string(),
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
        let hosts = [
            host("a", HostStatus::Up, 1000, 0),
            host("b", HostStatus::Up, 1000, 0),
        ];
        let maintenance = rules(SchedulingPolicy::ClusterMaintenance, 0);
        let mut plain = vm("plain", 1, MigrationMode::Migratable);
        assert_eq!(
            place(&Ask::new(&plain, None, &hosts, &maintenance), &hosts),
            None
        );
        assert!(place(&Ask::new(&plain, Some(0), &hosts, &maintenance), &hosts).is_some());
        plain.highly_available = true;
        assert!(place(&Ask::new(&plain, None, &hosts, &maintenance), &hosts).is_some());
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
        let ask = Ask::new(&v, Some(0), &hosts, &UPGRADE);
        let penalty = |w: Weight, i: usize| w.penalty(&ask, &hosts[i]);
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
            let r = rules(policy, 0);
            place(&Ask::new(&v, Some(0), &hosts, &r), &hosts).map(|i| hosts[i].name.as_str())
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
        let ask = Ask::new(&v, None, &hosts, &UPGRADE);
        assert_eq!(place(&ask, &hosts), Some(1));
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
        let ask = Ask::new(&v, Some(0), &hosts, &UPGRADE);
        let (verdicts, chosen) = explain(&ask, &hosts);
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
        let alone = [host("only", HostStatus::Up, 1000, 0)];
        let v = vm("v", 1, MigrationMode::Migratable);
        let ask = Ask::new(&v, Some(0), &alone, &SPREAD);
        assert_eq!(why_no_host(&ask, &alone), "the cluster has no other host");
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
        let mut hosts = [
            host_os("src", "Fedora 22", HostStatus::Up, 1000, 100),
            host_os("f21", "Fedora 21", HostStatus::Up, 1000, 0),
            host_os("f22", "Fedora 22", HostStatus::Up, 1000, 0),
            host_os("f23", "Fedora 23", HostStatus::Up, 1000, 900),
        ];
        let vms = [vm("v", 100, MigrationMode::Migratable)];
        let moves = evacuate(0, &vms, &mut hosts, &UPGRADE).unwrap();
        assert_eq!(
            hosts[moves[0].to].name, "f23",
            "newer wins even when fuller"
        );
        let mut hosts = [
            host_os("src", "Fedora 23", HostStatus::Up, 1000, 100),
            host_os("f22", "Fedora 22", HostStatus::Up, 1000, 0),
        ];
        let stuck = evacuate(0, &vms, &mut hosts, &UPGRADE).unwrap_err();
        assert_eq!(
            stuck[0].reason,
            "no host fits (f22: its OS Fedora 22 is older than Fedora 23)"
        );
    }

    #[test]
    fn vms_go_to_up_hosts_with_room_emptiest_first() {
        let mut hosts = [
            host("src", HostStatus::Up, 1000, 600),
            host("a", HostStatus::Up, 1000, 500),
            host("b", HostStatus::Up, 1000, 100),
            host("m", HostStatus::Maintenance, 1000, 0),
        ];
        let vms = [
            vm("big", 400, MigrationMode::Migratable),
            vm("small", 200, MigrationMode::UserMigratable),
        ];
        let moves = evacuate(0, &vms, &mut hosts, &SPREAD).unwrap();
        // big (400) to b (free 800); then small: a has 400 free, b 400 free -> tie by name: a.
        assert_eq!(
            names(&moves, &vms, &hosts),
            [("big".into(), "b".into()), ("small".into(), "a".into())]
        );
        assert_eq!((hosts[1].used_mb, hosts[2].used_mb), (700, 500));
    }

    #[test]
    fn headroom_is_kept_and_stuck_vms_are_named() {
        let mut hosts = [
            host("src", HostStatus::Up, 1000, 950),
            host("a", HostStatus::Up, 1000, 500),
        ];
        // a may use 900 MiB: 400 free. 450 does not fit; the pinned VM never moves.
        let vms = [
            vm("fits", 400, MigrationMode::Migratable),
            vm("too-big", 450, MigrationMode::Migratable),
            vm("pin", 100, MigrationMode::Pinned),
        ];
        let stuck = evacuate(0, &vms, &mut hosts, &SPREAD).unwrap_err();
        let stuck_names: Vec<&str> = stuck.iter().map(|s| s.vm.as_str()).collect();
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
            &mut hosts,
            &SPREAD,
        )
        .unwrap_err();
        assert_eq!(
            stuck[0].reason,
            "no host fits (h1, h2, h3 and 2 more: it is Maintenance)"
        );
    }

    proptest! {
        #[test]
        fn in_cluster_upgrade_never_downgrades_and_never_overfills(
            hosts in proptest::collection::vec((7u64..10, 0u64..900, any::<bool>()), 2..10),
            sizes in proptest::collection::vec(1u64..300, 0..12),
            headroom in 0u32..30,
        ) {
            let mut views: Vec<HostView> = hosts.iter().enumerate()
                .map(|(i, (major, used, up))| {
                    let status = if *up { HostStatus::Up } else { HostStatus::Maintenance };
                    host_os(&format!("h{i}"), &format!("RHEL {major}.2"), status, 1000, *used)
                })
                .collect();
            let before = views.clone();
            let vms: Vec<VmView> = sizes.iter().enumerate()
                .map(|(i, m)| vm(&format!("v{i}"), *m, MigrationMode::Migratable)).collect();
            let r = rules(SchedulingPolicy::InClusterUpgrade, headroom);
            if let Ok(moves) = evacuate(0, &vms, &mut views, &r) {
                prop_assert_eq!(moves.len(), vms.len());
                let major = |h: &HostView| h.os.parsed.as_ref().unwrap().major;
                for planned in &moves {
                    prop_assert!(planned.to != 0);
                    prop_assert_eq!(views[planned.to].status, HostStatus::Up);
                    prop_assert!(major(&views[planned.to]) >= major(&views[0]));
                }
                for (index, target) in before.iter().enumerate() {
                    let added: u64 = moves.iter().filter(|p| p.to == index).map(|p| vms[p.vm].memory_mb).sum();
                    prop_assert!(added == 0 || target.used_mb + added <= target.usable_mb(headroom));
                    prop_assert_eq!(views[index].used_mb, target.used_mb + added);
                }
            }
        }
    }
}
