//! Server functions: the portal's thin doors into the service.
//!
//! Each one finds the caller (put into the request by the server's auth layer) and the
//! backend, and calls it; no rule lives here. They use the `/rpc` prefix because `/api` belongs
//! to the REST API of SPEC §4.

use leptos::prelude::*;
use leptos::server_fn::codec::Json;

use crate::api::{
    ApplianceRollback, ApplianceUpgrade, Caller, Cluster, ClusterUpdate, ClusterUpgradeOptions,
    ConfigEntry, Dashboard, Delivery, EngineStatus, ErrataInstall, Erratum, Event, EventQuery,
    HaMaintenance, Host, HostContent, HostContentLink, HostQuery, HostReinstall, HostedEngineInfo,
    Instance, Job, JobControl, NewSubscription, Page, Placement, PolicyViolation, PreflightLine,
    Provider, ProviderInput, ProviderTest, Subscription, UpgradePlan, Vm, VmAction, VmMigrate,
    VmQuery, WaitingHost,
};

/// Server functions answer JSON (server_fn's `Json` answers the same bytes) that the browser
/// reads with `serde_json::from_str`, the reader of the page data a page hydrates from the
/// server's HTML (codee's `JsonSerdeCodec`): each answer type then has one deserializer in the
/// WASM, not one per reader (issue 20's budget for the first load).
pub struct JsonText;

/// A `POST` answered in [`JsonText`].
pub type JsonTextAnswer = leptos::server_fn::codec::Post<JsonText>;

mod json_text {
    use leptos::server_fn::{ContentType, Decodes, Encodes, Format, FormatType};
    use serde::de::{DeserializeOwned, Error as _};

    use super::JsonText;

    impl ContentType for JsonText {
        const CONTENT_TYPE: &'static str = "application/json";
    }

    impl FormatType for JsonText {
        const FORMAT_TYPE: Format = Format::Text;
    }

    impl<T: serde::Serialize> Encodes<T> for JsonText {
        type Error = serde_json::Error;

        fn encode(output: &T) -> Result<leptos::server_fn::Bytes, Self::Error> {
            serde_json::to_vec(output).map(leptos::server_fn::Bytes::from)
        }
    }

    impl<T: DeserializeOwned> Decodes<T> for JsonText {
        type Error = serde_json::Error;

        fn decode(bytes: leptos::server_fn::Bytes) -> Result<T, Self::Error> {
            let text = std::str::from_utf8(&bytes).map_err(serde_json::Error::custom)?;
            serde_json::from_str(text)
        }
    }
}

#[cfg(feature = "ssr")]
mod context {
    use leptos::prelude::*;

    use crate::api::{ApiError, Caller};
    use crate::backend::SharedBackend;

    /// The signed-in user of this request, if any.
    pub fn caller() -> Option<Caller> {
        use_context::<http::request::Parts>()?
            .extensions
            .get::<Caller>()
            .cloned()
    }

    /// The caller and the backend, or the error a signed-out browser sees.
    pub fn session() -> Result<(Caller, SharedBackend), ServerFnError> {
        let caller = caller()
            .ok_or_else(|| fail(ApiError::new("unauthenticated", "You are not logged in.")))?;
        let backend = use_context::<SharedBackend>()
            .ok_or_else(|| fail(ApiError::new("internal_error", "The server is not ready.")))?;
        Ok((caller, backend))
    }

    /// This browser's session (the engine notice closed for now is kept there).
    pub fn browser_session() -> Option<tower_sessions::Session> {
        use_context::<http::request::Parts>()?
            .extensions
            .get::<tower_sessions::Session>()
            .cloned()
    }

    /// The session key of the engine update version whose dialog was closed for now.
    pub const NOTICE_CLOSED: &str = "engine_notice_closed";

    /// The error for the browser, with the status the REST API would answer.
    pub fn fail(error: ApiError) -> ServerFnError {
        if let Some(response) = use_context::<leptos_axum::ResponseOptions>() {
            response.set_status(
                http::StatusCode::from_u16(error.status())
                    .unwrap_or(http::StatusCode::INTERNAL_SERVER_ERROR),
            );
        }
        ServerFnError::new(error.message)
    }
}

#[server(prefix = "/rpc", output = JsonTextAnswer)]
pub async fn whoami() -> Result<Option<Caller>, ServerFnError> {
    Ok(context::caller())
}

#[server(prefix = "/rpc", output = JsonTextAnswer)]
pub async fn list_subscriptions() -> Result<Vec<Subscription>, ServerFnError> {
    let (caller, backend) = context::session()?;
    backend.subscriptions(&caller).await.map_err(context::fail)
}

#[server(prefix = "/rpc", input = Json, output = JsonTextAnswer)]
pub async fn add_subscription(new: NewSubscription) -> Result<Subscription, ServerFnError> {
    let (caller, backend) = context::session()?;
    backend.subscribe(&caller, new).await.map_err(context::fail)
}

#[server(prefix = "/rpc", output = JsonTextAnswer)]
pub async fn remove_subscription(id: String) -> Result<(), ServerFnError> {
    let (caller, backend) = context::session()?;
    backend
        .unsubscribe(&caller, &id)
        .await
        .map_err(context::fail)
}

#[server(prefix = "/rpc", output = JsonTextAnswer)]
pub async fn list_deliveries() -> Result<Vec<Delivery>, ServerFnError> {
    let (caller, backend) = context::session()?;
    backend.deliveries(&caller).await.map_err(context::fail)
}

#[server(prefix = "/rpc", output = JsonTextAnswer)]
pub async fn get_engine() -> Result<EngineStatus, ServerFnError> {
    let (caller, backend) = context::session()?;
    backend.engine(&caller).await.map_err(context::fail)
}

/// The Uplift instances on this database (About dialog).
#[server(prefix = "/rpc", output = JsonTextAnswer)]
pub async fn get_instances() -> Result<Vec<Instance>, ServerFnError> {
    let (caller, backend) = context::session()?;
    backend.list_instances(&caller).await.map_err(context::fail)
}

/// The engine update this user should be told about after login, if any.
#[server(prefix = "/rpc", output = JsonTextAnswer)]
pub async fn get_engine_notice() -> Result<Option<EngineStatus>, ServerFnError> {
    let (caller, backend) = context::session()?;
    let closed = match context::browser_session() {
        Some(session) => session
            .get::<String>(context::NOTICE_CLOSED)
            .await
            .ok()
            .flatten(),
        None => None,
    };
    backend
        .engine_notice(&caller, closed.as_deref())
        .await
        .map_err(context::fail)
}

/// Closes the engine update dialog for this session: it comes back at the next login.
#[server(prefix = "/rpc", output = JsonTextAnswer)]
pub async fn close_engine_notice(version: String) -> Result<(), ServerFnError> {
    context::session()?;
    let session = context::browser_session().ok_or_else(|| {
        context::fail(crate::api::ApiError::new(
            "invalid_session",
            "Only a signed-in browser session can close the dialog for now.",
        ))
    })?;
    session
        .insert(context::NOTICE_CLOSED, version)
        .await
        .map_err(|e| {
            context::fail(crate::api::ApiError::new(
                "internal_error",
                format!("the session could not be written: {e}"),
            ))
        })
}

#[server(prefix = "/rpc", input = Json, output = JsonTextAnswer)]
pub async fn update_cluster(id: String, update: ClusterUpdate) -> Result<Cluster, ServerFnError> {
    let (caller, backend) = context::session()?;
    backend
        .update_cluster(&caller, &id, update)
        .await
        .map_err(context::fail)
}

#[server(prefix = "/rpc", output = JsonTextAnswer)]
pub async fn cluster_policy_violations(
    id: String,
    policy: String,
) -> Result<Vec<PolicyViolation>, ServerFnError> {
    let (caller, backend) = context::session()?;
    backend
        .policy_violations(&caller, &id, &policy)
        .await
        .map_err(context::fail)
}

#[server(prefix = "/rpc", input = Json, output = JsonTextAnswer)]
pub async fn migrate_vm(id: String, request: VmMigrate) -> Result<Job, ServerFnError> {
    let (caller, backend) = context::session()?;
    backend
        .migrate_vm(&caller, &id, request)
        .await
        .map_err(context::fail)
}

#[server(prefix = "/rpc", input = Json, output = JsonTextAnswer)]
pub async fn reinstall_host(id: String, request: HostReinstall) -> Result<Job, ServerFnError> {
    let (caller, backend) = context::session()?;
    backend
        .reinstall_host(&caller, &id, request)
        .await
        .map_err(context::fail)
}

#[server(prefix = "/rpc", output = JsonTextAnswer)]
pub async fn check_engine_now() -> Result<EngineStatus, ServerFnError> {
    let (caller, backend) = context::session()?;
    backend.check_engine(&caller).await.map_err(context::fail)
}

#[server(prefix = "/rpc", output = JsonTextAnswer)]
pub async fn dismiss_engine_update(version: String) -> Result<(), ServerFnError> {
    let (caller, backend) = context::session()?;
    backend
        .dismiss_engine_update(&caller, &version)
        .await
        .map_err(context::fail)
}

#[server(prefix = "/rpc", output = JsonTextAnswer)]
pub async fn get_dashboard() -> Result<Dashboard, ServerFnError> {
    let (caller, backend) = context::session()?;
    backend.dashboard(&caller).await.map_err(context::fail)
}

#[server(prefix = "/rpc", input = Json, output = JsonTextAnswer)]
pub async fn list_hosts(query: HostQuery) -> Result<Page<Host>, ServerFnError> {
    let (caller, backend) = context::session()?;
    backend.hosts(&caller, &query).await.map_err(context::fail)
}

#[server(prefix = "/rpc", output = JsonTextAnswer)]
pub async fn get_host(id: String) -> Result<Host, ServerFnError> {
    let (caller, backend) = context::session()?;
    backend.host(&caller, &id).await.map_err(context::fail)
}

#[server(prefix = "/rpc", output = JsonTextAnswer)]
pub async fn list_clusters() -> Result<Vec<Cluster>, ServerFnError> {
    let (caller, backend) = context::session()?;
    backend.clusters(&caller).await.map_err(context::fail)
}

#[server(prefix = "/rpc", output = JsonTextAnswer)]
pub async fn get_cluster(id: String) -> Result<Cluster, ServerFnError> {
    let (caller, backend) = context::session()?;
    backend.cluster(&caller, &id).await.map_err(context::fail)
}

#[server(prefix = "/rpc", input = Json, output = JsonTextAnswer)]
pub async fn list_vms(query: VmQuery) -> Result<Page<Vm>, ServerFnError> {
    let (caller, backend) = context::session()?;
    backend.vms(&caller, &query).await.map_err(context::fail)
}

#[server(prefix = "/rpc", output = JsonTextAnswer)]
pub async fn check_cluster(id: String) -> Result<Job, ServerFnError> {
    let (caller, backend) = context::session()?;
    backend
        .check_cluster(&caller, &id)
        .await
        .map_err(context::fail)
}

#[server(prefix = "/rpc", input = Json, output = JsonTextAnswer)]
pub async fn plan_upgrade(
    cluster_id: String,
    options: ClusterUpgradeOptions,
) -> Result<UpgradePlan, ServerFnError> {
    let (caller, backend) = context::session()?;
    backend
        .plan_upgrade(&caller, &cluster_id, &options)
        .await
        .map_err(context::fail)
}

#[server(prefix = "/rpc", input = Json, output = JsonTextAnswer)]
pub async fn start_upgrade(
    cluster_id: String,
    options: ClusterUpgradeOptions,
) -> Result<Job, ServerFnError> {
    let (caller, backend) = context::session()?;
    backend
        .start_upgrade(&caller, &cluster_id, options)
        .await
        .map_err(context::fail)
}

#[server(prefix = "/rpc", input = Json, output = JsonTextAnswer)]
pub async fn control_job(job_id: String, control: JobControl) -> Result<Job, ServerFnError> {
    let (caller, backend) = context::session()?;
    backend
        .control_job(&caller, &job_id, control)
        .await
        .map_err(context::fail)
}

#[server(prefix = "/rpc", output = JsonTextAnswer)]
pub async fn run_host_jobs(job_id: String) -> Result<Vec<Job>, ServerFnError> {
    let (caller, backend) = context::session()?;
    backend
        .run_host_jobs(&caller, &job_id)
        .await
        .map_err(context::fail)
}

#[server(prefix = "/rpc", output = JsonTextAnswer)]
pub async fn run_waiting_hosts(job_id: String) -> Result<Vec<WaitingHost>, ServerFnError> {
    let (caller, backend) = context::session()?;
    backend
        .run_waiting_hosts(&caller, &job_id)
        .await
        .map_err(context::fail)
}

#[server(prefix = "/rpc", output = JsonTextAnswer)]
pub async fn get_vm(id: String) -> Result<Vm, ServerFnError> {
    let (caller, backend) = context::session()?;
    backend.vm(&caller, &id).await.map_err(context::fail)
}

#[server(prefix = "/rpc", output = JsonTextAnswer)]
pub async fn get_vm_placement(id: String) -> Result<Placement, ServerFnError> {
    let (caller, backend) = context::session()?;
    backend
        .vm_placement(&caller, &id)
        .await
        .map_err(context::fail)
}

#[server(prefix = "/rpc", input = Json, output = JsonTextAnswer)]
pub async fn act_on_vm(id: String, action: VmAction) -> Result<Vm, ServerFnError> {
    let (caller, backend) = context::session()?;
    backend
        .vm_action(&caller, &id, action)
        .await
        .map_err(context::fail)
}

#[server(prefix = "/rpc", input = Json, output = JsonTextAnswer)]
pub async fn list_events(query: EventQuery) -> Result<Page<Event>, ServerFnError> {
    let (caller, backend) = context::session()?;
    backend.events(&caller, &query).await.map_err(context::fail)
}

#[server(prefix = "/rpc", output = JsonTextAnswer)]
pub async fn check_host(id: String) -> Result<Job, ServerFnError> {
    let (caller, backend) = context::session()?;
    backend
        .check_host(&caller, &id)
        .await
        .map_err(context::fail)
}

#[server(prefix = "/rpc", output = JsonTextAnswer)]
pub async fn get_job(id: String) -> Result<Job, ServerFnError> {
    let (caller, backend) = context::session()?;
    backend.job(&caller, &id).await.map_err(context::fail)
}

#[server(prefix = "/rpc", output = JsonTextAnswer)]
pub async fn list_config() -> Result<Vec<ConfigEntry>, ServerFnError> {
    let (caller, backend) = context::session()?;
    backend.config(&caller).await.map_err(context::fail)
}

#[server(prefix = "/rpc", output = JsonTextAnswer)]
pub async fn set_config(name: String, value: String) -> Result<ConfigEntry, ServerFnError> {
    let (caller, backend) = context::session()?;
    backend
        .set_config(&caller, &name, &value)
        .await
        .map_err(context::fail)
}

#[server(prefix = "/rpc", output = JsonTextAnswer)]
pub async fn upgrade_host(id: String, reboot: bool) -> Result<Job, ServerFnError> {
    let (caller, backend) = context::session()?;
    backend
        .upgrade_host(&caller, &id, reboot)
        .await
        .map_err(context::fail)
}

#[server(prefix = "/rpc", output = JsonTextAnswer)]
pub async fn deactivate_host(id: String) -> Result<Job, ServerFnError> {
    let (caller, backend) = context::session()?;
    backend
        .deactivate_host(&caller, &id)
        .await
        .map_err(context::fail)
}

#[server(prefix = "/rpc", input = Json, output = JsonTextAnswer)]
pub async fn set_ha_maintenance(id: String, request: HaMaintenance) -> Result<Job, ServerFnError> {
    let (caller, backend) = context::session()?;
    backend
        .ha_maintenance(&caller, &id, request)
        .await
        .map_err(context::fail)
}

#[server(prefix = "/rpc", output = JsonTextAnswer)]
pub async fn activate_host(id: String) -> Result<Job, ServerFnError> {
    let (caller, backend) = context::session()?;
    backend
        .activate_host(&caller, &id)
        .await
        .map_err(context::fail)
}

#[server(prefix = "/rpc", output = JsonTextAnswer)]
pub async fn get_hosted_engine() -> Result<HostedEngineInfo, ServerFnError> {
    let (caller, backend) = context::session()?;
    backend.hosted_engine(&caller).await.map_err(context::fail)
}

#[server(prefix = "/rpc", input = Json, output = JsonTextAnswer)]
pub async fn appliance_preflight(
    request: ApplianceUpgrade,
) -> Result<Vec<PreflightLine>, ServerFnError> {
    let (caller, backend) = context::session()?;
    backend
        .appliance_preflight(&caller, &request)
        .await
        .map_err(context::fail)
}

#[server(prefix = "/rpc", input = Json, output = JsonTextAnswer)]
pub async fn upgrade_appliance(request: ApplianceUpgrade) -> Result<Job, ServerFnError> {
    let (caller, backend) = context::session()?;
    backend
        .upgrade_appliance(&caller, &request)
        .await
        .map_err(context::fail)
}

#[server(prefix = "/rpc", input = Json, output = JsonTextAnswer)]
pub async fn rollback_appliance(request: ApplianceRollback) -> Result<Job, ServerFnError> {
    let (caller, backend) = context::session()?;
    backend
        .rollback_appliance(&caller, &request)
        .await
        .map_err(context::fail)
}

#[server(prefix = "/rpc", output = JsonTextAnswer)]
pub async fn delete_engine_backup(id: String) -> Result<(), ServerFnError> {
    let (caller, backend) = context::session()?;
    backend
        .delete_engine_backup(&caller, &id)
        .await
        .map_err(context::fail)
}

#[server(prefix = "/rpc", output = JsonTextAnswer)]
pub async fn get_host_errata(id: String) -> Result<Option<Vec<Erratum>>, ServerFnError> {
    let (caller, backend) = context::session()?;
    backend
        .host_errata(&caller, &id)
        .await
        .map_err(context::fail)
}

#[server(prefix = "/rpc", output = JsonTextAnswer)]
pub async fn get_host_content(id: String) -> Result<HostContent, ServerFnError> {
    let (caller, backend) = context::session()?;
    backend
        .host_content(&caller, &id)
        .await
        .map_err(context::fail)
}

#[server(prefix = "/rpc", input = Json, output = JsonTextAnswer)]
pub async fn link_host_content(
    id: String,
    link: HostContentLink,
) -> Result<HostContent, ServerFnError> {
    let (caller, backend) = context::session()?;
    backend
        .link_host_content(&caller, &id, link)
        .await
        .map_err(context::fail)
}

#[server(prefix = "/rpc", input = Json, output = JsonTextAnswer)]
pub async fn install_errata(id: String, request: ErrataInstall) -> Result<Job, ServerFnError> {
    let (caller, backend) = context::session()?;
    backend
        .install_errata(&caller, &id, request)
        .await
        .map_err(context::fail)
}

#[server(prefix = "/rpc", output = JsonTextAnswer)]
pub async fn get_providers() -> Result<Vec<Provider>, ServerFnError> {
    let (caller, backend) = context::session()?;
    backend.providers(&caller).await.map_err(context::fail)
}

#[server(prefix = "/rpc", input = Json, output = JsonTextAnswer)]
pub async fn save_provider(
    id: Option<String>,
    input: ProviderInput,
) -> Result<Provider, ServerFnError> {
    let (caller, backend) = context::session()?;
    backend
        .save_provider(&caller, id, input)
        .await
        .map_err(context::fail)
}

#[server(prefix = "/rpc", output = JsonTextAnswer)]
pub async fn delete_provider(id: String) -> Result<(), ServerFnError> {
    let (caller, backend) = context::session()?;
    backend
        .delete_provider(&caller, &id)
        .await
        .map_err(context::fail)
}

#[server(prefix = "/rpc", output = JsonTextAnswer)]
pub async fn test_provider(id: String) -> Result<ProviderTest, ServerFnError> {
    let (caller, backend) = context::session()?;
    backend
        .test_provider(&caller, &id)
        .await
        .map_err(context::fail)
}
