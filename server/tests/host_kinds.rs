//! Reinstalling a host (`POST /api/hosts/{id}/reinstall`) and the two kinds of host (plain and
//! oVirt Node), through the REST API of a real server (issue 19, items 3 to 5).

mod common;

use app::api::{Event, Host, HostStatus, HostType, Job, JobStatus};
use common::*;
use serde_json::json;

const FLEET: &str = r#"
[simulation]
speed = 50.0
check_seconds = 0

[repository]
os = "RHEL 9.4"
supported_cluster_levels = ["4.7", "4.8"]
packages = { vdsm = "4.50.3" }
node_image = "4.5.3"

[[cluster]]
name = "A"
compatibility_version = "4.7"

[[host]]
name = "busy"
cluster = "A"
os = "RHEL 9.4"
memory_gb = 64
packages = { vdsm = "4.50.3" }

[[host]]
name = "resting"
cluster = "A"
os = "RHEL 9.4"
status = "maintenance"
memory_gb = 64
reinstall_seconds = 20

[[host]]
name = "kept"
cluster = "A"
os = "RHEL 9.4"
status = "maintenance"
memory_gb = 64

[[host]]
name = "broken"
cluster = "A"
os = "RHEL 9.4"
status = "install_failed"
memory_gb = 64
fail = "reinstall"

[[host]]
name = "node1"
cluster = "A"
type = "node"
image = "4.5.2"
os = "RHEL 9.2"
memory_gb = 64
supported_cluster_levels = ["4.6", "4.7"]
upgrade_seconds = 20
reboot_seconds = 20

[[vm]]
name = "web"
host = "busy"
memory_gb = 4
"#;

struct Lab {
    dir: tempfile::TempDir,
    server: Server,
    hosts: std::collections::HashMap<String, String>,
}

async fn start() -> Lab {
    let dir = tempfile::tempdir().unwrap();
    let fleet = write_fleet(dir.path(), "f.toml", FLEET);
    let server = Server::start(dir.path(), &fleet).await;
    let hosts = ids_by_name(&server, "/api/hosts").await;
    Lab { dir, server, hosts }
}

impl Lab {
    async fn host(&self, name: &str) -> Host {
        admin_get(&self.server, &format!("/api/hosts/{}", self.hosts[name])).await
    }

    async fn reinstall(&self, name: &str, body: serde_json::Value) -> reqwest::Response {
        let id = self.hosts.get(name).map_or(name, String::as_str);
        admin_post(&self.server, &format!("/api/hosts/{id}/reinstall"), body).await
    }

    async fn job(&self, response: reqwest::Response) -> Job {
        assert_eq!(response.status(), 202);
        #[derive(serde::Deserialize)]
        struct Accepted {
            job: Job,
        }
        let accepted: Accepted = response.json().await.expect("202 {\"job\": …}");
        wait_job(&self.server, &accepted.job.id).await;
        admin_get(&self.server, &format!("/api/jobs/{}", accepted.job.id)).await
    }

    async fn events(&self, name: &str) -> Vec<Event> {
        admin_get(
            &self.server,
            &format!("/api/events?host={}&per_page=50", self.hosts[name]),
        )
        .await
    }
}

#[tokio::test]
async fn a_host_in_maintenance_is_reinstalled_and_activated_unless_asked_not_to() {
    let lab = start().await;
    let job = lab.job(lab.reinstall("resting", json!({})).await).await;
    assert_eq!(job.status, JobStatus::Succeeded, "{job:?}");
    assert_eq!(job.message.as_deref(), Some("reinstalled and activated"));
    let phases: Vec<&str> = job.steps.iter().map(|s| s.phase.as_str()).collect();
    assert!(phases.contains(&"reinstall"), "{phases:?}");
    assert!(phases.contains(&"activate"), "{phases:?}");
    assert_eq!(lab.host("resting").await.status, HostStatus::Up);
    let events = lab.events("resting").await;
    let done = events
        .iter()
        .find(|e| e.code == "host_reinstalled")
        .expect("a host_reinstalled event");
    assert_eq!(done.user.as_deref(), Some("admin"));
    assert!(events.iter().any(|e| e.code == "host_reinstall_started"));

    // Kept in maintenance when asked (an admin who has more to do on it).
    let job = lab
        .job(lab.reinstall("kept", json!({"activate": false})).await)
        .await;
    assert_eq!(job.status, JobStatus::Succeeded, "{job:?}");
    assert_eq!(lab.host("kept").await.status, HostStatus::Maintenance);
}

#[tokio::test]
async fn a_failed_reinstall_leaves_the_host_install_failed_and_it_can_be_tried_again() {
    let lab = start().await;
    let job = lab.job(lab.reinstall("broken", json!({})).await).await;
    assert_eq!(job.status, JobStatus::Failed, "{job:?}");
    let message = job.message.clone().unwrap_or_default();
    assert!(message.contains("fail = \"reinstall\""), "{message}");
    assert_eq!(lab.host("broken").await.status, HostStatus::InstallFailed);
    let failed = lab
        .events("broken")
        .await
        .into_iter()
        .find(|e| e.code == "host_reinstall_failed")
        .expect("a host_reinstall_failed event");
    assert!(
        failed.message.contains("stays Install Failed"),
        "{failed:?}"
    );

    // Repaired (a stand-in for the admin fixing the host), the next reinstall brings it up.
    let repaired = run(uplift(lab.dir.path()).args(["sim", "fail", "broken", "none"]));
    assert!(repaired.status.success());
    let job = lab.job(lab.reinstall("broken", json!({})).await).await;
    assert_eq!(job.status, JobStatus::Succeeded, "{job:?}");
    assert_eq!(lab.host("broken").await.status, HostStatus::Up);
}

#[tokio::test]
async fn reinstall_refusals_say_why_and_change_nothing() {
    let lab = start().await;
    add_viewer(lab.dir.path());
    let before = lab.events("busy").await.len();

    let why = refusal(lab.reinstall("busy", json!({})).await, 409).await;
    assert_eq!(
        why,
        "Host busy is Up; only hosts in Maintenance or Install Failed can be reinstalled."
    );
    let why = refusal(lab.reinstall("no-such-host", json!({})).await, 404).await;
    assert!(why.contains("no-such-host"), "{why}");
    for bad in [json!({"activate": "yes"}), json!({"colour": 1}), json!([1])] {
        let response = lab.reinstall("resting", bad.clone()).await;
        assert_eq!(response.status(), 400, "{bad}");
    }
    let viewer = post_as(
        &lab.server,
        &format!("/api/hosts/{}/reinstall", lab.hosts["resting"]),
        "v",
        "viewer-password",
        json!({}),
    )
    .await;
    assert_eq!(viewer.status(), 403);

    assert_eq!(lab.host("busy").await.status, HostStatus::Up);
    assert_eq!(lab.host("resting").await.status, HostStatus::Maintenance);
    assert_eq!(lab.events("busy").await.len(), before);
    let jobs: Vec<Job> = admin_get(&lab.server, "/api/jobs").await;
    assert!(
        jobs.iter()
            .all(|j| j.kind != app::api::JobKind::HostReinstall),
        "no reinstall job: {jobs:?}"
    );
}

#[tokio::test]
async fn a_node_is_offered_a_new_image_and_its_upgrade_always_reboots() {
    let lab = start().await;
    let node = lab.host("node1").await;
    assert_eq!(node.host_type, HostType::Node);
    assert_eq!(lab.host("busy").await.host_type, HostType::Plain);
    let raw = admin_json(&lab.server, &format!("/api/hosts/{}", node.id)).await;
    assert_eq!(raw["type"], "node");

    let check = run_job(
        &lab.server,
        &format!("/api/hosts/{}/upgradecheck", node.id),
        json!({}),
    )
    .await;
    assert_eq!(check["status"], "succeeded", "{check}");
    let node = lab.host("node1").await;
    assert!(node.updates_available);
    let updates: Vec<(&str, &str, &str)> = node
        .available_updates
        .iter()
        .map(|u| {
            (
                u.name.as_str(),
                u.current_version.as_str(),
                u.available_version.as_str(),
            )
        })
        .collect();
    assert_eq!(updates, [("image", "4.5.2", "4.5.3")]);
    // Seed 001: the levels it will support once upgraded.
    assert_eq!(node.levels_after_upgrade, ["4.7", "4.8"]);
    assert_eq!(node.supported_cluster_levels, ["4.6", "4.7"]);

    // Asked not to reboot, a node reboots anyway: its new image only runs after a boot.
    let response = admin_post(
        &lab.server,
        &format!("/api/hosts/{}/upgrade", node.id),
        json!({"reboot": false}),
    )
    .await;
    let job = lab.job(response).await;
    assert_eq!(job.status, JobStatus::Succeeded, "{job:?}");
    let phases: Vec<&str> = job.steps.iter().map(|s| s.phase.as_str()).collect();
    assert!(phases.contains(&"reboot"), "{phases:?}");
    let install = job
        .steps
        .iter()
        .find(|s| s.phase == "install")
        .and_then(|s| s.message.clone())
        .unwrap_or_default();
    assert!(
        install.starts_with("installed the new node image"),
        "{install}"
    );
    let node = lab.host("node1").await;
    assert!(!node.updates_available);
    assert!(node.levels_after_upgrade.is_empty());
    assert_eq!(node.supported_cluster_levels, ["4.7", "4.8"]);

    // Checked again, the node runs the offered image: nothing left.
    run_job(
        &lab.server,
        &format!("/api/hosts/{}/upgradecheck", node.id),
        json!({}),
    )
    .await;
    assert!(!lab.host("node1").await.updates_available);
}
