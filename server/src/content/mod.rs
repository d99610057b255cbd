//! Content providers (issue 21; seed 001's external Foreman/Katello provider): where a host's
//! errata come from and what installs them. The service talks to the [`ContentProvider`]
//! trait only; [`sim::SimProvider`] is the simulator as a provider (errata from the fleet
//! file, the simulated hosts' packages) and [`foreman::ForemanProvider`] a client of
//! Katello's REST API (docs/katello-api.md).
//!
//! Not here: which errata apply to a package set (`domain::errata`), who may do what and the
//! install flow (`service::errata`), the provider rows (`store::providers`).

pub mod foreman;
pub mod sim;

use app::api::Erratum;

use crate::store::{ProviderRow, Store};

/// A host as its provider knows it (Katello's content host).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ContentHost {
    /// The provider's own id for it.
    pub id: String,
    pub name: String,
    /// Whether the provider can install content on it (Katello: a registered host with a
    /// way to run remote jobs); when not, why.
    pub cannot_install: Option<String>,
}

/// How a provider task stands.
#[derive(Clone, Debug, PartialEq)]
pub enum TaskState {
    Running {
        percent: f64,
    },
    Succeeded,
    /// The task ended in failure; the provider's own words.
    Failed(String),
}

/// What went wrong talking to a provider, named so that an admin knows where to look.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ProviderError {
    #[error("the provider cannot be reached: {0}")]
    Unreachable(String),
    #[error("the provider refused the credentials: {0}")]
    Unauthorized(String),
    #[error("{0}")]
    NotFound(String),
    /// The provider answered with an error of its own (its words).
    #[error("the provider refused: {0}")]
    Refused(String),
    /// The provider answered something this client does not understand.
    #[error("the provider's answer was not understood: {0}")]
    Protocol(String),
}

pub type ProviderResult<T> = Result<T, ProviderError>;

#[async_trait::async_trait]
pub trait ContentProvider: Send + Sync {
    /// Whether the provider answers with these credentials; a line about it.
    async fn test(&self) -> ProviderResult<String>;

    /// The content host registered under a host's name.
    async fn find_host(&self, name: &str) -> ProviderResult<ContentHost>;

    /// The content host with this id.
    async fn content_host(&self, id: &str) -> ProviderResult<ContentHost>;

    /// The errata applicable to a content host.
    async fn errata(&self, content_host: &str) -> ProviderResult<Vec<Erratum>>;

    /// Asks the provider to install errata on a content host; returns its task id. `request`
    /// is the caller's key for this request: where the provider can, asking again with the
    /// same key answers the same task.
    async fn install(
        &self,
        content_host: &str,
        errata: &[String],
        request: &str,
    ) -> ProviderResult<String>;

    /// How a task stands.
    async fn task(&self, id: &str) -> ProviderResult<TaskState>;
}

/// The client for a stored provider.
pub fn client(row: &ProviderRow, store: &Store) -> ProviderResult<Box<dyn ContentProvider>> {
    match row.kind.as_str() {
        "sim" => Ok(Box::new(sim::SimProvider::new(store.clone()))),
        "foreman" => Ok(Box::new(foreman::ForemanProvider::new(row)?)),
        other => Err(ProviderError::Protocol(format!(
            "provider {} is of an unknown kind {other:?}",
            row.name
        ))),
    }
}
