//! The REST API of rolling cluster upgrades: the plan preview, the start, and Pause, Resume
//! and Cancel of a run.

use app::api::{Caller, ClusterUpgradeOptions, Job, JobControl, UpgradePlan};
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Response};
use axum::Json;

use super::api::{accepted, Accepted};
use super::auth::{Authed, SignedIn};
use super::error::HttpResult;
use super::json::OptionalJson;
use super::openapi::Refusals;
use super::AppState;
use crate::service::Actor;

#[utoipa::path(post, path = "/api/clusters/{id}/upgrade/plan", tag = "clusters", params(("id" = String, Path, description = "The cluster id")), request_body = Option<ClusterUpgradeOptions>, responses((status = 200, description = "The plan preview; nothing is changed", body = UpgradePlan), Refusals))]
pub async fn upgrade_plan(
    State(state): State<AppState>,
    _: SignedIn,
    Path(id): Path<String>,
    OptionalJson(options): OptionalJson<ClusterUpgradeOptions>,
) -> HttpResult<Response> {
    let plan = state.service.plan_cluster_upgrade(&id, &options).await?;
    Ok(Json(plan).into_response())
}

#[utoipa::path(post, path = "/api/clusters/{id}/upgrade", tag = "clusters", params(("id" = String, Path, description = "The cluster id")), request_body = Option<ClusterUpgradeOptions>, responses((status = 202, description = "Started: the job that does it", body = Accepted), Refusals))]
pub async fn upgrade_start(
    State(state): State<AppState>,
    Authed(caller): Authed,
    Path(id): Path<String>,
    OptionalJson(options): OptionalJson<ClusterUpgradeOptions>,
) -> HttpResult<Response> {
    let job = state
        .service
        .start_cluster_upgrade(Actor::User(&caller), &id, options)
        .await?;
    Ok(accepted(job))
}

async fn control(
    state: AppState,
    caller: Caller,
    id: String,
    control: JobControl,
) -> HttpResult<Response> {
    let job = state
        .service
        .control_job(Actor::User(&caller), &id, control)
        .await?;
    Ok(Json(job).into_response())
}

#[utoipa::path(post, path = "/api/jobs/{id}/pause", tag = "jobs", params(("id" = String, Path, description = "The job id")), responses((status = 200, description = "The run, pausing", body = Job), Refusals))]
pub async fn job_pause(
    State(state): State<AppState>,
    Authed(caller): Authed,
    Path(id): Path<String>,
) -> HttpResult<Response> {
    control(state, caller, id, JobControl::Pause).await
}

#[utoipa::path(post, path = "/api/jobs/{id}/resume", tag = "jobs", params(("id" = String, Path, description = "The job id")), responses((status = 200, description = "The run, going on", body = Job), Refusals))]
pub async fn job_resume(
    State(state): State<AppState>,
    Authed(caller): Authed,
    Path(id): Path<String>,
) -> HttpResult<Response> {
    control(state, caller, id, JobControl::Resume).await
}

#[utoipa::path(post, path = "/api/jobs/{id}/cancel", tag = "jobs", params(("id" = String, Path, description = "The job id")), responses((status = 200, description = "The run, ending", body = Job), Refusals))]
pub async fn job_cancel(
    State(state): State<AppState>,
    Authed(caller): Authed,
    Path(id): Path<String>,
) -> HttpResult<Response> {
    control(state, caller, id, JobControl::Cancel).await
}
