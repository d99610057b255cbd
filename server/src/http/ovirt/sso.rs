//! oVirt's SSO as `ovirtsdk4` uses it: a password grant for a bearer token
//! (`POST /ovirt-engine/sso/oauth/token`) and its revocation
//! (`POST /ovirt-engine/services/sso-logout`). Tokens are Uplift's API tokens (same lifetime,
//! same revocation); answers are JSON, and a refusal is JSON with an `error` key, which is
//! what the SDK looks at (it never reads the status).

use axum::extract::rejection::FormRejection;
use axum::extract::State;
use axum::http::{header, Extensions, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::{Form, Json};
use serde::Deserialize;
use serde_json::json;

use crate::http::auth::client_address;
use crate::http::error::HttpError;
use crate::http::AppState;
use crate::service::{Door, LoginAttempt, ServiceError};

/// The grant the SDK sends.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct TokenRequest {
    grant_type: String,
    username: String,
    password: String,
}

/// Uplift's users are oVirt's `internal` profile.
const PROFILE: &str = "@internal";

/// An oVirt user name (`admin@internal`) as Uplift's (`admin`).
pub fn user_name(name: &str) -> &str {
    name.strip_suffix(PROFILE).unwrap_or(name)
}

/// Uplift's user name as oVirt's.
pub fn ovirt_user_name(name: &str) -> String {
    format!("{name}{PROFILE}")
}

/// A JSON answer that is never cached (it may hold a token).
fn answer(status: StatusCode, body: serde_json::Value) -> Response {
    let mut response = (status, Json(body)).into_response();
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

fn refusal(status: StatusCode, code: &str, message: String) -> Response {
    answer(status, json!({"error_code": code, "error": message}))
}

pub async fn token(
    State(state): State<AppState>,
    extensions: Extensions,
    request: Result<Form<TokenRequest>, FormRejection>,
) -> Response {
    let Ok(Form(request)) = request else {
        return refusal(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "The request is a form with grant_type, scope, username and password.".to_string(),
        );
    };
    if request.grant_type != "password" {
        return refusal(
            StatusCode::BAD_REQUEST,
            "unsupported_grant_type",
            format!(
                "Only the password grant is supported, not {:?}.",
                request.grant_type
            ),
        );
    }
    let attempt = LoginAttempt {
        name: user_name(&request.username),
        password: &request.password,
        door: Door::Sso,
        address: client_address(&extensions),
    };
    match state.service.create_token(attempt).await {
        Ok(issued) => {
            let exp = issued.expires_at.unix_timestamp() * 1000;
            answer(
                StatusCode::OK,
                json!({
                    "access_token": issued.token,
                    "token_type": "bearer",
                    "scope": "ovirt-app-api",
                    "exp": exp.to_string(),
                }),
            )
        }
        Err(ServiceError::BadCredentials) => refusal(
            StatusCode::UNAUTHORIZED,
            "access_denied",
            format!(
                "Cannot authenticate user '{}': The username or password is incorrect.",
                request.username
            ),
        ),
        Err(error) => refusal_of(error),
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct LogoutRequest {
    token: String,
}

/// Ends the token; a token already ended is fine (logging out twice is not an error).
pub async fn logout(
    State(state): State<AppState>,
    request: Result<Form<LogoutRequest>, FormRejection>,
) -> Response {
    let token = request.map(|Form(r)| r.token).unwrap_or_default();
    let caller = match state.service.caller_by_token(&token).await {
        Ok(caller) => caller,
        Err(error) => return refusal_of(error),
    };
    if let Some(caller) = caller {
        match state.service.revoke_token(&caller, &token).await {
            Ok(()) | Err(ServiceError::NotFound(_)) => {}
            Err(error) => return refusal_of(error),
        }
    }
    answer(StatusCode::OK, json!({}))
}

/// The service's refusal in SSO's words, with `Retry-After` when it has one.
fn refusal_of(error: ServiceError) -> Response {
    let error = HttpError::from(error);
    let mut response = refusal(error.status, &error.error.code, error.error.message);
    if let Some(seconds) = error.retry_after {
        response
            .headers_mut()
            .insert(header::RETRY_AFTER, seconds.into());
    }
    response
}
