//! The `ssh` driver: real Linux/KVM hosts, agentless. Uplift logs in over SSH and uses what a
//! KVM host has: its package manager (apt or dnf), systemd, and libvirt's `virsh`.
//!
//! `file` reads the fleet file of real hosts, `session` keeps the SSH connections and pins
//! host keys, `commands` says what runs on a host and reads the answers. This module ties them
//! to the [`Driver`] trait and keeps no policy: what is monitored, when to reboot and how long
//! to wait are the service's.

mod commands;
mod file;
mod session;

use std::collections::BTreeMap;
use std::time::Duration;

use app::api::{AvailableUpdate, HaMode, HostedEngine, VmAction};

use super::driver::{Driver, DriverError, EngineRelease, Estimates, HostFacts, Installed, Survey};
use crate::domain::packages::Monitored;
use crate::scheduler::VmView;
use crate::store::{SshHostRow, Store};
use commands::{DomainAction, Family};
pub use file::SshFleet;
pub use session::Identity;
use session::{Endpoint, Output, Sessions, SshError};

/// How long "do you answer?" may take.
const PROBE_TIMEOUT: Duration = Duration::from_secs(5);
/// A survey: the facts, and the VM list.
const SURVEY_TIMEOUT: Duration = Duration::from_secs(30);
/// Refreshing package metadata over a slow mirror.
const CHECK_TIMEOUT: Duration = Duration::from_secs(600);
/// A package transaction (the service's HostUpgradeTimeoutInMinutes bounds the whole upgrade).
const INSTALL_TIMEOUT: Duration = Duration::from_secs(3 * 3600);
/// A live migration of a large VM.
const MIGRATION_TIMEOUT: Duration = Duration::from_secs(3600);
/// A VM's guest shutting down after the ACPI request.
const SHUTDOWN_WAIT: Duration = Duration::from_secs(180);
/// Quick libvirt questions.
const VIRSH_TIMEOUT: Duration = Duration::from_secs(60);

/// How often the service surveys real hosts unless the fleet file says otherwise.
pub const DEFAULT_SURVEY_SECONDS: u64 = 30;

pub struct SshDriver {
    store: Store,
    sessions: Sessions,
    survey_every: Duration,
}

impl SshDriver {
    pub fn new(store: Store, identity: Identity, survey_every: Duration) -> SshDriver {
        SshDriver {
            sessions: Sessions::new(store.clone(), identity),
            store,
            survey_every,
        }
    }

    async fn host(&self, host_id: &str) -> Result<SshHostRow, DriverError> {
        self.store
            .ssh_host(host_id)
            .await
            .map_err(store_error)?
            .ok_or_else(|| DriverError::UnknownHost(host_id.to_string()))
    }

    async fn run(
        &self,
        host: &SshHostRow,
        what: &str,
        command: &str,
        timeout: Duration,
    ) -> Result<Output, SshError> {
        self.sessions
            .run(&endpoint(host), what, command, timeout)
            .await
    }

    /// Which boot the host runs: the quick question "do you answer?".
    async fn boot_id(&self, host: &SshHostRow) -> Result<String, SshError> {
        let what = "reading the boot id";
        let output = self
            .run(host, what, commands::BOOT_ID, PROBE_TIMEOUT)
            .await?
            .success(what)?;
        Ok(output.stdout.trim().to_string())
    }

    /// The host's package manager: as recorded, or asked once.
    async fn family(&self, host: &SshHostRow) -> Result<Family, DriverError> {
        if let Some(family) = host.family.as_deref().and_then(Family::parse) {
            return Ok(family);
        }
        let facts = self.facts(host).await.map_err(failed)?;
        self.remember(host, &facts).await?;
        facts.family.ok_or_else(|| {
            DriverError::Failed(format!(
                "{} runs {}, which has neither apt nor dnf",
                host.name, facts.os
            ))
        })
    }

    /// Asks the host what it is.
    async fn facts(&self, host: &SshHostRow) -> Result<commands::Facts, SshError> {
        let what = "reading the host's facts";
        let output = self
            .run(host, what, commands::FACTS, SURVEY_TIMEOUT)
            .await?
            .success(what)?;
        commands::parse_facts(&output.stdout).map_err(|e| SshError::Command {
            what: what.into(),
            code: "0".into(),
            words: e.to_string(),
        })
    }

    /// Keeps what the facts say that later operations need: the package manager, and whether
    /// a reboot Uplift asked for is over (another boot answers).
    async fn remember(
        &self,
        host: &SshHostRow,
        facts: &commands::Facts,
    ) -> Result<(), DriverError> {
        if let Some(family) = facts.family {
            self.store
                .set_ssh_family(&host.host_id, family.as_str())
                .await
                .map_err(store_error)?;
        }
        self.store
            .end_reboot_if_new_boot(&host.host_id, &facts.boot_id)
            .await
            .map_err(store_error)
    }

    /// The newer versions of installed packages the host's repositories offer, monitored or not.
    async fn pending(
        &self,
        host: &SshHostRow,
        family: Family,
    ) -> Result<Vec<AvailableUpdate>, DriverError> {
        let what = "the update check";
        let output = self
            .run(host, what, commands::check_command(family), CHECK_TIMEOUT)
            .await
            .and_then(|o| o.success(what))
            .map_err(failed)?;
        match family {
            Family::Apt => Ok(commands::parse_apt_simulation(&output.stdout)),
            Family::Dnf => {
                let available = commands::parse_dnf_check_update(&output.stdout);
                if available.is_empty() {
                    return Ok(Vec::new());
                }
                let names: Vec<String> = available
                    .keys()
                    .filter(|n| commands::package_name(n))
                    .cloned()
                    .collect();
                let query = commands::rpm_versions_command(&names).map_err(unreadable)?;
                let installed = self
                    .run(host, "rpm -q", &query, CHECK_TIMEOUT)
                    .await
                    .map_err(failed)?;
                Ok(dnf_updates(
                    &available,
                    &commands::parse_rpm_versions(&installed.stdout),
                ))
            }
        }
    }

    /// The VM's host by its libvirt: the inventory's host first, then every other.
    async fn find_vm(&self, vm: &VmView) -> Result<Option<SshHostRow>, DriverError> {
        let recorded = self.store.vm_host_id(&vm.id).await.map_err(store_error)?;
        let hosts = self
            .store
            .ssh_hosts(recorded.as_deref())
            .await
            .map_err(store_error)?;
        for host in hosts {
            let command = commands::domain_state_command(&host.libvirt_uri, &vm.name);
            match self
                .run(&host, "virsh domstate", &command, VIRSH_TIMEOUT)
                .await
            {
                Ok(output) if output.status == Some(0) && commands::runs(&output.stdout) => {
                    return Ok(Some(host))
                }
                _ => continue,
            }
        }
        Ok(None)
    }

    async fn domain(
        &self,
        host: &SshHostRow,
        action: DomainAction,
        vm: &VmView,
    ) -> Result<(), DriverError> {
        let command = commands::domain_command(&host.libvirt_uri, action, &vm.name);
        let what = format!("virsh {} of VM {}", action.verb(), vm.name);
        self.run(host, &what, &command, VIRSH_TIMEOUT)
            .await
            .and_then(|o| o.success(&what))
            .map_err(failed)?;
        Ok(())
    }

    /// Waits until the VM no longer runs on the host (a guest shuts down in its own time).
    async fn wait_until_stopped(&self, host: &SshHostRow, vm: &VmView) -> Result<(), DriverError> {
        let deadline = tokio::time::Instant::now() + SHUTDOWN_WAIT;
        let command = commands::domain_state_command(&host.libvirt_uri, &vm.name);
        loop {
            let output = self
                .run(host, "virsh domstate", &command, VIRSH_TIMEOUT)
                .await
                .map_err(failed)?;
            if !commands::runs(&output.stdout) {
                return Ok(());
            }
            if tokio::time::Instant::now() >= deadline {
                return Err(DriverError::Failed(format!(
                    "VM {} still runs {} s after it was asked to shut down (does its guest \
                     answer ACPI?)",
                    vm.name,
                    SHUTDOWN_WAIT.as_secs()
                )));
            }
            tokio::time::sleep(Duration::from_secs(2)).await;
        }
    }
}

#[async_trait::async_trait]
impl Driver for SshDriver {
    async fn engine_release(&self) -> Result<EngineRelease, DriverError> {
        let world = self
            .store
            .ssh_world()
            .await
            .map_err(store_error)?
            .ok_or_else(|| DriverError::Failed("no real datacenter is loaded".into()))?;
        Ok(EngineRelease {
            version: world.engine_version,
            available_version: world.engine_available,
        })
    }

    async fn check_updates(
        &self,
        host_id: &str,
        monitored: &Monitored,
    ) -> Result<Vec<AvailableUpdate>, DriverError> {
        let host = self.host(host_id).await?;
        let family = self.family(&host).await?;
        let mut updates = self.pending(&host, family).await?;
        updates.retain(|u| monitored.matches(&u.name));
        Ok(updates)
    }

    async fn levels_after_upgrade(&self, _host_id: &str) -> Result<Vec<String>, DriverError> {
        // A plain KVM host has no management agent that names cluster levels.
        Ok(Vec::new())
    }

    async fn migrate_vm(&self, vm: &VmView, from: &str, to: &str) -> Result<(), DriverError> {
        let (source, target) = (self.host(from).await?, self.host(to).await?);
        if self
            .find_vm(vm)
            .await?
            .is_some_and(|h| h.host_id == target.host_id)
        {
            return Ok(());
        }
        let destination = commands::destination_uri(&target.user, &target.address, target.port);
        let command =
            commands::migrate_command(&source.libvirt_uri, &vm.name, &destination, &target.address);
        let what = format!("the live migration of VM {} to {}", vm.name, target.name);
        self.run(&source, &what, &command, MIGRATION_TIMEOUT)
            .await
            .and_then(|o| o.success(&what))
            .map_err(failed)?;
        Ok(())
    }

    async fn vm_host(&self, vm: &VmView) -> Result<Option<String>, DriverError> {
        Ok(self.find_vm(vm).await?.map(|h| h.host_id))
    }

    async fn power_vm(
        &self,
        vm: &VmView,
        host_id: &str,
        action: VmAction,
    ) -> Result<(), DriverError> {
        let host = match action {
            VmAction::Start => self.host(host_id).await?,
            // A running VM is stopped where it runs.
            VmAction::Stop | VmAction::Suspend => match self.find_vm(vm).await? {
                Some(host) => host,
                None => return Ok(()),
            },
        };
        match action {
            VmAction::Start => self.domain(&host, DomainAction::Start, vm).await,
            VmAction::Suspend => self.domain(&host, DomainAction::Suspend, vm).await,
            VmAction::Stop => {
                self.domain(&host, DomainAction::Shutdown, vm).await?;
                self.wait_until_stopped(&host, vm).await
            }
        }
    }

    async fn enter_maintenance(&self, host_id: &str) -> Result<(), DriverError> {
        // Uplift's own bookkeeping: the scheduler places nothing on a host in maintenance.
        self.host(host_id).await.map(|_| ())
    }

    async fn activate(&self, host_id: &str) -> Result<(), DriverError> {
        self.host(host_id).await.map(|_| ())
    }

    async fn install_updates(
        &self,
        host_id: &str,
        monitored: &Monitored,
    ) -> Result<Installed, DriverError> {
        let host = self.host(host_id).await?;
        let family = self.family(&host).await?;
        let names: Vec<String> = self
            .pending(&host, family)
            .await?
            .into_iter()
            .map(|u| u.name)
            .filter(|name| monitored.matches(name))
            .collect();
        let mut log = String::new();
        if !names.is_empty() {
            let command = commands::install_command(family, &names).map_err(unreadable)?;
            let output = self
                .run(&host, "the install", &command, INSTALL_TIMEOUT)
                .await
                .and_then(|o| o.success("the install"))
                .map_err(failed)?;
            log = output.stdout;
        }
        let facts = self.facts(&host).await.map_err(failed)?;
        Ok(Installed {
            os: facts.os,
            supported_cluster_levels: Vec::new(),
            log,
        })
    }

    async fn reinstall(&self, host_id: &str, monitored: &Monitored) -> Result<(), DriverError> {
        let host = self.host(host_id).await?;
        let family = self.family(&host).await?;
        let listed = self
            .run(
                &host,
                "the package list",
                commands::installed_names_command(family),
                CHECK_TIMEOUT,
            )
            .await
            .and_then(|o| o.success("the package list"))
            .map_err(failed)?;
        let names: Vec<String> = commands::parse_installed_names(family, &listed.stdout)
            .into_iter()
            .filter(|name| monitored.matches(name))
            .collect();
        if names.is_empty() {
            return Err(DriverError::Failed(
                "none of the monitored packages is installed on the host: nothing to redeploy"
                    .into(),
            ));
        }
        let command = commands::reinstall_command(family, &names).map_err(unreadable)?;
        self.run(&host, "the reinstall", &command, INSTALL_TIMEOUT)
            .await
            .and_then(|o| o.success("the reinstall"))
            .map_err(failed)?;
        Ok(())
    }

    async fn reboot(&self, host_id: &str) -> Result<(), DriverError> {
        let host = self.host(host_id).await?;
        let boot = self.boot_id(&host).await;
        // A repeated step (Uplift restarted meanwhile): the reboot asked for before is under way
        // (the host is silent) or done (another boot answers). The same boot answering may not
        // have got the request yet: asking again is harmless.
        match (&host.rebooting_from, boot) {
            (Some(_), Err(e)) if e.is_unreachable() => return Ok(()),
            (Some(from), Ok(now)) if *from != now => return Ok(()),
            (_, Err(e)) => return Err(failed(e)),
            (Some(_), Ok(_)) => {}
            // The intent first: whoever asks next whether the host is back compares with this.
            (None, Ok(now)) => self
                .store
                .set_rebooting_from(host_id, Some(&now))
                .await
                .map_err(store_error)?,
        }
        match self
            .run(
                &host,
                "systemctl reboot",
                commands::REBOOT,
                PROBE_TIMEOUT * 6,
            )
            .await
        {
            // The connection may end before the command does: that is the reboot.
            Ok(Output {
                status: Some(0) | None,
                ..
            })
            | Err(SshError::Connection { .. } | SshError::Timeout { .. }) => {}
            Ok(output) => {
                self.store
                    .set_rebooting_from(host_id, None)
                    .await
                    .map_err(store_error)?;
                return output
                    .success("systemctl reboot")
                    .map(|_| ())
                    .map_err(failed);
            }
            Err(e) => {
                self.store
                    .set_rebooting_from(host_id, None)
                    .await
                    .map_err(store_error)?;
                return Err(failed(e));
            }
        }
        self.sessions.forget(host_id).await;
        Ok(())
    }

    async fn estimates(&self, host_id: &str) -> Result<Estimates, DriverError> {
        self.host(host_id).await?;
        // Typical figures for a KVM host; real ones would come from its own history.
        Ok(Estimates {
            install_seconds: 240.0,
            reboot_seconds: 180.0,
            state_change_seconds: 5.0,
            migration_gbps: 1.0,
            max_migrations_per_host: 2,
        })
    }

    async fn is_responding(&self, host_id: &str) -> Result<bool, DriverError> {
        let host = self.host(host_id).await?;
        let Ok(boot) = self.boot_id(&host).await else {
            return Ok(false);
        };
        let boot = boot.as_str();
        // Still the boot a reboot was asked to end: the reboot has not happened yet.
        if host.rebooting_from.as_deref() == Some(boot) {
            return Ok(false);
        }
        self.store
            .end_reboot_if_new_boot(host_id, boot)
            .await
            .map_err(store_error)?;
        Ok(true)
    }

    async fn ha_state(&self, _host_id: &str) -> Result<Option<HostedEngine>, DriverError> {
        Ok(None)
    }

    async fn set_ha_maintenance(
        &self,
        host_id: &str,
        _mode: HaMode,
        _enabled: bool,
    ) -> Result<(), DriverError> {
        let host = self.host(host_id).await?;
        Err(DriverError::Failed(format!(
            "{} has no hosted-engine HA agent Uplift can reach",
            host.name
        )))
    }

    fn survey_interval(&self) -> Option<Duration> {
        Some(self.survey_every)
    }

    async fn survey(&self, host_id: &str) -> Result<Survey, DriverError> {
        let host = self.host(host_id).await?;
        let facts = match self.facts(&host).await {
            Ok(facts) => facts,
            Err(e) => return Ok(Survey::Silent(e.to_string())),
        };
        self.remember(&host, &facts).await?;
        let vms = if facts.has_virsh {
            let command = commands::list_domains_command(&host.libvirt_uri);
            let output = self
                .run(&host, "virsh list", &command, SURVEY_TIMEOUT)
                .await
                .and_then(|o| o.success("virsh list"));
            match output.map(|o| commands::parse_domains(&o.stdout)) {
                Ok(Ok(domains)) => Some(domains),
                Ok(Err(e)) => {
                    tracing::warn!(host = %host.name, error = %e, "cannot read the host's VMs");
                    None
                }
                Err(e) => {
                    tracing::warn!(host = %host.name, error = %e, "cannot list the host's VMs");
                    None
                }
            }
        } else {
            None
        };
        Ok(Survey::Answered(HostFacts {
            os: facts.os,
            cpu_cores: facts.cpu_cores,
            memory_mb: facts.memory_mb,
            vms,
        }))
    }
}

/// dnf's offers joined with rpm's installed versions: only installed packages are updates.
fn dnf_updates(
    available: &BTreeMap<String, String>,
    installed: &BTreeMap<String, String>,
) -> Vec<AvailableUpdate> {
    available
        .iter()
        .filter_map(|(name, version)| {
            Some(AvailableUpdate {
                name: name.clone(),
                current_version: installed.get(name)?.clone(),
                available_version: version.clone(),
            })
        })
        .collect()
}

fn endpoint(host: &SshHostRow) -> Endpoint {
    Endpoint {
        host_id: host.host_id.clone(),
        name: host.name.clone(),
        address: host.address.clone(),
        port: host.port,
        user: host.user.clone(),
    }
}

fn failed(e: SshError) -> DriverError {
    DriverError::Failed(e.to_string())
}

fn unreadable(e: commands::Unreadable) -> DriverError {
    DriverError::Failed(e.to_string())
}

fn store_error(e: crate::store::StoreError) -> DriverError {
    DriverError::Failed(format!("the ssh driver's state: {e}"))
}
