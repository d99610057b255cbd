//! The HTTP server: the portal's pages (server-rendered Leptos), its server functions under
//! `/rpc`, the REST API under `/api`, oVirt's Engine API under `/ovirt-engine` (`ovirt`), and
//! the layers every request passes (session, auth, same-origin check, tracing).

mod api;
mod appliance;
mod auth;
mod engine;
mod errata;
mod error;
mod hardening;
mod hosted_engine;
mod instances;
mod json;
mod login;
mod metrics;
mod openapi;
mod ovirt;
mod providers;
mod rolling;
mod serve;
mod sessions;
mod stream;
mod subscriptions;
mod tokens;
mod vms;

use std::sync::Arc;

use app::backend::SharedBackend;
use app::{shell, App};
use axum::extract::FromRef;
use axum::http::{header, HeaderValue};
use axum::routing::{any, get, post};
use axum::Router;
use leptos::prelude::*;
use leptos_axum::{generate_route_list, LeptosRoutes};
use tower_sessions::cookie::SameSite;
use tower_sessions::{Expiry, SessionManagerLayer};
use utoipa::OpenApi;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::service::Service;

pub use json::api_body;
pub use metrics::{HttpMetrics, MetricsError};
pub use ovirt::route_list as ovirt_route_list;
pub use serve::{serve, tls_config};
pub use sessions::Sessions;

/// What every handler can reach.
#[derive(Clone, FromRef)]
pub struct AppState {
    pub leptos_options: LeptosOptions,
    pub service: Service,
    /// Turns true when the server shuts down, so endless responses (the event stream) end.
    pub stopping: tokio::sync::watch::Receiver<bool>,
    /// How long a portal session lasts without use; each use starts it again.
    pub session_idle: SessionIdle,
    /// The portal's sessions (an open event stream checks its own again).
    pub sessions: Sessions,
    /// The counters of HTTP requests `/metrics` reports.
    pub http_metrics: HttpMetrics,
}

/// How long a portal session lasts without use.
#[derive(Clone, Copy, Debug)]
pub struct SessionIdle(pub time::Duration);

/// How the server is reached: over HTTPS (Secure cookies, HSTS), and under which names.
#[derive(Clone, Debug, Default)]
pub struct Exposure {
    pub https: bool,
    pub allowed_hosts: Vec<String>,
}

/// Per portal request: the backend for server functions, and the page's CSP with the nonce
/// Leptos put on its inline scripts.
fn page_context(backend: SharedBackend) -> impl Fn() + Clone + Send + Sync + 'static {
    move || {
        provide_context(backend.clone());
        if let (Some(nonce), Some(response)) = (
            leptos::nonce::use_nonce(),
            use_context::<leptos_axum::ResponseOptions>(),
        ) {
            if let Ok(policy) = HeaderValue::from_str(&hardening::page_policy(&nonce.to_string())) {
                response.insert_header(header::CONTENT_SECURITY_POLICY, policy);
            }
        }
    }
}

/// Builds the whole application router.
pub fn router(state: AppState, exposure: Exposure) -> Router {
    let backend: SharedBackend = Arc::new(state.service.clone());
    let routes = generate_route_list(App);
    let leptos_options = state.leptos_options.clone();
    let context = page_context(backend);
    let settings = hardening::Settings {
        https: exposure.https,
        allowed_hosts: exposure.allowed_hosts.clone(),
    };

    // Every REST route, registered with its OpenAPI description (see `openapi`).
    let (api, mut doc) = OpenApiRouter::with_openapi(openapi::ApiDoc::openapi())
        .routes(routes!(api::about))
        .routes(routes!(openapi::document))
        .routes(routes!(api::hosts))
        .routes(routes!(api::host))
        .routes(routes!(api::host_upgradecheck))
        .routes(routes!(api::host_deactivate))
        .routes(routes!(api::host_activate))
        .routes(routes!(api::host_upgrade))
        .routes(routes!(api::host_reinstall))
        .routes(routes!(hosted_engine::ha_maintenance))
        .routes(routes!(api::clusters))
        .routes(routes!(api::cluster, api::cluster_update))
        .routes(routes!(api::cluster_upgradecheck))
        .routes(routes!(api::jobs))
        .routes(routes!(api::job))
        .routes(routes!(rolling::job_pause))
        .routes(routes!(rolling::job_resume))
        .routes(routes!(rolling::job_cancel))
        .routes(routes!(rolling::upgrade_start))
        .routes(routes!(rolling::upgrade_plan))
        .routes(routes!(api::vms))
        .routes(routes!(vms::vm, vms::vm_update))
        .routes(routes!(vms::vm_placement))
        .routes(routes!(vms::vm_start))
        .routes(routes!(vms::vm_stop))
        .routes(routes!(vms::vm_suspend))
        .routes(routes!(vms::vm_migrate))
        .routes(routes!(api::events))
        .routes(routes!(stream::events_stream))
        .routes(routes!(engine::engine))
        .routes(routes!(engine::engine_updatecheck))
        .routes(routes!(subscriptions::list, subscriptions::create))
        .routes(routes!(subscriptions::delete))
        .routes(routes!(subscriptions::deliveries))
        .routes(routes!(api::config_list))
        .routes(routes!(api::config_get, api::config_put))
        .merge(appliance::routes())
        .merge(tokens::routes())
        .merge(instances::routes())
        .merge(providers::routes())
        .merge(errata::routes())
        .split_for_parts();
    let (uploads, upload_doc) = appliance::upload_routes().split_for_parts();
    doc.merge(upload_doc);
    let doc = Arc::new(doc);
    let api = api
        .merge(openapi::docs_page())
        .route("/api/{*rest}", any(api::not_found));

    let session_layer = SessionManagerLayer::new(state.sessions.clone())
        .with_name("uplift_session")
        .with_http_only(true)
        .with_same_site(SameSite::Lax)
        // Plain HTTP on loopback by default; over TLS, or behind a proxy that serves it, the
        // cookie is only ever sent over HTTPS.
        .with_secure(exposure.https)
        .with_expiry(Expiry::OnInactivity(state.session_idle.0));

    Router::new()
        .merge(api)
        .nest("/ovirt-engine", ovirt::routes())
        .route("/login", post(login::login))
        .route("/logout", post(login::logout))
        .route("/metrics", get(metrics::metrics))
        .leptos_routes_with_context(&state, routes, context.clone(), move || {
            shell(leptos_options.clone())
        })
        // Every body but an upload's is small: refuse a large one before reading it.
        .layer(tower_http::limit::RequestBodyLimitLayer::new(
            hardening::MAX_BODY_BYTES,
        ))
        .layer(axum::middleware::from_fn(hardening::body_limit))
        // Uploads (appliance archives) have their own, larger limit.
        .merge(uploads)
        .fallback(leptos_axum::file_and_error_handler_with_context::<
            AppState,
            _,
        >(context, shell))
        .layer(axum::Extension(doc))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            auth::authenticate,
        ))
        .layer(session_layer)
        .layer(axum::middleware::from_fn(
            hardening::server_fn_bad_arguments,
        ))
        .layer(axum::middleware::from_fn(hardening::same_origin))
        .layer(axum::middleware::from_fn_with_state(
            settings.clone(),
            hardening::allowed_host,
        ))
        .layer(axum::middleware::from_fn_with_state(
            settings,
            hardening::security_headers,
        ))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            instances::instance_header,
        ))
        .layer(tower_http::trace::TraceLayer::new_for_http())
        .layer(axum::middleware::from_fn_with_state(
            state.http_metrics.clone(),
            metrics::track,
        ))
        .with_state(state)
}
