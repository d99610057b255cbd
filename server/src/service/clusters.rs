//! Changing a cluster (`PUT /api/clusters/{id}`): its scheduling policy and compatibility
//! level. Entering `in_cluster_upgrade` checks the seed 002 preconditions and names every
//! violation; leaving it while one OS family still runs different major versions is refused
//! unless forced; a level is raised only when every host supports it.

use std::collections::BTreeMap;

use app::api::{Cluster, HostQuery, Severity};
use serde::Deserialize;

use super::{Actor, Service, ServiceError, ServiceResult};
use crate::domain::os::parse_os;
use crate::domain::{is_cluster_level, SchedulingPolicy};
use crate::store::{NewEvent, VmTraits};

/// The body of `PUT /api/clusters/{id}`; absent fields stay as they are.
#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ClusterUpdate {
    pub scheduling_policy: Option<String>,
    pub compatibility_version: Option<String>,
    /// Leave `in_cluster_upgrade` although the cluster still runs mixed OS versions.
    #[serde(default)]
    pub force: bool,
}

/// Why a VM keeps a cluster out of upgrade mode, or `None`.
pub fn vm_violation(vm: &VmTraits) -> Option<String> {
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
    (!reasons.is_empty()).then(|| format!("VM {}: {}", vm.name, reasons.join(", ")))
}

impl Service {
    pub async fn update_cluster(
        &self,
        actor: Actor<'_>,
        id: &str,
        update: ClusterUpdate,
    ) -> ServiceResult<Cluster> {
        actor.require_admin()?;
        let cluster = self.cluster_by_id(id).await?;
        let hosts = self
            .host_page(&HostQuery {
                cluster: Some(id.to_string()),
                ..HostQuery::default()
            })
            .await?
            .items;
        if let Some(policy) = &update.scheduling_policy {
            let policy = SchedulingPolicy::parse(policy).ok_or_else(|| {
                let names: Vec<&str> = SchedulingPolicy::ALL.iter().map(|p| p.as_str()).collect();
                ServiceError::invalid(
                    "invalid_policy",
                    format!(
                        "{policy:?} is not a scheduling policy; use one of {}.",
                        names.join(", ")
                    ),
                )
            })?;
            let current = SchedulingPolicy::parse(&cluster.scheduling_policy);
            let mut violations = Vec::new();
            if policy == SchedulingPolicy::InClusterUpgrade && current != Some(policy) {
                violations.extend(
                    self.store()
                        .cluster_vm_traits(id)
                        .await?
                        .iter()
                        .filter_map(vm_violation),
                );
                violations.extend(hosts.iter().filter_map(|h| {
                    parse_os(&h.os)
                        .err()
                        .map(|e| format!("host {}: {e}", h.name))
                }));
            }
            if current == Some(SchedulingPolicy::InClusterUpgrade)
                && policy != SchedulingPolicy::InClusterUpgrade
                && !update.force
            {
                // family -> major -> the hosts on it (by name, as `hosts` come).
                let mut majors: BTreeMap<String, BTreeMap<u64, Vec<&str>>> = BTreeMap::new();
                for host in &hosts {
                    if let Ok(os) = parse_os(&host.os) {
                        majors
                            .entry(os.family)
                            .or_default()
                            .entry(os.major)
                            .or_default()
                            .push(host.name.as_str());
                    }
                }
                for (family, by_major) in majors.into_iter().filter(|(_, m)| m.len() > 1) {
                    let list: Vec<String> = by_major.keys().map(u64::to_string).collect();
                    let newest = by_major.keys().max().copied();
                    let older: Vec<&str> = by_major
                        .iter()
                        .filter(|(major, _)| Some(**major) != newest)
                        .flat_map(|(_, names)| names.iter().copied())
                        .collect();
                    violations.push(format!(
                        "{family} hosts still run major versions {}; not upgraded yet: {}; finish the upgrade or set \"force\": true",
                        list.join(" and "),
                        older.join(", ")
                    ));
                }
            }
            if !violations.is_empty() {
                return Err(ServiceError::Conflict(format!(
                    "Cluster {} cannot use {}: {}.",
                    cluster.name,
                    policy.as_str(),
                    violations.join("; ")
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

#[cfg(test)]
mod tests {
    use super::*;

    fn vm(status: &str, migration: &str, cpu: bool, numa: bool, devices: bool) -> VmTraits {
        VmTraits {
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
