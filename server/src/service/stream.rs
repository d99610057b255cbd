//! What the live event stream (`GET /api/events/stream`) sends: new events and changed jobs.
//! It reads them from the database, the one source of truth, so changes made by any server
//! task or by the CLI reach every browser alike.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use app::api::{Caller, Event, EventQuery, Job};
use time::OffsetDateTime;

use super::{Service, ServiceError, ServiceResult};
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

/// The most streams one user may have open at once (a browser tab holds one).
pub const MAX_STREAMS_PER_USER: usize = 8;

/// Open streams per user id.
#[derive(Debug, Default)]
pub(super) struct OpenStreams(Arc<Mutex<HashMap<String, usize>>>);

/// One open stream; closing it (dropping this) frees its place.
#[derive(Debug)]
pub struct StreamPermit {
    open: Arc<Mutex<HashMap<String, usize>>>,
    user_id: String,
}

fn counts(
    open: &Mutex<HashMap<String, usize>>,
) -> std::sync::MutexGuard<'_, HashMap<String, usize>> {
    open.lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

impl Drop for StreamPermit {
    fn drop(&mut self) {
        let mut open = counts(&self.open);
        if let Some(count) = open.get_mut(&self.user_id) {
            *count -= 1;
            if *count == 0 {
                open.remove(&self.user_id);
            }
        }
    }
}

impl Service {
    /// A place for one more stream of the caller's, or 429 when they have the most allowed.
    pub fn open_stream(&self, caller: &Caller) -> ServiceResult<StreamPermit> {
        let shared = &self.inner.streams.0;
        let mut open = counts(shared);
        let count = open.entry(caller.user_id.clone()).or_default();
        if *count >= MAX_STREAMS_PER_USER {
            return Err(ServiceError::TooMany {
                code: "too_many_streams",
                message: format!(
                    "{} has {MAX_STREAMS_PER_USER} live event streams open, the most a user may \
                     have; close a tab or two.",
                    caller.name
                ),
            });
        }
        *count += 1;
        Ok(StreamPermit {
            open: shared.clone(),
            user_id: caller.user_id.clone(),
        })
    }

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
