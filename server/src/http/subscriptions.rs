//! `GET|POST /api/subscriptions`, `DELETE /api/subscriptions/{id}`: each user's own
//! notification subscriptions, and `GET /api/deliveries`: their latest deliveries.

use app::api::NewSubscription;
use axum::extract::rejection::JsonRejection;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;

use super::api::body;
use super::auth::Authed;
use super::error::HttpResult;
use super::AppState;

pub async fn list(State(state): State<AppState>, Authed(caller): Authed) -> HttpResult<Response> {
    Ok(Json(state.service.subscriptions(&caller).await?).into_response())
}

pub async fn create(
    State(state): State<AppState>,
    Authed(caller): Authed,
    new: Result<Json<NewSubscription>, JsonRejection>,
) -> HttpResult<Response> {
    let created = state.service.subscribe(&caller, body(new)?).await?;
    Ok((StatusCode::CREATED, Json(created)).into_response())
}

pub async fn delete(
    State(state): State<AppState>,
    Authed(caller): Authed,
    Path(id): Path<String>,
) -> HttpResult<Response> {
    state.service.unsubscribe(&caller, &id).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

pub async fn deliveries(
    State(state): State<AppState>,
    Authed(caller): Authed,
) -> HttpResult<Response> {
    Ok(Json(state.service.deliveries(&caller).await?).into_response())
}
