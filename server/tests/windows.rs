//! The crash windows and races issue 13 closed, each shown through the REST API on a fleet
//! written by the test: one job per host and one run per cluster (enforced by the database),
//! bounded timeouts, a run whose parameters cannot be read, a job end the database refuses for a
//! while, a host whose reboot failed upgraded again, a timeout while VMs migrate, and a VM start
//! racing a host into maintenance.

mod common;

use std::collections::HashMap;
use std::path::Path;
use std::time::Duration;

use app::api::{Cluster, Host, HostStatus, Job, JobStatus, Vm};
use common::*;
use serde_json::json;

/// Cluster "c": h1 and h2 up with older packages, one 8 GiB VM each ("a" on h1, "b" on h2),
/// and the down VM "idle" of the cluster. `extra` is appended (host settings, more VMs).
fn fleet(speed: f64, gbps: f64, extra: &str) -> String {
    let mut text = cluster_c(speed, gbps);
    for (host, vm) in [("h1", "a"), ("h2", "b")] {
        text.push_str(&format!(
            r#"
[[host]]
name = "{host}"
cluster = "c"
os = "RHEL 8.9"
memory_gb = 64
packages = {{ vdsm = "4.50.2" }}
upgrade_seconds = 2
reboot_seconds = 1

[[vm]]
name = "{vm}"
host = "{host}"
memory_gb = 8
"#
        ));
    }
    text.push_str("\n[[vm]]\nname = \"idle\"\ncluster = \"c\"\nstatus = \"down\"\nmemory_gb = 8\n");
    text.push_str(extra);
    text
}

async fn hosts(server: &Server) -> HashMap<String, Host> {
    host_map(server).await
}

async fn cluster_id(server: &Server) -> String {
    admin_get::<Vec<Cluster>>(server, "/api/clusters").await[0]
        .id
        .clone()
}

/// Starts the server on `text` and checks the cluster, so its hosts have updates.
async fn checked(dir: &Path, text: &str, env: &[(&str, &str)]) -> Server {
    let server = Server::start_with(dir, &write_fleet(dir, "fleet.toml", text), env).await;
    let cluster = cluster_id(&server).await;
    let check = run_job(
        &server,
        &format!("/api/clusters/{cluster}/upgradecheck"),
        json!({}),
    )
    .await;
    assert_eq!(check["status"], "succeeded", "{check}");
    server
}

async fn job(server: &Server, id: &str) -> Job {
    wait_job(server, id).await;
    admin_get(server, &format!("/api/jobs/{id}")).await
}

#[tokio::test]
async fn of_concurrent_upgrades_and_maintenances_of_one_host_exactly_one_is_accepted() {
    let dir = tempfile::tempdir().unwrap();
    let server = checked(dir.path(), &fleet(20.0, 10.0, ""), &[]).await;
    let h1 = hosts(&server).await["h1"].id.clone();
    let requests = (0..8).map(|i| {
        let path = if i % 2 == 0 {
            format!("/api/hosts/{h1}/upgrade")
        } else {
            format!("/api/hosts/{h1}/deactivate")
        };
        let server = &server;
        async move { admin_post(server, &path, json!({})).await.status().as_u16() }
    });
    exactly_one_accepted(&futures::future::join_all(requests).await);
}

/// Of requests that raced, one was accepted (202) and every other refused with 409.
fn exactly_one_accepted(statuses: &[u16]) {
    let accepted = statuses.iter().filter(|s| **s == 202).count();
    assert_eq!(accepted, 1, "{statuses:?}");
    assert!(
        statuses.iter().all(|s| *s == 202 || *s == 409),
        "{statuses:?}"
    );
}

#[tokio::test]
async fn of_concurrent_starts_of_a_cluster_run_exactly_one_is_accepted_and_hosts_are_chosen_once() {
    let dir = tempfile::tempdir().unwrap();
    let server = checked(dir.path(), &fleet(20.0, 10.0, ""), &[]).await;
    let cluster = cluster_id(&server).await;
    let h1 = hosts(&server).await["h1"].id.clone();
    let twice = admin_post(
        &server,
        &format!("/api/clusters/{cluster}/upgrade"),
        json!({"hosts": [h1, h1]}),
    )
    .await;
    let message = refusal(twice, 400).await;
    assert!(message.contains("more than once"), "{message}");

    let starts = (0..6).map(|_| {
        let server = &server;
        let path = format!("/api/clusters/{cluster}/upgrade");
        async move {
            admin_post(server, &path, json!({"max_parallel": 1}))
                .await
                .status()
                .as_u16()
        }
    });
    exactly_one_accepted(&futures::future::join_all(starts).await);
}

#[tokio::test]
async fn timeouts_are_bounded_to_a_week() {
    let dir = tempfile::tempdir().unwrap();
    let server = checked(dir.path(), &fleet(20.0, 10.0, ""), &[]).await;
    let h1 = hosts(&server).await["h1"].id.clone();
    let cluster = cluster_id(&server).await;
    for minutes in [0, 10_081, u64::MAX] {
        let host = admin_post(
            &server,
            &format!("/api/hosts/{h1}/upgrade"),
            json!({"timeout_minutes": minutes}),
        )
        .await;
        let message = refusal(host, 400).await;
        assert!(message.contains("between 1 and 10080"), "{message}");
        let run = admin_post(
            &server,
            &format!("/api/clusters/{cluster}/upgrade"),
            json!({"timeout_minutes": minutes}),
        )
        .await;
        refusal(run, 400).await;
    }
    let week = admin_post(
        &server,
        &format!("/api/hosts/{h1}/upgrade"),
        json!({"timeout_minutes": 10_080}),
    )
    .await;
    assert_eq!(week.status(), 202);
}

#[tokio::test]
async fn job_ends_the_database_refuses_for_a_while_are_written_later_and_free_host_and_cluster() {
    let dir = tempfile::tempdir().unwrap();
    // Stands in for a busy database: the first two writes of every job's end fail.
    let server = checked(
        dir.path(),
        &fleet(20.0, 10.0, ""),
        &[("UPLIFT_FAIL_JOB_ENDS", "2")],
    )
    .await;
    let h1 = hosts(&server).await["h1"].id.clone();
    let id = start_job(&server, &format!("/api/hosts/{h1}/upgrade"), json!({})).await;
    let ended = job(&server, &id).await;
    assert_eq!(ended.status, JobStatus::Succeeded, "{ended:?}");
    assert!(
        server.log().contains("cannot record the end of a job yet"),
        "{}",
        server.log()
    );
    // The host is free again.
    let again = start_job(&server, &format!("/api/hosts/{h1}/deactivate"), json!({})).await;
    assert_eq!(job(&server, &again).await.status, JobStatus::Succeeded);
    let back = start_job(&server, &format!("/api/hosts/{h1}/activate"), json!({})).await;
    assert_eq!(job(&server, &back).await.status, JobStatus::Succeeded);
    // A cluster run's end, the same: it ends, and the cluster takes a new run.
    let cluster = cluster_id(&server).await;
    let run = start_job(
        &server,
        &format!("/api/clusters/{cluster}/upgrade"),
        json!({}),
    )
    .await;
    assert_eq!(job(&server, &run).await.status, JobStatus::Succeeded);
    let released: Cluster = admin_get(&server, &format!("/api/clusters/{cluster}")).await;
    assert!(released.upgrade.is_none(), "{released:?}");
    assert_eq!(released.scheduling_policy, "evenly_distributed");
}

#[tokio::test]
async fn a_host_whose_reboot_failed_is_install_failed_and_can_be_upgraded_again() {
    let dir = tempfile::tempdir().unwrap();
    let server = checked(dir.path(), &fleet(20.0, 10.0, ""), &[]).await;
    let h1 = hosts(&server).await["h1"].id.clone();
    let failing = run(uplift(dir.path()).args(["sim", "fail", "h1", "reboot"]));
    assert!(failing.status.success());
    let first = start_job(&server, &format!("/api/hosts/{h1}/upgrade"), json!({})).await;
    assert_eq!(job(&server, &first).await.status, JobStatus::Failed);
    let host = &hosts(&server).await["h1"];
    assert_eq!(host.status, HostStatus::InstallFailed);
    assert!(host.updates_available, "{host:?}");

    let repaired = run(uplift(dir.path()).args(["sim", "fail", "h1", "none"]));
    assert!(repaired.status.success());
    let second = start_job(&server, &format!("/api/hosts/{h1}/upgrade"), json!({})).await;
    assert_eq!(job(&server, &second).await.status, JobStatus::Succeeded);
    let host = &hosts(&server).await["h1"];
    assert_eq!(
        (host.status, host.updates_available, host.os.as_str()),
        (HostStatus::Up, false, "RHEL 9.4")
    );
}

#[tokio::test]
async fn a_timeout_while_vms_migrate_gives_the_host_its_original_status() {
    let dir = tempfile::tempdir().unwrap();
    // Real speed, 0.01 Gbit/s: the 8 GiB VM takes hours to copy; the timeout is one minute.
    let server = checked(dir.path(), &fleet(1.0, 0.01, ""), &[]).await;
    let h1 = hosts(&server).await["h1"].id.clone();
    let id = start_job(
        &server,
        &format!("/api/hosts/{h1}/upgrade"),
        json!({"timeout_minutes": 1}),
    )
    .await;
    let deadline = std::time::Instant::now() + Duration::from_secs(100);
    let ended = loop {
        let now: Job = admin_get(&server, &format!("/api/jobs/{id}")).await;
        if now.ended_at.is_some() {
            break now;
        }
        assert!(std::time::Instant::now() < deadline, "{now:?}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    assert_eq!(ended.status, JobStatus::Failed);
    assert!(
        ended
            .message
            .as_deref()
            .unwrap_or_default()
            .contains("longer than 1 minutes"),
        "{ended:?}"
    );
    let host = &hosts(&server).await["h1"];
    assert_eq!(host.status, HostStatus::Up, "{host:?}");
    assert!(host.updates_available);
}

#[tokio::test]
async fn a_host_job_that_does_not_say_the_status_before_fails_and_leaves_the_host_alone() {
    let dir = tempfile::tempdir().unwrap();
    let text = fleet(20.0, 10.0, "");
    let server = Server::start(dir.path(), &write_fleet(dir.path(), "fleet.toml", &text)).await;
    let h2 = hosts(&server).await["h2"].id.clone();
    server.kill();
    // Fault injection by hand: a host job an older Uplift left without the host's status before
    // it, on a host that is Non Operational.
    let db = database(dir.path()).await;
    sqlx::query("UPDATE hosts SET status = 'non_operational' WHERE id = $1")
        .bind(&h2)
        .execute(&db)
        .await
        .unwrap();
    sqlx::query(
        "INSERT INTO jobs (id, kind, status, correlation_id, host_id, cluster_id, created_at, updated_at, params)
         SELECT 'old-job', 'host_maintenance', 'running', 'old', id, cluster_id,
                '2026-01-01T00:00:00.000Z', '2026-01-01T00:00:00.000Z', '{\"timeout_minutes\": 60}'
         FROM hosts WHERE id = $1",
    )
    .bind(&h2)
    .execute(&db)
    .await
    .unwrap();
    db.close().await;
    let server = Server::start(dir.path(), &write_fleet(dir.path(), "fleet.toml", &text)).await;
    let ended = job(&server, "old-job").await;
    assert_eq!(ended.status, JobStatus::Failed);
    assert!(
        ended
            .message
            .as_deref()
            .unwrap_or_default()
            .contains("status before"),
        "{ended:?}"
    );
    assert_eq!(
        hosts(&server).await["h2"].status,
        HostStatus::NonOperational
    );
}

#[tokio::test]
async fn a_run_whose_parameters_cannot_be_read_still_ends_releases_the_cluster_and_its_hosts() {
    let dir = tempfile::tempdir().unwrap();
    let text = fleet(20.0, 10.0, "");
    // Crash right after the first wave's hosts stopped taking VMs.
    let mut server = checked(
        dir.path(),
        &text,
        &[("UPLIFT_CRASH_AT", "cluster_upgrade:prepare hosts:after")],
    )
    .await;
    let cluster = cluster_id(&server).await;
    let run = start_job(
        &server,
        &format!("/api/clusters/{cluster}/upgrade"),
        json!({"max_parallel": 1}),
    )
    .await;
    assert!(
        server.wait_exit(Duration::from_secs(30)).await.is_some(),
        "no crash"
    );
    drop(server);
    let db = database(dir.path()).await;
    let preparing: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM hosts WHERE status = 'preparing_for_maintenance'")
            .fetch_one(&db)
            .await
            .unwrap();
    assert_eq!(preparing, 1, "the crash left a host preparing");
    // Fault injection by hand: the run's parameters are garbage now.
    sqlx::query("UPDATE jobs SET params = 'not JSON' WHERE id = $1")
        .bind(&run)
        .execute(&db)
        .await
        .unwrap();
    db.close().await;

    let server = Server::start(dir.path(), &write_fleet(dir.path(), "fleet.toml", &text)).await;
    let ended = job(&server, &run).await;
    assert_eq!(ended.status, JobStatus::Failed);
    assert!(
        ended
            .message
            .as_deref()
            .unwrap_or_default()
            .contains("cannot be read"),
        "{ended:?}"
    );
    let released: Cluster = admin_get(&server, &format!("/api/clusters/{cluster}")).await;
    assert_eq!(released.scheduling_policy, "evenly_distributed");
    assert!(released.upgrade.is_none());
    for host in hosts(&server).await.values() {
        assert_eq!(host.status, HostStatus::Up, "{host:?}");
    }
    let again = admin_post(
        &server,
        &format!("/api/clusters/{cluster}/upgrade"),
        json!({}),
    )
    .await;
    assert_eq!(again.status(), 202, "the cluster is free for a new run");
}

#[tokio::test]
async fn a_vm_start_cannot_race_a_host_into_maintenance() {
    let dir = tempfile::tempdir().unwrap();
    // Power actions and maintenance changes take a second; h2 carries more, so the start
    // goes to h1, and h2 has room for h1's VMs.
    let extra = "\n[[vm]]\nname = \"c2\"\nhost = \"h2\"\nmemory_gb = 4\n";
    let server = checked(dir.path(), &fleet(1.0, 1000.0, extra), &[]).await;
    let by_name: HashMap<String, String> = admin_get::<Vec<Vm>>(&server, "/api/vms")
        .await
        .into_iter()
        .map(|vm| (vm.name, vm.id))
        .collect();
    let h1 = hosts(&server).await["h1"].id.clone();
    let start_path = format!("/api/vms/{}/start", by_name["idle"]);
    let start = admin_post(&server, &start_path, json!({}));
    let deactivate = async {
        tokio::time::sleep(Duration::from_millis(300)).await;
        admin_post(&server, &format!("/api/hosts/{h1}/deactivate"), json!({})).await
    };
    let (started, deactivated) = tokio::join!(start, deactivate);
    assert_eq!(deactivated.status(), 202);
    let body: serde_json::Value = deactivated.json().await.unwrap();
    let maintenance = body["job"]["id"].as_str().unwrap().to_string();
    let ended = job(&server, &maintenance).await;
    let vms: Vec<Vm> = admin_get(&server, "/api/vms").await;
    let idle = vms.iter().find(|vm| vm.name == "idle").unwrap();
    let h1_now = &hosts(&server).await["h1"];
    if ended.status == JobStatus::Succeeded {
        assert_eq!(h1_now.status, HostStatus::Maintenance);
        assert!(
            vms.iter()
                .all(|vm| vm.host.as_ref().map(|h| h.name.as_str()) != Some("h1")),
            "a VM runs on h1 in maintenance: {vms:?} (start answered {})",
            started.status()
        );
    }
    // Whatever the order, Uplift and the hypervisors agree on where "idle" runs.
    let truth = sim_vms(dir.path());
    assert_eq!(
        truth["idle"].0,
        idle.host.as_ref().map(|h| h.name.clone()),
        "{idle:?}"
    );
}
