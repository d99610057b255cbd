//! Time from "Upgrade" to the host being Up again, against the sum of the simulated phases:
//! what Uplift itself adds on top of the work the host does.
//!
//! Starts the release `uplift` binary on a two-host fleet (four 8 GiB VMs to move), checks
//! the host for updates, then times `POST /api/hosts/{id}/upgrade` until its job has ended.
//! Run: `cargo bench -p uplift --bench host_upgrade`.

#[path = "../tests/common/mod.rs"]
mod common;

use std::time::Instant;

use common::*;

const SPEED: f64 = 10.0;
const CHECK: f64 = 2.0;
const VM_GIB: f64 = 8.0;
const VMS: usize = 4;
const GBPS: f64 = 10.0;
const PARALLEL_MIGRATIONS: usize = 2;
const MAINTENANCE: f64 = 1.0;
const INSTALL: f64 = 120.0;
const REBOOT: f64 = 60.0;
const ACTIVATE: f64 = 1.0;

fn fleet() -> String {
    let mut text = format!(
        "[simulation]\nspeed = {SPEED}\ncheck_seconds = {CHECK}\nmigration_gbps = {GBPS}\nmax_migrations_per_host = {PARALLEL_MIGRATIONS}\n\n\
         [repository]\nos = \"RHEL 9.4\"\npackages = {{ vdsm = \"4.50.3\" }}\n\n\
         [[cluster]]\nname = \"c\"\ncompatibility_version = \"4.7\"\n\n\
         [[host]]\nname = \"target\"\ncluster = \"c\"\nos = \"RHEL 9.4\"\nmemory_gb = 256\npackages = {{ vdsm = \"4.50.3\" }}\n\n\
         [[host]]\nname = \"upgraded\"\ncluster = \"c\"\nos = \"RHEL 8.9\"\nmemory_gb = 256\npackages = {{ vdsm = \"4.50.2\" }}\n\
         upgrade_seconds = {INSTALL}\nreboot_seconds = {REBOOT}\n"
    );
    for i in 0..VMS {
        text.push_str(&format!(
            "\n[[vm]]\nname = \"vm-{i}\"\nhost = \"upgraded\"\nmemory_gb = {VM_GIB}\n"
        ));
    }
    text
}

#[tokio::main]
async fn main() {
    let dir = tempfile::tempdir().expect("temp dir");
    let file = write_fleet(dir.path(), "fleet.toml", &fleet());
    let server = Server::start(dir.path(), &file).await;
    let hosts = admin_json(&server, "/api/hosts?search=upgraded").await;
    let host = hosts[0]["id"].as_str().expect("host id").to_string();
    let check = start_job(
        &server,
        &format!("/api/hosts/{host}/upgradecheck"),
        serde_json::json!({}),
    )
    .await;
    wait_job(&server, &check).await;

    let started = Instant::now();
    let job = start_job(
        &server,
        &format!("/api/hosts/{host}/upgrade"),
        serde_json::json!({}),
    )
    .await;
    let job = wait_job(&server, &job).await;
    let measured = started.elapsed().as_secs_f64();
    assert_eq!(job["status"], "succeeded", "{job}");

    let migration = VM_GIB * 8.0 / GBPS;
    let waves = VMS.div_ceil(PARALLEL_MIGRATIONS) as f64;
    let simulated = CHECK + waves * migration + MAINTENANCE + INSTALL + REBOOT + ACTIVATE;
    let ideal = simulated / SPEED;
    println!("phases (simulated s): check {CHECK}, migrations {:.1} ({VMS} × {VM_GIB} GiB, {PARALLEL_MIGRATIONS} at a time), maintenance {MAINTENANCE}, install {INSTALL}, reboot {REBOOT}, activate {ACTIVATE}", waves * migration);
    println!("| speed | sum of phases (real s) | click to Up (s) | overhead |");
    println!("| --- | --- | --- | --- |");
    println!(
        "| {SPEED} | {ideal:.2} | {measured:.2} | {:+.2} s ({:+.1} %) |",
        measured - ideal,
        (measured / ideal - 1.0) * 100.0
    );
}
