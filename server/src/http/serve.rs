//! Serving the router: plain HTTP, or HTTPS with rustls when `uplift serve` is given a
//! certificate and key (so a small site needs no proxy), until SIGINT or SIGTERM.

use std::net::SocketAddr;
use std::path::Path;
use std::time::Duration;

use axum::Router;
use axum_server::tls_rustls::RustlsConfig;

use crate::cli::CliError;

/// How long requests in flight may take to finish after a stop signal, over TLS.
const DRAIN: Duration = Duration::from_secs(30);

/// Reads a PEM certificate chain and private key for HTTPS.
pub async fn tls_config(cert: &Path, key: &Path) -> Result<RustlsConfig, CliError> {
    // reqwest and lettre already use rustls with ring; the server uses the same provider.
    // Installing it twice is harmless (the second call reports the first).
    let _ = rustls::crypto::ring::default_provider().install_default();
    RustlsConfig::from_pem_file(cert, key).await.map_err(|e| {
        CliError::Usage(format!(
            "cannot use the TLS certificate {} with the key {}: {e}",
            cert.display(),
            key.display()
        ))
    })
}

/// Serves until SIGINT or SIGTERM, then ends the event streams and finishes the requests in
/// flight.
pub async fn serve(
    listener: tokio::net::TcpListener,
    app: Router,
    tls: Option<RustlsConfig>,
    stopping: tokio::sync::watch::Sender<bool>,
) -> std::io::Result<()> {
    let service = app.into_make_service_with_connect_info::<SocketAddr>();
    let Some(tls) = tls else {
        return axum::serve(listener, service)
            .with_graceful_shutdown(async move {
                shutdown_signal().await;
                let _ = stopping.send(true);
            })
            .await;
    };
    let handle = axum_server::Handle::new();
    let stop = handle.clone();
    tokio::spawn(async move {
        shutdown_signal().await;
        let _ = stopping.send(true);
        stop.graceful_shutdown(Some(DRAIN));
    });
    axum_server::from_tcp_rustls(listener.into_std()?, tls)
        .handle(handle)
        .serve(service)
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
