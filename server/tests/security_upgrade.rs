//! Security-only upgrades (issue 21, seed 001's open question) with the `sim` content
//! provider: the plan preview says how many errata of each type each host gets, and a rolling
//! upgrade with `"content": "security"` installs exactly the security errata's packages.

mod common;

use app::api::{Cluster, Erratum, ErratumType, Host, HostStatus, Job, JobStatus, UpgradePlan};
use common::*;
use serde_json::json;

fn fleet() -> String {
    let mut text = cluster_c(100.0, 10.0);
    for (name, vm) in [("s1", "web"), ("s2", "db"), ("s3", "cache")] {
        text.push_str(&format!(
            r#"
[[host]]
name = "{name}"
cluster = "c"
os = "RHEL 9.4"
memory_gb = 64
upgrade_seconds = 20
packages = {{ qemu-kvm = "8.2.0", openssl = "3.0.7", vdsm = "4.50.2" }}

[[vm]]
name = "{vm}"
host = "{name}"
memory_gb = 4
migration = "migratable"
"#
        ));
    }
    text.push_str(
        r#"
[[erratum]]
id = "RHSA-2026:1001"
type = "security"
severity = "Important"
title = "qemu-kvm security update"
issued = "2026-10-02"
description = "qemu-kvm."
packages = { qemu-kvm = "8.2.1" }

[[erratum]]
id = "RHSA-2026:1002"
type = "security"
severity = "Critical"
title = "openssl security update"
issued = "2026-10-20"
description = "openssl."
packages = { openssl = "3.0.8" }

[[erratum]]
id = "RHBA-2026:2001"
type = "bugfix"
severity = "None"
title = "vdsm bug fix update"
issued = "2026-09-15"
description = "vdsm."
packages = { vdsm = "4.50.3" }
"#,
    );
    text
}

#[tokio::test]
async fn a_security_only_rolling_upgrade_installs_exactly_the_security_errata() {
    let dir = tempfile::tempdir().unwrap();
    let fleet = write_fleet(dir.path(), "fleet.toml", &fleet());
    let server = Server::start(dir.path(), &fleet).await;
    let hosts = ids_by_name(&server, "/api/hosts").await;
    let clusters = ids_by_name(&server, "/api/clusters").await;
    let cluster = &clusters["c"];

    // Unlinked: a security-only host upgrade is refused, and nothing is planned.
    let refused = admin_post(
        &server,
        &format!("/api/hosts/{}/upgrade", hosts["s1"]),
        json!({"content": "security"}),
    )
    .await;
    assert!(refusal(refused, 409)
        .await
        .contains("not linked to a content provider"));
    let bad = admin_post(
        &server,
        &format!("/api/hosts/{}/upgrade", hosts["s1"]),
        json!({"content": "bugs"}),
    )
    .await;
    assert_eq!(bad.status(), 400, "an unknown content is refused");

    let provider: app::api::Provider = admin_post(
        &server,
        "/api/providers",
        json!({"name": "Sim", "kind": "sim"}),
    )
    .await
    .json()
    .await
    .unwrap();
    for name in ["s1", "s2"] {
        let linked = put_as(
            &server,
            &format!("/api/hosts/{}/content", hosts[name]),
            "admin",
            ADMIN_PASSWORD,
            json!({"provider": provider.id}),
        )
        .await;
        assert_eq!(linked.status(), 200);
    }

    let listed: Vec<Cluster> = admin_get(&server, "/api/clusters").await;
    assert_eq!(
        listed[0].security_errata,
        Some(4),
        "two security errata on each linked host"
    );

    let plan: UpgradePlan = admin_post(
        &server,
        &format!("/api/clusters/{cluster}/upgrade/plan"),
        json!({"content": "security", "max_parallel": 1}),
    )
    .await
    .json()
    .await
    .unwrap();
    assert!(plan.blockers.is_empty(), "{:?}", plan.blockers);
    let planned: Vec<&str> = plan
        .waves
        .iter()
        .flat_map(|w| w.hosts.iter().map(String::as_str))
        .collect();
    assert_eq!(
        planned.len(),
        2,
        "the two linked hosts with security errata: {planned:?}"
    );
    assert!(!planned.contains(&"s3"), "s3 has no provider");
    for line in &plan.errata {
        assert_eq!(
            (
                line.counts.security,
                line.counts.bugfix,
                line.counts.enhancement
            ),
            (2, 0, 0),
            "{line:?}"
        );
    }
    let checked: Job = serde_json::from_value(
        run_job(
            &server,
            &format!("/api/clusters/{cluster}/upgradecheck"),
            json!({}),
        )
        .await,
    )
    .unwrap();
    assert_eq!(checked.status, JobStatus::Succeeded);
    let all: UpgradePlan = admin_post(
        &server,
        &format!("/api/clusters/{cluster}/upgrade/plan"),
        json!({"hosts": [hosts["s1"]]}),
    )
    .await
    .json()
    .await
    .unwrap();
    assert_eq!(all.errata.len(), 1);
    assert_eq!(
        (all.errata[0].counts.security, all.errata[0].counts.bugfix),
        (2, 1),
        "all content: every applicable erratum"
    );

    let job: Job = serde_json::from_value(
        run_job(
            &server,
            &format!("/api/clusters/{cluster}/upgrade"),
            json!({"content": "security", "max_parallel": 1}),
        )
        .await,
    )
    .unwrap();
    assert_eq!(job.status, JobStatus::Succeeded, "{job:?}");
    for name in ["s1", "s2"] {
        let left: Vec<Erratum> =
            admin_get(&server, &format!("/api/hosts/{}/errata", hosts[name])).await;
        let kinds: Vec<ErratumType> = left.iter().map(|e| e.kind).collect();
        assert_eq!(
            kinds,
            [ErratumType::Bugfix],
            "{name}: only the bug fix is left"
        );
        let host: Host = admin_get(&server, &format!("/api/hosts/{}", hosts[name])).await;
        assert_eq!(host.status, HostStatus::Up);
    }
    let after: Cluster = admin_get(&server, &format!("/api/clusters/{cluster}")).await;
    assert_eq!(after.security_errata, Some(0));
    let tasks = run(uplift(dir.path()).args(["sim", "tasks"]));
    let tasks = String::from_utf8_lossy(&tasks.stdout).to_string();
    assert_eq!(
        tasks.lines().count(),
        2,
        "one provider task per host: {tasks}"
    );
    for line in tasks.lines() {
        assert!(
            line.ends_with("RHSA-2026:1001,RHSA-2026:1002")
                || line.ends_with("RHSA-2026:1002,RHSA-2026:1001"),
            "exactly the security set: {line}"
        );
    }
}
