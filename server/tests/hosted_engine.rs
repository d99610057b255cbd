//! Hosted engine through the REST API and the CLI (seed 004): HA maintenance of the engine VM's
//! host, drift between a host's status and its agent, global maintenance holding the agents
//! back, bad input, and upgrades (one host, and a rolling upgrade) that keep the engine alive.

mod common;

use std::collections::HashMap;
use std::time::{Duration, Instant};

use app::api::{Host, HostStatus, Job, JobStatus, UpgradePlan, Vm, VmStatus};
use common::*;
use serde_json::json;

async fn start(dir: &std::path::Path) -> Server {
    Server::start(
        dir,
        &write_fleet(dir, "fleet.toml", &hosted_engine_fleet(50.0)),
    )
    .await
}

async fn engine_vm(server: &Server) -> Vm {
    admin_get::<Vec<Vm>>(server, "/api/vms")
        .await
        .into_iter()
        .find(|vm| vm.name == "HostedEngine")
        .expect("the engine VM")
}

async fn job(server: &Server, id: &str) -> Job {
    wait_job(server, id).await;
    admin_get(server, &format!("/api/jobs/{id}")).await
}

async fn ha(server: &Server, id: &str, mode: &str, enabled: bool) -> Job {
    let id = start_job(
        server,
        &format!("/api/hosts/{id}/ha_maintenance"),
        json!({"mode": mode, "enabled": enabled}),
    )
    .await;
    job(server, &id).await
}

/// Waits (up to 20 s) until `done` holds for the hosts.
async fn hosts_until(
    server: &Server,
    done: impl Fn(&HashMap<String, Host>) -> bool,
) -> HashMap<String, Host> {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let hosts = host_map(server).await;
        if done(&hosts) {
            return hosts;
        }
        assert!(Instant::now() < deadline, "{hosts:#?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn line(host: &Host) -> String {
    host.hosted_engine
        .and_then(|he| he.line())
        .unwrap_or_default()
}

#[tokio::test]
async fn maintenance_of_the_engine_vm_host_moves_the_engine_vm_and_sets_local_maintenance() {
    let dir = tempfile::tempdir().unwrap();
    let server = start(dir.path()).await;
    let hosts = host_map(&server).await;
    assert_eq!(line(&hosts["e1"]), "Hosted Engine HA: Active (Score: 3400)");
    assert!(hosts["e1"].hosted_engine.unwrap().runs_engine_vm);
    assert_eq!(line(&hosts["n1"]), "", "no line without hosted engine");

    let id = start_job(
        &server,
        &format!("/api/hosts/{}/deactivate", hosts["e1"].id),
        json!({}),
    )
    .await;
    let ended = job(&server, &id).await;
    assert_eq!(ended.status, JobStatus::Succeeded, "{ended:?}");
    let names: Vec<&str> = ended
        .steps
        .iter()
        .filter_map(|s| s.name.as_deref())
        .collect();
    assert!(names.contains(&"enable local HA maintenance"), "{names:?}");
    let engine = engine_vm(&server).await;
    let on = engine
        .host
        .as_ref()
        .map(|h| h.name.clone())
        .unwrap_or_default();
    assert!(
        on == "e2" || on == "e3",
        "the engine VM went to a hosted-engine host: {engine:?}"
    );
    assert_eq!(engine.status, VmStatus::Up);
    assert_eq!(
        sim_vms(dir.path())["HostedEngine"].0.as_deref(),
        Some(on.as_str())
    );
    let hosts = host_map(&server).await;
    assert_eq!(hosts["e1"].status, HostStatus::Maintenance);
    assert_eq!(
        line(&hosts["e1"]),
        "Hosted Engine HA: Local Maintenance Enabled"
    );
    assert!(!hosts["e1"].ha_out_of_sync());
    assert!(hosts[&on].hosted_engine.unwrap().runs_engine_vm);

    let id = start_job(
        &server,
        &format!("/api/hosts/{}/activate", hosts["e1"].id),
        json!({}),
    )
    .await;
    assert_eq!(job(&server, &id).await.status, JobStatus::Succeeded);
    let hosts = host_map(&server).await;
    assert_eq!(hosts["e1"].status, HostStatus::Up);
    assert_eq!(line(&hosts["e1"]), "Hosted Engine HA: Active (Score: 3400)");
    assert_events(&server, "/api/events", &["host_ha_maintenance_changed"]).await;
}

#[tokio::test]
async fn a_host_whose_status_and_agent_disagree_is_shown_and_fixed_by_api_cli_or_activation() {
    let dir = tempfile::tempdir().unwrap();
    let server = start(dir.path()).await;
    let e3 = host_map(&server).await["e3"].id.clone();
    // Up, with local maintenance set on the agent alone.
    assert_eq!(
        ha(&server, &e3, "local", true).await.status,
        JobStatus::Succeeded
    );
    let hosts = host_map(&server).await;
    assert!(hosts["e3"].ha_out_of_sync(), "{:?}", hosts["e3"]);
    let status = run(uplift(dir.path()).args(["hosted-engine", "status"]));
    let text = String::from_utf8_lossy(&status.stdout);
    assert!(text.contains("HA state out of sync"), "{text}");
    let json = run(uplift(dir.path()).args(["hosted-engine", "status", "--json"]));
    let status: uplift::service::HaStatus = serde_json::from_slice(&json.stdout).expect("JSON");
    assert_eq!(status.engine_vm_host.as_deref(), Some("e1"));
    assert!(!status.global_maintenance);
    let e3_line = status.hosts.iter().find(|h| h.host == "e3").expect("e3");
    assert!(e3_line.out_of_sync && e3_line.local_maintenance && e3_line.agent);
    assert_eq!(status.hosts.len(), 3);
    // The CLI, as on a hosted-engine host, clears it.
    let fixed = run(uplift(dir.path()).args([
        "hosted-engine",
        "set-maintenance",
        "--mode",
        "none",
        "--host",
        "e3",
    ]));
    assert!(
        fixed.status.success(),
        "{}",
        String::from_utf8_lossy(&fixed.stderr)
    );
    assert!(!host_map(&server).await["e3"].ha_out_of_sync());

    // In maintenance, with local maintenance cleared on the agent alone: activation fixes it.
    let id = start_job(&server, &format!("/api/hosts/{e3}/deactivate"), json!({})).await;
    assert_eq!(job(&server, &id).await.status, JobStatus::Succeeded);
    assert_eq!(
        ha(&server, &e3, "local", false).await.status,
        JobStatus::Succeeded
    );
    assert!(host_map(&server).await["e3"].ha_out_of_sync());
    let id = start_job(&server, &format!("/api/hosts/{e3}/activate"), json!({})).await;
    assert_eq!(job(&server, &id).await.status, JobStatus::Succeeded);
    let hosts = host_map(&server).await;
    assert!(!hosts["e3"].ha_out_of_sync());
    assert_eq!(line(&hosts["e3"]), "Hosted Engine HA: Active (Score: 3400)");
}

#[tokio::test]
async fn global_maintenance_stops_the_agents_from_restarting_a_stopped_engine_vm() {
    let dir = tempfile::tempdir().unwrap();
    let server = start(dir.path()).await;
    let e2 = host_map(&server).await["e2"].id.clone();
    assert_eq!(
        ha(&server, &e2, "global", true).await.status,
        JobStatus::Succeeded
    );
    let hosts = hosts_until(&server, |h| {
        h["e1"]
            .hosted_engine
            .is_some_and(|he| he.global_maintenance)
    })
    .await;
    assert_eq!(
        line(&hosts["e3"]),
        "Hosted Engine HA: Global Maintenance Enabled"
    );

    let engine = engine_vm(&server).await;
    let stopped = admin_post(&server, &format!("/api/vms/{}/stop", engine.id), json!({})).await;
    assert_eq!(stopped.status(), 200);
    // Many agent looks later (one every 0.2 s at this speed), it is still down.
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(engine_vm(&server).await.status, VmStatus::Down);
    assert_eq!(sim_vms(dir.path())["HostedEngine"].1, "down");

    // Out of global maintenance, the agents start it on a hosted-engine host.
    let none = run(uplift(dir.path()).args(["hosted-engine", "set-maintenance", "--mode", "none"]));
    assert!(
        none.status.success(),
        "{}",
        String::from_utf8_lossy(&none.stderr)
    );
    let deadline = Instant::now() + Duration::from_secs(20);
    let engine = loop {
        let engine = engine_vm(&server).await;
        if engine.status == VmStatus::Up {
            break engine;
        }
        assert!(
            Instant::now() < deadline,
            "the agents did not start the engine VM"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    let on = engine.host.map(|h| h.name).unwrap_or_default();
    assert!(["e1", "e2", "e3"].contains(&on.as_str()), "{on}");
    assert_events(&server, "/api/events", &["engine_vm_moved"]).await;
}

#[tokio::test]
async fn bad_ha_maintenance_requests_are_refused_and_change_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let server = start(dir.path()).await;
    let hosts = host_map(&server).await;
    let (e1, n1) = (hosts["e1"].id.clone(), hosts["n1"].id.clone());
    for (body, status) in [
        (json!({"mode": "sideways", "enabled": true}), 400),
        (json!({"mode": "local"}), 400),
        (json!({"mode": "local", "enabled": true, "colour": 1}), 400),
        (json!("local"), 400),
    ] {
        let response = admin_post(
            &server,
            &format!("/api/hosts/{e1}/ha_maintenance"),
            body.clone(),
        )
        .await;
        refusal(response, status).await;
    }
    let none = admin_post(
        &server,
        &format!("/api/hosts/{n1}/ha_maintenance"),
        json!({"mode": "global", "enabled": true}),
    )
    .await;
    let message = refusal(none, 409).await;
    assert!(message.contains("no hosted engine"), "{message}");
    let missing = admin_post(
        &server,
        "/api/hosts/nope/ha_maintenance",
        json!({"mode": "global", "enabled": true}),
    )
    .await;
    refusal(missing, 404).await;
    add_viewer(dir.path());
    let viewer = post_as(
        &server,
        &format!("/api/hosts/{e1}/ha_maintenance"),
        "v",
        "viewer-password",
        json!({"mode": "global", "enabled": true}),
    )
    .await;
    refusal(viewer, 403).await;
    let jobs: Vec<Job> = admin_get(&server, "/api/jobs").await;
    assert!(
        jobs.iter()
            .all(|j| j.kind != app::api::JobKind::HostHaMaintenance),
        "{jobs:?}"
    );
    assert_eq!(
        host_map(&server).await["e1"].hosted_engine,
        hosts["e1"].hosted_engine
    );
    let cli = run(uplift(dir.path()).args(["hosted-engine", "set-maintenance", "--mode", "local"]));
    assert!(!cli.status.success());
    assert!(String::from_utf8_lossy(&cli.stderr).contains("--host"));
}

#[tokio::test]
async fn upgrading_the_engine_vm_host_sets_and_clears_local_maintenance_and_leaves_global_as_it_was(
) {
    let dir = tempfile::tempdir().unwrap();
    let server = start(dir.path()).await;
    checked_first_cluster(&server).await;
    let e1 = host_map(&server).await["e1"].id.clone();
    assert_eq!(
        ha(&server, &e1, "global", true).await.status,
        JobStatus::Succeeded
    );
    let id = start_job(&server, &format!("/api/hosts/{e1}/upgrade"), json!({})).await;
    let ended = job(&server, &id).await;
    assert_eq!(ended.status, JobStatus::Succeeded, "{ended:?}");
    let names: Vec<&str> = ended
        .steps
        .iter()
        .filter_map(|s| s.name.as_deref())
        .collect();
    let enable = names
        .iter()
        .position(|n| *n == "enable local HA maintenance");
    let install = names.iter().position(|n| *n == "install");
    let disable = names
        .iter()
        .position(|n| *n == "disable local HA maintenance");
    assert!(
        enable < install && install < disable && enable.is_some(),
        "{names:?}"
    );
    let hosts = hosts_until(&server, |h| {
        h["e1"]
            .hosted_engine
            .is_some_and(|he| !he.local_maintenance)
    })
    .await;
    assert_eq!(hosts["e1"].os, "RHEL 9.4");
    assert!(
        hosts
            .values()
            .all(|h| h.hosted_engine.is_none_or(|he| he.global_maintenance)),
        "global stays on"
    );
    let engine = engine_vm(&server).await;
    assert_ne!(engine.host.as_ref().map(|h| h.name.as_str()), Some("e1"));
    assert_eq!(engine.migrations, 1);
}

#[tokio::test]
async fn a_rolling_upgrade_keeps_a_standby_moves_the_engine_vm_once_and_upgrades_every_host() {
    let dir = tempfile::tempdir().unwrap();
    let server = start(dir.path()).await;
    let cluster = checked_first_cluster(&server).await;
    let options = json!({"max_parallel": "auto"});
    let plan: UpgradePlan = admin_post(
        &server,
        &format!("/api/clusters/{cluster}/upgrade/plan"),
        options.clone(),
    )
    .await
    .json()
    .await
    .unwrap();
    assert!(plan.blockers.is_empty(), "{plan:?}");
    let mut he_hosts = plan.hosted_engine_hosts.clone();
    he_hosts.sort();
    assert_eq!(he_hosts, ["e1", "e2", "e3"]);
    assert_eq!(plan.engine_vm_host.as_deref(), Some("e1"));
    assert!(
        plan.waves.last().unwrap().hosts.contains(&"e1".to_string()),
        "{plan:?}"
    );

    let run = start_job(
        &server,
        &format!("/api/clusters/{cluster}/upgrade"),
        options,
    )
    .await;
    // While it runs: never without an Up hosted-engine host with a positive score.
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let hosts = host_map(&server).await;
        let standby = hosts.values().any(|h| {
            h.status == HostStatus::Up
                && h.hosted_engine
                    .is_some_and(|he| he.active && he.score > 0 && !he.local_maintenance)
        });
        assert!(standby, "no standby: {hosts:#?}");
        let now: Job = admin_get(&server, &format!("/api/jobs/{run}")).await;
        if now.ended_at.is_some() {
            assert_eq!(now.status, JobStatus::Succeeded, "{now:?}");
            break;
        }
        assert!(Instant::now() < deadline, "the run did not end");
        tokio::time::sleep(Duration::from_millis(30)).await;
    }
    let hosts = host_map(&server).await;
    for host in hosts.values() {
        assert_eq!(
            (host.status, host.os.as_str()),
            (HostStatus::Up, "RHEL 9.4"),
            "{host:?}"
        );
        assert!(host
            .hosted_engine
            .is_none_or(|he| !he.local_maintenance && !he.global_maintenance));
    }
    let engine = engine_vm(&server).await;
    assert_eq!(engine.status, VmStatus::Up);
    assert_eq!(engine.migrations, 1, "the engine VM moved exactly once");
    let on = engine.host.map(|h| h.name).unwrap_or_default();
    assert!(["e2", "e3"].contains(&on.as_str()), "{on}");
    assert_eq!(
        sim_vms(dir.path())["HostedEngine"],
        (Some(on), "up".to_string())
    );
}
