//! Issue 23: oVirt's Engine API under `/ovirt-engine`, proven with the real `ovirtsdk4`
//! (PyPI ovirt-engine-sdk-python 4.6.2, installed by `.ci/install` and found through
//! `UPLIFT_OVIRT_PYTHON`) running the example scripts in docs/ovirt-examples/, and by hand
//! for what the SDK never shows (formats, faults, SSO revocation).

mod common;

use std::process::Command;

use app::api::{Cluster, Event, Host};
use common::*;
use serde::Deserialize;

/// Cluster "c": h01 and h02 have updates (and support levels up to 4.7 until upgraded) and run
/// two VMs each, h03 is up to date (4.7 and 4.8) and runs one; cluster "d" has d01 with
/// updates. Upgrades take a few seconds, so a poll sees them.
fn fleet() -> String {
    let mut text = cluster_c(4.0, 20.0);
    for (name, cluster, old, vms) in [
        ("h01", "c", true, 2),
        ("h02", "c", true, 2),
        ("h03", "c", false, 1),
        ("d01", "d", true, 0),
    ] {
        let (os, vdsm, levels) = if old {
            ("RHEL 8.9", "4.50.2", r#"["4.6", "4.7"]"#)
        } else {
            ("RHEL 9.4", "4.50.3", r#"["4.7", "4.8"]"#)
        };
        text.push_str(&format!(
            r#"
[[host]]
name = "{name}"
cluster = "{cluster}"
os = "{os}"
memory_gb = 64
packages = {{ vdsm = "{vdsm}" }}
supported_cluster_levels = {levels}
upgrade_seconds = 8
reboot_seconds = 4
"#
        ));
        for v in 1..=vms {
            text.push_str(&format!(
                "\n[[vm]]\nname = \"{name}-vm{v}\"\nhost = \"{name}\"\nmemory_gb = 4\nmigration = \"migratable\"\n"
            ));
        }
    }
    text.push_str("\n[[cluster]]\nname = \"d\"\ncompatibility_version = \"4.7\"\n");
    text
}

/// Runs an example script with the SDK's Python against the server; its output.
fn run_script(server: &Server, script: &str, env: &[(&str, &str)]) -> String {
    let python = std::env::var("UPLIFT_OVIRT_PYTHON")
        .expect("UPLIFT_OVIRT_PYTHON names the Python with ovirtsdk4 (.ci/install, .ci/env)");
    let path = format!(
        "{}/../docs/ovirt-examples/{script}",
        env!("CARGO_MANIFEST_DIR")
    );
    let out = Command::new(&python)
        .arg(&path)
        .env("OVIRT_URL", server.url("/ovirt-engine/api"))
        .env("OVIRT_PASSWORD", ADMIN_PASSWORD)
        .envs(env.iter().copied())
        .output()
        .unwrap_or_else(|e| panic!("{python} {path}: {e}"));
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "{script} failed\n--- stdout\n{stdout}\n--- stderr\n{}\n--- server log\n{}",
        String::from_utf8_lossy(&out.stderr),
        server.log()
    );
    stdout
}

async fn start(dir: &std::path::Path) -> Server {
    Server::start(dir, &write_fleet(dir, "ovirt.toml", &fleet())).await
}

async fn cluster_named(server: &Server, name: &str) -> Cluster {
    let clusters: Vec<Cluster> = admin_get(server, "/api/clusters").await;
    clusters
        .into_iter()
        .find(|c| c.name == name)
        .expect("the cluster")
}

#[tokio::test]
async fn an_admins_sdk_script_checks_upgrades_migrates_and_changes_policies() {
    let dir = tempfile::tempdir().unwrap();
    let server = start(dir.path()).await;
    add_viewer(dir.path());
    let said = run_script(
        &server,
        "tour.py",
        &[
            ("OVIRT_CLUSTER", "c"),
            ("OVIRT_VIEWER_PASSWORD", "viewer-password"),
        ],
    );
    // The search left out h03 (up to date) and d01 (another cluster).
    assert!(said.contains("hosts with updates: h01, h02\n"), "{said}");
    assert!(said.contains("h01 runs 2 VMs; upgrading it"), "{said}");
    assert!(
        said.contains("a wrong password: Error during SSO authentication"),
        "{said}"
    );
    assert!(said.contains("a viewer acting:"), "{said}");
    assert!(said.contains("the upgrade's has"), "{said}");
    assert!(said.contains("stopped, started and migrated"), "{said}");
    assert!(said.ends_with("done\n"), "{said}");

    // What the script did is Uplift's own record, done by the admin.
    let hosts = host_map(&server).await;
    let h01: &Host = &hosts["h01"];
    assert!(!h01.updates_available);
    assert_eq!(h01.os, "RHEL 9.4");
    assert!(hosts["h02"].updates_available, "only h01 was upgraded");
    let cluster = cluster_named(&server, "c").await;
    assert_eq!(cluster.scheduling_policy, "evenly_distributed");
    let events: Vec<Event> = admin_get(&server, "/api/events").await;
    let by_admin = |code: &str| {
        events
            .iter()
            .filter(|e| e.code == code && e.user.as_deref() == Some("admin"))
            .count()
    };
    assert_eq!(by_admin("cluster_policy_changed"), 2, "{events:#?}");
    assert!(by_admin("host_upgrade_started") >= 1, "{events:#?}");
    // The VM the script migrated runs on h01 (the simulator's own record).
    let migrated = said
        .lines()
        .find_map(|l| l.strip_prefix("migrated "))
        .and_then(|l| l.split_whitespace().next())
        .expect("a migration line");
    let vms = sim_vms(dir.path());
    assert_eq!(vms[migrated].0.as_deref(), Some("h01"), "{vms:?}");
}

#[tokio::test]
async fn the_cluster_upgrade_roles_way_upgrades_a_cluster_with_the_sdk_alone() {
    let dir = tempfile::tempdir().unwrap();
    let server = start(dir.path()).await;
    // The role upgrades hosts oVirt already knows to have updates: check the cluster first.
    let cluster = cluster_named(&server, "c").await;
    let check = start_job(
        &server,
        &format!("/api/clusters/{}/upgradecheck", cluster.id),
        serde_json::json!({}),
    )
    .await;
    wait_job(&server, &check).await;

    let said = run_script(&server, "rolling_upgrade.py", &[("OVIRT_CLUSTER", "c")]);
    assert!(said.contains("to upgrade: h01, h02\n"), "{said}");
    assert!(said.contains("policy back to evenly_distributed"), "{said}");
    let hosts = host_map(&server).await;
    for name in ["h01", "h02", "h03"] {
        assert!(!hosts[name].updates_available, "{name}: {:?}", hosts[name]);
        assert_eq!(hosts[name].os, "RHEL 9.4", "{name}");
    }
    assert_eq!(hosts["d01"].os, "RHEL 8.9", "another cluster is left alone");
    assert_eq!(
        cluster_named(&server, "c").await.scheduling_policy,
        "evenly_distributed"
    );
    // Every VM still runs.
    for (vm, (host, status)) in sim_vms(dir.path()) {
        assert_eq!(status, "up", "{vm} on {host:?}");
    }

    // Every host now supports 4.8: the admin raises the cluster's version through oVirt's door.
    let body = "<cluster><version><major>4</major><minor>8</minor></version></cluster>";
    let answer = client()
        .put(server.url(&format!("/ovirt-engine/api/clusters/{}", cluster.id)))
        .basic_auth("admin@internal", Some(ADMIN_PASSWORD))
        .header("content-type", "application/xml")
        .body(body)
        .send()
        .await
        .unwrap();
    let status = answer.status();
    let text = answer.text().await.unwrap();
    assert_eq!(status, 200, "{text}");
    let changed: OvirtCluster = quick_xml::de::from_str(&text).unwrap();
    assert_eq!((changed.version.major, changed.version.minor), (4, 8));
    assert_eq!(
        cluster_named(&server, "c").await.compatibility_version,
        "4.8"
    );
}

#[derive(Debug, Deserialize)]
struct OvirtVersion {
    major: u32,
    minor: u32,
}

#[derive(Debug, Deserialize)]
struct OvirtCluster {
    version: OvirtVersion,
}

/// `<link rel="…" href="…"/>`, and an entity reference (`id` and `href` attributes).
#[derive(Debug, Deserialize)]
struct Link {
    #[serde(rename = "@rel")]
    rel: String,
    #[serde(rename = "@href")]
    href: String,
}

#[derive(Debug, Deserialize)]
struct Api {
    link: Vec<Link>,
}

#[derive(Debug, Deserialize)]
struct Reference {
    #[serde(rename = "@id")]
    id: String,
    #[serde(rename = "@href")]
    href: String,
}

#[derive(Debug, Deserialize)]
struct Action {
    status: String,
    job: Reference,
}

#[derive(Debug, Deserialize)]
struct OvirtJob {
    status: String,
    link: Vec<Link>,
}

/// oVirt's fault body.
#[derive(Debug, Deserialize)]
struct Fault {
    reason: String,
    detail: String,
}

/// A host as the JSON form of the oVirt API writes it (every leaf a string).
#[derive(Debug, Deserialize)]
struct OvirtHost {
    id: String,
    href: String,
    name: String,
    status: String,
    update_available: String,
}

#[derive(Debug, Deserialize)]
struct OvirtHosts {
    #[serde(default)]
    host: Vec<OvirtHost>,
}

#[derive(Debug, Deserialize)]
struct SsoToken {
    access_token: String,
    token_type: String,
    exp: String,
}

/// An answer's XML as `T`.
async fn xml_of<T: serde::de::DeserializeOwned>(request: reqwest::RequestBuilder) -> T {
    let text = request.send().await.unwrap().text().await.unwrap();
    quick_xml::de::from_str(&text).unwrap_or_else(|e| panic!("{e}: {text}"))
}

async fn fault_of(request: reqwest::RequestBuilder, status: u16) -> Fault {
    let response = request.send().await.unwrap();
    assert_eq!(response.status().as_u16(), status);
    let kind = response.headers()["content-type"]
        .to_str()
        .unwrap()
        .to_string();
    assert_eq!(kind, "application/xml");
    let text = response.text().await.unwrap();
    quick_xml::de::from_str(&text).unwrap_or_else(|e| panic!("{e}: {text}"))
}

#[tokio::test]
async fn json_on_request_faults_for_the_rest_and_sso_tokens_end_at_logout() {
    let dir = tempfile::tempdir().unwrap();
    let server = start(dir.path()).await;
    let api = |path: &str| server.url(&format!("/ovirt-engine/api{path}"));

    // The root links each collection there is, with absolute hrefs.
    let root: Api = xml_of(
        client()
            .get(api(""))
            .basic_auth("admin", Some(ADMIN_PASSWORD)),
    )
    .await;
    let rels: Vec<&str> = root.link.iter().map(|l| l.rel.as_str()).collect();
    assert_eq!(
        rels,
        [
            "clusters",
            "events",
            "hosts",
            "jobs",
            "schedulingpolicies",
            "vms"
        ]
    );
    assert!(root
        .link
        .iter()
        .all(|l| l.href == format!("/ovirt-engine/api/{}", l.rel)));

    // An action answers oVirt's <action> with the job that does the work, and its steps.
    let hosts = host_map(&server).await;
    let action: Action = xml_of(
        client()
            .post(api(&format!("/hosts/{}/upgradecheck", hosts["h03"].id)))
            .basic_auth("admin", Some(ADMIN_PASSWORD))
            .header("content-type", "application/xml")
            .body("<action/>"),
    )
    .await;
    assert_eq!(action.status, "complete");
    assert_eq!(
        action.job.href,
        format!("/ovirt-engine/api/jobs/{}", action.job.id)
    );
    wait_job(&server, &action.job.id).await;
    let job: OvirtJob = xml_of(
        client()
            .get(api(&format!("/jobs/{}", action.job.id)))
            .basic_auth("admin", Some(ADMIN_PASSWORD)),
    )
    .await;
    assert_eq!(job.status, "finished");
    assert_eq!(job.link[0].rel, "steps");

    // Without credentials: a 401 fault.
    let fault = fault_of(client().get(api("/hosts")), 401).await;
    assert_eq!(fault.reason, "Unauthorized");

    // HTTP Basic with oVirt's profile in the name; JSON when asked for.
    let hosts: OvirtHosts = client()
        .get(api("/hosts?search=name%3Dh0*+and+status%3Dup&max=2"))
        .basic_auth("admin@internal", Some(ADMIN_PASSWORD))
        .header("accept", "application/json")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let names: Vec<&str> = hosts.host.iter().map(|h| h.name.as_str()).collect();
    assert_eq!(names, ["h01", "h02"]);
    let first = &hosts.host[0];
    assert_eq!(first.href, format!("/ovirt-engine/api/hosts/{}", first.id));
    assert_eq!(
        (first.status.as_str(), first.update_available.as_str()),
        ("up", "false")
    );

    // SSO: a token, used, revoked by the logout, then refused.
    let form = [
        ("grant_type", "password"),
        ("scope", "ovirt-app-api"),
        ("username", "admin@internal"),
        ("password", ADMIN_PASSWORD),
    ];
    let token: SsoToken = client()
        .post(server.url("/ovirt-engine/sso/oauth/token"))
        .form(&form)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(token.token_type, "bearer");
    assert!(token.exp.parse::<i64>().unwrap() > 0);
    let with_token = |path: &str| client().get(api(path)).bearer_auth(&token.access_token);
    assert_eq!(with_token("/clusters").send().await.unwrap().status(), 200);
    let logout = client()
        .post(server.url("/ovirt-engine/services/sso-logout"))
        .form(&[("scope", "ovirt-app-api"), ("token", &token.access_token)])
        .send()
        .await
        .unwrap();
    assert_eq!(logout.status(), 200);
    let fault = fault_of(with_token("/clusters"), 401).await;
    assert!(fault.detail.contains("unknown or has expired"), "{fault:?}");

    // Unknown paths and methods: 404 and 405 faults; bad input: 400.
    let xml = "application/xml";
    for (method, path, body, status, said) in [
        (
            "GET",
            "/storagedomains",
            "",
            404,
            "/ovirt-engine/api/storagedomains",
        ),
        (
            "DELETE",
            "/hosts/x",
            "",
            405,
            "DELETE /ovirt-engine/api/hosts/x",
        ),
        ("GET", "/hosts/no-such-host", "", 404, "no-such-host"),
        (
            "GET",
            "/hosts?search=name%3Dnone+and+color%3Dred",
            "",
            400,
            "color",
        ),
        (
            "GET",
            "/vms?search=status%3Dup+sortby+name",
            "",
            400,
            "sortby",
        ),
        ("GET", "/events?from=yesterday", "", 400, "yesterday"),
        ("POST", "/hosts/x/upgrade", "<action><reboot>", 400, "XML"),
        (
            "POST",
            "/hosts/x/deactivate",
            "<action><reason>r</reason></action>",
            400,
            "<reason>",
        ),
    ] {
        let request = client()
            .request(
                reqwest::Method::from_bytes(method.as_bytes()).unwrap(),
                api(path),
            )
            .basic_auth("admin", Some(ADMIN_PASSWORD))
            .header("content-type", xml)
            .body(body);
        let fault = fault_of(request, status).await;
        assert!(fault.detail.contains(said), "{method} {path}: {fault:?}");
    }
    // A wrong password on the SSO endpoint is JSON with an `error`, as the SDK reads it.
    let refused = client()
        .post(server.url("/ovirt-engine/sso/oauth/token"))
        .form(&[
            ("grant_type", "password"),
            ("username", "admin"),
            ("password", "nope"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), 401);
    #[derive(Deserialize)]
    struct SsoError {
        error_code: String,
        error: String,
    }
    let refused: SsoError = refused.json().await.unwrap();
    assert_eq!(refused.error_code, "access_denied");
    assert!(refused.error.contains("incorrect"), "{}", refused.error);
}
