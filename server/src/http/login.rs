//! The portal's sign-in and sign-out: plain form posts answered with redirects, so they work
//! before the WASM loads and without JavaScript.

use axum::extract::State;
use axum::http::{header, Extensions, StatusCode};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::Form;
use serde::Deserialize;
use tower_sessions::Session;

use super::auth::{client_address, SessionAuth, SESSION_KEY};
use super::error::HttpResult;
use super::AppState;
use crate::service::{Door, LoginAttempt, ServiceError};

#[derive(Deserialize)]
pub struct LoginForm {
    username: String,
    password: String,
}

fn session_error(e: tower_sessions::session::Error) -> ServiceError {
    ServiceError::Internal(format!("session store: {e}"))
}

pub async fn login(
    State(state): State<AppState>,
    extensions: Extensions,
    session: Session,
    Form(form): Form<LoginForm>,
) -> HttpResult<Response> {
    let attempt = LoginAttempt {
        name: &form.username,
        password: &form.password,
        door: Door::Portal,
        address: client_address(&extensions),
    };
    match state.service.login(attempt).await {
        Ok((caller, auth_version)) => {
            // A fresh id at login defeats session fixation.
            session.cycle_id().await.map_err(session_error)?;
            let auth = SessionAuth {
                user_id: caller.user_id,
                auth_version,
            };
            session
                .insert(SESSION_KEY, auth)
                .await
                .map_err(session_error)?;
            Ok(Redirect::to("/").into_response())
        }
        Err(ServiceError::BadCredentials) => Ok(Redirect::to("/login?error=1").into_response()),
        Err(
            error @ (ServiceError::Throttled { retry_after } | ServiceError::Busy { retry_after }),
        ) => {
            // A form post gets a page, not JSON: what happened and the way back.
            let page = format!(
                "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>Uplift</title>\
                 </head><body><main><h1>Sign-in refused</h1><p role=\"alert\">{error}</p>\
                 <p><a href=\"/login\">Back to sign-in</a></p></main></body></html>"
            );
            let status = StatusCode::from_u16(error.to_api().status())
                .unwrap_or(StatusCode::TOO_MANY_REQUESTS);
            Ok((
                status,
                [(header::RETRY_AFTER, retry_after.to_string())],
                Html(page),
            )
                .into_response())
        }
        Err(other) => Err(other.into()),
    }
}

pub async fn logout(State(state): State<AppState>, session: Session) -> HttpResult<Redirect> {
    let auth: Option<SessionAuth> = session.get(SESSION_KEY).await.map_err(session_error)?;
    session.flush().await.map_err(session_error)?;
    if let Some(auth) = auth {
        // The session's open event streams end.
        state.service.signed_out(&auth.user_id).await?;
    }
    Ok(Redirect::to("/login"))
}
