//! The fleet file (SPEC §8): strict TOML for the simulated datacenter.
//!
//! Strict because a typo in a fleet file silently changes a demo or a benchmark: unknown keys
//! and bad values are refused, references must resolve, and no host may be given more VM memory
//! than it has. Every refusal names the file and the line, so an admin can fix it at once.

use std::collections::{BTreeMap, HashMap, HashSet};

use app::api::{HostStatus, HostType, MigrationMode, VmStatus};
use serde::Deserialize;
use toml::Spanned;

use crate::domain::{host_can_run_vms, is_cluster_level, SchedulingPolicy};

/// A fleet file that cannot be used, with where and why.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("{file}:{}{reason}", if *.line > 0 { format!("{}: ", .line) } else { " ".to_string() })]
pub struct FleetError {
    pub file: String,
    /// 1-based; 0 when the file could not be read at all.
    pub line: usize,
    pub reason: String,
}

impl FleetError {
    /// The error at byte `span` of `text` (line 1 when there is no span).
    pub(super) fn at(
        file: &str,
        text: &str,
        span: Option<std::ops::Range<usize>>,
        reason: String,
    ) -> FleetError {
        FleetError {
            file: file.to_string(),
            line: span.map_or(1, |s| line_of(text, s.start)),
            reason,
        }
    }
}

/// Strict TOML into `T`, errors with file and line.
pub(super) fn parse_toml<T: serde::de::DeserializeOwned>(
    file: &str,
    text: &str,
) -> Result<T, FleetError> {
    toml::from_str(text).map_err(|e| FleetError::at(file, text, e.span(), tidy(e.message())))
}

/// A validated fleet: every name unique, every reference resolved, memory within limits.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Fleet {
    /// `kind = "sim"` (the default); `ssh` fleets are `super::ssh::SshFleet`.
    #[serde(default)]
    pub driver: Option<SimDriverTable>,
    #[serde(default)]
    pub simulation: Simulation,
    #[serde(default)]
    pub engine: Engine,
    #[serde(default)]
    pub repository: Repository,
    #[serde(default, rename = "cluster")]
    pub clusters: Vec<ClusterSpec>,
    #[serde(default, rename = "host")]
    pub hosts: Vec<HostSpec>,
    #[serde(default, rename = "vm")]
    pub vms: Vec<VmSpec>,
    /// The hosted-engine storage domain, appliance and catalog (SPEC §9).
    #[serde(default)]
    pub hosted_engine: Option<super::file_he::HostedEngineWorld>,
    /// The advisories the simulator's content provider offers (SPEC §9, issue 21).
    #[serde(default, rename = "erratum")]
    pub errata: Vec<super::file_errata::ErratumSpec>,
}

/// The `[driver]` table of a simulated fleet: `kind = "sim"` only.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SimDriverTable {
    pub kind: SimKind,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SimKind {
    Sim,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Simulation {
    #[serde(default)]
    pub speed: Option<Spanned<f64>>,
    #[serde(default)]
    pub seed: u64,
    #[serde(default)]
    pub migration_gbps: Option<Spanned<f64>>,
    #[serde(default)]
    pub max_migrations_per_host: Option<Spanned<u32>>,
    /// How long an update check takes (an addition to SPEC §8's keys).
    #[serde(default)]
    pub check_seconds: Option<Spanned<f64>>,
}

impl Simulation {
    pub fn speed(&self) -> f64 {
        self.speed.as_ref().map_or(1.0, |s| *s.get_ref())
    }
    pub fn migration_gbps(&self) -> f64 {
        self.migration_gbps.as_ref().map_or(10.0, |s| *s.get_ref())
    }
    pub fn check_seconds(&self) -> f64 {
        self.check_seconds.as_ref().map_or(2.0, |s| *s.get_ref())
    }
    pub fn max_migrations_per_host(&self) -> u32 {
        self.max_migrations_per_host
            .as_ref()
            .map_or(2, |s| *s.get_ref())
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Engine {
    #[serde(default = "default_engine_version")]
    pub version: String,
    #[serde(default)]
    pub available_version: Option<String>,
}

fn default_engine_version() -> String {
    env!("CARGO_PKG_VERSION").to_string()
}

impl Default for Engine {
    fn default() -> Self {
        Self {
            version: default_engine_version(),
            available_version: None,
        }
    }
}

/// What an upgrade brings (SPEC §8).
#[derive(Debug, Default, Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields)]
pub struct Repository {
    #[serde(default)]
    pub os: Option<String>,
    #[serde(default)]
    pub supported_cluster_levels: Vec<String>,
    #[serde(default)]
    pub packages: BTreeMap<String, String>,
    /// The oVirt Node image version the repository offers node hosts.
    #[serde(default)]
    pub node_image: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClusterSpec {
    pub name: Spanned<String>,
    pub compatibility_version: Spanned<String>,
    #[serde(default = "default_policy")]
    pub scheduling_policy: SchedulingPolicy,
    #[serde(default)]
    pub memory_headroom_percent: Option<Spanned<u32>>,
}

fn default_policy() -> SchedulingPolicy {
    SchedulingPolicy::None
}

impl ClusterSpec {
    pub fn memory_headroom_percent(&self) -> u32 {
        self.memory_headroom_percent
            .as_ref()
            .map_or(10, |p| *p.get_ref())
    }
}

/// How a simulated host misbehaves, for demos and tests of the failure paths.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "snake_case")]
pub enum FailMode {
    #[default]
    None,
    Check,
    Upgrade,
    Reboot,
    Maintenance,
    Reinstall,
    /// The `sim` content provider says the host cannot install content (no katello-agent).
    NoAgent,
    /// The `sim` content provider's install tasks on the host fail.
    Errata,
}

impl FailMode {
    pub fn as_str(self) -> &'static str {
        match self {
            FailMode::None => "none",
            FailMode::Check => "check",
            FailMode::Upgrade => "upgrade",
            FailMode::Reboot => "reboot",
            FailMode::Maintenance => "maintenance",
            FailMode::Reinstall => "reinstall",
            FailMode::NoAgent => "no_agent",
            FailMode::Errata => "errata",
        }
    }
}

#[derive(Debug, Default, Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields)]
pub struct HostedEngineSpec {
    #[serde(default)]
    pub configured: bool,
    #[serde(default)]
    pub active: bool,
    #[serde(default)]
    pub score: u32,
    #[serde(default)]
    pub global_maintenance: bool,
    #[serde(default)]
    pub local_maintenance: bool,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HostSpec {
    pub name: Spanned<String>,
    pub cluster: Spanned<String>,
    #[serde(default)]
    pub address: Option<String>,
    #[serde(default = "default_host_status")]
    pub status: HostStatus,
    /// `plain` (the default) or `node`: an oVirt Node, upgraded as a whole image.
    #[serde(default = "plain_type", rename = "type")]
    pub host_type: Spanned<HostType>,
    /// A node's image version (nodes only).
    #[serde(default)]
    pub image: Option<String>,
    pub os: String,
    #[serde(default = "default_cpu_cores")]
    pub cpu_cores: u32,
    pub memory_gb: Spanned<f64>,
    #[serde(default)]
    pub supported_cluster_levels: Vec<String>,
    #[serde(default)]
    pub packages: BTreeMap<String, String>,
    #[serde(default = "default_upgrade_seconds")]
    pub upgrade_seconds: f64,
    #[serde(default = "default_reboot_seconds")]
    pub reboot_seconds: f64,
    /// How long redeploying the host's management software takes.
    #[serde(default = "default_reinstall_seconds")]
    pub reinstall_seconds: f64,
    #[serde(default)]
    pub fail: FailMode,
    #[serde(default)]
    pub hosted_engine: Option<HostedEngineSpec>,
    /// The storage pool manager of its cluster (SPEC §9).
    #[serde(default = "not_spm")]
    pub spm: Spanned<bool>,
}

fn plain_type() -> Spanned<HostType> {
    Spanned::new(0..0, HostType::Plain)
}

fn not_spm() -> Spanned<bool> {
    Spanned::new(0..0, false)
}

fn default_host_status() -> HostStatus {
    HostStatus::Up
}
fn default_cpu_cores() -> u32 {
    32
}
fn default_reinstall_seconds() -> f64 {
    30.0
}
fn default_upgrade_seconds() -> f64 {
    240.0
}
fn default_reboot_seconds() -> f64 {
    180.0
}

impl HostSpec {
    pub fn address(&self) -> &str {
        self.address.as_deref().unwrap_or(self.name.get_ref())
    }
    pub fn memory_mb(&self) -> u64 {
        gb_to_mb(*self.memory_gb.get_ref())
    }

    /// A node has an image version and no package list; a plain host no image.
    fn validate_type(&self) -> Result<(), (std::ops::Range<usize>, String)> {
        let name = self.name.get_ref();
        let span = || match self.host_type.span() {
            span if span.is_empty() => self.name.span(),
            span => span,
        };
        match (self.host_type.get_ref(), &self.image) {
            (HostType::Node, None) => Err((
                span(),
                format!("node host {name} needs its image version (image = \"4.5.2\")"),
            )),
            (HostType::Node, Some(_)) if !self.packages.is_empty() => Err((
                span(),
                format!("node host {name} is upgraded as a whole image; it lists no packages"),
            )),
            (HostType::Plain, Some(_)) => Err((
                span(),
                format!("host {name} has an image, which only node hosts (type = \"node\") have"),
            )),
            _ => Ok(()),
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VmSpec {
    pub name: Spanned<String>,
    #[serde(default)]
    pub host: Option<Spanned<String>>,
    /// The cluster of a VM that runs nowhere (down or suspended), so it can start again; a
    /// running VM's cluster is its host's.
    #[serde(default)]
    pub cluster: Option<Spanned<String>>,
    #[serde(default)]
    pub status: Option<Spanned<VmStatus>>,
    #[serde(default = "default_cpus")]
    pub cpus: u32,
    pub memory_gb: Spanned<f64>,
    #[serde(default = "default_migration")]
    pub migration: MigrationMode,
    #[serde(default)]
    pub cpu_pinning: bool,
    #[serde(default)]
    pub numa_pinning: bool,
    #[serde(default)]
    pub host_devices: bool,
    #[serde(default)]
    pub highly_available: bool,
    #[serde(default)]
    pub hosted_engine: bool,
}

fn default_cpus() -> u32 {
    1
}
fn default_migration() -> MigrationMode {
    MigrationMode::Migratable
}

impl VmSpec {
    /// A VM with a host runs unless told otherwise; one without a host is down.
    pub fn status(&self) -> VmStatus {
        match (&self.status, &self.host) {
            (Some(status), _) => *status.get_ref(),
            (None, Some(_)) => VmStatus::Up,
            (None, None) => VmStatus::Down,
        }
    }
    pub fn memory_mb(&self) -> u64 {
        gb_to_mb(*self.memory_gb.get_ref())
    }
}

fn gb_to_mb(gb: f64) -> u64 {
    // Validated positive and finite before use; rounding to whole MiB is what hosts report.
    (gb * 1024.0).round() as u64
}

impl Fleet {
    /// Parses and validates `text`, naming `file` in every error.
    pub fn parse(file: &str, text: &str) -> Result<Fleet, FleetError> {
        let fleet: Fleet = parse_toml(file, text)?;
        fleet
            .validate()
            .map_err(|(span, reason)| FleetError::at(file, text, Some(span), reason))?;
        Ok(fleet)
    }

    /// Everything the TOML types cannot say. Errors carry the byte span they point at.
    fn validate(&self) -> Result<(), (std::ops::Range<usize>, String)> {
        let sim = &self.simulation;
        if let Some(speed) = &sim.speed {
            positive(speed, "speed")?;
        }
        if let Some(gbps) = &sim.migration_gbps {
            positive(gbps, "migration_gbps")?;
        }
        if let Some(seconds) = &sim.check_seconds {
            let v = *seconds.get_ref();
            if !(v.is_finite() && v >= 0.0) {
                return Err((
                    seconds.span(),
                    format!("check_seconds must be zero or more, not {v}"),
                ));
            }
        }
        if let Some(max) = &sim.max_migrations_per_host {
            if *max.get_ref() == 0 {
                return Err((
                    max.span(),
                    "max_migrations_per_host must be at least 1".into(),
                ));
            }
        }

        let cluster_names = validate_clusters(&self.clusters)?;

        let mut hosts = HashMap::new();
        for host in &self.hosts {
            if hosts.insert(host.name.get_ref().as_str(), host).is_some() {
                return Err(duplicate(&host.name, "host"));
            }
            if !cluster_names.contains(host.cluster.get_ref().as_str()) {
                return Err((
                    host.cluster.span(),
                    format!(
                        "host {} is in cluster {:?}, which the file does not define",
                        host.name.get_ref(),
                        host.cluster.get_ref()
                    ),
                ));
            }
            positive(&host.memory_gb, "memory_gb")?;
            host.validate_type()?;
            if host.os.trim().is_empty() {
                return Err((
                    host.name.span(),
                    format!("host {} has an empty os", host.name.get_ref()),
                ));
            }
        }

        let mut vm_names = HashSet::new();
        let mut used_mb: HashMap<&str, u64> = HashMap::new();
        for vm in &self.vms {
            unique(&mut vm_names, &vm.name, "VM")?;
            positive(&vm.memory_gb, "memory_gb")?;
            if let Some(cluster) = &vm.cluster {
                let known = self
                    .clusters
                    .iter()
                    .any(|c| c.name.get_ref() == cluster.get_ref());
                if !known {
                    return Err((
                        cluster.span(),
                        format!(
                            "VM {} is in cluster {:?}, which the file does not define",
                            vm.name.get_ref(),
                            cluster.get_ref()
                        ),
                    ));
                }
            }
            let status = vm.status();
            match (&vm.host, status.is_running()) {
                (Some(host_ref), true) => {
                    let host = hosts.get(host_ref.get_ref().as_str()).ok_or_else(|| {
                        (
                            host_ref.span(),
                            format!(
                                "VM {} is on host {:?}, which the file does not define",
                                vm.name.get_ref(),
                                host_ref.get_ref()
                            ),
                        )
                    })?;
                    if let Some(cluster) = vm
                        .cluster
                        .as_ref()
                        .filter(|c| c.get_ref() != host.cluster.get_ref())
                    {
                        return Err((
                            cluster.span(),
                            format!(
                                "VM {} runs on host {} of cluster {}, not {}",
                                vm.name.get_ref(),
                                host.name.get_ref(),
                                host.cluster.get_ref(),
                                cluster.get_ref()
                            ),
                        ));
                    }
                    if !host_can_run_vms(host.status) {
                        return Err((
                            host_ref.span(),
                            format!(
                                "VM {} runs on host {}, which is {} and cannot run VMs",
                                vm.name.get_ref(),
                                host.name.get_ref(),
                                host.status.label()
                            ),
                        ));
                    }
                    *used_mb.entry(host.name.get_ref().as_str()).or_default() += vm.memory_mb();
                }
                (Some(host_ref), false) => {
                    return Err((
                        host_ref.span(),
                        format!(
                            "VM {} is {} and so cannot have a host",
                            vm.name.get_ref(),
                            status
                        ),
                    ));
                }
                (None, true) => {
                    return Err((
                        vm.name.span(),
                        format!("VM {} is {} but has no host", vm.name.get_ref(), status),
                    ));
                }
                (None, false) => {}
            }
        }

        for host in &self.hosts {
            let used = used_mb
                .get(host.name.get_ref().as_str())
                .copied()
                .unwrap_or(0);
            if used > host.memory_mb() {
                return Err((
                    host.memory_gb.span(),
                    format!(
                        "host {} is overcommitted: its running VMs need {:.1} GiB but it has {} GiB",
                        host.name.get_ref(),
                        used as f64 / 1024.0,
                        host.memory_gb.get_ref()
                    ),
                ));
            }
        }
        super::file_errata::validate_errata(&self.errata)?;
        self.validate_hosted_engine(&cluster_names)
    }

    /// `[hosted_engine]` names a cluster of the file; each cluster has at most one SPM.
    fn validate_hosted_engine(
        &self,
        clusters: &HashSet<&str>,
    ) -> Result<(), (std::ops::Range<usize>, String)> {
        let mut spm = HashSet::new();
        for host in self.hosts.iter().filter(|h| *h.spm.get_ref()) {
            if !spm.insert(host.cluster.get_ref().as_str()) {
                return Err((
                    host.spm.span(),
                    format!(
                        "cluster {} has a second SPM host ({}); a cluster has one",
                        host.cluster.get_ref(),
                        host.name.get_ref()
                    ),
                ));
            }
        }
        let Some(world) = &self.hosted_engine else {
            return Ok(());
        };
        if !clusters.contains(world.cluster.get_ref().as_str()) {
            return Err((
                world.cluster.span(),
                format!(
                    "hosted_engine names cluster {}, which the file does not define",
                    world.cluster.get_ref()
                ),
            ));
        }
        world.validate()
    }
}

/// Cluster names are unique, levels look like levels, headroom is sane; returns the names.
pub(super) fn validate_clusters(
    clusters: &[ClusterSpec],
) -> Result<HashSet<&str>, (std::ops::Range<usize>, String)> {
    let mut cluster_names = HashSet::new();
    for cluster in clusters {
        unique(&mut cluster_names, &cluster.name, "cluster")?;
        let level = &cluster.compatibility_version;
        if !is_cluster_level(level.get_ref()) {
            return Err((
                level.span(),
                format!(
                    "compatibility_version {:?} is not a level like \"4.7\"",
                    level.get_ref()
                ),
            ));
        }
        if let Some(headroom) = &cluster.memory_headroom_percent {
            if *headroom.get_ref() > 90 {
                return Err((
                    headroom.span(),
                    "memory_headroom_percent must be 0 to 90".into(),
                ));
            }
        }
    }
    Ok(cluster_names)
}

fn positive(value: &Spanned<f64>, key: &str) -> Result<(), (std::ops::Range<usize>, String)> {
    let v = *value.get_ref();
    if v.is_finite() && v > 0.0 {
        Ok(())
    } else {
        Err((
            value.span(),
            format!("{key} must be a positive number, not {v}"),
        ))
    }
}

pub(super) fn unique<'a>(
    seen: &mut HashSet<&'a str>,
    name: &'a Spanned<String>,
    kind: &str,
) -> Result<(), (std::ops::Range<usize>, String)> {
    if seen.insert(name.get_ref().as_str()) {
        Ok(())
    } else {
        Err(duplicate(name, kind))
    }
}

fn duplicate(name: &Spanned<String>, kind: &str) -> (std::ops::Range<usize>, String) {
    (
        name.span(),
        format!("{kind} name {:?} is used twice", name.get_ref()),
    )
}

/// 1-based line of a byte offset.
fn line_of(text: &str, offset: usize) -> usize {
    text.as_bytes()[..offset.min(text.len())]
        .iter()
        .filter(|&&b| b == b'\n')
        .count()
        + 1
}

/// toml's messages can span lines; an error line should be one line.
fn tidy(message: &str) -> String {
    message.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = r#"
[simulation]
speed = 10.0

[[cluster]]
name = "A"
compatibility_version = "4.7"

[[host]]
name = "h1"
cluster = "A"
os = "RHEL 8.9"
memory_gb = 16

[[vm]]
name = "v1"
host = "h1"
memory_gb = 8

[[vm]]
name = "v2"
memory_gb = 8
"#;

    fn error_of(text: &str) -> FleetError {
        Fleet::parse("f.toml", text).expect_err("the fleet should be refused")
    }

    #[test]
    fn a_good_fleet_parses_with_defaults() {
        let fleet = Fleet::parse("f.toml", GOOD).expect("GOOD is valid");
        assert_eq!(fleet.simulation.speed(), 10.0);
        assert_eq!(fleet.simulation.max_migrations_per_host(), 2);
        assert_eq!(fleet.hosts[0].status, HostStatus::Up);
        assert_eq!(fleet.hosts[0].address(), "h1");
        assert_eq!(fleet.vms[0].status(), VmStatus::Up);
        assert_eq!(fleet.vms[1].status(), VmStatus::Down);
        assert_eq!(fleet.vms[0].memory_mb(), 8192);
    }

    #[test]
    fn unknown_keys_are_refused_with_their_line() {
        let err =
            error_of(&GOOD.replace("os = \"RHEL 8.9\"", "os = \"RHEL 8.9\"\ncolour = \"red\""));
        assert_eq!(err.line, 13);
        assert!(err.reason.contains("colour"), "{err}");
    }

    #[test]
    fn bad_values_are_refused() {
        let err = error_of(&GOOD.replace("speed = 10.0", "speed = -1.0"));
        assert_eq!(err.line, 3);
        assert!(err.reason.contains("speed"), "{err}");
        let err = error_of(&GOOD.replace("name = \"h1\"", "name = \"h1\"\nstatus = \"sleeping\""));
        assert!(err.reason.contains("sleeping"), "{err}");
    }

    #[test]
    fn dangling_references_are_refused() {
        let err = error_of(&GOOD.replace("host = \"h1\"", "host = \"h9\""));
        assert_eq!(err.line, 17);
        assert!(err.reason.contains("h9"), "{err}");
        let err = error_of(&GOOD.replace("cluster = \"A\"", "cluster = \"B\""));
        assert_eq!(err.line, 11);
    }

    #[test]
    fn a_vm_cluster_must_exist_and_match_its_host() {
        let down = "name = \"v2\"\ncluster = ";
        let fleet = Fleet::parse(
            "f.toml",
            &GOOD.replace("name = \"v2\"", &format!("{down}\"A\"")),
        )
        .expect("a down VM may name its cluster");
        assert_eq!(
            fleet.vms[1].cluster.as_ref().map(|c| c.get_ref().as_str()),
            Some("A")
        );
        let err = error_of(&GOOD.replace("name = \"v2\"", &format!("{down}\"Z\"")));
        assert_eq!(err.line, 22);
        assert!(err.reason.contains("\"Z\""), "{err}");
        let err = error_of(&GOOD.replace("host = \"h1\"", "host = \"h1\"\ncluster = \"B\""));
        assert!(err.reason.contains("VM v1 is in cluster \"B\""), "{err}");
    }

    #[test]
    fn overcommitted_hosts_are_refused() {
        let err = error_of(&GOOD.replace("memory_gb = 8\n\n[[vm]]", "memory_gb = 32\n\n[[vm]]"));
        assert_eq!(err.line, 13);
        assert!(err.reason.contains("overcommitted"), "{err}");
    }

    #[test]
    fn duplicate_names_are_refused() {
        let err = error_of(&GOOD.replace("name = \"v2\"", "name = \"v1\""));
        assert_eq!(err.line, 21);
        assert!(err.reason.contains("twice"), "{err}");
    }

    #[test]
    fn syntax_errors_name_their_line() {
        let err = error_of("[simulation]\nspeed = = 1\n");
        assert_eq!(err.line, 2);
        assert_eq!(err.to_string().lines().count(), 1);
    }

    #[test]
    fn node_hosts_have_an_image_and_no_packages() {
        let node = "os = \"RHEL 8.9\"\ntype = \"node\"";
        let fleet = Fleet::parse(
            "f.toml",
            &GOOD.replace("os = \"RHEL 8.9\"", &format!("{node}\nimage = \"4.5.2\"")),
        )
        .expect("a node with its image is valid");
        assert_eq!(*fleet.hosts[0].host_type.get_ref(), HostType::Node);
        let err = error_of(&GOOD.replace("os = \"RHEL 8.9\"", node));
        assert_eq!(err.line, 13);
        assert!(err.reason.contains("needs its image version"), "{err}");
        let err = error_of(&GOOD.replace(
            "os = \"RHEL 8.9\"",
            &format!("{node}\nimage = \"4.5.2\"\npackages = {{ vdsm = \"1\" }}"),
        ));
        assert!(err.reason.contains("lists no packages"), "{err}");
        let err = error_of(&GOOD.replace("os = \"RHEL 8.9\"", "os = \"x 1\"\nimage = \"1\""));
        assert!(err.reason.contains("only node hosts"), "{err}");
        let err = error_of(&GOOD.replace("os = \"RHEL 8.9\"", "os = \"x 1\"\ntype = \"ovirt\""));
        assert!(err.reason.contains("ovirt"), "{err}");
    }
}
