//! The simulated hosted-engine appliance world's state (migration 0013): the storage domain
//! and the engine disk, the backup disks, the catalog, the SPM. Only the `sim` driver reads
//! and writes it; every write is one statement, so a repeated step finds it done.

use sqlx::Row;

use super::{json, now_rfc3339, Store, StoreResult};
use crate::fleet::appliance::{ApplianceFail, Image, Storage};
use crate::fleet::file_he::HostedEngineWorld;
use crate::fleet::{BackupDisk, DiskContent};

/// The `sim_he` row.
#[derive(Clone, Debug)]
pub struct SimHe {
    pub cluster_id: String,
    pub storage_total_gb: u64,
    pub engine_disk: DiskContent,
}

fn gb(value: i64) -> u64 {
    u64::try_from(value).unwrap_or(0)
}

impl Store {
    /// Loads the fleet's `[hosted_engine]` table (inside the fleet's transaction).
    pub(super) async fn load_appliance_world(
        tx: &mut sqlx::AnyConnection,
        world: &HostedEngineWorld,
        cluster_id: &str,
    ) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO sim_he (id, cluster_id, storage_total_gb, engine_disk_gb, disk_os, disk_version)
             VALUES (1, $1, $2, $3, $4, $5)",
        )
        .bind(cluster_id)
        .bind(i64::try_from(*world.storage_total_gb.get_ref()).unwrap_or(i64::MAX))
        .bind(i64::try_from(*world.engine_disk_gb.get_ref()).unwrap_or(i64::MAX))
        .bind(&world.appliance.os)
        .bind(world.appliance.version.get_ref())
        .execute(&mut *tx)
        .await?;
        for spec in &world.catalog {
            let image = spec.image();
            sqlx::query(
                "INSERT INTO sim_he_catalog (version, os, size_gb, sha1, fail, cluster_levels)
                 VALUES ($1, $2, $3, $4, $5, $6)",
            )
            .bind(&image.version)
            .bind(&image.os)
            .bind(i64::try_from(image.size_gb).unwrap_or(i64::MAX))
            .bind(&image.sha1)
            .bind(image.fail.as_str())
            .bind(serde_json::to_string(&image.cluster_levels).unwrap_or_else(|_| "[]".into()))
            .execute(&mut *tx)
            .await?;
        }
        Ok(())
    }

    pub async fn sim_he(&self) -> StoreResult<Option<SimHe>> {
        let Some(row) = sqlx::query(
            "SELECT cluster_id, storage_total_gb, engine_disk_gb, disk_os, disk_version, disk_state
             FROM sim_he WHERE id = 1",
        )
        .fetch_optional(&self.pool)
        .await?
        else {
            return Ok(None);
        };
        Ok(Some(SimHe {
            cluster_id: row.try_get("cluster_id")?,
            storage_total_gb: gb(row.try_get("storage_total_gb")?),
            engine_disk: DiskContent {
                size_gb: gb(row.try_get("engine_disk_gb")?),
                os: row.try_get("disk_os")?,
                version: row.try_get("disk_version")?,
                state: row.try_get("disk_state")?,
            },
        }))
    }

    /// Writes what the engine disk holds now (one statement).
    pub async fn set_sim_engine_disk(&self, disk: &DiskContent) -> StoreResult<()> {
        sqlx::query(
            "UPDATE sim_he SET engine_disk_gb = $1, disk_os = $2, disk_version = $3, disk_state = $4 WHERE id = 1",
        )
        .bind(i64::try_from(disk.size_gb).unwrap_or(i64::MAX))
        .bind(&disk.os)
        .bind(&disk.version)
        .bind(&disk.state)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    pub async fn sim_catalog(&self) -> StoreResult<Vec<Image>> {
        let rows = sqlx::query(
            "SELECT version, os, size_gb, sha1, fail, cluster_levels FROM sim_he_catalog ORDER BY version",
        )
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|row| {
                let fail: String = row.try_get("fail")?;
                let levels: String = row.try_get("cluster_levels")?;
                Ok(Image {
                    version: row.try_get("version")?,
                    os: row.try_get("os")?,
                    size_gb: gb(row.try_get("size_gb")?),
                    sha1: row.try_get("sha1")?,
                    fail: ApplianceFail::parse(&fail).unwrap_or_default(),
                    cluster_levels: json("catalog cluster levels", &levels)?,
                })
            })
            .collect()
    }

    pub async fn sim_backup_disks(&self) -> StoreResult<Vec<BackupDisk>> {
        let rows = sqlx::query(
            "SELECT id, size_gb, created_at, ready, content_os, content_version, name, registered_at
             FROM sim_he_disks ORDER BY created_at, id",
        )
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|row| {
                let ready: i64 = row.try_get("ready")?;
                Ok(BackupDisk {
                    id: row.try_get("id")?,
                    size_gb: gb(row.try_get("size_gb")?),
                    created_at: row.try_get("created_at")?,
                    ready: ready != 0,
                    content_os: row.try_get("content_os")?,
                    content_version: row.try_get("content_version")?,
                    name: row.try_get("name")?,
                    registered_at: row.try_get("registered_at")?,
                })
            })
            .collect()
    }

    /// Starts a backup disk's creation; a second call with the same id changes nothing.
    pub async fn add_sim_backup_disk(&self, id: &str, size_gb: u64) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO sim_he_disks (id, size_gb, created_at) VALUES ($1, $2, $3)
             ON CONFLICT (id) DO NOTHING",
        )
        .bind(id)
        .bind(i64::try_from(size_gb).unwrap_or(i64::MAX))
        .bind(now_rfc3339())
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    pub async fn set_sim_backup_disk_ready(&self, id: &str) -> StoreResult<()> {
        sqlx::query("UPDATE sim_he_disks SET ready = 1 WHERE id = $1")
            .bind(id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    pub async fn set_sim_backup_content(
        &self,
        id: &str,
        os: &str,
        version: &str,
    ) -> StoreResult<()> {
        sqlx::query("UPDATE sim_he_disks SET content_os = $1, content_version = $2 WHERE id = $3")
            .bind(os)
            .bind(version)
            .bind(id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Registers a disk under `name` once; a disk registered already keeps its name.
    pub async fn register_sim_backup_disk(&self, id: &str, name: &str) -> StoreResult<()> {
        sqlx::query(
            "UPDATE sim_he_disks SET name = $1, registered_at = $2 WHERE id = $3 AND name IS NULL",
        )
        .bind(name)
        .bind(now_rfc3339())
        .bind(id)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    pub async fn delete_sim_backup_disk(&self, id: &str) -> StoreResult<()> {
        sqlx::query("DELETE FROM sim_he_disks WHERE id = $1")
            .bind(id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// The storage domain's space now.
    pub async fn sim_storage(&self) -> StoreResult<Option<Storage>> {
        let Some(he) = self.sim_he().await? else {
            return Ok(None);
        };
        let backups: i64 = sqlx::query_scalar(
            "SELECT CAST(COALESCE(SUM(size_gb), 0) AS BIGINT) FROM sim_he_disks",
        )
        .fetch_one(&self.pool)
        .await?;
        Ok(Some(Storage {
            total_gb: he.storage_total_gb,
            engine_disk_gb: he.engine_disk.size_gb,
            backups_gb: gb(backups),
        }))
    }

    /// The SPM host of the hosted-engine cluster (id).
    pub async fn sim_spm_host(&self) -> StoreResult<Option<String>> {
        Ok(sqlx::query_scalar(
            "SELECT s.host_id FROM sim_hosts s JOIN hosts h ON h.id = s.host_id
             JOIN sim_he e ON e.cluster_id = h.cluster_id WHERE s.spm = 1 LIMIT 1",
        )
        .fetch_optional(&self.pool)
        .await?)
    }
}
