//! `/ovirt-engine/api/vms`: the list (`search=host=NAME` and the like), one VM, and the
//! actions `migrate` (to a host by id or name, or where the scheduler chooses), `start` and
//! `stop`.

use app::api::{Vm, VmAction, VmMigrate, VmQuery};
use axum::extract::{Path, State};
use axum::http::StatusCode;

use super::hosts::all_hosts;
use super::search::Fields;
use super::{action, every, reference, Answer, Client, Elem, Fault, Input, Listing, Reply};
use crate::http::AppState;
use crate::service::Actor;

fn render(vm: &Vm) -> Elem {
    let mut doc = Elem::entity("vm", &vm.id, &format!("vms/{}", vm.id))
        .leaf("name", &vm.name)
        .leaf("status", vm.status.as_str())
        .leaf("memory", vm.memory_mb * 1024 * 1024)
        .child(Elem::new("placement_policy").leaf("affinity", vm.migration.as_str()))
        .child(Elem::new("high_availability").leaf("enabled", vm.highly_available));
    if let Some(host) = &vm.host {
        doc = doc.child(reference("host", "hosts", host));
    }
    if let Some(cluster) = &vm.cluster {
        doc = doc.child(reference("cluster", "clusters", cluster));
    }
    doc
}

impl Fields for Vm {
    const NAMES: &'static [&'static str] = &["name", "id", "status", "host", "cluster"];

    fn field(&self, name: &str) -> Vec<String> {
        let named = |r: &Option<app::api::Ref>| r.iter().map(|r| r.name.clone()).collect();
        match name {
            "id" => vec![self.id.clone()],
            "status" => vec![self.status.as_str().to_string()],
            "host" => named(&self.host),
            "cluster" => named(&self.cluster),
            _ => vec![self.name.clone()],
        }
    }
}

pub async fn list(State(state): State<AppState>, _: Client, Listing(query): Listing) -> Answer {
    let vms = every(|page, per_page| {
        let query = VmQuery {
            page,
            per_page,
            ..VmQuery::default()
        };
        let state = &state;
        async move { state.service.vm_page(&query).await }
    })
    .await?;
    query.select("vms", vms, render)
}

pub async fn one(State(state): State<AppState>, _: Client, Path(id): Path<String>) -> Answer {
    Ok(Reply::ok(render(&state.service.vm_by_id(&id).await?)))
}

/// The host a migration names: `<host id="…"/>` or `<host><name>…</name></host>`.
async fn target(state: &AppState, input: &Input) -> Result<Option<String>, Fault> {
    let Some(host) = input.0.get("host") else {
        return Ok(None);
    };
    if let Some(id) = host.attr_of("id") {
        return Ok(Some(id.to_string()));
    }
    let Some(name) = host.text_of("name") else {
        return Err(Fault::bad("<host> names the target by id or by <name>."));
    };
    all_hosts(state)
        .await?
        .into_iter()
        .find(|h| h.name == name)
        .map(|h| Some(h.id))
        .ok_or_else(|| {
            Fault::new(
                StatusCode::NOT_FOUND,
                format!("There is no host named {name}."),
            )
        })
}

pub async fn migrate(
    State(state): State<AppState>,
    Client(caller): Client,
    Path(id): Path<String>,
    input: Input,
) -> Answer {
    input.only(&["host"])?;
    let host = target(&state, &input).await?;
    let job = state
        .service
        .migrate_vm_by_hand(Actor::User(&caller), &id, VmMigrate { host })
        .await?;
    Ok(Reply::ok(action(Some(&job))))
}

async fn act(state: AppState, caller: app::api::Caller, id: String, what: VmAction) -> Answer {
    let vm = state
        .service
        .act_on_vm(Actor::User(&caller), &id, what)
        .await?;
    Ok(Reply::ok(action(None).child(render(&vm))))
}

pub async fn start(
    State(state): State<AppState>,
    Client(caller): Client,
    Path(id): Path<String>,
    input: Input,
) -> Answer {
    input.only(&[])?;
    act(state, caller, id, VmAction::Start).await
}

pub async fn stop(
    State(state): State<AppState>,
    Client(caller): Client,
    Path(id): Path<String>,
    input: Input,
) -> Answer {
    input.only(&[])?;
    act(state, caller, id, VmAction::Stop).await
}
