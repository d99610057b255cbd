//! The REST API of hosted engine (SPEC §9): HA maintenance through a host's agent.

use app::api::HaMaintenance;
use axum::extract::{Path, State};
use axum::response::Response;

use super::api::{accepted, Accepted};
use super::auth::Authed;
use super::error::HttpResult;
use super::json::ApiJson;
use super::openapi::Refusals;
use super::AppState;
use crate::service::Actor;

/// `POST /api/hosts/{id}/ha_maintenance` with `{"mode": "local"|"global", "enabled": bool}`:
/// 202 with the job; 409 for a host without hosted engine; 400 for a bad body.
#[utoipa::path(post, path = "/api/hosts/{id}/ha_maintenance", tag = "hosted_engine", params(("id" = String, Path, description = "The host id")), request_body = HaMaintenance, responses((status = 202, description = "Started: the job that does it", body = Accepted), Refusals))]
pub async fn ha_maintenance(
    State(state): State<AppState>,
    Authed(caller): Authed,
    Path(id): Path<String>,
    ApiJson(request): ApiJson<HaMaintenance>,
) -> HttpResult<Response> {
    Ok(accepted(
        state
            .service
            .ha_maintenance(Actor::User(&caller), &id, request)
            .await?,
    ))
}
