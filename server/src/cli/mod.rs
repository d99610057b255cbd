//! The `uplift` command line (SPEC §2). Every command finds the database the same way, so the
//! CLI and a running server share one state.

use std::io::BufRead;
use std::net::SocketAddr;
use std::path::PathBuf;

use app::api::Role;
use clap::{Parser, Subcommand, ValueEnum};

use crate::backup::BackupError;
use crate::fleet::{self, generate, FailMode, FleetError};
use crate::service::{Actor, Service, ServiceError};
use crate::store::{Store, StoreError};
use crate::workflow::{Faults, SystemClock};

pub mod db;
mod hosted_engine;
mod world;

pub use hosted_engine::{run_hosted_engine, HaModeArg, HostedEngineCommand};
pub use world::run_host;

#[derive(Debug, Parser)]
#[command(
    name = "uplift",
    version,
    about = "Upgrade manager for virtualization clusters"
)]
pub struct Cli {
    /// Directory for Uplift's data (the SQLite database lives here by default).
    #[arg(
        long,
        global = true,
        env = "UPLIFT_DATA_DIR",
        default_value = "uplift-data"
    )]
    pub data_dir: PathBuf,
    /// Database URL; defaults to sqlite://DATA_DIR/uplift.db.
    #[arg(long, global = true, env = "UPLIFT_DB")]
    pub db: Option<String>,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the portal and the REST API.
    Serve(ServeOptions),
    /// Manage users.
    #[command(subcommand)]
    User(UserCommand),
    /// Work with fleet files.
    #[command(subcommand)]
    Fleet(FleetCommand),
    /// Read and change configuration values (like oVirt's engine-config).
    #[command(subcommand)]
    Config(ConfigCommand),
    /// Control the simulated datacenter (the `sim` driver) for demos and tests.
    #[command(subcommand)]
    Sim(SimCommand),
    /// The hosted engine's HA agents, as on a hosted-engine host (seed 004).
    #[command(subcommand, name = "hosted-engine")]
    HostedEngine(HostedEngineCommand),
    /// Back up Uplift's own state, check an archive, or restore one into an empty data dir.
    #[command(subcommand)]
    Backup(BackupCommand),
    /// Real hosts (the `ssh` driver): their pinned keys and Uplift's own key.
    #[command(subcommand)]
    Host(world::HostCommand),
    /// Move an installation to another database (`db copy`).
    #[command(subcommand)]
    Db(db::DbCommand),
    /// Exit 0 and print the version when an engine update is available, otherwise exit 1.
    #[command(name = "engine-upgrade-check")]
    EngineUpgradeCheck {
        /// Check now instead of reporting the last check's answer.
        #[arg(long)]
        now: bool,
    },
}

#[derive(Debug, Subcommand)]
pub enum BackupCommand {
    /// Write a consistent copy of the database (a server may run on it) and its manifest.
    Create {
        #[arg(long)]
        file: PathBuf,
    },
    /// Say whether an archive is sane, and what it holds.
    Verify { file: PathBuf },
    /// Fill an empty data dir (or a database file that does not exist yet) from an archive.
    Restore { file: PathBuf },
}

#[derive(Debug, Subcommand)]
pub enum SimCommand {
    /// Make a simulated host fail at a step from now on (`none` repairs it).
    Fail {
        host: String,
        #[arg(value_enum)]
        mode: FailMode,
    },
    /// List where the simulated hypervisors run each VM: name, host (or -), status.
    Vms,
    /// List the simulated content provider's install tasks: id, host, state, errata.
    Tasks,
}

#[derive(Debug, Subcommand)]
pub enum ConfigCommand {
    /// List every value (-l).
    #[command(short_flag = 'l')]
    List,
    /// Print one value (-g NAME).
    #[command(short_flag = 'g')]
    Get { name: String },
    /// Set a value (-s NAME=VALUE).
    #[command(short_flag = 's')]
    Set { assignment: String },
    /// Add comma-separated items to a list value, without duplicates (-m NAME=VALUE).
    #[command(short_flag = 'm')]
    Merge { assignment: String },
}

/// `uplift serve`'s options.
#[derive(Debug, Clone, clap::Args)]
pub struct ServeOptions {
    /// Address to listen on.
    #[arg(long, env = "UPLIFT_ADDR", default_value = "127.0.0.1:3000")]
    pub addr: SocketAddr,
    /// Fleet file for the simulated datacenter, or `demo` for the built-in one.
    #[arg(long, env = "UPLIFT_FLEET", default_value = "demo")]
    pub fleet: String,
    /// Serve HTTPS with this certificate chain (PEM); needs --tls-key.
    #[arg(long, env = "UPLIFT_TLS_CERT", requires = "tls_key")]
    pub tls_cert: Option<PathBuf>,
    /// The private key (PEM) of --tls-cert.
    #[arg(long, env = "UPLIFT_TLS_KEY", requires = "tls_cert")]
    pub tls_key: Option<PathBuf>,
    /// Mark the session cookie Secure: Uplift is behind a proxy that serves HTTPS (implied by
    /// --tls-cert).
    #[arg(long, env = "UPLIFT_SECURE_COOKIES")]
    pub secure_cookies: bool,
    /// Host names requests may be addressed to (any port), comma separated; others are
    /// refused (DNS rebinding). Empty: any.
    #[arg(long, env = "UPLIFT_ALLOWED_HOSTS", value_delimiter = ',')]
    pub allowed_hosts: Vec<String>,
    /// How long a portal session lasts without use, in seconds.
    #[arg(long, env = "UPLIFT_SESSION_IDLE_SECONDS", default_value_t = 12 * 3600,
          value_parser = clap::value_parser!(u64).range(5..=2_592_000))]
    pub session_idle_seconds: u64,
    /// This instance's name among the instances sharing one PostgreSQL database (default: the
    /// machine's host name). A restarted instance of the same name takes over at once what
    /// its earlier process held; give each instance its own name.
    #[arg(long, env = "UPLIFT_INSTANCE_NAME")]
    pub instance_name: Option<String>,
}

impl ServeOptions {
    /// Whether browsers reach Uplift over HTTPS (so cookies are Secure and HSTS is sent).
    pub fn https(&self) -> bool {
        self.secure_cookies || self.tls_cert.is_some()
    }
}

#[derive(Debug, Subcommand)]
pub enum UserCommand {
    /// Add a user; the password comes from UPLIFT_USER_PASSWORD or one line on stdin.
    Add {
        name: String,
        #[arg(long, value_enum)]
        role: RoleArg,
    },
    /// List users.
    List,
    /// Set a user's password (from UPLIFT_USER_PASSWORD or one line on stdin).
    Passwd { name: String },
    /// End every API token of a user (their sessions end with `passwd`).
    #[command(name = "revoke-tokens")]
    RevokeTokens { name: String },
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum RoleArg {
    Admin,
    Viewer,
}

impl From<RoleArg> for Role {
    fn from(role: RoleArg) -> Self {
        match role {
            RoleArg::Admin => Role::Admin,
            RoleArg::Viewer => Role::Viewer,
        }
    }
}

#[derive(Debug, Subcommand)]
pub enum FleetCommand {
    /// Write a generated fleet file to stdout.
    Generate {
        #[arg(long)]
        clusters: usize,
        #[arg(long)]
        hosts: usize,
        #[arg(long)]
        vms: usize,
        #[arg(long, default_value_t = 1)]
        seed: u64,
        /// The most of a host's memory VMs fill, in percent: with enough VMs, the load.
        #[arg(long, default_value_t = generate::DEFAULT_FILL_PERCENT,
              value_parser = clap::value_parser!(u32).range(10..=90))]
        fill: u32,
    },
}

/// Why a command failed; each kind has its exit code.
#[derive(Debug, thiserror::Error)]
pub enum CliError {
    /// Bad input from the user (exit 2).
    #[error("{0}")]
    Usage(String),
    #[error("{0}")]
    Fleet(#[from] FleetError),
    #[error("{0}")]
    Service(#[from] ServiceError),
    #[error("{0}")]
    Store(#[from] StoreError),
    #[error("{0}")]
    Io(#[from] std::io::Error),
    #[error("{0}")]
    Backup(#[from] BackupError),
    #[error("{0}")]
    Metrics(#[from] crate::http::MetricsError),
}

impl CliError {
    pub fn exit_code(&self) -> i32 {
        match self {
            CliError::Usage(_) | CliError::Fleet(_) => 2,
            CliError::Service(ServiceError::Invalid { .. } | ServiceError::NotFound(_)) => 2,
            CliError::Backup(
                BackupError::Exists(_)
                | BackupError::NotEmpty(_)
                | BackupError::Store(StoreError::NotEmpty(_)),
            ) => 2,
            CliError::Store(StoreError::NotEmpty(_) | StoreError::UnsupportedUrl(_)) => 2,
            _ => 1,
        }
    }
}

impl Cli {
    pub fn database_url(&self) -> String {
        self.db
            .clone()
            .unwrap_or_else(|| format!("sqlite://{}/uplift.db", self.data_dir.display()))
    }

    /// Opens the database (creating the data dir) and the service over it.
    pub async fn service(&self) -> Result<Service, CliError> {
        self.service_for(None).await
    }

    /// The service, with the driver of `fleet` when the database holds no datacenter yet.
    pub async fn service_for(&self, fleet: Option<&fleet::FleetFile>) -> Result<Service, CliError> {
        // Made whichever the database: it holds Uplift's own SSH key too.
        private_dir(&self.data_dir).map_err(|e| {
            CliError::Usage(format!(
                "cannot create the data dir {}: {e}",
                self.data_dir.display()
            ))
        })?;
        let store = Store::open(&self.database_url()).await?;
        let driver = world::driver(&store, &self.data_dir, fleet).await?;
        // Faults are injected only where the crash tests ask for them (workflow::faults).
        let faults = Faults::from_env().map_err(CliError::Usage)?;
        Ok(Service::with(
            store,
            driver,
            std::sync::Arc::new(SystemClock),
            faults,
        ))
    }
}

/// Creates `dir` (and its parents) readable by the owner only, when it does not exist.
pub(super) fn private_dir(dir: &std::path::Path) -> std::io::Result<()> {
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    builder.create(dir)
}

/// The password for `user add` / `user passwd`: the variable if set, else one line of stdin.
fn read_password() -> Result<String, CliError> {
    if let Ok(password) = std::env::var("UPLIFT_USER_PASSWORD") {
        return Ok(password);
    }
    let mut line = String::new();
    std::io::stdin().lock().read_line(&mut line)?;
    let password = line.trim_end_matches(['\r', '\n']).to_string();
    if password.is_empty() {
        return Err(CliError::Usage(
            "no password: set UPLIFT_USER_PASSWORD or give it as one line on stdin".into(),
        ));
    }
    Ok(password)
}

/// Runs every command but `serve` (which lives in [`crate::server`]).
pub async fn run_user(cli: &Cli, command: &UserCommand) -> Result<(), CliError> {
    let service = cli.service().await?;
    match command {
        UserCommand::Add { name, role } => {
            let password = read_password()?;
            service
                .add_user(Actor::Cli, name, (*role).into(), &password)
                .await?;
            println!("Added user {name}.");
        }
        UserCommand::List => {
            println!("{:<24} {:<8} CREATED", "NAME", "ROLE");
            for user in service.users().await? {
                println!(
                    "{:<24} {:<8} {}",
                    user.name,
                    user.role.as_str(),
                    user.created_at
                );
            }
        }
        UserCommand::Passwd { name } => {
            let password = read_password()?;
            service.set_password(Actor::Cli, name, &password).await?;
            println!("Changed the password of {name}.");
        }
        UserCommand::RevokeTokens { name } => {
            let ended = service.revoke_tokens_of(Actor::Cli, name).await?;
            println!("Revoked {ended} API tokens of {name}.");
        }
    }
    Ok(())
}

/// engine-config's line format: `NAME: VALUE version: general`.
fn config_line(entry: &app::api::ConfigEntry) -> String {
    format!("{}: {} version: general", entry.name, entry.value)
}

fn assignment(text: &str) -> Result<(&str, &str), CliError> {
    text.split_once('=')
        .ok_or_else(|| CliError::Usage(format!("expected NAME=VALUE, not {text:?}")))
}

pub async fn run_config(cli: &Cli, command: &ConfigCommand) -> Result<(), CliError> {
    let service = cli.service().await?;
    match command {
        ConfigCommand::List => {
            for entry in service.config_list().await? {
                println!("{}", config_line(&entry));
            }
        }
        ConfigCommand::Get { name } => {
            println!("{}", config_line(&service.config_get(name).await?))
        }
        ConfigCommand::Set { assignment: text } => {
            let (name, value) = assignment(text)?;
            service.config_set(Actor::Cli, name, value).await?;
        }
        ConfigCommand::Merge { assignment: text } => {
            let (name, value) = assignment(text)?;
            service.config_merge(Actor::Cli, name, value).await?;
        }
    }
    Ok(())
}

/// `engine-upgrade-check`: true when an update is available (SPEC §2's exit code 0).
pub async fn run_engine_check(cli: &Cli, now: bool) -> Result<bool, CliError> {
    let service = cli.service().await?;
    let status = if now {
        service.check_engine(Actor::Cli).await?
    } else {
        service.engine_status().await?
    };
    match status.available_version {
        Some(version) => {
            println!("Upgrade available: {version}");
            Ok(true)
        }
        None => {
            println!("No upgrade is available.");
            Ok(false)
        }
    }
}

pub async fn run_sim(cli: &Cli, command: &SimCommand) -> Result<(), CliError> {
    let service = cli.service().await?;
    match command {
        SimCommand::Fail { host, mode } => {
            if !service.store().set_sim_fail(host, mode.as_str()).await? {
                return Err(CliError::Usage(format!(
                    "there is no simulated host {host}"
                )));
            }
            service
                .store()
                .add_event(
                    &crate::store::NewEvent::new(
                        "sim_fail_mode_changed",
                        app::api::Severity::Normal,
                        format!("Simulated host {host} now fails: {}.", mode.as_str()),
                    )
                    .user(Some("cli")),
                )
                .await?;
            println!("Simulated host {host} now fails: {}.", mode.as_str());
        }
        SimCommand::Tasks => {
            for (task, host) in service.store().sim_tasks().await? {
                println!(
                    "{}\t{host}\t{}\t{}",
                    task.id,
                    task.state,
                    task.errata.join(",")
                );
            }
        }
        SimCommand::Vms => {
            for vm in service.store().sim_vms().await? {
                println!(
                    "{}\t{}\t{}",
                    vm.name,
                    vm.host.as_deref().unwrap_or("-"),
                    vm.status
                );
            }
        }
    }
    Ok(())
}

pub fn run_fleet(command: &FleetCommand) -> Result<(), CliError> {
    match *command {
        FleetCommand::Generate {
            clusters,
            hosts,
            vms,
            seed,
            fill,
        } => {
            if clusters == 0 && hosts > 0 {
                return Err(CliError::Usage("hosts need at least one cluster".into()));
            }
            let text = generate::generate(generate::Shape {
                clusters,
                hosts,
                vms,
                seed,
                fill_percent: fill,
            });
            // What we write must load: check it, so a generator bug never reaches a demo.
            fleet::Fleet::parse("generated fleet", &text)?;
            print!("{text}");
            Ok(())
        }
    }
}

/// `uplift backup …`: no service, only the database file and the archive.
pub async fn run_backup(cli: &Cli, command: &BackupCommand) -> Result<(), CliError> {
    let url = cli.database_url();
    let manifest = match command {
        BackupCommand::Create { file } => {
            let manifest = crate::backup::create(&url, file).await?;
            println!("Wrote {}.", file.display());
            manifest
        }
        BackupCommand::Verify { file } => {
            let beside = std::env::temp_dir().join("uplift-verify");
            let verified = crate::backup::verify(file, &beside).await?;
            println!("{} is a sane Uplift backup.", file.display());
            verified.manifest
        }
        BackupCommand::Restore { file } => {
            let dir = cli.db.is_none().then_some(cli.data_dir.as_path());
            let manifest = crate::backup::restore(file, &url, dir).await?;
            println!("Restored {} into {url}.", file.display());
            manifest
        }
    };
    for line in manifest.describe() {
        println!("{line}");
    }
    Ok(())
}
