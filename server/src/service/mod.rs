//! The one place that decides. Every action of the portal, the REST API and the CLI comes
//! through here: who may do it, whether the input is valid, and which event records it.

mod checks;
mod clusters;
mod config;
mod engine;
mod inventory;
mod maintenance;
mod notify;
mod rolling;
mod stream;
mod upgrade;
mod users;
mod vms;

use std::sync::Arc;

use app::api::{ApiError, Severity};

use crate::fleet::driver::Driver;
use crate::store::{NewEvent, Store, StoreError};

pub use clusters::ClusterUpdate;
pub use stream::{Changes, StreamCursor};
pub use upgrade::UpgradeOptions;
pub use users::{validate_password, Actor};

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
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("{0}")]
    Internal(String),
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
            ServiceError::Store(_) | ServiceError::Internal(_) => "internal_error",
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

pub type ServiceResult<T> = Result<T, ServiceError>;

/// The service: cheap to clone, shared by the HTTP layer and the CLI.
#[derive(Clone)]
pub struct Service {
    inner: Arc<Inner>,
}

struct Inner {
    store: Store,
    driver: Arc<dyn Driver>,
    checks: checks::CheckState,
    power_locks: vms::PowerLocks,
}

impl Service {
    pub fn new(store: Store, driver: Arc<dyn Driver>) -> Self {
        Service {
            inner: Arc::new(Inner {
                store,
                driver,
                checks: checks::CheckState::default(),
                power_locks: vms::PowerLocks::default(),
            }),
        }
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
    /// delivery loop sends them; the caller never waits for a network).
    pub(crate) async fn emit(&self, event: NewEvent) -> ServiceResult<()> {
        let id = self.store().add_event(&event).await?;
        if notify::EVENT_KINDS.contains(&event.code) {
            self.store().queue_deliveries(id, event.code).await?;
        }
        Ok(())
    }
}
