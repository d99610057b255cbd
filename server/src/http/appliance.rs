//! The REST API of the hosted-engine appliance (SPEC §9; seed 003): the engine VM and its
//! storage, backup archives, the preflight, the upgrade and the rollback (jobs), and the
//! backup disks. Viewers read; changes are the service's to allow.

use app::api::{ApplianceRollback, ApplianceUpgrade};
use axum::body::Bytes;
use axum::extract::rejection::JsonRejection;
use axum::extract::{DefaultBodyLimit, Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post};
use axum::{Json, Router};

use super::api::{accepted, body};
use super::auth::Authed;
use super::error::HttpResult;
use super::AppState;
use crate::service::{Actor, MAX_ARCHIVE_BYTES};

/// This resource's routes, but the upload.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/hosted_engine", get(info))
        .route("/api/hosted_engine/upgrade/preflight", post(preflight))
        .route("/api/hosted_engine/upgrade", post(upgrade))
        .route("/api/hosted_engine/rollback", post(rollback))
        .route("/api/hosted_engine/backups", get(backups))
        .route("/api/hosted_engine/backups/{id}", delete(delete_backup))
}

/// The archive upload: outside the router's small body limit, with its own.
pub fn upload_routes() -> Router<AppState> {
    Router::new().route(
        "/api/hosted_engine/archives",
        post(upload).layer(DefaultBodyLimit::max(MAX_ARCHIVE_BYTES)),
    )
}

async fn info(State(state): State<AppState>, Authed(_): Authed) -> HttpResult<Response> {
    Ok(Json(state.service.hosted_engine_info().await?).into_response())
}

/// The body is the archive itself (`uplift backup create`'s file).
async fn upload(
    State(state): State<AppState>,
    Authed(caller): Authed,
    bytes: Bytes,
) -> HttpResult<Response> {
    let uploaded = state
        .service
        .upload_archive(Actor::User(&caller), &bytes)
        .await?;
    Ok((StatusCode::CREATED, Json(uploaded)).into_response())
}

async fn preflight(
    State(state): State<AppState>,
    Authed(_): Authed,
    request: Result<Json<ApplianceUpgrade>, JsonRejection>,
) -> HttpResult<Response> {
    let request = body(request)?;
    Ok(Json(state.service.appliance_preflight(&request).await?).into_response())
}

async fn upgrade(
    State(state): State<AppState>,
    Authed(caller): Authed,
    request: Result<Json<ApplianceUpgrade>, JsonRejection>,
) -> HttpResult<Response> {
    let request = body(request)?;
    Ok(accepted(
        state
            .service
            .upgrade_appliance(Actor::User(&caller), &request)
            .await?,
    ))
}

async fn rollback(
    State(state): State<AppState>,
    Authed(caller): Authed,
    request: Result<Json<ApplianceRollback>, JsonRejection>,
) -> HttpResult<Response> {
    let request = body(request)?;
    Ok(accepted(
        state
            .service
            .rollback_appliance(Actor::User(&caller), &request)
            .await?,
    ))
}

async fn backups(State(state): State<AppState>, Authed(_): Authed) -> HttpResult<Response> {
    Ok(Json(state.service.hosted_engine_backups().await?).into_response())
}

async fn delete_backup(
    State(state): State<AppState>,
    Authed(caller): Authed,
    Path(id): Path<String>,
) -> HttpResult<Response> {
    state
        .service
        .delete_hosted_engine_backup(Actor::User(&caller), &id)
        .await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}
