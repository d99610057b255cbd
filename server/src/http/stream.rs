//! `GET /api/events/stream`: server-sent events from the live event hub (`service::hub`):
//! `event: event` for each new event, `event: job` for each job change (SPEC §4's JSON as
//! data, the change log id as `id:`), and `event: resync` when the browser should reload
//! everything (it fell behind, or came back from further than the log reaches). A browser
//! reconnecting with `Last-Event-ID` gets exactly what it missed. The stream ends when its
//! credentials no longer hold: a signed-out session, a changed password, a revoked token.

use std::convert::Infallible;

use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::sse::{Event as SseEvent, KeepAlive, Sse};
use axum::Extension;
use futures::stream::{self, Stream};
use tower_sessions::SessionStore;

use super::auth::{Authed, Credential, SessionAuth, SESSION_KEY};
use super::error::HttpResult;
use super::openapi::Refusals;
use super::AppState;
use crate::service::{Next, Published, StreamPermit, Subscription, What};

struct Reader {
    /// Held while the stream is open: the user's place among their streams.
    _permit: StreamPermit,
    state: AppState,
    user_id: String,
    credential: Credential,
    /// The user's `auth_version` when the stream opened.
    auth_version: i64,
    subscription: Subscription,
    stopping: tokio::sync::watch::Receiver<bool>,
}

impl Reader {
    /// Whether the credentials the stream opened with still hold.
    async fn still_valid(&self) -> bool {
        let service = &self.state.service;
        let user = match service
            .caller_by_session(&self.user_id, self.auth_version)
            .await
        {
            Ok(user) => user,
            Err(error) => {
                tracing::warn!(%error, "cannot check an event stream's credentials");
                return true;
            }
        };
        if user.is_none() {
            return false;
        }
        match &self.credential {
            Credential::Basic => true,
            Credential::Bearer(token) => {
                matches!(service.caller_by_token(token).await, Ok(Some(_)))
            }
            Credential::Session { id: None, .. } => false,
            Credential::Session { id: Some(id), auth } => {
                match self.state.sessions.load(id).await {
                    Ok(Some(record)) => {
                        record.expiry_date > time::OffsetDateTime::now_utc()
                            && record
                                .data
                                .get(SESSION_KEY)
                                .and_then(|value| {
                                    serde_json::from_value::<SessionAuth>(value.clone()).ok()
                                })
                                .is_some_and(|stored| {
                                    stored.user_id == auth.user_id
                                        && stored.auth_version == auth.auth_version
                                })
                    }
                    Ok(None) => false,
                    Err(error) => {
                        tracing::warn!(%error, "cannot check an event stream's session");
                        true
                    }
                }
            }
        }
    }

    /// The next message to send, or `None` when the stream ends.
    async fn next(&mut self) -> Option<SseEvent> {
        if std::mem::take(&mut self.subscription.resync) {
            return Some(resync());
        }
        loop {
            let next = tokio::select! {
                next = self.subscription.next() => next,
                _ = self.stopping.changed() => return None,
            };
            match next {
                Next::Closed => return None,
                Next::Resync => return Some(resync()),
                Next::Change(change) => match &change.what {
                    What::Auth { user_id } if *user_id == self.user_id => {
                        if !self.still_valid().await {
                            return None;
                        }
                    }
                    What::Auth { .. } => {}
                    What::Event(_) | What::Job(_) => return Some(message(&change)),
                },
            }
        }
    }
}

fn message(change: &Published) -> SseEvent {
    let (name, data) = match &change.what {
        What::Event(json) => ("event", json.as_str()),
        What::Job(json) => ("job", json.as_str()),
        What::Auth { .. } => ("auth", ""),
    };
    SseEvent::default()
        .event(name)
        .id(change.id.to_string())
        .data(data)
}

fn resync() -> SseEvent {
    SseEvent::default().event("resync").data("{}")
}

/// The `Last-Event-ID` a reconnecting browser sends; anything unreadable counts as none sent
/// but asks for a resync.
fn last_event_id(headers: &HeaderMap) -> Option<i64> {
    let value = headers.get("last-event-id")?;
    Some(
        value
            .to_str()
            .ok()
            .and_then(|text| text.trim().parse().ok())
            .unwrap_or(-1),
    )
}

#[utoipa::path(get, path = "/api/events/stream", tag = "events", params(("Last-Event-ID" = Option<i64>, Header, description = "The last `id:` received: the stream first sends exactly what came after it")), responses((status = 200, description = "Server-sent events: `event` for each new event, `job` for each job change, `resync` when the client should reload everything; it does not end", content_type = "text/event-stream", body = String), Refusals))]
pub async fn events_stream(
    State(state): State<AppState>,
    Authed(caller): Authed,
    Extension(credential): Extension<Credential>,
    headers: HeaderMap,
) -> HttpResult<Sse<impl Stream<Item = Result<SseEvent, Infallible>>>> {
    let permit = state.service.open_stream(&caller)?;
    let auth_version = match &credential {
        Credential::Session { auth, .. } => auth.auth_version,
        Credential::Basic | Credential::Bearer(_) => {
            state.service.auth_version_of(&caller.user_id).await?
        }
    };
    let subscription = state.service.watch_changes(last_event_id(&headers)).await?;
    let reader = Reader {
        _permit: permit,
        user_id: caller.user_id,
        credential,
        auth_version,
        subscription,
        stopping: state.stopping.clone(),
        state,
    };
    let events = stream::unfold(reader, |mut reader| async move {
        if *reader.stopping.borrow() {
            return None;
        }
        let event = reader.next().await?;
        Some((Ok(event), reader))
    });
    Ok(Sse::new(events).keep_alive(KeepAlive::default()))
}
