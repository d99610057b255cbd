//! Upgrading one host through the REST API (SPEC §1), on a fleet written by the test.

mod common;

use std::time::{Duration, Instant};

use common::*;
use serde_json::{json, Value};

fn fleet(speed: f64, upgrade_seconds: f64) -> String {
    fleet_with_reboot(speed, upgrade_seconds, 2.0)
}

fn fleet_with_reboot(speed: f64, upgrade_seconds: f64, reboot_seconds: f64) -> String {
    format!(
        r#"
[simulation]
speed = {speed}

[repository]
os = "RHEL 9.4"
packages = {{ vdsm = "4.50.3", vdsm-cli = "4.50.3" }}

[[cluster]]
name = "c"
compatibility_version = "4.7"
memory_headroom_percent = 10

[[host]]
name = "h1"
cluster = "c"
os = "RHEL 8.9"
memory_gb = 64
packages = {{ vdsm = "4.50.2", vdsm-cli = "4.50.2" }}
upgrade_seconds = {upgrade_seconds}
reboot_seconds = {reboot_seconds}

[[host]]
name = "h2"
cluster = "c"
os = "RHEL 9.4"
memory_gb = 64
packages = {{ vdsm = "4.50.3", vdsm-cli = "4.50.3" }}

[[host]]
name = "h3"
cluster = "c"
status = "maintenance"
os = "RHEL 9.4"
memory_gb = 64
packages = {{ vdsm = "4.50.2" }}
upgrade_seconds = {upgrade_seconds}
reboot_seconds = {reboot_seconds}

[[host]]
name = "h4"
cluster = "c"
os = "RHEL 9.4"
memory_gb = 64
packages = {{ vdsm = "4.50.2" }}
fail = "upgrade"

[[host]]
name = "h5"
cluster = "c"
status = "down"
os = "RHEL 9.4"
memory_gb = 64
packages = {{ vdsm = "4.50.2" }}

[[host]]
name = "h6"
cluster = "c"
os = "RHEL 9.4"
memory_gb = 64
packages = {{ vdsm = "4.50.2" }}

[[vm]]
name = "pin"
host = "h6"
memory_gb = 2
migration = "pinned"

[[vm]]
name = "a"
host = "h1"
memory_gb = 8

[[vm]]
name = "b"
host = "h1"
memory_gb = 16
"#
    )
}

async fn ids(server: &Server) -> std::collections::HashMap<String, String> {
    admin_json(server, "/api/hosts")
        .await
        .as_array()
        .unwrap()
        .iter()
        .map(|h| {
            (
                h["name"].as_str().unwrap().to_string(),
                h["id"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

type Started = (
    tempfile::TempDir,
    Server,
    std::collections::HashMap<String, String>,
);

/// Starts a server on the test fleet and checks every host for updates.
async fn start(speed: f64, upgrade_seconds: f64) -> Started {
    start_on(&fleet(speed, upgrade_seconds)).await
}

async fn start_on(text: &str) -> Started {
    let dir = tempfile::tempdir().unwrap();
    let file = write_fleet(dir.path(), "f.toml", text);
    let server = Server::start(dir.path(), &file).await;
    let clusters = admin_json(&server, "/api/clusters").await;
    run_job(
        &server,
        &format!(
            "/api/clusters/{}/upgradecheck",
            clusters[0]["id"].as_str().unwrap()
        ),
        json!({}),
    )
    .await;
    let ids = ids(&server).await;
    (dir, server, ids)
}

#[tokio::test]
async fn upgrading_a_host_with_vms_ends_up_with_no_updates_and_every_vm_moved_once() {
    let (_dir, server, ids) = start(200.0, 30.0).await;
    let job = run_job(
        &server,
        &format!("/api/hosts/{}/upgrade", ids["h1"]),
        json!({}),
    )
    .await;
    assert_eq!(job["status"], "succeeded", "{job}");
    assert_eq!(job["kind"], "host_upgrade");
    let waited = job["steps"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["phase"] == "wait for the host to answer")
        .expect("a wait step");
    // The simulated host stays silent for two polls after its reboot; that is not a failure.
    assert_eq!(waited["status"], "succeeded");
    assert_eq!(waited["message"], "answered after 2 unanswered polls");
    let phases: Vec<&str> = job["steps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["phase"].as_str().unwrap())
        .collect();
    assert!(
        phases.contains(&"install") && phases.contains(&"reboot") && phases.contains(&"activate"),
        "{phases:?}"
    );
    let h1 = admin_json(&server, &format!("/api/hosts/{}", ids["h1"])).await;
    assert_eq!(h1["status"], "up");
    assert_eq!(h1["updates_available"], false);
    assert_eq!(h1["available_updates"], json!([]));
    assert_eq!(h1["os"], "RHEL 9.4");
    for vm in admin_json(&server, "/api/vms").await.as_array().unwrap() {
        assert_eq!(vm["status"], "up");
        assert_ne!(vm["host"]["name"], "h1");
        // a and b left h1 once each; the pinned VM on h6 never moved.
        let expected = if vm["name"] == "pin" { 0 } else { 1 };
        assert_eq!(vm["migrations"], expected, "{vm}");
    }
    for host in admin_json(&server, "/api/hosts").await.as_array().unwrap() {
        assert!(
            host["memory_mb"]["used"].as_u64().unwrap()
                <= host["memory_mb"]["total"].as_u64().unwrap()
        );
    }
    // A new check finds nothing left to install.
    let check = run_job(
        &server,
        &format!("/api/hosts/{}/upgradecheck", ids["h1"]),
        json!({}),
    )
    .await;
    assert_eq!(check["status"], "succeeded");
    assert_eq!(
        admin_json(&server, &format!("/api/hosts/{}", ids["h1"])).await["updates_available"],
        false
    );
}

#[tokio::test]
async fn a_host_in_maintenance_stays_in_maintenance_and_failures_leave_install_failed() {
    let (_dir, server, ids) = start(200.0, 30.0).await;
    let job = run_job(
        &server,
        &format!("/api/hosts/{}/upgrade", ids["h3"]),
        json!({"reboot": false}),
    )
    .await;
    assert_eq!(job["status"], "succeeded", "{job}");
    assert_eq!(job["message"], "upgraded; the host stays in maintenance");
    assert_eq!(
        admin_json(&server, &format!("/api/hosts/{}", ids["h3"])).await["status"],
        "maintenance"
    );

    let failed = run_job(
        &server,
        &format!("/api/hosts/{}/upgrade", ids["h4"]),
        json!({}),
    )
    .await;
    assert_eq!(failed["status"], "failed");
    assert!(
        failed["message"]
            .as_str()
            .unwrap()
            .contains("installing the updates failed"),
        "{failed}"
    );
    let h4 = admin_json(&server, &format!("/api/hosts/{}", ids["h4"])).await;
    assert_eq!(h4["status"], "install_failed");
    assert_eq!(h4["updates_available"], true);
    // Upgrade may run again from install_failed.
    let again = admin_post(
        &server,
        &format!("/api/hosts/{}/upgrade", ids["h4"]),
        json!({}),
    )
    .await;
    assert_eq!(again.status(), 202);
}

#[tokio::test]
async fn hosts_without_updates_or_in_a_wrong_status_are_refused_with_a_reason() {
    let (_dir, server, ids) = start(200.0, 30.0).await;
    for (name, words) in [("h2", "no updates available"), ("h5", "Down")] {
        let response = admin_post(
            &server,
            &format!("/api/hosts/{}/upgrade", ids[name]),
            json!({}),
        )
        .await;
        assert_eq!(response.status(), 409, "{name}");
        let body: Value = response.json().await.unwrap();
        assert!(
            body["error"]["message"].as_str().unwrap().contains(words),
            "{body}"
        );
    }
}

#[tokio::test]
async fn a_kill_9_during_the_install_is_resumed_and_finishes() {
    let (dir, server, ids) = start(1.0, 4.0).await;
    let response = admin_post(
        &server,
        &format!("/api/hosts/{}/upgrade", ids["h3"]),
        json!({"reboot": false}),
    )
    .await;
    let job: Value = response.json().await.unwrap();
    let id = job["job"]["id"].as_str().unwrap().to_string();
    // The flow first asks the host what is pending (2 s), then installs (4 s).
    tokio::time::sleep(Duration::from_millis(3500)).await;
    assert_eq!(
        admin_json(&server, &format!("/api/hosts/{}", ids["h3"])).await["status"],
        "installing"
    );
    server.kill();
    let server = Server::start(dir.path(), &dir.path().join("f.toml")).await;
    let done = wait_job(&server, &id).await;
    assert_eq!(done["status"], "succeeded", "{done}");
    let h3 = admin_json(&server, &format!("/api/hosts/{}", ids["h3"])).await;
    assert_eq!(h3["status"], "maintenance");
    assert_eq!(h3["updates_available"], false);
}

#[tokio::test]
async fn a_pinned_vm_fails_the_upgrade_fast_and_the_host_is_back_up() {
    let (_dir, server, ids) = start(200.0, 30.0).await;
    let job = run_job(
        &server,
        &format!("/api/hosts/{}/upgrade", ids["h6"]),
        json!({}),
    )
    .await;
    assert_eq!(job["status"], "failed");
    assert!(
        job["message"]
            .as_str()
            .unwrap()
            .contains("VM pin cannot move"),
        "{job}"
    );
    let h6 = admin_json(&server, &format!("/api/hosts/{}", ids["h6"])).await;
    assert_eq!(h6["status"], "up");
    assert_eq!(h6["updates_available"], true);
}

#[tokio::test]
async fn after_a_failed_install_the_upgrade_succeeds_once_the_failure_is_cleared() {
    let (dir, server, ids) = start(200.0, 30.0).await;
    let failed = run_job(
        &server,
        &format!("/api/hosts/{}/upgrade", ids["h4"]),
        json!({}),
    )
    .await;
    assert_eq!(failed["status"], "failed");
    let repaired = run(uplift(dir.path()).args(["sim", "fail", "h4", "none"]));
    assert!(
        repaired.status.success(),
        "{}",
        String::from_utf8_lossy(&repaired.stderr)
    );
    let job = run_job(
        &server,
        &format!("/api/hosts/{}/upgrade", ids["h4"]),
        json!({}),
    )
    .await;
    assert_eq!(job["status"], "succeeded", "{job}");
    let h4 = admin_json(&server, &format!("/api/hosts/{}", ids["h4"])).await;
    assert_eq!(h4["status"], "up");
    assert_eq!(h4["updates_available"], false);
}

#[tokio::test]
async fn a_kill_9_during_the_reboot_is_resumed_and_finishes() {
    // Ask what is pending (2 s), install (2 s), reboot (6 s): killed at 6.5 s, in the reboot.
    let (dir, server, ids) = start_on(&fleet_with_reboot(1.0, 2.0, 6.0)).await;
    let response = admin_post(
        &server,
        &format!("/api/hosts/{}/upgrade", ids["h1"]),
        json!({}),
    )
    .await;
    let job: Value = response.json().await.unwrap();
    let id = job["job"]["id"].as_str().unwrap().to_string();
    let deadline = Instant::now() + Duration::from_secs(30);
    while admin_json(&server, &format!("/api/hosts/{}", ids["h1"])).await["status"] != "reboot" {
        assert!(Instant::now() < deadline, "the host never rebooted");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    tokio::time::sleep(Duration::from_millis(1000)).await;
    server.kill();
    let server = Server::start(dir.path(), &dir.path().join("f.toml")).await;
    let done = wait_job(&server, &id).await;
    assert_eq!(done["status"], "succeeded", "{done}");
    let install_steps = done["steps"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| s["phase"] == "install")
        .count();
    assert_eq!(install_steps, 1, "the install is not repeated: {done}");
    let h1 = admin_json(&server, &format!("/api/hosts/{}", ids["h1"])).await;
    assert_eq!(h1["status"], "up");
    for vm in admin_json(&server, "/api/vms").await.as_array().unwrap() {
        if vm["name"] == "a" || vm["name"] == "b" {
            assert_eq!(vm["migrations"], 1, "{vm}");
            assert_eq!(vm["status"], "up");
        }
    }
    for host in admin_json(&server, "/api/hosts").await.as_array().unwrap() {
        let status = host["status"].as_str().unwrap();
        assert!(
            ["up", "maintenance", "down", "install_failed"].contains(&status),
            "{host}"
        );
    }
}

#[tokio::test]
async fn a_kill_9_during_the_migrations_of_an_upgrade_is_resumed_and_finishes() {
    // At real speed, h1's VMs (8 and 16 GiB at 10 Gbit/s) take 6.4 and 12.8 s to migrate.
    let (dir, server, ids) = start_on(&fleet_with_reboot(1.0, 2.0, 2.0)).await;
    let response = admin_post(
        &server,
        &format!("/api/hosts/{}/upgrade", ids["h1"]),
        json!({}),
    )
    .await;
    let job: Value = response.json().await.unwrap();
    let id = job["job"]["id"].as_str().unwrap().to_string();
    tokio::time::sleep(Duration::from_millis(2000)).await;
    let status = admin_json(&server, &format!("/api/hosts/{}", ids["h1"])).await["status"].clone();
    assert_eq!(status, "preparing_for_maintenance");
    server.kill();
    let server = Server::start(dir.path(), &dir.path().join("f.toml")).await;
    let done = wait_job(&server, &id).await;
    assert_eq!(done["status"], "succeeded", "{done}");
    assert_eq!(
        admin_json(&server, &format!("/api/hosts/{}", ids["h1"])).await["status"],
        "up"
    );
    for vm in admin_json(&server, "/api/vms").await.as_array().unwrap() {
        if vm["name"] == "a" || vm["name"] == "b" {
            assert_eq!(vm["migrations"], 1, "{vm}");
            assert_eq!(vm["status"], "up");
            assert_ne!(vm["host"]["name"], "h1");
        }
    }
}
