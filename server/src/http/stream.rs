//! `GET /api/events/stream`: server-sent events from the live event hub (`service::hub`):
//! `event: event` for each new event, `event: job` for each job change (SPEC §4's JSON as
//! data, a job without its steps; the change log id as `id:`), and `event: resync` when the browser should reload
//! everything (it fell behind, or came back from further than the log reaches). A browser
//! reconnecting with `Last-Event-ID` gets exactly what it missed. The stream ends when its
//! credentials no longer hold: a signed-out session, a changed password, a revoked token.
//! What is ready goes out in one write (the subscription keeps only each job's latest state
//! among it): with a thousand streams open, the writes and the bytes are what cost.

use std::convert::Infallible;
use std::fmt::Write as _;
use std::sync::Arc;
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{header, HeaderMap, HeaderValue};
use axum::response::{IntoResponse, Response};
use axum::Extension;
use bytes::BytesMut;
use futures::stream;
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

    /// The next write: every message at hand (up to `BATCH_MAX`), a keep-alive comment after a
    /// quiet while, or `None` when the stream ends.
    async fn next_chunk(&mut self) -> Option<Bytes> {
        if std::mem::take(&mut self.subscription.resync) {
            return Some(Bytes::from_static(RESYNC));
        }
        loop {
            let changes = tokio::select! {
                next = self.subscription.next(BATCH_MAX) => match next {
                    Next::Changes(changes) => changes,
                    Next::Resync => return Some(Bytes::from_static(RESYNC)),
                    Next::Closed => return None,
                },
                _ = self.stopping.changed() => return None,
                () = tokio::time::sleep(KEEP_ALIVE) => return Some(Bytes::from_static(b":\n\n")),
            };
            let mine = |change: &Arc<Published>| matches!(&change.what, What::Auth { user_id } if *user_id == self.user_id);
            if changes.iter().any(mine) && !self.still_valid().await {
                return None;
            }
            let chunk = messages(&changes);
            if !chunk.is_empty() {
                return Some(chunk);
            }
        }
    }
}

/// Messages most written at once.
const BATCH_MAX: usize = 256;

/// A comment line goes out after this long without messages, so proxies keep the stream open.
const KEEP_ALIVE: Duration = Duration::from_secs(15);

const RESYNC: &[u8] = b"event: resync\ndata: {}\n\n";

/// The SSE text of `changes`' events and jobs, oldest first, as one write. Each change is framed
/// once, by the first stream that sends it; a lone change is written as that shared frame.
fn messages(changes: &[Arc<Published>]) -> Bytes {
    match changes {
        [change] => framed(change),
        _ => {
            let frames: Vec<Bytes> = changes.iter().map(|change| framed(change)).collect();
            let mut out = BytesMut::with_capacity(frames.iter().map(Bytes::len).sum());
            for frame in frames {
                out.extend_from_slice(&frame);
            }
            out.freeze()
        }
    }
}

/// One change's SSE message (empty for what browsers are not sent). The JSON is serde_json's
/// compact form, which has no line breaks, so it is one `data:` line.
fn framed(change: &Published) -> Bytes {
    change
        .framed
        .get_or_init(|| {
            let (name, data) = match &change.what {
                What::Event(json) => ("event", json),
                What::Job { json, .. } => ("job", json),
                What::Auth { .. } => return Bytes::new(),
            };
            let mut text = String::with_capacity(data.len() + 40);
            let _ = write!(text, "id: {}\nevent: {name}\ndata: {data}\n\n", change.id);
            Bytes::from(text)
        })
        .clone()
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
) -> HttpResult<Response> {
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
    let chunks = stream::unfold(reader, |mut reader| async move {
        if *reader.stopping.borrow() {
            return None;
        }
        let chunk = reader.next_chunk().await?;
        Some((Ok::<_, Infallible>(chunk), reader))
    });
    Ok((
        [
            (
                header::CONTENT_TYPE,
                HeaderValue::from_static("text/event-stream"),
            ),
            (header::CACHE_CONTROL, HeaderValue::from_static("no-cache")),
        ],
        Body::from_stream(chunks),
    )
        .into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_write_holds_the_events_and_jobs_in_order_and_no_auth_change() {
        let change = |id, what| Arc::new(Published::new(id, what));
        let ready = [
            change(2, What::Event("{\"id\":7}".into())),
            change(
                3,
                What::Job {
                    job_id: "j2".into(),
                    json: "{\"id\":\"j2\"}".into(),
                    running: true,
                },
            ),
            change(
                5,
                What::Auth {
                    user_id: "u".into(),
                },
            ),
        ];
        assert_eq!(
            messages(&ready),
            &b"id: 2\nevent: event\ndata: {\"id\":7}\n\n\
             id: 3\nevent: job\ndata: {\"id\":\"j2\"}\n\n"[..]
        );
        assert_eq!(messages(&ready[2..]), &b""[..], "a lone credentials change");
    }
}
