//! Retention: every hour (and at start) Uplift deletes events, ended jobs and ended
//! deliveries older than their `*RetentionInDays` config values, and expired API tokens, so
//! the database does not grow without end. What a prune keeps is the store's rule
//! (`store::retention`); when it deleted anything, an event says how much.
//!
//! Not here: sessions (tower-sessions deletes expired ones itself, see `server`).

use std::time::Duration;

use app::api::Severity;
use time::OffsetDateTime;

use super::{Service, ServiceResult};
use crate::store::{rfc3339, Cutoffs, Pruned};

/// How often the prune runs.
const EVERY: Duration = Duration::from_secs(3600);

impl Service {
    /// The cutoffs for a prune at `now`, from the current config values.
    async fn cutoffs(&self, now: OffsetDateTime) -> ServiceResult<Cutoffs> {
        let days_ago = |days: u64| rfc3339(now - time::Duration::days(days as i64));
        Ok(Cutoffs {
            events: days_ago(self.config_number("EventRetentionInDays").await?),
            jobs: days_ago(self.config_number("JobRetentionInDays").await?),
            deliveries: days_ago(self.config_number("DeliveryRetentionInDays").await?),
            tokens: rfc3339(now),
        })
    }

    /// One prune as of `now`; records an event when it deleted anything.
    pub async fn prune(&self, now: OffsetDateTime) -> ServiceResult<Pruned> {
        let cutoffs = self.cutoffs(now).await?;
        let pruned = self.store().prune(&cutoffs).await?;
        if pruned.total() > 0 {
            self.record(
                "retention_pruned",
                Severity::Normal,
                format!(
                    "Retention deleted {} events, {} ended jobs, {} deliveries and {} expired tokens.",
                    pruned.events, pruned.jobs, pruned.deliveries, pruned.tokens
                ),
                Some("system"),
            )
            .await?;
        }
        Ok(pruned)
    }

    /// Prunes at start and then every hour, forever.
    pub async fn run_retention(self) {
        loop {
            if let Err(error) = self.prune(OffsetDateTime::now_utc()).await {
                tracing::warn!(%error, "the retention prune failed; it runs again in an hour");
            }
            tokio::time::sleep(EVERY).await;
        }
    }
}
