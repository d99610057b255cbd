//! Rolling cluster upgrades over REST: plan, run with `auto`, failures, pause/resume, cancel,
//! kill -9 mid-run, one run per cluster, the policy restored and the level raised.

mod common;

use std::collections::HashMap;
use std::fmt::Write as _;
use std::time::{Duration, Instant};

use common::*;
use serde_json::{json, Value};

/// A 12-host cluster ("c", RHEL 8.9, 64 GiB each), three 8 GiB VMs per host (37 % used), and
/// a repository that brings RHEL 9.4 and level 4.8. `fail` names a host whose install fails;
/// `install` is the simulated install time in seconds.
fn fleet(fail: Option<&str>, speed: f64, install: u32) -> String {
    let mut text = cluster_c(speed, 20.0);
    for h in 1..=12 {
        let fail = if fail == Some(format!("h{h:02}").as_str()) {
            "upgrade"
        } else {
            "none"
        };
        let _ = write!(
            text,
            r#"
[[host]]
name = "h{h:02}"
cluster = "c"
os = "RHEL 8.9"
memory_gb = 64
supported_cluster_levels = ["4.6", "4.7"]
packages = {{ vdsm = "4.50.2" }}
upgrade_seconds = {install}
reboot_seconds = 2
fail = "{fail}"
"#
        );
        // h01 carries nothing: it is the emptiest, so it goes first.
        let vms = if h == 1 { 0 } else { 3 };
        for v in 0..vms {
            let _ = write!(
                text,
                "\n[[vm]]\nname = \"vm-{h:02}-{v}\"\nhost = \"h{h:02}\"\nmemory_gb = 8\n"
            );
        }
    }
    text
}

async fn start(dir: &std::path::Path, text: &str) -> (Server, String) {
    let server = Server::start(dir, &write_fleet(dir, "f.toml", text)).await;
    let cluster = ids_by_name(&server, "/api/clusters").await["c"].clone();
    let check = run_job(
        &server,
        &format!("/api/clusters/{cluster}/upgradecheck"),
        json!({}),
    )
    .await;
    assert_eq!(check["status"], "succeeded", "{check}");
    (server, cluster)
}

async fn hosts_by_name(server: &Server) -> HashMap<String, Value> {
    admin_json(server, "/api/hosts")
        .await
        .as_array()
        .unwrap()
        .iter()
        .map(|h| (h["name"].as_str().unwrap().to_string(), h.clone()))
        .collect()
}

/// Waits until `done` holds for the job, looking every 20 ms for at most a minute.
async fn wait_for(server: &Server, job: &str, done: impl Fn(&Value) -> bool) -> Value {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let value = admin_json(server, &format!("/api/jobs/{job}")).await;
        if done(&value) {
            return value;
        }
        assert!(Instant::now() < deadline, "job {job}: {value}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

async fn upgraded_count(server: &Server) -> usize {
    hosts_by_name(server)
        .await
        .values()
        .filter(|h| h["os"] == "RHEL 9.4")
        .count()
}

#[tokio::test]
async fn an_auto_run_upgrades_every_host_as_planned_and_raises_the_level() {
    let dir = tempfile::tempdir().unwrap();
    let (server, cluster) = start(dir.path(), &fleet(None, 100.0, 5)).await;
    let options = json!({"max_parallel": "auto", "target_compatibility_version": "4.8"});
    // The check learned what the upgrade brings: every host will support 4.7 and 4.8.
    let checked = admin_json(&server, &format!("/api/clusters/{cluster}")).await;
    assert_eq!(
        checked["supported_levels"],
        json!({"min": "4.7", "max": "4.8"})
    );
    assert_eq!(checked["hosts_with_updates"], 12);

    let plan: Value = admin_post(
        &server,
        &format!("/api/clusters/{cluster}/upgrade/plan"),
        options.clone(),
    )
    .await
    .json()
    .await
    .unwrap();
    assert_eq!(plan["strategy"], "auto");
    assert!(plan["blockers"].as_array().unwrap().is_empty(), "{plan}");
    let waves = plan["waves"].as_array().unwrap();
    assert!(waves.len() < 12, "{plan}");
    let planned_hosts: usize = waves
        .iter()
        .map(|w| w["hosts"].as_array().unwrap().len())
        .sum();
    assert_eq!(planned_hosts, 12);
    let predicted = plan["predicted_migrations"].as_f64().unwrap();
    // VMs that move twice: the first host's (nothing is upgraded yet) plus one in 20 of the
    // 33 running VMs, i.e. one.
    let repeats = plan["predicted_repeat_migrations"].as_u64().unwrap();
    let first_wave = waves[0]["migrations"].as_array().unwrap().len() as u64;
    assert!(repeats <= first_wave.max(1) + 1, "{plan}");
    // The preview changed nothing.
    assert_eq!(upgraded_count(&server).await, 0);

    let hook = Webhook::serve(204).await;
    hook.subscribe(&server, "cluster_upgrade_finished").await;
    let job = start_job(
        &server,
        &format!("/api/clusters/{cluster}/upgrade"),
        options.clone(),
    )
    .await;
    let second = admin_post(
        &server,
        &format!("/api/clusters/{cluster}/upgrade"),
        options,
    )
    .await;
    assert_eq!(second.status(), 409);
    let during = admin_json(&server, &format!("/api/clusters/{cluster}")).await;
    assert_eq!(during["upgrade"]["job_id"], job.as_str());
    assert_eq!(during["scheduling_policy"], "in_cluster_upgrade");
    // `/metrics` reports the run: the 12 hosts it chose, none done yet or some.
    let scrape = scrape_metrics(&server).await;
    let run_gauge = |name: &str| by_label(&scrape, name, "cluster").get("c").copied();
    assert_eq!(run_gauge("uplift_rolling_upgrade_hosts_total"), Some(12.0));
    assert!(
        run_gauge("uplift_rolling_upgrade_hosts_done").is_some_and(|d| (0.0..=12.0).contains(&d))
    );

    let ended = wait_job(&server, &job).await;
    assert_eq!(ended["status"], "succeeded", "{ended}");
    assert_eq!(ended["percent_complete"], 100.0);
    // Its migrations were counted.
    let migrations = by_label(
        &scrape_metrics(&server).await,
        "uplift_vm_migrations_total",
        "outcome",
    );
    assert!(
        migrations.get("succeeded").is_some_and(|n| *n > 0.0),
        "{migrations:?}"
    );
    let hosts = hosts_by_name(&server).await;
    for host in hosts.values() {
        assert_eq!(host["status"], "up", "{host}");
        assert_eq!(host["os"], "RHEL 9.4", "{host}");
        assert_eq!(host["updates_available"], false, "{host}");
    }
    let vms = admin_json(&server, "/api/vms").await;
    let vms = vms.as_array().unwrap();
    assert_eq!(vms.len(), 33);
    let mut migrations = 0.0;
    for vm in vms {
        assert_eq!(vm["status"], "up", "{vm}");
        let host = vm["host"]["name"].as_str().unwrap();
        assert_eq!(hosts[host]["os"], "RHEL 9.4");
        migrations += vm["migrations"].as_f64().unwrap();
    }
    assert!(
        (migrations - predicted).abs() <= (predicted * 0.1).max(1.0),
        "{migrations} migrations, {predicted} predicted"
    );
    let cluster_now = admin_json(&server, &format!("/api/clusters/{cluster}")).await;
    assert_eq!(cluster_now["scheduling_policy"], "evenly_distributed");
    assert_eq!(cluster_now["compatibility_version"], "4.8");
    // The subscriber is told once.
    let posts = hook.wait_for(1, Duration::from_secs(15)).await;
    assert_eq!(posts.len(), 1, "{posts:?}");
    let payload: Value = serde_json::from_slice(&posts[0].1).unwrap();
    assert_eq!(payload["event"], "cluster_upgrade_finished");
    assert!(cluster_now["upgrade"].is_null());

    let run_events = format!(
        "/api/events?correlation_id={}",
        ended["correlation_id"].as_str().unwrap()
    );
    assert_events(
        &server,
        &run_events,
        &[
            "cluster_upgrade_started",
            "host_upgrade_finished",
            "cluster_upgrade_finished",
        ],
    )
    .await;
}

#[tokio::test]
async fn a_failed_host_stops_the_run_after_its_wave_and_the_rest_stay_untouched() {
    let dir = tempfile::tempdir().unwrap();
    let (server, cluster) = start(dir.path(), &fleet(Some("h01"), 100.0, 5)).await;
    // The admin is told of both failures by webhook.
    let hook = Webhook::serve(204).await;
    for event in ["host_upgrade_failed", "cluster_upgrade_failed"] {
        hook.subscribe(&server, event).await;
    }
    let job = start_job(
        &server,
        &format!("/api/clusters/{cluster}/upgrade"),
        json!({"max_failed_hosts": 0}),
    )
    .await;
    let ended = wait_job(&server, &job).await;
    assert_eq!(ended["status"], "failed", "{ended}");
    let posts = hook.wait_for(2, Duration::from_secs(15)).await;
    let mut told: Vec<(String, String)> = posts
        .iter()
        .map(|(_, body)| {
            let payload: Value = serde_json::from_slice(body).unwrap();
            (
                payload["event"].as_str().unwrap().to_string(),
                payload["message"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    told.sort();
    assert_eq!(told.len(), 2, "{told:?}");
    assert_eq!(told[0].0, "cluster_upgrade_failed");
    assert!(told[0].1.contains("cluster c"), "{told:?}");
    assert_eq!(told[1].0, "host_upgrade_failed");
    assert!(told[1].1.contains("h01"), "{told:?}");
    assert!(
        ended["message"]
            .as_str()
            .unwrap()
            .contains("1 hosts failed"),
        "{ended}"
    );
    let hosts = hosts_by_name(&server).await;
    assert_eq!(hosts["h01"]["status"], "install_failed");
    for (name, host) in &hosts {
        if name != "h01" {
            assert_eq!(host["os"], "RHEL 8.9", "{name}");
            assert_eq!(host["updates_available"], true, "{name}");
            assert_eq!(host["status"], "up", "{name}");
        }
    }
    let cluster_now = admin_json(&server, &format!("/api/clusters/{cluster}")).await;
    assert_eq!(cluster_now["scheduling_policy"], "evenly_distributed");
}

#[tokio::test]
async fn pause_finishes_the_hosts_in_flight_and_resume_finishes_the_run() {
    let dir = tempfile::tempdir().unwrap();
    let (server, cluster) = start(dir.path(), &fleet(None, 50.0, 20)).await;
    let job = start_job(
        &server,
        &format!("/api/clusters/{cluster}/upgrade"),
        json!({}),
    )
    .await;
    let paused = admin_post(&server, &format!("/api/jobs/{job}/pause"), json!({})).await;
    assert_eq!(paused.status(), 200);
    wait_for(&server, &job, |j| j["status"] == "paused").await;
    let done = upgraded_count(&server).await;
    assert!(done < 12);
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(
        upgraded_count(&server).await,
        done,
        "no host starts while paused"
    );
    let again = admin_post(&server, &format!("/api/jobs/{job}/pause"), json!({})).await;
    assert_eq!(again.status(), 409);

    let resumed = admin_post(&server, &format!("/api/jobs/{job}/resume"), json!({})).await;
    assert_eq!(resumed.status(), 200);
    let ended = wait_job(&server, &job).await;
    assert_eq!(ended["status"], "succeeded", "{ended}");
    assert_eq!(upgraded_count(&server).await, 12);
}

#[tokio::test]
async fn cancel_finishes_the_hosts_in_flight_then_ends_cancelled() {
    let dir = tempfile::tempdir().unwrap();
    let (server, cluster) = start(dir.path(), &fleet(None, 50.0, 20)).await;
    let job = start_job(
        &server,
        &format!("/api/clusters/{cluster}/upgrade"),
        json!({}),
    )
    .await;
    let cancelled = admin_post(&server, &format!("/api/jobs/{job}/cancel"), json!({})).await;
    assert_eq!(cancelled.status(), 200);
    let ended = wait_job(&server, &job).await;
    assert_eq!(ended["status"], "cancelled", "{ended}");
    let hosts = hosts_by_name(&server).await;
    assert!(
        hosts.values().all(|h| h["status"] == "up"),
        "no host left mid-flight"
    );
    assert!(upgraded_count(&server).await < 12);
    let cluster_now = admin_json(&server, &format!("/api/clusters/{cluster}")).await;
    assert_eq!(cluster_now["scheduling_policy"], "evenly_distributed");
    let late = admin_post(&server, &format!("/api/jobs/{job}/resume"), json!({})).await;
    assert_eq!(late.status(), 409);
}

#[tokio::test]
async fn a_run_survives_kill_9_and_finishes_after_the_restart() {
    let dir = tempfile::tempdir().unwrap();
    let text = fleet(None, 50.0, 20);
    let (server, cluster) = start(dir.path(), &text).await;
    let job = start_job(
        &server,
        &format!("/api/clusters/{cluster}/upgrade"),
        json!({"max_parallel": 3}),
    )
    .await;
    wait_for(&server, &job, |j| {
        j["steps"]
            .as_array()
            .is_some_and(|s| s.iter().any(|s| s["name"] == "migrate"))
    })
    .await;
    server.kill();
    let server = Server::start(dir.path(), &write_fleet(dir.path(), "f.toml", &text)).await;
    let ended = wait_job(&server, &job).await;
    assert_eq!(ended["status"], "succeeded", "{ended}\n{}", server.log());
    assert_eq!(upgraded_count(&server).await, 12);
    let vms = admin_json(&server, "/api/vms").await;
    assert!(vms.as_array().unwrap().iter().all(|v| v["status"] == "up"));
    let cluster_now = admin_json(&server, &format!("/api/clusters/{cluster}")).await;
    assert_eq!(cluster_now["scheduling_policy"], "evenly_distributed");
}

#[tokio::test]
async fn bad_options_and_viewers_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let (server, cluster) = start(dir.path(), &fleet(None, 100.0, 5)).await;
    for bad in [
        json!({"max_parallel": 0}),
        json!({"max_parallel": "lots"}),
        json!({"colour": 1}),
        json!({"hosts": ["nope"]}),
        json!({"target_compatibility_version": "x"}),
    ] {
        let response = admin_post(
            &server,
            &format!("/api/clusters/{cluster}/upgrade/plan"),
            bad.clone(),
        )
        .await;
        assert_eq!(response.status(), 400, "{bad}");
    }
    add_viewer(dir.path());
    let forbidden = post_as(
        &server,
        &format!("/api/clusters/{cluster}/upgrade"),
        "v",
        "viewer-password",
        json!({}),
    )
    .await;
    assert_eq!(forbidden.status(), 403);
    let seen = post_as(
        &server,
        &format!("/api/clusters/{cluster}/upgrade/plan"),
        "v",
        "viewer-password",
        json!({}),
    )
    .await;
    assert_eq!(seen.status(), 200);
}

#[tokio::test]
async fn pinned_vms_block_the_run_unless_they_may_be_stopped_and_then_start_again_at_home() {
    let dir = tempfile::tempdir().unwrap();
    let text = fleet(None, 100.0, 5).replace(
        "name = \"vm-05-0\"\nhost = \"h05\"\nmemory_gb = 8\n",
        "name = \"vm-05-0\"\nhost = \"h05\"\nmemory_gb = 8\nmigration = \"pinned\"\n",
    );
    let (server, cluster) = start(dir.path(), &text).await;
    let refused = admin_post(
        &server,
        &format!("/api/clusters/{cluster}/upgrade"),
        json!({}),
    )
    .await;
    let message = refusal(refused, 409).await;
    assert!(
        message.contains("VM vm-05-0 on host h05 is pinned"),
        "{message}"
    );

    let options = json!({"max_parallel": 4, "stop_pinned_vms": true});
    let plan: Value = admin_post(
        &server,
        &format!("/api/clusters/{cluster}/upgrade/plan"),
        options.clone(),
    )
    .await
    .json()
    .await
    .unwrap();
    assert!(plan["waves"]
        .as_array()
        .unwrap()
        .iter()
        .all(|w| w["hosts"].as_array().unwrap().len() <= 4));
    assert!(plan["waves"]
        .as_array()
        .unwrap()
        .iter()
        .any(|w| w["stopped_vms"] == json!(["vm-05-0"])));
    let ended = run_job(
        &server,
        &format!("/api/clusters/{cluster}/upgrade"),
        options,
    )
    .await;
    assert_eq!(ended["status"], "succeeded", "{ended}");
    let vms = admin_json(&server, "/api/vms?search=vm-05-0").await;
    let pinned = &vms.as_array().unwrap()[0];
    assert_eq!(pinned["status"], "up");
    assert_eq!(pinned["host"]["name"], "h05");
    assert_eq!(pinned["migrations"], 0);
    let run_events = format!(
        "/api/events?correlation_id={}",
        ended["correlation_id"].as_str().unwrap()
    );
    assert_events(
        &server,
        &run_events,
        &["vm_stopped_for_upgrade", "vm_started_after_upgrade"],
    )
    .await;
}
