//! The HTTP server: the portal's pages (server-rendered Leptos), its server functions under
//! `/rpc`, the REST API under `/api`, and the layers every request passes (session, auth,
//! same-origin check, tracing).

mod api;
mod appliance;
mod auth;
mod engine;
mod error;
mod hardening;
mod hosted_engine;
mod login;
mod rolling;
mod serve;
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
use tower_sessions_sqlx_store::SqliteStore;

use crate::service::Service;

pub use serve::{serve, tls_config};

/// What every handler can reach.
#[derive(Clone, FromRef)]
pub struct AppState {
    pub leptos_options: LeptosOptions,
    pub service: Service,
    /// Turns true when the server shuts down, so endless responses (the event stream) end.
    pub stopping: tokio::sync::watch::Receiver<bool>,
    /// How long a portal session lasts without use; each use starts it again.
    pub session_idle: SessionIdle,
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
pub fn router(state: AppState, sessions: SqliteStore, exposure: Exposure) -> Router {
    let backend: SharedBackend = Arc::new(state.service.clone());
    let routes = generate_route_list(App);
    let leptos_options = state.leptos_options.clone();
    let context = page_context(backend);
    let settings = hardening::Settings {
        https: exposure.https,
        allowed_hosts: exposure.allowed_hosts.clone(),
    };

    let api = Router::new()
        .route("/api", get(api::about))
        .route("/api/hosts", get(api::hosts))
        .route("/api/hosts/{id}", get(api::host))
        .route("/api/hosts/{id}/upgradecheck", post(api::host_upgradecheck))
        .route("/api/hosts/{id}/deactivate", post(api::host_deactivate))
        .route("/api/hosts/{id}/activate", post(api::host_activate))
        .route("/api/hosts/{id}/upgrade", post(api::host_upgrade))
        .route(
            "/api/hosts/{id}/ha_maintenance",
            post(hosted_engine::ha_maintenance),
        )
        .route("/api/clusters", get(api::clusters))
        .route(
            "/api/clusters/{id}",
            get(api::cluster).put(api::cluster_update),
        )
        .route(
            "/api/clusters/{id}/upgradecheck",
            post(api::cluster_upgradecheck),
        )
        .route("/api/jobs", get(api::jobs))
        .route("/api/jobs/{id}", get(api::job))
        .route("/api/jobs/{id}/pause", post(rolling::job_pause))
        .route("/api/jobs/{id}/resume", post(rolling::job_resume))
        .route("/api/jobs/{id}/cancel", post(rolling::job_cancel))
        .route("/api/clusters/{id}/upgrade", post(rolling::upgrade_start))
        .route(
            "/api/clusters/{id}/upgrade/plan",
            post(rolling::upgrade_plan),
        )
        .route("/api/vms", get(api::vms))
        .route("/api/vms/{id}", get(vms::vm).put(vms::vm_update))
        .route("/api/vms/{id}/placement", get(vms::vm_placement))
        .route("/api/vms/{id}/start", post(vms::vm_start))
        .route("/api/vms/{id}/stop", post(vms::vm_stop))
        .route("/api/vms/{id}/suspend", post(vms::vm_suspend))
        .route("/api/events", get(api::events))
        .route("/api/engine", get(engine::engine))
        .route(
            "/api/subscriptions",
            get(subscriptions::list).post(subscriptions::create),
        )
        .route(
            "/api/subscriptions/{id}",
            axum::routing::delete(subscriptions::delete),
        )
        .route("/api/deliveries", get(subscriptions::deliveries))
        .route("/api/engine/updatecheck", post(engine::engine_updatecheck))
        .route("/api/events/stream", get(stream::events_stream))
        .route("/api/config", get(api::config_list))
        .route(
            "/api/config/{name}",
            get(api::config_get).put(api::config_put),
        )
        .merge(appliance::routes())
        .merge(tokens::routes())
        .route("/api/{*rest}", any(api::not_found));

    let session_layer = SessionManagerLayer::new(sessions)
        .with_name("uplift_session")
        .with_http_only(true)
        .with_same_site(SameSite::Lax)
        // Plain HTTP on loopback by default; over TLS, or behind a proxy that serves it, the
        // cookie is only ever sent over HTTPS.
        .with_secure(exposure.https)
        .with_expiry(Expiry::OnInactivity(state.session_idle.0));

    Router::new()
        .merge(api)
        .route("/login", post(login::login))
        .route("/logout", post(login::logout))
        .leptos_routes_with_context(&state, routes, context.clone(), move || {
            shell(leptos_options.clone())
        })
        // Every body but an upload's is small: refuse a large one before reading it.
        .layer(tower_http::limit::RequestBodyLimitLayer::new(
            hardening::MAX_BODY_BYTES,
        ))
        .layer(axum::middleware::from_fn(hardening::body_limit))
        // Uploads (appliance archives) have their own, larger limit.
        .merge(appliance::upload_routes())
        .fallback(leptos_axum::file_and_error_handler_with_context::<
            AppState,
            _,
        >(context, shell))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            auth::authenticate,
        ))
        .layer(session_layer)
        .layer(axum::middleware::from_fn(hardening::same_origin))
        .layer(axum::middleware::from_fn_with_state(
            settings.clone(),
            hardening::allowed_host,
        ))
        .layer(axum::middleware::from_fn_with_state(
            settings,
            hardening::security_headers,
        ))
        .layer(tower_http::trace::TraceLayer::new_for_http())
        .with_state(state)
}
