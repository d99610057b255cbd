//! Crash safety, proven at every step boundary. For host maintenance, a host upgrade and a
//! cluster run (12 hosts, `auto`, one pinned VM that may be stopped), a reference run lists the
//! steps each flow takes; then for every step name and both sides of its side effect the server
//! is aborted there (`UPLIFT_CRASH_AT`, the process dies as under kill -9), started again, and
//! once every job has ended the invariants must hold:
//! - the job ended as an uncrashed one does (succeeded);
//! - every VM that was running runs, exactly where the simulated hypervisors run it (the
//!   simulator keeps its own truth apart from Uplift's inventory), on a host that is Up;
//! - no host is left in a transitional status, and every host to be upgraded is upgraded;
//! - the cluster's policy is back, and migrations stay within the plan + 10 %.
//!
//! The same flows also run with `UPLIFT_REPEAT_STEPS=1` (every step's action twice in a row,
//! omicron's `actions_succeed_idempotently`) and must end the same way.

mod common;
#[path = "common/scenario.rs"]
mod scenario;

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

use app::api::{Job, JobKind};
use common::*;
use scenario::*;
use tokio::sync::Semaphore;

/// Scenarios run at once: each is mostly waiting on simulated hosts.
const PARALLEL: usize = 4;

/// The (kind, step name) pairs an uncrashed run of the operation goes through.
async fn reference_steps(operation: Operation) -> Vec<(JobKind, String)> {
    let dir = tempfile::tempdir().unwrap();
    let (server, before) = begin(dir.path(), operation, &[]).await;
    check_end(&server, operation, &before)
        .await
        .expect("the uncrashed run keeps every invariant");
    let jobs = all_ended(&server).await.unwrap();
    let mut steps = BTreeSet::new();
    for job in jobs.iter().filter(|j| operation.kinds().contains(&j.kind)) {
        let full: Job = admin_get(&server, &format!("/api/jobs/{}", job.id)).await;
        for step in full.steps {
            if let Some(name) = step.name {
                steps.insert((job.kind.as_str().to_string(), name));
            }
        }
    }
    steps
        .into_iter()
        .map(|(kind, name)| (JobKind::parse(&kind).unwrap(), name))
        .collect()
}

/// One crash point: run until the crash, start again, check the end.
async fn crash_and_recover(operation: Operation, point: String) -> Result<(), String> {
    let dir = tempfile::tempdir().unwrap();
    let (mut server, before) = begin(dir.path(), operation, &[("UPLIFT_CRASH_AT", &point)]).await;
    if server.wait_exit(Duration::from_secs(60)).await.is_none() {
        return Err(format!("{point}: the server never reached the crash point"));
    }
    drop(server);
    let fleet = dir.path().join("fleet.toml");
    let server = Server::start(dir.path(), &fleet).await;
    check_end(&server, operation, &before)
        .await
        .map_err(|e| format!("{point}: {e}\n{}", server.log()))
}

/// Every step boundary of the operation: crashed, recovered, checked. Says "N of N".
async fn every_crash_point(operation: Operation) {
    let steps = reference_steps(operation).await;
    assert!(!steps.is_empty());
    let points: Vec<String> = steps
        .iter()
        .flat_map(|(kind, name)| {
            ["before", "after"].map(|side| format!("{}:{name}:{side}", kind.as_str()))
        })
        .collect();
    let limit = Arc::new(Semaphore::new(PARALLEL));
    let runs = points.iter().map(|point| {
        let limit = limit.clone();
        let point = point.clone();
        async move {
            let _slot = limit.acquire_owned().await.unwrap();
            crash_and_recover(operation, point).await
        }
    });
    let outcomes = futures::future::join_all(runs).await;
    let failures: Vec<&String> = outcomes.iter().filter_map(|o| o.as_ref().err()).collect();
    println!(
        "{operation:?}: {} of {} crash points recovered",
        outcomes.len() - failures.len(),
        outcomes.len()
    );
    assert!(failures.is_empty(), "{failures:#?}");
}

#[tokio::test]
async fn host_maintenance_recovers_from_a_crash_at_every_step_boundary() {
    every_crash_point(Operation::Maintenance).await;
}

#[tokio::test]
async fn a_host_upgrade_recovers_from_a_crash_at_every_step_boundary() {
    every_crash_point(Operation::HostUpgrade).await;
}

#[tokio::test]
async fn a_cluster_run_recovers_from_a_crash_at_every_step_boundary() {
    every_crash_point(Operation::ClusterRun).await;
}

#[tokio::test]
async fn a_hosted_engine_cluster_run_recovers_from_a_crash_at_every_step_boundary() {
    every_crash_point(Operation::HostedEngineRun).await;
}

#[tokio::test]
async fn an_appliance_upgrade_ends_upgraded_or_rolled_back_after_a_crash_at_every_step_boundary() {
    every_crash_point(Operation::ApplianceUpgrade).await;
}

#[tokio::test]
async fn every_step_may_run_twice_in_a_row() {
    for operation in [
        Operation::Maintenance,
        Operation::HostUpgrade,
        Operation::ClusterRun,
        Operation::HostedEngineRun,
        Operation::ApplianceUpgrade,
    ] {
        let dir = tempfile::tempdir().unwrap();
        let (server, before) = begin(dir.path(), operation, &[("UPLIFT_REPEAT_STEPS", "1")]).await;
        check_end(&server, operation, &before)
            .await
            .unwrap_or_else(|e| panic!("{operation:?} with every step twice: {e}"));
    }
}
