//! The one place that decides. Every action of the portal, the REST API and the CLI comes
//! through here: who may do it, whether the input is valid, and which event records it.
//! Long actions are jobs: `jobs` creates, runs and resumes them, and each feature module holds
//! its own flow (a workflow of recorded steps, see `crate::workflow`).
//!
//! Not here: SQL (`store`), touching hosts (`fleet`), placement and planning maths
//! (`scheduler`, `planner`), HTTP (`http`).

mod appliance;
mod appliance_flow;
mod checks;
mod clusters;
mod config;
mod engine;
mod errata;
mod hosted_engine;
mod hub;
mod instances;
mod inventory;
mod jobs;
mod maintenance;
mod metrics;
mod notify;
mod outbound;
mod pacing;
mod providers;
mod reinstall;
mod retention;
mod rolling;
mod stream;
mod survey;
mod throttle;
mod tokens;
mod upgrade;
mod users;
mod vm_migrate;
mod vms;

use std::sync::Arc;
use std::time::Duration;

use app::api::{ApiError, Severity};
use time::OffsetDateTime;

use crate::fleet::driver::{Driver, DriverError};
use crate::store::{JobRow, NewEvent, Store, StoreError};
use crate::workflow::{Clock, Faults, SystemClock};

/// How often a flow looks again at something it waits for (a paused run, a child job, a VM
/// start on a host it evacuates).
const POLL: Duration = Duration::from_millis(200);

pub use appliance::MAX_ARCHIVE_BYTES;
pub use clusters::ClusterUpdate;
pub use hosted_engine::{HaHostStatus, HaStatus, MaintenanceMode};
pub use hub::{Next, Published, Subscription, What};
pub use instances::host_name;
pub use metrics::{FleetMetrics, MetricsViewer, RunProgress};
pub use stream::StreamPermit;
pub use upgrade::UpgradeOptions;
pub use users::{validate_password, Actor, Door, IssuedToken, LoginAttempt};

/// Why the service refused or failed; the HTTP layer turns each kind into a status code.
#[derive(Debug, thiserror::Error)]
pub enum ServiceError {
    #[error("{0}")]
    NotFound(String),
    #[error("Invalid username or password.")]
    BadCredentials,
    #[error("{0}")]
    Forbidden(String),
    #[error("{message}")]
    Invalid { code: &'static str, message: String },
    #[error("{0}")]
    Conflict(String),
    /// A host (through its driver) failed to do what it was asked.
    #[error("{0}")]
    Host(String),
    /// A content provider failed or refused (its words, named by `content::ProviderError`).
    #[error("{0}")]
    Provider(String),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("{0}")]
    Internal(String),
    /// Too many failed sign-ins for this user name or client address; try again later.
    #[error("Too many failed sign-ins; try again in {retry_after} seconds.")]
    Throttled { retry_after: u64 },
    /// A per-user limit of things open at once (event streams) is reached.
    #[error("{message}")]
    TooMany { code: &'static str, message: String },
    /// Every password check slot is taken; try again shortly.
    #[error("Uplift is checking too many passwords at once; try again in {retry_after} seconds.")]
    Busy { retry_after: u64 },
}

impl ServiceError {
    pub fn invalid(code: &'static str, message: impl Into<String>) -> Self {
        ServiceError::Invalid {
            code,
            message: message.into(),
        }
    }

    /// The stable snake_case code of SPEC §4's error body.
    pub fn code(&self) -> &'static str {
        match self {
            ServiceError::NotFound(_) => "not_found",
            ServiceError::BadCredentials => "invalid_credentials",
            ServiceError::Forbidden(_) => "forbidden",
            ServiceError::Invalid { code, .. } => code,
            ServiceError::Conflict(_) => "conflict",
            ServiceError::Host(_) => "host_failed",
            ServiceError::Provider(_) => "provider_failed",
            ServiceError::Store(_) | ServiceError::Internal(_) => "internal_error",
            ServiceError::Throttled { .. } => "too_many_attempts",
            ServiceError::TooMany { code, .. } => code,
            ServiceError::Busy { .. } => "busy",
        }
    }

    /// Seconds the client should wait before trying again (`Retry-After`), when it should.
    pub fn retry_after(&self) -> Option<u64> {
        match self {
            ServiceError::Throttled { retry_after } | ServiceError::Busy { retry_after } => {
                Some(*retry_after)
            }
            _ => None,
        }
    }

    /// The error as API clients see it. Internal details go to the server's log only.
    pub fn to_api(&self) -> ApiError {
        let message = match self {
            ServiceError::Store(_) | ServiceError::Internal(_) => {
                tracing::error!(error = %self, "request failed");
                "Something went wrong inside Uplift; the server log has the details.".to_string()
            }
            other => other.to_string(),
        };
        ApiError::new(self.code(), message)
    }
}

impl From<DriverError> for ServiceError {
    fn from(error: DriverError) -> Self {
        ServiceError::Host(error.to_string())
    }
}

pub type ServiceResult<T> = Result<T, ServiceError>;

/// The service: cheap to clone, shared by the HTTP layer and the CLI.
#[derive(Clone)]
pub struct Service {
    inner: Arc<Inner>,
}

struct Inner {
    store: Store,
    driver: Arc<dyn Driver>,
    clock: Arc<dyn Clock>,
    faults: Faults,
    checks: checks::CheckState,
    power_locks: vms::PowerLocks,
    running: jobs::Running,
    logins: users::Logins,
    streams: stream::OpenStreams,
    hub: hub::Hub,
    tokens: tokens::TokenCache,
    migrations: metrics::MigrationCounts,
    silences: survey::Silences,
    instance: instances::Instance,
}

impl Service {
    /// A service on real time, injecting no faults.
    pub fn new(store: Store, driver: Arc<dyn Driver>) -> Self {
        Service::with(store, driver, Arc::new(SystemClock), Faults::none())
    }

    /// A service with its clock and the faults to inject (crash tests; see `workflow::faults`).
    pub fn with(
        store: Store,
        driver: Arc<dyn Driver>,
        clock: Arc<dyn Clock>,
        faults: Faults,
    ) -> Self {
        Service {
            inner: Arc::new(Inner {
                store,
                driver,
                clock,
                faults,
                checks: checks::CheckState::default(),
                power_locks: vms::PowerLocks::default(),
                running: jobs::Running::default(),
                logins: users::Logins::default(),
                streams: stream::OpenStreams::default(),
                hub: hub::Hub::default(),
                tokens: tokens::TokenCache::default(),
                migrations: metrics::MigrationCounts::default(),
                silences: survey::Silences::default(),
                instance: instances::Instance::default(),
            }),
        }
    }

    /// The driver's own background work (the simulator's HA agents), if any, to spawn.
    pub fn driver_background(&self) -> Option<crate::fleet::driver::Background> {
        self.inner.driver.clone().background()
    }

    pub fn clock(&self) -> &dyn Clock {
        self.inner.clock.as_ref()
    }

    /// When a job that may take `minutes` must have ended: counted from its creation, so a
    /// resumed job keeps the time it had.
    fn deadline(&self, row: &JobRow, minutes: u64) -> OffsetDateTime {
        let created = OffsetDateTime::parse(
            &row.created_at,
            &time::format_description::well_known::Rfc3339,
        )
        .unwrap_or_else(|_| self.clock().now());
        created + Duration::from_secs(minutes.saturating_mul(60))
    }

    pub fn store(&self) -> &Store {
        &self.inner.store
    }

    pub fn driver(&self) -> &dyn Driver {
        self.inner.driver.as_ref()
    }

    /// Records an event; events are the audit trail, so failing to write one fails the action.
    pub(crate) async fn record(
        &self,
        code: &'static str,
        severity: Severity,
        message: String,
        user: Option<&str>,
    ) -> ServiceResult<()> {
        self.emit(NewEvent::new(code, severity, message).user(user))
            .await
    }

    /// Records an event, and queues its notifications if anyone subscribed to its kind (the
    /// delivery loop sends them; the caller never waits for a network). An event with a once
    /// key (written by a step) is written, and notified, once however often its step runs.
    pub(crate) async fn emit(&self, event: NewEvent) -> ServiceResult<()> {
        let id = self.store().add_event(&event).await?;
        self.emitted(id, event.code).await
    }

    /// Queues the notifications of an event already written (by [`Service::emit`], or in
    /// the transaction of the change it tells of).
    pub(crate) async fn emitted(&self, id: i64, code: &'static str) -> ServiceResult<()> {
        if notify::EVENT_KINDS.contains(&code) {
            self.store().queue_deliveries(id, code).await?;
        }
        Ok(())
    }
}
