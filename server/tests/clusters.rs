//! `PUT /api/clusters/{id}`: scheduling policy (with the InClusterUpgrade preconditions) and
//! compatibility level.

mod common;

use common::*;
use serde_json::{json, Value};

const FLEET_WITH_VIOLATIONS: &str = r#"
[[cluster]]
name = "blocked"
compatibility_version = "4.7"

[[cluster]]
name = "clean"
compatibility_version = "4.7"

[[host]]
name = "b1"
cluster = "blocked"
os = "RHEL 8.9"
memory_gb = 64

[[cluster]]
name = "odd"
compatibility_version = "4.7"

[[host]]
name = "b2"
cluster = "blocked"
os = "RHEL 8.9"
memory_gb = 64

[[host]]
name = "o1"
cluster = "odd"
os = "mystery"
memory_gb = 64

[[host]]
name = "c1"
cluster = "clean"
os = "RHEL 8.9"
memory_gb = 64
supported_cluster_levels = ["4.6", "4.7"]

[[host]]
name = "c2"
cluster = "clean"
os = "RHEL 9.4"
memory_gb = 64
supported_cluster_levels = ["4.7", "4.8"]

[[vm]]
name = "cpu"
host = "b1"
memory_gb = 2
cpu_pinning = true

[[vm]]
name = "numa"
host = "b1"
memory_gb = 2
numa_pinning = true

[[vm]]
name = "stuck"
host = "b1"
memory_gb = 2
migration = "pinned"

[[vm]]
name = "gpu"
host = "b1"
memory_gb = 2
host_devices = true

[[vm]]
name = "sleepy"
cluster = "blocked"
status = "suspended"
memory_gb = 2

[[vm]]
name = "fine"
host = "c1"
memory_gb = 2
"#;

async fn put(
    server: &Server,
    id: &str,
    body: Value,
    user: &str,
    password: &str,
) -> reqwest::Response {
    put_as(server, &format!("/api/clusters/{id}"), user, password, body).await
}

#[tokio::test]
async fn in_cluster_upgrade_is_refused_naming_every_violation_and_allowed_without_them() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(
        dir.path(),
        &write_fleet(dir.path(), "f.toml", FLEET_WITH_VIOLATIONS),
    )
    .await;
    let ids = ids_by_name(&server, "/api/clusters").await;

    let refused = put(
        &server,
        &ids["blocked"],
        json!({"scheduling_policy": "in_cluster_upgrade"}),
        "admin",
        ADMIN_PASSWORD,
    )
    .await;
    assert_eq!(refused.status(), 409);
    let body: Value = refused.json().await.unwrap();
    let message = body["error"]["message"].as_str().unwrap();
    for named in [
        "VM cpu: it has CPU pinning",
        "VM numa: it has NUMA pinning",
        "VM stuck: it is pinned",
        "VM gpu: it uses host devices",
        "VM sleepy: it is suspended",
    ] {
        assert!(message.contains(named), "{named} in {message}");
    }
    assert!(!message.contains("host b"), "{message}");
    let blocked = admin_json(&server, &format!("/api/clusters/{}", ids["blocked"])).await;
    assert_eq!(blocked["scheduling_policy"], "none");

    // The admin fixes each violation through the API; then the policy is accepted.
    let vms = ids_by_name(&server, "/api/vms").await;
    for (vm, fix) in [
        ("cpu", json!({"cpu_pinning": false})),
        ("numa", json!({"numa_pinning": false})),
        ("stuck", json!({"migration": "migratable"})),
        ("gpu", json!({"host_devices": false})),
    ] {
        let response = put_as(
            &server,
            &format!("/api/vms/{}", vms[vm]),
            "admin",
            ADMIN_PASSWORD,
            fix,
        )
        .await;
        assert_eq!(response.status(), 200, "{vm}");
    }
    let started = admin_post(
        &server,
        &format!("/api/vms/{}/start", vms["sleepy"]),
        json!({}),
    )
    .await;
    assert_eq!(started.status(), 200);
    let fixed = put(
        &server,
        &ids["blocked"],
        json!({"scheduling_policy": "in_cluster_upgrade"}),
        "admin",
        ADMIN_PASSWORD,
    )
    .await;
    assert_eq!(fixed.status(), 200);

    // A host whose OS does not parse blocks upgrade mode too.
    let odd = put(
        &server,
        &ids["odd"],
        json!({"scheduling_policy": "in_cluster_upgrade"}),
        "admin",
        ADMIN_PASSWORD,
    )
    .await;
    let message = refusal(odd, 409).await;
    assert!(
        message.contains("host o1: OS \"mystery\" has no version"),
        "{message}"
    );

    let allowed = put(
        &server,
        &ids["clean"],
        json!({"scheduling_policy": "in_cluster_upgrade"}),
        "admin",
        ADMIN_PASSWORD,
    )
    .await;
    assert_eq!(allowed.status(), 200);
    let cluster: Value = allowed.json().await.unwrap();
    assert_eq!(cluster["scheduling_policy"], "in_cluster_upgrade");

    // RHEL 8 and 9 still mixed: leaving upgrade mode needs force.
    let stay = put(
        &server,
        &ids["clean"],
        json!({"scheduling_policy": "evenly_distributed"}),
        "admin",
        ADMIN_PASSWORD,
    )
    .await;
    let message = refusal(stay, 409).await;
    assert!(
        message.contains("RHEL hosts still run major versions 8 and 9"),
        "{message}"
    );
    // The refusal names the hosts still on the older version (issue 19, item 7).
    assert!(message.contains("not upgraded yet: c1;"), "{message}");
    let forced = put(
        &server,
        &ids["clean"],
        json!({"scheduling_policy": "evenly_distributed", "force": true}),
        "admin",
        ADMIN_PASSWORD,
    )
    .await;
    assert_eq!(forced.status(), 200);

    let events = admin_json(&server, "/api/events").await;
    assert!(events
        .as_array()
        .unwrap()
        .iter()
        .any(|e| e["code"] == "cluster_policy_changed" && e["user"] == "admin"));
}

#[tokio::test]
async fn levels_rise_only_when_every_host_supports_them_and_bad_input_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(
        dir.path(),
        &write_fleet(dir.path(), "f.toml", FLEET_WITH_VIOLATIONS),
    )
    .await;
    let ids = ids_by_name(&server, "/api/clusters").await;
    let too_high = put(
        &server,
        &ids["clean"],
        json!({"compatibility_version": "4.8"}),
        "admin",
        ADMIN_PASSWORD,
    )
    .await;
    let message = refusal(too_high, 409).await;
    assert!(message.contains("hosts c1 do not support it"), "{message}");

    for bad in [
        json!({"scheduling_policy": "fastest"}),
        json!({"compatibility_version": "four"}),
        json!({"colour": "red"}),
    ] {
        let response = put(&server, &ids["clean"], bad.clone(), "admin", ADMIN_PASSWORD).await;
        assert_eq!(response.status(), 400, "{bad}");
    }
    add_viewer(dir.path());
    let forbidden = put(
        &server,
        &ids["clean"],
        json!({"scheduling_policy": "power_saving"}),
        "v",
        "viewer-password",
    )
    .await;
    assert_eq!(forbidden.status(), 403);
    assert_eq!(
        admin_json(&server, &format!("/api/clusters/{}", ids["clean"])).await["scheduling_policy"],
        "none"
    );
}
