//! Which driver the service talks to: the one of the datacenter in the database, or, on a
//! first start, of the fleet file about to be loaded. And `uplift host`, the real hosts' few
//! commands.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use clap::Subcommand;

use super::{Cli, CliError};
use crate::fleet::driver::Driver;
use crate::fleet::sim::SimDriver;
use crate::fleet::ssh::{Identity, SshDriver};
use crate::fleet::FleetFile;
use crate::service::Actor;
use crate::store::Store;

#[derive(Debug, Subcommand)]
pub enum HostCommand {
    /// Forget a real host's pinned SSH key (after a reinstall); its next answer pins the key it
    /// offers then.
    #[command(name = "forget-key")]
    ForgetKey { name: String },
    /// Print the public half of Uplift's SSH key, for the hosts' authorized_keys.
    #[command(name = "public-key")]
    PublicKey,
}

/// The driver for `store`'s datacenter (`fleet`: the file of a first start).
pub(super) async fn driver(
    store: &Store,
    data_dir: &Path,
    fleet: Option<&FleetFile>,
) -> Result<Arc<dyn Driver>, CliError> {
    let (key_file, survey_seconds) = match (store.ssh_world().await?, fleet) {
        (Some(world), _) => (world.key_file.map(PathBuf::from), world.survey_seconds),
        (None, Some(FleetFile::Ssh(file))) if !store.has_world().await? => (
            file.driver.key_file.clone(),
            *file.driver.survey_seconds.get_ref(),
        ),
        _ => return Ok(Arc::new(SimDriver::new(store.clone()))),
    };
    let identity = identity(key_file.as_deref(), data_dir)?;
    Ok(Arc::new(SshDriver::new(
        store.clone(),
        identity,
        Duration::from_secs(survey_seconds),
    )))
}

fn identity(key_file: Option<&Path>, data_dir: &Path) -> Result<Identity, CliError> {
    let (identity, path, made) = Identity::resolve(key_file, data_dir).map_err(CliError::Usage)?;
    if made {
        tracing::warn!(
            "made Uplift's SSH key {}; add its public half to ~/.ssh/authorized_keys of every host: {}",
            path.display(),
            identity.public_line()
        );
    } else {
        tracing::info!(key = %path.display(), fingerprint = %identity.fingerprint(), "Uplift logs in to hosts with this SSH key");
    }
    Ok(identity)
}

pub async fn run_host(cli: &Cli, command: &HostCommand) -> Result<(), CliError> {
    match command {
        HostCommand::ForgetKey { name } => {
            let service = cli.service().await?;
            service.forget_host_key(Actor::Cli, name).await?;
            println!("Forgot the SSH key of host {name}; its next answer pins the key it offers.");
        }
        HostCommand::PublicKey => {
            if cli.db.is_none() {
                super::private_dir(&cli.data_dir).map_err(|e| {
                    CliError::Usage(format!(
                        "cannot create the data dir {}: {e}",
                        cli.data_dir.display()
                    ))
                })?;
            }
            let store = Store::open(&cli.database_url()).await?;
            let key_file = store.ssh_world().await?.and_then(|w| w.key_file);
            let (identity, _, _) =
                Identity::resolve(key_file.as_deref().map(Path::new), &cli.data_dir)
                    .map_err(CliError::Usage)?;
            println!("{}", identity.public_line());
        }
    }
    Ok(())
}
