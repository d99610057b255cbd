//! Changes to one VM: where it runs and its settings.

use app::api::{VmStatus, VmUpdate};

use super::{Store, StoreResult};

impl Store {
    /// The VM now runs on `host_id` (`None`: it runs nowhere, in the given status).
    pub async fn set_vm_power(
        &self,
        vm_id: &str,
        status: VmStatus,
        host_id: Option<&str>,
    ) -> StoreResult<()> {
        sqlx::query("UPDATE vms SET status = ?, host_id = ? WHERE id = ?")
            .bind(status.as_str())
            .bind(host_id)
            .bind(vm_id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Writes the fields an update carries; the others keep their values.
    pub async fn update_vm(&self, vm_id: &str, update: &VmUpdate) -> StoreResult<()> {
        sqlx::query(
            "UPDATE vms SET migration = COALESCE(?, migration),
                            cpu_pinning = COALESCE(?, cpu_pinning),
                            numa_pinning = COALESCE(?, numa_pinning),
                            host_devices = COALESCE(?, host_devices)
             WHERE id = ?",
        )
        .bind(update.migration.map(|m| m.as_str()))
        .bind(update.cpu_pinning)
        .bind(update.numa_pinning)
        .bind(update.host_devices)
        .bind(vm_id)
        .execute(&self.pool)
        .await?;
        Ok(())
    }
}
