//! API tokens: `POST /api/tokens` (a name and password for a bearer token),
//! `DELETE /api/tokens/current` (the caller ends the token this request carries) and
//! `DELETE /api/users/{name}/tokens` (an admin ends every token of a user).

use axum::extract::{Path, State};
use axum::http::{header, Extensions, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::{Deserialize, Serialize};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::auth::{client_address, Authed};
use super::error::{HttpError, HttpResult};
use super::json::ApiJson;
use super::openapi::Refusals;
use super::AppState;
use crate::service::{Actor, Door, LoginAttempt};

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(create))
        .routes(routes!(revoke_current))
        .routes(routes!(revoke_of_user))
}

#[derive(Deserialize, utoipa::ToSchema)]
pub struct TokenRequest {
    username: String,
    password: String,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct TokenResponse {
    token: String,
}

#[utoipa::path(post, path = "/api/tokens", tag = "tokens", request_body = TokenRequest, security(()), responses((status = 201, description = "A bearer token for 24 hours", body = TokenResponse), Refusals))]
pub async fn create(
    State(state): State<AppState>,
    extensions: Extensions,
    ApiJson(request): ApiJson<TokenRequest>,
) -> HttpResult<(StatusCode, Json<TokenResponse>)> {
    let issued = state
        .service
        .create_token(LoginAttempt {
            name: &request.username,
            password: &request.password,
            door: Door::Token,
            address: client_address(&extensions),
        })
        .await?;
    Ok((
        StatusCode::CREATED,
        Json(TokenResponse {
            token: issued.token,
        }),
    ))
}

/// The bearer token of this request, if it carries one.
fn bearer(headers: &HeaderMap) -> Option<&str> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then_some(token.trim())
}

#[utoipa::path(delete, path = "/api/tokens/current", tag = "tokens", responses((status = 204, description = "The token this request carries has ended"), Refusals))]
pub async fn revoke_current(
    State(state): State<AppState>,
    Authed(caller): Authed,
    headers: HeaderMap,
) -> HttpResult<Response> {
    let token = bearer(&headers).ok_or_else(|| {
        HttpError::new(
            StatusCode::BAD_REQUEST,
            "not_a_token",
            "This request was not signed with a bearer token; there is no current token to end.",
        )
    })?;
    state.service.revoke_token(&caller, token).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct Revoked {
    revoked: u64,
}

#[utoipa::path(delete, path = "/api/users/{name}/tokens", tag = "tokens", params(("name" = String, Path, description = "A user's name")), responses((status = 200, description = "How many tokens ended", body = Revoked), Refusals))]
pub async fn revoke_of_user(
    State(state): State<AppState>,
    Authed(caller): Authed,
    Path(name): Path<String>,
) -> HttpResult<Json<Revoked>> {
    let revoked = state
        .service
        .revoke_tokens_of(Actor::User(&caller), &name)
        .await?;
    Ok(Json(Revoked { revoked }))
}
