//! The read REST API against a fleet written by the test: exactly that fleet comes back.

mod common;

use common::*;
use serde_json::{json, Value};

async fn start() -> (tempfile::TempDir, Server) {
    let dir = tempfile::tempdir().unwrap();
    let fleet = write_fleet(dir.path(), "fleet.toml", FLEET);
    let server = Server::start(dir.path(), &fleet).await;
    (dir, server)
}

fn by_name<'a>(list: &'a Value, name: &str) -> &'a Value {
    list.as_array()
        .unwrap()
        .iter()
        .find(|item| item["name"] == name)
        .unwrap_or_else(|| panic!("{name} missing from {list}"))
}

#[tokio::test]
async fn hosts_clusters_and_vms_are_exactly_the_fleets() {
    let (_dir, server) = start().await;

    let about = admin_json(&server, "/api").await;
    assert_eq!(about["product"], "Uplift");

    let clusters = admin_json(&server, "/api/clusters").await;
    assert_eq!(clusters.as_array().unwrap().len(), 2);
    let alpha = by_name(&clusters, "alpha");
    assert_eq!(alpha["compatibility_version"], "4.7");
    assert_eq!(alpha["scheduling_policy"], "evenly_distributed");
    assert_eq!(alpha["host_count"], 2);
    assert_eq!(alpha["upgrade"], Value::Null);
    let beta = by_name(&clusters, "beta");
    assert_eq!(beta["scheduling_policy"], "none");
    assert_eq!(beta["host_count"], 1);

    let hosts = admin_json(&server, "/api/hosts").await;
    let names: Vec<&str> = hosts
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["a1", "a2", "b1"]);
    let a1 = by_name(&hosts, "a1");
    assert_eq!(a1["address"], "10.1.0.1");
    assert_eq!(a1["cluster"], json!({"id": alpha["id"], "name": "alpha"}));
    assert_eq!(a1["status"], "up");
    assert_eq!(a1["os"], "RHEL 8.9");
    assert_eq!(a1["vm_count"], 2);
    assert_eq!(a1["memory_mb"], json!({"total": 65536, "used": 24576}));
    assert_eq!(a1["supported_cluster_levels"], json!(["4.6", "4.7"]));
    assert_eq!(
        a1["hosted_engine"],
        json!({"configured": true, "active": true, "score": 3400, "global_maintenance": false, "local_maintenance": false, "runs_engine_vm": false})
    );
    assert_eq!(a1["updates_available"], false);
    assert_eq!(a1["last_update_check"], Value::Null);
    assert_eq!(by_name(&hosts, "a2")["status"], "maintenance");
    assert_eq!(by_name(&hosts, "a2")["hosted_engine"], Value::Null);
    assert_eq!(by_name(&hosts, "b1")["status"], "non_operational");
    assert_eq!(by_name(&hosts, "b1")["memory_mb"]["used"], 4096);

    let one = admin_json(
        &server,
        &format!("/api/hosts/{}", a1["id"].as_str().unwrap()),
    )
    .await;
    assert_eq!(&one, a1);

    let vms = admin_json(&server, "/api/vms").await;
    assert_eq!(vms.as_array().unwrap().len(), 4);
    let web = by_name(&vms, "web");
    assert_eq!(web["status"], "up");
    assert_eq!(web["host"]["name"], "a1");
    assert_eq!(web["memory_mb"], 8192);
    assert_eq!(web["migration"], "migratable");
    assert_eq!(web["migrations"], 0);
    assert_eq!(by_name(&vms, "db")["migration"], "pinned");
    assert_eq!(by_name(&vms, "batch")["status"], "paused");
    assert_eq!(by_name(&vms, "batch")["migration"], "user_migratable");
    assert_eq!(by_name(&vms, "spare")["status"], "down");
    assert_eq!(by_name(&vms, "spare")["host"], Value::Null);
    let vm = admin_json(
        &server,
        &format!("/api/vms/{}", web["id"].as_str().unwrap()),
    )
    .await;
    assert_eq!(&vm, web);
    let cluster = admin_json(
        &server,
        &format!("/api/clusters/{}", alpha["id"].as_str().unwrap()),
    )
    .await;
    assert_eq!(&cluster, alpha);
}

#[tokio::test]
async fn hosts_come_as_xml_when_asked() {
    let (_dir, server) = start().await;
    let hosts = admin_json(&server, "/api/hosts").await;
    let a2 = by_name(&hosts, "a2")["id"].as_str().unwrap().to_string();
    let response = client()
        .get(server.url(&format!("/api/hosts/{a2}")))
        .basic_auth("admin", Some(ADMIN_PASSWORD))
        .header("Accept", "application/xml")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert!(response.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("application/xml"));
    let body = response.text().await.unwrap();
    assert!(body.contains("<host>"), "{body}");
    assert!(body.contains("<name>a2</name>"), "{body}");
    assert!(body.contains("<status>maintenance</status>"), "{body}");
    assert!(
        body.contains("<updates_available>false</updates_available>"),
        "{body}"
    );
    assert!(body.contains(&format!("<id>{a2}</id>")), "{body}");

    let list = client()
        .get(server.url("/api/hosts"))
        .basic_auth("admin", Some(ADMIN_PASSWORD))
        .header("Accept", "application/xml")
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert_eq!(list.matches("<host>").count(), 3, "{list}");
    assert!(list.contains("<hosts>"), "{list}");
}

#[tokio::test]
async fn reading_needs_credentials_and_errors_are_json() {
    let (_dir, server) = start().await;
    for path in [
        "/api/hosts",
        "/api/hosts/x",
        "/api/clusters",
        "/api/vms",
        "/api/events",
    ] {
        let response = client().get(server.url(path)).send().await.unwrap();
        assert_eq!(response.status(), 401, "{path}");
        let body: Value = response.json().await.unwrap();
        assert_eq!(body["error"]["code"], "unauthenticated", "{path}");
        assert!(body["error"]["message"].as_str().unwrap().len() > 10);
    }
    let wrong = client()
        .get(server.url("/api/hosts"))
        .basic_auth("admin", Some("wrong-password"))
        .send()
        .await
        .unwrap();
    assert_eq!(wrong.status(), 401);
    let body: Value = wrong.json().await.unwrap();
    assert_eq!(body["error"]["message"], "Invalid username or password.");

    let bad_token = client()
        .get(server.url("/api/hosts"))
        .bearer_auth("nope")
        .send()
        .await
        .unwrap();
    assert_eq!(bad_token.status(), 401);

    for path in [
        "/api/hosts/nope",
        "/api/clusters/nope",
        "/api/vms/nope",
        "/api/nothing-here",
    ] {
        let response = client()
            .get(server.url(path))
            .basic_auth("admin", Some(ADMIN_PASSWORD))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 404, "{path}");
        let body: Value = response.json().await.unwrap();
        assert_eq!(body["error"]["code"], "not_found", "{path}");
    }

    let bad_query = client()
        .get(server.url("/api/hosts?status=sleeping"))
        .basic_auth("admin", Some(ADMIN_PASSWORD))
        .send()
        .await
        .unwrap();
    assert_eq!(bad_query.status(), 400);
    let body: Value = bad_query.json().await.unwrap();
    assert_eq!(body["error"]["code"], "bad_query");
}

#[tokio::test]
async fn hosts_filter_sort_and_page() {
    let (_dir, server) = start().await;
    let only = admin_json(&server, "/api/hosts?status=maintenance").await;
    assert_eq!(only.as_array().unwrap().len(), 1);
    assert_eq!(only[0]["name"], "a2");

    let by_memory = admin_json(&server, "/api/hosts?sort=memory&desc=true").await;
    assert_eq!(by_memory[0]["name"], "a1");

    let response = client()
        .get(server.url("/api/hosts?per_page=2&page=2"))
        .basic_auth("admin", Some(ADMIN_PASSWORD))
        .send()
        .await
        .unwrap();
    assert_eq!(response.headers()["x-total-count"], "3");
    let page: Value = response.json().await.unwrap();
    assert_eq!(page.as_array().unwrap().len(), 1);
    assert_eq!(page[0]["name"], "b1");

    let searched = admin_json(&server, "/api/hosts?search=A").await;
    assert_eq!(searched.as_array().unwrap().len(), 2);
}

#[tokio::test]
async fn a_viewer_reads_with_basic_auth_and_with_a_token() {
    let (dir, server) = start().await;
    let added = run(uplift(dir.path())
        .args(["user", "add", "vera", "--role", "viewer"])
        .env("UPLIFT_USER_PASSWORD", "viewer-password"));
    assert!(
        added.status.success(),
        "{}",
        String::from_utf8_lossy(&added.stderr)
    );

    let hosts = get_json(&server, "/api/hosts", "vera", "viewer-password").await;
    assert_eq!(hosts.as_array().unwrap().len(), 3);

    let response = client()
        .post(server.url("/api/tokens"))
        .json(&json!({"username": "vera", "password": "viewer-password"}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 201);
    let token: Value = response.json().await.unwrap();
    let token = token["token"].as_str().unwrap();
    let response = client()
        .get(server.url("/api/vms"))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);

    let refused = client()
        .post(server.url("/api/tokens"))
        .json(&json!({"username": "vera", "password": "wrong-password"}))
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), 401);
}

#[tokio::test]
async fn cross_site_mutations_are_refused() {
    let (_dir, server) = start().await;
    let response = client()
        .post(server.url("/api/tokens"))
        .header("Origin", "http://evil.example")
        .json(&json!({"username": "admin", "password": ADMIN_PASSWORD}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 403);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["error"]["code"], "bad_origin");

    let same_site = client()
        .post(server.url("/api/tokens"))
        .header("Origin", server.base.clone())
        .json(&json!({"username": "admin", "password": ADMIN_PASSWORD}))
        .send()
        .await
        .unwrap();
    assert_eq!(same_site.status(), 201);
}

#[tokio::test]
async fn portal_sessions_use_safe_cookies() {
    let (_dir, server) = start().await;
    let response = client()
        .post(server.url("/login"))
        .form(&[("username", "admin"), ("password", ADMIN_PASSWORD)])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 303);
    assert_eq!(response.headers()["location"], "/");
    let cookie = response.headers()["set-cookie"]
        .to_str()
        .unwrap()
        .to_string();
    assert!(cookie.starts_with("uplift_session="), "{cookie}");
    assert!(cookie.contains("HttpOnly"), "{cookie}");
    assert!(cookie.contains("SameSite=Lax"), "{cookie}");

    let session = cookie.split(';').next().unwrap();
    let api = client()
        .get(server.url("/api/hosts"))
        .header("Cookie", session)
        .send()
        .await
        .unwrap();
    assert_eq!(api.status(), 200);
    let page = client()
        .get(server.url("/hosts"))
        .header("Cookie", session)
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), 200);
    assert!(page.text().await.unwrap().contains("a1"));

    let failed = client()
        .post(server.url("/login"))
        .form(&[("username", "admin"), ("password", "nope-nope")])
        .send()
        .await
        .unwrap();
    assert_eq!(failed.headers()["location"], "/login?error=1");
    assert!(failed.headers().get("set-cookie").is_none());

    let anonymous = client().get(server.url("/hosts")).send().await.unwrap();
    assert_eq!(anonymous.status(), 303);
    assert_eq!(anonymous.headers()["location"], "/login");
}
