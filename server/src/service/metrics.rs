//! What `GET /metrics` reports about the fleet and Uplift's own work, and who may read it:
//! loopback clients (a Prometheus on the same machine) and admins. The counts come from the
//! database at each scrape, so every instance and the CLI's work are seen alike; migrations
//! are counted by this process as it makes them.
//!
//! Not here: HTTP request metrics and the text format (`http::metrics`).

use std::sync::atomic::{AtomicU64, Ordering};

use app::api::Caller;
use time::OffsetDateTime;

use super::{Service, ServiceError, ServiceResult};

/// Who asks for the metrics.
pub enum MetricsViewer<'a> {
    /// A client on this machine (no credentials needed).
    Loopback,
    /// A signed-in caller from elsewhere: admins only.
    Caller(&'a Caller),
}

/// Live migrations this process made, by outcome.
#[derive(Debug, Default)]
pub(super) struct MigrationCounts {
    succeeded: AtomicU64,
    failed: AtomicU64,
}

impl MigrationCounts {
    pub(super) fn count(&self, succeeded: bool) {
        let counter = if succeeded {
            &self.succeeded
        } else {
            &self.failed
        };
        counter.fetch_add(1, Ordering::Relaxed);
    }
}

/// A running cluster upgrade's progress.
#[derive(Debug)]
pub struct RunProgress {
    pub cluster: String,
    pub hosts_done: i64,
    pub hosts_total: i64,
}

/// One scrape's figures.
#[derive(Debug)]
pub struct FleetMetrics {
    pub hosts_by_status: Vec<(String, i64)>,
    pub jobs_by_kind_and_status: Vec<(String, String, i64)>,
    pub runs: Vec<RunProgress>,
    pub deliveries_by_status: Vec<(String, i64)>,
    pub migrations_succeeded: u64,
    pub migrations_failed: u64,
    pub open_streams: usize,
    /// Seconds since the least recently checked host's update check (hosts never checked
    /// aside); `None` when no host was ever checked.
    pub oldest_host_check_age: Option<f64>,
    pub hosts_never_checked: i64,
    /// Seconds since the engine's last update check.
    pub engine_check_age: Option<f64>,
    /// The instances on this database and what each holds.
    pub instances: Vec<app::api::Instance>,
}

fn age(now: OffsetDateTime, at: Option<&str>) -> Option<f64> {
    let at = OffsetDateTime::parse(at?, &time::format_description::well_known::Rfc3339).ok()?;
    Some((now - at).as_seconds_f64().max(0.0))
}

impl Service {
    /// The figures of `GET /metrics`.
    pub async fn metrics(&self, viewer: MetricsViewer<'_>) -> ServiceResult<FleetMetrics> {
        if let MetricsViewer::Caller(caller) = viewer {
            if !caller.is_admin() {
                return Err(ServiceError::Forbidden(
                    "Metrics are open to this machine and to admins only.".into(),
                ));
            }
        }
        let store = self.store();
        let mut runs = Vec::new();
        for run in store.running_runs().await? {
            runs.push(RunProgress {
                hosts_total: self.run_host_count(&run.job_id).await?,
                cluster: run.cluster,
                hosts_done: run.hosts_done,
            });
        }
        let now = self.clock().now();
        let (oldest_check, hosts_never_checked) = store.host_check_times().await?;
        let engine = store.engine_state().await?;
        let counts = &self.inner.migrations;
        Ok(FleetMetrics {
            hosts_by_status: store.hosts_by_status().await?,
            jobs_by_kind_and_status: store.jobs_by_kind_and_status().await?,
            runs,
            deliveries_by_status: store.deliveries_by_status().await?,
            migrations_succeeded: counts.succeeded.load(Ordering::Relaxed),
            migrations_failed: counts.failed.load(Ordering::Relaxed),
            open_streams: self.open_streams(),
            oldest_host_check_age: age(now, oldest_check.as_deref()),
            hosts_never_checked,
            engine_check_age: engine.and_then(|e| age(now, e.last_checked.as_deref())),
            instances: self.instances().await?,
        })
    }
}
