//! Uplift backup archives uploaded for an appliance upgrade (`he_archives`), and whether an
//! appliance job runs.

use super::{json, now_rfc3339, Store, StoreResult};

impl Store {
    pub async fn insert_archive(
        &self,
        id: &str,
        description: &[String],
        data: &[u8],
        user: &str,
    ) -> StoreResult<()> {
        let description = serde_json::to_string(description).unwrap_or_else(|_| "[]".into());
        sqlx::query(
            "INSERT INTO he_archives (id, description, data, uploaded_at, \"user\") VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(id)
        .bind(description)
        .bind(data)
        .bind(now_rfc3339())
        .bind(user)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// An uploaded archive: what it holds, and its bytes.
    pub async fn archive(&self, id: &str) -> StoreResult<Option<(Vec<String>, Vec<u8>)>> {
        let row: Option<(String, Vec<u8>)> =
            sqlx::query_as("SELECT description, data FROM he_archives WHERE id = $1")
                .bind(id)
                .fetch_optional(&self.pool)
                .await?;
        row.map(|(description, data)| Ok((json("archive description", &description)?, data)))
            .transpose()
    }

    pub async fn appliance_job_running(&self) -> StoreResult<bool> {
        let running: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM jobs WHERE ended_at IS NULL
             AND kind IN ('hosted_engine_upgrade', 'hosted_engine_rollback')",
        )
        .fetch_one(&self.pool)
        .await?;
        Ok(running > 0)
    }
}
