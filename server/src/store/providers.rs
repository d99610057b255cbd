//! Content providers (issue 21): their rows, the link of a host to its provider's content
//! host, and the `sim` provider's own state (the fleet's errata, its install tasks).
//!
//! A provider's password is read here only for the client that sends it (`ProviderRow`); the
//! API's `Provider` is built from a row without it.

use sqlx::Row;

use super::{json, new_id, now_rfc3339, Store, StoreResult};
use app::api::{ErrataCounts, Erratum};

/// A provider as stored, with its password (for its client only).
#[derive(Clone)]
pub struct ProviderRow {
    pub id: String,
    pub name: String,
    pub kind: String,
    pub url: String,
    pub username: String,
    pub password: String,
    pub created_at: String,
    pub updated_at: String,
}

impl std::fmt::Debug for ProviderRow {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ProviderRow")
            .field("id", &self.id)
            .field("name", &self.name)
            .field("kind", &self.kind)
            .field("url", &self.url)
            .field("username", &self.username)
            .field("password", &"<redacted>")
            .finish()
    }
}

/// What a new or changed provider is; `password: None` on a change keeps the stored one.
pub struct ProviderWrite<'a> {
    pub name: &'a str,
    pub kind: &'a str,
    pub url: &'a str,
    pub username: &'a str,
    pub password: Option<&'a str>,
}

/// Whether a write kept the unique provider name.
#[derive(Debug, PartialEq, Eq)]
pub enum Written {
    Done(String),
    NameTaken,
    Missing,
}

/// A host's link to a provider's content host.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ContentLink {
    pub provider_id: String,
    pub content_host: Option<String>,
}

/// A `sim` provider task as stored.
#[derive(Clone, Debug)]
pub struct SimTaskRow {
    pub id: String,
    pub host_id: String,
    pub errata: Vec<String>,
    pub created_at: String,
    pub ends_at: String,
    pub state: String,
    pub result: Option<String>,
}

const PROVIDER_COLUMNS: &str = "id, name, kind, url, username, password, created_at, updated_at";

fn provider_row(row: &sqlx::any::AnyRow) -> StoreResult<ProviderRow> {
    Ok(ProviderRow {
        id: row.try_get("id")?,
        name: row.try_get("name")?,
        kind: row.try_get("kind")?,
        url: row.try_get("url")?,
        username: row.try_get("username")?,
        password: row.try_get("password")?,
        created_at: row.try_get("created_at")?,
        updated_at: row.try_get("updated_at")?,
    })
}

fn unique(result: Result<sqlx::any::AnyQueryResult, sqlx::Error>) -> StoreResult<Option<u64>> {
    match result {
        Ok(done) => Ok(Some(done.rows_affected())),
        Err(sqlx::Error::Database(e)) if e.is_unique_violation() => Ok(None),
        Err(e) => Err(e.into()),
    }
}

impl Store {
    pub async fn providers(&self) -> StoreResult<Vec<ProviderRow>> {
        let rows = sqlx::query(&format!(
            "SELECT {PROVIDER_COLUMNS} FROM providers ORDER BY lower(name)"
        ))
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(provider_row).collect()
    }

    pub async fn provider(&self, id: &str) -> StoreResult<Option<ProviderRow>> {
        let row = sqlx::query(&format!(
            "SELECT {PROVIDER_COLUMNS} FROM providers WHERE id = $1"
        ))
        .bind(id)
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(provider_row).transpose()
    }

    /// Adds a provider; the unique index on its name decides a race between two adds.
    pub async fn add_provider(&self, new: &ProviderWrite<'_>) -> StoreResult<Written> {
        let id = new_id();
        let now = now_rfc3339();
        let done = sqlx::query(
            "INSERT INTO providers (id, name, kind, url, username, password, created_at, updated_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .bind(&id)
        .bind(new.name)
        .bind(new.kind)
        .bind(new.url)
        .bind(new.username)
        .bind(new.password.unwrap_or(""))
        .bind(&now)
        .bind(&now)
        .execute(&self.pool)
        .await;
        Ok(match unique(done)? {
            Some(_) => Written::Done(id),
            None => Written::NameTaken,
        })
    }

    /// Changes a provider; its password only when a new one is given.
    pub async fn update_provider(
        &self,
        id: &str,
        change: &ProviderWrite<'_>,
    ) -> StoreResult<Written> {
        let done = sqlx::query(
            "UPDATE providers SET name = $1, kind = $2, url = $3, username = $4,
                    password = COALESCE($5, password), updated_at = $6
             WHERE id = $7",
        )
        .bind(change.name)
        .bind(change.kind)
        .bind(change.url)
        .bind(change.username)
        .bind(change.password)
        .bind(now_rfc3339())
        .bind(id)
        .execute(&self.pool)
        .await;
        Ok(match unique(done)? {
            Some(0) => Written::Missing,
            Some(_) => Written::Done(id.to_string()),
            None => Written::NameTaken,
        })
    }

    /// Removes a provider; its hosts lose their link (the foreign key sets it to NULL).
    pub async fn delete_provider(&self, id: &str) -> StoreResult<bool> {
        let done = sqlx::query("DELETE FROM providers WHERE id = $1")
            .bind(id)
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected() == 1)
    }

    /// How many hosts each provider serves, by provider id.
    pub async fn provider_host_counts(&self) -> StoreResult<Vec<(String, i64)>> {
        Ok(sqlx::query_as(
            "SELECT provider_id, COUNT(*) FROM hosts WHERE provider_id IS NOT NULL GROUP BY provider_id",
        )
        .fetch_all(&self.pool)
        .await?)
    }

    pub async fn content_link(&self, host_id: &str) -> StoreResult<Option<ContentLink>> {
        let row: Option<(Option<String>, Option<String>)> =
            sqlx::query_as("SELECT provider_id, content_host FROM hosts WHERE id = $1")
                .bind(host_id)
                .fetch_optional(&self.pool)
                .await?;
        Ok(row.and_then(|(provider, content_host)| {
            provider.map(|provider_id| ContentLink {
                provider_id,
                content_host,
            })
        }))
    }

    /// Links a host to a provider's content host, or unlinks it (`None`); false when the host
    /// or the provider is gone.
    pub async fn set_content_link(
        &self,
        host_id: &str,
        link: Option<&ContentLink>,
    ) -> StoreResult<bool> {
        let done = sqlx::query(
            "UPDATE hosts SET provider_id = $1, content_host = $2
             WHERE id = $3 AND ($4 IS NULL OR EXISTS (SELECT 1 FROM providers WHERE id = $5))",
        )
        .bind(link.map(|l| &l.provider_id))
        .bind(link.and_then(|l| l.content_host.as_ref()))
        .bind(host_id)
        .bind(link.map(|l| &l.provider_id))
        .bind(link.map(|l| &l.provider_id))
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Keeps what a host's provider said applies to it.
    pub async fn set_errata_counts(&self, host_id: &str, counts: &ErrataCounts) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO host_errata_counts (host_id, security, bugfix, enhancement, counted_at)
             VALUES ($1, $2, $3, $4, $5)
             ON CONFLICT (host_id) DO UPDATE SET security = excluded.security,
                 bugfix = excluded.bugfix, enhancement = excluded.enhancement,
                 counted_at = excluded.counted_at",
        )
        .bind(host_id)
        .bind(i64::from(counts.security))
        .bind(i64::from(counts.bugfix))
        .bind(i64::from(counts.enhancement))
        .bind(now_rfc3339())
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Per cluster with a host linked to a provider: the security errata its linked hosts
    /// were last counted with, by cluster id.
    pub async fn cluster_security_errata(&self) -> StoreResult<Vec<(String, i64)>> {
        Ok(sqlx::query_as(
            "SELECT h.cluster_id, CAST(COALESCE(SUM(c.security), 0) AS BIGINT) FROM hosts h
             LEFT JOIN host_errata_counts c ON c.host_id = h.id
             WHERE h.provider_id IS NOT NULL GROUP BY h.cluster_id",
        )
        .fetch_all(&self.pool)
        .await?)
    }

    /// The simulated fleet's errata (its file's `[[erratum]]` list).
    pub async fn sim_errata(&self) -> StoreResult<Vec<Erratum>> {
        let text: Option<String> = sqlx::query_scalar("SELECT errata FROM sim_world WHERE id = 1")
            .fetch_optional(&self.pool)
            .await?;
        match text {
            Some(text) => json("sim errata", &text),
            None => Ok(Vec::new()),
        }
    }

    /// The simulated host registered under `name` (the `sim` provider's content host id is
    /// the host's id).
    pub async fn sim_content_host_id(&self, name: &str) -> StoreResult<Option<String>> {
        Ok(sqlx::query_scalar(
            "SELECT h.id FROM hosts h JOIN sim_hosts s ON s.host_id = h.id WHERE h.name = $1",
        )
        .bind(name)
        .fetch_optional(&self.pool)
        .await?)
    }

    pub async fn sim_content_host_name(&self, id: &str) -> StoreResult<Option<String>> {
        Ok(sqlx::query_scalar(
            "SELECT h.name FROM hosts h JOIN sim_hosts s ON s.host_id = h.id WHERE h.id = $1",
        )
        .bind(id)
        .fetch_optional(&self.pool)
        .await?)
    }

    /// The task a request started, if it did.
    pub async fn sim_task_by_request(&self, request: &str) -> StoreResult<Option<String>> {
        Ok(
            sqlx::query_scalar("SELECT id FROM sim_content_tasks WHERE request = $1")
                .bind(request)
                .fetch_optional(&self.pool)
                .await?,
        )
    }

    /// Starts a `sim` provider task, or answers the one `request` started before.
    pub async fn start_sim_task(
        &self,
        request: &str,
        host_id: &str,
        errata: &[String],
        ends_at: &str,
    ) -> StoreResult<SimTaskRow> {
        sqlx::query(
            "INSERT INTO sim_content_tasks (id, request, host_id, errata, created_at, ends_at, state)
             VALUES ($1, $2, $3, $4, $5, $6, 'running') ON CONFLICT (request) DO NOTHING",
        )
        .bind(new_id())
        .bind(request)
        .bind(host_id)
        .bind(serde_json::to_string(errata).unwrap_or_else(|_| "[]".into()))
        .bind(now_rfc3339())
        .bind(ends_at)
        .execute(&self.pool)
        .await?;
        let id: String = sqlx::query_scalar("SELECT id FROM sim_content_tasks WHERE request = $1")
            .bind(request)
            .fetch_one(&self.pool)
            .await?;
        self.sim_task(&id)
            .await?
            .ok_or_else(|| super::StoreError::Corrupt {
                what: "sim content task",
                detail: format!("task {id} vanished after its insert"),
            })
    }

    pub async fn sim_task(&self, id: &str) -> StoreResult<Option<SimTaskRow>> {
        let Some(row) = sqlx::query(
            "SELECT id, host_id, errata, created_at, ends_at, state, result
             FROM sim_content_tasks WHERE id = $1",
        )
        .bind(id)
        .fetch_optional(&self.pool)
        .await?
        else {
            return Ok(None);
        };
        let errata: String = row.try_get("errata")?;
        Ok(Some(SimTaskRow {
            id: row.try_get("id")?,
            host_id: row.try_get("host_id")?,
            errata: json("sim task errata", &errata)?,
            created_at: row.try_get("created_at")?,
            ends_at: row.try_get("ends_at")?,
            state: row.try_get("state")?,
            result: row.try_get("result")?,
        }))
    }

    /// Every task the `sim` provider started, oldest first, with its host's name
    /// (`uplift sim tasks`).
    pub async fn sim_tasks(&self) -> StoreResult<Vec<(SimTaskRow, String)>> {
        let ids: Vec<(String, String)> = sqlx::query_as(
            "SELECT t.id, h.name FROM sim_content_tasks t JOIN hosts h ON h.id = t.host_id
             ORDER BY t.created_at, t.id",
        )
        .fetch_all(&self.pool)
        .await?;
        let mut tasks = Vec::with_capacity(ids.len());
        for (id, host) in ids {
            if let Some(task) = self.sim_task(&id).await? {
                tasks.push((task, host));
            }
        }
        Ok(tasks)
    }

    /// Ends a running `sim` task: on success its packages are written in the same
    /// transaction, so a task ends once, with its effect, or not at all.
    pub async fn end_sim_task(
        &self,
        id: &str,
        outcome: Result<(&str, &std::collections::BTreeMap<String, String>), &str>,
    ) -> StoreResult<()> {
        let mut tx = self.pool.begin().await?;
        let (state, result) = match outcome {
            Ok((message, _)) => ("succeeded", message),
            Err(message) => ("failed", message),
        };
        let done = sqlx::query(
            "UPDATE sim_content_tasks SET state = $1, result = $2 WHERE id = $3 AND state = 'running'",
        )
        .bind(state)
        .bind(result)
        .bind(id)
        .execute(&mut *tx)
        .await?;
        if let (1, Ok((_, packages))) = (done.rows_affected(), outcome) {
            sqlx::query(
                "UPDATE sim_hosts SET packages = $1
                 WHERE host_id = (SELECT host_id FROM sim_content_tasks WHERE id = $2)",
            )
            .bind(serde_json::to_string(packages).unwrap_or_else(|_| "{}".into()))
            .bind(id)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }
}
