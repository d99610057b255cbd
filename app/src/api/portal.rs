//! The portal's actions of issue 19 as the API carries them: cluster settings and what stands
//! in their way, the reinstall request, the run's waiting hosts and the dashboard's picture.
//! Shared by the REST API, the server functions and the pages.

use serde::{Deserialize, Serialize};

use super::{HostStatus, Labelled, MemoryMb, Ref};

/// A host a cluster upgrade chose that has not started yet (the run's progress page).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct WaitingHost {
    pub host: Ref,
    pub status: HostStatus,
    /// The wave the plan gives it now, 1 being the next; `None` when the plan leaves it out.
    pub wave: Option<u32>,
}

/// The body of `PUT /api/clusters/{id}`; absent fields stay as they are.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct ClusterUpdate {
    pub scheduling_policy: Option<String>,
    pub compatibility_version: Option<String>,
    /// Leave `in_cluster_upgrade` although the cluster still runs mixed OS versions.
    #[serde(default)]
    pub force: bool,
}

/// One reason a cluster cannot take a scheduling policy, with the VM or host to fix.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct PolicyViolation {
    pub vm: Option<Ref>,
    pub host: Option<Ref>,
    pub reason: String,
    /// An admin may go ahead anyway (`"force": true`): leaving `in_cluster_upgrade` while
    /// OS versions are mixed.
    pub forceable: bool,
}

/// `POST /api/hosts/{id}/reinstall`: redeploy the host's management software, then activate
/// it unless `activate` is false.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct HostReinstall {
    #[serde(default = "activate_after_reinstall")]
    pub activate: bool,
}

fn activate_after_reinstall() -> bool {
    true
}

impl Default for HostReinstall {
    fn default() -> Self {
        HostReinstall { activate: true }
    }
}

/// One cluster's hosts on the dashboard, by name.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct ClusterMemory {
    pub cluster: Ref,
    pub hosts: Vec<HostMemory>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct HostMemory {
    pub host: Ref,
    pub status: HostStatus,
    pub updates_available: bool,
    pub memory_mb: MemoryMb,
}

labelled_enum!(
    /// Where a host stands in an upgrade, at a glance (the dashboard's colours).
    HostCondition {
        UpToDate => "up_to_date", "Up to date";
        Outdated => "outdated", "Updates available";
        Maintenance => "maintenance", "In maintenance";
        Upgrading => "upgrading", "Being upgraded";
        Failed => "failed", "Failed or unreachable";
    }
);

impl HostCondition {
    pub fn of(status: HostStatus, updates_available: bool) -> HostCondition {
        match status {
            HostStatus::Maintenance => HostCondition::Maintenance,
            HostStatus::PreparingForMaintenance
            | HostStatus::Installing
            | HostStatus::Reboot
            | HostStatus::Initializing => HostCondition::Upgrading,
            HostStatus::InstallFailed
            | HostStatus::NonOperational
            | HostStatus::NonResponsive
            | HostStatus::Down => HostCondition::Failed,
            HostStatus::Up if updates_available => HostCondition::Outdated,
            HostStatus::Up => HostCondition::UpToDate,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_status_has_its_condition_and_updates_only_matter_when_up() {
        assert_eq!(
            HostCondition::of(HostStatus::Up, false),
            HostCondition::UpToDate
        );
        assert_eq!(
            HostCondition::of(HostStatus::Up, true),
            HostCondition::Outdated
        );
        assert_eq!(
            HostCondition::of(HostStatus::Maintenance, true),
            HostCondition::Maintenance
        );
        for status in [
            HostStatus::PreparingForMaintenance,
            HostStatus::Installing,
            HostStatus::Reboot,
            HostStatus::Initializing,
        ] {
            assert_eq!(HostCondition::of(status, true), HostCondition::Upgrading);
        }
        for status in [
            HostStatus::InstallFailed,
            HostStatus::NonOperational,
            HostStatus::NonResponsive,
            HostStatus::Down,
        ] {
            assert_eq!(HostCondition::of(status, false), HostCondition::Failed);
        }
    }

    #[test]
    fn a_reinstall_activates_unless_told_not_to() {
        let empty: HostReinstall = serde_json::from_str("{}").unwrap();
        assert!(empty.activate);
        let kept: HostReinstall = serde_json::from_str(r#"{"activate":false}"#).unwrap();
        assert!(!kept.activate);
        assert!(serde_json::from_str::<HostReinstall>(r#"{"colour":1}"#).is_err());
    }
}
