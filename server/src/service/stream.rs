//! What the live event stream (`GET /api/events/stream`) sends: new events and changed jobs.
//! It reads them from the database, the one source of truth, so changes made by any server
//! task or by the CLI reach every browser alike.

use app::api::{Event, EventQuery, Job};
use time::OffsetDateTime;

use super::{Service, ServiceResult};
use crate::store::rfc3339;

/// How far a stream has read.
#[derive(Clone, Debug)]
pub struct StreamCursor {
    event_id: i64,
    job_time: String,
}

/// What changed since the cursor, oldest first.
#[derive(Debug, Default)]
pub struct Changes {
    pub events: Vec<Event>,
    pub jobs: Vec<Job>,
}

/// Events one read of the stream takes at most; the rest come on the next read.
const EVENTS_PER_READ: u32 = 200;

impl Service {
    /// A cursor at "now": a new stream sends only what happens from here on.
    pub async fn stream_cursor(&self) -> ServiceResult<StreamCursor> {
        Ok(StreamCursor {
            event_id: self.store().last_event_id().await?,
            job_time: rfc3339(OffsetDateTime::now_utc()),
        })
    }

    /// The changes after `cursor`, which moves past them.
    pub async fn changes_since(&self, cursor: &mut StreamCursor) -> ServiceResult<Changes> {
        let query = EventQuery {
            after: Some(cursor.event_id),
            per_page: Some(EVENTS_PER_READ),
            ..EventQuery::default()
        };
        let mut events = self.event_page(&query).await?.items;
        events.reverse();
        if let Some(last) = events.last() {
            cursor.event_id = last.id;
        }
        let mut jobs = Vec::new();
        for (id, updated_at) in self.store().jobs_changed_since(&cursor.job_time).await? {
            cursor.job_time = updated_at;
            jobs.extend(self.store().job(&id).await?);
        }
        Ok(Changes { events, jobs })
    }
}
