use std::collections::HashMap;

use super::{now_rfc3339, Store, StoreResult};

impl Store {
    /// Every stored configuration value (defaults are not stored).
    pub async fn config_values(&self) -> StoreResult<HashMap<String, String>> {
        Ok(
            sqlx::query_as::<_, (String, String)>("SELECT name, value FROM config")
                .fetch_all(&self.pool)
                .await?
                .into_iter()
                .collect(),
        )
    }

    pub async fn config_value(&self, name: &str) -> StoreResult<Option<String>> {
        Ok(
            sqlx::query_scalar("SELECT value FROM config WHERE name = $1")
                .bind(name)
                .fetch_optional(&self.pool)
                .await?,
        )
    }

    /// Stores `value` only if the stored value is still `expected` (`None`: no row yet).
    /// Returns false when someone else changed it first, so read-modify-write (merge) from the
    /// CLI and the server at once never loses an item.
    pub async fn replace_config(
        &self,
        name: &str,
        expected: Option<&str>,
        value: &str,
        user: &str,
    ) -> StoreResult<bool> {
        let done = match expected {
            None => sqlx::query(
                "INSERT INTO config (name, value, updated_at, updated_by) VALUES ($1, $2, $3, $4)
                     ON CONFLICT (name) DO NOTHING",
            )
            .bind(name)
            .bind(value)
            .bind(now_rfc3339())
            .bind(user)
            .execute(&self.pool)
            .await?,
            Some(old) => {
                sqlx::query(
                    "UPDATE config SET value = $1, updated_at = $2, updated_by = $3
                     WHERE name = $4 AND value = $5",
                )
                .bind(value)
                .bind(now_rfc3339())
                .bind(user)
                .bind(name)
                .bind(old)
                .execute(&self.pool)
                .await?
            }
        };
        Ok(done.rows_affected() == 1)
    }
}
