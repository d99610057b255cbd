//! A whole Uplift database copied into an empty one, across backends: `uplift db copy` (an
//! installation moved from SQLite to PostgreSQL) and the PostgreSQL side of `uplift backup`
//! (archives hold a SQLite database whichever backend made them). Both stores are at the same
//! schema (each was brought up to date when opened), so every table is copied column by
//! column. Sessions are not copied (bearer secrets of the moment), nor the live change log
//! (the target's triggers write their own). Not here: archives (`backup`), the CLI.

use sqlx::any::{AnyRow, AnyTypeInfoKind};
use sqlx::{Column, Row, ValueRef as _};

use super::{Backend, Sql, Store, StoreError, StoreResult};

/// Every table copied, parents before children, with the order its rows are read in.
const TABLES: &[(&str, &str)] = &[
    ("users", "SELECT * FROM users ORDER BY id"),
    ("api_tokens", "SELECT * FROM api_tokens ORDER BY token_hash"),
    (
        "engine_dismissals",
        "SELECT * FROM engine_dismissals ORDER BY user_id, version",
    ),
    ("config", "SELECT * FROM config ORDER BY name"),
    ("clusters", "SELECT * FROM clusters ORDER BY id"),
    ("providers", "SELECT * FROM providers ORDER BY id"),
    ("hosts", "SELECT * FROM hosts ORDER BY id"),
    ("vms", "SELECT * FROM vms ORDER BY id"),
    ("events", "SELECT * FROM events ORDER BY id"),
    ("subscriptions", "SELECT * FROM subscriptions ORDER BY id"),
    ("deliveries", "SELECT * FROM deliveries ORDER BY id"),
    (
        "jobs",
        // A job's parent first, however deep the tree.
        "WITH RECURSIVE tree (id, depth) AS (
             SELECT id, 0 FROM jobs WHERE parent_id IS NULL
             UNION ALL SELECT j.id, t.depth + 1 FROM jobs j JOIN tree t ON j.parent_id = t.id)
         SELECT jobs.* FROM jobs JOIN tree ON tree.id = jobs.id
         ORDER BY tree.depth, jobs.created_at, jobs.id",
    ),
    ("job_steps", "SELECT * FROM job_steps ORDER BY id"),
    ("engine_state", "SELECT * FROM engine_state"),
    ("sim_world", "SELECT * FROM sim_world"),
    ("sim_hosts", "SELECT * FROM sim_hosts ORDER BY host_id"),
    ("sim_vms", "SELECT * FROM sim_vms ORDER BY vm_id"),
    ("sim_he", "SELECT * FROM sim_he"),
    (
        "sim_he_catalog",
        "SELECT * FROM sim_he_catalog ORDER BY version",
    ),
    ("sim_he_disks", "SELECT * FROM sim_he_disks ORDER BY id"),
    ("he_archives", "SELECT * FROM he_archives ORDER BY id"),
    ("ssh_world", "SELECT * FROM ssh_world"),
    ("ssh_hosts", "SELECT * FROM ssh_hosts ORDER BY host_id"),
    ("host_keys", "SELECT * FROM host_keys ORDER BY host_id"),
    (
        "sim_content_tasks",
        "SELECT * FROM sim_content_tasks ORDER BY id",
    ),
    (
        "host_errata_counts",
        "SELECT * FROM host_errata_counts ORDER BY host_id",
    ),
];

/// The tables whose ids the database counts (PostgreSQL's identity columns).
const COUNTED: &[&str] = &["events", "job_steps", "deliveries", "changes"];

/// How many rows of each table a copy wrote.
pub type Copied = Vec<(&'static str, u64)>;

/// Binds one value of a source row as the column's type, NULL included (PostgreSQL wants a
/// NULL typed as its column).
fn bind_value<'q>(sql: &mut Sql<'q>, row: &'q AnyRow, index: usize) -> StoreResult<()> {
    let declared = row.columns()[index].type_info().kind();
    let kind = match declared {
        AnyTypeInfoKind::Null => {
            let raw = row.try_get_raw(index)?;
            if raw.is_null() {
                sql.bind(None::<String>);
                return Ok(());
            }
            raw.type_info().kind()
        }
        kind => kind,
    };
    match kind {
        AnyTypeInfoKind::Bool
        | AnyTypeInfoKind::SmallInt
        | AnyTypeInfoKind::Integer
        | AnyTypeInfoKind::BigInt => sql.bind(row.try_get::<Option<i64>, _>(index)?),
        AnyTypeInfoKind::Real | AnyTypeInfoKind::Double => {
            sql.bind(row.try_get::<Option<f64>, _>(index)?)
        }
        AnyTypeInfoKind::Blob => sql.bind(row.try_get::<Option<Vec<u8>>, _>(index)?),
        AnyTypeInfoKind::Text | AnyTypeInfoKind::Null => {
            sql.bind(row.try_get::<Option<String>, _>(index)?)
        }
    };
    Ok(())
}

impl Store {
    /// The first table of Uplift's that holds a row, if any (its schema may exist).
    pub async fn first_filled_table(&self) -> StoreResult<Option<&'static str>> {
        for (table, _) in TABLES {
            // The table names are this module's constants, never input.
            let rows: i64 = sqlx::query_scalar(&format!("SELECT COUNT(*) FROM {table}"))
                .fetch_one(&self.pool)
                .await?;
            if rows > 0 {
                return Ok(Some(table));
            }
        }
        Ok(None)
    }

    /// Copies every table of `from` into this store, which must hold nothing yet, in one
    /// transaction: the copy is whole or not there.
    pub async fn copy_from(&self, from: &Store) -> StoreResult<Copied> {
        if let Some(table) = self.first_filled_table().await? {
            return Err(StoreError::NotEmpty(table));
        }
        let mut tx = self.pool.begin().await?;
        if self.backend == Backend::Postgres {
            // The copy reads the source between its writes: the pool's limit on sessions idle
            // in a transaction (which frees a paused instance's locks) must not end this one.
            sqlx::query("SET LOCAL idle_in_transaction_session_timeout = 0")
                .execute(&mut *tx)
                .await?;
        }
        let mut copied = Vec::new();
        for (table, select) in TABLES {
            let rows = sqlx::query(select).fetch_all(&from.pool).await?;
            let mut written = 0;
            for row in &rows {
                let columns: Vec<String> = row
                    .columns()
                    .iter()
                    .map(|c| format!("\"{}\"", c.name()))
                    .collect();
                let mut sql = Sql::new(&format!(
                    "INSERT INTO {table} ({}) VALUES (",
                    columns.join(", ")
                ));
                for index in 0..columns.len() {
                    if index > 0 {
                        sql.push(", ");
                    }
                    bind_value(&mut sql, row, index)?;
                }
                sql.push(")");
                let (text, args) = sql.parts();
                sqlx::query_with(&text, args).execute(&mut *tx).await?;
                written += 1;
            }
            copied.push((*table, written));
        }
        // The VMs' rows moved the hosts' usage columns again (the triggers): count them anew.
        sqlx::query(
            "UPDATE hosts SET
                 vm_count = (SELECT COUNT(*) FROM vms WHERE vms.host_id = hosts.id),
                 used_mb = (SELECT CAST(COALESCE(SUM(memory_mb), 0) AS BIGINT)
                            FROM vms WHERE vms.host_id = hosts.id),
                 engine_vms = (SELECT COUNT(*) FROM vms
                               WHERE vms.host_id = hosts.id AND vms.hosted_engine = 1)",
        )
        .execute(&mut *tx)
        .await?;
        if self.backend == Backend::Postgres {
            for table in COUNTED {
                sqlx::query(&format!(
                    "SELECT setval(pg_get_serial_sequence('{table}', 'id'),
                                   COALESCE((SELECT MAX(id) FROM {table}), 0) + 1, false)"
                ))
                .execute(&mut *tx)
                .await?;
            }
        }
        tx.commit().await?;
        Ok(copied)
    }

    /// Opens both databases (each brought up to this Uplift's schema), copies `from_url` into
    /// `to_url` (which must hold nothing), and closes both whatever the outcome: the one
    /// path of `uplift db copy` and of backups on PostgreSQL.
    pub async fn copy_between(from_url: &str, to_url: &str) -> StoreResult<(Backend, Copied)> {
        let from = Store::open(from_url).await?;
        let to = Store::open(to_url).await?;
        let copied = to.copy_from(&from).await;
        from.close().await;
        to.close().await;
        Ok((to.backend, copied?))
    }

    /// Closes the store's connections (a copy's source or target, before its file moves).
    pub async fn close(&self) {
        self.pool.close().await;
        self.hub_pool.close().await;
    }
}
