//! How Uplift touches hosts. The service, the workflows and the scheduler talk to this trait
//! only; whether a simulated or a real host answers is the driver's business.

use app::api::AvailableUpdate;

use crate::domain::packages::Monitored;

/// A host operation that did not work, with the host's own words.
#[derive(Debug, thiserror::Error)]
pub enum DriverError {
    #[error("host {0} is unknown to the driver")]
    UnknownHost(String),
    #[error("{0}")]
    Failed(String),
}

#[async_trait::async_trait]
pub trait Driver: Send + Sync + 'static {
    /// The monitored packages (and the OS) with a newer version available for this host.
    async fn check_updates(
        &self,
        host_id: &str,
        monitored: &Monitored,
    ) -> Result<Vec<AvailableUpdate>, DriverError>;
}
