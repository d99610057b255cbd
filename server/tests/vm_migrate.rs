//! Migrating a VM by hand over REST (`POST /api/vms/{id}/migrate`, issue 19): to the best host
//! or a chosen one; every refusal names its reason and changes nothing.

mod common;

use app::api::{Event, Job, JobStatus, Vm};
use common::*;
use serde_json::json;

const FLEET: &str = r#"
[simulation]
speed = 20.0
migration_gbps = 10.0

[[cluster]]
name = "A"
compatibility_version = "4.7"
memory_headroom_percent = 0

[[cluster]]
name = "B"
compatibility_version = "4.7"

[[host]]
name = "h1"
cluster = "A"
os = "RHEL 9.4"
memory_gb = 64

[[host]]
name = "h2"
cluster = "A"
os = "RHEL 9.4"
memory_gb = 64

[[host]]
name = "down-for-work"
cluster = "A"
os = "RHEL 9.4"
status = "maintenance"
memory_gb = 64

[[host]]
name = "small"
cluster = "A"
os = "RHEL 9.4"
memory_gb = 4

[[host]]
name = "b1"
cluster = "B"
os = "RHEL 9.4"
memory_gb = 64

[[vm]]
name = "web"
host = "h1"
memory_gb = 8

[[vm]]
name = "pin"
host = "h1"
memory_gb = 2
migration = "pinned"

[[vm]]
name = "off"
cluster = "A"
memory_gb = 2
"#;

struct Lab {
    _dir: tempfile::TempDir,
    server: Server,
    hosts: std::collections::HashMap<String, String>,
    vms: std::collections::HashMap<String, String>,
}

async fn start() -> Lab {
    let dir = tempfile::tempdir().unwrap();
    let fleet = write_fleet(dir.path(), "f.toml", FLEET);
    let server = Server::start(dir.path(), &fleet).await;
    let hosts = ids_by_name(&server, "/api/hosts").await;
    let vms = ids_by_name(&server, "/api/vms").await;
    Lab {
        _dir: dir,
        server,
        hosts,
        vms,
    }
}

async fn vm(server: &Server, id: &str) -> Vm {
    admin_get(server, &format!("/api/vms/{id}")).await
}

async fn migrate(lab: &Lab, vm: &str, body: serde_json::Value) -> reqwest::Response {
    admin_post(
        &lab.server,
        &format!("/api/vms/{}/migrate", lab.vms[vm]),
        body,
    )
    .await
}

async fn migrated(lab: &Lab, vm: &str, body: serde_json::Value) -> Job {
    let response = migrate(lab, vm, body).await;
    assert_eq!(response.status(), 202);
    #[derive(serde::Deserialize)]
    struct Accepted {
        job: Job,
    }
    let accepted: Accepted = response.json().await.expect("202 {\"job\": …}");
    wait_job(&lab.server, &accepted.job.id).await;
    admin_get(&lab.server, &format!("/api/jobs/{}", accepted.job.id)).await
}

#[tokio::test]
async fn a_vm_moves_to_the_best_host_or_to_the_one_the_admin_chose() {
    let lab = start().await;
    let job = migrated(&lab, "web", json!({})).await;
    assert_eq!(job.status, JobStatus::Succeeded, "{job:?}");
    let web = vm(&lab.server, &lab.vms["web"]).await;
    // The only host that can take it: h2 (maintenance, too small, another cluster).
    assert_eq!(web.host.as_ref().map(|h| h.name.as_str()), Some("h2"));
    assert_eq!(web.migrations, 1);
    let events: Vec<Event> = admin_get(&lab.server, "/api/events?per_page=20").await;
    let moved = events
        .iter()
        .find(|e| e.code == "vm_migrated")
        .expect("a vm_migrated event");
    assert_eq!(moved.message, "VM web was migrated to host h2.");
    assert_eq!(moved.user.as_deref(), Some("admin"));

    let job = migrated(&lab, "web", json!({"host": lab.hosts["h1"]})).await;
    assert_eq!(job.status, JobStatus::Succeeded, "{job:?}");
    let web = vm(&lab.server, &lab.vms["web"]).await;
    assert_eq!(web.host.as_ref().map(|h| h.name.as_str()), Some("h1"));
    assert_eq!(web.migrations, 2);
    // The simulated hypervisors agree.
    assert_eq!(
        sim_vms(&lab.server.data_dir)["web"].0.as_deref(),
        Some("h1")
    );
}

#[tokio::test]
async fn refusals_name_what_is_wrong_and_change_nothing() {
    let lab = start().await;
    let cases: Vec<(&str, serde_json::Value, u16, &str)> = vec![
        ("pin", json!({}), 409, "pinned to its host"),
        ("off", json!({}), 409, "only a running VM can be migrated"),
        (
            "web",
            json!({"host": "no-such-host"}),
            404,
            "There is no host with id no-such-host",
        ),
        (
            "web",
            json!({"host": lab.hosts["b1"]}),
            409,
            "is not a host of cluster A",
        ),
        (
            "web",
            json!({"host": lab.hosts["h1"]}),
            409,
            "runs on host h1 already",
        ),
        (
            "web",
            json!({"host": lab.hosts["down-for-work"]}),
            409,
            "Host down-for-work cannot take VM web",
        ),
        ("web", json!({"host": lab.hosts["small"]}), 409, "MiB free"),
        ("web", json!({"host": 5}), 400, ""),
        ("web", json!({"where": "h2"}), 400, ""),
    ];
    for (name, body, status, words) in cases {
        let response = migrate(&lab, name, body.clone()).await;
        let message = refusal(response, status).await;
        assert!(message.contains(words), "{name} {body}: {message}");
    }
    let unknown = admin_post(&lab.server, "/api/vms/nope/migrate", json!({})).await;
    assert!(refusal(unknown, 404)
        .await
        .contains("There is no VM with id nope"));
    add_viewer(&lab.server.data_dir);
    let viewer = post_as(
        &lab.server,
        &format!("/api/vms/{}/migrate", lab.vms["web"]),
        "v",
        "viewer-password",
        json!({}),
    )
    .await;
    assert_eq!(viewer.status(), 403);

    // Nothing moved and no job was made.
    let jobs: Vec<Job> = admin_get(&lab.server, "/api/jobs").await;
    assert!(
        jobs.iter().all(|j| j.kind != app::api::JobKind::VmMigrate),
        "{jobs:?}"
    );
    for name in ["web", "pin"] {
        let now = vm(&lab.server, &lab.vms[name]).await;
        assert_eq!(now.host.as_ref().map(|h| h.name.as_str()), Some("h1"));
        assert_eq!(now.migrations, 0);
    }
}

#[tokio::test]
async fn two_admins_migrating_one_vm_at_once_get_one_job() {
    let lab = start().await;
    let (a, b) = tokio::join!(
        migrate(&lab, "web", json!({})),
        migrate(&lab, "web", json!({}))
    );
    let mut statuses = [a.status().as_u16(), b.status().as_u16()];
    statuses.sort();
    assert_eq!(statuses, [202, 409], "one job, one refusal");
    let jobs: Vec<Job> = admin_get(&lab.server, "/api/jobs").await;
    let migrations: Vec<&Job> = jobs
        .iter()
        .filter(|j| j.kind == app::api::JobKind::VmMigrate)
        .collect();
    assert_eq!(migrations.len(), 1);
    wait_job(&lab.server, &migrations[0].id).await;
    assert_eq!(vm(&lab.server, &lab.vms["web"]).await.migrations, 1);
}

/// Killed (as by kill -9) on either side of each step's side effect, restarted: the migration
/// ends as an uncrashed one does, once.
#[tokio::test]
async fn a_crash_at_any_step_of_a_migration_is_resumed_and_moves_the_vm_once() {
    for step in ["choose the target", "migrate", "announce"] {
        for boundary in ["before", "after"] {
            let dir = tempfile::tempdir().unwrap();
            let fleet = write_fleet(dir.path(), "f.toml", FLEET);
            let crash = format!("vm_migrate:{step}:{boundary}");
            let mut server =
                Server::start_with(dir.path(), &fleet, &[("UPLIFT_CRASH_AT", &crash)]).await;
            let vms = ids_by_name(&server, "/api/vms").await;
            // The job is stored before it starts: a crash at its first step may beat the 202
            // to the client, which then sees the connection close instead.
            let sent = client()
                .post(server.url(&format!("/api/vms/{}/migrate", vms["web"])))
                .basic_auth("admin", Some(ADMIN_PASSWORD))
                .json(&json!({}))
                .send()
                .await;
            if let Ok(response) = sent {
                assert_eq!(response.status(), 202, "{crash}");
            }
            let ended = server.wait_exit(std::time::Duration::from_secs(30)).await;
            assert!(ended.is_some(), "{crash}: the server did not crash");
            let server = Server::start(dir.path(), &fleet).await;
            let jobs: Vec<Job> = admin_get(&server, "/api/jobs").await;
            let job = jobs
                .iter()
                .find(|j| j.kind == app::api::JobKind::VmMigrate)
                .expect("the migration job");
            wait_job(&server, &job.id).await;
            let done: Job = admin_get(&server, &format!("/api/jobs/{}", job.id)).await;
            assert_eq!(done.status, JobStatus::Succeeded, "{crash}: {done:?}");
            let web = vm(&server, &vms["web"]).await;
            assert_eq!(
                web.host.as_ref().map(|h| h.name.as_str()),
                Some("h2"),
                "{crash}"
            );
            assert_eq!(web.migrations, 1, "{crash}");
            assert_eq!(
                sim_vms(&server.data_dir)["web"].0.as_deref(),
                Some("h2"),
                "{crash}"
            );
            let events: Vec<Event> = admin_get(&server, "/api/events?per_page=50").await;
            let said = events.iter().filter(|e| e.code == "vm_migrated").count();
            assert_eq!(said, 1, "{crash}: one event");
        }
    }
}
