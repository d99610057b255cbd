//! What Uplift last heard from the hosted-engine HA agents (`hosts.hosted_engine`), and where
//! the engine's VM runs: the agents move and start it by themselves, so the inventory follows
//! what the hosts say.

use app::api::HostedEngine;
use sqlx::Row;

use super::{json, Store, StoreResult};

/// A hosted-engine host as the monitor reads it.
#[derive(Clone, Debug)]
pub struct HaHostRow {
    pub host_id: String,
    pub name: String,
    pub cluster_id: String,
    pub state: HostedEngine,
}

impl Store {
    /// Every host with a hosted engine configured, by name.
    pub async fn hosted_engine_hosts(&self) -> StoreResult<Vec<HaHostRow>> {
        sqlx::query(
            "SELECT id, name, cluster_id, hosted_engine FROM hosts
             WHERE hosted_engine IS NOT NULL ORDER BY name",
        )
        .fetch_all(&self.pool)
        .await?
        .into_iter()
        .map(|row| {
            let text: String = row.try_get("hosted_engine")?;
            Ok(HaHostRow {
                host_id: row.try_get("id")?,
                name: row.try_get("name")?,
                cluster_id: row.try_get("cluster_id")?,
                state: json("hosted engine state", &text)?,
            })
        })
        .collect::<StoreResult<Vec<_>>>()
        .map(|rows| rows.into_iter().filter(|r| r.state.configured).collect())
    }

    /// Records what a host's HA agent reports.
    pub async fn set_hosted_engine(&self, host_id: &str, state: &HostedEngine) -> StoreResult<()> {
        let text =
            serde_json::to_string(state).map_err(|e| super::corrupt("hosted engine state", e))?;
        sqlx::query("UPDATE hosts SET hosted_engine = $1 WHERE id = $2")
            .bind(text)
            .bind(host_id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// The ids of the engine's own VMs (one, in any real datacenter).
    pub async fn engine_vm_ids(&self) -> StoreResult<Vec<String>> {
        Ok(
            sqlx::query_scalar("SELECT id FROM vms WHERE hosted_engine = 1 ORDER BY name")
                .fetch_all(&self.pool)
                .await?,
        )
    }

    /// The VM runs on `to` now (`None`: it is down), if the inventory still has it on `from`;
    /// a move from one host to another counts as a live migration. Whether it changed.
    pub async fn follow_vm(
        &self,
        vm_id: &str,
        from: Option<&str>,
        to: Option<&str>,
    ) -> StoreResult<bool> {
        let done = sqlx::query(
            "UPDATE vms SET host_id = $1,
                            status = CASE WHEN $2 IS NULL THEN 'down' ELSE 'up' END,
                            migrations = migrations + CASE WHEN $3 IS NOT NULL AND $4 IS NOT NULL THEN 1 ELSE 0 END
             WHERE id = $5 AND host_id IS NOT DISTINCT FROM $6",
        )
        .bind(to)
        .bind(to)
        .bind(from)
        .bind(to)
        .bind(vm_id)
        .bind(from)
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() == 1)
    }
}
