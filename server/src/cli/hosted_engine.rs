//! `uplift hosted-engine …`: the commands admins type on a hosted-engine host (seeds 003 and
//! 004), in Uplift's form: status, HA maintenance, the appliance upgrade with the seed's
//! prompts and "[ INFO  ]" lines, and the rollback. Thin: every decision is the service's.

use std::io::{BufRead, Write};
use std::path::PathBuf;
use std::time::Duration;

use app::api::{ApplianceRollback, ApplianceUpgrade, Job, JobStatus};
use clap::{Subcommand, ValueEnum};

use super::{Cli, CliError};
use crate::service::{Actor, MaintenanceMode, Service};

#[derive(Debug, Subcommand)]
pub enum HostedEngineCommand {
    /// Each hosted-engine host's agent, score and local maintenance, where the engine VM
    /// runs, and the global maintenance flag.
    Status {
        #[arg(long)]
        json: bool,
    },
    /// Sets HA maintenance: `global` or `none` for the hosted-engine cluster, `local` for one
    /// host (`--host`); `none` also clears local maintenance (of `--host`, or of every host).
    SetMaintenance {
        #[arg(long, value_enum)]
        mode: HaModeArg,
        #[arg(long)]
        host: Option<String>,
    },
    /// Deploys a new engine appliance over the engine VM's disk, keeping the old disk on a
    /// backup disk; asks what it needs unless given (`--yes` takes the defaults).
    UpgradeAppliance {
        /// The host the engine VM runs on (default: where it runs now).
        #[arg(long)]
        host: Option<String>,
        /// The appliance version from the catalog (default: the newest).
        #[arg(long)]
        appliance: Option<String>,
        /// The Uplift backup archive to restore on the new appliance.
        #[arg(long)]
        backup: Option<PathBuf>,
        #[arg(long)]
        yes: bool,
    },
    /// Copies a backup disk back over the engine VM's disk and boots it (the engine VM down,
    /// global maintenance on).
    RollbackUpgrade {
        /// The backup disk's name (default: the newest).
        #[arg(long)]
        backup: Option<String>,
        #[arg(long)]
        yes: bool,
    },
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum HaModeArg {
    Global,
    Local,
    None,
}

fn info(line: &str) {
    println!("[ INFO  ] {line}");
}

/// One answer from stdin; `default` for an empty line (or no stdin at all).
fn ask(question: &str, default: &str) -> Result<String, CliError> {
    print!("          {question}");
    std::io::stdout().flush()?;
    let mut line = String::new();
    std::io::stdin().lock().read_line(&mut line)?;
    let answer = line.trim();
    Ok(if answer.is_empty() {
        default.to_string()
    } else {
        answer.to_string()
    })
}

fn confirm(yes: bool) -> Result<(), CliError> {
    if yes {
        return Ok(());
    }
    let answer = ask("Are you sure you want to continue? (Yes, No)[Yes]: ", "Yes")?;
    match answer.to_ascii_lowercase().as_str() {
        "yes" | "y" => Ok(()),
        "no" | "n" => Err(CliError::Usage("Aborted by the user.".into())),
        other => Err(CliError::Usage(format!(
            "Please answer Yes or No, not {other:?}."
        ))),
    }
}

/// Follows a job to its end, printing each step as it ends; the ended job.
async fn follow(service: &Service, job_id: &str) -> Result<Job, CliError> {
    let mut shown = 0;
    loop {
        let job = service.job_by_id(job_id).await?;
        let ended: Vec<_> = job.steps.iter().filter(|s| s.ended_at.is_some()).collect();
        for step in ended.iter().skip(shown) {
            for line in step.message.as_deref().unwrap_or_default().lines() {
                match step.status {
                    JobStatus::Failed => println!("[ ERROR ] {line}"),
                    _ if line.starts_with("|-") => println!("          {line}"),
                    _ => info(line),
                }
            }
        }
        shown = ended.len();
        if job.ended_at.is_some() {
            return Ok(job);
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

fn ended(job: &Job) -> Result<(), CliError> {
    let message = job.message.clone().unwrap_or_default();
    if job.status == JobStatus::Succeeded {
        info(&message);
        Ok(())
    } else {
        println!("[ ERROR ] {message}");
        Err(CliError::Service(crate::service::ServiceError::Host(
            message,
        )))
    }
}

async fn upgrade_appliance(
    service: &Service,
    host: Option<&str>,
    appliance: Option<&str>,
    backup: Option<&PathBuf>,
    yes: bool,
) -> Result<(), CliError> {
    info("Stage: Initializing");
    println!("          Continuing will upgrade the engine VM running on this host, deploying and configuring a new appliance.");
    println!("          This procedure will create a new disk on the hosted-engine storage domain and back up there the content of your current engine VM disk.");
    println!("          The new appliance will be deployed over the existing disk, destroying its content; at any time you will be able to roll back using the content of the backup disk.");
    confirm(yes)?;
    info("Checking maintenance mode");
    let status = service.hosted_engine_status().await?;
    let host = match host {
        Some(host) => host.to_string(),
        None => status.engine_vm_host.clone().ok_or_else(|| {
            CliError::Usage("The engine VM is not running; name its host with --host.".into())
        })?,
    };
    let world = service.hosted_engine_info().await?;
    info("Detecting available oVirt engine appliances");
    let appliance = match appliance {
        Some(version) => version.to_string(),
        None => {
            let mut catalog = world.catalog.clone();
            catalog
                .sort_by(|a, b| crate::domain::version::compare_versions(&b.version, &a.version));
            if catalog.is_empty() {
                return Err(CliError::Usage("The appliance catalog is empty.".into()));
            }
            println!("          The following appliances have been found on your system:");
            for (i, image) in catalog.iter().enumerate() {
                println!(
                    "                [{}] - The engine appliance image - {} ({}, {} GiB)",
                    i + 1,
                    image.version,
                    image.os,
                    image.size_gb
                );
            }
            let choice = if yes {
                "1".to_string()
            } else {
                let numbers: Vec<String> = (1..=catalog.len()).map(|n| n.to_string()).collect();
                ask(
                    &format!("Please select an appliance ({}) [1]: ", numbers.join(", ")),
                    "1",
                )?
            };
            let index: usize = choice
                .parse()
                .ok()
                .filter(|n| (1..=catalog.len()).contains(n))
                .ok_or_else(|| CliError::Usage(format!("There is no appliance {choice:?}.")))?;
            catalog[index - 1].version.clone()
        }
    };
    let path = match backup {
        Some(path) => path.clone(),
        None if yes => {
            return Err(CliError::Usage(
                "--yes needs --backup FILE: the Uplift backup archive to restore.".into(),
            ))
        }
        None => {
            println!(
                "          Please take a backup of Uplift with: uplift backup create --file FILE"
            );
            PathBuf::from(ask(
                "Please specify path to the backup archive you would like to restore on the new appliance: ",
                "",
            )?)
        }
    };
    info(&format!("Validating backup file '{}'", path.display()));
    let bytes = std::fs::read(&path)
        .map_err(|e| CliError::Usage(format!("cannot read {}: {e}", path.display())))?;
    let archive = service.upload_archive(Actor::Cli, &bytes).await?;
    for line in &archive.description {
        info(line);
    }
    info(&format!("'{}' is a sane backup file", path.display()));
    let request = ApplianceUpgrade {
        host,
        appliance,
        backup: archive.id,
    };
    let mut failed = false;
    for line in service.appliance_preflight(&request).await? {
        if line.passed {
            info(&line.message);
        } else {
            failed = true;
            println!("[ ERROR ] {}", line.message);
        }
    }
    if failed {
        return Err(CliError::Usage(
            "The appliance upgrade cannot start.".into(),
        ));
    }
    info("Stage: Misc configuration");
    let job = service.upgrade_appliance(Actor::Cli, &request).await?;
    ended(&follow(service, &job.id).await?)
}

async fn rollback_upgrade(
    service: &Service,
    backup: Option<&str>,
    yes: bool,
) -> Result<(), CliError> {
    let disks = service.hosted_engine_backups().await?;
    let disk = match backup {
        Some(name) => name.to_string(),
        None => disks
            .last()
            .map(|d| d.name.clone())
            .ok_or_else(|| CliError::Usage("There is no backup disk to roll back to.".into()))?,
    };
    println!(
        "          The engine VM disk will be overwritten with the content of backup disk {disk}."
    );
    confirm(yes)?;
    let job = service
        .rollback_appliance(Actor::Cli, &ApplianceRollback { backup: disk })
        .await?;
    ended(&follow(service, &job.id).await?)
}

pub async fn run_hosted_engine(cli: &Cli, command: &HostedEngineCommand) -> Result<(), CliError> {
    let service = cli.service().await?;
    match command {
        HostedEngineCommand::Status { json } => print_status(&service, *json).await?,
        HostedEngineCommand::SetMaintenance { mode, host } => {
            let mode = match mode {
                HaModeArg::Global => MaintenanceMode::Global,
                HaModeArg::Local => MaintenanceMode::Local,
                HaModeArg::None => MaintenanceMode::None,
            };
            for line in service
                .set_hosted_engine_maintenance(mode, host.as_deref())
                .await?
            {
                println!("{line}");
            }
        }
        HostedEngineCommand::UpgradeAppliance {
            host,
            appliance,
            backup,
            yes,
        } => {
            upgrade_appliance(
                &service,
                host.as_deref(),
                appliance.as_deref(),
                backup.as_ref(),
                *yes,
            )
            .await?
        }
        HostedEngineCommand::RollbackUpgrade { backup, yes } => {
            rollback_upgrade(&service, backup.as_deref(), *yes).await?
        }
    }
    Ok(())
}

async fn print_status(service: &Service, json: bool) -> Result<(), CliError> {
    let status = service.hosted_engine_status().await?;
    if json {
        let text = serde_json::to_string_pretty(&status)
            .map_err(|e| CliError::Usage(format!("cannot write JSON: {e}")))?;
        println!("{text}");
        return Ok(());
    }
    let on_off = |on: bool| if on { "on" } else { "off" };
    println!("Global maintenance: {}", on_off(status.global_maintenance));
    println!(
        "Engine VM runs on: {}",
        status
            .engine_vm_host
            .as_deref()
            .unwrap_or("no host (it is down)")
    );
    println!(
        "{:<16} {:<26} {:<10} {:>5}  {:<17} ENGINE VM",
        "HOST", "STATUS", "AGENT", "SCORE", "LOCAL MAINTENANCE"
    );
    for host in &status.hosts {
        let status_text = if host.out_of_sync {
            format!("{} (HA state out of sync)", host.status)
        } else {
            host.status.clone()
        };
        println!(
            "{:<16} {:<26} {:<10} {:>5}  {:<17} {}",
            host.host,
            status_text,
            if host.agent { "active" } else { "not active" },
            host.score,
            on_off(host.local_maintenance),
            if host.runs_engine_vm { "here" } else { "" }
        );
    }
    Ok(())
}
