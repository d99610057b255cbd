//! SQL, and nothing but SQL: every query of Uplift lives below this module, always with bound
//! parameters. One store API over two databases: SQLite (the embedded default) and PostgreSQL
//! (several Uplift instances on one database). Queries are written once, in SQL both accept,
//! with `$N` placeholders, and run through sqlx's `Any` driver; what the two write differently
//! lives in `sql`. Each backend has its own migrations (`migrations/` and
//! `migrations-postgres/`), at the same version numbers.

mod appliance;
mod archives;
mod changes;
mod checks;
mod clusters;
mod config;
mod copy;
mod engine;
mod events;
mod hosted_engine;
mod inventory;
mod jobs;
mod leases;
mod maintenance;
mod metrics;
mod notify;
mod placement;
mod providers;
mod retention;
mod rolling;
mod sim;
mod sql;
mod ssh;
mod users;
mod vms;
mod workflow;
mod world;

use std::str::FromStr;

use sqlx::any::{AnyPoolOptions, AnyRow};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqliteRow};
use sqlx::{AnyPool, ConnectOptions, Connection, Executor};

pub use changes::{ChangeKind, ChangeRow};
pub use clusters::VmTraits;
pub use copy::Copied;
pub use engine::EngineState;
pub use events::NewEvent;
pub use hosted_engine::HaHostRow;
pub use jobs::{JobInsert, NewJob};
pub use leases::{Fence, Heartbeat, InstanceRow};
pub use metrics::RunningRun;
pub use notify::DueDelivery;
pub use placement::PlacedVm;
pub use providers::{ContentLink, ProviderRow, ProviderWrite, SimTaskRow, Written};
pub use retention::{Cutoffs, Pruned};
pub use rolling::ActiveRun;
pub use sim::{SimAgent, SimEngineVm, SimHost, SimVm, SimWorld};
pub use sql::{Backend, ReadRow, Sql};
pub use ssh::{PinOutcome, SshHostRow, SshWorld, SurveyTarget};
pub use users::UserRow;
pub use workflow::{JobLog, JobRow};

/// What can go wrong below the service.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("database error: {0}")]
    Sql(#[from] sqlx::Error),
    #[error("database migration failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error("unsupported database URL {0:?}: use sqlite://PATH or postgres://HOST/DATABASE")]
    UnsupportedUrl(String),
    /// A copy or a restore goes into an empty database only.
    #[error("the target database is not empty (its {0} table has rows): a copy fills an empty database only")]
    NotEmpty(&'static str),
    /// Another instance took the job over: this holder's fencing token is stale, and its
    /// write was refused (nothing of it was kept).
    #[error("job {0} was taken over by another instance; this instance no longer runs it")]
    Fenced(String),
    /// A stored value Uplift itself wrote can no longer be read: a bug or a hand edit.
    #[error("corrupt {what} in the database: {detail}")]
    Corrupt { what: &'static str, detail: String },
}

pub type StoreResult<T> = Result<T, StoreError>;

/// The database handle. Cheap to clone.
#[derive(Clone, Debug)]
pub struct Store {
    pool: AnyPool,
    /// The live event hub's own connection on SQLite, so its reads never queue behind the
    /// pool's writers (connected when first used); the pool itself on PostgreSQL.
    hub_pool: AnyPool,
    /// On SQLite, a typed read-only pool for the long lists (hosts, VMs, events): the `Any`
    /// driver copies every value of every row, and cannot be given a deep row channel, which
    /// made the 10,000-host list 2.5 times slower (issue 22). Connected when first used.
    reads: Option<sqlx::SqlitePool>,
    backend: Backend,
    url: std::sync::Arc<str>,
    /// Woken after each write the live event hub publishes (events, jobs), so it reads the
    /// change log at once instead of at its next poll.
    changed: std::sync::Arc<tokio::sync::Notify>,
}

/// Set on every SQLite connection: the pool is made by the `Any` driver from the URL alone.
const SQLITE_PRAGMAS: &str = "PRAGMA foreign_keys = ON;
    PRAGMA synchronous = NORMAL;
    PRAGMA busy_timeout = 10000;
    PRAGMA mmap_size = 268435456;";

impl Store {
    /// Opens (creating if needed) the database at `url` and brings its schema up to date.
    pub async fn open(url: &str) -> StoreResult<Store> {
        // Both drivers, once per process (a second install is refused, harmlessly).
        let _ =
            sqlx::any::install_drivers(&[sqlx::sqlite::any::DRIVER, sqlx::postgres::any::DRIVER]);
        let backend =
            Backend::of_url(url).ok_or_else(|| StoreError::UnsupportedUrl(url.to_string()))?;
        let (pool, hub_pool, reads) = match backend {
            Backend::Sqlite => {
                // Created, and switched to write-ahead logging (kept in the file), by a plain
                // SQLite connection first.
                SqliteConnectOptions::from_str(url)?
                    .create_if_missing(true)
                    .journal_mode(SqliteJournalMode::Wal)
                    .connect()
                    .await?
                    .close()
                    .await?;
                let pool = sqlite_pool(8).connect(url).await?;
                sqlx::migrate!("../migrations").run(&pool).await?;
                let read_only = if url.contains('?') {
                    "&mode=ro"
                } else {
                    "?mode=ro"
                };
                let hub_pool = sqlite_pool(1).connect_lazy(&format!("{url}{read_only}"))?;
                (pool, hub_pool, Some(sqlite_reads(url)?))
            }
            Backend::Postgres => {
                let pool = AnyPoolOptions::new()
                    .max_connections(8)
                    // An instance paused (or cut off) inside a transaction must not keep its
                    // locks (a job's lease row) from the instance taking its work over.
                    .after_connect(|connection, _| {
                        Box::pin(async move {
                            connection
                                .execute("SET idle_in_transaction_session_timeout = '5s'")
                                .await?;
                            Ok(())
                        })
                    })
                    .connect(url)
                    .await?;
                sqlx::migrate!("../migrations-postgres").run(&pool).await?;
                (pool.clone(), pool, None)
            }
        };
        Ok(Store {
            pool,
            hub_pool,
            reads,
            backend,
            url: url.into(),
            changed: std::sync::Arc::default(),
        })
    }

    /// This store reading through the live event hub's own connection (see `service::hub`).
    pub fn hub_reader(&self) -> Store {
        Store {
            pool: self.hub_pool.clone(),
            ..self.clone()
        }
    }

    pub fn pool(&self) -> &AnyPool {
        &self.pool
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// The URL the store was opened with (it may hold a password: never log or show it).
    pub fn url(&self) -> &str {
        &self.url
    }

    /// Tells the live event hub that the change log grew (see `changes`).
    fn wake_hub(&self) {
        self.changed.notify_one();
    }
}

impl Store {
    /// Reads the rows of a long list (or a hot single row): on SQLite through the typed read
    /// pool, on PostgreSQL through the `Any` pool. `any` and `sqlite` are one decoder (generic
    /// over [`ReadRow`]) for each pool's rows.
    async fn read_rows<T>(
        &self,
        sql: Sql<'_>,
        any: fn(AnyRow) -> StoreResult<T>,
        sqlite: fn(SqliteRow) -> StoreResult<T>,
    ) -> StoreResult<Vec<T>> {
        match &self.reads {
            Some(pool) => {
                let (text, args) = sql.sqlite_parts();
                decode_all(sqlx::query_with(&text, args).fetch(pool), sqlite).await
            }
            None => {
                let (text, args) = sql.parts();
                decode_all(sqlx::query_with(&text, args).fetch(&self.pool), any).await
            }
        }
    }

    /// The count of a list, through the same pool as [`Store::read_rows`].
    async fn read_count(&self, sql: Sql<'_>) -> StoreResult<u64> {
        let total: i64 = match &self.reads {
            Some(pool) => {
                let (text, args) = sql.sqlite_parts();
                sqlx::query_scalar_with(&text, args).fetch_one(pool).await?
            }
            None => {
                let (text, args) = sql.parts();
                sqlx::query_scalar_with(&text, args)
                    .fetch_one(&self.pool)
                    .await?
            }
        };
        Ok(u64::try_from(total).unwrap_or(0))
    }
}

/// Each row decoded as it arrives: SQLite steps on its connection's thread while this task
/// decodes the rows before (two cores at work on a list of 10,000).
async fn decode_all<R, T>(
    mut rows: impl futures::Stream<Item = Result<R, sqlx::Error>> + Unpin,
    decode: fn(R) -> StoreResult<T>,
) -> StoreResult<Vec<T>> {
    use futures::TryStreamExt;
    let mut all = Vec::new();
    while let Some(row) = rows.try_next().await? {
        all.push(decode(row)?);
    }
    Ok(all)
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

/// A pool of `Any` connections to SQLite with Uplift's settings on each.
fn sqlite_pool(connections: u32) -> AnyPoolOptions {
    AnyPoolOptions::new()
        .max_connections(connections)
        .after_connect(|connection, _| {
            Box::pin(async move {
                connection.execute(SQLITE_PRAGMAS).await?;
                Ok(())
            })
        })
}

/// The typed SQLite pool of the long lists: read-only connections with Uplift's settings,
/// pages read from the file mapped in memory, and rows streamed through a deep channel (a
/// list of 10,000 hosts without a hand-off per 50 rows).
fn sqlite_reads(url: &str) -> StoreResult<sqlx::SqlitePool> {
    let options = SqliteConnectOptions::from_str(url)?
        .read_only(true)
        .foreign_keys(true)
        .busy_timeout(std::time::Duration::from_secs(10))
        .pragma("mmap_size", "268435456")
        .row_buffer_size(1024);
    Ok(sqlx::sqlite::SqlitePoolOptions::new()
        .max_connections(4)
        .connect_lazy_with(options))
}

/// A 0/1 flag column (an integer on both databases) as a `bool`.
fn flag(row: &impl ReadRow, column: &str) -> StoreResult<bool> {
    Ok(row.get::<i64>(column)? != 0)
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
        // No limit is a limit no list reaches (PostgreSQL refuses SQLite's -1).
        self.per_page.map_or(i64::MAX, i64::from)
    }
    fn offset(self) -> i64 {
        self.per_page
            .map_or(0, |n| i64::from(self.page.saturating_sub(1)) * i64::from(n))
    }
}
