//! The REST API of SPEC §4: thin handlers that parse, call the service and serialize.

use app::api::{
    About, Cluster, ConfigEntry, Event, EventQuery, Host, HostQuery, HostReinstall, Job, Vm,
    VmQuery,
};
use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderMap, HeaderName, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::{Deserialize, Serialize};

use super::auth::{Authed, SignedIn};
use super::error::{HttpError, HttpResult};
use super::json::{ApiJson, OptionalJson};
use super::openapi::Refusals;
use super::AppState;
use crate::service::{Actor, ClusterUpdate, ServiceError, UpgradeOptions};

#[utoipa::path(get, path = "/api", tag = "meta", security(()), responses((status = 200, description = "The product and its version", body = About), Refusals))]
pub async fn about(State(state): State<AppState>) -> Json<About> {
    Json(About {
        product: "Uplift".to_string(),
        version: env!("CARGO_PKG_VERSION").to_string(),
        instance: state.service.instance_name(),
    })
}

/// A query string that does not parse is the client's mistake: say which, as JSON.
pub(super) fn query<T>(parsed: Result<Query<T>, QueryRejection>) -> HttpResult<T> {
    parsed
        .map(|Query(q)| q)
        .map_err(|e| HttpError::new(StatusCode::BAD_REQUEST, "bad_query", e.body_text()))
}

/// Whether the client asked for XML rather than JSON.
fn wants_xml(headers: &HeaderMap) -> bool {
    headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|accept| {
            accept.contains("application/xml") && !accept.contains("application/json")
        })
}

fn xml<T: Serialize>(root: &str, value: &T) -> HttpResult<Response> {
    let text = quick_xml::se::to_string_with_root(root, value).map_err(|e| {
        HttpError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "xml_error",
            format!("cannot write XML: {e}"),
        )
    })?;
    Ok((
        [(header::CONTENT_TYPE, "application/xml")],
        format!("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n{text}"),
    )
        .into_response())
}

/// The hosts list in XML: `<hosts><host>…</host>…</hosts>`.
#[derive(Serialize)]
struct HostList<'a> {
    host: &'a [Host],
}

/// Bytes a listed item takes in JSON, about (a host is 420): the body is sized once.
const ITEM_BYTES: usize = 512;

/// A paged list: the items as a plain array, the total in `X-Total-Count`. Serialized into one
/// buffer sized for the list (growing a 4 MiB body by doubling copied it twice over and
/// faulted in every new page).
fn list<T: Serialize>(items: Vec<T>, total: u64) -> HttpResult<Response> {
    let mut body = Vec::with_capacity(items.len().saturating_mul(ITEM_BYTES).max(64));
    serde_json::to_writer(&mut body, &items).map_err(|error| {
        ServiceError::Internal(format!("The list could not be written as JSON: {error}"))
    })?;
    Ok((
        [
            (
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/json"),
            ),
            (
                HeaderName::from_static("x-total-count"),
                HeaderValue::from(total),
            ),
        ],
        body,
    )
        .into_response())
}

#[utoipa::path(get, path = "/api/hosts", tag = "hosts", params(HostQuery), responses((status = 200, description = "Hosts; the whole count in X-Total-Count (as XML with Accept: application/xml)", content((Vec<Host> = "application/json"), (String = "application/xml")), headers(("x-total-count" = u64, description = "How many there are in all"))), Refusals))]
pub async fn hosts(
    State(state): State<AppState>,
    _: SignedIn,
    headers: HeaderMap,
    q: Result<Query<HostQuery>, QueryRejection>,
) -> HttpResult<Response> {
    let page = state.service.host_page(&query(q)?).await?;
    if wants_xml(&headers) {
        return xml("hosts", &HostList { host: &page.items });
    }
    list(page.items, page.total)
}

#[utoipa::path(get, path = "/api/hosts/{id}", tag = "hosts", params(("id" = String, Path, description = "The host id")), responses((status = 200, description = "The host (as XML with Accept: application/xml)", content((Host = "application/json"), (String = "application/xml"))), Refusals))]
pub async fn host(
    State(state): State<AppState>,
    _: SignedIn,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> HttpResult<Response> {
    let host = state.service.host_by_id(&id).await?;
    if wants_xml(&headers) {
        return xml("host", &host);
    }
    Ok(Json(host).into_response())
}

#[utoipa::path(get, path = "/api/clusters", tag = "clusters", responses((status = 200, description = "Every cluster", body = Vec<Cluster>), Refusals))]
pub async fn clusters(State(state): State<AppState>, _: SignedIn) -> HttpResult<Response> {
    Ok(Json(state.service.cluster_list().await?).into_response())
}

#[utoipa::path(get, path = "/api/clusters/{id}", tag = "clusters", params(("id" = String, Path, description = "The cluster id")), responses((status = 200, description = "The cluster", body = Cluster), Refusals))]
pub async fn cluster(
    State(state): State<AppState>,
    _: SignedIn,
    Path(id): Path<String>,
) -> HttpResult<Response> {
    Ok(Json(state.service.cluster_by_id(&id).await?).into_response())
}

#[utoipa::path(get, path = "/api/vms", tag = "vms", params(VmQuery), responses((status = 200, description = "VMs; the whole count in X-Total-Count", body = Vec<Vm>, headers(("x-total-count" = u64, description = "How many there are in all"))), Refusals))]
pub async fn vms(
    State(state): State<AppState>,
    _: SignedIn,
    q: Result<Query<VmQuery>, QueryRejection>,
) -> HttpResult<Response> {
    let page = state.service.vm_page(&query(q)?).await?;
    list(page.items, page.total)
}

#[utoipa::path(get, path = "/api/events", tag = "events", params(EventQuery), responses((status = 200, description = "Events, newest first; the whole count in X-Total-Count", body = Vec<Event>, headers(("x-total-count" = u64, description = "How many there are in all"))), Refusals))]
pub async fn events(
    State(state): State<AppState>,
    _: SignedIn,
    q: Result<Query<EventQuery>, QueryRejection>,
) -> HttpResult<Response> {
    let page = state.service.event_page(&query(q)?).await?;
    list(page.items, page.total)
}

#[utoipa::path(get, path = "/api/config", tag = "config", responses((status = 200, description = "Every configuration value", body = Vec<ConfigEntry>), Refusals))]
pub async fn config_list(State(state): State<AppState>, _: SignedIn) -> HttpResult<Response> {
    Ok(Json(state.service.config_list().await?).into_response())
}

#[utoipa::path(get, path = "/api/config/{name}", tag = "config", params(("name" = String, Path, description = "A configuration value's name")), responses((status = 200, description = "The value", body = ConfigEntry), Refusals))]
pub async fn config_get(
    State(state): State<AppState>,
    _: SignedIn,
    Path(name): Path<String>,
) -> HttpResult<Response> {
    Ok(Json(state.service.config_get(&name).await?).into_response())
}

#[derive(Deserialize, utoipa::ToSchema)]
pub struct ConfigUpdate {
    value: String,
}

#[utoipa::path(put, path = "/api/config/{name}", tag = "config", params(("name" = String, Path, description = "A configuration value's name")), request_body = ConfigUpdate, responses((status = 200, description = "The value as stored", body = ConfigEntry), Refusals))]
pub async fn config_put(
    State(state): State<AppState>,
    Authed(caller): Authed,
    Path(name): Path<String>,
    ApiJson(update): ApiJson<ConfigUpdate>,
) -> HttpResult<Response> {
    let entry = state
        .service
        .config_set(Actor::User(&caller), &name, &update.value)
        .await?;
    Ok(Json(entry).into_response())
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct Accepted {
    job: Job,
}

/// 202 with the job that does the work (SPEC §4).
pub(super) fn accepted(job: Job) -> Response {
    (StatusCode::ACCEPTED, Json(Accepted { job })).into_response()
}

#[utoipa::path(post, path = "/api/hosts/{id}/upgradecheck", tag = "hosts", params(("id" = String, Path, description = "The host id")), responses((status = 202, description = "Started: the job that does it", body = Accepted), Refusals))]
pub async fn host_upgradecheck(
    State(state): State<AppState>,
    Authed(caller): Authed,
    Path(id): Path<String>,
) -> HttpResult<Response> {
    Ok(accepted(
        state.service.check_host(Actor::User(&caller), &id).await?,
    ))
}

#[utoipa::path(put, path = "/api/clusters/{id}", tag = "clusters", params(("id" = String, Path, description = "The cluster id")), request_body = ClusterUpdate, responses((status = 200, description = "The cluster as changed", body = Cluster), Refusals))]
pub async fn cluster_update(
    State(state): State<AppState>,
    Authed(caller): Authed,
    Path(id): Path<String>,
    ApiJson(update): ApiJson<ClusterUpdate>,
) -> HttpResult<Response> {
    let cluster = state
        .service
        .update_cluster(Actor::User(&caller), &id, update)
        .await?;
    Ok(Json(cluster).into_response())
}

#[utoipa::path(post, path = "/api/clusters/{id}/upgradecheck", tag = "clusters", params(("id" = String, Path, description = "The cluster id")), responses((status = 202, description = "Started: the job that does it", body = Accepted), Refusals))]
pub async fn cluster_upgradecheck(
    State(state): State<AppState>,
    Authed(caller): Authed,
    Path(id): Path<String>,
) -> HttpResult<Response> {
    Ok(accepted(
        state
            .service
            .check_cluster(Actor::User(&caller), &id)
            .await?,
    ))
}

#[utoipa::path(post, path = "/api/hosts/{id}/deactivate", tag = "hosts", params(("id" = String, Path, description = "The host id")), responses((status = 202, description = "Started: the job that does it", body = Accepted), Refusals))]
pub async fn host_deactivate(
    State(state): State<AppState>,
    Authed(caller): Authed,
    Path(id): Path<String>,
) -> HttpResult<Response> {
    Ok(accepted(
        state
            .service
            .deactivate_host(Actor::User(&caller), &id)
            .await?,
    ))
}

#[utoipa::path(post, path = "/api/hosts/{id}/activate", tag = "hosts", params(("id" = String, Path, description = "The host id")), responses((status = 202, description = "Started: the job that does it", body = Accepted), Refusals))]
pub async fn host_activate(
    State(state): State<AppState>,
    Authed(caller): Authed,
    Path(id): Path<String>,
) -> HttpResult<Response> {
    Ok(accepted(
        state
            .service
            .activate_host(Actor::User(&caller), &id)
            .await?,
    ))
}

#[utoipa::path(post, path = "/api/hosts/{id}/upgrade", tag = "hosts", params(("id" = String, Path, description = "The host id")), request_body = Option<UpgradeOptions>, responses((status = 202, description = "Started: the job that does it", body = Accepted), Refusals))]
pub async fn host_upgrade(
    State(state): State<AppState>,
    Authed(caller): Authed,
    Path(id): Path<String>,
    OptionalJson(options): OptionalJson<UpgradeOptions>,
) -> HttpResult<Response> {
    Ok(accepted(
        state
            .service
            .upgrade_host(Actor::User(&caller), &id, options)
            .await?,
    ))
}

#[utoipa::path(post, path = "/api/hosts/{id}/reinstall", tag = "hosts", params(("id" = String, Path, description = "The host id")), request_body = Option<HostReinstall>, responses((status = 202, description = "Started: the job that does it", body = Accepted), Refusals))]
pub async fn host_reinstall(
    State(state): State<AppState>,
    Authed(caller): Authed,
    Path(id): Path<String>,
    OptionalJson(request): OptionalJson<HostReinstall>,
) -> HttpResult<Response> {
    Ok(accepted(
        state
            .service
            .reinstall_host(Actor::User(&caller), &id, request)
            .await?,
    ))
}

#[utoipa::path(get, path = "/api/jobs", tag = "jobs", responses((status = 200, description = "The latest jobs", body = Vec<Job>), Refusals))]
pub async fn jobs(State(state): State<AppState>, _: SignedIn) -> HttpResult<Response> {
    Ok(Json(state.service.recent_jobs().await?).into_response())
}

#[utoipa::path(get, path = "/api/jobs/{id}", tag = "jobs", params(("id" = String, Path, description = "The job id")), responses((status = 200, description = "The job with its steps", body = Job), Refusals))]
pub async fn job(
    State(state): State<AppState>,
    _: SignedIn,
    Path(id): Path<String>,
) -> HttpResult<Response> {
    Ok(Json(state.service.job_by_id(&id).await?).into_response())
}

pub async fn not_found() -> HttpError {
    HttpError::new(
        StatusCode::NOT_FOUND,
        "not_found",
        "There is no such API endpoint.",
    )
}
