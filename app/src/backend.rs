//! The service as the portal's server functions see it (server side only).
//!
//! `app` must not depend on `server`, yet its server functions have to reach the one service
//! that decides everything. The server implements this trait and hands an `Arc<dyn Backend>`
//! to Leptos as context; the server functions look it up and call it. Every method takes the
//! caller, so permissions are checked by the service, never by a page.

use std::sync::Arc;

use crate::api::{
    ApiError, ApplianceRollback, ApplianceUpgrade, Caller, Cluster, ClusterUpdate,
    ClusterUpgradeOptions, ConfigEntry, Dashboard, Delivery, EngineStatus, ErrataInstall, Erratum,
    Event, EventQuery, HaMaintenance, Host, HostContent, HostContentLink, HostQuery, HostReinstall,
    HostedEngineInfo, Instance, Job, JobControl, NewSubscription, Page, Placement, PolicyViolation,
    PreflightLine, Provider, ProviderInput, ProviderTest, Subscription, UpgradePlan, Vm, VmAction,
    VmMigrate, VmQuery, WaitingHost,
};

#[async_trait::async_trait]
pub trait Backend: Send + Sync + 'static {
    async fn dashboard(&self, caller: &Caller) -> Result<Dashboard, ApiError>;
    async fn hosts(&self, caller: &Caller, query: &HostQuery) -> Result<Page<Host>, ApiError>;
    async fn host(&self, caller: &Caller, id: &str) -> Result<Host, ApiError>;
    async fn clusters(&self, caller: &Caller) -> Result<Vec<Cluster>, ApiError>;
    async fn cluster(&self, caller: &Caller, id: &str) -> Result<Cluster, ApiError>;
    async fn vms(&self, caller: &Caller, query: &VmQuery) -> Result<Page<Vm>, ApiError>;
    async fn vm(&self, caller: &Caller, id: &str) -> Result<Vm, ApiError>;
    async fn vm_placement(&self, caller: &Caller, id: &str) -> Result<Placement, ApiError>;
    async fn vm_action(&self, caller: &Caller, id: &str, action: VmAction) -> Result<Vm, ApiError>;
    async fn events(&self, caller: &Caller, query: &EventQuery) -> Result<Page<Event>, ApiError>;
    async fn check_host(&self, caller: &Caller, id: &str) -> Result<Job, ApiError>;
    async fn job(&self, caller: &Caller, id: &str) -> Result<Job, ApiError>;
    async fn upgrade_host(&self, caller: &Caller, id: &str, reboot: bool) -> Result<Job, ApiError>;
    async fn deactivate_host(&self, caller: &Caller, id: &str) -> Result<Job, ApiError>;
    async fn activate_host(&self, caller: &Caller, id: &str) -> Result<Job, ApiError>;
    async fn ha_maintenance(
        &self,
        caller: &Caller,
        id: &str,
        request: HaMaintenance,
    ) -> Result<Job, ApiError>;
    async fn check_cluster(&self, caller: &Caller, id: &str) -> Result<Job, ApiError>;
    async fn update_cluster(
        &self,
        caller: &Caller,
        id: &str,
        update: ClusterUpdate,
    ) -> Result<Cluster, ApiError>;
    async fn policy_violations(
        &self,
        caller: &Caller,
        id: &str,
        policy: &str,
    ) -> Result<Vec<PolicyViolation>, ApiError>;
    async fn migrate_vm(
        &self,
        caller: &Caller,
        id: &str,
        request: VmMigrate,
    ) -> Result<Job, ApiError>;
    async fn reinstall_host(
        &self,
        caller: &Caller,
        id: &str,
        request: HostReinstall,
    ) -> Result<Job, ApiError>;
    async fn plan_upgrade(
        &self,
        caller: &Caller,
        cluster_id: &str,
        options: &ClusterUpgradeOptions,
    ) -> Result<UpgradePlan, ApiError>;
    async fn start_upgrade(
        &self,
        caller: &Caller,
        cluster_id: &str,
        options: ClusterUpgradeOptions,
    ) -> Result<Job, ApiError>;
    async fn control_job(
        &self,
        caller: &Caller,
        job_id: &str,
        control: JobControl,
    ) -> Result<Job, ApiError>;
    /// The host upgrade jobs of a cluster upgrade, oldest first.
    async fn run_host_jobs(&self, caller: &Caller, job_id: &str) -> Result<Vec<Job>, ApiError>;
    /// The hosts of a cluster upgrade not started yet, with their planned wave.
    async fn run_waiting_hosts(
        &self,
        caller: &Caller,
        job_id: &str,
    ) -> Result<Vec<WaitingHost>, ApiError>;
    async fn engine(&self, caller: &Caller) -> Result<EngineStatus, ApiError>;
    /// The Uplift instances sharing the database, for the About dialog.
    async fn list_instances(&self, caller: &Caller) -> Result<Vec<Instance>, ApiError>;
    /// `closed_for_now`: the version whose dialog this session closed (it comes back at the
    /// next login).
    async fn engine_notice(
        &self,
        caller: &Caller,
        closed_for_now: Option<&str>,
    ) -> Result<Option<EngineStatus>, ApiError>;
    async fn check_engine(&self, caller: &Caller) -> Result<EngineStatus, ApiError>;
    async fn dismiss_engine_update(&self, caller: &Caller, version: &str) -> Result<(), ApiError>;
    async fn subscriptions(&self, caller: &Caller) -> Result<Vec<Subscription>, ApiError>;
    async fn subscribe(
        &self,
        caller: &Caller,
        new: NewSubscription,
    ) -> Result<Subscription, ApiError>;
    async fn unsubscribe(&self, caller: &Caller, id: &str) -> Result<(), ApiError>;
    async fn deliveries(&self, caller: &Caller) -> Result<Vec<Delivery>, ApiError>;
    async fn config(&self, caller: &Caller) -> Result<Vec<ConfigEntry>, ApiError>;
    async fn set_config(
        &self,
        caller: &Caller,
        name: &str,
        value: &str,
    ) -> Result<ConfigEntry, ApiError>;
    async fn hosted_engine(&self, caller: &Caller) -> Result<HostedEngineInfo, ApiError>;
    async fn appliance_preflight(
        &self,
        caller: &Caller,
        request: &ApplianceUpgrade,
    ) -> Result<Vec<PreflightLine>, ApiError>;
    async fn upgrade_appliance(
        &self,
        caller: &Caller,
        request: &ApplianceUpgrade,
    ) -> Result<Job, ApiError>;
    async fn rollback_appliance(
        &self,
        caller: &Caller,
        request: &ApplianceRollback,
    ) -> Result<Job, ApiError>;
    async fn delete_engine_backup(&self, caller: &Caller, id: &str) -> Result<(), ApiError>;
    /// The host's errata; `None` when it is not linked to a content provider.
    async fn host_errata(
        &self,
        caller: &Caller,
        id: &str,
    ) -> Result<Option<Vec<Erratum>>, ApiError>;
    async fn host_content(&self, caller: &Caller, id: &str) -> Result<HostContent, ApiError>;
    async fn link_host_content(
        &self,
        caller: &Caller,
        id: &str,
        link: HostContentLink,
    ) -> Result<HostContent, ApiError>;
    async fn install_errata(
        &self,
        caller: &Caller,
        id: &str,
        request: ErrataInstall,
    ) -> Result<Job, ApiError>;
    async fn providers(&self, caller: &Caller) -> Result<Vec<Provider>, ApiError>;
    /// Registers a provider (`id: None`) or changes one.
    async fn save_provider(
        &self,
        caller: &Caller,
        id: Option<String>,
        input: ProviderInput,
    ) -> Result<Provider, ApiError>;
    async fn delete_provider(&self, caller: &Caller, id: &str) -> Result<(), ApiError>;
    async fn test_provider(&self, caller: &Caller, id: &str) -> Result<ProviderTest, ApiError>;
}

/// The handle the server puts into Leptos context.
pub type SharedBackend = Arc<dyn Backend>;
