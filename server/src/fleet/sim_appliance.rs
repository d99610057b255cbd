//! The simulated hosted-engine storage domain and engine disk at work (seed 003): backup disks
//! that take time to create, copies, an appliance written over the engine disk, the restore and
//! setup that print their lines, and an image's `fail` breaking the step it names. The state is
//! the database's (`store::appliance`), so it survives restarts; each operation finds a repeat
//! of itself done.

use super::appliance::{ApplianceFail, Image};
use super::appliance_driver::{ApplianceDriver, ApplianceWorld, DiskContent};
use super::driver::DriverError;
use super::sim::{simulate, store_error, SimDriver};
use app::api::VmStatus;

/// Simulated seconds per GiB the storage takes to allocate a disk, and to copy one.
const CREATE_SECONDS_PER_GB: f64 = 1.0;
const COPY_SECONDS_PER_GB: f64 = 0.5;
/// Simulated seconds of the fixed-length steps.
const INJECT_SECONDS: f64 = 5.0;
const SETUP_SECONDS: f64 = 30.0;
const HEALTH_SECONDS: f64 = 5.0;

fn injected(image: &Image, at: ApplianceFail, words: &str) -> Result<(), DriverError> {
    if image.fail == at {
        return Err(DriverError::Failed(format!(
            "{words} (simulated: fail = \"{}\" on appliance {})",
            at.as_str(),
            image.version
        )));
    }
    Ok(())
}

impl SimDriver {
    async fn engine_disk(&self) -> Result<DiskContent, DriverError> {
        Ok(self
            .store
            .sim_he()
            .await
            .map_err(store_error)?
            .ok_or_else(|| DriverError::Failed("the datacenter has no hosted engine".into()))?
            .engine_disk)
    }

    /// The storage domain's space now.
    async fn storage(&self) -> Result<super::appliance::Storage, DriverError> {
        self.store
            .sim_storage()
            .await
            .map_err(store_error)?
            .ok_or_else(|| DriverError::Failed("the datacenter has no hosted engine".into()))
    }

    /// Refuses while the engine VM runs: its disk is not copied or written under it.
    async fn engine_vm_down(&self, doing: &str) -> Result<(), DriverError> {
        let vm = self.store.sim_engine_vm().await.map_err(store_error)?;
        if vm.is_some_and(|vm| vm.status != VmStatus::Down.as_str()) {
            return Err(DriverError::Failed(format!(
                "the engine VM is running: cannot {doing}"
            )));
        }
        Ok(())
    }

    async fn backup_disk(
        &self,
        id: &str,
    ) -> Result<super::appliance_driver::BackupDisk, DriverError> {
        self.store
            .sim_backup_disks()
            .await
            .map_err(store_error)?
            .into_iter()
            .find(|d| d.id == id)
            .ok_or_else(|| DriverError::Failed(format!("there is no backup disk {id}")))
    }
}

#[async_trait::async_trait]
impl ApplianceDriver for SimDriver {
    async fn appliance_world(&self) -> Result<Option<ApplianceWorld>, DriverError> {
        let Some(he) = self.store.sim_he().await.map_err(store_error)? else {
            return Ok(None);
        };
        let storage = self.storage().await?;
        Ok(Some(ApplianceWorld {
            cluster_id: he.cluster_id,
            storage,
            engine_disk: he.engine_disk,
            spm_host: self.store.sim_spm_host().await.map_err(store_error)?,
            backups: self.store.sim_backup_disks().await.map_err(store_error)?,
            catalog: self.store.sim_catalog().await.map_err(store_error)?,
        }))
    }

    async fn create_backup_disk(
        &self,
        id: &str,
        image: &Image,
        progress: &(dyn Fn(f64) + Send + Sync),
    ) -> Result<(), DriverError> {
        let world = self.world().await?;
        let disk = self.engine_disk().await?;
        let existing = self.store.sim_backup_disks().await.map_err(store_error)?;
        if existing.iter().any(|d| d.id == id && d.ready) {
            return Ok(());
        }
        if !existing.iter().any(|d| d.id == id) {
            injected(
                image,
                ApplianceFail::BackupDisk,
                "the storage domain refused to create the backup disk",
            )?;
            let storage = self.storage().await?;
            if storage.free_gb() < disk.size_gb {
                return Err(DriverError::Failed(format!(
                    "the hosted-engine storage domain has {} GiB free, the backup disk needs {} GiB",
                    storage.free_gb(),
                    disk.size_gb
                )));
            }
            self.store
                .add_sim_backup_disk(id, disk.size_gb)
                .await
                .map_err(store_error)?;
        }
        let total = disk.size_gb as f64 * CREATE_SECONDS_PER_GB;
        for part in 1..=10 {
            simulate(&world, total / 10.0).await;
            progress(f64::from(part) * 10.0);
        }
        self.store
            .set_sim_backup_disk_ready(id)
            .await
            .map_err(store_error)
    }

    async fn copy_engine_disk(&self, to: &str, image: &Image) -> Result<(), DriverError> {
        let world = self.world().await?;
        self.engine_vm_down("copy its disk").await?;
        let disk = self.engine_disk().await?;
        let backup = self.backup_disk(to).await?;
        if backup.content_version.is_some() && !disk.works() {
            // Copied before, and the engine disk was written over since: the copy stands.
            return Ok(());
        }
        if !disk.works() {
            return Err(DriverError::Failed(
                "the engine disk does not hold a working engine: there is nothing to back up"
                    .into(),
            ));
        }
        simulate(&world, disk.size_gb as f64 * COPY_SECONDS_PER_GB).await;
        injected(
            image,
            ApplianceFail::Copy,
            "copying the engine disk to the backup disk failed",
        )?;
        self.store
            .set_sim_backup_content(to, &disk.os, &disk.version)
            .await
            .map_err(store_error)
    }

    async fn deploy_appliance(&self, image: &Image) -> Result<(), DriverError> {
        let world = self.world().await?;
        self.engine_vm_down("write over its disk").await?;
        let disk = self.engine_disk().await?;
        if disk.version == image.version && disk.state != "engine" {
            return Ok(());
        }
        let written = DiskContent {
            size_gb: disk.size_gb.max(image.size_gb),
            os: image.os.clone(),
            version: image.version.clone(),
            state: "appliance".into(),
        };
        simulate(&world, image.size_gb as f64 * COPY_SECONDS_PER_GB / 2.0).await;
        // Half written already when it breaks: the old engine is gone from the disk either way.
        self.store
            .set_sim_engine_disk(&written)
            .await
            .map_err(store_error)?;
        simulate(&world, image.size_gb as f64 * COPY_SECONDS_PER_GB / 2.0).await;
        injected(
            image,
            ApplianceFail::Deploy,
            "uploading the appliance volume failed",
        )
    }

    async fn inject_backup(&self, image: &Image) -> Result<(), DriverError> {
        let world = self.world().await?;
        let disk = self.engine_disk().await?;
        match disk.state.as_str() {
            "injected" | "restored" if disk.version == image.version => return Ok(()),
            "appliance" if disk.version == image.version => {}
            _ => {
                return Err(DriverError::Failed(format!(
                    "the engine disk does not hold appliance {}",
                    image.version
                )))
            }
        }
        simulate(&world, INJECT_SECONDS).await;
        self.store
            .set_sim_engine_disk(&DiskContent {
                state: "injected".into(),
                ..disk
            })
            .await
            .map_err(store_error)
    }

    async fn restore_and_setup(
        &self,
        image: &Image,
        backup: &[String],
    ) -> Result<Vec<String>, DriverError> {
        let world = self.world().await?;
        let disk = self.engine_disk().await?;
        let mut lines = vec![
            "|- Preparing to restore:".to_string(),
            "|- - Unpacking the Uplift backup archive".to_string(),
        ];
        lines.extend(backup.iter().map(|l| format!("|- {l}")));
        lines.push("|- Restoring:".into());
        lines.push("|- - Engine database 'engine'".into());
        if disk.state == "restored" && disk.version == image.version {
            lines.push("|- Already restored.".into());
            return Ok(lines);
        }
        if disk.state != "injected" {
            return Err(DriverError::Failed(
                "the appliance holds no injected backup".into(),
            ));
        }
        simulate(&world, SETUP_SECONDS).await;
        if image.fail == ApplianceFail::Restore {
            lines.push("|- FATAL: Failed restoring the engine database".into());
            lines.push("|- HE_APPLIANCE_ENGINE_RESTORE_FAIL".into());
            return Err(DriverError::Failed(format!(
                "restoring the engine backup failed (simulated: fail = \"restore\" on appliance {}): {}",
                image.version,
                lines.join("\n")
            )));
        }
        lines.push("|- Running engine-setup".into());
        lines.push(format!("|- Engine {} is set up.", image.version));
        lines.push("|- HE_APPLIANCE_ENGINE_RESTORE_SUCCESS".into());
        self.store
            .set_sim_engine_disk(&DiskContent {
                state: "restored".into(),
                ..disk
            })
            .await
            .map_err(store_error)?;
        Ok(lines)
    }

    async fn engine_health(&self, image: &Image) -> Result<(), DriverError> {
        let world = self.world().await?;
        simulate(&world, HEALTH_SECONDS).await;
        let disk = self.engine_disk().await?;
        let vm = self.store.sim_engine_vm().await.map_err(store_error)?;
        if vm.is_none_or(|vm| vm.status != VmStatus::Up.as_str()) {
            return Err(DriverError::Failed("the engine VM is not running".into()));
        }
        if !disk.works() || disk.version != image.version {
            return Err(DriverError::Failed(format!(
                "the engine VM does not run engine {}",
                image.version
            )));
        }
        injected(
            image,
            ApplianceFail::Health,
            "the engine's health page does not answer",
        )
    }

    async fn register_backup_disk(&self, id: &str, name: &str) -> Result<(), DriverError> {
        self.backup_disk(id).await?;
        self.store
            .register_sim_backup_disk(id, name)
            .await
            .map_err(store_error)
    }

    async fn restore_engine_disk(&self, from: &str) -> Result<(), DriverError> {
        let world = self.world().await?;
        self.engine_vm_down("write over its disk").await?;
        let backup = self.backup_disk(from).await?;
        let (Some(os), Some(version)) = (backup.content_os, backup.content_version) else {
            return Err(DriverError::Failed(format!(
                "backup disk {from} holds no copy of the engine disk"
            )));
        };
        simulate(&world, backup.size_gb as f64 * COPY_SECONDS_PER_GB).await;
        self.store
            .set_sim_engine_disk(&DiskContent {
                size_gb: backup.size_gb,
                os,
                version,
                state: "engine".into(),
            })
            .await
            .map_err(store_error)
    }

    async fn delete_backup_disk(&self, id: &str) -> Result<(), DriverError> {
        self.store
            .delete_sim_backup_disk(id)
            .await
            .map_err(store_error)
    }
}
