//! The API types shared by the browser and the server.
//!
//! These structs *are* the JSON contract of SPEC §4: the REST handlers serialize them as they are
//! and the portal's server functions return them, so the two can never drift apart.

use serde::{Deserialize, Serialize};

mod appliance;
pub use appliance::*;

/// A closed set of values with a JSON spelling and on-screen words: what a filter's `<select>`
/// offers.
pub trait Labelled: Copy + PartialEq + Send + Sync + 'static {
    fn all() -> &'static [Self];
    fn as_str(self) -> &'static str;
    fn label(self) -> &'static str;
    fn parse(value: &str) -> Option<Self>;
}

/// Declares a snake_case string enum with its on-screen label, so the JSON value, the URL value
/// and the words on screen (SPEC §1) are written in exactly one place.
macro_rules! labelled_enum {
    ($(#[$meta:meta])* $name:ident { $($variant:ident => $value:literal, $label:literal;)+ }) => {
        $(#[$meta])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
        #[serde(rename_all = "snake_case")]
        pub enum $name { $($variant),+ }

        impl $name {
            /// Every value, in declaration order (for filters and validation messages).
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            /// The JSON / URL / database spelling.
            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $value),+ }
            }

            /// The words on screen.
            pub fn label(self) -> &'static str {
                match self { $($name::$variant => $label),+ }
            }

            /// Parses the JSON spelling; `None` for anything else.
            pub fn parse(value: &str) -> Option<Self> {
                match value { $($value => Some($name::$variant),)+ _ => None }
            }
        }

        impl Labelled for $name {
            fn all() -> &'static [Self] { Self::ALL }
            fn as_str(self) -> &'static str { $name::as_str(self) }
            fn label(self) -> &'static str { $name::label(self) }
            fn parse(value: &str) -> Option<Self> { $name::parse(value) }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

// After the macro: the module's enums are declared with it.
mod portal;
pub use portal::*;
mod errata;
pub use errata::*;
mod providers;
pub use providers::*;

labelled_enum!(
    /// A host's status (SPEC §1).
    HostStatus {
        Up => "up", "Up";
        Maintenance => "maintenance", "Maintenance";
        PreparingForMaintenance => "preparing_for_maintenance", "Preparing For Maintenance";
        Installing => "installing", "Installing";
        InstallFailed => "install_failed", "Install Failed";
        Reboot => "reboot", "Reboot";
        Initializing => "initializing", "Initializing";
        NonOperational => "non_operational", "Non Operational";
        NonResponsive => "non_responsive", "Non Responsive";
        Down => "down", "Down";
    }
);

labelled_enum!(
    /// A VM's status (SPEC §1).
    VmStatus {
        Up => "up", "Up";
        Down => "down", "Down";
        Suspended => "suspended", "Suspended";
        Paused => "paused", "Paused";
        Migrating => "migrating", "Migrating";
    }
);

labelled_enum!(
    /// How a VM may be migrated (SPEC §1).
    MigrationMode {
        Migratable => "migratable", "Migratable";
        UserMigratable => "user_migratable", "User Migratable";
        Pinned => "pinned", "Pinned";
    }
);

labelled_enum!(
    /// A cluster's scheduling policy (SPEC §8): the policy units behind each live in the
    /// server's scheduler.
    SchedulingPolicy {
        None => "none", "None";
        EvenlyDistributed => "evenly_distributed", "Evenly distributed";
        PowerSaving => "power_saving", "Power saving";
        InClusterUpgrade => "in_cluster_upgrade", "In-cluster upgrade";
        ClusterMaintenance => "cluster_maintenance", "Cluster maintenance";
    }
);

labelled_enum!(
    /// How a host is upgraded (seed 000): a plain host package by package, an oVirt Node as a
    /// whole new image, always with a reboot.
    HostType {
        Plain => "plain", "Plain host";
        Node => "node", "oVirt Node";
    }
);

labelled_enum!(
    /// What a user may do: admins everything, viewers read.
    Role {
        Admin => "admin", "Admin";
        Viewer => "viewer", "Viewer";
    }
);

impl HostStatus {
    /// Whether a host in this status may be upgraded (SPEC §1) — and checked for updates.
    pub fn allows_upgrade(self) -> bool {
        matches!(
            self,
            HostStatus::Up
                | HostStatus::Maintenance
                | HostStatus::NonOperational
                | HostStatus::InstallFailed
        )
    }
}

impl HostStatus {
    /// Whether a host in this status may be reinstalled: out of service, in maintenance or
    /// after a failed install (seed 002 step 6).
    pub fn allows_reinstall(self) -> bool {
        matches!(self, HostStatus::Maintenance | HostStatus::InstallFailed)
    }
}

impl Host {
    /// Whether the Upgrade action applies: updates are known and the status allows it.
    pub fn can_upgrade(&self) -> bool {
        self.updates_available && self.status.allows_upgrade()
    }
}

impl VmStatus {
    /// A VM in this status occupies memory on a host.
    pub fn is_running(self) -> bool {
        matches!(self, VmStatus::Up | VmStatus::Paused | VmStatus::Migrating)
    }
}

/// The authenticated user behind a request.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct Caller {
    pub user_id: String,
    pub name: String,
    pub role: Role,
}

impl Caller {
    pub fn is_admin(&self) -> bool {
        self.role == Role::Admin
    }
}

/// A reference to another object, by id and name.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct Ref {
    pub id: String,
    pub name: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct AvailableUpdate {
    pub name: String,
    pub current_version: String,
    pub available_version: String,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct MemoryMb {
    pub total: u64,
    pub used: u64,
}

/// A host's hosted-engine HA state, as its HA agent reports it (seed 004).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct HostedEngine {
    pub configured: bool,
    /// The agent runs (false while the host is down, rebooting or not answering).
    pub active: bool,
    pub score: u32,
    /// The cluster-wide flag, as this host reports it.
    pub global_maintenance: bool,
    pub local_maintenance: bool,
    /// Whether the engine's own VM runs on this host (an addition to SPEC §4).
    #[serde(default)]
    pub runs_engine_vm: bool,
}

impl HostedEngine {
    /// The "Hosted Engine HA: …" line of the host's General sub-tab (SPEC §7); `None` when the
    /// host has no hosted engine. An agent that does not run reports nothing else; maintenance
    /// says more than the score, so it comes before it.
    pub fn line(&self) -> Option<String> {
        if !self.configured {
            return None;
        }
        Some(if !self.active {
            "Hosted Engine HA: Not Active".to_string()
        } else if self.global_maintenance {
            "Hosted Engine HA: Global Maintenance Enabled".to_string()
        } else if self.local_maintenance {
            "Hosted Engine HA: Local Maintenance Enabled".to_string()
        } else {
            format!("Hosted Engine HA: Active (Score: {})", self.score)
        })
    }
}

labelled_enum!(
    /// Which HA maintenance (seed 004): this host only, or the whole hosted-engine cluster.
    HaMode {
        Local => "local", "Local";
        Global => "global", "Global";
    }
);

/// The body of `POST /api/hosts/{id}/ha_maintenance` (SPEC §9).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct HaMaintenance {
    pub mode: HaMode,
    pub enabled: bool,
}

/// A host as SPEC §4 shows it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct Host {
    pub id: String,
    pub name: String,
    pub address: String,
    pub cluster: Ref,
    pub status: HostStatus,
    /// Plain host or oVirt Node: how it is upgraded.
    #[serde(rename = "type", default = "plain_host")]
    pub host_type: HostType,
    pub os: String,
    pub updates_available: bool,
    #[serde(default)]
    pub available_updates: Vec<AvailableUpdate>,
    /// RFC 3339.
    pub last_update_check: Option<String>,
    #[serde(default)]
    pub supported_cluster_levels: Vec<String>,
    /// The cluster levels the host will support once its pending updates are installed
    /// (empty when nothing is pending or the last check could not tell).
    #[serde(default)]
    pub levels_after_upgrade: Vec<String>,
    pub vm_count: u32,
    pub memory_mb: MemoryMb,
    pub hosted_engine: Option<HostedEngine>,
}

fn plain_host() -> HostType {
    HostType::Plain
}

impl Host {
    /// A hosted-engine host whose HA local maintenance does not match its status: Up (or
    /// Non Operational) with local maintenance on, or in Maintenance with it off (seed 004).
    /// Deactivate or activate the host, or set the HA maintenance, to bring them together.
    pub fn ha_out_of_sync(&self) -> bool {
        let Some(he) = self.hosted_engine.filter(|he| he.configured && he.active) else {
            return false;
        };
        match self.status {
            HostStatus::Up | HostStatus::NonOperational => he.local_maintenance,
            HostStatus::Maintenance => !he.local_maintenance,
            _ => false,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct LevelRange {
    pub min: String,
    pub max: String,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct UpgradeProgress {
    pub job_id: String,
    pub percent_complete: f64,
}

/// What an admin does to a running cluster upgrade (`POST /api/jobs/{id}/...`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum JobControl {
    /// Finish the hosts in flight, start no more.
    Pause,
    Resume,
    /// Finish the hosts in flight, then end `cancelled`.
    Cancel,
}

/// How many hosts a rolling upgrade takes down at once: a number, or `"auto"` (the largest
/// waves the cluster's room allows while nearly every VM moves only once).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "MaxParallelText", into = "MaxParallelText")]
pub enum MaxParallel {
    Hosts(u32),
    Auto,
}

/// `max_parallel` in the OpenAPI document: a number of hosts (at least 1) or `"auto"`.
#[cfg(feature = "ssr")]
impl utoipa::PartialSchema for MaxParallel {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        use utoipa::openapi::schema::{ObjectBuilder, OneOfBuilder, Type};
        OneOfBuilder::new()
            .item(
                ObjectBuilder::new()
                    .schema_type(Type::Integer)
                    .minimum(Some(1)),
            )
            .item(
                ObjectBuilder::new()
                    .schema_type(Type::String)
                    .enum_values(Some(["auto"])),
            )
            .description(Some("a number of hosts, or \"auto\""))
            .into()
    }
}

#[cfg(feature = "ssr")]
impl utoipa::ToSchema for MaxParallel {}

impl Default for MaxParallel {
    fn default() -> Self {
        MaxParallel::Hosts(1)
    }
}

/// `max_parallel` as JSON has it: a number or the word "auto".
#[derive(Clone, Debug, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(untagged)]
pub enum MaxParallelText {
    Number(u32),
    Word(String),
}

impl TryFrom<MaxParallelText> for MaxParallel {
    type Error = String;
    fn try_from(text: MaxParallelText) -> Result<Self, Self::Error> {
        match text {
            MaxParallelText::Number(0) => Err("max_parallel must be at least 1".to_string()),
            MaxParallelText::Number(n) => Ok(MaxParallel::Hosts(n)),
            MaxParallelText::Word(word) if word == "auto" => Ok(MaxParallel::Auto),
            MaxParallelText::Word(word) => Err(format!(
                "max_parallel is a number or \"auto\", not {word:?}"
            )),
        }
    }
}

impl From<MaxParallel> for MaxParallelText {
    fn from(value: MaxParallel) -> Self {
        match value {
            MaxParallel::Hosts(n) => MaxParallelText::Number(n),
            MaxParallel::Auto => MaxParallelText::Word("auto".to_string()),
        }
    }
}

/// The body of `POST /api/clusters/{id}/upgrade` and `/upgrade/plan` (SPEC §4); all optional.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields, default)]
pub struct ClusterUpgradeOptions {
    /// Host ids; `None`: every host of the cluster with updates.
    pub hosts: Option<Vec<String>>,
    pub max_parallel: MaxParallel,
    pub stop_pinned_vms: bool,
    pub reboot: bool,
    /// Check the hosts for updates before the first wave.
    pub check_upgrade: bool,
    pub target_compatibility_version: Option<String>,
    pub max_failed_hosts: u32,
    /// Per-host limit; `None`: `HostUpgradeTimeoutInMinutes`.
    pub timeout_minutes: Option<u64>,
    /// Everything, or only each host's applicable security errata (issue 21).
    pub content: UpgradeContent,
}

impl Default for ClusterUpgradeOptions {
    fn default() -> Self {
        ClusterUpgradeOptions {
            hosts: None,
            max_parallel: MaxParallel::default(),
            stop_pinned_vms: false,
            reboot: true,
            check_upgrade: false,
            target_compatibility_version: None,
            max_failed_hosts: 0,
            timeout_minutes: None,
            content: UpgradeContent::All,
        }
    }
}

/// The plan preview of a rolling upgrade (SPEC §5); hosts and VMs by name.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct UpgradePlan {
    /// `sequential` or `auto`.
    pub strategy: String,
    pub waves: Vec<PlanWave>,
    pub predicted_migrations: u32,
    /// Of those, the ones to hosts still waiting for their upgrade: those VMs move twice.
    pub predicted_repeat_migrations: u32,
    pub predicted_gib: f64,
    pub predicted_seconds: f64,
    pub blockers: Vec<PlanBlocker>,
    /// The chosen hosts that run hosted-engine HA, and the one running the engine's VM (it
    /// goes last); an addition to SPEC §5.
    #[serde(default)]
    pub hosted_engine_hosts: Vec<String>,
    #[serde(default)]
    pub engine_vm_host: Option<String>,
    /// Per host of the waves linked to a content provider: the errata of each type its
    /// upgrade installs (all that apply, or only the security ones). An addition for issue 21.
    #[serde(default)]
    pub errata: Vec<HostErrataCounts>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct PlanWave {
    pub hosts: Vec<String>,
    pub migrations: Vec<PlanMigration>,
    /// Pinned VMs stopped for the wave and started again on their host after it.
    pub stopped_vms: Vec<String>,
    /// Predicted seconds from the wave's start until its hosts are back.
    pub seconds: f64,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct PlanMigration {
    pub vm: String,
    pub from: String,
    pub to: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct PlanBlocker {
    /// `host_status`, `no_updates`, `pinned_vm` or `no_room`.
    pub kind: String,
    pub message: String,
}

/// A cluster as SPEC §4 shows it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct Cluster {
    pub id: String,
    pub name: String,
    pub compatibility_version: String,
    pub scheduling_policy: String,
    pub host_count: u32,
    pub hosts_with_updates: u32,
    pub supported_levels: Option<LevelRange>,
    pub upgrade: Option<UpgradeProgress>,
    /// The applicable security errata of its hosts linked to a content provider, as their
    /// providers last said; `None` when no host is linked (issue 21).
    #[serde(default)]
    pub security_errata: Option<u32>,
}

/// A VM as SPEC §4 shows it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct Vm {
    pub id: String,
    pub name: String,
    pub status: VmStatus,
    pub host: Option<Ref>,
    /// The cluster whose hosts may run the VM; a VM that runs nowhere keeps it.
    pub cluster: Option<Ref>,
    pub memory_mb: u64,
    pub cpus: u32,
    pub migration: MigrationMode,
    pub migrations: u32,
    pub highly_available: bool,
    pub cpu_pinning: bool,
    pub numa_pinning: bool,
    /// PCI passthrough.
    pub host_devices: bool,
}

/// What an admin can do to a VM's power state.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum VmAction {
    /// Run a VM that is down or suspended, on the host its cluster's policy picks.
    Start,
    /// Shut a running VM down.
    Stop,
    /// Save a running VM's memory and stop it; it starts again where it left off.
    Suspend,
}

/// The body of `PUT /api/vms/{id}`; absent fields stay as they are.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct VmUpdate {
    pub migration: Option<MigrationMode>,
    pub cpu_pinning: Option<bool>,
    pub numa_pinning: Option<bool>,
    pub host_devices: Option<bool>,
}

/// The body of `POST /api/vms/{id}/migrate`: the target host, or none for the scheduler's
/// choice ("the best host").
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct VmMigrate {
    #[serde(default)]
    pub host: Option<String>,
}

/// Why a VM goes where it goes (`GET /api/vms/{id}/placement`): every host of its cluster with
/// the filter that rejected it or its weighted score, under the cluster's policy now.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct Placement {
    pub vm: Ref,
    pub cluster: Ref,
    pub policy: String,
    /// `migrate` for a running VM (from its host), `start` for one that runs nowhere.
    pub action: String,
    /// The host the scheduler picks now; `null` when none passes the filters.
    pub chosen: Option<Ref>,
    /// Candidates first, lowest penalty first; then the rejected hosts by name.
    pub hosts: Vec<HostVerdict>,
}

/// One host in a placement explanation.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct HostVerdict {
    pub host: Ref,
    pub status: HostStatus,
    pub os: String,
    /// The filter that rejected the host, and why; `null` for a candidate.
    pub filter: Option<String>,
    pub reason: Option<String>,
    /// A candidate's total penalty (lower wins) and each weight's share.
    pub score: Option<i64>,
    pub weights: Vec<UnitScore>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct UnitScore {
    pub unit: String,
    pub score: i64,
}

/// An entry of the event log.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct Event {
    pub id: i64,
    pub code: String,
    pub severity: Severity,
    /// RFC 3339.
    pub time: String,
    pub message: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub host: Option<Ref>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cluster: Option<Ref>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub correlation_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
}

labelled_enum!(
    /// How much an event matters.
    Severity {
        Normal => "normal", "Normal";
        Warning => "warning", "Warning";
        Error => "error", "Error";
    }
);

labelled_enum!(
    /// The columns the hosts list sorts by.
    HostSort {
        Name => "name", "Name";
        Cluster => "cluster", "Cluster";
        Status => "status", "Status";
        Os => "os", "OS";
        VmCount => "vms", "VMs";
        Memory => "memory", "Memory";
    }
);

/// One page of a longer list.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub total: u64,
    pub page: u32,
    pub per_page: u32,
}

impl<T> Page<T> {
    /// How many pages the whole list spans (at least one, so "page 1 of 1" reads right).
    pub fn page_count(&self) -> u32 {
        let per_page = u64::from(self.per_page.max(1));
        u32::try_from(self.total.div_ceil(per_page).max(1)).unwrap_or(u32::MAX)
    }
}

/// The default and largest page sizes for paged lists.
pub const DEFAULT_PER_PAGE: u32 = 25;
pub const MAX_PER_PAGE: u32 = 10_000;

/// Filters, order and page of the hosts list. Every field is optional so a bare `/hosts` URL
/// and a bare `GET /api/hosts` mean "everything, by name".
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::IntoParams))]
#[cfg_attr(feature = "ssr", into_params(parameter_in = Query))]
#[serde(default)]
pub struct HostQuery {
    /// Cluster id.
    pub cluster: Option<String>,
    pub status: Option<HostStatus>,
    pub has_updates: bool,
    /// Case-insensitive part of the host's name.
    pub search: Option<String>,
    pub sort: Option<HostSort>,
    pub desc: bool,
    /// 1-based; `None` means the first page.
    pub page: Option<u32>,
    pub per_page: Option<u32>,
}

/// Filters and page of the VMs list.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::IntoParams))]
#[cfg_attr(feature = "ssr", into_params(parameter_in = Query))]
#[serde(default)]
pub struct VmQuery {
    /// Host id.
    pub host: Option<String>,
    pub status: Option<VmStatus>,
    pub search: Option<String>,
    pub page: Option<u32>,
    pub per_page: Option<u32>,
}

/// Filters and page of the event log.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::IntoParams))]
#[cfg_attr(feature = "ssr", into_params(parameter_in = Query))]
#[serde(default)]
pub struct EventQuery {
    /// Only events with a larger id (for polling).
    pub after: Option<i64>,
    pub severity: Option<Severity>,
    pub correlation_id: Option<String>,
    /// Host id.
    pub host: Option<String>,
    /// Cluster id.
    pub cluster: Option<String>,
    pub page: Option<u32>,
    pub per_page: Option<u32>,
}

/// What the dashboard counts.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct Dashboard {
    pub clusters: u64,
    pub hosts: u64,
    pub hosts_with_updates: u64,
    pub vms: u64,
    pub vms_running: u64,
    /// Hosts per status, only statuses that occur.
    pub hosts_by_status: Vec<(HostStatus, u64)>,
    /// Per cluster, its hosts' memory and state: the dashboard's picture.
    #[serde(default)]
    pub memory: Vec<ClusterMemory>,
}

labelled_enum!(
    /// Where a job is in its life (SPEC §1).
    JobStatus {
        Pending => "pending", "Pending";
        Running => "running", "Running";
        Pausing => "pausing", "Pausing";
        Paused => "paused", "Paused";
        Succeeded => "succeeded", "Succeeded";
        Failed => "failed", "Failed";
        Cancelling => "cancelling", "Cancelling";
        Cancelled => "cancelled", "Cancelled";
    }
);

labelled_enum!(
    /// What a job does (SPEC §1).
    JobKind {
        HostUpgradeCheck => "host_upgrade_check", "Host upgrade check";
        ClusterUpgradeCheck => "cluster_upgrade_check", "Cluster upgrade check";
        ClusterUpgrade => "cluster_upgrade", "Cluster upgrade";
        HostMaintenance => "host_maintenance", "Host maintenance";
        HostActivate => "host_activate", "Host activation";
        HostUpgrade => "host_upgrade", "Host upgrade";
        EngineUpdateCheck => "engine_update_check", "Engine update check";
        HostHaMaintenance => "host_ha_maintenance", "Hosted engine HA maintenance";
        HostedEngineUpgrade => "hosted_engine_upgrade", "Hosted engine appliance upgrade";
        HostedEngineRollback => "hosted_engine_rollback", "Hosted engine rollback";
        VmMigrate => "vm_migrate", "VM migration";
        HostReinstall => "host_reinstall", "Host reinstall";
        HostErrataInstall => "host_errata_install", "Errata install";
    }
);

impl JobStatus {
    /// Whether the job has ended for good.
    pub fn is_final(self) -> bool {
        matches!(
            self,
            JobStatus::Succeeded | JobStatus::Failed | JobStatus::Cancelled
        )
    }
}

/// One step of a job: a phase of work on one host.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct JobStep {
    pub host: Option<Ref>,
    pub phase: String,
    /// The step's kind, the same for every step of its kind (`migrate`, `install`, …); older
    /// steps have none. An addition to SPEC §4.
    #[serde(default)]
    pub name: Option<String>,
    pub status: JobStatus,
    pub started_at: String,
    pub ended_at: Option<String>,
    pub message: Option<String>,
}

/// Long work the API and the UI can follow (SPEC §4).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct Job {
    pub id: String,
    pub kind: JobKind,
    pub status: JobStatus,
    pub percent_complete: f64,
    pub correlation_id: String,
    pub created_at: String,
    pub ended_at: Option<String>,
    pub message: Option<String>,
    /// Absent from the event stream's job messages (their state only); `GET /api/jobs/{id}`
    /// always has them.
    #[serde(default)]
    pub steps: Vec<JobStep>,
}

/// A configuration value (SPEC §3), as `GET /api/config` lists it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct ConfigEntry {
    pub name: String,
    pub value: String,
    pub default: String,
    pub description: String,
}

/// Product and version, as `GET /api` answers.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct About {
    pub product: String,
    pub version: String,
    /// The name of the Uplift instance that answered (several may share one database).
    #[serde(default)]
    pub instance: String,
}

/// One Uplift instance on the shared database, as `GET /api/instances` lists it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct Instance {
    pub id: String,
    /// `uplift serve --instance-name` (default: the machine's host name).
    pub name: String,
    /// The address it listens on, as it said at its start.
    pub address: String,
    pub version: String,
    /// RFC 3339.
    pub started_at: String,
    pub last_heartbeat_seconds_ago: f64,
    /// It beat within the lease time (`JobLeaseTimeInSeconds`).
    pub alive: bool,
    /// The instance that answered this request.
    pub this: bool,
    pub work: InstanceWork,
}

/// What an instance holds now.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct InstanceWork {
    /// The ids of the unfinished jobs it runs.
    pub jobs: Vec<String>,
    /// It runs the work only one instance does (periodic checks, deliveries, monitors).
    pub background: bool,
}

/// `GET /api/engine` (SPEC §4, §6): the engine's version and the newest release, if newer.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct EngineStatus {
    pub version: String,
    pub update_available: bool,
    pub available_version: Option<String>,
    /// RFC 3339; `null` before the first check.
    pub last_checked: Option<String>,
    /// The release notes of the available version, when the feed gives them.
    pub notes_url: Option<String>,
    /// Why the last check failed (the answer above is then the previous one).
    pub last_error: Option<String>,
    /// Uplift's own build.
    pub uplift_version: String,
}

/// The event kinds one can subscribe to (SPEC §4).
pub const SUBSCRIBABLE_EVENTS: [&str; 5] = [
    "engine_update_available",
    "host_updates_available",
    "host_upgrade_failed",
    "cluster_upgrade_finished",
    "cluster_upgrade_failed",
];

/// A notification subscription (`GET /api/subscriptions`): one event kind, one way.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct Subscription {
    pub id: String,
    pub event: String,
    /// `webhook` or `email`.
    pub method: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub address: Option<String>,
    /// Only in the answer to its creation: the webhook's HMAC key, shown once.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub secret: Option<String>,
    pub created_at: String,
}

/// The body of `POST /api/subscriptions`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct NewSubscription {
    pub event: String,
    pub method: String,
    #[serde(default)]
    pub url: Option<String>,
    #[serde(default)]
    pub address: Option<String>,
    /// The webhook's HMAC key; a random one is made (and returned once) when absent.
    #[serde(default)]
    pub secret: Option<String>,
}

/// One attempt record of sending an event to a subscription.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct Delivery {
    pub id: i64,
    pub subscription_id: String,
    pub event: String,
    pub message: String,
    /// `pending`, `delivered` or `failed`.
    pub status: String,
    pub attempts: u32,
    pub last_error: Option<String>,
    pub delivered_at: Option<String>,
}

/// A URL from outside (a release feed's `notes_url`) as a link target: only an absolute
/// http(s) URL is one; anything else (`javascript:`, `data:`, relative) is never linked.
pub fn web_link(url: &str) -> Option<&str> {
    let url = url.trim();
    let scheme_end = url.find("://")?;
    let scheme = &url[..scheme_end];
    let rest = &url[scheme_end + 3..];
    let web = scheme.eq_ignore_ascii_case("http") || scheme.eq_ignore_ascii_case("https");
    let clean = !url.chars().any(|c| c.is_control() || c.is_whitespace());
    (web && clean && !rest.is_empty() && !rest.starts_with('/')).then_some(url)
}

/// The body of every error answer: `{"error": {"code", "message"}}` (SPEC §4).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[error("{message}")]
pub struct ApiError {
    pub code: String,
    pub message: String,
}

impl ApiError {
    pub fn new(code: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            code: code.into(),
            message: message.into(),
        }
    }

    /// The HTTP status an error with this code answers with (SPEC §4): one table for the REST
    /// API and the server functions, so a refused value is a 400 on both, not a 500.
    pub fn status(&self) -> u16 {
        match self.code.as_str() {
            "unauthenticated" | "invalid_credentials" => 401,
            "forbidden" => 403,
            "not_found" => 404,
            "conflict" => 409,
            "too_many_attempts" | "too_many_streams" => 429,
            "host_failed" | "provider_failed" => 502,
            "busy" => 503,
            "internal_error" => 500,
            // Every other code names a bad input (`invalid_*`).
            _ => 400,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_round_trip_through_their_json_spelling() {
        for status in HostStatus::ALL {
            assert_eq!(HostStatus::parse(status.as_str()), Some(*status));
        }
        assert_eq!(
            HostStatus::PreparingForMaintenance.label(),
            "Preparing For Maintenance"
        );
        assert_eq!(HostStatus::parse("Up"), None);
    }

    #[test]
    fn only_absolute_http_urls_are_links() {
        assert_eq!(
            web_link("https://x.example/4.5.2"),
            Some("https://x.example/4.5.2")
        );
        assert_eq!(web_link(" HTTP://x.example "), Some("HTTP://x.example"));
        for bad in [
            "javascript:alert(1)",
            "JavaScript://x.example/%0aalert(1)",
            "data:text/html,<script>alert(1)</script>",
            "/relative",
            "//x.example",
            "http:///x",
            "https://x.example/a b",
            "http://x.example/\nx",
            "vbscript:x",
            "",
        ] {
            assert_eq!(web_link(bad), None, "{bad}");
        }
    }

    #[test]
    fn page_count_is_at_least_one() {
        let page = Page::<u8> {
            items: vec![],
            total: 0,
            page: 1,
            per_page: 25,
        };
        assert_eq!(page.page_count(), 1);
        let page = Page::<u8> { total: 51, ..page };
        assert_eq!(page.page_count(), 3);
    }
}

#[cfg(test)]
mod hosted_engine_tests {
    use super::*;

    #[test]
    fn the_ha_line_says_exactly_one_thing() {
        let he = HostedEngine {
            configured: true,
            active: true,
            score: 3400,
            global_maintenance: false,
            local_maintenance: false,
            runs_engine_vm: false,
        };
        let line = |he: HostedEngine| he.line().unwrap_or_default();
        assert_eq!(line(he), "Hosted Engine HA: Active (Score: 3400)");
        assert_eq!(
            line(HostedEngine {
                local_maintenance: true,
                ..he
            }),
            "Hosted Engine HA: Local Maintenance Enabled"
        );
        assert_eq!(
            line(HostedEngine {
                local_maintenance: true,
                global_maintenance: true,
                ..he
            }),
            "Hosted Engine HA: Global Maintenance Enabled"
        );
        assert_eq!(
            line(HostedEngine {
                active: false,
                local_maintenance: true,
                ..he
            }),
            "Hosted Engine HA: Not Active"
        );
        assert_eq!(
            HostedEngine {
                configured: false,
                ..he
            }
            .line(),
            None
        );
    }
}
