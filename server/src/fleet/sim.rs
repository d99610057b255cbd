//! The `sim` driver: a simulated datacenter that answers like real hosts, slowly (by
//! `check_seconds / speed`) and sometimes with failure (`fail = "check"`).

use std::cmp::Ordering;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::Semaphore;

use app::api::{AvailableUpdate, HaMode, HostedEngine, VmAction, VmStatus};
use time::OffsetDateTime;

use super::driver::{Background, Driver, DriverError, EngineRelease, Estimates, Installed};
use super::sim_ha::NEVER;
use super::{FailMode, Repository};
use crate::domain::os::parse_os;
use crate::domain::packages::Monitored;
use crate::domain::version::is_newer;
use crate::scheduler::VmView;
use crate::store::{rfc3339, SimHost, SimWorld, Store};

/// How long entering maintenance or activating takes (before `speed`).
const STATE_CHANGE_SECONDS: f64 = 1.0;

/// How many times a host just back from a reboot leaves the engine unanswered, as real hosts
/// do while their management agent starts.
const SILENT_POLLS_AFTER_REBOOT: u32 = 2;

pub struct SimDriver {
    pub(super) store: Store,
    /// Outgoing migrations in flight per host, bounded by `max_migrations_per_host`.
    outgoing: Mutex<HashMap<String, Arc<Semaphore>>>,
    /// Hosts back from a reboot that will not answer the next few polls.
    waking: Mutex<HashMap<String, u32>>,
    /// VMs being migrated now (the HA agents leave the engine VM alone meanwhile).
    migrating: Mutex<HashSet<String>>,
}

impl SimDriver {
    pub fn new(store: Store) -> Self {
        SimDriver {
            store,
            outgoing: Mutex::new(HashMap::new()),
            waking: Mutex::new(HashMap::new()),
            migrating: Mutex::new(HashSet::new()),
        }
    }

    pub(super) async fn world(&self) -> Result<SimWorld, DriverError> {
        self.store
            .sim_world()
            .await
            .map_err(store_error)?
            .ok_or_else(|| DriverError::Failed("no simulated world is loaded".into()))
    }

    pub(super) async fn host(&self, host_id: &str) -> Result<SimHost, DriverError> {
        self.store
            .sim_host(host_id)
            .await
            .map_err(store_error)?
            .ok_or_else(|| DriverError::UnknownHost(host_id.to_string()))
    }

    pub(super) fn is_migrating(&self, vm_id: &str) -> bool {
        self.migrating
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .contains(vm_id)
    }

    fn set_migrating(&self, vm_id: &str, on: bool) {
        let mut migrating = self
            .migrating
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if on {
            migrating.insert(vm_id.to_string());
        } else {
            migrating.remove(vm_id);
        }
    }

    /// Where the simulated hypervisors run the VM, and in which state.
    async fn vm(&self, vm_id: &str) -> Result<SimVmState, DriverError> {
        let (host, status) = self
            .store
            .sim_vm_state(vm_id)
            .await
            .map_err(store_error)?
            .ok_or_else(|| DriverError::Failed(format!("the simulator knows no VM {vm_id}")))?;
        Ok(SimVmState { host, status })
    }

    fn outgoing(&self, host_id: &str, limit: u32) -> Arc<Semaphore> {
        let mut map = self
            .outgoing
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        map.entry(host_id.to_string())
            .or_insert_with(|| Arc::new(Semaphore::new(limit as usize)))
            .clone()
    }
}

/// A VM as the simulated hypervisors see it.
struct SimVmState {
    /// The host running it (id).
    host: Option<String>,
    status: String,
}

/// Simulated time passes `speed` times faster than real time.
pub(super) async fn simulate(world: &SimWorld, seconds: f64) {
    let real = seconds / world.speed.max(f64::MIN_POSITIVE);
    tokio::time::sleep(Duration::from_secs_f64(real.clamp(0.0, 3600.0))).await;
}

pub(super) fn store_error(e: crate::store::StoreError) -> DriverError {
    DriverError::Failed(format!("simulator state: {e}"))
}

/// What the repository offers a host: newer versions of installed monitored packages, and a
/// newer OS of the same family (listed as `os`).
pub fn available_updates(
    installed: &BTreeMap<String, String>,
    os: &str,
    repository: &Repository,
    monitored: &Monitored,
) -> Vec<AvailableUpdate> {
    let mut updates: Vec<AvailableUpdate> = installed
        .iter()
        .filter(|(name, _)| monitored.matches(name))
        .filter_map(|(name, current)| {
            let available = repository.packages.get(name)?;
            is_newer(available, current).then(|| AvailableUpdate {
                name: name.clone(),
                current_version: current.clone(),
                available_version: available.clone(),
            })
        })
        .collect();
    if let Some(new_os) = &repository.os {
        let newer = match (parse_os(new_os), parse_os(os)) {
            (Ok(new), Ok(current)) => new.compare(&current).is_some_and(Ordering::is_gt),
            _ => false,
        };
        if newer {
            updates.push(AvailableUpdate {
                name: "os".to_string(),
                current_version: os.to_string(),
                available_version: new_os.clone(),
            });
        }
    }
    updates
}

/// The name a node's image update is listed under.
pub const NODE_IMAGE: &str = "image";

/// What a simulated host would install: a node its newer image, a plain host its packages.
fn host_updates(
    host: &SimHost,
    repository: &Repository,
    monitored: &Monitored,
) -> Vec<AvailableUpdate> {
    let Some(image) = &host.image else {
        return available_updates(&host.packages, &host.os, repository, monitored);
    };
    repository
        .node_image
        .as_ref()
        .filter(|offered| is_newer(offered, image))
        .map(|offered| AvailableUpdate {
            name: NODE_IMAGE.to_string(),
            current_version: image.clone(),
            available_version: offered.clone(),
        })
        .into_iter()
        .collect()
}

#[async_trait::async_trait]
impl Driver for SimDriver {
    async fn engine_release(&self) -> Result<EngineRelease, DriverError> {
        let (version, available_version) = self
            .store
            .sim_engine()
            .await
            .map_err(store_error)?
            .ok_or_else(|| DriverError::Failed("the simulated world is not loaded".into()))?;
        // With a hosted engine, the engine is what the engine VM's disk holds.
        let he = self.store.sim_he().await.map_err(store_error)?;
        let version = match he {
            Some(he) if he.engine_disk.works() => he.engine_disk.version,
            _ => version,
        };
        Ok(EngineRelease {
            version,
            available_version,
        })
    }

    async fn check_updates(
        &self,
        host_id: &str,
        monitored: &Monitored,
    ) -> Result<Vec<AvailableUpdate>, DriverError> {
        let world = self.world().await?;
        let host = self.host(host_id).await?;
        simulate(&world, world.check_seconds).await;
        if host.fail == FailMode::Check.as_str() {
            return Err(DriverError::Failed(
                "the package manager on the host failed (simulated: fail = \"check\")".into(),
            ));
        }
        Ok(host_updates(&host, &world.repository, monitored))
    }

    async fn levels_after_upgrade(&self, host_id: &str) -> Result<Vec<String>, DriverError> {
        let world = self.world().await?;
        self.host(host_id).await?;
        Ok(world.repository.supported_cluster_levels)
    }

    async fn migrate_vm(&self, vm: &VmView, from: &str, to: &str) -> Result<(), DriverError> {
        let world = self.world().await?;
        let now = self.vm(&vm.id).await?;
        match now.host.as_deref() {
            // Already there: a repeated step does nothing.
            Some(host) if host == to => return Ok(()),
            Some(host) if host == from => {}
            other => {
                return Err(DriverError::Failed(format!(
                    "VM {} does not run on the host it should leave (the simulator runs it {})",
                    vm.name,
                    other.map_or("nowhere".to_string(), |h| format!("on another host ({h})"))
                )))
            }
        }
        let slots = self.outgoing(from, world.max_migrations_per_host);
        let _slot = slots
            .acquire_owned()
            .await
            .map_err(|e| DriverError::Failed(format!("migration slots closed: {e}")))?;
        // Copy the VM's memory at the migration speed: MiB -> gigabits.
        let gigabits = vm.memory_mb as f64 * 8.0 / 1024.0;
        self.set_migrating(&vm.id, true);
        simulate(&world, gigabits / world.migration_gbps).await;
        let moved = self.store.move_sim_vm(&vm.id, from, to).await;
        self.set_migrating(&vm.id, false);
        match moved.map_err(store_error)? {
            true => Ok(()),
            false => match self.vm(&vm.id).await?.host.as_deref() {
                // Moved meanwhile by a repeat of this migration (another instance's).
                Some(host) if host == to => Ok(()),
                other => Err(DriverError::Failed(format!(
                    "VM {} left {from} during its migration (the simulator runs it on {other:?})",
                    vm.name
                ))),
            },
        }
    }

    async fn power_vm(
        &self,
        vm: &VmView,
        host_id: &str,
        action: VmAction,
    ) -> Result<(), DriverError> {
        let world = self.world().await?;
        self.host(host_id).await?;
        let now = self.vm(&vm.id).await?;
        let (host, status) = match action {
            VmAction::Start => {
                match now.host.as_deref() {
                    Some(h) if h == host_id => return Ok(()),
                    Some(h) => {
                        return Err(DriverError::Failed(format!(
                            "VM {} runs on another host ({h}) already",
                            vm.name
                        )))
                    }
                    None => {}
                }
                (Some(host_id), VmStatus::Up)
            }
            VmAction::Stop if now.host.is_none() => return Ok(()),
            VmAction::Stop => (None, VmStatus::Down),
            VmAction::Suspend if now.status == VmStatus::Suspended.as_str() => return Ok(()),
            VmAction::Suspend => (None, VmStatus::Suspended),
        };
        simulate(&world, STATE_CHANGE_SECONDS).await;
        self.store
            .set_sim_vm(&vm.id, host, status.as_str())
            .await
            .map_err(store_error)
    }

    async fn vm_host(&self, vm: &VmView) -> Result<Option<String>, DriverError> {
        Ok(self.vm(&vm.id).await?.host)
    }

    async fn enter_maintenance(&self, host_id: &str) -> Result<(), DriverError> {
        let world = self.world().await?;
        let host = self.host(host_id).await?;
        simulate(&world, STATE_CHANGE_SECONDS).await;
        if host.fail == FailMode::Maintenance.as_str() {
            return Err(DriverError::Failed(
                "the host refused to enter maintenance (simulated: fail = \"maintenance\")".into(),
            ));
        }
        Ok(())
    }

    async fn activate(&self, host_id: &str) -> Result<(), DriverError> {
        let world = self.world().await?;
        self.host(host_id).await?;
        simulate(&world, STATE_CHANGE_SECONDS).await;
        Ok(())
    }

    async fn install_updates(
        &self,
        host_id: &str,
        monitored: &Monitored,
    ) -> Result<Installed, DriverError> {
        let world = self.world().await?;
        let mut host = self.host(host_id).await?;
        let levels = world.repository.supported_cluster_levels.clone();
        let updates = host_updates(&host, &world.repository, monitored);
        if updates.is_empty() {
            // Nothing pending (an install done before a crash): nothing to do.
            return Ok(Installed {
                log: String::new(),
                os: host.os,
                supported_cluster_levels: levels,
            });
        }
        simulate(&world, host.upgrade_seconds).await;
        if host.fail == FailMode::Upgrade.as_str() {
            return Err(DriverError::Failed(
                "the package transaction failed (simulated: fail = \"upgrade\")".into(),
            ));
        }
        let mut os = host.os.clone();
        for update in updates {
            if update.name == NODE_IMAGE {
                self.store
                    .set_sim_image(host_id, &update.available_version)
                    .await
                    .map_err(store_error)?;
            } else if update.name == "os" {
                os = update.available_version;
            } else {
                host.packages.insert(update.name, update.available_version);
            }
        }
        self.store
            .set_sim_packages(host_id, &host.packages)
            .await
            .map_err(store_error)?;
        self.store
            .set_sim_os(host_id, &os)
            .await
            .map_err(store_error)?;
        Ok(Installed {
            log: String::new(),
            os,
            // The repository's packages bring the levels it lists.
            supported_cluster_levels: levels,
        })
    }

    async fn reinstall(&self, host_id: &str, _monitored: &Monitored) -> Result<(), DriverError> {
        let world = self.world().await?;
        let host = self.host(host_id).await?;
        simulate(&world, host.reinstall_seconds).await;
        if host.fail == FailMode::Reinstall.as_str() {
            return Err(DriverError::Failed(
                "deploying the host's management software failed (simulated: fail = \"reinstall\")"
                    .into(),
            ));
        }
        Ok(())
    }

    async fn reboot(&self, host_id: &str) -> Result<(), DriverError> {
        let world = self.world().await?;
        let host = self.host(host_id).await?;
        // Off until the reboot is over (a time, so a reboot a crash interrupted ends anyway).
        let seconds = host.reboot_seconds / world.speed.max(f64::MIN_POSITIVE);
        let back = OffsetDateTime::now_utc() + Duration::from_secs_f64(seconds.clamp(0.0, 3600.0));
        self.store
            .set_sim_down_until(host_id, Some(&rfc3339(back)))
            .await
            .map_err(store_error)?;
        simulate(&world, host.reboot_seconds).await;
        if host.fail == FailMode::Reboot.as_str() {
            self.store
                .set_sim_down_until(host_id, Some(NEVER))
                .await
                .map_err(store_error)?;
            return Err(DriverError::Failed(
                "the host did not come back from its reboot (simulated: fail = \"reboot\")".into(),
            ));
        }
        self.store
            .set_sim_down_until(host_id, None)
            .await
            .map_err(store_error)?;
        self.waking
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .insert(host_id.to_string(), SILENT_POLLS_AFTER_REBOOT);
        Ok(())
    }

    async fn estimates(&self, host_id: &str) -> Result<Estimates, DriverError> {
        let world = self.world().await?;
        let host = self.host(host_id).await?;
        let speed = world.speed.max(f64::MIN_POSITIVE);
        Ok(Estimates {
            install_seconds: host.upgrade_seconds / speed,
            reboot_seconds: host.reboot_seconds / speed,
            state_change_seconds: STATE_CHANGE_SECONDS / speed,
            migration_gbps: world.migration_gbps * speed,
            max_migrations_per_host: world.max_migrations_per_host,
        })
    }

    async fn ha_state(&self, host_id: &str) -> Result<Option<HostedEngine>, DriverError> {
        self.agent_state(host_id).await
    }

    async fn set_ha_maintenance(
        &self,
        host_id: &str,
        mode: HaMode,
        enabled: bool,
    ) -> Result<(), DriverError> {
        self.set_agent_maintenance(host_id, mode, enabled).await
    }

    fn appliance(&self) -> Option<&dyn super::ApplianceDriver> {
        Some(self)
    }

    fn background(self: Arc<Self>) -> Option<Background> {
        Some(Box::pin(async move { self.run_agents().await }))
    }

    async fn is_responding(&self, host_id: &str) -> Result<bool, DriverError> {
        self.host(host_id).await?;
        let mut waking = self
            .waking
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        match waking.get_mut(host_id) {
            Some(silent) if *silent > 0 => {
                *silent -= 1;
                Ok(false)
            }
            _ => {
                waking.remove(host_id);
                Ok(true)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn repository() -> Repository {
        Repository {
            os: Some("RHEL 9.4".into()),
            supported_cluster_levels: vec![],
            packages: [
                ("vdsm", "4.50.3"),
                ("qemu-kvm", "8.2.0"),
                ("libvirt", "9.0.0"),
            ]
            .into_iter()
            .map(|(a, b)| (a.to_string(), b.to_string()))
            .collect(),
            node_image: Some("4.5.3".into()),
        }
    }

    fn installed(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(a, b)| (a.to_string(), b.to_string()))
            .collect()
    }

    #[test]
    fn only_monitored_newer_packages_and_a_newer_os_count() {
        let monitored = Monitored::from_lists(["vdsm", "qemu-*"]);
        let host = installed(&[
            ("vdsm", "4.50.2"),
            ("qemu-kvm", "8.2.0"),
            ("libvirt", "8.0.0"),
        ]);
        let updates = available_updates(&host, "RHEL 8.9", &repository(), &monitored);
        let names: Vec<&str> = updates.iter().map(|u| u.name.as_str()).collect();
        assert_eq!(names, ["vdsm", "os"]);
        assert_eq!(updates[1].current_version, "RHEL 8.9");
        assert_eq!(updates[1].available_version, "RHEL 9.4");
    }

    #[test]
    fn an_unmonitored_newer_package_is_no_update() {
        let monitored = Monitored::from_lists(["vdsm"]);
        let host = installed(&[("vdsm", "4.50.3"), ("libvirt", "8.0.0")]);
        assert!(available_updates(&host, "RHEL 9.4", &repository(), &monitored).is_empty());
    }

    #[test]
    fn other_os_families_are_not_upgraded() {
        let monitored = Monitored::from_lists([""]);
        assert!(available_updates(
            &installed(&[]),
            "CentOS Stream 8",
            &repository(),
            &monitored
        )
        .is_empty());
        assert!(available_updates(&installed(&[]), "weird", &repository(), &monitored).is_empty());
    }

    #[test]
    fn a_node_is_offered_its_newer_image_and_nothing_else() {
        let monitored = Monitored::from_lists(["*"]);
        let mut host = SimHost {
            os: "RHEL 8.9".into(),
            packages: installed(&[("vdsm", "4.50.2")]),
            fail: "none".into(),
            upgrade_seconds: 1.0,
            reboot_seconds: 1.0,
            reinstall_seconds: 1.0,
            image: Some("4.5.2".into()),
        };
        let updates = host_updates(&host, &repository(), &monitored);
        assert_eq!(updates.len(), 1);
        assert_eq!(updates[0].name, NODE_IMAGE);
        assert_eq!(updates[0].available_version, "4.5.3");
        host.image = Some("4.5.3".into());
        assert!(host_updates(&host, &repository(), &monitored).is_empty());
        host.image = None;
        assert_eq!(host_updates(&host, &repository(), &monitored).len(), 2);
    }
}
