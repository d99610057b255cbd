//! oVirt's SSO as `ovirtsdk4` uses it: a password grant for a bearer token
//! (`POST /ovirt-engine/sso/oauth/token`) and its revocation
//! (`POST /ovirt-engine/services/sso-logout`). Tokens are Uplift's API tokens (same lifetime,
//! same revocation); answers are JSON, and a refusal is JSON with an `error` key, which is
//! what the SDK looks at (it never reads the status).

use axum::extract::rejection::FormRejection;
use axum::extract::State;
use axum::http::{Extensions, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::{Form, Json};
use serde::Deserialize;
use serde_json::json;

use crate::http::auth::client_address;
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

/// An oVirt user name (`admin@internal`) as Uplift's (`admin`): Uplift's users are oVirt's
/// `internal` profile.
pub fn user_name(name: &str) -> &str {
    name.strip_suffix("@internal").unwrap_or(name)
}

fn refusal(status: StatusCode, code: &str, message: String) -> Response {
    (status, Json(json!({"error_code": code, "error": message}))).into_response()
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
            Json(json!({
                "access_token": issued.token,
                "token_type": "bearer",
                "scope": "ovirt-app-api",
                "exp": exp.to_string(),
            }))
            .into_response()
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
    Json(json!({})).into_response()
}

fn refusal_of(error: ServiceError) -> Response {
    let api = error.to_api();
    let status = StatusCode::from_u16(api.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    refusal(status, &api.code, api.message)
}
