//! Issue 21 through the REST API with the `sim` content provider: providers registered and
//! refused, hosts linked, errata listed and filtered, two errata installed in one job, a
//! kill -9 while the provider's task runs, and bad input that changes nothing.

mod common;

use app::api::{
    Erratum, ErratumType, Host, HostContent, HostStatus, Job, JobStatus, Provider, ProviderKind,
};
use common::*;
use serde_json::json;

/// Cluster "c": h1 (Up, two VMs), h2 (Maintenance), h3 (Up, no katello-agent), h4 (Non
/// Operational); five errata, three of which apply to h1 and h2.
fn errata_fleet(speed: f64) -> String {
    format!(
        r#"{}
[[host]]
name = "h1"
cluster = "c"
os = "RHEL 9.4"
memory_gb = 64
upgrade_seconds = 30
packages = {{ qemu-kvm = "8.2.0", openssl = "3.0.7", vdsm = "4.50.2" }}

[[host]]
name = "h2"
cluster = "c"
os = "RHEL 9.4"
memory_gb = 64
status = "maintenance"
upgrade_seconds = 30
packages = {{ qemu-kvm = "8.2.0", openssl = "3.0.7", vdsm = "4.50.2" }}

[[host]]
name = "h3"
cluster = "c"
os = "RHEL 9.4"
memory_gb = 64
fail = "no_agent"
packages = {{ qemu-kvm = "8.2.0" }}

[[host]]
name = "h4"
cluster = "c"
os = "RHEL 9.4"
memory_gb = 64
status = "non_operational"
packages = {{ qemu-kvm = "8.2.0" }}

[[vm]]
name = "web"
host = "h1"
memory_gb = 4
migration = "migratable"

[[vm]]
name = "db"
host = "h1"
memory_gb = 4
migration = "migratable"

[[erratum]]
id = "RHSA-2026:1001"
type = "security"
severity = "Important"
title = "qemu-kvm security update"
issued = "2026-10-02"
description = "A guest could write outside its virtio buffer."
packages = {{ qemu-kvm = "8.2.1" }}

[[erratum]]
id = "RHSA-2026:1002"
type = "security"
severity = "Critical"
title = "openssl security update"
issued = "2026-10-20"
description = "A crafted certificate crashes the TLS handshake."
packages = {{ openssl = "3.0.8" }}

[[erratum]]
id = "RHBA-2026:2001"
type = "bugfix"
severity = "None"
title = "vdsm bug fix update"
issued = "2026-09-15"
description = "Migrations no longer stall at 99 %."
packages = {{ vdsm = "4.50.3" }}

[[erratum]]
id = "RHEA-2026:3001"
type = "enhancement"
severity = "None"
title = "libvirt enhancement update"
issued = "2026-11-01"
description = "Not installed on these hosts: applies to none."
packages = {{ libvirt = "10.0.0" }}

[[erratum]]
id = "RHSA-2026:0900"
type = "security"
severity = "Low"
title = "old qemu-kvm security update"
issued = "2026-01-10"
description = "Fixed in a version the hosts already run."
packages = {{ qemu-kvm = "8.1.0" }}
"#,
        cluster_c(speed, 10.0)
    )
}

async fn sim_provider(server: &Server) -> Provider {
    let response = admin_post(
        server,
        "/api/providers",
        json!({"name": "Simulated Satellite", "kind": "sim"}),
    )
    .await;
    assert_eq!(response.status(), 201);
    response.json().await.expect("a provider")
}

async fn link(server: &Server, host: &str, provider: &str) -> HostContent {
    let response = put_as(
        server,
        &format!("/api/hosts/{host}/content"),
        "admin",
        ADMIN_PASSWORD,
        json!({"provider": provider}),
    )
    .await;
    assert_eq!(response.status(), 200);
    response.json().await.expect("the host's content link")
}

fn ids(errata: &[Erratum]) -> Vec<&str> {
    errata.iter().map(|e| e.id.as_str()).collect()
}

/// `uplift sim tasks`: the simulated provider's tasks as (id, host, state).
fn sim_tasks(dir: &std::path::Path) -> Vec<(String, String, String)> {
    let out = run(uplift(dir).args(["sim", "tasks"]));
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|line| {
            let parts: Vec<&str> = line.split('\t').collect();
            (
                parts[0].to_string(),
                parts[1].to_string(),
                parts[2].to_string(),
            )
        })
        .collect()
}

#[tokio::test]
async fn the_sim_provider_lists_and_installs_errata_end_to_end() {
    let dir = tempfile::tempdir().unwrap();
    let fleet = write_fleet(dir.path(), "fleet.toml", &errata_fleet(100.0));
    let server = Server::start(dir.path(), &fleet).await;
    let hosts = ids_by_name(&server, "/api/hosts").await;
    let h1 = &hosts["h1"];

    let unlinked = admin_post(
        &server,
        &format!("/api/hosts/{h1}/errata/install"),
        json!({"errata": ["RHSA-2026:1001"]}),
    )
    .await;
    assert!(refusal(unlinked, 409).await.contains("not linked"));

    let provider = sim_provider(&server).await;
    assert_eq!(provider.kind, ProviderKind::Sim);
    assert!(!provider.has_password);
    let content = link(&server, h1, &provider.id).await;
    assert!(content.can_install, "{content:?}");
    assert_eq!(
        content.provider.as_ref().map(|p| p.name.as_str()),
        Some("Simulated Satellite")
    );
    assert!(
        content.content_host.is_some(),
        "resolved by the host's name"
    );
    let providers: Vec<Provider> = admin_get(&server, "/api/providers").await;
    assert_eq!(providers[0].hosts, 1);

    let errata: Vec<Erratum> = admin_get(&server, &format!("/api/hosts/{h1}/errata")).await;
    assert_eq!(
        ids(&errata),
        ["RHSA-2026:1002", "RHSA-2026:1001", "RHBA-2026:2001"],
        "newest first, applicable only"
    );
    let openssl = &errata[0];
    assert_eq!(
        (openssl.kind, openssl.severity.as_str()),
        (ErratumType::Security, "Critical")
    );
    assert_eq!(
        openssl.description,
        "A crafted certificate crashes the TLS handshake."
    );
    let security: Vec<Erratum> =
        admin_get(&server, &format!("/api/hosts/{h1}/errata?type=security")).await;
    assert_eq!(ids(&security), ["RHSA-2026:1002", "RHSA-2026:1001"]);
    let critical: Vec<Erratum> = admin_get(
        &server,
        &format!("/api/hosts/{h1}/errata?severity=critical"),
    )
    .await;
    assert_eq!(ids(&critical), ["RHSA-2026:1002"]);

    let job = run_job(
        &server,
        &format!("/api/hosts/{h1}/errata/install"),
        json!({"errata": ["RHSA-2026:1001", "RHBA-2026:2001"]}),
    )
    .await;
    let job: Job = serde_json::from_value(job).expect("a job");
    assert_eq!(job.status, JobStatus::Succeeded, "{job:?}");
    let names: Vec<&str> = job.steps.iter().filter_map(|s| s.name.as_deref()).collect();
    for step in [
        "migrate",
        "request install",
        "wait for the provider task",
        "activate",
    ] {
        assert!(names.contains(&step), "{step} in {names:?}");
    }
    let host: Host = admin_get(&server, &format!("/api/hosts/{h1}")).await;
    assert_eq!(host.status, HostStatus::Up);
    let left: Vec<Erratum> = admin_get(&server, &format!("/api/hosts/{h1}/errata")).await;
    assert_eq!(
        ids(&left),
        ["RHSA-2026:1002"],
        "the two installed errata are gone"
    );
    let tasks = sim_tasks(dir.path());
    assert_eq!(
        tasks.len(),
        1,
        "one provider task for one install: {tasks:?}"
    );
    assert_eq!(
        (tasks[0].1.as_str(), tasks[0].2.as_str()),
        ("h1", "succeeded")
    );
    assert_events(
        &server,
        "/api/events?per_page=100",
        &[
            "provider_added",
            "host_content_linked",
            "host_errata_install_started",
            "host_errata_installed",
        ],
    )
    .await;
    let events = admin_json(&server, "/api/events?per_page=100").await;
    let installed = events
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["code"] == "host_errata_installed")
        .expect("the install's event");
    assert_eq!(installed["user"], "admin");
}

#[tokio::test]
async fn bad_input_is_refused_with_its_reason_and_changes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let fleet = write_fleet(dir.path(), "fleet.toml", &errata_fleet(100.0));
    let server = Server::start(dir.path(), &fleet).await;
    add_viewer(dir.path());
    let hosts = ids_by_name(&server, "/api/hosts").await;

    let unknown_kind = admin_post(
        &server,
        "/api/providers",
        json!({"name": "x", "kind": "pulp"}),
    )
    .await;
    assert_eq!(unknown_kind.status().as_u16() / 100, 4);
    let body = unknown_kind.text().await.unwrap();
    assert!(body.contains("pulp") || body.contains("kind"), "{body}");
    let ftp = admin_post(
        &server,
        "/api/providers",
        json!({"name": "x", "kind": "foreman", "url": "ftp://satellite.example.com", "username": "u", "password": "secret-pw"}),
    )
    .await;
    assert!(refusal(ftp, 400).await.contains("http"));
    let no_password = admin_post(
        &server,
        "/api/providers",
        json!({"name": "x", "kind": "foreman", "url": "https://satellite.example.com", "username": "u"}),
    )
    .await;
    assert_eq!(no_password.status(), 400);
    let as_viewer = post_as(
        &server,
        "/api/providers",
        "v",
        "viewer-password",
        json!({"name": "x", "kind": "sim"}),
    )
    .await;
    assert_eq!(as_viewer.status(), 403);
    let none: Vec<Provider> = admin_get(&server, "/api/providers").await;
    assert!(none.is_empty(), "nothing was registered: {none:?}");

    // A Foreman provider's password is never shown again, nor in events or the log.
    let foreman = admin_post(
        &server,
        "/api/providers",
        json!({"name": "Satellite", "kind": "foreman", "url": "https://satellite.example.com", "username": "uplift", "password": "hunter2-provider-pw"}),
    )
    .await;
    assert_eq!(foreman.status(), 201);
    let listed = client()
        .get(server.url("/api/providers"))
        .basic_auth("admin", Some(ADMIN_PASSWORD))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        listed.contains("\"has_password\":true") && !listed.contains("hunter2"),
        "{listed}"
    );
    let twin = admin_post(
        &server,
        "/api/providers",
        json!({"name": "satellite", "kind": "sim"}),
    )
    .await;
    assert_eq!(twin.status(), 409, "names are unique without case");

    let provider = sim_provider(&server).await;
    let h3 = link(&server, &hosts["h3"], &provider.id).await;
    assert!(!h3.can_install);
    assert!(
        h3.reason.as_deref().unwrap_or("").contains("katello-agent"),
        "{h3:?}"
    );
    let refused = admin_post(
        &server,
        &format!("/api/hosts/{}/errata/install", hosts["h3"]),
        json!({"errata": ["RHSA-2026:1001"]}),
    )
    .await;
    assert!(refusal(refused, 409).await.contains("katello-agent"));

    link(&server, &hosts["h4"], &provider.id).await;
    let wrong_status = admin_post(
        &server,
        &format!("/api/hosts/{}/errata/install", hosts["h4"]),
        json!({"errata": ["RHSA-2026:1001"]}),
    )
    .await;
    assert!(refusal(wrong_status, 409).await.contains("Non Operational"));

    let h1 = &hosts["h1"];
    link(&server, h1, &provider.id).await;
    let unknown = admin_post(
        &server,
        &format!("/api/hosts/{h1}/errata/install"),
        json!({"errata": ["RHSA-2026:1001", "RHSA-1999:0001"]}),
    )
    .await;
    assert!(refusal(unknown, 400).await.contains("RHSA-1999:0001"));
    let empty = admin_post(
        &server,
        &format!("/api/hosts/{h1}/errata/install"),
        json!({"errata": []}),
    )
    .await;
    assert_eq!(empty.status(), 400);
    let as_viewer = post_as(
        &server,
        &format!("/api/hosts/{h1}/errata/install"),
        "v",
        "viewer-password",
        json!({"errata": ["RHSA-2026:1001"]}),
    )
    .await;
    assert_eq!(as_viewer.status(), 403);
    let jobs: Vec<Job> = admin_get(&server, "/api/jobs").await;
    assert!(
        jobs.iter()
            .all(|j| j.kind != app::api::JobKind::HostErrataInstall),
        "no install job: {jobs:?}"
    );
    let host: Host = admin_get(&server, &format!("/api/hosts/{h1}")).await;
    assert_eq!(host.status, HostStatus::Up);
    let errata: Vec<Erratum> = admin_get(&server, &format!("/api/hosts/{h1}/errata")).await;
    assert_eq!(errata.len(), 3, "nothing was installed");

    let events = client()
        .get(server.url("/api/events?per_page=200"))
        .basic_auth("admin", Some(ADMIN_PASSWORD))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(!events.contains("hunter2"));
    assert!(!server.log().contains("hunter2"));
}

#[tokio::test]
async fn a_failed_provider_task_and_a_lost_association_are_named() {
    let dir = tempfile::tempdir().unwrap();
    let fleet = write_fleet(dir.path(), "fleet.toml", &errata_fleet(100.0));
    let server = Server::start(dir.path(), &fleet).await;
    let hosts = ids_by_name(&server, "/api/hosts").await;
    let provider = sim_provider(&server).await;
    let h2 = &hosts["h2"];
    link(&server, h2, &provider.id).await;
    let failed = run(uplift(dir.path()).args(["sim", "fail", "h2", "errata"]));
    assert!(failed.status.success());
    let job: Job = serde_json::from_value(
        run_job(
            &server,
            &format!("/api/hosts/{h2}/errata/install"),
            json!({"errata": ["RHSA-2026:1002"]}),
        )
        .await,
    )
    .unwrap();
    assert_eq!(job.status, JobStatus::Failed);
    let message = job.message.unwrap_or_default();
    assert!(
        message.contains("failed") && message.contains("Transaction check error"),
        "the provider's words: {message}"
    );
    let host: Host = admin_get(&server, &format!("/api/hosts/{h2}")).await;
    assert_eq!(
        host.status,
        HostStatus::Maintenance,
        "emptied, left in maintenance"
    );

    // Unlinked while the provider's task runs: the job says the host lost its association.
    run(uplift(dir.path()).args(["sim", "fail", "h2", "none"]));
    let slow_dir = tempfile::tempdir().unwrap();
    let slow = write_fleet(slow_dir.path(), "fleet.toml", &errata_fleet(10.0));
    let server2 = Server::start(slow_dir.path(), &slow).await;
    let hosts2 = ids_by_name(&server2, "/api/hosts").await;
    let provider2 = sim_provider(&server2).await;
    let h2 = &hosts2["h2"];
    link(&server2, h2, &provider2.id).await;
    let id = start_job(
        &server2,
        &format!("/api/hosts/{h2}/errata/install"),
        json!({"errata": ["RHSA-2026:1002"]}),
    )
    .await;
    wait_for_step(&server2, &id, "request install").await;
    let unlinked = put_as(
        &server2,
        &format!("/api/hosts/{h2}/content"),
        "admin",
        ADMIN_PASSWORD,
        json!({"provider": null}),
    )
    .await;
    assert_eq!(unlinked.status(), 200);
    let job: Job = serde_json::from_value(wait_job(&server2, &id).await).unwrap();
    assert_eq!(job.status, JobStatus::Failed);
    assert!(job
        .message
        .unwrap_or_default()
        .contains("lost its association"));
    drop(server);
}

/// Waits until the job's step `name` has succeeded.
async fn wait_for_step(server: &Server, id: &str, name: &str) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    loop {
        let job: Job = admin_get(server, &format!("/api/jobs/{id}")).await;
        if job
            .steps
            .iter()
            .any(|s| s.name.as_deref() == Some(name) && s.status == JobStatus::Succeeded)
        {
            return;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "step {name} did not succeed: {job:?}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn kill_9_while_the_provider_task_runs_resumes_polling_the_same_task() {
    let dir = tempfile::tempdir().unwrap();
    // 30 simulated seconds at speed 10: the provider's task runs 3 real seconds.
    let fleet = write_fleet(dir.path(), "fleet.toml", &errata_fleet(10.0));
    let server = Server::start(dir.path(), &fleet).await;
    let hosts = ids_by_name(&server, "/api/hosts").await;
    let provider = sim_provider(&server).await;
    let h2 = &hosts["h2"];
    link(&server, h2, &provider.id).await;
    let id = start_job(
        &server,
        &format!("/api/hosts/{h2}/errata/install"),
        json!({"errata": ["RHSA-2026:1001", "RHSA-2026:1002"]}),
    )
    .await;
    wait_for_step(&server, &id, "request install").await;
    let before = sim_tasks(dir.path());
    assert_eq!(before.len(), 1);
    assert_eq!(before[0].2, "running", "killed while the task runs");
    server.kill();

    let server = Server::start(dir.path(), &fleet).await;
    let job: Job = serde_json::from_value(wait_job(&server, &id).await).unwrap();
    assert_eq!(job.status, JobStatus::Succeeded, "{job:?}");
    let after = sim_tasks(dir.path());
    assert_eq!(after.len(), 1, "no second install: {after:?}");
    assert_eq!(
        (after[0].0.as_str(), after[0].2.as_str()),
        (before[0].0.as_str(), "succeeded")
    );
    let waited = job
        .steps
        .iter()
        .find(|s| s.name.as_deref() == Some("wait for the provider task"))
        .and_then(|s| s.message.clone())
        .unwrap_or_default();
    assert!(
        waited.contains(&before[0].0),
        "polled the same task: {waited}"
    );
    let left: Vec<Erratum> = admin_get(&server, &format!("/api/hosts/{h2}/errata")).await;
    assert_eq!(ids(&left), ["RHBA-2026:2001"]);
}
