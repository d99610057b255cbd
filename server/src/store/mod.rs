//! SQL, and nothing but SQL: every query of Uplift lives below this module, always with bound
//! parameters. SQLite now; the queries stay portable so PostgreSQL can follow.

mod appliance;
mod archives;
mod changes;
mod checks;
mod clusters;
mod config;
mod engine;
mod events;
mod hosted_engine;
mod inventory;
mod jobs;
mod maintenance;
mod metrics;
mod notify;
mod placement;
mod providers;
mod retention;
mod rolling;
mod sim;
mod ssh;
mod users;
mod vms;
mod workflow;
mod world;

use std::str::FromStr;
use std::time::Duration;

use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::SqlitePool;

pub use changes::{ChangeKind, ChangeRow};
pub use clusters::VmTraits;
pub use engine::EngineState;
pub use events::NewEvent;
pub use hosted_engine::HaHostRow;
pub use jobs::{JobInsert, NewJob};
pub use metrics::RunningRun;
pub use notify::DueDelivery;
pub use placement::PlacedVm;
pub use providers::{ContentLink, ProviderRow, ProviderWrite, SimTaskRow, Written};
pub use retention::{Cutoffs, Pruned};
pub use rolling::ActiveRun;
pub use sim::{SimAgent, SimEngineVm, SimHost, SimVm, SimWorld};
pub use ssh::{PinOutcome, SshHostRow, SshWorld, SurveyTarget};
pub use users::UserRow;
pub use workflow::JobRow;

/// What can go wrong below the service.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("database error: {0}")]
    Sql(#[from] sqlx::Error),
    #[error("database migration failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    /// A stored value Uplift itself wrote can no longer be read: a bug or a hand edit.
    #[error("corrupt {what} in the database: {detail}")]
    Corrupt { what: &'static str, detail: String },
}

pub type StoreResult<T> = Result<T, StoreError>;

/// The database handle. Cheap to clone.
#[derive(Clone, Debug)]
pub struct Store {
    pool: SqlitePool,
    /// One read-only connection of the live event hub's own, so its reads never queue behind
    /// the pool's writers (connected when first used).
    hub_pool: SqlitePool,
    /// Woken after each write the live event hub publishes (events, jobs), so it reads the
    /// change log at once instead of at its next poll.
    changed: std::sync::Arc<tokio::sync::Notify>,
}

impl Store {
    /// Opens (creating if needed) the database at `url` and brings its schema up to date.
    pub async fn open(url: &str) -> StoreResult<Store> {
        let options = SqliteConnectOptions::from_str(url)?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal)
            .foreign_keys(true)
            // The CLI and the server share one file; a writer waits instead of failing.
            .busy_timeout(Duration::from_secs(10))
            // Pages are read from the file mapped in memory, not copied by a read each time
            // (a list of 10,000 hosts touches thousands of them).
            .pragma("mmap_size", "268435456")
            // Rows cross from the connection's thread to the task through a channel; a deep
            // one lets a long list (10,000 hosts) stream without a hand-off per 50 rows.
            .row_buffer_size(1024);
        let pool = SqlitePoolOptions::new()
            .max_connections(8)
            .connect_with(options.clone())
            .await?;
        sqlx::migrate!("../migrations").run(&pool).await?;
        let hub_pool = SqlitePoolOptions::new()
            .max_connections(1)
            .connect_lazy_with(options.read_only(true));
        Ok(Store {
            pool,
            hub_pool,
            changed: std::sync::Arc::default(),
        })
    }

    /// This store reading through the live event hub's own connection (see `service::hub`).
    pub fn hub_reader(&self) -> Store {
        Store {
            pool: self.hub_pool.clone(),
            hub_pool: self.hub_pool.clone(),
            changed: self.changed.clone(),
        }
    }

    pub fn pool(&self) -> &SqlitePool {
        &self.pool
    }

    /// Tells the live event hub that the change log grew (see `changes`).
    fn wake_hub(&self) {
        self.changed.notify_one();
    }
}

/// Current time as the RFC 3339 text stored in the database and shown in JSON.
pub fn now_rfc3339() -> String {
    rfc3339(time::OffsetDateTime::now_utc())
}

/// RFC 3339 in UTC with exactly three fractional digits: fixed width, so the text sorts and
/// compares in SQL exactly as the instants do.
pub fn rfc3339(at: time::OffsetDateTime) -> String {
    let format = time::macros::format_description!(
        "[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:3]Z"
    );
    at.to_offset(time::UtcOffset::UTC)
        .format(&format)
        .unwrap_or_default()
}

/// A new opaque id: 128 random bits in hex.
pub fn new_id() -> String {
    use rand::RngCore;
    let mut bytes = [0u8; 16];
    rand::thread_rng().fill_bytes(&mut bytes);
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn corrupt(what: &'static str, detail: impl ToString) -> StoreError {
    StoreError::Corrupt {
        what,
        detail: detail.to_string(),
    }
}

fn json<T: serde::de::DeserializeOwned>(what: &'static str, text: &str) -> StoreResult<T> {
    serde_json::from_str(text).map_err(|e| corrupt(what, e))
}

/// Rows to skip and to take for a 1-based page; `per_page: None` means the whole list.
#[derive(Clone, Copy, Debug)]
pub struct Window {
    pub page: u32,
    pub per_page: Option<u32>,
}

impl Window {
    fn limit(self) -> i64 {
        self.per_page.map_or(-1, i64::from)
    }
    fn offset(self) -> i64 {
        self.per_page
            .map_or(0, |n| i64::from(self.page.saturating_sub(1)) * i64::from(n))
    }
}
