//! `GET|POST /api/subscriptions`, `DELETE /api/subscriptions/{id}`: each user's own
//! notification subscriptions, and `GET /api/deliveries`: their latest deliveries.

use app::api::{Delivery, NewSubscription, Subscription};
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;

use super::auth::Authed;
use super::error::HttpResult;
use super::json::ApiJson;
use super::openapi::Refusals;
use super::AppState;

#[utoipa::path(get, path = "/api/subscriptions", tag = "notifications", responses((status = 200, description = "The caller's subscriptions", body = Vec<Subscription>), Refusals))]
pub async fn list(State(state): State<AppState>, Authed(caller): Authed) -> HttpResult<Response> {
    Ok(Json(state.service.subscriptions(&caller).await?).into_response())
}

#[utoipa::path(post, path = "/api/subscriptions", tag = "notifications", request_body = NewSubscription, responses((status = 201, description = "Subscribed; a webhook's secret is shown this once", body = Subscription), Refusals))]
pub async fn create(
    State(state): State<AppState>,
    Authed(caller): Authed,
    ApiJson(new): ApiJson<NewSubscription>,
) -> HttpResult<Response> {
    let created = state.service.subscribe(&caller, new).await?;
    Ok((StatusCode::CREATED, Json(created)).into_response())
}

#[utoipa::path(delete, path = "/api/subscriptions/{id}", tag = "notifications", params(("id" = String, Path, description = "The subscription id")), responses((status = 204, description = "Deleted"), Refusals))]
pub async fn delete(
    State(state): State<AppState>,
    Authed(caller): Authed,
    Path(id): Path<String>,
) -> HttpResult<Response> {
    state.service.unsubscribe(&caller, &id).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

#[utoipa::path(get, path = "/api/deliveries", tag = "notifications", responses((status = 200, description = "The latest deliveries of the caller's subscriptions", body = Vec<Delivery>), Refusals))]
pub async fn deliveries(
    State(state): State<AppState>,
    Authed(caller): Authed,
) -> HttpResult<Response> {
    Ok(Json(state.service.deliveries(&caller).await?).into_response())
}
