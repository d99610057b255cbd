//! `GET|POST /api/providers`, `PUT|DELETE /api/providers/{id}`, `POST /api/providers/{id}/test`
//! (issue 21's content providers), and a host's link to one: `GET|PUT /api/hosts/{id}/content`.
//! Thin: the service decides who may and what is valid.

use app::api::{HostContent, HostContentLink, Provider, ProviderInput, ProviderTest};
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::auth::{Authed, SignedIn};
use super::error::HttpResult;
use super::json::ApiJson;
use super::openapi::Refusals;
use super::AppState;
use crate::service::Actor;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list, create))
        .routes(routes!(update, delete))
        .routes(routes!(test))
        .routes(routes!(host_content, host_content_link))
}

#[utoipa::path(get, path = "/api/providers", tag = "providers", responses((status = 200, description = "The content providers; no password is ever listed", body = Vec<Provider>), Refusals))]
pub async fn list(State(state): State<AppState>, _: SignedIn) -> HttpResult<Response> {
    Ok(Json(state.service.providers().await?).into_response())
}

#[utoipa::path(post, path = "/api/providers", tag = "providers", request_body = ProviderInput, responses((status = 201, description = "Registered", body = Provider), Refusals))]
pub async fn create(
    State(state): State<AppState>,
    Authed(caller): Authed,
    ApiJson(input): ApiJson<ProviderInput>,
) -> HttpResult<Response> {
    let created = state
        .service
        .add_provider(Actor::User(&caller), input)
        .await?;
    Ok((StatusCode::CREATED, Json(created)).into_response())
}

#[utoipa::path(put, path = "/api/providers/{id}", tag = "providers", params(("id" = String, Path, description = "The provider id")), request_body = ProviderInput, responses((status = 200, description = "Changed; no password keeps the stored one", body = Provider), Refusals))]
pub async fn update(
    State(state): State<AppState>,
    Authed(caller): Authed,
    Path(id): Path<String>,
    ApiJson(input): ApiJson<ProviderInput>,
) -> HttpResult<Response> {
    let changed = state
        .service
        .update_provider(Actor::User(&caller), &id, input)
        .await?;
    Ok(Json(changed).into_response())
}

#[utoipa::path(delete, path = "/api/providers/{id}", tag = "providers", params(("id" = String, Path, description = "The provider id")), responses((status = 204, description = "Removed; its hosts are unlinked"), Refusals))]
pub async fn delete(
    State(state): State<AppState>,
    Authed(caller): Authed,
    Path(id): Path<String>,
) -> HttpResult<Response> {
    state
        .service
        .delete_provider(Actor::User(&caller), &id)
        .await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

#[utoipa::path(post, path = "/api/providers/{id}/test", tag = "providers", params(("id" = String, Path, description = "The provider id")), responses((status = 200, description = "Whether it answers and accepts its credentials", body = ProviderTest), Refusals))]
pub async fn test(
    State(state): State<AppState>,
    Authed(caller): Authed,
    Path(id): Path<String>,
) -> HttpResult<Response> {
    Ok(Json(
        state
            .service
            .test_provider(Actor::User(&caller), &id)
            .await?,
    )
    .into_response())
}

#[utoipa::path(get, path = "/api/hosts/{id}/content", tag = "providers", params(("id" = String, Path, description = "The host id")), responses((status = 200, description = "The host's provider link, and whether content can be installed", body = HostContent), Refusals))]
pub async fn host_content(
    State(state): State<AppState>,
    _: SignedIn,
    Path(id): Path<String>,
) -> HttpResult<Response> {
    Ok(Json(state.service.host_content(&id).await?).into_response())
}

#[utoipa::path(put, path = "/api/hosts/{id}/content", tag = "providers", params(("id" = String, Path, description = "The host id")), request_body = HostContentLink, responses((status = 200, description = "Linked (or unlinked)", body = HostContent), Refusals))]
pub async fn host_content_link(
    State(state): State<AppState>,
    Authed(caller): Authed,
    Path(id): Path<String>,
    ApiJson(link): ApiJson<HostContentLink>,
) -> HttpResult<Response> {
    let content = state
        .service
        .link_host_content(Actor::User(&caller), &id, link)
        .await?;
    Ok(Json(content).into_response())
}
