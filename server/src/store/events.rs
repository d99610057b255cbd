use app::api::{Event, EventQuery, Ref, Severity};

use super::{corrupt, ReadRow, Sql, Store, StoreResult, Window};

/// An event about to be written.
#[derive(Clone, Debug)]
pub struct NewEvent {
    pub code: &'static str,
    pub severity: Severity,
    pub message: String,
    pub host_id: Option<String>,
    pub cluster_id: Option<String>,
    pub correlation_id: Option<String>,
    pub user: Option<String>,
    /// Set by steps: the event is written once per key, however often its step runs.
    pub once_key: Option<String>,
}

impl NewEvent {
    pub fn new(code: &'static str, severity: Severity, message: impl Into<String>) -> Self {
        NewEvent {
            code,
            severity,
            message: message.into(),
            host_id: None,
            cluster_id: None,
            correlation_id: None,
            user: None,
            once_key: None,
        }
    }

    pub fn message(mut self, message: impl Into<String>) -> Self {
        self.message = message.into();
        self
    }

    /// Written once for this job and key: a step that runs again writes nothing new.
    pub fn once(mut self, job_id: &str, key: &str) -> Self {
        self.once_key = Some(format!("{job_id}/{key}/{}", self.code));
        self
    }

    pub fn host(mut self, host_id: &str, cluster_id: &str) -> Self {
        self.host_id = Some(host_id.to_string());
        self.cluster_id = Some(cluster_id.to_string());
        self
    }

    pub fn cluster(mut self, cluster_id: &str) -> Self {
        self.cluster_id = Some(cluster_id.to_string());
        self
    }

    pub fn correlation(mut self, correlation_id: &str) -> Self {
        self.correlation_id = Some(correlation_id.to_string());
        self
    }

    pub fn user(mut self, user: Option<&str>) -> Self {
        self.user = user.map(str::to_string);
        self
    }
}

const EVENT_SELECT: &str = "
    SELECT e.id, e.code, e.severity, e.time, e.message, e.correlation_id, e.user_name,
           h.id AS host_id, h.name AS host_name, c.id AS cluster_id, c.name AS cluster_name
    FROM events e
    LEFT JOIN hosts h ON h.id = e.host_id
    LEFT JOIN clusters c ON c.id = e.cluster_id";

fn event_from<R: ReadRow>(row: R) -> StoreResult<Event> {
    let severity: String = row.get("severity")?;
    let reference =
        |id: Option<String>, name: Option<String>| id.zip(name).map(|(id, name)| Ref { id, name });
    Ok(Event {
        id: row.get("id")?,
        code: row.get("code")?,
        severity: Severity::parse(&severity).ok_or_else(|| corrupt("event severity", severity))?,
        time: row.get("time")?,
        message: row.get("message")?,
        host: reference(row.get("host_id")?, row.get("host_name")?),
        cluster: reference(row.get("cluster_id")?, row.get("cluster_name")?),
        correlation_id: row.get("correlation_id")?,
        user: row.get("user_name")?,
    })
}

fn push_event_filters<'a>(sql: &mut Sql<'a>, query: &'a EventQuery) {
    sql.push(" WHERE 1 = 1");
    if let Some(after) = query.after {
        sql.push(" AND e.id > ").bind(after);
    }
    if let Some(severity) = query.severity {
        sql.push(" AND e.severity = ").bind(severity.as_str());
    }
    if let Some(correlation) = &query.correlation_id {
        sql.push(" AND e.correlation_id = ").bind(correlation);
    }
    if let Some(host) = &query.host {
        sql.push(" AND e.host_id = ").bind(host);
    }
    if let Some(cluster) = &query.cluster {
        sql.push(" AND e.cluster_id = ").bind(cluster);
    }
}

impl Store {
    /// Writes the event and returns its id; an event with a once key that was written before
    /// is not written again, and its first id is returned.
    pub async fn add_event(&self, event: &NewEvent) -> StoreResult<i64> {
        let mut conn = self.pool.acquire().await?;
        let id = self.add_event_on(&mut conn, event).await;
        self.wake_hub();
        id
    }

    /// [`Store::add_event`] on a connection, so that a change and the event that tells of it
    /// are written in one transaction (the caller wakes the live hub once it commits).
    pub(super) async fn add_event_on(
        &self,
        conn: &mut sqlx::AnyConnection,
        event: &NewEvent,
    ) -> StoreResult<i64> {
        // The time is taken by the database as the row is written (holding the write lock),
        // so it is the event's commit time, not when the writer began to wait for the lock.
        let sql = format!(
            "INSERT INTO events (code, severity, time, message, host_id, cluster_id, correlation_id, user_name, once_key)
             VALUES ($1, $2, {}, $3, $4, $5, $6, $7, $8)
             ON CONFLICT (once_key) DO NOTHING RETURNING id",
            self.backend.now_text()
        );
        let inserted: Option<i64> = sqlx::query_scalar(&sql)
            .bind(event.code)
            .bind(event.severity.as_str())
            .bind(&event.message)
            .bind(&event.host_id)
            .bind(&event.cluster_id)
            .bind(&event.correlation_id)
            .bind(&event.user)
            .bind(&event.once_key)
            .fetch_optional(&mut *conn)
            .await?;
        if let Some(id) = inserted {
            return Ok(id);
        }
        Ok(
            sqlx::query_scalar("SELECT id FROM events WHERE once_key = $1")
                .bind(&event.once_key)
                .fetch_one(&mut *conn)
                .await?,
        )
    }

    /// The events with these ids, oldest first (the live event hub's batch).
    pub async fn events_with_ids(&self, ids: &[i64]) -> StoreResult<Vec<Event>> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let mut sql = Sql::new(EVENT_SELECT);
        sql.push(" WHERE e.id IN (");
        for (i, id) in ids.iter().enumerate() {
            sql.push(if i == 0 { "" } else { ", " }).bind(*id);
        }
        sql.push(") ORDER BY e.id");
        let (text, args) = sql.parts();
        sqlx::query_with(&text, args)
            .fetch_all(&self.pool)
            .await?
            .into_iter()
            .map(event_from)
            .collect()
    }

    /// Events matching `query`, newest first, and how many match in all.
    pub async fn events(
        &self,
        query: &EventQuery,
        window: Window,
    ) -> StoreResult<(Vec<Event>, u64)> {
        let mut sql = Sql::new(EVENT_SELECT);
        push_event_filters(&mut sql, query);
        sql.push(" ORDER BY e.id DESC LIMIT ")
            .bind(window.limit())
            .push(" OFFSET ")
            .bind(window.offset());
        let events = self.read_rows(sql, event_from, event_from).await?;
        let mut count = Sql::new("SELECT COUNT(*) FROM events e");
        push_event_filters(&mut count, query);
        Ok((events, self.read_count(count).await?))
    }
}
