//! The hosted-engine appliance (seed 003; SPEC §9): what `GET /api/hosted_engine` shows, the
//! upgrade and rollback requests, the preflight checklist and the backup disks. Shared by the
//! REST API, the portal and the CLI.

use serde::{Deserialize, Serialize};

/// The engine VM, where it runs.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct EngineVm {
    pub id: String,
    pub name: String,
    pub status: super::VmStatus,
    /// Host name; `None` while it runs nowhere.
    pub host: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct ApplianceInfo {
    pub os: String,
    pub version: String,
}

/// The hosted-engine storage domain, in GiB.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct StorageUsage {
    pub total_gb: u64,
    pub used_gb: u64,
    pub free_gb: u64,
}

/// One hosted-engine host, as the HA agents report it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct HaHost {
    pub id: String,
    pub name: String,
    pub active: bool,
    pub score: u32,
    pub local_maintenance: bool,
}

/// An appliance image on offer.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct CatalogImage {
    pub version: String,
    pub os: String,
    pub size_gb: u64,
}

/// A registered backup disk (`hosted-engine-backup-<timestamp>`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct BackupDiskInfo {
    pub id: String,
    pub name: String,
    pub size_gb: u64,
    pub created_at: String,
    /// The engine version it holds.
    pub engine_version: Option<String>,
}

/// `GET /api/hosted_engine`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct HostedEngineInfo {
    pub vm: Option<EngineVm>,
    pub engine_version: String,
    pub appliance: ApplianceInfo,
    pub storage: StorageUsage,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub spm_host: Option<String>,
    pub global_maintenance: bool,
    pub hosts: Vec<HaHost>,
    /// Additions to SPEC §9: the images on offer and the registered backup disks.
    pub catalog: Vec<CatalogImage>,
    pub backups: Vec<BackupDiskInfo>,
}

/// `POST /api/hosted_engine/upgrade` (and its preflight): the host the engine VM runs on (id
/// or name), the appliance version, and the uploaded backup archive's id.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct ApplianceUpgrade {
    pub host: String,
    pub appliance: String,
    pub backup: String,
}

/// `POST /api/hosted_engine/rollback`: the backup disk (id or name).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct ApplianceRollback {
    pub backup: String,
}

/// One line of the preflight checklist.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct PreflightLine {
    pub check: String,
    pub label: String,
    pub passed: bool,
    pub message: String,
}

/// An uploaded backup archive (`POST /api/hosted_engine/archives`): its id and what it holds.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct UploadedArchive {
    pub id: String,
    pub description: Vec<String>,
}
