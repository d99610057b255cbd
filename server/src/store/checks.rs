use app::api::AvailableUpdate;

use super::{Store, StoreResult};

impl Store {
    /// Stores the result of a successful update check, with the levels the host will support
    /// after the upgrade (`None`: unknown).
    pub async fn save_update_check(
        &self,
        host_id: &str,
        updates: &[AvailableUpdate],
        levels_after: Option<&[String]>,
        at: &str,
    ) -> StoreResult<()> {
        sqlx::query(
            "UPDATE hosts SET updates_available = $1, available_updates = $2, levels_after_upgrade = $3,
                              last_update_check = $4
             WHERE id = $5",
        )
        .bind(i64::from(!updates.is_empty()))
        .bind(serde_json::to_string(updates).unwrap_or_else(|_| "[]".into()))
        .bind(levels_after.map(|l| serde_json::to_string(l).unwrap_or_else(|_| "[]".into())))
        .bind(at)
        .bind(host_id)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Claims the right to announce a host's updates: true when the last announcement was
    /// before `cutoff` (or never), and then records `now` as the last one.
    pub async fn claim_updates_notice(
        &self,
        host_id: &str,
        now: &str,
        cutoff: &str,
    ) -> StoreResult<bool> {
        let done = sqlx::query(
            "UPDATE hosts SET updates_notified_at = $1
             WHERE id = $2 AND (updates_notified_at IS NULL OR updates_notified_at <= $3)",
        )
        .bind(now)
        .bind(host_id)
        .bind(cutoff)
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Hosts the periodic check should look at: `up` or `non_operational`, not checked since
    /// `cutoff`, the longest-unchecked first.
    pub async fn hosts_due_for_check(&self, cutoff: &str, limit: i64) -> StoreResult<Vec<String>> {
        Ok(sqlx::query_scalar(
            "SELECT id FROM hosts
             WHERE status IN ('up', 'non_operational')
               AND (last_update_check IS NULL OR last_update_check <= $1)
             ORDER BY last_update_check IS NOT NULL, last_update_check, name
             LIMIT $2",
        )
        .bind(cutoff)
        .bind(limit)
        .fetch_all(&self.pool)
        .await?)
    }
}
