//! Issue 17, the authorization matrix: every route of the real route table (the REST routes
//! from the OpenAPI document the router is built with, the portal's pages from its route list,
//! its form posts and its server functions) is called anonymous, as a viewer, as an admin and
//! cross-site, and each answer is checked against the one table in docs/security.md. A route
//! without a row, a row without a route, or an answer that differs fails the test.
//!
//! A cell is a status code, or `ok`: any answer that is neither a refusal for who is calling
//! (401, 403) nor a failure (5xx), e.g. 200, 202, 400 for the empty body, 404, 409.
//! `UPLIFT_PRINT_MATRIX=1` prints the table as observed.

mod common;

use std::collections::BTreeMap;

use common::*;
use reqwest::Method;

const MATRIX_START: &str = "<!-- authz-matrix:start -->";
const MATRIX_END: &str = "<!-- authz-matrix:end -->";

/// Who calls.
#[derive(Clone, Copy, Debug)]
enum Who {
    Anonymous,
    Viewer,
    Admin,
    /// The admin's credentials on a request another site's page made.
    CrossSite,
}

const EVERYONE: [Who; 4] = [Who::Anonymous, Who::Viewer, Who::CrossSite, Who::Admin];

/// The OpenAPI document the server serves (anonymously: it is public).
async fn document(server: &Server) -> utoipa::openapi::OpenApi {
    client()
        .get(server.url("/api/openapi.json"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

/// The table's rows: `METHOD /path` -> the four cells.
fn documented() -> BTreeMap<String, [String; 4]> {
    let text = include_str!("../../docs/security.md");
    let start = text.find(MATRIX_START).expect("the matrix's start marker");
    let end = text.find(MATRIX_END).expect("the matrix's end marker");
    text[start..end]
        .lines()
        .filter(|line| line.starts_with("| `"))
        .map(|line| {
            let cells: Vec<String> = line
                .trim_matches('|')
                .split('|')
                .map(|c| c.trim().trim_matches('`').to_string())
                .collect();
            assert_eq!(cells.len(), 5, "a row has a route and four cells: {line}");
            (
                cells[0].clone(),
                [
                    cells[1].clone(),
                    cells[2].clone(),
                    cells[3].clone(),
                    cells[4].clone(),
                ],
            )
        })
        .collect()
}

/// A status as a cell.
fn cell(status: u16) -> String {
    match status {
        401 | 403 | 303 => status.to_string(),
        s if s >= 500 => format!("{s} (failure)"),
        _ => "ok".to_string(),
    }
}

/// Every route: (method, path template, how to call it).
#[derive(Clone, Debug)]
struct Route {
    method: Method,
    template: String,
    /// Server functions take a form body; everything else JSON.
    form: bool,
}

fn rest_routes(doc: &utoipa::openapi::OpenApi) -> Vec<Route> {
    let mut routes = Vec::new();
    for (path, item) in &doc.paths.paths {
        for (method, operation) in [
            (Method::GET, &item.get),
            (Method::POST, &item.post),
            (Method::PUT, &item.put),
            (Method::DELETE, &item.delete),
            (Method::PATCH, &item.patch),
        ] {
            if operation.is_some() {
                routes.push(Route {
                    method,
                    template: path.clone(),
                    form: false,
                });
            }
        }
    }
    routes
}

fn portal_routes() -> Vec<Route> {
    let mut routes: Vec<Route> = leptos_axum::generate_route_list(app::App)
        .iter()
        .map(|listing| Route {
            method: Method::GET,
            template: listing.path().to_string(),
            form: false,
        })
        .collect();
    for path in ["/login", "/logout"] {
        routes.push(Route {
            method: Method::POST,
            template: path.to_string(),
            form: true,
        });
    }
    for (path, method) in leptos::server_fn::axum::server_fn_paths() {
        routes.push(Route {
            method: Method::from_bytes(method.as_str().as_bytes()).unwrap(),
            template: path.to_string(),
            form: true,
        });
    }
    routes
}

/// oVirt's Engine API (`/ovirt-engine`), from the table its router is built from.
fn ovirt_routes() -> Vec<Route> {
    uplift::ovirt_route_list()
        .into_iter()
        .map(|(method, template)| Route {
            method: Method::from_bytes(method.as_bytes()).unwrap(),
            template,
            form: false,
        })
        .collect()
}

/// A body that parses, so the answer is the permission's (not the body's) for every caller.
fn body_of(template: &str, host: &str) -> serde_json::Value {
    use serde_json::json;
    match template {
        "/api/config/{name}" => json!({"value": "5"}),
        "/api/hosts/{id}/ha_maintenance" => json!({"mode": "global", "enabled": true}),
        "/api/hosted_engine/upgrade" | "/api/hosted_engine/upgrade/preflight" => {
            json!({"host": host, "appliance": "4.5.2", "backup": "no-such-archive"})
        }
        "/api/hosted_engine/rollback" => json!({"backup": "no-such-disk"}),
        "/api/subscriptions" => {
            json!({"event": "host_upgrade_failed", "method": "email", "address": "x@example.com"})
        }
        "/api/tokens" => json!({"username": "v", "password": "viewer-password"}),
        "/api/providers" | "/api/providers/{id}" => json!({"name": "p", "kind": "sim"}),
        "/api/hosts/{id}/errata/install" => json!({"errata": ["RHSA-2026:0001"]}),
        "/api/hosts/{id}/content" => json!({"provider": null}),
        _ => json!({}),
    }
}

/// The ids arguments name.
struct Ids {
    host: String,
    cluster: String,
    vm: String,
    job: String,
    subscription: String,
}

/// A server function's arguments as the portal posts them: a form, or JSON for those
/// declared `input = Json`. Every call parses, so the answer is the permission's.
fn rpc_call(name: &str, ids: &Ids) -> (&'static str, String) {
    use serde_json::json;
    let form = |body: String| ("application/x-www-form-urlencoded", body);
    let json = |body: serde_json::Value| ("application/json", body.to_string());
    let upgrade = json!({"host": ids.host, "appliance": "4.5.2", "backup": "no-such-archive"});
    match name {
        "remove_subscription" => form(format!("id={}", ids.subscription)),
        "dismiss_engine_update" | "close_engine_notice" => form("version=4.5.2".to_string()),
        "get_host" | "check_host" | "deactivate_host" | "activate_host" | "get_host_errata"
        | "get_host_content" => form(format!("id={}", ids.host)),
        "upgrade_host" => form(format!("id={}&reboot=true", ids.host)),
        "get_cluster" | "check_cluster" => form(format!("id={}", ids.cluster)),
        "cluster_policy_violations" => form(format!("id={}&policy=none", ids.cluster)),
        "update_cluster" => json(json!({"id": ids.cluster, "update": {}})),
        "migrate_vm" => json(json!({"id": ids.vm, "request": {}})),
        "reinstall_host" => json(json!({"id": ids.host, "request": {"activate": true}})),
        "get_vm" | "get_vm_placement" => form(format!("id={}", ids.vm)),
        "get_job" => form(format!("id={}", ids.job)),
        "run_host_jobs" | "run_waiting_hosts" => form(format!("job_id={}", ids.job)),
        "set_config" => form("name=MaxParallelHostChecks&value=5".to_string()),
        "delete_engine_backup" => form("id=no-such-disk".to_string()),
        "add_subscription" => json(json!({"new": {
            "event": "host_upgrade_failed", "method": "email", "address": "x@example.com"}})),
        "list_hosts" | "list_vms" | "list_events" => json(json!({"query": {}})),
        "plan_upgrade" | "start_upgrade" => json(json!({"cluster_id": ids.cluster, "options": {}})),
        "control_job" => json(json!({"job_id": ids.job, "control": "pause"})),
        "act_on_vm" => json(json!({"id": ids.vm, "action": "stop"})),
        "set_ha_maintenance" => json(json!({
            "id": ids.host, "request": {"mode": "global", "enabled": true}})),
        "appliance_preflight" | "upgrade_appliance" => json(json!({"request": upgrade})),
        "rollback_appliance" => json(json!({"request": {"backup": "no-such-disk"}})),
        "link_host_content" => json(json!({"id": ids.host, "link": {"provider": null}})),
        "install_errata" => {
            json(json!({"id": ids.host, "request": {"errata": ["RHSA-2026:0001"]}}))
        }
        "save_provider" => json(json!({"id": null, "input": {"name": "p", "kind": "sim"}})),
        "delete_provider" | "test_provider" => form("id=no-such-provider".to_string()),
        _ => form(String::new()),
    }
}

/// A server function's path without the hash Leptos appends (it changes with the build).
fn without_hash(path: &str) -> &str {
    if path.starts_with("/rpc/") {
        path.trim_end_matches(|c: char| c.is_ascii_digit())
    } else {
        path
    }
}

#[tokio::test]
async fn every_route_answers_each_caller_as_the_matrix_in_docs_security_md_says() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path(), &write_fleet(dir.path(), "f.toml", FLEET)).await;
    add_viewer(dir.path());
    let hosts = ids_by_name(&server, "/api/hosts").await;
    let clusters = ids_by_name(&server, "/api/clusters").await;
    let vms = ids_by_name(&server, "/api/vms").await;
    let job = start_job(
        &server,
        &format!("/api/hosts/{}/upgradecheck", hosts["a1"]),
        serde_json::json!({}),
    )
    .await;
    wait_job(&server, &job).await;
    let subscription: app::api::Subscription = post_as(
        &server,
        "/api/subscriptions",
        "v",
        "viewer-password",
        serde_json::json!({"event": "host_upgrade_failed", "method": "email", "address": "v@example.com"}),
    )
    .await
    .json()
    .await
    .unwrap();
    let session = portal_login(&server, "admin", ADMIN_PASSWORD)
        .await
        .unwrap();

    let doc = document(&server).await;
    let mut routes = rest_routes(&doc);
    routes.extend(portal_routes());
    routes.extend(ovirt_routes());
    // Signing out ends the admin's session: last.
    routes.sort_by_key(|route| route.template == "/logout");

    let fill = |template: &str| {
        let id = if template.contains("/hosts/") {
            hosts["a1"].clone()
        } else if template.contains("/clusters/") {
            clusters["alpha"].clone()
        } else if template.contains("/vms/") {
            vms["web"].clone()
        } else if template.contains("/jobs/") {
            job.clone()
        } else if template.contains("/subscriptions/") {
            subscription.id.clone()
        } else {
            "no-such-id".to_string()
        };
        template
            .replace("{id}", &id)
            .replace("{step}", "1")
            .replace(
                "{name}",
                if template.contains("/users/") {
                    "v"
                } else {
                    "MaxParallelHostChecks"
                },
            )
    };

    let ids = Ids {
        host: hosts["a1"].clone(),
        cluster: clusters["alpha"].clone(),
        vm: vms["web"].clone(),
        job: job.clone(),
        subscription: subscription.id.clone(),
    };
    let mut observed: BTreeMap<String, [String; 4]> = BTreeMap::new();
    for who in EVERYONE {
        for route in &routes {
            let url = server.url(&fill(&route.template));
            let mut request = client().request(route.method.clone(), &url);
            let body = body_of(&route.template, &hosts["a1"]);
            request = match who {
                Who::Anonymous => request,
                Who::Viewer => request.basic_auth("v", Some("viewer-password")),
                // The portal's session cookie: the credential a browser sends by itself.
                Who::Admin => request.header("cookie", &session),
                Who::CrossSite => request
                    .header("cookie", &session)
                    .header("origin", "http://evil.example")
                    .header("sec-fetch-site", "cross-site"),
            };
            if route.method != Method::GET {
                request = if route.form {
                    let name = without_hash(&route.template).trim_start_matches("/rpc/");
                    let (content_type, body) = rpc_call(name, &ids);
                    request.header("content-type", content_type).body(body)
                } else {
                    request.json(&body)
                };
            }
            let status = request.send().await.unwrap().status().as_u16();
            let key = format!("{} {}", route.method, without_hash(&route.template));
            let column = match who {
                Who::Anonymous => 0,
                Who::Viewer => 1,
                Who::Admin => 2,
                Who::CrossSite => 3,
            };
            observed.entry(key).or_default()[column] = cell(status);
        }
    }

    if std::env::var_os("UPLIFT_PRINT_MATRIX").is_some() {
        println!(
            "| route | anonymous | viewer | admin | cross-site |\n| --- | --- | --- | --- | --- |"
        );
        for (route, cells) in &observed {
            println!(
                "| `{route}` | {} | {} | {} | {} |",
                cells[0], cells[1], cells[2], cells[3]
            );
        }
    }
    let table = documented();
    let mut problems = Vec::new();
    for (route, cells) in &observed {
        match table.get(route) {
            None => problems.push(format!("{route}: no row in docs/security.md")),
            Some(expected) if expected != cells => problems.push(format!(
                "{route}: documented {expected:?}, answered {cells:?}"
            )),
            Some(_) => {}
        }
    }
    for route in table.keys() {
        if !observed.contains_key(route) {
            problems.push(format!("{route}: a row for a route that does not exist"));
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[tokio::test]
async fn the_openapi_document_and_its_page_are_served() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path(), &write_fleet(dir.path(), "f.toml", FLEET)).await;
    let doc = document(&server).await;
    let text = serde_json::to_value(&doc).unwrap();
    assert_eq!(text["openapi"], "3.1.0");
    assert!(doc.paths.paths.contains_key("/api/hosts/{id}/upgrade"));
    let schemes = doc.components.as_ref().unwrap().security_schemes.len();
    assert_eq!(schemes, 3, "basic, bearer and the session cookie");
    // Every operation documents the refusals it may answer with, in SPEC's error shape.
    let upgrade = doc.paths.paths["/api/hosts/{id}/upgrade"]
        .post
        .as_ref()
        .unwrap();
    for status in ["202", "400", "401", "403", "404", "409"] {
        assert!(upgrade.responses.responses.contains_key(status), "{status}");
    }
    let page = client().get(server.url("/api/docs/")).send().await.unwrap();
    assert_eq!(page.status(), 200);
    assert!(page.text().await.unwrap().contains("swagger-ui"));
}
