//! The `foreman` content provider against a contract-test server: a stand-in for Katello that
//! answers with the shapes Katello's and Foreman's API documentation and views give
//! (docs/katello-api.md: the host search envelope, content facets, host errata, remote
//! execution job invocations, foreman-tasks, the 401 body). Not a live Katello.

mod common;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use app::api::{Erratum, ErratumType, HostContent, Job, JobStatus, Provider, ProviderTest};
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use base64::Engine;
use common::*;
use serde_json::{json, Value};

const LOGIN: &str = "uplift";
const SECRET: &str = "katello-secret";

/// What the stand-in Katello saw and how its tasks go.
#[derive(Default)]
struct Katello {
    invocations: Vec<Value>,
    /// Task uuid → polls so far, and whether it ends in error.
    tasks: HashMap<String, (u32, bool)>,
}

type Shared = Arc<Mutex<Katello>>;

/// The 401 answer for wrong credentials; `None` when they are right.
fn refused(headers: &HeaderMap) -> Option<Response> {
    let expected = format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("{LOGIN}:{SECRET}"))
    );
    let given = headers.get("authorization").and_then(|v| v.to_str().ok());
    if given == Some(expected.as_str()) {
        return None;
    }
    // foreman app/views/api/v2/errors/unauthorized.json.rabl in its error layout.
    Some(
        (
            StatusCode::UNAUTHORIZED,
            Json(json!({"error": {"message": format!("Unable to authenticate user {LOGIN}")}})),
        )
            .into_response(),
    )
}

/// A host as `api/v2/hosts/main.json.rabl` renders it; `registered` hosts have Katello's
/// content and subscription facets.
fn host_view(id: u64, name: &str, registered: bool) -> Value {
    let mut host = json!({
        "id": id, "name": name, "display_name": name, "organization_id": 1,
        "organization_name": "ACME", "operatingsystem_name": "RedHat 9.4",
        "global_status": 0, "global_status_label": "OK",
    });
    if registered {
        host["content_facet_attributes"] = json!({
            "id": 7, "uuid": "8b0f5a1e-0000-4000-8000-000000000042", "content_source_id": 1,
            "content_source_name": "satellite.example.com",
            "errata_counts": {"security": 1, "bugfix": 1, "enhancement": 0, "total": 2,
                              "applicable": {"security": 1, "bugfix": 1, "enhancement": 0, "total": 2}},
            "content_view": {"id": 3, "name": "CV", "composite": false, "rolling": false},
            "lifecycle_environment": {"id": 2, "name": "Prod"}
        });
        host["subscription_facet_attributes"] = json!({
            "id": 7, "uuid": "8b0f5a1e-0000-4000-8000-000000000042",
            "last_checkin": "2026-11-29 10:00:00 UTC"
        });
    }
    host
}

fn hosts() -> Vec<(u64, &'static str, bool)> {
    vec![(42, "h1", true), (43, "h3", false)]
}

/// The index envelope of `api/v2/layouts/index_layout.json.erb`.
fn envelope(results: Vec<Value>, search: Option<&str>) -> Value {
    json!({"total": 120, "subtotal": results.len(), "page": 1, "per_page": 20,
           "search": search, "sort": {"by": null, "order": null}, "results": results})
}

async fn status(headers: HeaderMap) -> Response {
    if let Some(denied) = refused(&headers) {
        return denied;
    }
    Json(json!({"result": "ok", "status": 200, "version": "3.12.0", "api_version": 2}))
        .into_response()
}

async fn search_hosts(headers: HeaderMap, Query(q): Query<HashMap<String, String>>) -> Response {
    if let Some(denied) = refused(&headers) {
        return denied;
    }
    let search = q.get("search").cloned().unwrap_or_default();
    let found = hosts()
        .into_iter()
        .filter(|(_, name, _)| search == format!("name = \"{name}\""))
        .map(|(id, name, registered)| host_view(id, name, registered))
        .collect();
    Json(envelope(found, Some(&search))).into_response()
}

async fn show_host(headers: HeaderMap, Path(id): Path<String>) -> Response {
    if let Some(denied) = refused(&headers) {
        return denied;
    }
    match hosts()
        .into_iter()
        .find(|(n, name, _)| n.to_string() == id || *name == id)
    {
        Some((n, name, registered)) => Json(host_view(n, name, registered)).into_response(),
        None => (
            StatusCode::NOT_FOUND,
            Json(json!({"message": format!("Resource host not found by id '{id}'")})),
        )
            .into_response(),
    }
}

/// `host_errata/index.json.rabl`: the metadata envelope, each erratum `errata/show` plus
/// `installable`; packages as NEVRA strings.
async fn host_errata(headers: HeaderMap, Path(id): Path<String>) -> Response {
    if let Some(denied) = refused(&headers) {
        return denied;
    }
    if id != "42" {
        return (StatusCode::NOT_FOUND, Json(json!({"displayMessage": format!("Couldn't find host '{id}'"), "errors": ["not found"]}))).into_response();
    }
    let erratum = |n: u64,
                   errata_id: &str,
                   kind: &str,
                   severity: &str,
                   title: &str,
                   issued: &str,
                   packages: Vec<&str>| {
        json!({"id": n, "pulp_id": "p", "uuid": "u", "errata_id": errata_id, "title": title, "name": title,
               "type": kind, "severity": severity, "issued": issued, "updated": issued, "version": "1",
               "status": "final", "release": "", "description": format!("{title}."), "solution": "", "summary": "",
               "reboot_suggested": false, "_href": null, "cves": [], "bugs": [],
               "hosts_available_count": 1, "hosts_applicable_count": 1, "packages": packages,
               "module_streams": [], "installable": true})
    };
    let results = vec![
        erratum(
            1,
            "RHSA-2026:1234",
            "security",
            "Important",
            "Important: qemu-kvm security update",
            "2026-10-02",
            vec!["qemu-kvm-8.2.1-1.el9.x86_64"],
        ),
        erratum(
            2,
            "RHBA-2026:0042",
            "recommended",
            "",
            "vdsm bug fix update",
            "2026-09-15",
            vec!["vdsm-4.50.3-1.el9.noarch"],
        ),
        erratum(
            3,
            "RHSA-2026:0666",
            "security",
            "Critical",
            "Critical: kernel failing update",
            "2026-11-01",
            vec!["kernel-5.14.0-500.el9.x86_64"],
        ),
    ];
    Json(
        json!({"total": 3, "subtotal": 3, "selectable": 3, "page": 1, "per_page": 20, "error": null,
                "search": null, "sort": {"by": "updated", "order": "desc"}, "results": results}),
    )
    .into_response()
}

async fn job_invocation(
    State(katello): State<Shared>,
    headers: HeaderMap,
    body: String,
) -> Response {
    if let Some(denied) = refused(&headers) {
        return denied;
    }
    if headers.get("content-type").and_then(|v| v.to_str().ok()) != Some("application/json") {
        return (StatusCode::UNSUPPORTED_MEDIA_TYPE, Json(json!({"error": {"message": "Media type in 'Content-Type: ' is unsupported in API v2 controllers, please use application/json"}}))).into_response();
    }
    let request: Value = serde_json::from_str(&body).expect("a JSON body");
    let errata = request["job_invocation"]["inputs"]["errata"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    let mut katello = katello.lock().unwrap();
    katello.invocations.push(request.clone());
    let uuid = format!("5e1c0000-0000-4000-8000-{:012}", katello.invocations.len());
    katello
        .tasks
        .insert(uuid.clone(), (0, errata.contains("RHSA-2026:0666")));
    let task = json!({"id": uuid, "state": "planned", "started_at": null, "cancellable": true});
    (StatusCode::CREATED, Json(json!({
        "id": 77, "description": format!("Install errata {errata}"), "job_category": "Katello",
        "status": 3, "status_label": "running", "mode": "immediate",
        "succeeded": 0, "failed": 0, "pending": 1, "total": 1, "total_hosts": 1,
        "dynflow_task": task.clone(), "task": task,
        "targeting": {"search_query": request["job_invocation"]["search_query"], "targeting_type": "static_query"},
    }))).into_response()
}

/// `foreman_tasks/api/tasks/show.json.rabl`: running twice, then stopped.
async fn task(
    State(katello): State<Shared>,
    headers: HeaderMap,
    Path(uuid): Path<String>,
) -> Response {
    if let Some(denied) = refused(&headers) {
        return denied;
    }
    let mut katello = katello.lock().unwrap();
    let Some((polls, fails)) = katello.tasks.get_mut(&uuid) else {
        return (
            StatusCode::NOT_FOUND,
            Json(json!({"error": {"message": format!("Resource task not found by id '{uuid}'")}})),
        )
            .into_response();
    };
    *polls += 1;
    let (state, result, progress, errors) = match (*polls, *fails) {
        (0..=2, _) => ("running", "pending", 0.5, vec![]),
        (_, false) => ("stopped", "success", 1.0, vec![]),
        (_, true) => (
            "stopped",
            "error",
            1.0,
            vec!["Error: Package kernel-5.14.0-500.el9 conflicts with kmod-legacy on h1"],
        ),
    };
    Json(json!({"id": uuid, "label": "Actions::RemoteExecution::RunHostsJob", "pending": state != "stopped",
                "action": "Run hosts job: Install errata", "username": LOGIN,
                "started_at": "2026-11-30 10:00:00 UTC", "ended_at": null, "duration": "3.2",
                "state": state, "result": result, "progress": progress, "input": {}, "output": {},
                "humanized": {"action": "Run hosts job:", "input": "Install errata", "output": "", "errors": errors},
                "cli_example": null, "available_actions": {"cancellable": true, "resumable": false}}))
    .into_response()
}

/// Starts the stand-in Katello on a free loopback port; returns its base URL.
async fn serve_katello() -> (String, Shared) {
    let shared: Shared = Arc::default();
    let app = Router::new()
        .route("/api/status", get(status))
        .route("/api/hosts", get(search_hosts))
        .route("/api/hosts/{id}", get(show_host))
        .route("/api/hosts/{id}/errata", get(host_errata))
        .route("/api/job_invocations", post(job_invocation))
        .route("/foreman_tasks/api/tasks/{uuid}", get(task))
        .with_state(shared.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (url, shared)
}

const FLEET_TAIL: &str = r#"
[[host]]
name = "h1"
cluster = "c"
os = "RHEL 9.4"
memory_gb = 64
status = "maintenance"

[[host]]
name = "h3"
cluster = "c"
os = "RHEL 9.4"
memory_gb = 64
"#;

async fn register(server: &Server, name: &str, url: &str, password: &str) -> Provider {
    let response = admin_post(
        server,
        "/api/providers",
        json!({"name": name, "kind": "foreman", "url": url, "username": LOGIN, "password": password}),
    )
    .await;
    assert_eq!(response.status(), 201);
    response.json().await.unwrap()
}

async fn link(server: &Server, host: &str, provider: &str) -> reqwest::Response {
    put_as(
        server,
        &format!("/api/hosts/{host}/content"),
        "admin",
        ADMIN_PASSWORD,
        json!({"provider": provider}),
    )
    .await
}

#[tokio::test]
async fn the_foreman_client_searches_lists_installs_and_polls_to_success_and_to_failure() {
    let (url, katello) = serve_katello().await;
    let dir = tempfile::tempdir().unwrap();
    let fleet = write_fleet(
        dir.path(),
        "fleet.toml",
        &format!("{}{FLEET_TAIL}", cluster_c(100.0, 10.0)),
    );
    let server = Server::start(dir.path(), &fleet).await;
    let hosts = ids_by_name(&server, "/api/hosts").await;
    let provider = register(&server, "Satellite", &url, SECRET).await;

    let tested: ProviderTest = admin_post(
        &server,
        &format!("/api/providers/{}/test", provider.id),
        json!({}),
    )
    .await
    .json()
    .await
    .unwrap();
    assert!(tested.ok && tested.message.contains("3.12.0"), "{tested:?}");

    // Search by name: h1 has a content facet, h3 is not registered for content.
    let linked = link(&server, &hosts["h1"], &provider.id).await;
    assert_eq!(linked.status(), 200);
    let content: HostContent = linked.json().await.unwrap();
    assert_eq!(content.content_host.as_deref(), Some("42"));
    assert!(content.can_install);
    let h3: HostContent = link(&server, &hosts["h3"], &provider.id)
        .await
        .json()
        .await
        .unwrap();
    assert!(!h3.can_install && h3.reason.unwrap_or_default().contains("content facet"));

    let errata: Vec<Erratum> =
        admin_get(&server, &format!("/api/hosts/{}/errata", hosts["h1"])).await;
    let kinds: Vec<(&str, ErratumType)> = errata.iter().map(|e| (e.id.as_str(), e.kind)).collect();
    assert_eq!(
        kinds,
        [
            ("RHSA-2026:0666", ErratumType::Security),
            ("RHSA-2026:1234", ErratumType::Security),
            ("RHBA-2026:0042", ErratumType::Bugfix)
        ]
    );
    let qemu = &errata[1];
    assert_eq!(
        (
            qemu.packages[0].name.as_str(),
            qemu.packages[0].version.as_str()
        ),
        ("qemu-kvm", "8.2.1-1.el9")
    );

    let job: Job = serde_json::from_value(
        run_job(
            &server,
            &format!("/api/hosts/{}/errata/install", hosts["h1"]),
            json!({"errata": ["RHSA-2026:1234", "RHBA-2026:0042"]}),
        )
        .await,
    )
    .unwrap();
    assert_eq!(job.status, JobStatus::Succeeded, "{job:?}");
    {
        let katello = katello.lock().unwrap();
        assert_eq!(katello.invocations.len(), 1);
        let invocation = &katello.invocations[0]["job_invocation"];
        assert_eq!(invocation["feature"], "katello_errata_install");
        assert_eq!(
            invocation["inputs"]["errata"],
            "RHSA-2026:1234,RHBA-2026:0042"
        );
        assert_eq!(invocation["search_query"], "id = 42");
        let polls = katello.tasks.values().next().unwrap().0;
        assert!(polls >= 3, "polled until stopped: {polls}");
    }

    let failed: Job = serde_json::from_value(
        run_job(
            &server,
            &format!("/api/hosts/{}/errata/install", hosts["h1"]),
            json!({"errata": ["RHSA-2026:0666"]}),
        )
        .await,
    )
    .unwrap();
    assert_eq!(failed.status, JobStatus::Failed);
    let message = failed.message.unwrap_or_default();
    assert!(
        message.contains("conflicts with kmod-legacy"),
        "the provider's words: {message}"
    );
}

#[tokio::test]
async fn refused_credentials_and_an_unreachable_provider_are_named() {
    let (url, _) = serve_katello().await;
    let dir = tempfile::tempdir().unwrap();
    let fleet = write_fleet(
        dir.path(),
        "fleet.toml",
        &format!("{}{FLEET_TAIL}", cluster_c(100.0, 10.0)),
    );
    let server = Server::start(dir.path(), &fleet).await;
    let hosts = ids_by_name(&server, "/api/hosts").await;

    let wrong = register(&server, "Wrong", &url, "wrong-password").await;
    let tested: ProviderTest = admin_post(
        &server,
        &format!("/api/providers/{}/test", wrong.id),
        json!({}),
    )
    .await
    .json()
    .await
    .unwrap();
    assert!(!tested.ok);
    assert!(
        tested.message.contains("refused the credentials")
            && tested
                .message
                .contains("Unable to authenticate user uplift"),
        "{tested:?}"
    );
    let refused = link(&server, &hosts["h1"], &wrong.id).await;
    assert!(refusal(refused, 502).await.contains("credentials"));

    // A port nothing listens on.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let dead_url = format!("http://{}", closed.local_addr().unwrap());
    drop(closed);
    let dead = register(&server, "Dead", &dead_url, SECRET).await;
    let tested: ProviderTest = admin_post(
        &server,
        &format!("/api/providers/{}/test", dead.id),
        json!({}),
    )
    .await
    .json()
    .await
    .unwrap();
    assert!(
        !tested.ok && tested.message.contains("cannot be reached"),
        "{tested:?}"
    );

    // Linked while it answered, then unreachable: listing errata names it.
    let good = register(&server, "Good", &url, SECRET).await;
    assert_eq!(link(&server, &hosts["h1"], &good.id).await.status(), 200);
    let moved = put_as(
        &server,
        &format!("/api/providers/{}", good.id),
        "admin",
        ADMIN_PASSWORD,
        json!({"name": good.name, "kind": "foreman", "url": dead_url, "username": LOGIN}),
    )
    .await;
    assert_eq!(moved.status(), 200, "no password keeps the stored one");
    let changed: Provider = moved.json().await.unwrap();
    assert!(changed.has_password);
    let listed = client()
        .get(server.url(&format!("/api/hosts/{}/errata", hosts["h1"])))
        .basic_auth("admin", Some(ADMIN_PASSWORD))
        .send()
        .await
        .unwrap();
    assert!(refusal(listed, 502).await.contains("cannot be reached"));
    let content: HostContent =
        admin_get(&server, &format!("/api/hosts/{}/content", hosts["h1"])).await;
    assert!(
        !content.can_install
            && content
                .reason
                .unwrap_or_default()
                .contains("cannot be reached")
    );
}
