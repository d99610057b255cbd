//! `GET /api/instances`: the Uplift instances sharing this database, their last heartbeat and
//! the work each holds (issue 22). Every answer also names the instance that gave it in the
//! `X-Uplift-Instance` header (`instance_header`), which helps behind a load balancer.

use app::api::Instance;
use axum::extract::{Request, State};
use axum::http::HeaderValue;
use axum::middleware::Next;
use axum::response::Response;
use axum::Json;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::auth::Authed;
use super::error::HttpResult;
use super::openapi::Refusals;
use super::AppState;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(list))
}

#[utoipa::path(get, path = "/api/instances", tag = "meta", responses((status = 200, description = "The instances on this database, the one answering marked `this`", body = [Instance]), Refusals))]
pub async fn list(
    State(state): State<AppState>,
    _caller: Authed,
) -> HttpResult<Json<Vec<Instance>>> {
    Ok(Json(state.service.instances().await?))
}

/// Names the answering instance on every response.
pub async fn instance_header(
    State(state): State<AppState>,
    request: Request,
    next: Next,
) -> Response {
    let mut response = next.run(request).await;
    if let Ok(name) = HeaderValue::from_str(&state.service.instance_name()) {
        response.headers_mut().insert("x-uplift-instance", name);
    }
    response
}
