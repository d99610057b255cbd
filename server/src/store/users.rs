use app::api::Role;
use sqlx::Row;

use super::{corrupt, now_rfc3339, Store, StoreResult};

/// A user as stored, hash included (it never leaves the service).
#[derive(Clone, Debug)]
pub struct UserRow {
    pub id: String,
    pub name: String,
    pub role: Role,
    pub password_hash: String,
    pub auth_version: i64,
    pub created_at: String,
}

fn user_from(row: sqlx::any::AnyRow) -> StoreResult<UserRow> {
    let role: String = row.try_get("role")?;
    Ok(UserRow {
        id: row.try_get("id")?,
        name: row.try_get("name")?,
        role: Role::parse(&role).ok_or_else(|| corrupt("user role", role))?,
        password_hash: row.try_get("password_hash")?,
        auth_version: row.try_get("auth_version")?,
        created_at: row.try_get("created_at")?,
    })
}

const USER_COLUMNS: &str = "id, name, role, password_hash, auth_version, created_at";

impl Store {
    pub async fn count_users(&self) -> StoreResult<i64> {
        Ok(sqlx::query_scalar("SELECT COUNT(*) FROM users")
            .fetch_one(&self.pool)
            .await?)
    }

    /// Inserts a user; `Ok(false)` when the name is taken.
    pub async fn insert_user(
        &self,
        id: &str,
        name: &str,
        role: Role,
        hash: &str,
    ) -> StoreResult<bool> {
        let done = sqlx::query(
            "INSERT INTO users (id, name, role, password_hash, created_at) VALUES ($1, $2, $3, $4, $5)
             ON CONFLICT (name) DO NOTHING",
        )
        .bind(id)
        .bind(name)
        .bind(role.as_str())
        .bind(hash)
        .bind(now_rfc3339())
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    pub async fn user_by_name(&self, name: &str) -> StoreResult<Option<UserRow>> {
        sqlx::query(&format!("SELECT {USER_COLUMNS} FROM users WHERE name = $1"))
            .bind(name)
            .fetch_optional(&self.pool)
            .await?
            .map(user_from)
            .transpose()
    }

    pub async fn user_by_id(&self, id: &str) -> StoreResult<Option<UserRow>> {
        sqlx::query(&format!("SELECT {USER_COLUMNS} FROM users WHERE id = $1"))
            .bind(id)
            .fetch_optional(&self.pool)
            .await?
            .map(user_from)
            .transpose()
    }

    pub async fn list_users(&self) -> StoreResult<Vec<UserRow>> {
        sqlx::query(&format!("SELECT {USER_COLUMNS} FROM users ORDER BY name"))
            .fetch_all(&self.pool)
            .await?
            .into_iter()
            .map(user_from)
            .collect()
    }

    /// Replaces a password, ending the user's sessions and tokens; `Ok(false)` if no such user.
    pub async fn set_password(&self, name: &str, hash: &str) -> StoreResult<bool> {
        let mut tx = self.pool.begin().await?;
        let done = sqlx::query(
            "UPDATE users SET password_hash = $1, auth_version = auth_version + 1 WHERE name = $2",
        )
        .bind(hash)
        .bind(name)
        .execute(&mut *tx)
        .await?;
        sqlx::query(
            "DELETE FROM api_tokens WHERE user_id = (SELECT id FROM users WHERE name = $1)",
        )
        .bind(name)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(done.rows_affected() == 1)
    }

    pub async fn insert_token(
        &self,
        token_hash: &str,
        user_id: &str,
        expires_at: &str,
    ) -> StoreResult<()> {
        sqlx::query("INSERT INTO api_tokens (token_hash, user_id, created_at, expires_at) VALUES ($1, $2, $3, $4)")
            .bind(token_hash)
            .bind(user_id)
            .bind(now_rfc3339())
            .bind(expires_at)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// The user a token that is still valid at `now` belongs to, with the token's end.
    pub async fn user_by_token(
        &self,
        token_hash: &str,
        now: &str,
    ) -> StoreResult<Option<(UserRow, String)>> {
        /// `USER_COLUMNS` of `u`, and the token's end (built once).
        static SQL: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
            let columns: Vec<String> = USER_COLUMNS.split(", ").map(|c| format!("u.{c}")).collect();
            format!(
                "SELECT {}, t.expires_at FROM users u JOIN api_tokens t ON t.user_id = u.id
                 WHERE t.token_hash = $1 AND t.expires_at > $2",
                columns.join(", ")
            )
        });
        let row = sqlx::query(SQL.as_str())
            .bind(token_hash)
            .bind(now)
            .fetch_optional(&self.pool)
            .await?;
        let Some(row) = row else {
            return Ok(None);
        };
        let expires_at: String = row.try_get("expires_at")?;
        Ok(Some((user_from(row)?, expires_at)))
    }

    /// Ends one token (`DELETE /api/tokens/current`); whether it existed.
    pub async fn delete_token(&self, token_hash: &str) -> StoreResult<bool> {
        let done = sqlx::query("DELETE FROM api_tokens WHERE token_hash = $1")
            .bind(token_hash)
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected() > 0)
    }

    /// Ends every token of the user named `name`: `None` when there is no such user, else how
    /// many tokens ended. One statement each, no read-then-write transaction: SQLite would
    /// refuse to upgrade such a transaction's lock while another connection writes.
    pub async fn delete_tokens_of(&self, name: &str) -> StoreResult<Option<u64>> {
        let user: Option<String> = sqlx::query_scalar("SELECT id FROM users WHERE name = $1")
            .bind(name)
            .fetch_optional(&self.pool)
            .await?;
        let Some(user) = user else {
            return Ok(None);
        };
        let done = sqlx::query("DELETE FROM api_tokens WHERE user_id = $1")
            .bind(user)
            .execute(&self.pool)
            .await?;
        Ok(Some(done.rows_affected()))
    }
}
