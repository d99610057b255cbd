//! Update checks through the REST API and the CLI, on a fleet written by the test.

mod common;

use std::time::{Duration, Instant};

use common::*;
use serde_json::{json, Value};

fn fleet(speed: f64, check_seconds: f64) -> String {
    format!(
        r#"
[simulation]
speed = {speed}
check_seconds = {check_seconds}

[repository]
os = "RHEL 9.4"
packages = {{ vdsm = "4.50.3", vdsm-cli = "4.50.3", libvirt = "9.0.0", qemu-kvm = "8.2.0" }}

[[cluster]]
name = "c"
compatibility_version = "4.7"

[[host]]
name = "old"
cluster = "c"
os = "RHEL 8.9"
memory_gb = 64
packages = {{ vdsm = "4.50.2", vdsm-cli = "4.50.3", qemu-kvm = "6.2.0" }}

[[host]]
name = "current"
cluster = "c"
os = "RHEL 9.4"
memory_gb = 64
packages = {{ vdsm = "4.50.3", qemu-kvm = "6.2.0" }}

[[host]]
name = "resting"
cluster = "c"
status = "maintenance"
os = "RHEL 9.4"
memory_gb = 64
packages = {{ vdsm = "4.50.1" }}

[[host]]
name = "off"
cluster = "c"
status = "down"
os = "RHEL 9.4"
memory_gb = 64
packages = {{ vdsm = "4.50.1" }}

[[host]]
name = "broken"
cluster = "c"
os = "RHEL 9.4"
memory_gb = 64
packages = {{ vdsm = "4.50.1" }}
fail = "check"
"#
    )
}

/// A server whose periodic checker is off, so only the test starts checks.
async fn start(speed: f64, check_seconds: f64) -> (tempfile::TempDir, Server) {
    let dir = tempfile::tempdir().unwrap();
    let off = run(uplift(dir.path()).args(["config", "set", "HostPackagesUpdateTimeInHours=0"]));
    assert!(
        off.status.success(),
        "{}",
        String::from_utf8_lossy(&off.stderr)
    );
    let file = write_fleet(dir.path(), "fleet.toml", &fleet(speed, check_seconds));
    let server = Server::start(dir.path(), &file).await;
    (dir, server)
}

async fn host_id(server: &Server, name: &str) -> String {
    let hosts = admin_json(server, &format!("/api/hosts?search={name}")).await;
    hosts
        .as_array()
        .unwrap()
        .iter()
        .find(|h| h["name"] == name)
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string()
}

async fn events(server: &Server, code: &str) -> Vec<Value> {
    admin_json(server, "/api/events?per_page=1000")
        .await
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["code"] == code)
        .cloned()
        .collect()
}

#[tokio::test]
async fn results_follow_the_packages_the_repository_and_the_monitored_lists() {
    let (dir, server) = start(100.0, 0.5).await;
    let old = host_id(&server, "old").await;
    let job = run_job(
        &server,
        &format!("/api/hosts/{old}/upgradecheck"),
        json!({}),
    )
    .await;
    assert_eq!(job["status"], "succeeded", "{job}");
    assert_eq!(job["kind"], "host_upgrade_check");
    let host = admin_json(&server, &format!("/api/hosts/{old}")).await;
    assert_eq!(host["updates_available"], true);
    assert_eq!(
        host["available_updates"],
        json!([
            {"name": "vdsm", "current_version": "4.50.2", "available_version": "4.50.3"},
            {"name": "os", "current_version": "RHEL 8.9", "available_version": "RHEL 9.4"}
        ])
    );
    assert!(host["last_update_check"].is_string());

    // Only qemu-kvm is newer on "current", and it is not monitored by default.
    let current = host_id(&server, "current").await;
    run_job(
        &server,
        &format!("/api/hosts/{current}/upgradecheck"),
        json!({}),
    )
    .await;
    let host = admin_json(&server, &format!("/api/hosts/{current}")).await;
    assert_eq!(host["updates_available"], false, "{host}");
    assert_eq!(host["available_updates"], json!([]));

    // The CLI changes the monitored list in the running server's database; the next check sees it.
    let merged =
        run(uplift(dir.path()).args(["config", "-m", "UserPackageNamesForCheckUpdate=qemu-*"]));
    assert!(
        merged.status.success(),
        "{}",
        String::from_utf8_lossy(&merged.stderr)
    );
    run_job(
        &server,
        &format!("/api/hosts/{current}/upgradecheck"),
        json!({}),
    )
    .await;
    let host = admin_json(&server, &format!("/api/hosts/{current}")).await;
    assert_eq!(
        host["available_updates"],
        json!([{"name": "qemu-kvm", "current_version": "6.2.0", "available_version": "8.2.0"}])
    );
    let finished = events(&server, "host_update_check_finished").await;
    assert!(finished.iter().any(|e| e["message"]
        .as_str()
        .unwrap()
        .contains("found updates for packages qemu-kvm")));
    assert!(
        finished.iter().all(|e| e["user"] == "admin"),
        "{finished:?}"
    );

    // The clusters list counts hosts with updates.
    let clusters = admin_json(&server, "/api/clusters").await;
    assert_eq!(clusters[0]["hosts_with_updates"], 2);
}

#[tokio::test]
async fn config_values_are_validated_and_the_old_value_kept() {
    let (dir, server) = start(100.0, 0.5).await;
    let get = run(uplift(dir.path()).args(["config", "-g", "MaxParallelHostChecks"]));
    assert_eq!(
        String::from_utf8_lossy(&get.stdout),
        "MaxParallelHostChecks: 5 version: general\n"
    );

    let refused = run(uplift(dir.path()).args(["config", "-s", "MaxParallelHostChecks=0"]));
    assert_eq!(refused.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&refused.stderr).contains("from 1 to 1000"));
    let unknown = run(uplift(dir.path()).args(["config", "get", "NoSuchValue"]));
    assert_eq!(unknown.status.code(), Some(2));
    let get = run(uplift(dir.path()).args(["config", "get", "MaxParallelHostChecks"]));
    assert_eq!(
        String::from_utf8_lossy(&get.stdout),
        "MaxParallelHostChecks: 5 version: general\n"
    );

    let set = run(uplift(dir.path()).args(["config", "set", "MaxParallelHostChecks=7"]));
    assert!(set.status.success());
    let entry = admin_json(&server, "/api/config/MaxParallelHostChecks").await;
    assert_eq!(entry["value"], "7");

    let bad = client()
        .put(server.url("/api/config/HostPackagesUpdateTimeInHours"))
        .basic_auth("admin", Some(ADMIN_PASSWORD))
        .json(&json!({"value": "soon"}))
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status(), 400);
    let body: Value = bad.json().await.unwrap();
    assert_eq!(body["error"]["code"], "invalid_config_value");
    assert_eq!(
        admin_json(&server, "/api/config/HostPackagesUpdateTimeInHours").await["value"],
        "0"
    );

    let list = run(uplift(dir.path()).args(["config", "-l"]));
    let text = String::from_utf8_lossy(&list.stdout);
    assert!(
        text.contains("PackageNamesForCheckUpdate: vdsm,vdsm-cli version: general"),
        "{text}"
    );
    // SPEC §3's eight values, the four of the mail server, the webhook networks, the
    // three retention values (issue 17), what an upgrade installs (issue 18) and the lease
    // time of several instances (issue 22).
    assert_eq!(text.lines().count(), 18, "{text}");
    assert!(
        text.contains("JobLeaseTimeInSeconds: 15 version: general"),
        "{text}"
    );
    assert!(
        text.contains("HostUpgradeInstalls: monitored version: general"),
        "{text}"
    );
    assert!(text.contains("SmtpTls: none version: general"), "{text}");

    let viewer = run(uplift(dir.path())
        .args(["user", "add", "vic", "--role", "viewer"])
        .env("UPLIFT_USER_PASSWORD", "viewer-password"));
    assert!(viewer.status.success());
    let forbidden = client()
        .put(server.url("/api/config/MaxParallelHostChecks"))
        .basic_auth("vic", Some("viewer-password"))
        .json(&json!({"value": "3"}))
        .send()
        .await
        .unwrap();
    assert_eq!(forbidden.status(), 403);
    let changes = events(&server, "config_changed").await;
    assert!(changes.iter().any(|e| e["user"] == "cli"
        && e["message"]
            .as_str()
            .unwrap()
            .contains("MaxParallelHostChecks")));
}

#[tokio::test]
async fn unsupported_statuses_are_refused_or_skipped() {
    let (_dir, server) = start(100.0, 0.5).await;
    let off = host_id(&server, "off").await;
    let refused = admin_post(
        &server,
        &format!("/api/hosts/{off}/upgradecheck"),
        json!({}),
    )
    .await;
    assert_eq!(refused.status(), 409);
    let body: Value = refused.json().await.unwrap();
    assert!(
        body["error"]["message"].as_str().unwrap().contains("Down"),
        "{body}"
    );

    let clusters = admin_json(&server, "/api/clusters").await;
    let job = run_job(
        &server,
        &format!(
            "/api/clusters/{}/upgradecheck",
            clusters[0]["id"].as_str().unwrap()
        ),
        json!({}),
    )
    .await;
    assert_eq!(job["kind"], "cluster_upgrade_check");
    // "broken" fails its check, so the cluster job reports a failure; the others ran, and
    // "off" (Down) is a step that says it was skipped.
    assert_eq!(job["status"], "failed", "{job}");
    let steps = job["steps"].as_array().unwrap();
    assert_eq!(steps.len(), 5, "{job}");
    let off_step = steps.iter().find(|s| s["host"]["name"] == "off").unwrap();
    assert!(
        off_step["message"].as_str().unwrap().contains("skipped"),
        "{job}"
    );
    let skipped = events(&server, "host_update_check_skipped").await;
    assert_eq!(skipped.len(), 1);
    assert!(skipped[0]["message"]
        .as_str()
        .unwrap()
        .contains("skipped: unsupported status"));
    assert_eq!(skipped[0]["host"]["name"], "off");
    let resting = admin_json(
        &server,
        &format!("/api/hosts/{}", host_id(&server, "resting").await),
    )
    .await;
    assert_eq!(
        resting["updates_available"], true,
        "maintenance hosts are checked on demand"
    );
}

#[tokio::test]
async fn a_second_check_of_a_host_while_one_runs_does_not_start_another() {
    let (_dir, server) = start(1.0, 1.5).await;
    let old = host_id(&server, "old").await;
    let first: Value = admin_post(
        &server,
        &format!("/api/hosts/{old}/upgradecheck"),
        json!({}),
    )
    .await
    .json()
    .await
    .unwrap();
    let second: Value = admin_post(
        &server,
        &format!("/api/hosts/{old}/upgradecheck"),
        json!({}),
    )
    .await
    .json()
    .await
    .unwrap();
    assert_eq!(first["job"]["id"], second["job"]["id"]);
    wait_job(&server, first["job"]["id"].as_str().unwrap()).await;
    assert_eq!(events(&server, "host_update_check_started").await.len(), 1);
    assert_eq!(
        events(&server, "host_update_check_already_running")
            .await
            .len(),
        1
    );

    // Announced once a day: a second finished check with updates does not announce again.
    run_job(
        &server,
        &format!("/api/hosts/{old}/upgradecheck"),
        json!({}),
    )
    .await;
    assert_eq!(events(&server, "host_update_check_finished").await.len(), 2);
    assert_eq!(events(&server, "host_updates_available").await.len(), 1);
}

#[tokio::test]
async fn a_failed_check_is_an_error_event_and_keeps_the_previous_result() {
    let (_dir, server) = start(100.0, 0.5).await;
    let broken = host_id(&server, "broken").await;
    let before = admin_json(&server, &format!("/api/hosts/{broken}")).await;
    let job = run_job(
        &server,
        &format!("/api/hosts/{broken}/upgradecheck"),
        json!({}),
    )
    .await;
    assert_eq!(job["status"], "failed");
    let failed = events(&server, "host_update_check_failed").await;
    assert_eq!(failed.len(), 1);
    assert_eq!(failed[0]["severity"], "error");
    assert!(
        failed[0]["message"].as_str().unwrap().contains("simulated"),
        "{failed:?}"
    );
    let after = admin_json(&server, &format!("/api/hosts/{broken}")).await;
    assert_eq!(after, before);
}

#[tokio::test]
async fn viewers_cannot_start_checks() {
    let (dir, server) = start(100.0, 0.5).await;
    let added = run(uplift(dir.path())
        .args(["user", "add", "val", "--role", "viewer"])
        .env("UPLIFT_USER_PASSWORD", "viewer-password"));
    assert!(added.status.success());
    let old = host_id(&server, "old").await;
    let response = client()
        .post(server.url(&format!("/api/hosts/{old}/upgradecheck")))
        .basic_auth("val", Some("viewer-password"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 403);
}

#[tokio::test]
async fn the_periodic_check_follows_its_interval_without_a_restart() {
    let (dir, server) = start(100.0, 0.2).await;
    // Off (0): nothing is checked.
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert!(events(&server, "host_update_check_started")
        .await
        .is_empty());
    let on = run(uplift(dir.path()).args(["config", "set", "HostPackagesUpdateTimeInHours=1"]));
    assert!(on.status.success());
    // Within a tick (10 s), the up and non-operational hosts are checked; maintenance and down are not.
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let hosts = admin_json(&server, "/api/hosts").await;
        let checked: Vec<&str> = hosts
            .as_array()
            .unwrap()
            .iter()
            .filter(|h| h["last_update_check"].is_string())
            .map(|h| h["name"].as_str().unwrap())
            .collect();
        if checked.len() >= 2 {
            assert_eq!(checked, ["current", "old"]);
            break;
        }
        assert!(Instant::now() < deadline, "no periodic check happened");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let started = events(&server, "host_update_check_started").await;
    assert!(started
        .iter()
        .all(|e| e["host"]["name"] != "resting" && e["host"]["name"] != "off"));
}
