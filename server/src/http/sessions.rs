//! The portal's sessions, kept in Uplift's own database whichever it is: SQLite's store or
//! PostgreSQL's (so every instance on one PostgreSQL database knows every session). Only the
//! choice of store lives here; what a session holds is `auth`'s business.

use async_trait::async_trait;
use tower_sessions::session::{Id, Record};
use tower_sessions::session_store::{self, ExpiredDeletion, SessionStore};
use tower_sessions_sqlx_store::{PostgresStore, SqliteStore};

use crate::store::{Backend, Store, StoreError};

#[derive(Clone, Debug)]
pub enum Sessions {
    Sqlite(SqliteStore),
    Postgres(PostgresStore),
}

impl Sessions {
    /// The session store in `store`'s database, its table created if missing (`sessions`).
    pub async fn open(store: &Store) -> Result<Sessions, StoreError> {
        let invalid = |e: String| sqlx::Error::Configuration(e.into());
        Ok(match store.backend() {
            Backend::Sqlite => {
                let pool = sqlx::SqlitePool::connect(store.url()).await?;
                let sessions = SqliteStore::new(pool)
                    .with_table_name("sessions")
                    .map_err(invalid)?;
                sessions.migrate().await?;
                Sessions::Sqlite(sessions)
            }
            Backend::Postgres => {
                let pool = sqlx::PgPool::connect(store.url()).await?;
                let sessions = PostgresStore::new(pool)
                    .with_schema_name("public")
                    .and_then(|s| s.with_table_name("sessions"))
                    .map_err(invalid)?;
                sessions.migrate().await?;
                Sessions::Postgres(sessions)
            }
        })
    }
}

#[async_trait]
impl SessionStore for Sessions {
    async fn create(&self, record: &mut Record) -> session_store::Result<()> {
        match self {
            Sessions::Sqlite(s) => s.create(record).await,
            Sessions::Postgres(s) => s.create(record).await,
        }
    }

    async fn save(&self, record: &Record) -> session_store::Result<()> {
        match self {
            Sessions::Sqlite(s) => s.save(record).await,
            Sessions::Postgres(s) => s.save(record).await,
        }
    }

    async fn load(&self, id: &Id) -> session_store::Result<Option<Record>> {
        match self {
            Sessions::Sqlite(s) => s.load(id).await,
            Sessions::Postgres(s) => s.load(id).await,
        }
    }

    async fn delete(&self, id: &Id) -> session_store::Result<()> {
        match self {
            Sessions::Sqlite(s) => s.delete(id).await,
            Sessions::Postgres(s) => s.delete(id).await,
        }
    }
}

#[async_trait]
impl ExpiredDeletion for Sessions {
    async fn delete_expired(&self) -> session_store::Result<()> {
        match self {
            Sessions::Sqlite(s) => s.delete_expired().await,
            Sessions::Postgres(s) => s.delete_expired().await,
        }
    }
}
