//! `GET /api/hosts/{id}/errata` and `POST /api/hosts/{id}/errata/install` (SPEC §9,
//! issue 21). Thin: the service asks the host's provider and runs the install job.

use app::api::{ErrataInstall, ErrataQuery, Erratum};
use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Response};
use axum::Json;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::api::{accepted, query, Accepted};
use super::auth::{Authed, SignedIn};
use super::error::HttpResult;
use super::json::ApiJson;
use super::openapi::Refusals;
use super::AppState;
use crate::domain::errata::ErrataFilter;
use crate::service::Actor;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list))
        .routes(routes!(install))
}

#[utoipa::path(get, path = "/api/hosts/{id}/errata", tag = "errata", params(("id" = String, Path, description = "The host id"), ErrataQuery), responses((status = 200, description = "The errata the host's provider offers it, newest first", body = Vec<Erratum>), Refusals))]
pub async fn list(
    State(state): State<AppState>,
    _: SignedIn,
    Path(id): Path<String>,
    parsed: Result<Query<ErrataQuery>, QueryRejection>,
) -> HttpResult<Response> {
    let asked = query(parsed)?;
    let filter = ErrataFilter {
        kind: asked.kind,
        severity: asked.severity.filter(|s| !s.trim().is_empty()),
    };
    Ok(Json(state.service.host_errata(&id, &filter).await?).into_response())
}

#[utoipa::path(post, path = "/api/hosts/{id}/errata/install", tag = "errata", params(("id" = String, Path, description = "The host id")), request_body = ErrataInstall, responses((status = 202, description = "Started: the job that does it", body = Accepted), Refusals))]
pub async fn install(
    State(state): State<AppState>,
    Authed(caller): Authed,
    Path(id): Path<String>,
    ApiJson(request): ApiJson<ErrataInstall>,
) -> HttpResult<Response> {
    Ok(accepted(
        state
            .service
            .install_errata(Actor::User(&caller), &id, request)
            .await?,
    ))
}
