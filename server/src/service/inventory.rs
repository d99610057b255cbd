//! Reading the inventory, and loading the fleet file's world into it.

use app::api::{
    ApiError, ApplianceRollback, ApplianceUpgrade, Caller, Cluster, ClusterMemory, ClusterUpdate,
    ClusterUpgradeOptions, ConfigEntry, Dashboard, Delivery, EngineStatus, ErrataInstall, Erratum,
    Event, EventQuery, HaMaintenance, Host, HostContent, HostContentLink, HostMemory, HostQuery,
    HostReinstall, HostSort, HostStatus, HostedEngineInfo, Instance, Job, JobControl, LevelRange,
    NewSubscription, Page, Placement, PolicyViolation, PreflightLine, Provider, ProviderInput,
    ProviderTest, Ref, Severity, Subscription, UpgradePlan, Vm, VmAction, VmMigrate, VmQuery,
    WaitingHost, DEFAULT_PER_PAGE, MAX_PER_PAGE,
};
use app::backend::Backend;

use super::{Actor, Service, ServiceError, ServiceResult, UpgradeOptions};
use crate::domain::common_levels;
use crate::fleet::FleetFile;
use crate::store::Window;

/// How many events a listing without a page size returns: the log grows without bound.
const EVENTS_UNPAGED: u32 = 1000;

/// The rows a page asks for; `per_page: None` means every row (the REST API's default).
fn window(page: Option<u32>, per_page: Option<u32>) -> Window {
    Window {
        page: page.unwrap_or(1).max(1),
        per_page: per_page.map(|n| n.clamp(1, MAX_PER_PAGE)),
    }
}

fn paged<T>(items: Vec<T>, total: u64, window: Window) -> Page<T> {
    let per_page = window
        .per_page
        .unwrap_or_else(|| u32::try_from(total.max(1)).unwrap_or(u32::MAX));
    Page {
        items,
        total,
        page: window.page,
        per_page,
    }
}

impl Service {
    /// Loads the fleet into an empty database. Returns false when a world exists already:
    /// then the database is the truth, as a real datacenter outlives its manager's restarts.
    pub async fn load_world(&self, fleet: &FleetFile, source: &str) -> ServiceResult<bool> {
        if self.store().has_world().await? {
            return Ok(false);
        }
        let message = match fleet {
            FleetFile::Sim(fleet) => {
                self.store().load_fleet(fleet, source).await?;
                format!(
                    "Loaded the simulated fleet {source}: {} clusters, {} hosts, {} VMs.",
                    fleet.clusters.len(),
                    fleet.hosts.len(),
                    fleet.vms.len()
                )
            }
            FleetFile::Ssh(fleet) => {
                self.store().load_ssh_fleet(fleet, source).await?;
                format!(
                    "Loaded the real hosts of {source}: {} clusters, {} hosts reached over SSH.",
                    fleet.clusters.len(),
                    fleet.hosts.len()
                )
            }
        };
        self.record("fleet_loaded", Severity::Normal, message, None)
            .await?;
        Ok(true)
    }

    pub async fn host_page(&self, query: &HostQuery) -> ServiceResult<Page<Host>> {
        let window = window(query.page, query.per_page);
        let (hosts, total) = self.store().hosts(query, window).await?;
        Ok(paged(hosts, total, window))
    }

    pub async fn host_by_id(&self, id: &str) -> ServiceResult<Host> {
        self.store()
            .host(id)
            .await?
            .ok_or_else(|| ServiceError::NotFound(format!("There is no host with id {id}.")))
    }

    pub async fn cluster_list(&self) -> ServiceResult<Vec<Cluster>> {
        let mut clusters = self.store().clusters().await?;
        for cluster in &mut clusters {
            self.fill_levels(cluster).await?;
        }
        self.fill_security_errata(&mut clusters).await?;
        Ok(clusters)
    }

    pub async fn cluster_by_id(&self, id: &str) -> ServiceResult<Cluster> {
        let mut cluster =
            self.store().cluster(id).await?.ok_or_else(|| {
                ServiceError::NotFound(format!("There is no cluster with id {id}."))
            })?;
        self.fill_levels(&mut cluster).await?;
        self.fill_security_errata(std::slice::from_mut(&mut cluster))
            .await?;
        Ok(cluster)
    }

    /// `security_errata`: the sum over the hosts linked to a provider (issue 21).
    async fn fill_security_errata(&self, clusters: &mut [Cluster]) -> ServiceResult<()> {
        let security: std::collections::HashMap<String, i64> = self
            .store()
            .cluster_security_errata()
            .await?
            .into_iter()
            .collect();
        for cluster in clusters {
            cluster.security_errata = security
                .get(&cluster.id)
                .map(|n| u32::try_from(*n).unwrap_or(u32::MAX));
        }
        Ok(())
    }

    /// `supported_levels`: the range every host will support once the pending upgrades are in.
    async fn fill_levels(&self, cluster: &mut Cluster) -> ServiceResult<()> {
        let sets = self.store().cluster_level_sets(&cluster.id).await?;
        cluster.supported_levels = common_levels(&sets).map(|(min, max)| LevelRange { min, max });
        Ok(())
    }

    pub async fn vm_page(&self, query: &VmQuery) -> ServiceResult<Page<Vm>> {
        let window = window(query.page, query.per_page);
        let (vms, total) = self.store().vms(query, window).await?;
        Ok(paged(vms, total, window))
    }

    pub async fn vm_by_id(&self, id: &str) -> ServiceResult<Vm> {
        self.store()
            .vm(id)
            .await?
            .ok_or_else(|| ServiceError::NotFound(format!("There is no VM with id {id}.")))
    }

    pub async fn event_page(&self, query: &EventQuery) -> ServiceResult<Page<Event>> {
        let window = window(query.page, Some(query.per_page.unwrap_or(EVENTS_UNPAGED)));
        let (events, total) = self.store().events(query, window).await?;
        Ok(paged(events, total, window))
    }

    pub async fn event_by_id(&self, id: i64) -> ServiceResult<Event> {
        self.store()
            .events_with_ids(&[id])
            .await?
            .pop()
            .ok_or_else(|| ServiceError::NotFound(format!("There is no event with id {id}.")))
    }

    pub async fn dashboard_counts(&self) -> ServiceResult<Dashboard> {
        let counts = self.store().inventory_counts().await?;
        let count = |n: i64| u64::try_from(n).unwrap_or(0);
        // Every host, by cluster then by name.
        let mut memory: Vec<ClusterMemory> = Vec::new();
        let hosts = self
            .host_page(&HostQuery {
                sort: Some(HostSort::Cluster),
                ..HostQuery::default()
            })
            .await?
            .items;
        for host in hosts {
            let bar = HostMemory {
                host: Ref {
                    id: host.id,
                    name: host.name,
                },
                status: host.status,
                updates_available: host.updates_available,
                memory_mb: host.memory_mb,
            };
            match memory.last_mut() {
                Some(last) if last.cluster.id == host.cluster.id => last.hosts.push(bar),
                _ => memory.push(ClusterMemory {
                    cluster: host.cluster,
                    hosts: vec![bar],
                }),
            }
        }
        Ok(Dashboard {
            clusters: count(counts.clusters),
            hosts: count(counts.hosts),
            hosts_with_updates: count(counts.hosts_with_updates),
            vms: count(counts.vms),
            vms_running: count(counts.vms_running),
            hosts_by_status: counts
                .hosts_by_status
                .into_iter()
                .filter_map(|(status, n)| HostStatus::parse(&status).map(|s| (s, count(n))))
                .collect(),
            memory,
        })
    }
}

/// The portal's view of the service. Reading needs only a signed-in caller, which the server
/// functions guarantee before they get here.
#[async_trait::async_trait]
impl Backend for Service {
    async fn hosted_engine(&self, _caller: &Caller) -> Result<HostedEngineInfo, ApiError> {
        self.hosted_engine_info().await.map_err(|e| e.to_api())
    }

    async fn appliance_preflight(
        &self,
        _caller: &Caller,
        request: &ApplianceUpgrade,
    ) -> Result<Vec<PreflightLine>, ApiError> {
        self.appliance_preflight(request)
            .await
            .map_err(|e| e.to_api())
    }

    async fn upgrade_appliance(
        &self,
        caller: &Caller,
        request: &ApplianceUpgrade,
    ) -> Result<Job, ApiError> {
        self.upgrade_appliance(Actor::User(caller), request)
            .await
            .map_err(|e| e.to_api())
    }

    async fn rollback_appliance(
        &self,
        caller: &Caller,
        request: &ApplianceRollback,
    ) -> Result<Job, ApiError> {
        self.rollback_appliance(Actor::User(caller), request)
            .await
            .map_err(|e| e.to_api())
    }

    async fn delete_engine_backup(&self, caller: &Caller, id: &str) -> Result<(), ApiError> {
        self.delete_hosted_engine_backup(Actor::User(caller), id)
            .await
            .map_err(|e| e.to_api())
    }

    async fn host_errata(
        &self,
        _caller: &Caller,
        id: &str,
    ) -> Result<Option<Vec<Erratum>>, ApiError> {
        self.linked_host_errata(id).await.map_err(|e| e.to_api())
    }

    async fn host_content(&self, _caller: &Caller, id: &str) -> Result<HostContent, ApiError> {
        self.host_content(id).await.map_err(|e| e.to_api())
    }

    async fn link_host_content(
        &self,
        caller: &Caller,
        id: &str,
        link: HostContentLink,
    ) -> Result<HostContent, ApiError> {
        self.link_host_content(Actor::User(caller), id, link)
            .await
            .map_err(|e| e.to_api())
    }

    async fn install_errata(
        &self,
        caller: &Caller,
        id: &str,
        request: ErrataInstall,
    ) -> Result<Job, ApiError> {
        self.install_errata(Actor::User(caller), id, request)
            .await
            .map_err(|e| e.to_api())
    }

    async fn providers(&self, _caller: &Caller) -> Result<Vec<Provider>, ApiError> {
        self.providers().await.map_err(|e| e.to_api())
    }

    async fn save_provider(
        &self,
        caller: &Caller,
        id: Option<String>,
        input: ProviderInput,
    ) -> Result<Provider, ApiError> {
        let saved = match id {
            Some(id) => self.update_provider(Actor::User(caller), &id, input).await,
            None => self.add_provider(Actor::User(caller), input).await,
        };
        saved.map_err(|e| e.to_api())
    }

    async fn delete_provider(&self, caller: &Caller, id: &str) -> Result<(), ApiError> {
        self.delete_provider(Actor::User(caller), id)
            .await
            .map_err(|e| e.to_api())
    }

    async fn test_provider(&self, caller: &Caller, id: &str) -> Result<ProviderTest, ApiError> {
        self.test_provider(Actor::User(caller), id)
            .await
            .map_err(|e| e.to_api())
    }

    async fn dashboard(&self, _caller: &Caller) -> Result<Dashboard, ApiError> {
        self.dashboard_counts().await.map_err(|e| e.to_api())
    }

    async fn hosts(&self, _caller: &Caller, query: &HostQuery) -> Result<Page<Host>, ApiError> {
        let query = HostQuery {
            per_page: Some(query.per_page.unwrap_or(DEFAULT_PER_PAGE)),
            ..query.clone()
        };
        self.host_page(&query).await.map_err(|e| e.to_api())
    }

    async fn host(&self, _caller: &Caller, id: &str) -> Result<Host, ApiError> {
        self.host_by_id(id).await.map_err(|e| e.to_api())
    }

    async fn clusters(&self, _caller: &Caller) -> Result<Vec<Cluster>, ApiError> {
        self.cluster_list().await.map_err(|e| e.to_api())
    }

    async fn cluster(&self, _caller: &Caller, id: &str) -> Result<Cluster, ApiError> {
        self.cluster_by_id(id).await.map_err(|e| e.to_api())
    }

    async fn vms(&self, _caller: &Caller, query: &VmQuery) -> Result<Page<Vm>, ApiError> {
        let query = VmQuery {
            per_page: Some(query.per_page.unwrap_or(DEFAULT_PER_PAGE)),
            ..query.clone()
        };
        self.vm_page(&query).await.map_err(|e| e.to_api())
    }

    async fn events(&self, _caller: &Caller, query: &EventQuery) -> Result<Page<Event>, ApiError> {
        let query = EventQuery {
            per_page: Some(query.per_page.unwrap_or(DEFAULT_PER_PAGE)),
            ..query.clone()
        };
        self.event_page(&query).await.map_err(|e| e.to_api())
    }

    async fn check_host(&self, caller: &Caller, id: &str) -> Result<Job, ApiError> {
        self.check_host(Actor::User(caller), id)
            .await
            .map_err(|e| e.to_api())
    }

    async fn job(&self, _caller: &Caller, id: &str) -> Result<Job, ApiError> {
        self.job_by_id(id).await.map_err(|e| e.to_api())
    }

    async fn config(&self, _caller: &Caller) -> Result<Vec<ConfigEntry>, ApiError> {
        self.config_list().await.map_err(|e| e.to_api())
    }

    async fn set_config(
        &self,
        caller: &Caller,
        name: &str,
        value: &str,
    ) -> Result<ConfigEntry, ApiError> {
        self.config_set(Actor::User(caller), name, value)
            .await
            .map_err(|e| e.to_api())
    }

    async fn upgrade_host(&self, caller: &Caller, id: &str, reboot: bool) -> Result<Job, ApiError> {
        let options = UpgradeOptions {
            reboot,
            ..UpgradeOptions::default()
        };
        self.upgrade_host(Actor::User(caller), id, options)
            .await
            .map_err(|e| e.to_api())
    }

    async fn deactivate_host(&self, caller: &Caller, id: &str) -> Result<Job, ApiError> {
        self.deactivate_host(Actor::User(caller), id)
            .await
            .map_err(|e| e.to_api())
    }

    async fn ha_maintenance(
        &self,
        caller: &Caller,
        id: &str,
        request: HaMaintenance,
    ) -> Result<Job, ApiError> {
        self.ha_maintenance(Actor::User(caller), id, request)
            .await
            .map_err(|e| e.to_api())
    }

    async fn activate_host(&self, caller: &Caller, id: &str) -> Result<Job, ApiError> {
        self.activate_host(Actor::User(caller), id)
            .await
            .map_err(|e| e.to_api())
    }

    async fn subscriptions(&self, caller: &Caller) -> Result<Vec<Subscription>, ApiError> {
        self.subscriptions(caller).await.map_err(|e| e.to_api())
    }

    async fn subscribe(
        &self,
        caller: &Caller,
        new: NewSubscription,
    ) -> Result<Subscription, ApiError> {
        self.subscribe(caller, new).await.map_err(|e| e.to_api())
    }

    async fn unsubscribe(&self, caller: &Caller, id: &str) -> Result<(), ApiError> {
        self.unsubscribe(caller, id).await.map_err(|e| e.to_api())
    }

    async fn deliveries(&self, caller: &Caller) -> Result<Vec<Delivery>, ApiError> {
        self.deliveries(caller).await.map_err(|e| e.to_api())
    }

    async fn engine(&self, _caller: &Caller) -> Result<EngineStatus, ApiError> {
        self.engine_status().await.map_err(|e| e.to_api())
    }

    async fn list_instances(&self, _caller: &Caller) -> Result<Vec<Instance>, ApiError> {
        self.instances().await.map_err(|e| e.to_api())
    }

    async fn engine_notice(
        &self,
        caller: &Caller,
        closed_for_now: Option<&str>,
    ) -> Result<Option<EngineStatus>, ApiError> {
        self.engine_notice(&caller.user_id, caller.is_admin(), closed_for_now)
            .await
            .map_err(|e| e.to_api())
    }

    async fn check_engine(&self, caller: &Caller) -> Result<EngineStatus, ApiError> {
        self.check_engine(Actor::User(caller))
            .await
            .map_err(|e| e.to_api())
    }

    async fn dismiss_engine_update(&self, caller: &Caller, version: &str) -> Result<(), ApiError> {
        self.dismiss_engine_update(&caller.user_id, version)
            .await
            .map_err(|e| e.to_api())
    }

    async fn update_cluster(
        &self,
        caller: &Caller,
        id: &str,
        update: ClusterUpdate,
    ) -> Result<Cluster, ApiError> {
        self.update_cluster(Actor::User(caller), id, update)
            .await
            .map_err(|e| e.to_api())
    }

    async fn policy_violations(
        &self,
        caller: &Caller,
        id: &str,
        policy: &str,
    ) -> Result<Vec<PolicyViolation>, ApiError> {
        self.policy_violations(Actor::User(caller), id, policy)
            .await
            .map_err(|e| e.to_api())
    }

    async fn migrate_vm(
        &self,
        caller: &Caller,
        id: &str,
        request: VmMigrate,
    ) -> Result<Job, ApiError> {
        self.migrate_vm_by_hand(Actor::User(caller), id, request)
            .await
            .map_err(|e| e.to_api())
    }

    async fn reinstall_host(
        &self,
        caller: &Caller,
        id: &str,
        request: HostReinstall,
    ) -> Result<Job, ApiError> {
        self.reinstall_host(Actor::User(caller), id, request)
            .await
            .map_err(|e| e.to_api())
    }

    async fn check_cluster(&self, caller: &Caller, id: &str) -> Result<Job, ApiError> {
        self.check_cluster(Actor::User(caller), id)
            .await
            .map_err(|e| e.to_api())
    }

    async fn plan_upgrade(
        &self,
        _caller: &Caller,
        cluster_id: &str,
        options: &ClusterUpgradeOptions,
    ) -> Result<UpgradePlan, ApiError> {
        self.plan_cluster_upgrade(cluster_id, options)
            .await
            .map_err(|e| e.to_api())
    }

    async fn start_upgrade(
        &self,
        caller: &Caller,
        cluster_id: &str,
        options: ClusterUpgradeOptions,
    ) -> Result<Job, ApiError> {
        self.start_cluster_upgrade(Actor::User(caller), cluster_id, options)
            .await
            .map_err(|e| e.to_api())
    }

    async fn control_job(
        &self,
        caller: &Caller,
        job_id: &str,
        control: JobControl,
    ) -> Result<Job, ApiError> {
        self.control_job(Actor::User(caller), job_id, control)
            .await
            .map_err(|e| e.to_api())
    }

    async fn run_host_jobs(&self, _caller: &Caller, job_id: &str) -> Result<Vec<Job>, ApiError> {
        self.run_host_jobs(job_id).await.map_err(|e| e.to_api())
    }

    async fn run_waiting_hosts(
        &self,
        _caller: &Caller,
        job_id: &str,
    ) -> Result<Vec<WaitingHost>, ApiError> {
        self.run_waiting_hosts(job_id).await.map_err(|e| e.to_api())
    }

    async fn vm(&self, _caller: &Caller, id: &str) -> Result<Vm, ApiError> {
        self.vm_by_id(id).await.map_err(|e| e.to_api())
    }

    async fn vm_placement(&self, _caller: &Caller, id: &str) -> Result<Placement, ApiError> {
        self.vm_placement(id).await.map_err(|e| e.to_api())
    }

    async fn vm_action(&self, caller: &Caller, id: &str, action: VmAction) -> Result<Vm, ApiError> {
        self.act_on_vm(Actor::User(caller), id, action)
            .await
            .map_err(|e| e.to_api())
    }
}
