//! `GET /metrics` in Prometheus' text format (SPEC §4): the HTTP requests this server answered
//! (by route and status, with latency histograms), counted by a layer every request passes,
//! and the service's figures of the fleet and of Uplift's work (`service::metrics`).
//! docs/grafana-dashboard.json charts them.

use std::sync::Arc;
use std::time::Instant;

use app::api::{Caller, Instance};
use axum::extract::{MatchedPath, Request, State};
use axum::http::{header, Extensions, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use prometheus::{
    Encoder, Gauge, GaugeVec, HistogramOpts, HistogramVec, IntCounterVec, IntGauge, IntGaugeVec,
    Opts, Registry, TextEncoder,
};

use super::auth::client_address;
use super::error::{HttpError, HttpResult};
use super::AppState;
use crate::service::{FleetMetrics, MetricsViewer};

/// Latency buckets (seconds): API answers are milliseconds, page renders tens of them.
const BUCKETS: &[f64] = &[
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

/// The counters of HTTP requests, shared by every request.
#[derive(Clone)]
pub struct HttpMetrics(Arc<Inner>);

struct Inner {
    registry: Registry,
    requests: IntCounterVec,
    latency: HistogramVec,
}

/// A metric's definition failed: a bug in the names below, found by the first test.
#[derive(Debug, thiserror::Error)]
#[error("metrics: {0}")]
pub struct MetricsError(#[from] prometheus::Error);

impl HttpMetrics {
    pub fn new() -> Result<Self, MetricsError> {
        let registry = Registry::new();
        let requests = IntCounterVec::new(
            Opts::new(
                "uplift_http_requests_total",
                "HTTP requests answered, by route, method and status",
            ),
            &["route", "method", "status"],
        )?;
        let latency = HistogramVec::new(
            HistogramOpts::new(
                "uplift_http_request_duration_seconds",
                "Time to answer an HTTP request (until the response head), by route and method",
            )
            .buckets(BUCKETS.to_vec()),
            &["route", "method"],
        )?;
        registry.register(Box::new(requests.clone()))?;
        registry.register(Box::new(latency.clone()))?;
        Ok(HttpMetrics(Arc::new(Inner {
            registry,
            requests,
            latency,
        })))
    }
}

/// The layer that counts every request: its route (the pattern, not the path, so ids do not
/// multiply the series), method, status and time.
pub async fn track(State(metrics): State<HttpMetrics>, request: Request, next: Next) -> Response {
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or("unmatched", MatchedPath::as_str)
        .to_string();
    let method = request.method().clone();
    let started = Instant::now();
    let response = next.run(request).await;
    let inner = &metrics.0;
    inner
        .latency
        .with_label_values(&[route.as_str(), method.as_str()])
        .observe(started.elapsed().as_secs_f64());
    inner
        .requests
        .with_label_values(&[route.as_str(), method.as_str(), response.status().as_str()])
        .inc();
    response
}

/// The figures of one scrape as Prometheus metrics.
fn fleet_registry(figures: &FleetMetrics) -> Result<Registry, prometheus::Error> {
    let registry = Registry::new();
    let gauge_vec = |name: &str, help: &str, labels: &[&str]| {
        let vec = IntGaugeVec::new(Opts::new(name, help), labels)?;
        registry.register(Box::new(vec.clone()))?;
        Ok::<_, prometheus::Error>(vec)
    };
    let hosts = gauge_vec("uplift_hosts", "Hosts by status", &["status"])?;
    for (status, count) in &figures.hosts_by_status {
        hosts.with_label_values(&[status]).set(*count);
    }
    let jobs = gauge_vec(
        "uplift_jobs",
        "Jobs by kind and status",
        &["kind", "status"],
    )?;
    for (kind, status, count) in &figures.jobs_by_kind_and_status {
        jobs.with_label_values(&[kind, status]).set(*count);
    }
    let done = gauge_vec(
        "uplift_rolling_upgrade_hosts_done",
        "Hosts a running cluster upgrade has upgraded",
        &["cluster"],
    )?;
    let total = gauge_vec(
        "uplift_rolling_upgrade_hosts_total",
        "Hosts a running cluster upgrade chose",
        &["cluster"],
    )?;
    for run in &figures.runs {
        done.with_label_values(&[&run.cluster]).set(run.hosts_done);
        total
            .with_label_values(&[&run.cluster])
            .set(run.hosts_total);
    }
    let running = IntGauge::new(
        "uplift_rolling_upgrades_running",
        "Cluster upgrades running",
    )?;
    running.set(i64::try_from(figures.runs.len()).unwrap_or(i64::MAX));
    registry.register(Box::new(running))?;
    let migrations = IntCounterVec::new(
        Opts::new(
            "uplift_vm_migrations_total",
            "Live migrations this server made, by outcome",
        ),
        &["outcome"],
    )?;
    migrations
        .with_label_values(&["succeeded"])
        .inc_by(figures.migrations_succeeded);
    migrations
        .with_label_values(&["failed"])
        .inc_by(figures.migrations_failed);
    registry.register(Box::new(migrations))?;
    let deliveries = gauge_vec(
        "uplift_notification_deliveries",
        "Notification deliveries by status (pending, delivered, failed)",
        &["status"],
    )?;
    for status in ["pending", "delivered", "failed"] {
        deliveries.with_label_values(&[status]).set(0);
    }
    for (status, count) in &figures.deliveries_by_status {
        deliveries.with_label_values(&[status]).set(*count);
    }
    let streams = IntGauge::new(
        "uplift_event_streams_open",
        "Live event streams (browser tabs, scripts) open on this server",
    )?;
    streams.set(i64::try_from(figures.open_streams).unwrap_or(i64::MAX));
    registry.register(Box::new(streams))?;
    let never = IntGauge::new(
        "uplift_hosts_never_checked",
        "Hosts whose updates were never checked",
    )?;
    never.set(figures.hosts_never_checked);
    registry.register(Box::new(never))?;
    let ages = GaugeVec::new(
        Opts::new(
            "uplift_update_check_age_seconds",
            "Seconds since the last update check: of the engine, and of the host checked longest ago",
        ),
        &["target"],
    )?;
    if let Some(age) = figures.oldest_host_check_age {
        ages.with_label_values(&["oldest_host"]).set(age);
    }
    if let Some(age) = figures.engine_check_age {
        ages.with_label_values(&["engine"]).set(age);
    }
    registry.register(Box::new(ages))?;
    instance_metrics(&registry, &figures.instances)?;
    let up = Gauge::new("uplift_up", "1 while this Uplift server answers")?;
    up.set(1.0);
    registry.register(Box::new(up))?;
    Ok(registry)
}

/// Which instance answered and which holds which work (issue 22): an info series per
/// instance (`this` marks the one scraped), its heartbeat's age, its jobs, its background work.
fn instance_metrics(registry: &Registry, instances: &[Instance]) -> Result<(), prometheus::Error> {
    let labels = &["instance", "id"];
    let info = IntGaugeVec::new(
        Opts::new(
            "uplift_instance_info",
            "The Uplift instances on this database (1 for the one that answered this scrape, 0 for the others)",
        ),
        &["instance", "id", "version"],
    )?;
    let heartbeat = GaugeVec::new(
        Opts::new(
            "uplift_instance_heartbeat_age_seconds",
            "Seconds since each instance's last heartbeat",
        ),
        labels,
    )?;
    let jobs = IntGaugeVec::new(
        Opts::new("uplift_instance_jobs", "Unfinished jobs each instance runs"),
        labels,
    )?;
    let background = IntGaugeVec::new(
        Opts::new(
            "uplift_instance_background",
            "1 for the instance that runs the periodic checks, deliveries and monitors",
        ),
        labels,
    )?;
    for instance in instances {
        let names = [instance.name.as_str(), instance.id.as_str()];
        info.with_label_values(&[&instance.name, &instance.id, &instance.version])
            .set(i64::from(instance.this));
        heartbeat
            .with_label_values(&names)
            .set(instance.last_heartbeat_seconds_ago);
        jobs.with_label_values(&names)
            .set(i64::try_from(instance.work.jobs.len()).unwrap_or(i64::MAX));
        background
            .with_label_values(&names)
            .set(i64::from(instance.work.background));
    }
    registry.register(Box::new(info))?;
    registry.register(Box::new(heartbeat))?;
    registry.register(Box::new(jobs))?;
    registry.register(Box::new(background))?;
    Ok(())
}

fn internal(error: impl std::fmt::Display) -> HttpError {
    tracing::error!(%error, "cannot render the metrics");
    HttpError::new(
        StatusCode::INTERNAL_SERVER_ERROR,
        "internal_error",
        "Something went wrong inside Uplift; the server log has the details.",
    )
}

/// `GET /metrics`: loopback clients, or admins from elsewhere.
pub async fn metrics(
    State(state): State<AppState>,
    extensions: Extensions,
) -> HttpResult<Response> {
    let loopback = client_address(&extensions).is_some_and(|address| address.is_loopback());
    let viewer = match (loopback, extensions.get::<Caller>()) {
        (true, _) => MetricsViewer::Loopback,
        (false, Some(caller)) => MetricsViewer::Caller(caller),
        (false, None) => return Err(HttpError::unauthenticated()),
    };
    let figures = state.service.metrics(viewer).await?;
    let mut families = state.http_metrics.0.registry.gather();
    families.extend(fleet_registry(&figures).map_err(internal)?.gather());
    let mut body = Vec::with_capacity(16 * 1024);
    TextEncoder::new()
        .encode(&families, &mut body)
        .map_err(internal)?;
    Ok(([(header::CONTENT_TYPE, prometheus::TEXT_FORMAT)], body).into_response())
}
