//! `uplift serve`: start-up in the order that keeps failures early and clear — the fleet file
//! is validated before anything is written, then the database, the first admin, the world,
//! the sessions, the listener (bound before any job resumes: an instance that cannot serve
//! must not start work and then exit halfway through a step), the background work, and
//! finally serving. `--addr` may name port 0; the log says the port the system chose.

use std::net::SocketAddr;
use std::path::PathBuf;

use leptos::config::LeptosOptions;
use tower_sessions::session_store::ExpiredDeletion;

use crate::cli::{Cli, CliError, ServeOptions};
use crate::fleet;
use crate::http::{self, AppState, Exposure, SessionIdle};

pub async fn run(cli: &Cli, options: &ServeOptions) -> Result<(), CliError> {
    let (addr, fleet_source) = (options.addr, options.fleet.as_str());
    let fleet = fleet::load(fleet_source)?;
    let service = cli.service_for(Some(&fleet)).await?;

    let given = std::env::var("UPLIFT_ADMIN_PASSWORD")
        .ok()
        .filter(|p| !p.is_empty());
    if let Some(password) = service.bootstrap_admin(given).await? {
        // SPEC §2: a generated first password is printed once, plainly, in the log.
        tracing::warn!("created user admin with password {password} (shown once; change it with `uplift user passwd admin`)");
    }
    if service.load_world(&fleet, fleet_source).await? {
        tracing::info!(fleet = fleet_source, "loaded the fleet into the database");
    } else {
        let source = service.store().world_source().await?.unwrap_or_default();
        tracing::info!(loaded_from = %source, "continuing the world already in the database");
    }

    let sessions = http::Sessions::open(service.store()).await?;
    tokio::spawn(
        sessions
            .clone()
            .continuously_delete_expired(tokio::time::Duration::from_secs(3600)),
    );

    let tls = match (&options.tls_cert, &options.tls_key) {
        (Some(cert), Some(key)) => Some(http::tls_config(cert, key).await?),
        _ => None,
    };
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|e| CliError::Usage(format!("cannot listen on {addr}: {e}")))?;
    let addr = listener
        .local_addr()
        .map_err(|e| CliError::Usage(format!("cannot read the address bound for {addr}: {e}")))?;

    let name = options
        .instance_name
        .clone()
        .unwrap_or_else(crate::service::host_name);
    service.join_instances(&name, &addr.to_string()).await?;
    let resumed = service.resume_jobs().await?;
    if resumed > 0 {
        tracing::info!(jobs = resumed, "resumed the jobs no running instance holds");
    }
    service.start_hub().await?;
    tokio::spawn(service.store().clone().listen_for_changes());
    tokio::spawn(service.clone().run_hub());

    let service_for_leave = service.clone();
    let (stop, stopping) = tokio::sync::watch::channel(false);
    let state = AppState {
        leptos_options: leptos_options(addr)?,
        service,
        stopping,
        session_idle: SessionIdle(time::Duration::seconds(
            i64::try_from(options.session_idle_seconds).unwrap_or(i64::MAX),
        )),
        sessions,
        http_metrics: http::HttpMetrics::new()?,
    };
    let exposure = Exposure {
        https: options.https(),
        allowed_hosts: options.allowed_hosts.clone(),
    };
    let app = http::router(state, exposure);
    let scheme = if tls.is_some() { "https" } else { "http" };
    tracing::info!("Uplift is listening on {scheme}://{addr}");
    let served = http::serve(listener, app, tls, stop).await;
    service_for_leave.leave_instances().await;
    served?;
    Ok(())
}

/// Leptos' settings. The site root (the compiled WASM, JS and CSS) is `LEPTOS_SITE_ROOT` when
/// set (cargo-leptos sets it), else `target/site` under the working directory, else `site`
/// beside the binary's build directory, so `target/release/uplift serve` works from anywhere.
fn leptos_options(addr: SocketAddr) -> Result<LeptosOptions, CliError> {
    let mut options = leptos::config::get_configuration(None)
        .map_err(|e| CliError::Usage(format!("Leptos configuration: {e}")))?
        .leptos_options;
    options.site_addr = addr;
    if std::env::var_os("LEPTOS_SITE_ROOT").is_none() {
        let beside_binary = std::env::current_exe()
            .ok()
            .and_then(|exe| Some(exe.parent()?.parent()?.join("site")));
        let root = [Some(PathBuf::from("target/site")), beside_binary]
            .into_iter()
            .flatten()
            .find(|dir| dir.join("pkg").is_dir());
        match root {
            Some(root) => options.site_root = root.display().to_string().into(),
            None => tracing::warn!(
                "no compiled site found (run `cargo leptos build`); pages will not hydrate"
            ),
        }
    }
    Ok(options)
}
