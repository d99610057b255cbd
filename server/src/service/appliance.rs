//! The hosted-engine appliance (seed 003): what `GET /api/hosted_engine` shows, uploaded
//! backup archives, the preflight checklist, starting an appliance upgrade or a rollback as a
//! job (each refusal named, before anything changes), and the backup disks. The flows
//! themselves are `appliance_flow`'s; the rules of the checks are `fleet::appliance`'s.

use app::api::{
    ApplianceInfo, ApplianceRollback, ApplianceUpgrade, BackupDiskInfo, CatalogImage, EngineVm,
    HaHost, HostedEngineInfo, Job, JobKind, PreflightLine, Severity, StorageUsage, UploadedArchive,
};
use serde::{Deserialize, Serialize};

use super::{Actor, Service, ServiceError, ServiceResult};
use crate::fleet::appliance::{preflight, Image, PreflightInput};
use crate::fleet::appliance_driver::{ApplianceDriver, ApplianceWorld};
use crate::store::{new_id, NewEvent, NewJob};

/// The largest backup archive an upload may be.
pub const MAX_ARCHIVE_BYTES: usize = 512 * 1024 * 1024;

/// What an appliance upgrade job keeps in its row.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub(super) struct UpgradeParams {
    pub host_id: String,
    pub host_name: String,
    pub image: Image,
    pub archive_id: String,
    /// The backup disk this upgrade creates (chosen once, at creation).
    pub disk_id: String,
}

/// What a rollback job keeps in its row.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub(super) struct RollbackParams {
    pub disk_id: String,
    pub disk_name: String,
}

impl Service {
    pub(super) fn appliance(&self) -> ServiceResult<&dyn ApplianceDriver> {
        self.driver().appliance().ok_or_else(|| {
            ServiceError::Conflict("This datacenter has no hosted-engine storage domain.".into())
        })
    }

    pub(super) async fn appliance_world(&self) -> ServiceResult<ApplianceWorld> {
        self.appliance()?.appliance_world().await?.ok_or_else(|| {
            ServiceError::Conflict("This datacenter has no hosted-engine storage domain.".into())
        })
    }

    /// `GET /api/hosted_engine`.
    pub async fn hosted_engine_info(&self) -> ServiceResult<HostedEngineInfo> {
        let world = self.appliance_world().await?;
        let status = self.hosted_engine_status().await?;
        let mut hosts = Vec::new();
        for row in self.store().hosted_engine_hosts().await? {
            let host = self.host_by_id(&row.host_id).await?;
            if let Some(he) = host.hosted_engine {
                hosts.push(HaHost {
                    id: host.id,
                    name: host.name,
                    active: he.active,
                    score: he.score,
                    local_maintenance: he.local_maintenance,
                });
            }
        }
        let vm = match self.store().engine_vm_ids().await?.first() {
            Some(id) => {
                let vm = self.vm_by_id(id).await?;
                Some(EngineVm {
                    id: vm.id,
                    name: vm.name,
                    status: vm.status,
                    host: vm.host.map(|h| h.name),
                })
            }
            None => None,
        };
        let spm_host = match &world.spm_host {
            Some(id) => Some(self.host_by_id(id).await?.name),
            None => None,
        };
        Ok(HostedEngineInfo {
            vm,
            engine_version: self.engine_status().await?.version,
            appliance: ApplianceInfo {
                os: world.engine_disk.os.clone(),
                version: world.engine_disk.version.clone(),
            },
            storage: StorageUsage {
                total_gb: world.storage.total_gb,
                used_gb: world.storage.used_gb(),
                free_gb: world.storage.free_gb(),
            },
            spm_host,
            global_maintenance: status.global_maintenance,
            hosts,
            catalog: world
                .catalog
                .iter()
                .map(|i| CatalogImage {
                    version: i.version.clone(),
                    os: i.os.clone(),
                    size_gb: i.size_gb,
                })
                .collect(),
            backups: backup_disks(&world),
        })
    }

    /// `GET /api/hosted_engine/backups`: the registered backup disks, oldest first.
    pub async fn hosted_engine_backups(&self) -> ServiceResult<Vec<BackupDiskInfo>> {
        Ok(backup_disks(&self.appliance_world().await?))
    }

    /// `DELETE /api/hosted_engine/backups/{id}`.
    pub async fn delete_hosted_engine_backup(
        &self,
        actor: Actor<'_>,
        id: &str,
    ) -> ServiceResult<()> {
        actor.require_admin()?;
        let disk = self.backup_disk(id).await?;
        if self.store().appliance_job_running().await? {
            return Err(ServiceError::Conflict(
                "An appliance upgrade or rollback is running; delete backup disks after it.".into(),
            ));
        }
        self.appliance()?.delete_backup_disk(&disk.id).await?;
        self.emit(
            NewEvent::new(
                "hosted_engine_backup_deleted",
                Severity::Normal,
                format!("Backup disk {} was deleted by {}.", disk.name, actor.name()),
            )
            .user(Some(&actor.name())),
        )
        .await?;
        Ok(())
    }

    /// A registered backup disk by id or name.
    pub(super) async fn backup_disk(&self, id_or_name: &str) -> ServiceResult<BackupDiskInfo> {
        self.hosted_engine_backups()
            .await?
            .into_iter()
            .find(|d| d.id == id_or_name || d.name == id_or_name)
            .ok_or_else(|| ServiceError::NotFound(format!("There is no backup disk {id_or_name}.")))
    }

    /// `POST /api/hosted_engine/archives`: keeps an Uplift backup archive for an upgrade,
    /// once it is verified; refused with the reason otherwise.
    pub async fn upload_archive(
        &self,
        actor: Actor<'_>,
        bytes: &[u8],
    ) -> ServiceResult<UploadedArchive> {
        actor.require_admin()?;
        if bytes.len() > MAX_ARCHIVE_BYTES {
            return Err(ServiceError::invalid(
                "archive_too_large",
                format!(
                    "A backup archive may be at most {} MiB.",
                    MAX_ARCHIVE_BYTES >> 20
                ),
            ));
        }
        let description = verify_bytes(bytes).await.map_err(|why| {
            ServiceError::invalid(
                "invalid_archive",
                format!("The backup archive cannot be used: {why}"),
            )
        })?;
        let id = new_id();
        self.store()
            .insert_archive(&id, &description, bytes, &actor.name())
            .await?;
        self.emit(
            NewEvent::new(
                "hosted_engine_archive_uploaded",
                Severity::Normal,
                format!(
                    "A backup archive was uploaded by {}: {}",
                    actor.name(),
                    description.join(" ")
                ),
            )
            .user(Some(&actor.name())),
        )
        .await?;
        Ok(UploadedArchive { id, description })
    }

    /// The checklist of an appliance upgrade, without side effects.
    pub async fn appliance_preflight(
        &self,
        request: &ApplianceUpgrade,
    ) -> ServiceResult<Vec<PreflightLine>> {
        let (lines, _) = self.run_preflight(request).await?;
        Ok(lines)
    }

    /// The checklist and, when it can be read, what the job needs.
    async fn run_preflight(
        &self,
        request: &ApplianceUpgrade,
    ) -> ServiceResult<(Vec<PreflightLine>, UpgradeParams)> {
        let world = self.appliance_world().await?;
        let host = self.hosted_engine_host(&request.host).await?;
        let image = world
            .catalog
            .iter()
            .find(|i| i.version == request.appliance)
            .cloned()
            .ok_or_else(|| {
                ServiceError::invalid(
                    "unknown_appliance",
                    format!(
                        "There is no appliance {} in the catalog; it offers {}.",
                        request.appliance,
                        world
                            .catalog
                            .iter()
                            .map(|i| i.version.as_str())
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                )
            })?;
        let params = UpgradeParams {
            host_id: host.id,
            host_name: host.name,
            image,
            archive_id: request.backup.clone(),
            disk_id: new_id(),
        };
        Ok((self.preflight_for_job(&params).await?, params))
    }

    /// The checklist for what a job was asked to do.
    pub(super) async fn preflight_for_job(
        &self,
        p: &UpgradeParams,
    ) -> ServiceResult<Vec<PreflightLine>> {
        let world = self.appliance_world().await?;
        let backup = match self.store().archive(&p.archive_id).await? {
            Some((description, bytes)) => verify_bytes(&bytes).await.map(|_| description),
            None => Err(format!("there is no uploaded archive {}", p.archive_id)),
        };
        let status = self.hosted_engine_status().await?;
        let clusters: Vec<(String, String)> = self
            .cluster_list()
            .await?
            .into_iter()
            .map(|c| (c.name, c.compatibility_version))
            .collect();
        let spm = match &world.spm_host {
            Some(id) => Some(self.host_by_id(id).await?.name),
            None => None,
        };
        let outcomes = preflight(&PreflightInput {
            global_maintenance: status.global_maintenance,
            host: &p.host_name,
            engine_vm_host: status.engine_vm_host.as_deref(),
            spm_host: spm.as_deref(),
            backup,
            clusters: &clusters,
            storage: world.storage,
            image: &p.image,
        });
        let lines = outcomes
            .into_iter()
            .map(|o| PreflightLine {
                check: serde_json::to_value(o.check)
                    .ok()
                    .and_then(|v| v.as_str().map(str::to_string))
                    .unwrap_or_default(),
                label: o.check.label().to_string(),
                passed: o.passed,
                message: o.message,
            })
            .collect();
        Ok(lines)
    }

    /// A hosted-engine host by id or name.
    async fn hosted_engine_host(&self, id_or_name: &str) -> ServiceResult<app::api::Host> {
        for row in self.store().hosted_engine_hosts().await? {
            if row.host_id == id_or_name || row.name == id_or_name {
                return self.host_by_id(&row.host_id).await;
            }
        }
        Err(ServiceError::NotFound(format!(
            "There is no hosted-engine host {id_or_name}."
        )))
    }

    /// Where the engine VM boots after a rollback: the Up hosted-engine host whose agent
    /// scores best (id).
    pub(super) async fn standby_for_engine(&self) -> ServiceResult<String> {
        self.refresh_agents().await?;
        let mut best: Option<(u32, String)> = None;
        for row in self.store().hosted_engine_hosts().await? {
            let host = self.host_by_id(&row.host_id).await?;
            let Some(he) = host.hosted_engine else {
                continue;
            };
            if host.status != app::api::HostStatus::Up || !he.active || he.score == 0 {
                continue;
            }
            if best.as_ref().is_none_or(|(score, _)| he.score > *score) {
                best = Some((he.score, host.id));
            }
        }
        best.map(|(_, id)| id).ok_or_else(|| {
            ServiceError::Conflict(
                "No hosted-engine host is Up with a positive HA score to run the engine VM.".into(),
            )
        })
    }

    /// `POST /api/hosted_engine/upgrade`: refused with every failing check named, or an
    /// `hosted_engine_upgrade` job.
    pub async fn upgrade_appliance(
        &self,
        actor: Actor<'_>,
        request: &ApplianceUpgrade,
    ) -> ServiceResult<Job> {
        actor.require_admin()?;
        let (lines, params) = self.run_preflight(request).await?;
        let failed: Vec<String> = lines
            .iter()
            .filter(|l| !l.passed)
            .map(|l| l.message.clone())
            .collect();
        if !failed.is_empty() {
            return Err(ServiceError::Conflict(format!(
                "The appliance upgrade cannot start: {}",
                failed.join(" ")
            )));
        }
        let cluster_id = self.appliance_world().await?.cluster_id;
        self.create_appliance_job(
            actor,
            JobKind::HostedEngineUpgrade,
            &cluster_id,
            Some(&params.host_id),
            &params,
        )
        .await
    }

    /// `POST /api/hosted_engine/rollback`: the engine VM must be down and global maintenance
    /// on; a `hosted_engine_rollback` job.
    pub async fn rollback_appliance(
        &self,
        actor: Actor<'_>,
        request: &ApplianceRollback,
    ) -> ServiceResult<Job> {
        actor.require_admin()?;
        let disk = self.backup_disk(&request.backup).await?;
        let status = self.hosted_engine_status().await?;
        let mut refusals = Vec::new();
        if !status.global_maintenance {
            refusals.push("Global HA maintenance is not enabled: enable it first.".to_string());
        }
        if let Some(host) = &status.engine_vm_host {
            refusals.push(format!(
                "The engine VM runs on host {host}: shut it down first."
            ));
        }
        if !refusals.is_empty() {
            return Err(ServiceError::Conflict(format!(
                "The rollback cannot start: {}",
                refusals.join(" ")
            )));
        }
        let cluster_id = self.appliance_world().await?.cluster_id;
        let params = RollbackParams {
            disk_id: disk.id,
            disk_name: disk.name,
        };
        self.create_appliance_job(
            actor,
            JobKind::HostedEngineRollback,
            &cluster_id,
            None,
            &params,
        )
        .await
    }

    async fn create_appliance_job<P: Serialize>(
        &self,
        actor: Actor<'_>,
        kind: JobKind,
        cluster_id: &str,
        host_id: Option<&str>,
        params: &P,
    ) -> ServiceResult<Job> {
        let id = new_id();
        let correlation = new_id();
        let params = serde_json::to_string(params)
            .map_err(|e| ServiceError::Internal(format!("job parameters: {e}")))?;
        let user = actor.name();
        self.create_job(
            &NewJob {
                id: &id,
                kind,
                correlation_id: &correlation,
                host_id,
                cluster_id: Some(cluster_id),
                user: Some(&user),
                host_status_before: None,
                params: Some(&params),
                parent_id: None,
                vm_id: None,
            },
            || "An appliance upgrade or rollback is running already.".to_string(),
        )
        .await?;
        self.spawn_job(&id);
        self.job_by_id(&id).await
    }
}

fn backup_disks(world: &ApplianceWorld) -> Vec<BackupDiskInfo> {
    world
        .backups
        .iter()
        .filter_map(|d| {
            Some(BackupDiskInfo {
                id: d.id.clone(),
                name: d.name.clone()?,
                size_gb: d.size_gb,
                created_at: d
                    .registered_at
                    .clone()
                    .unwrap_or_else(|| d.created_at.clone()),
                engine_version: d.content_version.clone(),
            })
        })
        .collect()
}

/// Verifies archive bytes (`backup::verify` reads files); what it holds, or why not.
pub(super) async fn verify_bytes(bytes: &[u8]) -> Result<Vec<String>, String> {
    let dir = std::env::temp_dir().join(format!("uplift-archive-{}", new_id()));
    std::fs::create_dir_all(&dir).map_err(|e| format!("cannot unpack it: {e}"))?;
    let file = dir.join("archive");
    let outcome = async {
        std::fs::write(&file, bytes).map_err(|e| format!("cannot unpack it: {e}"))?;
        crate::backup::verify(&file, &dir.join("db"))
            .await
            .map(|v| v.manifest.describe())
            .map_err(|e| e.to_string())
    }
    .await;
    let _ = std::fs::remove_dir_all(&dir);
    outcome
}
