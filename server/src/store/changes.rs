//! The change log (`changes`, migration 0018) the live event hub reads: triggers add a row for
//! every new event, every job write and every change to a user's credentials, in commit order,
//! whichever process wrote it. Its ids are the event stream's exact cursor.

use std::sync::Arc;

use sqlx::Row;

use super::{corrupt, Store, StoreResult};

/// What a change log row is about.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ChangeKind {
    /// `reference` is the new event's id.
    Event,
    /// `reference` is the job's id (created or changed).
    Job,
    /// `reference` is the user whose password, role, tokens or sessions changed.
    Auth,
}

impl ChangeKind {
    /// The `kind` column's text (the triggers of migration 0018 write the same).
    fn name(self) -> &'static str {
        match self {
            ChangeKind::Event => "event",
            ChangeKind::Job => "job",
            ChangeKind::Auth => "auth",
        }
    }

    fn parse(text: &str) -> Option<ChangeKind> {
        [ChangeKind::Event, ChangeKind::Job, ChangeKind::Auth]
            .into_iter()
            .find(|kind| kind.name() == text)
    }
}

/// One row of the change log.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ChangeRow {
    pub id: i64,
    pub kind: ChangeKind,
    pub reference: String,
}

/// Change log rows kept: a browser that comes back further behind than this resyncs.
pub const CHANGES_KEPT: i64 = 100_000;

impl Store {
    /// Woken after each write of an event or a job by this process.
    pub fn change_signal(&self) -> Arc<tokio::sync::Notify> {
        self.changed.clone()
    }

    /// On PostgreSQL, wakes this process's live event hub whenever any instance on the
    /// database logs a change (the change log's trigger notifies `uplift_changes`); returns
    /// at once on SQLite, where the hub's poll sees other processes' changes. Runs as long as
    /// the server does, listening again after a lost connection.
    pub async fn listen_for_changes(self) {
        if self.backend != super::Backend::Postgres {
            return;
        }
        loop {
            match sqlx::postgres::PgListener::connect(&self.url).await {
                Ok(mut listener) => match listener.listen("uplift_changes").await {
                    Ok(()) => {
                        while listener.recv().await.is_ok() {
                            self.changed.notify_one();
                        }
                        tracing::warn!("lost the database's change notifications; listening again");
                    }
                    Err(error) => {
                        tracing::warn!(%error, "cannot listen for the database's changes")
                    }
                },
                Err(error) => {
                    tracing::warn!(%error, "cannot connect to listen for the database's changes")
                }
            }
            tokio::time::sleep(std::time::Duration::from_secs(1)).await;
        }
    }

    /// Up to `limit` change log rows after `after`, oldest first.
    pub async fn changes_after(&self, after: i64, limit: i64) -> StoreResult<Vec<ChangeRow>> {
        sqlx::query("SELECT id, kind, ref FROM changes WHERE id > $1 ORDER BY id LIMIT $2")
            .bind(after)
            .bind(limit)
            .fetch_all(&self.pool)
            .await?
            .into_iter()
            .map(|row| {
                let kind: String = row.try_get("kind")?;
                Ok(ChangeRow {
                    id: row.try_get("id")?,
                    kind: ChangeKind::parse(&kind).ok_or_else(|| corrupt("change kind", kind))?,
                    reference: row.try_get("ref")?,
                })
            })
            .collect()
    }

    /// The newest change's id and the oldest one kept (0 and 0 when the log is empty).
    pub async fn change_bounds(&self) -> StoreResult<(i64, i64)> {
        Ok(sqlx::query_as::<_, (i64, i64)>(
            "SELECT COALESCE(MAX(id), 0), COALESCE(MIN(id), 0) FROM changes",
        )
        .fetch_one(&self.pool)
        .await?)
    }

    /// Records a change no trigger sees: a user's portal session signed out (their open streams
    /// check theirs again), a job the hub held back (`service::pacing`).
    pub async fn note_change(&self, kind: ChangeKind, reference: &str) -> StoreResult<()> {
        self.note_changes(kind, &[reference]).await
    }

    /// `note_change` for several, in one transaction.
    pub async fn note_changes(
        &self,
        kind: ChangeKind,
        references: &[impl AsRef<str>],
    ) -> StoreResult<()> {
        let mut tx = self.pool.begin().await?;
        for reference in references {
            sqlx::query("INSERT INTO changes (kind, ref) VALUES ($1, $2)")
                .bind(kind.name())
                .bind(reference.as_ref())
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        self.wake_hub();
        Ok(())
    }
}
