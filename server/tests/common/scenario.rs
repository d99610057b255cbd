//! The scenarios of the crash-injection test and the invariants every one of them must end
//! with, shared by the tests that interrupt them in other ways (several instances, issue 22).

use std::collections::BTreeSet;
use std::fmt::Write as _;
use std::path::Path;
use std::time::Duration;

use app::api::{
    Cluster, HostStatus, HostedEngineInfo, Job, JobKind, JobStatus, UpgradePlan, UploadedArchive,
    Vm, VmStatus,
};
use serde_json::json;

use crate::common::*;

/// A 12-host cluster ("c", RHEL 8.9, 64 GiB each) with two or three 8 GiB VMs per host; vm-05-0
/// is pinned (it may only be stopped). Fast: 200 times real speed.
pub fn fleet() -> String {
    let mut text = cluster_c(200.0, 20.0);
    for h in 1..=12 {
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
upgrade_seconds = 5
reboot_seconds = 2
"#
        );
        for v in 0..(2 + h % 2) {
            let pinned = if h == 5 && v == 0 {
                "\nmigration = \"pinned\""
            } else {
                ""
            };
            let _ = write!(
                text,
                "\n[[vm]]\nname = \"vm-{h:02}-{v}\"\nhost = \"h{h:02}\"\nmemory_gb = 8{pinned}\n"
            );
        }
    }
    text
}

/// What a scenario does once the server runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Operation {
    /// Host h03 to maintenance.
    Maintenance,
    /// Host h03 upgraded.
    HostUpgrade,
    /// The whole cluster, `auto`, pinned VMs stopped and started again.
    ClusterRun,
    /// The whole hosted-engine cluster (three hosted-engine hosts, the engine VM on e1, two
    /// plain hosts), `auto`.
    HostedEngineRun,
    /// The engine VM's appliance upgraded from 4.5.0 to 4.5.2 on e1 (issue 15).
    ApplianceUpgrade,
}

impl Operation {
    /// The job kinds whose steps are crash points of this operation.
    pub fn kinds(self) -> &'static [JobKind] {
        match self {
            Operation::Maintenance => &[JobKind::HostMaintenance],
            Operation::HostUpgrade => &[JobKind::HostUpgrade],
            Operation::ClusterRun | Operation::HostedEngineRun => {
                &[JobKind::ClusterUpgrade, JobKind::HostUpgrade]
            }
            Operation::ApplianceUpgrade => &[JobKind::HostedEngineUpgrade],
        }
    }

    pub fn is_run(self) -> bool {
        matches!(self, Operation::ClusterRun | Operation::HostedEngineRun)
    }

    pub fn fleet(self) -> String {
        match self {
            Operation::HostedEngineRun => hosted_engine_fleet(200.0),
            Operation::ApplianceUpgrade => appliance_fleet(200.0),
            _ => fleet(),
        }
    }
}

/// The world before the operation, to check the end against.
pub struct Before {
    pub cluster: String,
    pub running: BTreeSet<String>,
    pub predicted_migrations: u32,
}

/// Starts the server (with `env`), checks the cluster for updates, and starts the operation.
pub async fn begin(dir: &Path, operation: Operation, env: &[(&str, &str)]) -> (Server, Before) {
    let fleet = write_fleet(dir, "fleet.toml", &operation.fleet());
    let server = Server::start_with(dir, &fleet, env).await;
    if operation == Operation::ApplianceUpgrade {
        let before = begin_appliance_upgrade(&server, dir, env).await;
        return (server, before);
    }
    let clusters: Vec<Cluster> = admin_get(&server, "/api/clusters").await;
    let cluster = clusters[0].id.clone();
    let check = run_job(
        &server,
        &format!("/api/clusters/{cluster}/upgradecheck"),
        json!({}),
    )
    .await;
    assert_eq!(check["status"], "succeeded", "{check}");
    let hosts = host_map(&server).await;
    let running = admin_get::<Vec<Vm>>(&server, "/api/vms")
        .await
        .into_iter()
        .filter(|vm| vm.status == VmStatus::Up)
        .map(|vm| vm.name)
        .collect();
    let options = json!({"max_parallel": "auto", "stop_pinned_vms": true});
    let predicted_migrations = if operation.is_run() {
        let plan: UpgradePlan = admin_post(
            &server,
            &format!("/api/clusters/{cluster}/upgrade/plan"),
            options.clone(),
        )
        .await
        .json()
        .await
        .expect("a plan");
        assert!(plan.blockers.is_empty(), "{plan:?}");
        plan.predicted_migrations
    } else {
        hosts["h03"].vm_count
    };
    let path = match operation {
        Operation::Maintenance => format!("/api/hosts/{}/deactivate", hosts["h03"].id),
        Operation::HostUpgrade => format!("/api/hosts/{}/upgrade", hosts["h03"].id),
        Operation::ClusterRun | Operation::HostedEngineRun => {
            format!("/api/clusters/{cluster}/upgrade")
        }
        Operation::ApplianceUpgrade => unreachable!("begin_appliance_upgrade starts it"),
    };
    let body = if operation.is_run() {
        options
    } else {
        json!({})
    };
    let started = client()
        .post(server.url(&path))
        .basic_auth("admin", Some(ADMIN_PASSWORD))
        .json(&body)
        .send()
        .await;
    let crashing = env.iter().any(|(name, _)| *name == "UPLIFT_CRASH_AT");
    match started {
        Ok(response) => assert_eq!(response.status(), 202, "{path}: {}", server.log()),
        // The job's first step may crash the server before it answered.
        Err(error) => assert!(crashing, "{path}: {error}"),
    }
    let before = Before {
        cluster,
        running,
        predicted_migrations,
    };
    (server, before)
}

/// Global maintenance, an archive uploaded, and the upgrade to 4.5.2 started on e1.
pub async fn begin_appliance_upgrade(server: &Server, dir: &Path, env: &[(&str, &str)]) -> Before {
    let e1 = host_map(server).await["e1"].id.clone();
    let global = run_job(
        server,
        &format!("/api/hosts/{e1}/ha_maintenance"),
        json!({"mode": "global", "enabled": true}),
    )
    .await;
    assert_eq!(global["status"], "succeeded", "{global}");
    let file = dir.join("engine.backup");
    let out = run(uplift(dir).args(["backup", "create", "--file"]).arg(&file));
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let uploaded: UploadedArchive = client()
        .post(server.url("/api/hosted_engine/archives"))
        .basic_auth("admin", Some(ADMIN_PASSWORD))
        .body(std::fs::read(&file).unwrap())
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let started = client()
        .post(server.url("/api/hosted_engine/upgrade"))
        .basic_auth("admin", Some(ADMIN_PASSWORD))
        .json(&json!({"host": "e1", "appliance": "4.5.2", "backup": uploaded.id}))
        .send()
        .await;
    let crashing = env.iter().any(|(name, _)| *name == "UPLIFT_CRASH_AT");
    match started {
        Ok(response) => assert_eq!(response.status(), 202, "{}", server.log()),
        Err(error) => assert!(crashing, "{error}"),
    }
    Before {
        cluster: String::new(),
        running: BTreeSet::new(),
        predicted_migrations: 0,
    }
}

/// After an appliance upgrade: upgraded (4.5.2, one registered backup disk) or rolled back
/// (4.5.0, no backup disk), and either way the engine VM runs, once, where the hypervisors say.
pub async fn check_appliance_end(server: &Server) -> Result<(), String> {
    let jobs = all_ended(server).await?;
    let job = jobs
        .iter()
        .find(|j| j.kind == JobKind::HostedEngineUpgrade)
        .ok_or("no appliance upgrade job")?;
    let he: HostedEngineInfo = admin_get(server, "/api/hosted_engine").await;
    let upgraded = (he.engine_version.as_str(), he.backups.len()) == ("4.5.2", 1);
    let rolled_back =
        (he.engine_version.as_str(), he.backups.len()) == ("4.5.0", 0) && he.storage.free_gb == 140;
    match job.status {
        JobStatus::Succeeded if upgraded => {}
        JobStatus::Failed if rolled_back => {}
        _ => {
            return Err(format!(
                "the job ended {} ({:?}) with engine {} and {} backup disks",
                job.status,
                job.message,
                he.engine_version,
                he.backups.len()
            ))
        }
    }
    let vm = he.vm.ok_or("no engine VM")?;
    let truth = sim_vms(&server.data_dir);
    match truth.get(&vm.name) {
        Some((Some(host), status)) if status == "up" && vm.host.as_ref() == Some(host) => Ok(()),
        other => Err(format!(
            "the engine VM is {} on {:?} for Uplift, {other:?} for the hypervisors",
            vm.status, vm.host
        )),
    }
}

/// Waits until every job has ended; the jobs.
pub async fn all_ended(server: &Server) -> Result<Vec<Job>, String> {
    for _ in 0..3000 {
        let jobs: Vec<Job> = admin_get(server, "/api/jobs").await;
        if jobs.iter().all(|j| j.ended_at.is_some()) {
            return Ok(jobs);
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    Err("jobs did not end within a minute".to_string())
}

/// The invariants after the operation; `Err` says which one broke.
pub async fn check_end(
    server: &Server,
    operation: Operation,
    before: &Before,
) -> Result<(), String> {
    if operation == Operation::ApplianceUpgrade {
        return check_appliance_end(server).await;
    }
    let jobs = all_ended(server).await?;
    for job in &jobs {
        if operation.kinds().contains(&job.kind) && job.status != JobStatus::Succeeded {
            return Err(format!(
                "job {} ({}) ended {}: {:?}",
                job.id, job.kind, job.status, job.message
            ));
        }
    }
    let hosts = host_map(server).await;
    for host in hosts.values() {
        let upgraded = match operation {
            Operation::ClusterRun | Operation::HostedEngineRun => true,
            Operation::HostUpgrade => host.name == "h03",
            Operation::Maintenance | Operation::ApplianceUpgrade => false,
        };
        let expected = if operation == Operation::Maintenance && host.name == "h03" {
            HostStatus::Maintenance
        } else {
            HostStatus::Up
        };
        if host.status != expected {
            return Err(format!(
                "host {} is {}, not {}",
                host.name, host.status, expected
            ));
        }
        if upgraded && (host.os != "RHEL 9.4" || host.updates_available) {
            return Err(format!(
                "host {} was not upgraded: {} (updates: {})",
                host.name, host.os, host.updates_available
            ));
        }
    }
    let vms: Vec<Vm> = admin_get(server, "/api/vms").await;
    let truth = sim_vms(&server.data_dir);
    let mut migrations = 0;
    for vm in &vms {
        migrations += vm.migrations;
        if !before.running.contains(&vm.name) {
            continue;
        }
        let host = vm.host.as_ref().map(|h| h.name.clone());
        if vm.status != VmStatus::Up {
            return Err(format!("VM {} is {} after the run", vm.name, vm.status));
        }
        match truth.get(&vm.name) {
            Some((sim_host, status)) if *sim_host == host && status == "up" => {}
            other => {
                return Err(format!(
                    "VM {} runs on {host:?} for Uplift but {other:?} for the hypervisors",
                    vm.name
                ))
            }
        }
        let on = host.as_deref().and_then(|h| hosts.get(h)).map(|h| h.status);
        if on != Some(HostStatus::Up) {
            return Err(format!("VM {} runs on {host:?}, which is {on:?}", vm.name));
        }
    }
    let allowed = (f64::from(before.predicted_migrations) * 1.1).ceil() as u32;
    if migrations > allowed {
        return Err(format!(
            "{migrations} migrations, more than the plan's {} + 10 %",
            before.predicted_migrations
        ));
    }
    if operation == Operation::HostedEngineRun {
        let engine = vms.iter().find(|vm| vm.name == "HostedEngine");
        if engine.map(|vm| vm.migrations) != Some(1) {
            return Err(format!(
                "the engine VM did not move exactly once: {engine:?}"
            ));
        }
        if let Some(host) = hosts.values().find(|h| {
            h.hosted_engine
                .is_some_and(|he| he.local_maintenance || he.global_maintenance)
        }) {
            return Err(format!("HA maintenance left on host {}", host.name));
        }
    }
    if operation.is_run() {
        let cluster: Cluster =
            admin_get(server, &format!("/api/clusters/{}", before.cluster)).await;
        if cluster.scheduling_policy != "evenly_distributed" || cluster.upgrade.is_some() {
            return Err(format!("the cluster was not released: {cluster:?}"));
        }
        let pinned = vms
            .iter()
            .find(|vm| vm.name == "vm-05-0")
            .and_then(|vm| vm.host.clone());
        if operation == Operation::ClusterRun && pinned.map(|h| h.name) != Some("h05".to_string()) {
            return Err("the pinned VM vm-05-0 is not back on h05".to_string());
        }
    }
    Ok(())
}
