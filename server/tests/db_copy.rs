//! `uplift db copy`: a whole installation moved into an empty PostgreSQL database answers the
//! API as before; a database that holds anything is refused. Needs the PostgreSQL server
//! every machine that runs the suite has (issue 22).

mod common;

use app::api::{Cluster, Event, Host, Job, JobStatus, Vm};
use common::*;
use serde_json::json;

#[tokio::test]
async fn a_copied_installation_answers_the_same_from_postgresql() {
    let dir = tempfile::tempdir().unwrap();
    let fleet = write_fleet(dir.path(), "fleet.toml", FLEET);
    let server = Server::start(dir.path(), &fleet).await;
    add_viewer(dir.path());
    let clusters: Vec<Cluster> = admin_get(&server, "/api/clusters").await;
    let check = run_job(
        &server,
        &format!("/api/clusters/{}/upgradecheck", clusters[0].id),
        json!({}),
    )
    .await;
    assert_eq!(check["status"], "succeeded", "{check}");
    let hosts: Vec<Host> = admin_get(&server, "/api/hosts").await;
    // A job with steps (this host's VMs cannot all move, so it ends failed: either will do).
    let upgraded = run_job(
        &server,
        &format!("/api/hosts/{}/upgrade", hosts[0].id),
        json!({}),
    )
    .await;
    assert_ne!(upgraded["status"], "running", "{upgraded}");

    let hosts: Vec<Host> = admin_get(&server, "/api/hosts").await;
    let vms: Vec<Vm> = admin_get(&server, "/api/vms").await;
    let clusters: Vec<Cluster> = admin_get(&server, "/api/clusters").await;
    let events: Vec<Event> = admin_get(&server, "/api/events?per_page=500").await;
    let jobs: Vec<Job> = admin_get(&server, "/api/jobs?per_page=500").await;
    assert!(server.terminate().success());

    // From the test's own database (SQLite, or PostgreSQL in the suite's PostgreSQL pass).
    let from = postgres_url(dir.path())
        .unwrap_or_else(|| format!("sqlite://{}/uplift.db", dir.path().display()));
    let to = postgres_database("copy_target");
    let copied = run(uplift(dir.path()).args(["db", "copy", "--from", &from, "--to", &to]));
    let said = String::from_utf8_lossy(&copied.stdout).to_string();
    assert!(
        copied.status.success(),
        "{said}{}",
        String::from_utf8_lossy(&copied.stderr)
    );
    assert!(said.contains("hosts: "), "{said}");

    // A second copy into the filled database is refused, and changes nothing.
    let again = run(uplift(dir.path()).args(["db", "copy", "--from", &from, "--to", &to]));
    assert_eq!(again.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&again.stderr).contains("is not empty"),
        "{}",
        String::from_utf8_lossy(&again.stderr)
    );

    let moved = Server::start_with(dir.path(), &fleet, &[("UPLIFT_DB", &to)]).await;
    assert_eq!(admin_get::<Vec<Host>>(&moved, "/api/hosts").await, hosts);
    assert_eq!(admin_get::<Vec<Vm>>(&moved, "/api/vms").await, vms);
    assert_eq!(
        admin_get::<Vec<Cluster>>(&moved, "/api/clusters").await,
        clusters
    );
    let events_after: Vec<Event> = admin_get(&moved, "/api/events?per_page=500").await;
    for event in &events {
        assert!(events_after.contains(event), "{event:?} was not copied");
    }
    let jobs_after: Vec<Job> = admin_get(&moved, "/api/jobs?per_page=500").await;
    for job in &jobs {
        assert!(jobs_after.contains(job), "{job:?} was not copied");
    }
    assert!(jobs
        .iter()
        .any(|j| j.kind.as_str() == "host_upgrade" && j.status != JobStatus::Running));
    // The copied users sign in (their password hashes came along); new events get new ids.
    token_for(&moved, "v", "viewer-password").await;
    let newest = events.iter().map(|e| e.id).max().unwrap_or(0);
    let fresh = run_job(
        &moved,
        &format!("/api/clusters/{}/upgradecheck", clusters[0].id),
        json!({}),
    )
    .await;
    assert_eq!(fresh["status"], "succeeded", "{fresh}");
    let later: Vec<Event> = admin_get(&moved, "/api/events?per_page=500").await;
    assert!(later.iter().any(|e| e.id > newest));
}
