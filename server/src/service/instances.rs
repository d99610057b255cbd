//! Several Uplift instances on one database (issue 22): how an instance registers, beats, runs
//! the jobs it holds a lease for, takes over the jobs of an instance that stopped beating,
//! and does the work only one instance may do (the periodic checks, deliveries, the HA
//! monitor, the host survey, retention, the driver's own background work) while it holds the
//! `background` lease.
//!
//! The heartbeat runs every fifth of the lease time (`JobLeaseTimeInSeconds`): it renews this
//! instance's leases, claims unfinished jobs whose lease ended (their instance died or was
//! paused), and takes or keeps the `background` lease. A job's flow writes through a
//! `store::JobLog` carrying its fencing token, so an instance that lost a job cannot write to
//! it any more (`StoreError::Fenced`, and its flow stops).
//!
//! A process that runs jobs without serving (the CLI's appliance upgrade) beats too, so its
//! job is not taken from it while it runs; it only never claims others' work.
//!
//! Not here: what a job does (`jobs` and each feature's flow), the SQL (`store::leases`).

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, PoisonError};
use std::time::Duration;

use app::api::{Instance as InstanceInfo, InstanceWork};
use tokio::task::{AbortHandle, JoinSet};

use super::{Service, ServiceResult};
use crate::store::new_id;

/// The named lease of the work only one instance does.
const BACKGROUND: &str = "background";
/// The lease time when the configured value cannot be read.
const DEFAULT_LEASE_MS: i64 = 15_000;
/// Instances silent for this long are forgotten (they hold nothing any more).
const FORGET_AFTER_MS: i64 = 24 * 3600 * 1000;

/// This process as one of the instances.
pub(super) struct Instance {
    id: String,
    name: Mutex<String>,
    /// Where it serves (`--addr`), empty for the CLI.
    address: Mutex<String>,
    /// Serving: claims others' jobs and may lead the background work.
    serving: AtomicBool,
    /// The heartbeat task runs.
    beating: AtomicBool,
    /// The heartbeat task, stopped by a graceful stop before the leases are handed over.
    heartbeat: Mutex<Option<AbortHandle>>,
    /// The background work, while this instance holds its lease (dropping it stops it).
    leading: Mutex<Option<JoinSet<()>>>,
}

impl Default for Instance {
    fn default() -> Self {
        Instance {
            id: new_id(),
            name: Mutex::new(format!("{} (cli)", host_name())),
            address: Mutex::new(String::new()),
            serving: AtomicBool::new(false),
            beating: AtomicBool::new(false),
            heartbeat: Mutex::new(None),
            leading: Mutex::new(None),
        }
    }
}

/// This machine's name, for the default instance name.
pub fn host_name() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .map(|name| name.trim().to_string())
        .filter(|name| !name.is_empty())
        .unwrap_or_else(|| "uplift".to_string())
}

impl Service {
    pub fn instance_id(&self) -> &str {
        &self.inner.instance.id
    }

    pub fn instance_name(&self) -> String {
        self.inner
            .instance
            .name
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// The lease time in milliseconds (`JobLeaseTimeInSeconds`).
    pub(super) async fn lease_ms(&self) -> i64 {
        match self.config_number("JobLeaseTimeInSeconds").await {
            Ok(seconds) => i64::try_from(seconds.saturating_mul(1000)).unwrap_or(DEFAULT_LEASE_MS),
            Err(error) => {
                tracing::warn!(%error, "cannot read JobLeaseTimeInSeconds; using 15 s");
                DEFAULT_LEASE_MS
            }
        }
    }

    /// `uplift serve`: registers this process as the instance `name` (taking over at once what
    /// an earlier process of that name held), takes the background work if no live instance
    /// has it, and starts beating. Jobs are resumed by `resume_jobs` after.
    pub async fn join_instances(&self, name: &str, address: &str) -> ServiceResult<()> {
        let instance = &self.inner.instance;
        *instance.name.lock().unwrap_or_else(PoisonError::into_inner) = name.to_string();
        *instance
            .address
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = address.to_string();
        instance.serving.store(true, Ordering::SeqCst);
        self.store()
            .register_instance(&instance.id, name, address, env!("CARGO_PKG_VERSION"), true)
            .await?;
        tracing::info!(instance = name, id = %instance.id, "joined the instances on this database");
        let lease = self.lease_ms().await;
        self.lead(lease).await;
        if !instance.beating.swap(true, Ordering::SeqCst) {
            let task = tokio::spawn(self.clone().run_heartbeats());
            self.keep_heartbeat(task.abort_handle());
        }
        Ok(())
    }

    /// A graceful stop: this instance's leases end now, so another takes its work at once.
    pub async fn leave_instances(&self) {
        // No heartbeat may renew a lease after it was handed over.
        if let Some(heartbeat) = self
            .inner
            .instance
            .heartbeat
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take()
        {
            heartbeat.abort();
        }
        self.stop_leading();
        if let Err(error) = self.store().stop_instance(self.instance_id()).await {
            tracing::warn!(%error, "cannot hand this instance's work over");
        }
    }

    /// Starts the heartbeat of a process that runs a job without `join_instances` (the CLI).
    pub(super) fn keep_leases(&self) {
        if !self.inner.instance.beating.swap(true, Ordering::SeqCst) {
            let service = self.clone();
            let task = tokio::spawn(async move {
                let instance = &service.inner.instance;
                let name = service.instance_name();
                if let Err(error) = service
                    .store()
                    .register_instance(&instance.id, &name, "", env!("CARGO_PKG_VERSION"), false)
                    .await
                {
                    tracing::warn!(%error, "cannot register this process as an instance");
                }
                service.run_heartbeats().await;
            });
            self.keep_heartbeat(task.abort_handle());
        }
    }

    fn keep_heartbeat(&self, task: AbortHandle) {
        *self
            .inner
            .instance
            .heartbeat
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = Some(task);
    }

    async fn run_heartbeats(self) {
        loop {
            let lease = self.lease_ms().await;
            let tick = u64::try_from(lease / 5).unwrap_or(3000).max(200);
            self.clock().sleep(Duration::from_millis(tick)).await;
            self.beat(lease).await;
        }
    }

    /// One heartbeat: the leases of the jobs running here renewed (those another instance took
    /// over stop here), then (serving) orphaned jobs claimed and the background work taken,
    /// kept or given up.
    async fn beat(&self, lease: i64) {
        let instance = &self.inner.instance;
        let running = self.inner.running.holding();
        match self.store().heartbeat(&instance.id, lease, &running).await {
            Ok(beat) => {
                for job_id in &beat.lost {
                    tracing::warn!(job = %job_id, "another instance took this job over; stopping it here");
                    self.inner.running.abort(job_id);
                }
                if !beat.registered {
                    self.register_again().await;
                }
            }
            Err(error) => {
                tracing::warn!(%error, "cannot renew this instance's leases");
                self.lease_unconfirmed();
                return;
            }
        }
        if !instance.serving.load(Ordering::SeqCst) {
            return;
        }
        if let Err(error) = self.resume_jobs().await {
            tracing::warn!(%error, "cannot look for jobs left by other instances");
        }
        self.lead(lease).await;
    }

    /// A row removed by hand (or forgotten while this instance was paused) is written again.
    async fn register_again(&self) {
        let instance = &self.inner.instance;
        let name = self.instance_name();
        let address = instance
            .address
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone();
        if let Err(error) = self
            .store()
            .register_instance(
                &instance.id,
                &name,
                &address,
                env!("CARGO_PKG_VERSION"),
                false,
            )
            .await
        {
            tracing::warn!(%error, "cannot register this instance again");
        }
    }

    /// Takes or keeps the background lease and runs the background work while it holds it;
    /// stops that work when another instance has the lease.
    async fn lead(&self, lease: i64) {
        let instance = &self.inner.instance;
        let held = match self
            .store()
            .hold_lease(BACKGROUND, &instance.id, lease)
            .await
        {
            Ok(held) => held.is_some(),
            Err(error) => {
                tracing::warn!(%error, "cannot renew the background lease");
                self.lease_unconfirmed();
                return;
            }
        };
        {
            let mut leading = instance
                .leading
                .lock()
                .unwrap_or_else(PoisonError::into_inner);
            match (held, leading.is_some()) {
                (true, false) => {
                    tracing::info!(
                        "this instance runs the background work (checks, deliveries, monitors)"
                    );
                    *leading = Some(self.background_work());
                }
                (false, true) => {
                    tracing::warn!(
                        "another instance took the background work over; stopping it here"
                    );
                    *leading = None;
                }
                _ => {}
            }
        }
        if held {
            if let Err(error) = self.store().forget_instances(FORGET_AFTER_MS).await {
                tracing::debug!(%error, "cannot forget old instances");
            }
        }
    }

    /// Stops the background work (if it runs here); whether it ran.
    fn stop_leading(&self) -> bool {
        self.inner
            .instance
            .leading
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take()
            .is_some()
    }

    /// The background work runs only while its lease was confirmed at the last heartbeat
    /// (another instance may take the lease once it ends).
    fn lease_unconfirmed(&self) {
        if self.stop_leading() {
            tracing::warn!("the background lease cannot be confirmed; its work stops here");
        }
    }

    /// The work only one instance does, each loop on a task of its own.
    fn background_work(&self) -> JoinSet<()> {
        let mut work = JoinSet::new();
        let settle = self.clone();
        work.spawn(async move {
            if let Err(error) = settle.settle_vm_starts().await {
                tracing::warn!(%error, "cannot settle the VM starts a stopped instance left");
            }
        });
        if let Some(driver) = self.driver_background() {
            work.spawn(driver);
        }
        work.spawn(self.clone().run_ha_monitor());
        work.spawn(self.clone().run_host_survey());
        work.spawn(self.clone().run_periodic_checks());
        work.spawn(self.clone().run_engine_checks());
        work.spawn(self.clone().run_deliveries());
        work.spawn(self.clone().run_retention());
        work
    }

    /// Every instance with what it holds: for `GET /api/instances`, `/metrics` and the About
    /// dialog.
    pub async fn instances(&self) -> ServiceResult<Vec<InstanceInfo>> {
        let lease = self.lease_ms().await;
        let rows = self.store().instances().await?;
        let (jobs, leases) = self.store().holdings().await?;
        Ok(rows
            .into_iter()
            .map(|row| {
                let held = |id: &str| id == row.id;
                InstanceInfo {
                    this: row.id == self.instance_id(),
                    alive: !row.stopped && row.silent_ms <= lease,
                    last_heartbeat_seconds_ago: (row.silent_ms.max(0) as f64 / 1000.0),
                    work: InstanceWork {
                        jobs: jobs
                            .iter()
                            .filter(|(owner, _)| held(owner))
                            .map(|(_, job)| job.clone())
                            .collect(),
                        background: leases
                            .iter()
                            .any(|(holder, name)| held(holder) && name == BACKGROUND),
                    },
                    id: row.id,
                    name: row.name,
                    address: row.address,
                    version: row.version,
                    started_at: row.started_at,
                }
            })
            .collect())
    }
}
