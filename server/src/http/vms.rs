//! The REST API of one VM: read it, explain its placement, start, stop, suspend, update.

use app::api::{Caller, VmUpdate};
use axum::extract::rejection::JsonRejection;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Response};
use axum::Json;

use super::api::body;
use super::auth::{Authed, SignedIn};
use super::error::HttpResult;
use super::AppState;
use crate::fleet::driver::VmPower;
use crate::service::Actor;

pub async fn vm(
    State(state): State<AppState>,
    _: SignedIn,
    Path(id): Path<String>,
) -> HttpResult<Response> {
    Ok(Json(state.service.vm_by_id(&id).await?).into_response())
}

pub async fn vm_placement(
    State(state): State<AppState>,
    _: SignedIn,
    Path(id): Path<String>,
) -> HttpResult<Response> {
    Ok(Json(state.service.vm_placement(&id).await?).into_response())
}

pub async fn vm_update(
    State(state): State<AppState>,
    Authed(caller): Authed,
    Path(id): Path<String>,
    update: Result<Json<VmUpdate>, JsonRejection>,
) -> HttpResult<Response> {
    let update = body(update)?;
    let vm = state
        .service
        .update_vm(Actor::User(&caller), &id, update)
        .await?;
    Ok(Json(vm).into_response())
}

pub async fn vm_start(
    State(state): State<AppState>,
    Authed(caller): Authed,
    Path(id): Path<String>,
) -> HttpResult<Response> {
    let vm = state.service.start_vm(Actor::User(&caller), &id).await?;
    Ok(Json(vm).into_response())
}

pub async fn vm_stop(
    State(state): State<AppState>,
    Authed(caller): Authed,
    Path(id): Path<String>,
) -> HttpResult<Response> {
    power_off(state, caller, id, VmPower::Stop).await
}

pub async fn vm_suspend(
    State(state): State<AppState>,
    Authed(caller): Authed,
    Path(id): Path<String>,
) -> HttpResult<Response> {
    power_off(state, caller, id, VmPower::Suspend).await
}

async fn power_off(
    state: AppState,
    caller: Caller,
    id: String,
    action: VmPower,
) -> HttpResult<Response> {
    let vm = state
        .service
        .stop_vm(Actor::User(&caller), &id, action)
        .await?;
    Ok(Json(vm).into_response())
}
