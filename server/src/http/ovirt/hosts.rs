//! `/ovirt-engine/api/hosts`: the list (with `search`), one host, and the actions
//! `upgradecheck`, `upgrade`, `deactivate` and `activate`, each answered with oVirt's
//! `<action>` and a link to the Uplift job that does it.

use app::api::{Host, HostQuery, HostType};
use axum::extract::{Path, State};

use super::search::Fields;
use super::{action, every, reference, Answer, Client, Elem, Fault, Input, Listing, Reply};
use crate::http::AppState;
use crate::service::{Actor, UpgradeOptions};

/// oVirt's host `<type>` for Uplift's.
fn host_type(t: HostType) -> &'static str {
    match t {
        HostType::Plain => "rhel",
        HostType::Node => "ovirt_node",
    }
}

pub(super) fn render(host: &Host) -> Elem {
    let path = format!("hosts/{}", host.id);
    let mut doc = Elem::entity("host", &host.id, &path)
        .leaf("name", &host.name)
        .leaf("address", &host.address)
        .leaf("status", host.status.as_str())
        .leaf("update_available", host.updates_available)
        .leaf("type", host_type(host.host_type))
        .leaf("memory", host.memory_mb.total * 1024 * 1024)
        .child(Elem::new("os").child(Elem::new("version").leaf("full_version", &host.os)))
        .child(Elem::new("summary").leaf("total", host.vm_count))
        .child(reference("cluster", "clusters", &host.cluster));
    if let Some(he) = host.hosted_engine {
        doc = doc.child(
            Elem::new("hosted_engine")
                .leaf("configured", he.configured)
                .leaf("active", he.active)
                .leaf("score", he.score)
                .leaf("global_maintenance", he.global_maintenance)
                .leaf("local_maintenance", he.local_maintenance),
        );
    }
    doc
}

impl Fields for Host {
    const NAMES: &'static [&'static str] = &[
        "name",
        "id",
        "address",
        "cluster",
        "status",
        "update_available",
        "type",
    ];

    fn field(&self, name: &str) -> Vec<String> {
        vec![match name {
            "id" => self.id.clone(),
            "address" => self.address.clone(),
            "cluster" => self.cluster.name.clone(),
            "status" => self.status.as_str().to_string(),
            "update_available" => self.updates_available.to_string(),
            "type" => host_type(self.host_type).to_string(),
            _ => self.name.clone(),
        }]
    }
}

/// Every host.
pub(super) async fn all_hosts(state: &AppState) -> Result<Vec<Host>, Fault> {
    every(|page, per_page| {
        let query = HostQuery {
            page,
            per_page,
            ..HostQuery::default()
        };
        async move { state.service.host_page(&query).await }
    })
    .await
}

pub async fn list(State(state): State<AppState>, _: Client, Listing(query): Listing) -> Answer {
    let hosts = all_hosts(&state).await?;
    query.select("hosts", hosts, render)
}

pub async fn one(State(state): State<AppState>, _: Client, Path(id): Path<String>) -> Answer {
    Ok(Reply::ok(render(&state.service.host_by_id(&id).await?)))
}

pub async fn upgrade(
    State(state): State<AppState>,
    Client(caller): Client,
    Path(id): Path<String>,
    input: Input,
) -> Answer {
    input.only(&["reboot", "timeout"])?;
    let mut options = UpgradeOptions::default();
    if let Some(reboot) = input.flag("reboot")? {
        options.reboot = reboot;
    }
    if let Some(timeout) = input.0.text_of("timeout") {
        let minutes = timeout.trim().parse().map_err(|_| {
            Fault::bad(format!(
                "<timeout> is a number of minutes, not {timeout:?}."
            ))
        })?;
        options.timeout_minutes = Some(minutes);
    }
    let job = state
        .service
        .upgrade_host(Actor::User(&caller), &id, options)
        .await?;
    Ok(Reply::ok(action(Some(&job))))
}

/// An action without parameters: the service's call, answered with its job.
async fn plain<'a, F, Fut>(input: Input, caller: &'a app::api::Caller, act: F) -> Answer
where
    F: FnOnce(Actor<'a>) -> Fut,
    Fut: std::future::Future<Output = crate::service::ServiceResult<app::api::Job>>,
{
    input.only(&[])?;
    let job = act(Actor::User(caller)).await?;
    Ok(Reply::ok(action(Some(&job))))
}

pub async fn upgradecheck(
    State(state): State<AppState>,
    Client(caller): Client,
    Path(id): Path<String>,
    input: Input,
) -> Answer {
    plain(input, &caller, |actor| state.service.check_host(actor, &id)).await
}

pub async fn deactivate(
    State(state): State<AppState>,
    Client(caller): Client,
    Path(id): Path<String>,
    input: Input,
) -> Answer {
    plain(input, &caller, |actor| {
        state.service.deactivate_host(actor, &id)
    })
    .await
}

pub async fn activate(
    State(state): State<AppState>,
    Client(caller): Client,
    Path(id): Path<String>,
    input: Input,
) -> Answer {
    plain(input, &caller, |actor| {
        state.service.activate_host(actor, &id)
    })
    .await
}
