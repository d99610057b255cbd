//! The REST API of one VM: read it, explain its placement, start, stop, suspend, migrate,
//! update.

use app::api::{Caller, Placement, Vm, VmAction, VmMigrate, VmUpdate};
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Response};
use axum::Json;

use super::api::{accepted, Accepted};
use super::auth::{Authed, SignedIn};
use super::error::HttpResult;
use super::json::{ApiJson, OptionalJson};
use super::openapi::Refusals;
use super::AppState;
use crate::service::Actor;

#[utoipa::path(get, path = "/api/vms/{id}", tag = "vms", params(("id" = String, Path, description = "The VM id")), responses((status = 200, description = "The VM", body = Vm), Refusals))]
pub async fn vm(
    State(state): State<AppState>,
    _: SignedIn,
    Path(id): Path<String>,
) -> HttpResult<Response> {
    Ok(Json(state.service.vm_by_id(&id).await?).into_response())
}

#[utoipa::path(get, path = "/api/vms/{id}/placement", tag = "vms", params(("id" = String, Path, description = "The VM id")), responses((status = 200, description = "Where the VM could run, and why not elsewhere", body = Placement), Refusals))]
pub async fn vm_placement(
    State(state): State<AppState>,
    _: SignedIn,
    Path(id): Path<String>,
) -> HttpResult<Response> {
    Ok(Json(state.service.vm_placement(&id).await?).into_response())
}

#[utoipa::path(put, path = "/api/vms/{id}", tag = "vms", params(("id" = String, Path, description = "The VM id")), request_body = VmUpdate, responses((status = 200, description = "The VM as changed", body = Vm), Refusals))]
pub async fn vm_update(
    State(state): State<AppState>,
    Authed(caller): Authed,
    Path(id): Path<String>,
    ApiJson(update): ApiJson<VmUpdate>,
) -> HttpResult<Response> {
    let vm = state
        .service
        .update_vm(Actor::User(&caller), &id, update)
        .await?;
    Ok(Json(vm).into_response())
}

#[utoipa::path(post, path = "/api/vms/{id}/start", tag = "vms", params(("id" = String, Path, description = "The VM id")), responses((status = 200, description = "The VM", body = Vm), Refusals))]
pub async fn vm_start(
    State(state): State<AppState>,
    Authed(caller): Authed,
    Path(id): Path<String>,
) -> HttpResult<Response> {
    act(state, caller, id, VmAction::Start).await
}

#[utoipa::path(post, path = "/api/vms/{id}/stop", tag = "vms", params(("id" = String, Path, description = "The VM id")), responses((status = 200, description = "The VM", body = Vm), Refusals))]
pub async fn vm_stop(
    State(state): State<AppState>,
    Authed(caller): Authed,
    Path(id): Path<String>,
) -> HttpResult<Response> {
    act(state, caller, id, VmAction::Stop).await
}

#[utoipa::path(post, path = "/api/vms/{id}/suspend", tag = "vms", params(("id" = String, Path, description = "The VM id")), responses((status = 200, description = "The VM", body = Vm), Refusals))]
pub async fn vm_suspend(
    State(state): State<AppState>,
    Authed(caller): Authed,
    Path(id): Path<String>,
) -> HttpResult<Response> {
    act(state, caller, id, VmAction::Suspend).await
}

#[utoipa::path(post, path = "/api/vms/{id}/migrate", tag = "vms", params(("id" = String, Path, description = "The VM id")), request_body = Option<VmMigrate>, responses((status = 202, description = "Started: the job that migrates the VM", body = Accepted), Refusals))]
pub async fn vm_migrate(
    State(state): State<AppState>,
    Authed(caller): Authed,
    Path(id): Path<String>,
    OptionalJson(request): OptionalJson<VmMigrate>,
) -> HttpResult<Response> {
    Ok(accepted(
        state
            .service
            .migrate_vm_by_hand(Actor::User(&caller), &id, request)
            .await?,
    ))
}

async fn act(
    state: AppState,
    caller: Caller,
    id: String,
    action: VmAction,
) -> HttpResult<Response> {
    let vm = state
        .service
        .act_on_vm(Actor::User(&caller), &id, action)
        .await?;
    Ok(Json(vm).into_response())
}
