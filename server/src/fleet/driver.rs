//! How Uplift touches hosts. The service, the workflows and the scheduler talk to this trait
//! only; whether a simulated or a real host answers is the driver's business.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use app::api::{AvailableUpdate, HaMode, HostedEngine, VmAction};

use crate::domain::packages::Monitored;
use crate::scheduler::VmView;

/// A host operation that did not work, with the host's own words.
#[derive(Debug, thiserror::Error)]
pub enum DriverError {
    #[error("host {0} is unknown to the driver")]
    UnknownHost(String),
    #[error("{0}")]
    Failed(String),
}

/// What a host runs after an install.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Installed {
    pub os: String,
    /// The cluster levels the host supports now; empty when the install did not change them.
    pub supported_cluster_levels: Vec<String>,
    /// What the package manager said, for the job's log (empty when nothing ran).
    pub log: String,
}

/// What a host says about itself when a driver asks (real hosts; the simulator's hosts are
/// their fleet file).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HostFacts {
    pub os: String,
    pub cpu_cores: u32,
    pub memory_mb: u64,
    /// Its VMs as its hypervisor lists them; `None` when it has no hypervisor to ask.
    pub vms: Option<Vec<VmFacts>>,
}

/// A VM as its host's hypervisor describes it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VmFacts {
    pub name: String,
    pub status: app::api::VmStatus,
    pub cpus: u32,
    pub memory_mb: u64,
}

/// One look at a host.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Survey {
    Answered(HostFacts),
    /// It did not answer; why, in words for the host's events.
    Silent(String),
}

/// The managed engine: the version it runs, and the newer one its own channel offers.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EngineRelease {
    pub version: String,
    pub available_version: Option<String>,
}

/// How long a host's upgrade phases take, in real seconds, as far as the driver knows: what
/// rolling-upgrade plans predict from.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Estimates {
    pub install_seconds: f64,
    pub reboot_seconds: f64,
    /// Entering maintenance, or activation.
    pub state_change_seconds: f64,
    /// Live-migration copy speed per migration.
    pub migration_gbps: f64,
    /// Migrations the host sends at once.
    pub max_migrations_per_host: u32,
}

#[async_trait::async_trait]
pub trait Driver: Send + Sync + 'static {
    /// The managed engine's version and the update its channel offers (used when no release
    /// feed is configured).
    async fn engine_release(&self) -> Result<EngineRelease, DriverError>;

    /// The monitored packages (and the OS) with a newer version available for this host.
    async fn check_updates(
        &self,
        host_id: &str,
        monitored: &Monitored,
    ) -> Result<Vec<AvailableUpdate>, DriverError>;

    /// The cluster levels the host will support once its pending updates are installed;
    /// empty when the driver cannot tell.
    async fn levels_after_upgrade(&self, host_id: &str) -> Result<Vec<String>, DriverError>;

    /// Live-migrates a running VM; returns when it runs on `to`. A VM that runs on `to`
    /// already is left alone (a repeated step).
    async fn migrate_vm(&self, vm: &VmView, from: &str, to: &str) -> Result<(), DriverError>;

    /// The host the VM runs on, as the hosts themselves say (`None`: it runs nowhere).
    async fn vm_host(&self, vm: &VmView) -> Result<Option<String>, DriverError>;

    /// Starts, stops or suspends a VM on `host_id` (for a start, the host the scheduler chose).
    async fn power_vm(
        &self,
        vm: &VmView,
        host_id: &str,
        action: VmAction,
    ) -> Result<(), DriverError>;

    /// Takes an emptied host out of service.
    async fn enter_maintenance(&self, host_id: &str) -> Result<(), DriverError>;

    /// Brings a host in maintenance back into service.
    async fn activate(&self, host_id: &str) -> Result<(), DriverError>;

    /// Installs the newer versions of the monitored packages (and the OS); returns what the
    /// host runs after the install. With nothing pending it installs nothing (a repeated step).
    async fn install_updates(
        &self,
        host_id: &str,
        monitored: &Monitored,
    ) -> Result<Installed, DriverError>;

    /// Redeploys the host's management software (seed 000's re-install flow): the installed
    /// `monitored` packages again, at their version; safe to repeat.
    async fn reinstall(&self, host_id: &str, monitored: &Monitored) -> Result<(), DriverError>;

    /// Reboots the host; returns when its reboot is done (it may not answer at once).
    async fn reboot(&self, host_id: &str) -> Result<(), DriverError>;

    /// How long this host's phases take.
    async fn estimates(&self, host_id: &str) -> Result<Estimates, DriverError>;

    /// Whether the host answers. A host just back from a reboot may not, for a while.
    async fn is_responding(&self, host_id: &str) -> Result<bool, DriverError>;

    /// What the host's hosted-engine HA agent reports; `None` for a host without hosted engine.
    async fn ha_state(&self, host_id: &str) -> Result<Option<HostedEngine>, DriverError>;

    /// Turns HA maintenance on or off through the host's agent: `Local` for this host, `Global`
    /// for its whole hosted-engine cluster. Setting what is set already changes nothing.
    async fn set_ha_maintenance(
        &self,
        host_id: &str,
        mode: HaMode,
        enabled: bool,
    ) -> Result<(), DriverError>;

    /// How often the service should look at every host with [`Driver::survey`]; `None` for a
    /// driver whose hosts never change unasked (the simulator).
    fn survey_interval(&self) -> Option<std::time::Duration> {
        None
    }

    /// Asks the host what it is and runs (OS, cores, memory, VMs), or learns why it is silent.
    async fn survey(&self, host_id: &str) -> Result<Survey, DriverError> {
        Err(DriverError::UnknownHost(host_id.to_string()))
    }

    /// The hosted-engine storage domain and engine disk, if this datacenter has them.
    fn appliance(&self) -> Option<&dyn super::ApplianceDriver> {
        None
    }

    /// What the hosts do by themselves while Uplift serves (the simulator's HA agents), to run
    /// in the background; `None` when there is nothing.
    fn background(self: Arc<Self>) -> Option<Background> {
        None
    }
}

/// A driver's own background work.
pub type Background = Pin<Box<dyn Future<Output = ()> + Send>>;
