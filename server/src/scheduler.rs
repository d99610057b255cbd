//! Placement: where a VM may go (filters, hard) and where it should go (weights, soft), as
//! plain data in and plain data out. The policy units of a cluster's scheduling policy plug in
//! here; this first set is what moving a host's VMs away needs: the target is up, is another
//! host, has the memory with the cluster's headroom, the VM may be migrated at all, and under
//! `in_cluster_upgrade` the target runs the same OS family at the same or a newer major
//! version (seed 002), newer preferred.

use std::cmp::Ordering;

use app::api::{HostStatus, MigrationMode};

use crate::domain::os::parse_os;
use crate::domain::SchedulingPolicy;

/// A host as placement sees it.
#[derive(Clone, Debug, PartialEq)]
pub struct HostView {
    pub id: String,
    pub name: String,
    pub status: HostStatus,
    pub os: String,
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
    pub migration: MigrationMode,
}

/// The cluster's rules.
#[derive(Clone, Copy, Debug)]
pub struct ClusterRules {
    pub policy: SchedulingPolicy,
    pub memory_headroom_percent: u32,
}

impl HostView {
    /// Memory a host may hand out: all of it but the cluster's headroom.
    fn usable_mb(&self, rules: &ClusterRules) -> u64 {
        self.memory_mb * u64::from(100 - rules.memory_headroom_percent.min(100)) / 100
    }

    fn free_mb(&self, rules: &ClusterRules) -> u64 {
        self.usable_mb(rules).saturating_sub(self.used_mb)
    }
}

/// InClusterUpgrade: a running VM may only go to the same OS family at the same or a newer
/// major version than the host it runs on.
fn os_filter(source: &HostView, target: &HostView) -> Result<(), String> {
    let from = parse_os(&source.os).map_err(|e| format!("the VM's host: {e}"))?;
    let to = parse_os(&target.os)?;
    if to.family != from.family {
        return Err(format!("it runs {}, not {}", to.family, from.family));
    }
    if to.major < from.major {
        return Err(format!("its OS {} is older than {}", target.os, source.os));
    }
    Ok(())
}

/// InClusterUpgrade weight: a newer OS costs nothing, the same OS a significant penalty.
fn os_penalty(source: &HostView, target: &HostView) -> i128 {
    const SAME_OS: i128 = 1 << 60;
    match (parse_os(&target.os), parse_os(&source.os)) {
        (Ok(to), Ok(from)) => match to.compare(&from) {
            Some(Ordering::Greater) => 0,
            Some(Ordering::Equal) => SAME_OS,
            _ => 2 * SAME_OS,
        },
        _ => 2 * SAME_OS,
    }
}

/// Why a host cannot take a VM (a filter's verdict), in words for the admin.
fn filter(
    vm: &VmView,
    source: &HostView,
    target: &HostView,
    rules: &ClusterRules,
) -> Result<(), String> {
    if target.id == source.id {
        return Err("it is the host the VM leaves".to_string());
    }
    if target.status != HostStatus::Up {
        return Err(format!("it is {}", target.status.label()));
    }
    let free = target.free_mb(rules);
    if vm.memory_mb > free {
        return Err(format!(
            "it has {free} MiB free after the cluster's {}% headroom, the VM needs {} MiB",
            rules.memory_headroom_percent, vm.memory_mb
        ));
    }
    if rules.policy == SchedulingPolicy::InClusterUpgrade {
        os_filter(source, target)?;
    }
    Ok(())
}

/// How good a target is; lower is better. Ties go to the host name, so plans are deterministic.
fn weight(source: &HostView, target: &HostView, rules: &ClusterRules) -> i128 {
    let free = i128::from(target.free_mb(rules));
    match rules.policy {
        // Fill the fullest host that still fits, so emptier hosts can be switched off.
        SchedulingPolicy::PowerSaving => free,
        // Upgraded hosts first, then the emptiest.
        SchedulingPolicy::InClusterUpgrade => os_penalty(source, target) - free,
        // Everything else spreads load: the emptiest host first.
        _ => -free,
    }
}

/// Why a VM cannot leave its host.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Stuck {
    pub vm: String,
    pub reason: String,
}

/// Targets for every VM leaving `source`, biggest VMs first (they are the hardest to fit).
/// All or nothing: either every VM has a target, or every VM that cannot move is named.
pub fn evacuate(
    source: &str,
    vms: &[VmView],
    hosts: &[HostView],
    rules: &ClusterRules,
) -> Result<Vec<(VmView, HostView)>, Vec<Stuck>> {
    let mut hosts: Vec<HostView> = hosts.to_vec();
    let Some(source) = hosts.iter().find(|h| h.id == source).cloned() else {
        return Err(vms
            .iter()
            .map(|vm| Stuck {
                vm: vm.name.clone(),
                reason: "its host is not in the cluster".to_string(),
            })
            .collect());
    };
    let mut order: Vec<&VmView> = vms.iter().collect();
    order.sort_by(|a, b| {
        b.memory_mb
            .cmp(&a.memory_mb)
            .then_with(|| a.name.cmp(&b.name))
    });
    let mut moves = Vec::with_capacity(vms.len());
    let mut stuck = Vec::new();
    for vm in order {
        if vm.migration == MigrationMode::Pinned {
            stuck.push(Stuck {
                vm: vm.name.clone(),
                reason: "it is pinned to its host (migration = pinned)".to_string(),
            });
            continue;
        }
        let mut reasons = Vec::new();
        let best = hosts
            .iter()
            .enumerate()
            .filter(|(_, host)| match filter(vm, &source, host, rules) {
                Ok(()) => true,
                Err(reason) => {
                    reasons.push(format!("{}: {reason}", host.name));
                    false
                }
            })
            .min_by(|(_, a), (_, b)| {
                weight(&source, a, rules)
                    .cmp(&weight(&source, b, rules))
                    .then_with(|| a.name.cmp(&b.name))
            })
            .map(|(index, _)| index);
        match best {
            Some(index) => {
                hosts[index].used_mb += vm.memory_mb;
                moves.push((vm.clone(), hosts[index].clone()));
            }
            None => stuck.push(Stuck {
                vm: vm.name.clone(),
                reason: if reasons.is_empty() {
                    "the cluster has no other host".to_string()
                } else {
                    format!("no host fits ({})", reasons.join("; "))
                },
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
            os: os.into(),
            memory_mb,
            used_mb,
        }
    }

    const UPGRADE: ClusterRules = ClusterRules {
        policy: SchedulingPolicy::InClusterUpgrade,
        memory_headroom_percent: 0,
    };

    #[test]
    fn in_cluster_upgrade_never_moves_a_vm_to_an_older_os_and_prefers_newer() {
        // The seed's example: a VM on Fedora 22 may go to 22 or 23, not 21; 23 preferred.
        let hosts = [
            host_os("src", "Fedora 22", HostStatus::Up, 1000, 100),
            host_os("f21", "Fedora 21", HostStatus::Up, 1000, 0),
            host_os("f22", "Fedora 22", HostStatus::Up, 1000, 0),
            host_os("f23", "Fedora 23", HostStatus::Up, 1000, 900),
        ];
        let v = vm("v", 100, MigrationMode::Migratable);
        let moves = evacuate("src", std::slice::from_ref(&v), &hosts, &UPGRADE).unwrap();
        assert_eq!(moves[0].1.name, "f23", "newer wins even when fuller");
        // Once on 23, only 23 will do.
        let hosts = [
            host_os("src", "Fedora 23", HostStatus::Up, 1000, 100),
            host_os("f22", "Fedora 22", HostStatus::Up, 1000, 0),
        ];
        let stuck = evacuate("src", &[v], &hosts, &UPGRADE).unwrap_err();
        assert!(
            stuck[0]
                .reason
                .contains("f22: its OS Fedora 22 is older than Fedora 23"),
            "{stuck:?}"
        );
    }

    fn vm(name: &str, memory_mb: u64, migration: MigrationMode) -> VmView {
        VmView {
            id: name.into(),
            name: name.into(),
            memory_mb,
            migration,
        }
    }

    const SPREAD: ClusterRules = ClusterRules {
        policy: SchedulingPolicy::EvenlyDistributed,
        memory_headroom_percent: 10,
    };

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
        let moves = evacuate("src", &vms, &hosts, &SPREAD).unwrap();
        let placed: Vec<(&str, &str)> = moves
            .iter()
            .map(|(v, h)| (v.name.as_str(), h.name.as_str()))
            .collect();
        // big (400) to b (free 800); then small: a has 400 free, b 400 free -> tie by name: a.
        assert_eq!(placed, [("big", "b"), ("small", "a")]);
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
        let stuck = evacuate("src", &vms, &hosts, &SPREAD).unwrap_err();
        let names: Vec<&str> = stuck.iter().map(|s| s.vm.as_str()).collect();
        assert_eq!(names, ["too-big", "pin"]);
        assert!(
            stuck[0].reason.contains("a: it has 400 MiB free"),
            "{:?}",
            stuck[0]
        );
        assert!(stuck[1].reason.contains("pinned"));
    }

    #[test]
    fn power_saving_fills_the_fullest_host_that_fits() {
        let rules = ClusterRules {
            policy: SchedulingPolicy::PowerSaving,
            memory_headroom_percent: 0,
        };
        let hosts = [
            host("src", HostStatus::Up, 1000, 100),
            host("full", HostStatus::Up, 1000, 800),
            host("empty", HostStatus::Up, 1000, 0),
        ];
        let moves = evacuate(
            "src",
            &[vm("v", 100, MigrationMode::Migratable)],
            &hosts,
            &rules,
        )
        .unwrap();
        assert_eq!(moves[0].1.name, "full");
    }

    proptest! {
        #[test]
        fn no_in_cluster_upgrade_plan_moves_a_vm_to_an_older_major(
            majors in proptest::collection::vec(7u64..10, 2..8),
            sizes in proptest::collection::vec(1u64..300, 0..10),
        ) {
            let hosts: Vec<HostView> = majors.iter().enumerate()
                .map(|(i, m)| host_os(&format!("h{i}"), &format!("RHEL {m}.2"), HostStatus::Up, 1000, 0)).collect();
            let vms: Vec<VmView> = sizes.iter().enumerate()
                .map(|(i, m)| vm(&format!("v{i}"), *m, MigrationMode::Migratable)).collect();
            if let Ok(moves) = evacuate("h0", &vms, &hosts, &UPGRADE) {
                for (_, target) in &moves {
                    let major = |os: &str| parse_os(os).unwrap().major;
                    prop_assert!(major(&target.os) >= major(&hosts[0].os));
                }
            }
        }

        #[test]
        fn no_plan_overfills_a_host(
            used in proptest::collection::vec(0u64..900, 2..8),
            sizes in proptest::collection::vec(1u64..300, 0..12),
        ) {
            let hosts: Vec<HostView> = used.iter().enumerate()
                .map(|(i, u)| host(&format!("h{i}"), HostStatus::Up, 1000, *u)).collect();
            let vms: Vec<VmView> = sizes.iter().enumerate()
                .map(|(i, m)| vm(&format!("v{i}"), *m, MigrationMode::Migratable)).collect();
            if let Ok(moves) = evacuate("h0", &vms, &hosts, &SPREAD) {
                prop_assert_eq!(moves.len(), vms.len());
                for target in &hosts {
                    let added: u64 = moves.iter().filter(|(_, h)| h.id == target.id).map(|(v, _)| v.memory_mb).sum();
                    prop_assert!(target.id != "h0" || added == 0);
                    prop_assert!(added == 0 || target.used_mb + added <= 900);
                }
            }
        }
    }
}
