//! The pure core: words and rules of the domain that more than one layer needs. No I/O.

pub mod config;
pub mod errata;
pub mod os;
pub mod packages;
pub mod version;

/// A cluster's scheduling policy (SPEC §8), named once for the API, the portal and the fleet
/// file in `app::api`.
pub use app::api::SchedulingPolicy;

/// Whether a host in this status may carry running VMs. Hosts that are in maintenance, being
/// installed, rebooting or down cannot.
pub fn host_can_run_vms(status: app::api::HostStatus) -> bool {
    use app::api::HostStatus::*;
    matches!(
        status,
        Up | NonOperational | NonResponsive | PreparingForMaintenance
    )
}

/// The lowest and highest level every host supports (each host brings its set), or `None`
/// when they share none: what the cluster may be set to.
pub fn common_levels(sets: &[Vec<String>]) -> Option<(String, String)> {
    let (first, rest) = sets.split_first()?;
    let mut shared: Vec<&String> = first
        .iter()
        .filter(|level| rest.iter().all(|set| set.contains(level)))
        .collect();
    shared.sort_by(|a, b| version::compare_versions(a, b));
    Some(((*shared.first()?).clone(), (*shared.last()?).clone()))
}

/// A cluster compatibility level looks like `4.7`: two dot-separated numbers.
pub fn is_cluster_level(value: &str) -> bool {
    let mut parts = value.split('.');
    let numeric = |part: Option<&str>| {
        part.is_some_and(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()))
    };
    numeric(parts.next()) && numeric(parts.next()) && parts.next().is_none()
}

#[cfg(test)]
mod tests {

    #[test]
    fn common_levels_are_the_ones_every_host_shares() {
        let set = |levels: &[&str]| levels.iter().map(|l| l.to_string()).collect::<Vec<_>>();
        assert_eq!(
            common_levels(&[set(&["4.7", "4.8", "4.10"]), set(&["4.8", "4.10", "4.6"])]),
            Some(("4.8".to_string(), "4.10".to_string()))
        );
        assert_eq!(common_levels(&[set(&["4.6"]), set(&["4.7"])]), None);
        assert_eq!(common_levels(&[]), None);
    }

    use super::*;
    use app::api::HostStatus;

    #[test]
    fn cluster_levels_are_two_numbers() {
        assert!(is_cluster_level("4.7"));
        assert!(is_cluster_level("10.12"));
        for bad in ["4", "4.7.1", "4.x", ".7", "4.", ""] {
            assert!(!is_cluster_level(bad), "{bad}");
        }
    }

    #[test]
    fn only_active_hosts_run_vms() {
        assert!(host_can_run_vms(HostStatus::Up));
        assert!(!host_can_run_vms(HostStatus::Maintenance));
        assert!(!host_can_run_vms(HostStatus::Down));
    }
}
