//! Which policy units make up each scheduling policy (docs/scheduling.md shows the same table,
//! and a test keeps the two equal).

use super::units::{Filter, Weight};
use crate::domain::SchedulingPolicy;

/// The units of one policy: every filter must pass; the weights' penalties add up.
#[derive(Debug, PartialEq, Eq)]
pub struct PolicyUnits {
    pub filters: &'static [Filter],
    pub weights: &'static [Weight],
}

/// What every policy checks: a VM that may move at all, and a target that is up and has the
/// memory and the cores (and, for the engine's own VM, a hosted-engine HA score). Units about
/// the VM alone come first: they reject every host alike, so a refusal names them once.
const BASE: [Filter; 5] = [
    Filter::Migration,
    Filter::Status,
    Filter::Memory,
    Filter::Cpu,
    Filter::HostedEngine,
];

const NONE: PolicyUnits = PolicyUnits {
    filters: &BASE,
    weights: &[],
};
const EVENLY_DISTRIBUTED: PolicyUnits = PolicyUnits {
    filters: &BASE,
    weights: &[Weight::EvenDistribution],
};
const POWER_SAVING: PolicyUnits = PolicyUnits {
    filters: &BASE,
    weights: &[Weight::PowerSaving],
};
const CLUSTER_MAINTENANCE: PolicyUnits = PolicyUnits {
    filters: &[
        Filter::Migration,
        Filter::ClusterMaintenance,
        Filter::Status,
        Filter::Memory,
        Filter::Cpu,
        Filter::HostedEngine,
    ],
    weights: &[Weight::EvenDistribution],
};
/// Seed 002's InClusterUpgrade policy. Unlike the seed, EvenDistribution stays on as a tie
/// breaker within an OS tier, so upgraded hosts fill evenly instead of in name order.
const IN_CLUSTER_UPGRADE: PolicyUnits = PolicyUnits {
    filters: &[
        Filter::Migration,
        Filter::Status,
        Filter::Memory,
        Filter::Cpu,
        Filter::HostedEngine,
        Filter::InClusterUpgrade,
    ],
    weights: &[Weight::InClusterUpgrade, Weight::EvenDistribution],
};

/// The units of `policy`.
pub fn units(policy: SchedulingPolicy) -> &'static PolicyUnits {
    match policy {
        SchedulingPolicy::None => &NONE,
        SchedulingPolicy::EvenlyDistributed => &EVENLY_DISTRIBUTED,
        SchedulingPolicy::PowerSaving => &POWER_SAVING,
        SchedulingPolicy::ClusterMaintenance => &CLUSTER_MAINTENANCE,
        SchedulingPolicy::InClusterUpgrade => &IN_CLUSTER_UPGRADE,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The Markdown table of docs/scheduling.md, rendered from the code.
    fn table() -> String {
        let mut out = String::from("| Policy | Filters | Weights |\n|---|---|---|\n");
        for &policy in SchedulingPolicy::ALL {
            let units = units(policy);
            let filters: Vec<&str> = units.filters.iter().map(|f| f.name()).collect();
            let weights: Vec<&str> = units.weights.iter().map(|w| w.name()).collect();
            let weights = if weights.is_empty() {
                "none (first host by name)".to_string()
            } else {
                weights.join(", ")
            };
            out.push_str(&format!(
                "| `{}` | {} | {weights} |\n",
                policy.as_str(),
                filters.join(", ")
            ));
        }
        out
    }

    #[test]
    fn the_docs_table_matches_the_code() {
        let docs = include_str!("../../../docs/scheduling.md");
        let table = table();
        assert!(docs.contains(&table), "docs/scheduling.md needs:\n{table}");
    }

    #[test]
    fn every_policy_filters_status_memory_cpu_and_migration() {
        for &policy in SchedulingPolicy::ALL {
            let filters = units(policy).filters;
            assert!(BASE.iter().all(|f| filters.contains(f)), "{policy:?}");
        }
        assert!(units(SchedulingPolicy::ClusterMaintenance)
            .filters
            .contains(&Filter::ClusterMaintenance));
        assert_eq!(
            units(SchedulingPolicy::InClusterUpgrade).weights[0],
            Weight::InClusterUpgrade
        );
    }
}
