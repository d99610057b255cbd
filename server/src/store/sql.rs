//! What differs between the two databases Uplift speaks to, in one place: the SQL builder for
//! queries assembled at run time (numbered `$N` placeholders, which SQLite and PostgreSQL both
//! read), and the few expressions the two write differently. Everything else in the store is
//! SQL both accept; do not put queries here.

use sqlx::any::{AnyArguments, AnyRow};
use sqlx::sqlite::{SqliteArguments, SqliteRow};
use sqlx::{Any, Arguments, Decode, Encode, Row, Sqlite, Type};

/// Which database a store talks to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

impl Backend {
    /// The backend a database URL names (`sqlite:` or `postgres:`/`postgresql:`).
    pub fn of_url(url: &str) -> Option<Backend> {
        if url.starts_with("sqlite:") {
            Some(Backend::Sqlite)
        } else if url.starts_with("postgres:") || url.starts_with("postgresql:") {
            Some(Backend::Postgres)
        } else {
            None
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Backend::Sqlite => "sqlite",
            Backend::Postgres => "postgres",
        }
    }

    /// The current time as the RFC 3339 text of `super::rfc3339`, taken by the database as
    /// the row is written.
    pub fn now_text(self) -> &'static str {
        match self {
            Backend::Sqlite => "strftime('%Y-%m-%dT%H:%M:%fZ', 'now')",
            Backend::Postgres => {
                "to_char(clock_timestamp() AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"')"
            }
        }
    }
}

impl Backend {
    /// Milliseconds since the epoch on the database's clock: what leases are measured in, so
    /// instances whose own clocks differ agree on when a lease ends.
    pub fn now_ms(self) -> &'static str {
        match self {
            Backend::Sqlite => "CAST((julianday('now') - 2440587.5) * 86400000.0 AS INTEGER)",
            Backend::Postgres => "CAST(EXTRACT(EPOCH FROM clock_timestamp()) * 1000 AS BIGINT)",
        }
    }
}

/// A value a row of either pool can be read as.
pub trait Value:
    for<'r> Decode<'r, Any> + Type<Any> + for<'r> Decode<'r, Sqlite> + Type<Sqlite>
{
}

impl<T> Value for T where
    T: for<'r> Decode<'r, Any> + Type<Any> + for<'r> Decode<'r, Sqlite> + Type<Sqlite>
{
}

/// A row of the `Any` pool or of the typed SQLite pool, so one decoder reads both.
pub trait ReadRow {
    fn get<T: Value>(&self, column: &str) -> Result<T, sqlx::Error>;
}

impl ReadRow for AnyRow {
    fn get<T: Value>(&self, column: &str) -> Result<T, sqlx::Error> {
        self.try_get(column)
    }
}

impl ReadRow for SqliteRow {
    fn get<T: Value>(&self, column: &str) -> Result<T, sqlx::Error> {
        self.try_get(column)
    }
}

/// A query assembled piece by piece, its values bound in order as `$1`, `$2`, ….
/// The values are bound twice: for the `Any` pool every query can take, and for the typed
/// SQLite pool of the long lists (`Store::reads`).
pub struct Sql<'q> {
    text: String,
    args: AnyArguments<'q>,
    sqlite: SqliteArguments<'q>,
    count: usize,
}

impl<'q> Sql<'q> {
    pub fn new(text: &str) -> Sql<'q> {
        Sql {
            text: text.to_string(),
            args: AnyArguments::default(),
            sqlite: SqliteArguments::default(),
            count: 0,
        }
    }

    pub fn push(&mut self, text: &str) -> &mut Self {
        self.text.push_str(text);
        self
    }

    /// Appends the next placeholder and binds `value` to it.
    pub fn bind<T>(&mut self, value: T) -> &mut Self
    where
        T: 'q + Clone + Encode<'q, Any> + Type<Any> + Encode<'q, Sqlite> + Type<Sqlite>,
    {
        self.count += 1;
        self.text.push('$');
        self.text.push_str(&self.count.to_string());
        // Encoding into the Any buffer only records the value; it cannot fail.
        let _ = self.args.add(value.clone());
        // Likewise into SQLite's buffer (`Encode` of the types bound here cannot fail).
        let _ = self.sqlite.add(value);
        self
    }

    /// The text and the bound values, for `sqlx::query_with` and friends.
    pub fn parts(self) -> (String, AnyArguments<'q>) {
        (self.text, self.args)
    }

    /// The text and the values bound for the typed SQLite pool.
    pub fn sqlite_parts(self) -> (String, SqliteArguments<'q>) {
        (self.text, self.sqlite)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_are_numbered_in_order() {
        let mut sql = Sql::new("SELECT 1 WHERE a = ");
        sql.bind(1_i64)
            .push(" AND b IN (")
            .bind("x")
            .push(", ")
            .bind("y")
            .push(")");
        let (text, args) = sql.parts();
        assert_eq!(text, "SELECT 1 WHERE a = $1 AND b IN ($2, $3)");
        assert_eq!(args.len(), 3);
    }

    #[test]
    fn urls_name_their_backend() {
        assert_eq!(Backend::of_url("sqlite:///tmp/u.db"), Some(Backend::Sqlite));
        assert_eq!(Backend::of_url("postgres://h/db"), Some(Backend::Postgres));
        assert_eq!(
            Backend::of_url("postgresql://h/db"),
            Some(Backend::Postgres)
        );
        assert_eq!(Backend::of_url("mysql://h/db"), None);
    }
}
