//! `/ovirt-engine/api/clusters` (list, get, update of the scheduling policy and the
//! compatibility version) and `/ovirt-engine/api/schedulingpolicies`. Uplift's scheduling
//! policies are named, so a policy's oVirt id is its name (`cluster_maintenance`).

use app::api::{Cluster, SchedulingPolicy};
use axum::extract::{Path, State};
use axum::http::StatusCode;

use super::search::Fields;
use super::{Answer, Client, Elem, Fault, Input, Listing, Reply};
use crate::http::AppState;
use crate::service::{Actor, ClusterUpdate};

fn policy_ref(policy: &str) -> Elem {
    Elem::entity(
        "scheduling_policy",
        policy,
        &format!("schedulingpolicies/{policy}"),
    )
    .leaf("name", policy)
}

fn render(cluster: &Cluster) -> Elem {
    let mut doc = Elem::entity("cluster", &cluster.id, &format!("clusters/{}", cluster.id))
        .leaf("name", &cluster.name);
    if let Some((major, minor)) = cluster.compatibility_version.split_once('.') {
        doc = doc.child(
            Elem::new("version")
                .leaf("major", major)
                .leaf("minor", minor),
        );
    }
    doc = doc
        .child(policy_ref(&cluster.scheduling_policy))
        .leaf("upgrade_in_progress", cluster.upgrade.is_some());
    if let Some(upgrade) = &cluster.upgrade {
        doc = doc.leaf(
            "upgrade_percent_complete",
            upgrade.percent_complete.round() as i64,
        );
    }
    doc
}

impl Fields for Cluster {
    const NAMES: &'static [&'static str] = &["name", "id"];

    fn field(&self, name: &str) -> Vec<String> {
        vec![match name {
            "id" => self.id.clone(),
            _ => self.name.clone(),
        }]
    }
}

pub async fn list(State(state): State<AppState>, _: Client, Listing(query): Listing) -> Answer {
    query.select("clusters", state.service.cluster_list().await?, render)
}

pub async fn one(State(state): State<AppState>, _: Client, Path(id): Path<String>) -> Answer {
    Ok(Reply::ok(render(&state.service.cluster_by_id(&id).await?)))
}

/// What an oVirt cluster update asks of Uplift's: the policy (by id or name) and the version.
fn update_of(input: &Input, cluster: &Cluster) -> Result<ClusterUpdate, Fault> {
    input.only(&["name", "scheduling_policy", "version"])?;
    if let Some(name) = input.0.text_of("name") {
        if name != cluster.name {
            return Err(Fault::bad(format!(
                "Cluster {} cannot be renamed here; only its scheduling policy and version change.",
                cluster.name
            )));
        }
    }
    let scheduling_policy = match input.0.get("scheduling_policy") {
        None => None,
        Some(policy) => match policy.attr_of("id").or_else(|| policy.text_of("name")) {
            Some(named) => Some(named.to_string()),
            None => {
                return Err(Fault::bad(
                    "<scheduling_policy> names the policy by id or by <name>.",
                ))
            }
        },
    };
    let compatibility_version = match input.0.get("version") {
        None => None,
        Some(version) => match (version.text_of("major"), version.text_of("minor")) {
            (Some(major), Some(minor)) => Some(format!("{}.{}", major.trim(), minor.trim())),
            _ => return Err(Fault::bad("<version> needs <major> and <minor>.")),
        },
    };
    Ok(ClusterUpdate {
        scheduling_policy,
        compatibility_version,
        force: false,
    })
}

pub async fn update(
    State(state): State<AppState>,
    Client(caller): Client,
    Path(id): Path<String>,
    input: Input,
) -> Answer {
    let cluster = state.service.cluster_by_id(&id).await?;
    let update = update_of(&input, &cluster)?;
    let cluster = state
        .service
        .update_cluster(Actor::User(&caller), &id, update)
        .await?;
    Ok(Reply::ok(render(&cluster)))
}

fn render_policy(policy: SchedulingPolicy) -> Elem {
    policy_ref(policy.as_str())
        .leaf("description", policy.label())
        .leaf("locked", true)
}

pub async fn policies(_: Client) -> Answer {
    let all = SchedulingPolicy::ALL
        .iter()
        .map(|p| render_policy(*p))
        .collect();
    Ok(Reply::ok(Elem::list("scheduling_policies", all)))
}

pub async fn policy(_: Client, Path(id): Path<String>) -> Answer {
    let policy = SchedulingPolicy::parse(&id).ok_or_else(|| {
        Fault::new(
            StatusCode::NOT_FOUND,
            format!("There is no scheduling policy with id {id}."),
        )
    })?;
    Ok(Reply::ok(render_policy(policy)))
}
