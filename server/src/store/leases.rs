//! Several instances on one database (issue 22): the `instances` they register and beat in,
//! the `job_leases` that say which instance runs which unfinished job (with the fencing token
//! every write of that job's flow carries, see `workflow::JobLog`), and the named `leases` of
//! work only one instance does at a time. Times are milliseconds on the database's clock
//! (`Backend::now_ms`).
//!
//! Every claim is one statement (an upsert whose `WHERE` only lets an expired lease, or the
//! holder's own, be taken), so two instances claiming at once cannot both win: the database
//! decides. What an instance does with a lease is the service's (`service::instances`).

use sqlx::Row;

use super::{flag, now_rfc3339, Store, StoreResult};

/// One instance as its row says.
#[derive(Clone, Debug)]
pub struct InstanceRow {
    pub id: String,
    pub name: String,
    pub address: String,
    pub version: String,
    pub started_at: String,
    /// Milliseconds since its last heartbeat, on the database's clock.
    pub silent_ms: i64,
    pub stopped: bool,
}

/// What a heartbeat found.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Heartbeat {
    /// The instance's row was there.
    pub registered: bool,
    /// Jobs it ran whose lease another instance holds now.
    pub lost: Vec<String>,
}

/// Which instance holds a job's lease and with which fencing token.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Fence {
    pub owner: String,
    pub token: i64,
}

impl Store {
    /// Registers a starting instance. Instances of the same name that are still registered are
    /// earlier processes of this one (a restart): they are marked stopped and their leases
    /// end now, so the new process takes their work over at once instead of after the lease
    /// time. Their fencing tokens still stop them, should one of them in fact still run.
    pub async fn register_instance(
        &self,
        id: &str,
        name: &str,
        address: &str,
        version: &str,
        takes_over: bool,
    ) -> StoreResult<()> {
        let now = self.backend().now_ms();
        let mut tx = self.pool.begin().await?;
        if takes_over {
            let stale = "SELECT id FROM instances WHERE name = $1 AND id <> $2 AND stopped = 0";
            sqlx::query(&format!(
                "UPDATE job_leases SET until_ms = 0 WHERE owner IN ({stale})"
            ))
            .bind(name)
            .bind(id)
            .execute(&mut *tx)
            .await?;
            sqlx::query(&format!(
                "UPDATE leases SET until_ms = 0 WHERE holder IN ({stale})"
            ))
            .bind(name)
            .bind(id)
            .execute(&mut *tx)
            .await?;
            sqlx::query("UPDATE instances SET stopped = 1 WHERE name = $1 AND id <> $2")
                .bind(name)
                .bind(id)
                .execute(&mut *tx)
                .await?;
        }
        sqlx::query(&format!(
            "INSERT INTO instances (id, name, address, version, started_at, heartbeat_ms)
             VALUES ($1, $2, $3, $4, $5, {now})
             ON CONFLICT (id) DO UPDATE SET name = excluded.name, address = excluded.address,
                 heartbeat_ms = excluded.heartbeat_ms, stopped = 0"
        ))
        .bind(id)
        .bind(name)
        .bind(address)
        .bind(version)
        .bind(now_rfc3339())
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// The instance's heartbeat: its row, and the leases of the jobs it runs (`running`)
    /// renewed for `lease_ms`. Says whether its row was there (a row removed by hand is
    /// registered again) and which of those jobs it no longer holds (another instance took
    /// them over).
    pub async fn heartbeat(
        &self,
        id: &str,
        lease_ms: i64,
        running: &[String],
    ) -> StoreResult<Heartbeat> {
        let now = self.backend().now_ms();
        let mut tx = self.pool.begin().await?;
        let beat = sqlx::query(&format!(
            "UPDATE instances SET heartbeat_ms = {now} WHERE id = $1"
        ))
        .bind(id)
        .execute(&mut *tx)
        .await?;
        let mut lost = Vec::new();
        for job_id in running {
            let renewed = sqlx::query(&format!(
                "UPDATE job_leases SET until_ms = {now} + $1 WHERE job_id = $2 AND owner = $3"
            ))
            .bind(lease_ms)
            .bind(job_id)
            .bind(id)
            .execute(&mut *tx)
            .await?;
            if renewed.rows_affected() == 0 {
                lost.push(job_id.clone());
            }
        }
        tx.commit().await?;
        Ok(Heartbeat {
            registered: beat.rows_affected() == 1,
            lost,
        })
    }

    /// A stopping instance: marked stopped, its leases ended now so another instance takes its
    /// work over at its next heartbeat.
    pub async fn stop_instance(&self, id: &str) -> StoreResult<()> {
        let mut tx = self.pool.begin().await?;
        sqlx::query("UPDATE job_leases SET until_ms = 0 WHERE owner = $1")
            .bind(id)
            .execute(&mut *tx)
            .await?;
        sqlx::query("UPDATE leases SET until_ms = 0 WHERE holder = $1")
            .bind(id)
            .execute(&mut *tx)
            .await?;
        sqlx::query("UPDATE instances SET stopped = 1 WHERE id = $1")
            .bind(id)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Takes the job's lease for `owner` unless another instance holds it and its lease has
    /// not ended, or the job has ended. The token is raised at every change of hands (and at a holder's fresh
    /// start), so writes carrying an older token are refused from then on.
    pub async fn claim_job(
        &self,
        job_id: &str,
        owner: &str,
        lease_ms: i64,
    ) -> StoreResult<Option<Fence>> {
        let now = self.backend().now_ms();
        let token: Option<i64> = sqlx::query_scalar(&format!(
            "INSERT INTO job_leases (job_id, owner, fence, until_ms)
             SELECT id, $2, 1, {now} + $3 FROM jobs WHERE id = $1 AND ended_at IS NULL
             ON CONFLICT (job_id) DO UPDATE
                 SET owner = excluded.owner, fence = job_leases.fence + 1,
                     until_ms = excluded.until_ms
                 WHERE job_leases.until_ms < {now} OR job_leases.owner = excluded.owner
             RETURNING fence"
        ))
        .bind(job_id)
        .bind(owner)
        .bind(lease_ms)
        .fetch_optional(&self.pool)
        .await?;
        Ok(token.map(|token| Fence {
            owner: owner.to_string(),
            token,
        }))
    }

    /// Unfinished jobs nobody holds a live lease for: never claimed, or their holder stopped
    /// beating. Oldest first.
    pub async fn claimable_jobs(&self) -> StoreResult<Vec<String>> {
        let now = self.backend().now_ms();
        Ok(sqlx::query_scalar(&format!(
            "SELECT j.id FROM jobs j LEFT JOIN job_leases l ON l.job_id = j.id
             WHERE j.ended_at IS NULL AND (l.job_id IS NULL OR l.until_ms < {now})
             ORDER BY j.created_at, j.id"
        ))
        .fetch_all(&self.pool)
        .await?)
    }

    /// Takes or keeps the named lease for `holder`; its token when held.
    pub async fn hold_lease(
        &self,
        name: &str,
        holder: &str,
        lease_ms: i64,
    ) -> StoreResult<Option<i64>> {
        let now = self.backend().now_ms();
        Ok(sqlx::query_scalar(&format!(
            "INSERT INTO leases (name, holder, fence, until_ms) VALUES ($1, $2, 1, {now} + $3)
             ON CONFLICT (name) DO UPDATE
                 SET fence = CASE WHEN leases.holder = excluded.holder
                                  THEN leases.fence ELSE leases.fence + 1 END,
                     holder = excluded.holder, until_ms = excluded.until_ms
                 WHERE leases.until_ms < {now} OR leases.holder = excluded.holder
             RETURNING fence"
        ))
        .bind(name)
        .bind(holder)
        .bind(lease_ms)
        .fetch_optional(&self.pool)
        .await?)
    }

    /// Every registered instance that has not stopped, most recently started first.
    pub async fn instances(&self) -> StoreResult<Vec<InstanceRow>> {
        let now = self.backend().now_ms();
        sqlx::query(&format!(
            "SELECT id, name, address, version, started_at, {now} - heartbeat_ms AS silent_ms,
                    stopped
             FROM instances WHERE stopped = 0 ORDER BY started_at DESC, id"
        ))
        .fetch_all(&self.pool)
        .await?
        .into_iter()
        .map(|row| {
            Ok(InstanceRow {
                id: row.try_get("id")?,
                name: row.try_get("name")?,
                address: row.try_get("address")?,
                version: row.try_get("version")?,
                started_at: row.try_get("started_at")?,
                silent_ms: row.try_get("silent_ms")?,
                stopped: flag(&row, "stopped")?,
            })
        })
        .collect()
    }

    /// Who holds what now: (instance id, job id) of every unfinished job with a live lease,
    /// and the holder of each named lease that has not ended.
    pub async fn holdings(&self) -> StoreResult<(Vec<(String, String)>, Vec<(String, String)>)> {
        let now = self.backend().now_ms();
        let jobs = sqlx::query(&format!(
            "SELECT l.owner, l.job_id FROM job_leases l JOIN jobs j ON j.id = l.job_id
             WHERE j.ended_at IS NULL AND l.until_ms >= {now} ORDER BY j.created_at, j.id"
        ))
        .fetch_all(&self.pool)
        .await?
        .into_iter()
        .map(|row| Ok((row.try_get("owner")?, row.try_get("job_id")?)))
        .collect::<StoreResult<Vec<_>>>()?;
        let leases = sqlx::query(&format!(
            "SELECT holder, name FROM leases WHERE until_ms >= {now} ORDER BY name"
        ))
        .fetch_all(&self.pool)
        .await?
        .into_iter()
        .map(|row| Ok((row.try_get("holder")?, row.try_get("name")?)))
        .collect::<StoreResult<Vec<_>>>()?;
        Ok((jobs, leases))
    }

    /// Instances stopped, or silent for longer than `silent_ms`, forgotten (with nothing held:
    /// their leases have ended long ago).
    pub async fn forget_instances(&self, silent_ms: i64) -> StoreResult<u64> {
        let now = self.backend().now_ms();
        let done = sqlx::query(&format!(
            "DELETE FROM instances WHERE stopped = 1 OR heartbeat_ms < {now} - $1"
        ))
        .bind(silent_ms)
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected())
    }
}

#[cfg(test)]
mod tests {
    use app::api::{JobKind, JobStatus};
    use time::OffsetDateTime;

    use super::*;
    use crate::store::{JobLog, NewJob, StoreError};
    use crate::workflow::{Step, StepLog};

    /// A job that needs nothing else in the database.
    fn engine_check(id: &'static str) -> NewJob<'static> {
        NewJob {
            id,
            kind: JobKind::EngineUpdateCheck,
            correlation_id: "c",
            host_id: None,
            cluster_id: None,
            user: None,
            host_status_before: None,
            params: None,
            parent_id: None,
            vm_id: None,
        }
    }

    async fn store_with_job(dir: &std::path::Path) -> Store {
        let store = Store::open(&format!("sqlite://{}/t.db", dir.display()))
            .await
            .unwrap();
        store.insert_job(&engine_check("j"), None).await.unwrap();
        store
    }

    /// Stands in for the lease time passing without a renewal.
    async fn expire(store: &Store) {
        sqlx::query("UPDATE job_leases SET until_ms = 0")
            .execute(&store.pool)
            .await
            .unwrap();
        sqlx::query("UPDATE leases SET until_ms = 0")
            .execute(&store.pool)
            .await
            .unwrap();
    }

    #[tokio::test]
    async fn a_job_has_one_holder_and_the_old_holder_cannot_write_after_a_takeover() {
        let dir = tempfile::tempdir().unwrap();
        let store = store_with_job(dir.path()).await;
        assert_eq!(store.claimable_jobs().await.unwrap(), vec!["j".to_string()]);
        let a = store.claim_job("j", "a", 60_000).await.unwrap().unwrap();
        assert_eq!(a.token, 1);
        assert_eq!(store.claim_job("j", "b", 60_000).await.unwrap(), None);
        assert!(store.claimable_jobs().await.unwrap().is_empty());
        let step = Step::once("s");
        let now = OffsetDateTime::now_utc();
        let by_a = JobLog::new(store.clone(), a);
        by_a.started("j", &step, now).await.unwrap();

        // a stops renewing; b takes the job over with a higher token.
        expire(&store).await;
        assert_eq!(store.claimable_jobs().await.unwrap(), vec!["j".to_string()]);
        let b = store.claim_job("j", "b", 60_000).await.unwrap().unwrap();
        assert_eq!(b.token, 2);
        assert!(matches!(
            by_a.ended("j", &step, &Ok(serde_json::json!("late")), "late", now)
                .await,
            Err(StoreError::Fenced(_))
        ));
        assert!(matches!(
            by_a.finish("j", JobStatus::Failed, Some("late")).await,
            Err(StoreError::Fenced(_))
        ));
        assert!(matches!(
            by_a.progress("j", 50.0).await,
            Err(StoreError::Fenced(_))
        ));
        let by_b = JobLog::new(store.clone(), b);
        by_b.ended("j", &step, &Ok(serde_json::json!("done")), "done", now)
            .await
            .unwrap();
        by_b.finish("j", JobStatus::Succeeded, Some("done"))
            .await
            .unwrap();
        let job = store.job("j").await.unwrap().unwrap();
        assert_eq!(job.status, JobStatus::Succeeded);
        assert_eq!(job.steps.len(), 1);
        assert_eq!(job.steps[0].message.as_deref(), Some("done"));
        assert!(store.claimable_jobs().await.unwrap().is_empty());
    }

    #[tokio::test]
    async fn the_background_lease_is_kept_by_its_holder_and_taken_when_it_ends() {
        let dir = tempfile::tempdir().unwrap();
        let store = store_with_job(dir.path()).await;
        assert_eq!(
            store.hold_lease("background", "a", 60_000).await.unwrap(),
            Some(1)
        );
        assert_eq!(
            store.hold_lease("background", "b", 60_000).await.unwrap(),
            None
        );
        assert_eq!(
            store.hold_lease("background", "a", 60_000).await.unwrap(),
            Some(1)
        );
        expire(&store).await;
        assert_eq!(
            store.hold_lease("background", "b", 60_000).await.unwrap(),
            Some(2)
        );
        assert_eq!(
            store.hold_lease("background", "a", 60_000).await.unwrap(),
            None
        );
    }

    #[tokio::test]
    async fn a_restarted_instance_takes_over_at_once_what_its_earlier_process_held() {
        let dir = tempfile::tempdir().unwrap();
        let store = store_with_job(dir.path()).await;
        store
            .register_instance("old", "x", "", "1", true)
            .await
            .unwrap();
        store
            .register_instance("other", "y", "", "1", true)
            .await
            .unwrap();
        store.claim_job("j", "old", 60_000).await.unwrap().unwrap();
        store.hold_lease("background", "old", 60_000).await.unwrap();
        // Another name changes nothing; the same name ends the earlier process's leases.
        store
            .register_instance("new", "z", "", "1", true)
            .await
            .unwrap();
        assert_eq!(store.claim_job("j", "new", 60_000).await.unwrap(), None);
        store
            .register_instance("new", "x", "", "1", true)
            .await
            .unwrap();
        let taken = store.claim_job("j", "new", 60_000).await.unwrap().unwrap();
        assert_eq!(taken.token, 2);
        assert_eq!(
            store.hold_lease("background", "new", 60_000).await.unwrap(),
            Some(2)
        );
        let names: Vec<String> = store
            .instances()
            .await
            .unwrap()
            .into_iter()
            .map(|i| i.name)
            .collect();
        assert_eq!(names.len(), 2, "{names:?}");
        assert!(names.contains(&"x".to_string()) && names.contains(&"y".to_string()));
    }

    #[tokio::test]
    async fn a_new_job_is_its_creators_and_an_ended_job_cannot_be_claimed() {
        let dir = tempfile::tempdir().unwrap();
        let store = store_with_job(dir.path()).await;
        store
            .insert_job(&engine_check("k"), Some(("a", 60_000)))
            .await
            .unwrap();
        // Created with its creator's lease: nobody else sees it claimable or claims it.
        assert_eq!(store.claimable_jobs().await.unwrap(), vec!["j".to_string()]);
        assert_eq!(store.claim_job("k", "b", 60_000).await.unwrap(), None);
        let a = store.claim_job("k", "a", 60_000).await.unwrap().unwrap();
        assert_eq!(a.token, 1);

        // The heartbeat renews the jobs named and reports those another instance took.
        let b = store.claim_job("j", "b", 60_000).await.unwrap().unwrap();
        expire(&store).await;
        let beat = store
            .heartbeat("a", 60_000, &["k".to_string(), "j".to_string()])
            .await
            .unwrap();
        assert_eq!(beat.lost, vec!["j".to_string()]);
        assert!(!beat.registered);
        assert_eq!(store.claim_job("k", "b", 60_000).await.unwrap(), None);

        // An ended job stays ended: its expired lease is no claim on it.
        JobLog::new(store.clone(), b)
            .finish("j", JobStatus::Succeeded, Some("done"))
            .await
            .unwrap();
        expire(&store).await;
        assert_eq!(store.claim_job("j", "a", 60_000).await.unwrap(), None);
        assert_eq!(store.claimable_jobs().await.unwrap(), vec!["k".to_string()]);
    }

    #[tokio::test]
    async fn only_the_vm_starts_of_stopped_instances_are_left_to_settle() {
        let dir = tempfile::tempdir().unwrap();
        let store = store_with_job(dir.path()).await;
        let fleet = crate::fleet::Fleet::parse(
            "f.toml",
            r#"
cluster = [{ name = "A", compatibility_version = "4.7" }]
host = [{ name = "h1", cluster = "A", os = "RHEL 8.9", memory_gb = 64 }]
vm = [{ name = "v1", memory_gb = 1 }, { name = "v2", memory_gb = 1 }]
"#,
        )
        .unwrap();
        store.load_fleet(&fleet, "f.toml").await.unwrap();
        let id = |table: &'static str, name: &'static str| {
            let store = store.clone();
            async move {
                sqlx::query_scalar::<_, String>(&format!("SELECT id FROM {table} WHERE name = $1"))
                    .bind(name)
                    .fetch_one(&store.pool)
                    .await
                    .unwrap()
            }
        };
        let (host, v1, v2) = (
            id("hosts", "h1").await,
            id("vms", "v1").await,
            id("vms", "v2").await,
        );
        store
            .register_instance("a", "a", "", "1", true)
            .await
            .unwrap();
        store
            .register_instance("b", "b", "", "1", true)
            .await
            .unwrap();
        assert!(store.reserve_vm_start(&v1, &host, "a").await.unwrap());
        assert!(store.reserve_vm_start(&v2, &host, "b").await.unwrap());
        assert!(!store.reserve_vm_start(&v2, &host, "a").await.unwrap());
        assert!(store.left_vm_starts(60_000).await.unwrap().is_empty());

        // b stops: its start is left to settle; a's, still being made, is not.
        store.stop_instance("b").await.unwrap();
        assert_eq!(
            store.left_vm_starts(60_000).await.unwrap(),
            vec![(v2.clone(), host.clone(), "b".to_string())]
        );
        // Only the instance that made a reservation ends it.
        store.end_vm_start(&v1, "b", true).await.unwrap();
        assert_eq!(store.vm_starts_on(&host).await.unwrap(), 2);
        store.end_vm_start(&v1, "a", false).await.unwrap();
        store.end_vm_start(&v2, "b", false).await.unwrap();
        assert_eq!(store.vm_starts_on(&host).await.unwrap(), 0);
    }
}
