//! Maintenance and activation of a host through the REST API, on a fleet written by the test,
//! including a kill -9 in the middle of the migrations.

mod common;

use std::time::Duration;

use common::*;
use serde_json::{json, Value};

fn fleet(speed: f64, gbps: f64, max_migrations: u32) -> String {
    format!(
        r#"
[simulation]
speed = {speed}
migration_gbps = {gbps}
max_migrations_per_host = {max_migrations}

[[cluster]]
name = "c"
compatibility_version = "4.7"
scheduling_policy = "evenly_distributed"
memory_headroom_percent = 10

[[host]]
name = "h1"
cluster = "c"
os = "RHEL 8.9"
memory_gb = 64

[[host]]
name = "h2"
cluster = "c"
os = "RHEL 8.9"
memory_gb = 64

[[host]]
name = "h3"
cluster = "c"
os = "RHEL 8.9"
memory_gb = 64

[[host]]
name = "h4"
cluster = "c"
status = "maintenance"
os = "RHEL 8.9"
memory_gb = 64

[[vm]]
name = "a"
host = "h1"
memory_gb = 8

[[vm]]
name = "b"
host = "h1"
memory_gb = 8

[[vm]]
name = "c"
host = "h1"
memory_gb = 8

[[vm]]
name = "p"
host = "h2"
memory_gb = 4
migration = "pinned"
"#
    )
}

async fn host(server: &Server, name: &str) -> Value {
    let hosts = admin_json(server, "/api/hosts").await;
    hosts
        .as_array()
        .unwrap()
        .iter()
        .find(|h| h["name"] == name)
        .unwrap()
        .clone()
}

fn vms_by_name(vms: &Value) -> std::collections::BTreeMap<String, Value> {
    vms.as_array()
        .unwrap()
        .iter()
        .map(|v| (v["name"].as_str().unwrap().to_string(), v.clone()))
        .collect()
}

#[tokio::test]
async fn maintenance_migrates_every_vm_away_and_activation_brings_the_host_back() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(
        dir.path(),
        &write_fleet(dir.path(), "f.toml", &fleet(100.0, 10.0, 2)),
    )
    .await;
    let h1 = host(&server, "h1").await["id"]
        .as_str()
        .unwrap()
        .to_string();
    let job = start_job(&server, &format!("/api/hosts/{h1}/deactivate"), json!({})).await;
    let job = wait_job(&server, &job).await;
    assert_eq!(job["status"], "succeeded", "{job}");
    assert_eq!(job["kind"], "host_maintenance");
    assert_eq!(host(&server, "h1").await["status"], "maintenance");
    assert_eq!(host(&server, "h1").await["vm_count"], 0);

    let vms = vms_by_name(&admin_json(&server, "/api/vms").await);
    for name in ["a", "b", "c"] {
        let vm = &vms[name];
        assert_eq!(vm["status"], "up");
        assert!(
            ["h2", "h3"].contains(&vm["host"]["name"].as_str().unwrap()),
            "{vm}"
        );
        assert_eq!(vm["migrations"], 1, "{vm}");
    }
    assert_eq!(vms["p"]["migrations"], 0);
    for h in admin_json(&server, "/api/hosts").await.as_array().unwrap() {
        assert!(
            h["memory_mb"]["used"].as_u64().unwrap()
                <= h["memory_mb"]["total"].as_u64().unwrap() * 9 / 10,
            "{h}"
        );
    }
    // Spread evenly: h3 (empty) takes two of the three, h2 one.
    let on_h3 = ["a", "b", "c"]
        .iter()
        .filter(|n| vms[**n]["host"]["name"] == "h3")
        .count();
    assert_eq!(on_h3, 2);

    let job = start_job(&server, &format!("/api/hosts/{h1}/activate"), json!({})).await;
    let job = wait_job(&server, &job).await;
    assert_eq!(job["status"], "succeeded", "{job}");
    assert_eq!(host(&server, "h1").await["status"], "up");
    assert_events(
        &server,
        "/api/events",
        &[
            "host_maintenance_started",
            "host_maintenance_finished",
            "host_activated",
        ],
    )
    .await;
}

#[tokio::test]
async fn a_pinned_vm_fails_fast_naming_it_and_the_host_keeps_its_status() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(
        dir.path(),
        &write_fleet(dir.path(), "f.toml", &fleet(100.0, 10.0, 2)),
    )
    .await;
    let h2 = host(&server, "h2").await["id"]
        .as_str()
        .unwrap()
        .to_string();
    let job = start_job(&server, &format!("/api/hosts/{h2}/deactivate"), json!({})).await;
    let job = wait_job(&server, &job).await;
    assert_eq!(job["status"], "failed");
    assert!(
        job["message"]
            .as_str()
            .unwrap()
            .contains("VM p cannot move"),
        "{job}"
    );
    assert!(job["message"].as_str().unwrap().contains("pinned"), "{job}");
    assert_eq!(host(&server, "h2").await["status"], "up");
    let vms = vms_by_name(&admin_json(&server, "/api/vms").await);
    assert_eq!(vms["p"]["host"]["name"], "h2");
    assert_eq!(vms["p"]["migrations"], 0);
    let events = admin_json(&server, "/api/events?severity=error").await;
    assert!(
        events[0]["message"].as_str().unwrap().contains("stays Up"),
        "{events}"
    );
    assert_eq!(events[0]["user"], "admin");
}

#[tokio::test]
async fn statuses_and_roles_that_do_not_allow_it_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(
        dir.path(),
        &write_fleet(dir.path(), "f.toml", &fleet(100.0, 10.0, 2)),
    )
    .await;
    let h1 = host(&server, "h1").await["id"]
        .as_str()
        .unwrap()
        .to_string();
    let h4 = host(&server, "h4").await["id"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(
        post_as(
            &server,
            &format!("/api/hosts/{h4}/deactivate"),
            "admin",
            ADMIN_PASSWORD,
            json!({})
        )
        .await
        .status(),
        409
    );
    assert_eq!(
        post_as(
            &server,
            &format!("/api/hosts/{h1}/activate"),
            "admin",
            ADMIN_PASSWORD,
            json!({})
        )
        .await
        .status(),
        409
    );
    add_viewer(dir.path());
    assert_eq!(
        post_as(
            &server,
            &format!("/api/hosts/{h1}/deactivate"),
            "v",
            "viewer-password",
            json!({})
        )
        .await
        .status(),
        403
    );
    assert_eq!(host(&server, "h1").await["status"], "up");
}

#[tokio::test]
async fn a_kill_9_during_the_migrations_is_resumed_after_restart() {
    let dir = tempfile::tempdir().unwrap();
    // 8 GiB at 20 Gbit/s: 3.2 s per VM, one at a time: about 10 s for the three.
    let file = write_fleet(dir.path(), "f.toml", &fleet(1.0, 20.0, 1));
    let server = Server::start(dir.path(), &file).await;
    let h1 = host(&server, "h1").await["id"]
        .as_str()
        .unwrap()
        .to_string();
    let job = start_job(&server, &format!("/api/hosts/{h1}/deactivate"), json!({})).await;
    tokio::time::sleep(Duration::from_millis(4500)).await;
    assert_eq!(
        host(&server, "h1").await["status"],
        "preparing_for_maintenance"
    );
    server.kill();

    let server = Server::start(dir.path(), &file).await;
    let done = wait_job(&server, &job).await;
    assert_eq!(done["status"], "succeeded", "{done}");
    assert_eq!(host(&server, "h1").await["status"], "maintenance");
    let vms = vms_by_name(&admin_json(&server, "/api/vms").await);
    for name in ["a", "b", "c"] {
        assert_eq!(vms[name]["status"], "up");
        assert_ne!(vms[name]["host"]["name"], "h1");
        assert_eq!(
            vms[name]["migrations"], 1,
            "each VM migrated exactly once: {}",
            vms[name]
        );
    }
    assert!(
        server
            .log()
            .contains("taking over a job no running instance holds"),
        "{}",
        server.log()
    );
}

#[tokio::test]
async fn upgrading_under_in_cluster_upgrade_moves_vms_only_to_equal_or_newer_os_preferring_newer() {
    let text = r#"
[simulation]
speed = 100.0

[repository]
os = "RHEL 9.6"
packages = { vdsm = "4.50.3" }

[[cluster]]
name = "u"
compatibility_version = "4.7"
scheduling_policy = "in_cluster_upgrade"
memory_headroom_percent = 0

[[host]]
name = "mid"
cluster = "u"
os = "RHEL 9.2"
memory_gb = 64
packages = { vdsm = "4.50.2" }

[[host]]
name = "old"
cluster = "u"
os = "RHEL 8.9"
memory_gb = 512

[[host]]
name = "same"
cluster = "u"
os = "RHEL - 9.2 - 1.el9"
memory_gb = 512

[[host]]
name = "new"
cluster = "u"
os = "RHEL 9.4"
memory_gb = 20

[[vm]]
name = "x"
host = "mid"
memory_gb = 8

[[vm]]
name = "y"
host = "mid"
memory_gb = 16
"#;
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path(), &write_fleet(dir.path(), "f.toml", text)).await;
    let mid = host(&server, "mid").await["id"]
        .as_str()
        .unwrap()
        .to_string();
    let check = run_job(
        &server,
        &format!("/api/hosts/{mid}/upgradecheck"),
        json!({}),
    )
    .await;
    assert_eq!(check["status"], "succeeded", "{check}");
    let job = run_job(&server, &format!("/api/hosts/{mid}/upgrade"), json!({})).await;
    assert_eq!(job["status"], "succeeded", "{job}");
    assert_eq!(host(&server, "mid").await["os"], "RHEL 9.6");
    let vms = vms_by_name(&admin_json(&server, "/api/vms").await);
    // The newer host takes what fits (16 of its 20 GiB), the same-OS host the rest; never the
    // older host, though it has the most room.
    assert_eq!(vms["y"]["host"]["name"], "new");
    assert_eq!(vms["x"]["host"]["name"], "same");
    for vm in vms.values() {
        assert_ne!(vm["host"]["name"], "old");
    }
}
