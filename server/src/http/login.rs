//! The portal's sign-in and sign-out: plain form posts answered with redirects, so they work
//! before the WASM loads and without JavaScript.

use axum::extract::State;
use axum::response::Redirect;
use axum::Form;
use serde::Deserialize;
use tower_sessions::Session;

use super::auth::{SessionAuth, SESSION_KEY};
use super::error::HttpResult;
use super::AppState;
use crate::service::ServiceError;

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
    session: Session,
    Form(form): Form<LoginForm>,
) -> HttpResult<Redirect> {
    match state.service.login(&form.username, &form.password).await {
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
            Ok(Redirect::to("/"))
        }
        Err(ServiceError::BadCredentials) => {
            tracing::info!(user = %form.username, "failed login");
            Ok(Redirect::to("/login?error=1"))
        }
        Err(other) => Err(other.into()),
    }
}

pub async fn logout(session: Session) -> HttpResult<Redirect> {
    session.flush().await.map_err(session_error)?;
    Ok(Redirect::to("/login"))
}
