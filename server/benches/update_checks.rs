//! How close a cluster-wide update check of 1,000 simulated hosts with 50 in parallel comes to
//! the ideal ceil(hosts / 50) × per-host latency.
//!
//! Starts the release `uplift` binary on a generated fleet whose simulated check takes
//! `CHECK_SECONDS`, sets `MaxParallelHostChecks=50` with the CLI, starts
//! `POST /api/clusters/{id}/upgradecheck` and times it until its job ends. Run:
//! `cargo bench -p uplift --bench update_checks`.

#[path = "../tests/common/mod.rs"]
mod common;

use std::time::Instant;

use common::*;

const HOSTS: usize = 1000;
const PARALLEL: usize = 50;
const CHECK_SECONDS: f64 = 1.0;

#[tokio::main]
async fn main() {
    let dir = tempfile::tempdir().expect("temp dir");
    let hosts = HOSTS.to_string();
    let text = generated_fleet(
        dir.path(),
        &["--clusters", "1", "--hosts", &hosts, "--vms", "0"],
    )
    .replace(
        "[simulation]\n",
        &format!("[simulation]\ncheck_seconds = {CHECK_SECONDS}\n"),
    );
    let fleet = write_fleet(dir.path(), "fleet.toml", &text);
    let parallel = run(uplift(dir.path()).args([
        "config",
        "set",
        &format!("MaxParallelHostChecks={PARALLEL}"),
    ]));
    assert!(parallel.status.success());
    let server = Server::start(dir.path(), &fleet).await;
    let clusters = admin_json(&server, "/api/clusters").await;
    let cluster = clusters[0]["id"].as_str().expect("a cluster").to_string();

    let started = Instant::now();
    let path = format!("/api/clusters/{cluster}/upgradecheck");
    let job = run_job(&server, &path, serde_json::json!({})).await;
    let elapsed = started.elapsed().as_secs_f64();
    let checked = job["steps"].as_array().map_or(0, Vec::len);
    let ideal = checked.div_ceil(PARALLEL) as f64 * CHECK_SECONDS;
    println!("job: {} — {}", job["status"], job["message"]);
    println!("| hosts checked | parallel | per-host latency s | ideal s | measured s | overhead |");
    println!("| --- | --- | --- | --- | --- | --- |");
    println!(
        "| {checked} | {PARALLEL} | {CHECK_SECONDS} | {ideal:.1} | {elapsed:.2} | {:+.1} % |",
        (elapsed / ideal - 1.0) * 100.0
    );
}
