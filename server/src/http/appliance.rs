//! The REST API of the hosted-engine appliance (SPEC §9; seed 003): the engine VM and its
//! storage, backup archives, the preflight, the upgrade and the rollback (jobs), and the
//! backup disks. Viewers read; changes are the service's to allow.

use app::api::{
    ApplianceRollback, ApplianceUpgrade, BackupDiskInfo, HostedEngineInfo, PreflightLine,
    UploadedArchive,
};
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::api::{accepted, Accepted};
use super::auth::Authed;
use super::error::HttpResult;
use super::json::ApiJson;
use super::openapi::Refusals;
use super::AppState;
use crate::service::{Actor, MAX_ARCHIVE_BYTES};

/// This resource's routes, but the upload.
pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(info))
        .routes(routes!(preflight))
        .routes(routes!(upgrade))
        .routes(routes!(rollback))
        .routes(routes!(backups))
        .routes(routes!(delete_backup))
}

/// The archive upload: outside the router's small body limit, with its own.
pub fn upload_routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(upload))
        .layer(DefaultBodyLimit::max(MAX_ARCHIVE_BYTES))
}

#[utoipa::path(get, path = "/api/hosted_engine", tag = "hosted_engine", responses((status = 200, description = "The hosted engine, its storage and its hosts", body = HostedEngineInfo), Refusals))]
async fn info(State(state): State<AppState>, Authed(_): Authed) -> HttpResult<Response> {
    Ok(Json(state.service.hosted_engine_info().await?).into_response())
}

/// The body is the archive itself (`uplift backup create`'s file).
#[utoipa::path(post, path = "/api/hosted_engine/archives", tag = "hosted_engine", request_body(content = Vec<u8>, content_type = "application/octet-stream", description = "An archive made by `uplift backup create`"), responses((status = 201, description = "Stored", body = UploadedArchive), Refusals))]
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

#[utoipa::path(post, path = "/api/hosted_engine/upgrade/preflight", tag = "hosted_engine", request_body = ApplianceUpgrade, responses((status = 200, description = "The checks before an appliance upgrade", body = Vec<PreflightLine>), Refusals))]
async fn preflight(
    State(state): State<AppState>,
    Authed(_): Authed,
    ApiJson(request): ApiJson<ApplianceUpgrade>,
) -> HttpResult<Response> {
    Ok(Json(state.service.appliance_preflight(&request).await?).into_response())
}

#[utoipa::path(post, path = "/api/hosted_engine/upgrade", tag = "hosted_engine", request_body = ApplianceUpgrade, responses((status = 202, description = "Started: the job that does it", body = Accepted), Refusals))]
async fn upgrade(
    State(state): State<AppState>,
    Authed(caller): Authed,
    ApiJson(request): ApiJson<ApplianceUpgrade>,
) -> HttpResult<Response> {
    Ok(accepted(
        state
            .service
            .upgrade_appliance(Actor::User(&caller), &request)
            .await?,
    ))
}

#[utoipa::path(post, path = "/api/hosted_engine/rollback", tag = "hosted_engine", request_body = ApplianceRollback, responses((status = 202, description = "Started: the job that does it", body = Accepted), Refusals))]
async fn rollback(
    State(state): State<AppState>,
    Authed(caller): Authed,
    ApiJson(request): ApiJson<ApplianceRollback>,
) -> HttpResult<Response> {
    Ok(accepted(
        state
            .service
            .rollback_appliance(Actor::User(&caller), &request)
            .await?,
    ))
}

#[utoipa::path(get, path = "/api/hosted_engine/backups", tag = "hosted_engine", responses((status = 200, description = "The engine's backup disks", body = Vec<BackupDiskInfo>), Refusals))]
async fn backups(State(state): State<AppState>, Authed(_): Authed) -> HttpResult<Response> {
    Ok(Json(state.service.hosted_engine_backups().await?).into_response())
}

#[utoipa::path(delete, path = "/api/hosted_engine/backups/{id}", tag = "hosted_engine", params(("id" = String, Path, description = "The backup disk id")), responses((status = 204, description = "Deleted"), Refusals))]
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
