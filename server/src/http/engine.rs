//! `GET /api/engine` and `POST /api/engine/updatecheck` (SPEC §4, §6).

use app::api::EngineStatus;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use axum::Json;

use super::auth::{Authed, SignedIn};
use super::error::HttpResult;
use super::openapi::Refusals;
use super::AppState;
use crate::service::Actor;

#[utoipa::path(get, path = "/api/engine", tag = "engine", responses((status = 200, description = "The engine's version and update", body = EngineStatus), Refusals))]
pub async fn engine(State(state): State<AppState>, _: SignedIn) -> HttpResult<Response> {
    Ok(Json(state.service.engine_status().await?).into_response())
}

/// Checks now and answers with the result (a feed answers within its timeout).
#[utoipa::path(post, path = "/api/engine/updatecheck", tag = "engine", responses((status = 200, description = "The answer of the check", body = EngineStatus), Refusals))]
pub async fn engine_updatecheck(
    State(state): State<AppState>,
    Authed(caller): Authed,
) -> HttpResult<Response> {
    let status = state.service.check_engine(Actor::User(&caller)).await?;
    Ok(Json(status).into_response())
}
