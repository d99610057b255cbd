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
        sqlx::query("UPDATE vms SET status = $1, host_id = $2 WHERE id = $3")
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
            "UPDATE vms SET migration = COALESCE($1, migration),
                            cpu_pinning = COALESCE($2, cpu_pinning),
                            numa_pinning = COALESCE($3, numa_pinning),
                            host_devices = COALESCE($4, host_devices)
             WHERE id = $5",
        )
        .bind(update.migration.map(|m| m.as_str()))
        .bind(update.cpu_pinning.map(i64::from))
        .bind(update.numa_pinning.map(i64::from))
        .bind(update.host_devices.map(i64::from))
        .bind(vm_id)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Reserves `host_id` for starting the VM on behalf of instance `by`, in one statement that
    /// also checks the VM is not running nor being started and the host is Up. False when any
    /// of that is not so.
    pub async fn reserve_vm_start(
        &self,
        vm_id: &str,
        host_id: &str,
        by: &str,
    ) -> StoreResult<bool> {
        let done = sqlx::query(
            "UPDATE vms SET starting_on = $1, starting_by = $2
             WHERE id = $3 AND starting_on IS NULL AND status NOT IN ('up', 'paused', 'migrating')
               AND EXISTS (SELECT 1 FROM hosts WHERE id = $4 AND status = 'up')",
        )
        .bind(host_id)
        .bind(by)
        .bind(vm_id)
        .bind(host_id)
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Ends a start the VM reserved on behalf of instance `by`: running on its host if it
    /// started, as it was otherwise. A reservation that is no longer `by`'s (another instance
    /// settled it, taking this one for stopped) is left as it is.
    pub async fn end_vm_start(&self, vm_id: &str, by: &str, started: bool) -> StoreResult<()> {
        sqlx::query(
            "UPDATE vms SET status = CASE WHEN $1 = 1 THEN 'up' ELSE status END,
                            host_id = CASE WHEN $2 = 1 THEN starting_on ELSE host_id END,
                            starting_on = NULL, starting_by = NULL
             WHERE id = $3 AND starting_on IS NOT NULL AND COALESCE(starting_by, '') = $4",
        )
        .bind(i64::from(started))
        .bind(i64::from(started))
        .bind(vm_id)
        .bind(by)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// How many VM starts reserve this host now.
    pub async fn vm_starts_on(&self, host_id: &str) -> StoreResult<i64> {
        Ok(
            sqlx::query_scalar("SELECT COUNT(*) FROM vms WHERE starting_on = $1")
                .bind(host_id)
                .fetch_one(&self.pool)
                .await?,
        )
    }

    /// VM starts a stopped instance left reserved: (VM id, host id, the instance that reserved
    /// it). An instance counts as stopped when it said so, or has not beaten for `lease_ms`.
    pub async fn left_vm_starts(
        &self,
        lease_ms: i64,
    ) -> StoreResult<Vec<(String, String, String)>> {
        let now = self.backend().now_ms();
        Ok(sqlx::query_as(&format!(
            "SELECT id, starting_on, COALESCE(starting_by, '') FROM vms
             WHERE starting_on IS NOT NULL
               AND (starting_by IS NULL OR starting_by NOT IN (
                   SELECT id FROM instances WHERE stopped = 0 AND heartbeat_ms >= {now} - $1))
             ORDER BY id"
        ))
        .bind(lease_ms)
        .fetch_all(&self.pool)
        .await?)
    }
}
