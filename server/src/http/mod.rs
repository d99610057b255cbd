//! The HTTP server: the portal's pages (server-rendered Leptos), its server functions under
//! `/rpc`, the REST API under `/api`, and the layers every request passes (session, auth,
//! same-origin check, tracing).

mod api;
mod appliance;
mod auth;
mod engine;
mod error;
mod hosted_engine;
mod login;
mod rolling;
mod stream;
mod subscriptions;
mod vms;

use std::net::SocketAddr;
use std::sync::Arc;

use app::backend::SharedBackend;
use app::{shell, App};
use axum::extract::FromRef;
use axum::routing::{any, get, post};
use axum::Router;
use leptos::prelude::*;
use leptos_axum::{generate_route_list, LeptosRoutes};
use tower_sessions::cookie::SameSite;
use tower_sessions::{Expiry, SessionManagerLayer};
use tower_sessions_sqlx_store::SqliteStore;

use crate::service::Service;

/// What every handler can reach.
#[derive(Clone, FromRef)]
pub struct AppState {
    pub leptos_options: LeptosOptions,
    pub service: Service,
    /// Turns true when the server shuts down, so endless responses (the event stream) end.
    pub stopping: tokio::sync::watch::Receiver<bool>,
}

/// How long a portal session lasts without use.
const SESSION_IDLE: time::Duration = time::Duration::hours(12);

/// Builds the whole application router.
pub fn router(state: AppState, sessions: SqliteStore) -> Router {
    let backend: SharedBackend = Arc::new(state.service.clone());
    let routes = generate_route_list(App);
    let leptos_options = state.leptos_options.clone();

    let api = Router::new()
        .route("/api", get(api::about))
        .route("/api/tokens", post(api::create_token))
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
        .route("/api/{*rest}", any(api::not_found));

    let session_layer = SessionManagerLayer::new(sessions)
        .with_name("uplift_session")
        .with_http_only(true)
        .with_same_site(SameSite::Lax)
        // Uplift serves plain HTTP on loopback by default; behind TLS, a proxy adds Secure.
        .with_secure(false)
        .with_expiry(Expiry::OnInactivity(SESSION_IDLE));

    Router::new()
        .merge(api)
        .route("/login", post(login::login))
        .route("/logout", post(login::logout))
        .leptos_routes_with_context(
            &state,
            routes,
            move || provide_context(backend.clone()),
            move || shell(leptos_options.clone()),
        )
        .fallback(leptos_axum::file_and_error_handler::<AppState, _>(shell))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            auth::authenticate,
        ))
        .layer(session_layer)
        .layer(axum::middleware::from_fn(auth::same_origin))
        .layer(tower_http::trace::TraceLayer::new_for_http())
        .with_state(state)
}

/// Serves until SIGINT or SIGTERM, then ends the event streams and finishes the requests in
/// flight.
pub async fn serve(
    listener: tokio::net::TcpListener,
    app: Router,
    stopping: tokio::sync::watch::Sender<bool>,
) -> std::io::Result<()> {
    axum::serve(
        listener,
        app.into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(async move {
        shutdown_signal().await;
        let _ = stopping.send(true);
    })
    .await
}

async fn shutdown_signal() {
    let interrupt = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = interrupt => {},
        () = terminate => {},
    }
    tracing::info!("shutting down: finishing requests in flight");
}
