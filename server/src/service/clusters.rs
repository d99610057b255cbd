//! Changing a cluster (`PUT /api/clusters/{id}`): its scheduling policy and compatibility
//! level. Entering `in_cluster_upgrade` checks the seed 002 preconditions and names every
//! violation; leaving it while one OS family still runs different major versions is refused
//! unless forced; a level is raised only when every host supports it.

use std::collections::BTreeMap;

use app::api::{Cluster, Host, HostQuery, PolicyViolation, Ref, Severity};

use super::{Actor, Service, ServiceError, ServiceResult};
use crate::domain::os::parse_os;
use crate::domain::{is_cluster_level, SchedulingPolicy};
use crate::store::{NewEvent, VmTraits};

pub use app::api::ClusterUpdate;

/// Why a VM keeps a cluster out of upgrade mode, or `None`.
pub fn vm_violation(vm: &VmTraits) -> Option<PolicyViolation> {
    let reasons: Vec<&str> = [
        (vm.status == "suspended", "it is suspended"),
        (vm.cpu_pinning, "it has CPU pinning"),
        (vm.numa_pinning, "it has NUMA pinning"),
        (
            vm.migration == "pinned",
            "it is pinned to its host (migration = pinned)",
        ),
        (vm.host_devices, "it uses host devices (PCI passthrough)"),
    ]
    .into_iter()
    .filter_map(|(applies, reason)| applies.then_some(reason))
    .collect();
    (!reasons.is_empty()).then(|| PolicyViolation {
        vm: Some(Ref {
            id: vm.id.clone(),
            name: vm.name.clone(),
        }),
        host: None,
        reason: reasons.join(", "),
        forceable: false,
    })
}

/// A violation as one sentence part: "VM db1: it is suspended".
fn said(violation: &PolicyViolation) -> String {
    match (&violation.vm, &violation.host) {
        (Some(vm), _) => format!("VM {}: {}", vm.name, violation.reason),
        (None, Some(host)) => format!("host {}: {}", host.name, violation.reason),
        (None, None) => violation.reason.clone(),
    }
}

/// A scheduling policy by its name, or the error that lists the names.
fn parse_policy(policy: &str) -> ServiceResult<SchedulingPolicy> {
    SchedulingPolicy::parse(policy).ok_or_else(|| {
        let names: Vec<&str> = SchedulingPolicy::ALL.iter().map(|p| p.as_str()).collect();
        ServiceError::invalid(
            "invalid_policy",
            format!(
                "{policy:?} is not a scheduling policy; use one of {}.",
                names.join(", ")
            ),
        )
    })
}

impl Service {
    /// What stands in the way of `policy` on a cluster now (the portal asks before it sets
    /// one, to link every VM and host to fix); empty when nothing does.
    pub async fn policy_violations(
        &self,
        actor: Actor<'_>,
        id: &str,
        policy: &str,
    ) -> ServiceResult<Vec<PolicyViolation>> {
        actor.require_admin()?;
        let policy = parse_policy(policy)?;
        let cluster = self.cluster_by_id(id).await?;
        let hosts = self.cluster_hosts(id).await?;
        self.violations(&cluster, &hosts, policy).await
    }

    async fn cluster_hosts(&self, id: &str) -> ServiceResult<Vec<Host>> {
        Ok(self
            .host_page(&HostQuery {
                cluster: Some(id.to_string()),
                ..HostQuery::default()
            })
            .await?
            .items)
    }

    /// Entering `in_cluster_upgrade`: every VM that cannot migrate and every host whose OS
    /// cannot be compared (seed 002). Leaving it: the hosts still on an older major version,
    /// which an admin may overrule.
    async fn violations(
        &self,
        cluster: &Cluster,
        hosts: &[Host],
        policy: SchedulingPolicy,
    ) -> ServiceResult<Vec<PolicyViolation>> {
        let current = SchedulingPolicy::parse(&cluster.scheduling_policy);
        let mut violations = Vec::new();
        if policy == SchedulingPolicy::InClusterUpgrade && current != Some(policy) {
            violations.extend(
                self.store()
                    .cluster_vm_traits(&cluster.id)
                    .await?
                    .iter()
                    .filter_map(vm_violation),
            );
            violations.extend(hosts.iter().filter_map(|h| {
                parse_os(&h.os).err().map(|e| PolicyViolation {
                    vm: None,
                    host: Some(Ref {
                        id: h.id.clone(),
                        name: h.name.clone(),
                    }),
                    reason: e.to_string(),
                    forceable: false,
                })
            }));
        }
        if current == Some(SchedulingPolicy::InClusterUpgrade)
            && policy != SchedulingPolicy::InClusterUpgrade
        {
            violations.extend(mixed_majors(hosts));
        }
        Ok(violations)
    }

    pub async fn update_cluster(
        &self,
        actor: Actor<'_>,
        id: &str,
        update: ClusterUpdate,
    ) -> ServiceResult<Cluster> {
        actor.require_admin()?;
        let cluster = self.cluster_by_id(id).await?;
        let hosts = self.cluster_hosts(id).await?;
        if let Some(policy) = &update.scheduling_policy {
            let policy = parse_policy(policy)?;
            let violations: Vec<PolicyViolation> = self
                .violations(&cluster, &hosts, policy)
                .await?
                .into_iter()
                .filter(|v| !(v.forceable && update.force))
                .collect();
            if !violations.is_empty() {
                let said: Vec<String> = violations.iter().map(said).collect();
                return Err(ServiceError::Conflict(format!(
                    "Cluster {} cannot use {}: {}.",
                    cluster.name,
                    policy.as_str(),
                    said.join("; ")
                )));
            }
        }
        if let Some(level) = &update.compatibility_version {
            if !is_cluster_level(level) {
                return Err(ServiceError::invalid(
                    "invalid_level",
                    format!("{level:?} is not a level like \"4.7\"."),
                ));
            }
            let unsupported: Vec<&str> = hosts
                .iter()
                .filter(|h| !h.supported_cluster_levels.contains(level))
                .map(|h| h.name.as_str())
                .collect();
            if !unsupported.is_empty() {
                return Err(ServiceError::Conflict(format!(
                    "Cluster {} cannot move to level {level}: hosts {} do not support it.",
                    cluster.name,
                    unsupported.join(", ")
                )));
            }
        }
        let user = actor.name();
        if let Some(policy) = &update.scheduling_policy {
            self.store().set_cluster_policy(id, policy).await?;
            self.emit(
                NewEvent::new(
                    "cluster_policy_changed",
                    Severity::Normal,
                    format!(
                        "Cluster {} now uses the scheduling policy {policy}.",
                        cluster.name
                    ),
                )
                .cluster(id)
                .user(Some(&user)),
            )
            .await?;
        }
        if let Some(level) = &update.compatibility_version {
            self.store().set_cluster_level(id, level).await?;
            self.emit(
                NewEvent::new(
                    "cluster_level_changed",
                    Severity::Normal,
                    format!(
                        "Cluster {} is now at compatibility level {level}.",
                        cluster.name
                    ),
                )
                .cluster(id)
                .user(Some(&user)),
            )
            .await?;
        }
        self.cluster_by_id(id).await
    }
}

/// Per OS family running more than one major version: the hosts not on the newest yet.
fn mixed_majors(hosts: &[Host]) -> Vec<PolicyViolation> {
    // family -> major -> the hosts on it (by name, as `hosts` come).
    let mut majors: BTreeMap<String, BTreeMap<u64, Vec<&str>>> = BTreeMap::new();
    for host in hosts {
        if let Ok(os) = parse_os(&host.os) {
            majors
                .entry(os.family)
                .or_default()
                .entry(os.major)
                .or_default()
                .push(host.name.as_str());
        }
    }
    majors
        .into_iter()
        .filter(|(_, m)| m.len() > 1)
        .map(|(family, by_major)| {
            let list: Vec<String> = by_major.keys().map(u64::to_string).collect();
            let newest = by_major.keys().max().copied();
            let older: Vec<&str> = by_major
                .iter()
                .filter(|(major, _)| Some(**major) != newest)
                .flat_map(|(_, names)| names.iter().copied())
                .collect();
            PolicyViolation {
                vm: None,
                host: None,
                reason: format!(
                    "{family} hosts still run major versions {}; not upgraded yet: {}; finish the upgrade or set \"force\": true",
                    list.join(" and "),
                    older.join(", ")
                ),
                forceable: true,
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vm(status: &str, migration: &str, cpu: bool, numa: bool, devices: bool) -> VmTraits {
        VmTraits {
            id: "v-id".into(),
            name: "v".into(),
            status: status.into(),
            migration: migration.into(),
            cpu_pinning: cpu,
            numa_pinning: numa,
            host_devices: devices,
        }
    }

    #[test]
    fn every_reason_a_vm_blocks_upgrade_mode_is_named() {
        assert_eq!(
            vm_violation(&vm("up", "migratable", false, false, false)),
            None
        );
        let all = vm_violation(&vm("suspended", "pinned", true, true, true)).unwrap();
        assert_eq!(all.vm.as_ref().map(|v| v.id.as_str()), Some("v-id"));
        let all = said(&all);
        for words in [
            "suspended",
            "CPU pinning",
            "NUMA pinning",
            "migration = pinned",
            "host devices",
        ] {
            assert!(all.contains(words), "{all}");
        }
    }
}
