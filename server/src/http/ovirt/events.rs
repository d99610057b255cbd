//! `/ovirt-engine/api/events`: newest first, `from=ID` for the events after one, `max`, and
//! `search` by `type` (oVirt's numeric event code), `severity`, `correlation_id` and
//! `host.name`. Uplift's event codes are words; those with an oVirt counterpart carry its
//! number in `<code>` ([`OVIRT_CODES`]), the others have no `<code>`.

use app::api::{Event, EventQuery};
use axum::extract::{Path, State};
use axum::http::StatusCode;

use super::search::Fields;
use super::{reference, time_of, Answer, Client, Elem, Fault, Listing, Reply};
use crate::http::AppState;

/// Uplift's event codes and oVirt's `AuditLogType` numbers for the same happening: what
/// scripts wait for (the `cluster_upgrade` role waits for 842/841/888, 885/839/887).
pub const OVIRT_CODES: [(&str, u32); 7] = [
    ("host_update_check_failed", 839),
    ("host_upgrade_started", 840),
    ("host_upgrade_failed", 841),
    ("host_upgrade_finished", 842),
    ("host_update_check_started", 884),
    ("host_update_check_finished", 885),
    ("host_update_check_skipped", 887),
];

fn ovirt_code(code: &str) -> Option<u32> {
    OVIRT_CODES
        .iter()
        .find(|(ours, _)| *ours == code)
        .map(|(_, theirs)| *theirs)
}

fn render(event: &Event) -> Elem {
    let id = event.id.to_string();
    let mut doc = Elem::entity("event", &id, &format!("events/{id}"))
        .leaf("description", &event.message)
        .maybe("code", ovirt_code(&event.code))
        .leaf("index", &id)
        .leaf("origin", "Uplift")
        .leaf("severity", event.severity.as_str())
        .leaf("time", time_of(&event.time))
        .maybe("correlation_id", event.correlation_id.as_ref());
    if let Some(host) = &event.host {
        doc = doc.child(reference("host", "hosts", host));
    }
    if let Some(cluster) = &event.cluster {
        doc = doc.child(reference("cluster", "clusters", cluster));
    }
    if let Some(user) = &event.user {
        doc = doc.child(Elem::new("user").leaf("user_name", user));
    }
    doc
}

impl Fields for Event {
    const NAMES: &'static [&'static str] = &[
        "type",
        "severity",
        "correlation_id",
        "host.name",
        "event_host",
    ];

    fn field(&self, name: &str) -> Vec<String> {
        match name {
            "type" => ovirt_code(&self.code).iter().map(u32::to_string).collect(),
            "severity" => vec![self.severity.as_str().to_string()],
            "correlation_id" => self.correlation_id.iter().cloned().collect(),
            _ => self.host.iter().map(|h| h.name.clone()).collect(),
        }
    }
}

/// The most events one list reads (newest first) looking for matches: an unbounded search
/// would read the whole log.
const SCANNED: u32 = 10_000;
const PAGE: u32 = 1_000;

/// Events a page at a time, newest first, until `max` of them match or [`SCANNED`] were read.
pub async fn list(State(state): State<AppState>, _: Client, Listing(query): Listing) -> Answer {
    let search = query.search::<Event>()?;
    let max = query.max()?.unwrap_or(usize::MAX);
    let after = match query.from.as_deref().map(str::trim) {
        None | Some("") => None,
        Some(from) => Some(
            from.parse::<i64>()
                .map_err(|_| Fault::bad(format!("from is an event id, not {from:?}.")))?,
        ),
    };
    let mut chosen = Vec::new();
    // Events written while the pages are read push older ones down a page: skip any id at
    // or above the lowest one read so far.
    let mut lowest = i64::MAX;
    'pages: for page in 1..=SCANNED / PAGE {
        let found = state
            .service
            .event_page(&EventQuery {
                after,
                page: Some(page),
                per_page: Some(PAGE),
                ..EventQuery::default()
            })
            .await?;
        if found.items.is_empty() {
            break;
        }
        for event in &found.items {
            if event.id >= lowest {
                continue;
            }
            lowest = event.id;
            if chosen.len() >= max {
                break 'pages;
            }
            if search.matches(event) {
                chosen.push(render(event));
            }
        }
    }
    Ok(Reply::ok(Elem::list("events", chosen)))
}

pub async fn one(State(state): State<AppState>, _: Client, Path(id): Path<String>) -> Answer {
    let number: i64 = id.parse().map_err(|_| {
        Fault::new(
            StatusCode::NOT_FOUND,
            format!("There is no event with id {id}."),
        )
    })?;
    Ok(Reply::ok(render(&state.service.event_by_id(number).await?)))
}
