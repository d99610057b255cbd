//! The policy units: filters (hard rules: may this host take the VM at all?) and weights (soft
//! rules: how much does this host cost?). Each is a plain value so a policy is a list of them,
//! and the inner loop stays free of allocation and string work: everything a unit reads was
//! parsed when the views were built.

use std::fmt;

use app::api::{HostStatus, MigrationMode};

use super::{Ask, Slot, VmView, UNKNOWN_FAMILY};

/// A hard rule. A host that fails any filter of the policy is not a candidate.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Filter {
    /// The host is up and is not the one the VM leaves.
    Status,
    /// The VM's memory fits in what the host has free after the cluster's headroom.
    Memory,
    /// The host has at least as many CPU cores as the VM has virtual CPUs.
    Cpu,
    /// The VM's migration mode allows the move (a pinned VM never migrates).
    Migration,
    /// `cluster_maintenance`: only highly available VMs may start.
    ClusterMaintenance,
    /// Seed 002: a running VM only goes to the same OS family at the same or a newer major
    /// version; a VM that is down may start anywhere.
    InClusterUpgrade,
    /// Seed 004: the engine's own VM runs only on a hosted-engine host whose HA agent is
    /// active, out of local maintenance, with a positive score. In every policy.
    HostedEngine,
}

/// A soft rule: a penalty per candidate host; the lowest total wins.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Weight {
    /// The emptiest host first (penalty: minus the MiB it has free after the VM arrives).
    EvenDistribution,
    /// The fullest host that still fits first, so empty hosts can be switched off (penalty:
    /// the MiB free after the VM arrives).
    PowerSaving,
    /// Seed 002: a newer OS costs nothing, the same OS a significant penalty, an older (or
    /// unknown) OS more, so upgraded hosts are preferred for migrations and starts.
    InClusterUpgrade,
}

/// One tier of the InClusterUpgrade weight: larger than any memory figure in MiB, so the OS
/// decides first and the other weights only break ties within a tier.
pub const OS_TIER: i64 = 1 << 40;

/// Why a filter turned a host down, with what it looked at. Borrowed from the views so
/// rejecting costs nothing; words come only when someone reads them (`Display`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Rejection<'a> {
    Source,
    NotUp(HostStatus),
    Memory {
        free_mb: u64,
        needed_mb: u64,
        headroom_percent: u32,
    },
    Cpu {
        cores: u32,
        needed: u32,
    },
    Pinned,
    NotHighlyAvailable,
    UnknownOs(&'a str),
    UnknownSourceOs(&'a str),
    OtherFamily {
        host: &'a str,
        vm: &'a str,
    },
    OlderOs {
        host: &'a str,
        vm: &'a str,
    },
    NoHaScore,
}

impl Rejection<'_> {
    /// Whether the verdict is about the VM rather than the host: it is then the same for every
    /// host, and saying it once is enough.
    pub fn about_the_vm(&self) -> bool {
        matches!(
            self,
            Rejection::Pinned | Rejection::NotHighlyAvailable | Rejection::UnknownSourceOs(_)
        )
    }
}

impl fmt::Display for Rejection<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Rejection::Source => write!(f, "it is the host the VM leaves"),
            Rejection::NotUp(status) => write!(f, "it is {}", status.label()),
            Rejection::Memory {
                free_mb,
                needed_mb,
                headroom_percent,
            } => write!(
                f,
                "it has {free_mb} MiB free after the cluster's {headroom_percent}% headroom, the VM needs {needed_mb} MiB"
            ),
            Rejection::Cpu { cores, needed } => {
                write!(f, "it has {cores} CPU cores, the VM needs {needed}")
            }
            Rejection::Pinned => write!(f, "the VM is pinned to its host (migration = pinned)"),
            Rejection::NotHighlyAvailable => write!(
                f,
                "the cluster is in maintenance: only highly available VMs start"
            ),
            Rejection::UnknownOs(reason) => write!(f, "{reason}"),
            Rejection::UnknownSourceOs(reason) => write!(f, "the VM's host: {reason}"),
            Rejection::OtherFamily { host, vm } => write!(f, "it runs {host}, not {vm}"),
            Rejection::OlderOs { host, vm } => write!(f, "its OS {host} is older than {vm}"),
            Rejection::NoHaScore => write!(
                f,
                "it is not a hosted-engine host with an active HA agent and a positive score"
            ),
        }
    }
}

impl Filter {
    pub fn name(self) -> &'static str {
        match self {
            Filter::Status => "Status",
            Filter::Memory => "Memory",
            Filter::Cpu => "CPU",
            Filter::Migration => "Migration",
            Filter::ClusterMaintenance => "ClusterMaintenance",
            Filter::InClusterUpgrade => "InClusterUpgrade",
            Filter::HostedEngine => "HostedEngine",
        }
    }

    /// The part of the unit about the VM alone (`migrating`: it leaves a host rather than
    /// starts). Units about hosts say `Ok` here.
    pub fn check_vm<'a>(self, vm: &VmView, migrating: bool) -> Result<(), Rejection<'a>> {
        match self {
            Filter::Migration if migrating && vm.migration == MigrationMode::Pinned => {
                Err(Rejection::Pinned)
            }
            Filter::ClusterMaintenance if !migrating && !vm.highly_available => {
                Err(Rejection::NotHighlyAvailable)
            }
            _ => Ok(()),
        }
    }

    /// The part of the unit about host `index` of the asked cluster.
    pub fn check_host<'a>(self, ask: &Ask<'a>, index: usize) -> Result<(), Rejection<'a>> {
        let host = &ask.cluster.hosts[index];
        let slot = ask.cluster.slots[index];
        match self {
            Filter::Status if ask.from == Some(index) => Err(Rejection::Source),
            Filter::Status if !slot.up => Err(Rejection::NotUp(host.status)),
            Filter::Memory if slot.free_mb < ask.vm.memory_mb => Err(Rejection::Memory {
                free_mb: slot.free_mb,
                needed_mb: ask.vm.memory_mb,
                headroom_percent: ask.cluster.rules.memory_headroom_percent,
            }),
            Filter::HostedEngine if ask.vm.hosted_engine && !slot.ha => Err(Rejection::NoHaScore),
            Filter::Cpu if slot.cores < ask.vm.cpus => Err(Rejection::Cpu {
                cores: slot.cores,
                needed: ask.vm.cpus,
            }),
            Filter::InClusterUpgrade => {
                let Some(from) = ask.from.map(|i| &ask.cluster.hosts[i]) else {
                    return Ok(());
                };
                let source = from
                    .os
                    .parsed
                    .as_ref()
                    .map_err(|e| Rejection::UnknownSourceOs(e))?;
                let target = host
                    .os
                    .parsed
                    .as_ref()
                    .map_err(|e| Rejection::UnknownOs(e))?;
                if target.family != source.family {
                    Err(Rejection::OtherFamily {
                        host: &target.family,
                        vm: &source.family,
                    })
                } else if target.major < source.major {
                    Err(Rejection::OlderOs {
                        host: &host.os.text,
                        vm: &from.os.text,
                    })
                } else {
                    Ok(())
                }
            }
            _ => Ok(()),
        }
    }
}

impl Weight {
    pub fn name(self) -> &'static str {
        match self {
            Weight::EvenDistribution => "EvenDistribution",
            Weight::PowerSaving => "PowerSaving",
            Weight::InClusterUpgrade => "InClusterUpgrade",
        }
    }

    /// The penalty of sending the VM to the host of `slot`; lower is better.
    pub(super) fn penalty(self, ask: &Ask<'_>, slot: &Slot) -> i64 {
        let free_after = || {
            let free = slot.free_mb.saturating_sub(ask.vm.memory_mb);
            i64::try_from(free).unwrap_or(i64::MAX)
        };
        match self {
            Weight::EvenDistribution => -free_after(),
            Weight::PowerSaving => free_after(),
            Weight::InClusterUpgrade => match ask.reference {
                Some((family, rank)) if family == slot.family && family != UNKNOWN_FAMILY => {
                    match slot.rank.cmp(&rank) {
                        std::cmp::Ordering::Greater => 0,
                        std::cmp::Ordering::Equal => OS_TIER,
                        std::cmp::Ordering::Less => 2 * OS_TIER,
                    }
                }
                _ => 2 * OS_TIER,
            },
        }
    }
}
