//! One VM over REST: the placement explanation (and that it is what the scheduler does), the
//! power actions, and what upgrade mode and cluster maintenance refuse.

mod common;

use common::*;
use serde_json::{json, Value};

const FLEET_VMS: &str = r#"
[simulation]
speed = 100.0

[[cluster]]
name = "mixed"
compatibility_version = "4.7"
scheduling_policy = "in_cluster_upgrade"
memory_headroom_percent = 0

[[cluster]]
name = "quiet"
compatibility_version = "4.7"
scheduling_policy = "cluster_maintenance"

[[host]]
name = "old1"
cluster = "mixed"
os = "RHEL 8.9"
memory_gb = 64

[[host]]
name = "old2"
cluster = "mixed"
os = "RHEL 8.9"
memory_gb = 64

[[host]]
name = "new1"
cluster = "mixed"
os = "RHEL 9.4"
memory_gb = 64

[[host]]
name = "new2"
cluster = "mixed"
os = "RHEL 9.4"
status = "maintenance"
memory_gb = 64

[[host]]
name = "tiny"
cluster = "mixed"
os = "RHEL 9.4"
memory_gb = 4

[[host]]
name = "q1"
cluster = "quiet"
os = "RHEL 9.4"
memory_gb = 64

[[vm]]
name = "web"
host = "old1"
cpus = 4
memory_gb = 8

[[vm]]
name = "spare"
cluster = "mixed"
memory_gb = 2

[[vm]]
name = "batch"
cluster = "quiet"
memory_gb = 2

[[vm]]
name = "db"
cluster = "quiet"
memory_gb = 2
highly_available = true

[[vm]]
name = "orphan"
memory_gb = 2
"#;

async fn start_server(dir: &std::path::Path) -> Server {
    Server::start(dir, &write_fleet(dir, "f.toml", FLEET_VMS)).await
}

#[tokio::test]
async fn placement_lists_every_host_and_is_where_the_vm_goes() {
    let dir = tempfile::tempdir().unwrap();
    let server = start_server(dir.path()).await;
    let vms = ids_by_name(&server, "/api/vms").await;
    add_viewer(dir.path());

    let path = format!("/api/vms/{}/placement", vms["web"]);
    let placement = get_json(&server, &path, "v", "viewer-password").await;
    assert_eq!(placement["policy"], "in_cluster_upgrade");
    assert_eq!(placement["action"], "migrate");
    assert_eq!(placement["cluster"]["name"], "mixed");
    assert_eq!(placement["chosen"]["name"], "new1");
    let rows = placement["hosts"].as_array().unwrap();
    let order: Vec<&str> = rows
        .iter()
        .map(|r| r["host"]["name"].as_str().unwrap())
        .collect();
    assert_eq!(order, ["new1", "old2", "new2", "old1", "tiny"]);
    assert_eq!(rows[0]["weights"][0]["unit"], "InClusterUpgrade");
    assert_eq!(rows[0]["weights"][0]["score"], 0);
    assert!(rows[0]["score"].as_i64().unwrap() < rows[1]["score"].as_i64().unwrap());
    for (row, filter, words) in [
        (2, "Status", "it is Maintenance"),
        (3, "Status", "it is the host the VM leaves"),
        (4, "Memory", "the VM needs 8192 MiB"),
    ] {
        assert_eq!(rows[row]["filter"], filter, "{}", rows[row]);
        assert!(
            rows[row]["reason"].as_str().unwrap().contains(words),
            "{}",
            rows[row]
        );
        assert!(rows[row]["score"].is_null());
    }

    // What the explanation says is what maintenance does.
    let hosts = ids_by_name(&server, "/api/hosts").await;
    let job = run_job(
        &server,
        &format!("/api/hosts/{}/deactivate", hosts["old1"]),
        json!({}),
    )
    .await;
    assert_eq!(job["status"], "succeeded", "{job}");
    let web = admin_json(&server, &format!("/api/vms/{}", vms["web"])).await;
    assert_eq!(web["host"]["name"], "new1");

    let down = admin_json(&server, &format!("/api/vms/{}/placement", vms["spare"])).await;
    assert_eq!(down["action"], "start");
    let orphan = client()
        .get(server.url(&format!("/api/vms/{}/placement", vms["orphan"])))
        .basic_auth("admin", Some(ADMIN_PASSWORD))
        .send()
        .await
        .unwrap();
    assert_eq!(orphan.status(), 409);
    let missing = client()
        .get(server.url("/api/vms/nope/placement"))
        .basic_auth("admin", Some(ADMIN_PASSWORD))
        .send()
        .await
        .unwrap();
    assert_eq!(missing.status(), 404);
}

#[tokio::test]
async fn upgrade_mode_refuses_suspending_and_pinning_until_it_ends() {
    let dir = tempfile::tempdir().unwrap();
    let server = start_server(dir.path()).await;
    let vms = ids_by_name(&server, "/api/vms").await;
    let web = &vms["web"];

    let suspend = admin_post(&server, &format!("/api/vms/{web}/suspend"), json!({})).await;
    let message = refusal(suspend, 409).await;
    assert!(
        message.contains("cluster mixed is in upgrade mode"),
        "{message}"
    );
    for pin in [
        json!({"migration": "pinned"}),
        json!({"cpu_pinning": true}),
        json!({"numa_pinning": true}),
        json!({"host_devices": true}),
    ] {
        let refused = put_as(
            &server,
            &format!("/api/vms/{web}"),
            "admin",
            ADMIN_PASSWORD,
            pin.clone(),
        )
        .await;
        assert_eq!(refused.status(), 409, "{pin}");
    }
    let vm = admin_json(&server, &format!("/api/vms/{web}")).await;
    assert_eq!(vm["migration"], "migratable");
    assert_eq!(vm["cpu_pinning"], false);

    // Loosening is fine; so are stop and start, and a start prefers the newest OS.
    let loosened = put_as(
        &server,
        &format!("/api/vms/{web}"),
        "admin",
        ADMIN_PASSWORD,
        json!({"migration": "user_migratable"}),
    )
    .await;
    assert_eq!(loosened.status(), 200);
    let stopped: Value = admin_post(&server, &format!("/api/vms/{web}/stop"), json!({}))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(stopped["status"], "down");
    assert!(stopped["host"].is_null());
    assert_eq!(stopped["cluster"]["name"], "mixed");
    let started: Value = admin_post(&server, &format!("/api/vms/{web}/start"), json!({}))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(started["status"], "up");
    assert_eq!(started["host"]["name"], "new1");

    // Out of upgrade mode, suspending works.
    let clusters = ids_by_name(&server, "/api/clusters").await;
    let left = put_as(
        &server,
        &format!("/api/clusters/{}", clusters["mixed"]),
        "admin",
        ADMIN_PASSWORD,
        json!({"scheduling_policy": "evenly_distributed", "force": true}),
    )
    .await;
    assert_eq!(left.status(), 200);
    let suspended: Value = admin_post(&server, &format!("/api/vms/{web}/suspend"), json!({}))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(suspended["status"], "suspended");
    assert!(suspended["host"].is_null());
    let again = admin_post(&server, &format!("/api/vms/{web}/suspend"), json!({})).await;
    assert_eq!(again.status(), 409);

    let events = admin_json(&server, "/api/events").await;
    for code in ["vm_updated", "vm_stopped", "vm_started", "vm_suspended"] {
        assert!(
            events
                .as_array()
                .unwrap()
                .iter()
                .any(|e| e["code"] == code && e["user"] == "admin"),
            "{code}"
        );
    }
}

#[tokio::test]
async fn cluster_maintenance_starts_only_highly_available_vms() {
    let dir = tempfile::tempdir().unwrap();
    let server = start_server(dir.path()).await;
    let vms = ids_by_name(&server, "/api/vms").await;
    let batch = admin_post(
        &server,
        &format!("/api/vms/{}/start", vms["batch"]),
        json!({}),
    )
    .await;
    let message = refusal(batch, 409).await;
    assert!(
        message.contains("only highly available VMs start"),
        "{message}"
    );
    let db: Value = admin_post(&server, &format!("/api/vms/{}/start", vms["db"]), json!({}))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(db["host"]["name"], "q1");
}

#[tokio::test]
async fn vm_changes_need_an_admin_and_a_valid_body() {
    let dir = tempfile::tempdir().unwrap();
    let server = start_server(dir.path()).await;
    let vms = ids_by_name(&server, "/api/vms").await;
    add_viewer(dir.path());
    let web = &vms["web"];
    let forbidden = post_as(
        &server,
        &format!("/api/vms/{web}/stop"),
        "v",
        "viewer-password",
        json!({}),
    )
    .await;
    assert_eq!(forbidden.status(), 403);
    for bad in [
        json!({}),
        json!({"colour": "red"}),
        json!({"migration": "x"}),
    ] {
        let response = put_as(
            &server,
            &format!("/api/vms/{web}"),
            "admin",
            ADMIN_PASSWORD,
            bad.clone(),
        )
        .await;
        assert_eq!(response.status(), 400, "{bad}");
    }
    let running = admin_post(&server, &format!("/api/vms/{web}/start"), json!({})).await;
    assert_eq!(running.status(), 409);
    let vm = admin_json(&server, &format!("/api/vms/{web}")).await;
    assert_eq!(vm["host"]["name"], "old1");
}

#[tokio::test]
async fn two_starts_at_once_run_the_vm_once() {
    let dir = tempfile::tempdir().unwrap();
    // At speed 1 a power action takes a simulated second, so the two requests overlap.
    let slow = FLEET_VMS.replace("speed = 100.0", "speed = 1.0");
    let server = Server::start(dir.path(), &write_fleet(dir.path(), "f.toml", &slow)).await;
    let spare = ids_by_name(&server, "/api/vms").await["spare"].clone();
    let path = format!("/api/vms/{spare}/start");
    let (first, second) = tokio::join!(
        admin_post(&server, &path, json!({})),
        admin_post(&server, &path, json!({}))
    );
    let mut statuses = [first.status().as_u16(), second.status().as_u16()];
    statuses.sort_unstable();
    assert_eq!(statuses, [200, 409]);
    let refused = if first.status() == 409 { first } else { second };
    assert!(refusal(refused, 409).await.contains("in progress"));

    let vm = admin_json(&server, &format!("/api/vms/{spare}")).await;
    assert_eq!(vm["status"], "up", "{vm}");
    let events = admin_json(&server, "/api/events").await;
    let started = events
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["code"] == "vm_started")
        .count();
    assert_eq!(started, 1, "{events}");
    // Once the first action is over, the VM takes the next one.
    let stopped = admin_post(&server, &format!("/api/vms/{spare}/stop"), json!({})).await;
    assert_eq!(stopped.status(), 200);
}
