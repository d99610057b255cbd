//! Several Uplift instances on one PostgreSQL database (issue 22), whatever the pass (the tests
//! force PostgreSQL; `.ci/test` skips them in its PostgreSQL pass, which would only repeat
//! them): a rolling upgrade survives the instance that drove it dying (kill -9) or being
//! paused (kill -STOP, then -CONT: its late writes are refused by the fencing token), racing
//! requests over both instances start one job, and the instances say who holds what.

mod common;
#[path = "common/scenario.rs"]
mod scenario;

use std::collections::BTreeMap;
use std::path::Path;
use std::time::{Duration, Instant};

use app::api::{About, Instance, Job, JobKind, Vm};
use common::*;
use scenario::*;
use serde_json::json;

/// Sets the lease time in the shared database before any instance starts.
fn set_lease(dir: &Path, seconds: u32) {
    let out = run(uplift(dir)
        .args(["config", "set"])
        .arg(format!("JobLeaseTimeInSeconds={seconds}")));
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Instance `name` on the database of `dir` (both instances share the data directory's
/// database; each logs to a file of its own).
async fn instance(dir: &Path, name: &str) -> Server {
    Server::start_with(
        dir,
        &dir.join("fleet.toml"),
        &[("UPLIFT_INSTANCE_NAME", name)],
    )
    .await
}

async fn jobs(server: &Server) -> Vec<Job> {
    admin_get(server, "/api/jobs").await
}

/// Waits until the run is mid-wave: a host's upgrade has ended and another one runs.
async fn mid_wave(server: &Server) {
    let deadline = Instant::now() + Duration::from_secs(120);
    while Instant::now() < deadline {
        let jobs = jobs(server).await;
        let hosts = jobs.iter().filter(|j| j.kind == JobKind::HostUpgrade);
        let (ended, running): (Vec<&Job>, Vec<&Job>) = hosts.partition(|j| j.ended_at.is_some());
        if !ended.is_empty() && !running.is_empty() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("the run never reached its second wave:\n{}", server.log());
}

/// Waits until `server`'s instance holds the job; how long that took.
async fn holds(server: &Server, job_id: &str, within: Duration) -> Duration {
    let started = Instant::now();
    while started.elapsed() < within {
        let instances: Vec<Instance> = admin_get(server, "/api/instances").await;
        if instances
            .iter()
            .any(|i| i.this && i.work.jobs.iter().any(|j| j == job_id))
        {
            return started.elapsed();
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!(
        "the instance did not take job {job_id} over within {within:?}:\n{}",
        server.log()
    );
}

fn run_job_id(jobs: &[Job]) -> String {
    jobs.iter()
        .find(|j| j.kind == JobKind::ClusterUpgrade)
        .expect("the cluster run")
        .id
        .clone()
}

#[tokio::test]
async fn two_instances_a_run_survives_the_instance_that_drove_it_dying() {
    force_postgres();
    let dir = tempfile::tempdir().unwrap();
    let options = [("UPLIFT_INSTANCE_NAME", "a")];
    let (a, before) = begin(dir.path(), Operation::ClusterRun, &options).await;
    let b = instance(dir.path(), "b").await;
    let run = run_job_id(&jobs(&a).await);

    // Who answers, and who holds what, before the failure.
    let about: About = admin_get(&b, "/api").await;
    assert_eq!(about.instance, "b");
    let instances: Vec<Instance> = admin_get(&b, "/api/instances").await;
    let names: Vec<&str> = instances.iter().map(|i| i.name.as_str()).collect();
    assert!(
        names.contains(&"a") && names.contains(&"b"),
        "{instances:?}"
    );
    let of_a = instances.iter().find(|i| i.name == "a").unwrap();
    assert!(of_a.alive && of_a.work.jobs.contains(&run), "{of_a:?}");
    assert!(
        of_a.work.background,
        "the first instance runs the background work"
    );
    // /metrics (loopback) says the same: b answered, a holds the run and the background work.
    let scrape = scrape_metrics(&b).await;
    let of = |name: &str| by_label(&scrape, name, "instance");
    let info = of("uplift_instance_info");
    assert_eq!(
        (info.get("a"), info.get("b")),
        (Some(&0.0), Some(&1.0)),
        "{info:?}"
    );
    assert_eq!(of("uplift_instance_background").get("a"), Some(&1.0));
    let jobs_of_a = of("uplift_instance_jobs");
    assert!(
        jobs_of_a.get("a").is_some_and(|n| *n >= 1.0),
        "{jobs_of_a:?}"
    );

    mid_wave(&a).await;
    a.kill();
    let lease = Duration::from_secs(15);
    let failover = holds(&b, &run, lease + Duration::from_secs(5)).await;
    println!("failover: instance b took the run over {failover:?} after instance a was killed");

    check_end(&b, Operation::ClusterRun, &before)
        .await
        .unwrap_or_else(|e| panic!("after the failover: {e}\n{}", b.log()));
    let instances: Vec<Instance> = admin_get(&b, "/api/instances").await;
    let of_b = instances.iter().find(|i| i.this).unwrap();
    assert!(
        of_b.work.background,
        "b took the background work over: {instances:?}"
    );
    assert!(!instances.iter().find(|i| i.name == "a").unwrap().alive);
}

/// What must not change once every job has ended: each VM's place and migrations, what the
/// hypervisors run, every job's status and steps.
async fn settled(server: &Server) -> (BTreeMap<String, String>, String) {
    let vms: Vec<Vm> = admin_get(server, "/api/vms").await;
    let mut state = BTreeMap::new();
    for vm in vms {
        let host = vm.host.map(|h| h.name).unwrap_or_default();
        state.insert(
            vm.name,
            format!("{host} after {} migrations", vm.migrations),
        );
    }
    let mut jobs_now = String::new();
    for job in jobs(server).await {
        let full: Job = admin_get(server, &format!("/api/jobs/{}", job.id)).await;
        jobs_now.push_str(&format!(
            "{} {} {} steps\n",
            full.id,
            full.status,
            full.steps.len()
        ));
    }
    let truth: BTreeMap<_, _> = sim_vms(&server.data_dir).into_iter().collect();
    jobs_now.push_str(&format!("{truth:?}"));
    (state, jobs_now)
}

#[tokio::test]
async fn two_instances_a_paused_instance_cannot_write_after_its_run_was_taken_over() {
    force_postgres();
    let dir = tempfile::tempdir().unwrap();
    // Written before `begin` starts instance a: a short lease, so the test is short.
    std::fs::write(dir.path().join("fleet.toml"), Operation::ClusterRun.fleet()).unwrap();
    set_lease(dir.path(), 4);
    let (a, before) = begin(
        dir.path(),
        Operation::ClusterRun,
        &[("UPLIFT_INSTANCE_NAME", "a")],
    )
    .await;
    let b = instance(dir.path(), "b").await;
    let run = run_job_id(&jobs(&a).await);

    mid_wave(&a).await;
    a.signal("STOP");
    holds(&b, &run, Duration::from_secs(4 + 5)).await;
    // b drives the run to its end while a sleeps.
    check_end(&b, Operation::ClusterRun, &before)
        .await
        .unwrap_or_else(|e| panic!("after the takeover: {e}\n{}", b.log()));
    let before_cont = settled(&b).await;

    a.signal("CONT");
    // a wakes: its timers fire, its steps in flight end and try to write.
    let deadline = Instant::now() + Duration::from_secs(20);
    while !a.log().contains("another instance took this job over") {
        assert!(
            Instant::now() < deadline,
            "a never tried to write:\n{}",
            a.log()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // Two of a's heartbeats: it has seen it holds nothing any more.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let after_cont = settled(&b).await;
    let changed: Vec<String> = before_cont
        .0
        .iter()
        .filter(|(vm, place)| after_cont.0.get(*vm) != Some(place))
        .map(|(vm, place)| format!("{vm}: {place} -> {:?}", after_cont.0.get(vm)))
        .chain(
            before_cont
                .1
                .lines()
                .zip(after_cont.1.lines())
                .filter(|(was, is)| was != is)
                .map(|(was, is)| format!("{was} -> {is}")),
        )
        .collect();
    assert!(
        changed.is_empty(),
        "a's late writes changed the world: {changed:#?}\n{}",
        a.log()
    );
    let instances: Vec<Instance> = admin_get(&a, "/api/instances").await;
    let of_a = instances.iter().find(|i| i.this).unwrap();
    assert!(
        of_a.work.jobs.is_empty() && !of_a.work.background,
        "{of_a:?}"
    );
}

#[tokio::test]
async fn two_instances_of_ten_concurrent_upgrade_requests_over_both_exactly_one_is_accepted() {
    force_postgres();
    let dir = tempfile::tempdir().unwrap();
    let fleet = write_fleet(dir.path(), "fleet.toml", &Operation::HostUpgrade.fleet());
    let a = Server::start_with(dir.path(), &fleet, &[("UPLIFT_INSTANCE_NAME", "a")]).await;
    let b = instance(dir.path(), "b").await;
    let cluster = checked_first_cluster(&a).await;
    assert!(!cluster.is_empty());
    let h03 = host_map(&a).await["h03"].id.clone();
    let path = format!("/api/hosts/{h03}/upgrade");
    let requests = (0..10).map(|i| {
        let server = if i % 2 == 0 { &a } else { &b };
        let path = path.clone();
        async move { admin_post(server, &path, json!({})).await.status().as_u16() }
    });
    let statuses = futures::future::join_all(requests).await;
    assert_eq!(
        statuses.iter().filter(|s| **s == 202).count(),
        1,
        "{statuses:?}"
    );
    assert!(
        statuses.iter().all(|s| *s == 202 || *s == 409),
        "{statuses:?}"
    );
    let upgrades: Vec<Job> = jobs(&b)
        .await
        .into_iter()
        .filter(|j| j.kind == JobKind::HostUpgrade)
        .collect();
    assert_eq!(upgrades.len(), 1, "{upgrades:?}");
    let ended = wait_job(&b, &upgrades[0].id).await;
    assert_eq!(ended["status"], "succeeded", "{ended}");
}
