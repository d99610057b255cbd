//! The engine update check's state and the users' dismissals.

use sqlx::Row;

use super::{Store, StoreResult};

/// The last answer of the engine update check.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct EngineState {
    pub version: String,
    pub available_version: Option<String>,
    pub notes_url: Option<String>,
    pub last_checked: Option<String>,
    pub last_error: Option<String>,
}

impl Store {
    pub async fn engine_state(&self) -> StoreResult<Option<EngineState>> {
        sqlx::query(
            "SELECT version, available_version, notes_url, last_checked, last_error
             FROM engine_state WHERE id = 1",
        )
        .fetch_optional(&self.pool)
        .await?
        .map(|row| {
            Ok(EngineState {
                version: row.try_get("version")?,
                available_version: row.try_get("available_version")?,
                notes_url: row.try_get("notes_url")?,
                last_checked: row.try_get("last_checked")?,
                last_error: row.try_get("last_error")?,
            })
        })
        .transpose()
    }

    pub async fn save_engine_state(&self, state: &EngineState) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO engine_state (id, version, available_version, notes_url, last_checked, last_error)
             VALUES (1, $1, $2, $3, $4, $5)
             ON CONFLICT (id) DO UPDATE SET version = excluded.version,
                 available_version = excluded.available_version, notes_url = excluded.notes_url,
                 last_checked = excluded.last_checked, last_error = excluded.last_error",
        )
        .bind(&state.version)
        .bind(&state.available_version)
        .bind(&state.notes_url)
        .bind(&state.last_checked)
        .bind(&state.last_error)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Records `version` as announced; false when it already was (so one event per version).
    pub async fn claim_engine_announcement(&self, version: &str) -> StoreResult<bool> {
        let done = sqlx::query(
            "UPDATE engine_state SET announced_version = $1
             WHERE id = 1 AND (announced_version IS NULL OR announced_version <> $2)",
        )
        .bind(version)
        .bind(version)
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    pub async fn dismiss_engine_version(&self, user_id: &str, version: &str) -> StoreResult<()> {
        sqlx::query("INSERT INTO engine_dismissals (user_id, version) VALUES ($1, $2) ON CONFLICT DO NOTHING")
            .bind(user_id)
            .bind(version)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    pub async fn engine_version_dismissed(
        &self,
        user_id: &str,
        version: &str,
    ) -> StoreResult<bool> {
        let found: Option<i64> = sqlx::query_scalar(
            "SELECT 1 FROM engine_dismissals WHERE user_id = $1 AND version = $2",
        )
        .bind(user_id)
        .bind(version)
        .fetch_optional(&self.pool)
        .await?;
        Ok(found.is_some())
    }
}
