//! `GET /ovirt-engine/api`: the product (Uplift, its version) and a link to each collection
//! this server has — the only ones a client can follow.

use app::api::Caller;
use axum::extract::State;

use super::{ovirt_user_name, time_of, Answer, Client, Elem, Reply};
use crate::http::AppState;

/// The collections served, as the root's links name them.
const COLLECTIONS: [&str; 6] = [
    "clusters",
    "events",
    "hosts",
    "jobs",
    "schedulingpolicies",
    "vms",
];

fn version() -> Elem {
    let full = env!("CARGO_PKG_VERSION");
    let mut parts = full.split(['.', '-']);
    let mut number = || parts.next().and_then(|p| p.parse::<u32>().ok());
    let (major, minor, build) = (number(), number(), number());
    Elem::new("version")
        .maybe("build", build)
        .leaf("full_version", full)
        .maybe("major", major)
        .maybe("minor", minor)
}

fn user(caller: &Caller) -> Elem {
    Elem::new("authenticated_user")
        .attr("id", &caller.user_id)
        .leaf("name", &caller.name)
        .leaf("user_name", ovirt_user_name(&caller.name))
}

pub async fn api(State(state): State<AppState>, Client(caller): Client) -> Answer {
    let mut doc = Elem::new("api");
    for collection in COLLECTIONS {
        doc = doc.link(collection, collection);
    }
    let now = time::OffsetDateTime::now_utc()
        .format(&time::format_description::well_known::Rfc3339)
        .map(|now| time_of(&now))
        .unwrap_or_default();
    let product = Elem::new("product_info")
        .leaf("instance_id", state.service.instance_name())
        .leaf("name", "Uplift")
        .leaf("vendor", "Uplift")
        .child(version());
    Ok(Reply::ok(
        doc.child(product).leaf("time", now).child(user(&caller)),
    ))
}
