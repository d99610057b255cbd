//! Who is calling: HTTP Basic, a bearer token or the portal's session cookie, resolved once per
//! request into a [`Caller`] in the request's extensions. Also the two gates that need no
//! handler: signed-out browsers go to the login page, and cross-site mutations are refused.

use app::api::Caller;
use axum::extract::{FromRequestParts, Request, State};
use axum::http::{header, request::Parts, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Redirect, Response};
use base64::Engine;
use serde::{Deserialize, Serialize};
use tower_sessions::Session;

use super::error::HttpError;
use super::ovirt;
use super::AppState;
use crate::service::{Door, LoginAttempt, Service, ServiceError, ServiceResult};

/// The client's address, from the connection (no proxy header is trusted).
pub fn client_address(extensions: &axum::http::Extensions) -> Option<std::net::IpAddr> {
    extensions
        .get::<axum::extract::ConnectInfo<std::net::SocketAddr>>()
        .map(|info| info.0.ip())
}

/// What a signed-in session remembers.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct SessionAuth {
    pub user_id: String,
    /// The user's `auth_version` at login: a password change ends the session.
    pub auth_version: i64,
}

pub const SESSION_KEY: &str = "auth";

/// How the caller of a request proved who they are: what an open event stream checks again
/// when their credentials change.
#[derive(Clone, Debug)]
pub enum Credential {
    Basic,
    Bearer(String),
    Session {
        id: Option<tower_sessions::session::Id>,
        auth: SessionAuth,
    },
}

enum Credentials {
    Basic { name: String, password: String },
    Bearer(String),
}

/// Reads the Authorization header; `Err` when it is present but malformed.
fn credentials(parts: &axum::http::HeaderMap) -> Result<Option<Credentials>, HttpError> {
    let Some(value) = parts.get(header::AUTHORIZATION) else {
        return Ok(None);
    };
    let bad = || {
        HttpError::new(
            StatusCode::UNAUTHORIZED,
            "bad_authorization",
            "The Authorization header is neither Basic nor Bearer credentials.",
        )
    };
    let value = value.to_str().map_err(|_| bad())?;
    let (scheme, rest) = value.split_once(' ').ok_or_else(bad)?;
    if scheme.eq_ignore_ascii_case("basic") {
        let decoded = base64::engine::general_purpose::STANDARD
            .decode(rest.trim())
            .map_err(|_| bad())?;
        let text = String::from_utf8(decoded).map_err(|_| bad())?;
        let (name, password) = text.split_once(':').ok_or_else(bad)?;
        Ok(Some(Credentials::Basic {
            name: name.to_string(),
            password: password.to_string(),
        }))
    } else if scheme.eq_ignore_ascii_case("bearer") {
        Ok(Some(Credentials::Bearer(rest.trim().to_string())))
    } else {
        Err(bad())
    }
}

async fn session_caller(
    service: &Service,
    session: &Session,
) -> ServiceResult<Option<(Caller, SessionAuth)>> {
    let auth: Option<SessionAuth> = session
        .get(SESSION_KEY)
        .await
        .map_err(|e| ServiceError::Internal(format!("session store: {e}")))?;
    match auth {
        Some(auth) => Ok(service
            .caller_by_session(&auth.user_id, auth.auth_version)
            .await?
            .map(|caller| (caller, auth))),
        None => Ok(None),
    }
}

/// A session in use lasts another `idle` from now: writing it moves its expiry (tower-sessions
/// saves a session only when it changed, so the time of the last write is kept in it). The
/// store is written when a twelfth of `idle` has passed since then, not on every request.
async fn slide(session: &Session, idle: time::Duration) {
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    let touched: Option<i64> = session.get(TOUCHED_KEY).await.ok().flatten();
    let every = idle.whole_seconds() / 12;
    if touched.is_none_or(|at| now - at >= every) {
        if let Err(error) = session.insert(TOUCHED_KEY, now).await {
            tracing::warn!(%error, "cannot extend a session");
        }
    }
}

/// When the session was last written (unix seconds).
const TOUCHED_KEY: &str = "touched";

/// Paths a signed-out browser may see: the login page, static files, the APIs (which answer
/// 401 themselves) and the login/logout form targets.
fn is_public(path: &str) -> bool {
    path == "/login"
        || path == "/logout"
        || path == "/api"
        || path.starts_with("/api/")
        || path.starts_with("/rpc/")
        || path.starts_with("/pkg/")
        || path == "/metrics"
        || ovirt::is_ovirt_path(path)
        || path
            .rsplit('/')
            .next()
            .is_some_and(|last| last.contains('.'))
}

/// Who the request's credentials say is calling (`None`: no credentials, or a session that
/// ended); `Err` for credentials that do not hold.
async fn resolve(
    state: &AppState,
    headers: &axum::http::HeaderMap,
    extensions: &axum::http::Extensions,
    path: &str,
) -> Result<Option<(Caller, Credential)>, HttpError> {
    match credentials(headers)? {
        Some(Credentials::Basic { name, password }) => {
            // oVirt's clients name users with their profile (`admin@internal`).
            let name = if ovirt::is_ovirt_path(path) {
                ovirt::user_name(&name)
            } else {
                &name
            };
            let attempt = LoginAttempt {
                name,
                password: &password,
                door: Door::Basic,
                address: client_address(extensions),
            };
            let caller = state.service.basic_login(attempt).await?;
            Ok(Some((caller, Credential::Basic)))
        }
        Some(Credentials::Bearer(token)) => match state.service.caller_by_token(&token).await? {
            Some(caller) => Ok(Some((caller, Credential::Bearer(token)))),
            None => Err(HttpError::new(
                StatusCode::UNAUTHORIZED,
                "invalid_token",
                "The bearer token is unknown or has expired.",
            )),
        },
        None => match extensions.get::<Session>() {
            Some(session) => match session_caller(&state.service, session).await? {
                Some((caller, auth)) => {
                    slide(session, state.session_idle.0).await;
                    let id = session.id();
                    Ok(Some((caller, Credential::Session { id, auth })))
                }
                None => Ok(None),
            },
            None => Ok(None),
        },
    }
}

/// Resolves the caller and sends signed-out browsers to the login page. On oVirt's paths a
/// refusal goes on to the handler, which answers it as an oVirt fault.
pub async fn authenticate(
    State(state): State<AppState>,
    mut request: Request,
    next: Next,
) -> Response {
    let path = request.uri().path().to_string();
    let resolved = match resolve(&state, request.headers(), request.extensions(), &path).await {
        Ok(resolved) => resolved,
        Err(error) if ovirt::is_ovirt_path(&path) => {
            request
                .extensions_mut()
                .insert(ovirt::Refused(std::sync::Arc::new(error)));
            return next.run(request).await;
        }
        Err(error) => return error.into_response(),
    };

    let path = path.as_str();
    // Server functions are the signed-in portal's: refused before their arguments are read.
    if resolved.is_none() && path.starts_with("/rpc/") && !path.starts_with("/rpc/whoami") {
        return HttpError::unauthenticated().into_response();
    }
    match &resolved {
        None if request.method() == Method::GET && !is_public(path) => {
            return Redirect::to("/login").into_response()
        }
        Some(_) if path == "/login" && request.method() == Method::GET => {
            return Redirect::to("/").into_response()
        }
        _ => {}
    }
    if let Some((caller, credential)) = resolved {
        request.extensions_mut().insert(caller);
        request.extensions_mut().insert(credential);
    }
    next.run(request).await
}

/// Extractor for handlers that need a signed-in caller (of any role): 401 otherwise.
pub struct SignedIn;

impl<S: Send + Sync> FromRequestParts<S> for SignedIn {
    type Rejection = HttpError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        match parts.extensions.get::<Caller>() {
            Some(_) => Ok(SignedIn),
            None => Err(HttpError::unauthenticated()),
        }
    }
}

/// Extractor for handlers that act on behalf of the caller: 401 when nobody is signed in.
/// Whether the caller may do the action is the service's decision.
pub struct Authed(pub Caller);

impl<S: Send + Sync> FromRequestParts<S> for Authed {
    type Rejection = HttpError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        parts
            .extensions
            .get::<Caller>()
            .cloned()
            .map(Authed)
            .ok_or_else(HttpError::unauthenticated)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn public_paths_are_only_the_login_apis_and_files() {
        for path in [
            "/login",
            "/api",
            "/api/hosts",
            "/pkg/uplift.js",
            "/favicon.svg",
            "/rpc/x",
        ] {
            assert!(is_public(path), "{path}");
        }
        for path in ["/", "/hosts", "/hosts/abc", "/apix", "/clusters/1"] {
            assert!(!is_public(path), "{path}");
        }
    }
}
