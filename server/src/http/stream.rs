//! `GET /api/events/stream`: server-sent events, `event: event` for each new event and
//! `event: job` for each job change, with the JSON of SPEC §4 as data.

use std::convert::Infallible;
use std::time::Duration;

use axum::extract::State;
use axum::response::sse::{Event as SseEvent, KeepAlive, Sse};
use futures::stream::{self, Stream};

use super::auth::Authed;
use super::error::HttpResult;
use super::openapi::Refusals;
use super::AppState;
use crate::service::{Service, StreamCursor, StreamPermit};

/// How often a stream looks for changes.
const POLL: Duration = Duration::from_millis(250);

struct Reader {
    /// Held while the stream is open: the user's place among their streams.
    _permit: StreamPermit,
    service: Service,
    stopping: tokio::sync::watch::Receiver<bool>,
    cursor: StreamCursor,
    pending: std::collections::VecDeque<SseEvent>,
}

impl Reader {
    async fn refill(&mut self) {
        match self.service.changes_since(&mut self.cursor).await {
            Ok(changes) => {
                for event in changes.events {
                    if let Ok(sse) = SseEvent::default()
                        .event("event")
                        .id(event.id.to_string())
                        .json_data(&event)
                    {
                        self.pending.push_back(sse);
                    }
                }
                for job in changes.jobs {
                    if let Ok(sse) = SseEvent::default().event("job").json_data(&job) {
                        self.pending.push_back(sse);
                    }
                }
            }
            Err(error) => tracing::warn!(error = %error, "event stream read failed"),
        }
    }
}

#[utoipa::path(get, path = "/api/events/stream", tag = "events", responses((status = 200, description = "Server-sent events: `event` for each new event, `job` for each job change; it does not end", content_type = "text/event-stream", body = String), Refusals))]
pub async fn events_stream(
    State(state): State<AppState>,
    Authed(caller): Authed,
) -> HttpResult<Sse<impl Stream<Item = Result<SseEvent, Infallible>>>> {
    let reader = Reader {
        _permit: state.service.open_stream(&caller)?,
        cursor: state.service.stream_cursor().await?,
        service: state.service.clone(),
        stopping: state.stopping.clone(),
        pending: std::collections::VecDeque::new(),
    };
    let events = stream::unfold(reader, |mut reader| async move {
        loop {
            if let Some(event) = reader.pending.pop_front() {
                return Some((Ok(event), reader));
            }
            if *reader.stopping.borrow() {
                return None;
            }
            tokio::select! {
                () = tokio::time::sleep(POLL) => reader.refill().await,
                _ = reader.stopping.changed() => return None,
            }
        }
    });
    Ok(Sse::new(events).keep_alive(KeepAlive::default()))
}
