//! How Uplift touches the hosted-engine storage domain and the engine VM's disk (seed 003):
//! the operations of an appliance upgrade and of its rollback, each idempotent (a repeated
//! step finds its work done). A driver that has no hosted engine offers none of them
//! ([`super::Driver::appliance`] is `None`). The engine VM itself is started and stopped with
//! [`super::Driver::power_vm`], like any VM.

use serde::{Deserialize, Serialize};

use super::appliance::{Image, Storage};
use super::driver::DriverError;

/// What the engine VM's disk holds.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DiskContent {
    pub size_gb: u64,
    pub os: String,
    /// The engine version on it.
    pub version: String,
    /// `engine` (a working engine), `appliance` (an image written over it), `injected` (with
    /// a backup in it), `restored` (set up from that backup).
    pub state: String,
}

impl DiskContent {
    /// Whether the disk boots into a working engine.
    pub fn works(&self) -> bool {
        self.state == "engine" || self.state == "restored"
    }
}

/// A backup disk on the hosted-engine storage domain.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct BackupDisk {
    pub id: String,
    pub size_gb: u64,
    pub created_at: String,
    /// Its creation has finished.
    pub ready: bool,
    /// What a copy of the engine disk put on it.
    pub content_os: Option<String>,
    pub content_version: Option<String>,
    /// `hosted-engine-backup-<timestamp>` once registered with the engine.
    pub name: Option<String>,
    pub registered_at: Option<String>,
}

/// The hosted-engine appliance world as the driver sees it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApplianceWorld {
    pub cluster_id: String,
    pub storage: Storage,
    pub engine_disk: DiskContent,
    /// The storage pool manager of the hosted-engine cluster (host id).
    pub spm_host: Option<String>,
    pub backups: Vec<BackupDisk>,
    pub catalog: Vec<Image>,
}

#[async_trait::async_trait]
pub trait ApplianceDriver: Send + Sync {
    /// The world now; `None` when the datacenter has no hosted-engine storage domain.
    async fn appliance_world(&self) -> Result<Option<ApplianceWorld>, DriverError>;

    /// Creates the backup disk `id` (the engine disk's size) and returns when it is ready,
    /// calling `progress` with the percent done while the storage works.
    async fn create_backup_disk(
        &self,
        id: &str,
        image: &Image,
        progress: &(dyn Fn(f64) + Send + Sync),
    ) -> Result<(), DriverError>;

    /// Copies the engine disk (the engine VM down) to the backup disk `to`.
    async fn copy_engine_disk(&self, to: &str, image: &Image) -> Result<(), DriverError>;

    /// Writes `image` over the engine disk, extending it when the image is larger.
    async fn deploy_appliance(&self, image: &Image) -> Result<(), DriverError>;

    /// Puts the engine backup into the deployed appliance.
    async fn inject_backup(&self, image: &Image) -> Result<(), DriverError>;

    /// On the booted appliance: restores the injected backup and sets the engine up; returns
    /// their output lines (on failure too, in the error's words).
    async fn restore_and_setup(
        &self,
        image: &Image,
        backup: &[String],
    ) -> Result<Vec<String>, DriverError>;

    /// Whether the new engine answers as it should.
    async fn engine_health(&self, image: &Image) -> Result<(), DriverError>;

    /// Registers the backup disk with the engine under `name`.
    async fn register_backup_disk(&self, id: &str, name: &str) -> Result<(), DriverError>;

    /// Copies the backup disk `from` back over the engine disk (the engine VM down).
    async fn restore_engine_disk(&self, from: &str) -> Result<(), DriverError>;

    /// Removes a backup disk from the storage domain; an unknown one is already gone.
    async fn delete_backup_disk(&self, id: &str) -> Result<(), DriverError>;
}
