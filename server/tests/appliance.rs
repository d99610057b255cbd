//! The hosted-engine appliance upgrade (seed 003) through the REST API: the happy path, each
//! preflight refusal before anything changes, a failure at each later step rolled back to the
//! old engine, and a rollback later to a chosen backup disk.

mod common;

use std::path::Path;

use app::api::{
    BackupDiskInfo, EngineStatus, HostedEngineInfo, Job, JobStatus, PreflightLine, UploadedArchive,
};
use common::*;
use serde_json::json;

async fn he(server: &Server) -> HostedEngineInfo {
    admin_get(server, "/api/hosted_engine").await
}

/// An Uplift backup archive of the running server, uploaded; its id.
async fn uploaded_archive(server: &Server, data: &Path) -> String {
    let file = data.join("engine.backup");
    let out = run(uplift(data).args(["backup", "create", "--file"]).arg(&file));
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let response = client()
        .post(server.url("/api/hosted_engine/archives"))
        .basic_auth("admin", Some(ADMIN_PASSWORD))
        .body(std::fs::read(&file).unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 201);
    let archive: UploadedArchive = response.json().await.unwrap();
    assert!(
        archive.description.iter().any(|l| l.contains("3 hosts")),
        "{:?}",
        archive.description
    );
    archive.id
}

async fn set_global(server: &Server, host_id: &str, enabled: bool) {
    let job = run_job(
        server,
        &format!("/api/hosts/{host_id}/ha_maintenance"),
        json!({"mode": "global", "enabled": enabled}),
    )
    .await;
    assert_eq!(job["status"], "succeeded", "{job}");
}

async fn upgrade(server: &Server, host: &str, appliance: &str, backup: &str) -> Job {
    let job = run_job(
        server,
        "/api/hosted_engine/upgrade",
        json!({"host": host, "appliance": appliance, "backup": backup}),
    )
    .await;
    serde_json::from_value(job).unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn the_appliance_upgrade_refuses_each_failed_check_then_upgrades_and_rolls_back_later() {
    let dir = tempfile::tempdir().unwrap();
    let fleet = write_fleet(dir.path(), "fleet.toml", &appliance_fleet(50.0));
    let server = Server::start(dir.path(), &fleet).await;
    let hosts = host_map(&server).await;
    let archive = uploaded_archive(&server, dir.path()).await;
    let before = he(&server).await;
    assert_eq!(before.engine_version, "4.5.0");
    assert_eq!(before.spm_host.as_deref(), Some("e1"));
    assert_eq!(before.storage.free_gb, 140);

    // Each failing check is named, and nothing changes.
    let refused = |host: &str, appliance: &str, backup: &str| {
        let body = json!({"host": host, "appliance": appliance, "backup": backup});
        let server = &server;
        async move {
            let lines: Vec<PreflightLine> = serde_json::from_value(
                admin_post(server, "/api/hosted_engine/upgrade/preflight", body.clone())
                    .await
                    .json()
                    .await
                    .unwrap(),
            )
            .unwrap();
            let response = admin_post(server, "/api/hosted_engine/upgrade", body.clone()).await;
            assert_eq!(response.status(), 409, "{body}: {lines:?}");
            (lines, refusal(response, 409).await)
        }
    };
    let (lines, why) = refused("e1", "4.5.2", &archive).await;
    assert_eq!(lines.len(), 7);
    assert_eq!(lines.iter().filter(|l| !l.passed).count(), 1, "{lines:?}");
    assert!(
        why.contains("Global HA maintenance is not enabled"),
        "{why}"
    );
    set_global(&server, &hosts["e1"].id, true).await;
    for (host, appliance, backup, words) in [
        (
            "e2",
            "4.5.2",
            archive.as_str(),
            "runs on host e1, not on e2",
        ),
        ("e1", "4.5.2", "no-such-archive", "no uploaded archive"),
        (
            "e1",
            "4.5.3",
            archive.as_str(),
            "sha1 of appliance 4.5.3 does not match",
        ),
        (
            "e1",
            "4.6.0",
            archive.as_str(),
            "raise these first: he (4.7)",
        ),
        (
            "e1",
            "4.5.9",
            archive.as_str(),
            "extend the hosted-engine storage domain",
        ),
    ] {
        let (lines, why) = refused(host, appliance, backup).await;
        assert!(why.contains(words), "{appliance} on {host}: {why}");
        assert!(lines.iter().any(|l| !l.passed && l.message.contains(words)));
    }
    assert_eq!(he(&server).await.storage, before.storage);
    assert!(he(&server).await.backups.is_empty());

    // A failure at each step after the checks rolls back: the old engine runs again.
    for (appliance, step) in [
        ("4.5.10", "create the backup disk"),
        ("4.5.11", "copy the engine disk"),
        ("4.5.12", "write the appliance"),
        ("4.5.13", "restore and set up"),
        ("4.5.14", "health check"),
    ] {
        let job = upgrade(&server, "e1", appliance, &archive).await;
        assert_eq!(job.status, JobStatus::Failed, "{appliance}");
        let message = job.message.unwrap_or_default();
        assert!(message.contains("rolled back"), "{appliance}: {message}");
        assert!(
            job.steps
                .iter()
                .any(|s| s.name.as_deref() == Some(step) && s.status == JobStatus::Failed),
            "{appliance}: {:?}",
            job.steps
        );
        let now = he(&server).await;
        assert_eq!(now.engine_version, "4.5.0", "{appliance}");
        assert_eq!(now.appliance.os, "EL 8", "{appliance}");
        assert_eq!(now.storage, before.storage, "{appliance}");
        let vm = now.vm.unwrap();
        assert_eq!(
            (vm.status.as_str(), vm.host.as_deref()),
            ("up", Some("e1")),
            "{appliance}"
        );
    }

    // The happy path: the new engine, a registered backup disk, less free space.
    let job = upgrade(&server, "e1", "4.5.2", &archive).await;
    assert_eq!(job.status, JobStatus::Succeeded, "{:?}", job.message);
    assert!(job
        .message
        .as_deref()
        .unwrap_or_default()
        .contains("Leave global HA maintenance"));
    let restore = job
        .steps
        .iter()
        .find(|s| s.name.as_deref() == Some("restore and set up"))
        .unwrap();
    assert!(restore
        .message
        .as_deref()
        .unwrap_or_default()
        .contains("HE_APPLIANCE_ENGINE_RESTORE_SUCCESS"));
    let after = he(&server).await;
    assert_eq!(after.engine_version, "4.5.2");
    assert_eq!(after.appliance.os, "EL 9");
    assert_eq!(after.backups.len(), 1);
    let backup = &after.backups[0];
    assert!(
        backup.name.starts_with("hosted-engine-backup-"),
        "{}",
        backup.name
    );
    assert_eq!(backup.size_gb, 60);
    assert_eq!(after.storage.free_gb, before.storage.free_gb - 60);
    let listed: Vec<BackupDiskInfo> = admin_get(&server, "/api/hosted_engine/backups").await;
    assert_eq!(&listed, &after.backups);
    // The update dialog's version is the engine VM's: nothing newer to offer now.
    let engine: EngineStatus = admin_get(&server, "/api/engine").await;
    assert_eq!(engine.version, "4.5.2");
    assert!(!engine.update_available, "{engine:?}");

    // Viewers read; every change needs an admin.
    add_viewer(dir.path());
    let seen = get_json(&server, "/api/hosted_engine", "v", "viewer-password").await;
    assert_eq!(seen["engine_version"], "4.5.2");
    for (path, body) in [
        (
            "/api/hosted_engine/upgrade",
            json!({"host": "e1", "appliance": "4.5.2", "backup": archive}),
        ),
        (
            "/api/hosted_engine/rollback",
            json!({"backup": backup.name}),
        ),
    ] {
        let refused = post_as(&server, path, "v", "viewer-password", body).await;
        assert_eq!(refused.status(), 403, "{path}");
    }
    let upload = client()
        .post(server.url("/api/hosted_engine/archives"))
        .basic_auth("v", Some("viewer-password"))
        .body(b"x".to_vec())
        .send()
        .await
        .unwrap();
    assert_eq!(upload.status(), 403);
    let delete = client()
        .delete(server.url(&format!("/api/hosted_engine/backups/{}", backup.id)))
        .basic_auth("v", Some("viewer-password"))
        .send()
        .await
        .unwrap();
    assert_eq!(delete.status(), 403);
    // A bad body is a 400 in the error shape; an unknown appliance is named.
    let bad = admin_post(&server, "/api/hosted_engine/upgrade", json!({"host": "e1"})).await;
    assert!(refusal(bad, 400).await.contains("appliance"));
    let unknown = admin_post(
        &server,
        "/api/hosted_engine/upgrade",
        json!({"host": "e1", "appliance": "9.9", "backup": archive}),
    )
    .await;
    assert!(refusal(unknown, 400)
        .await
        .contains("There is no appliance 9.9"));

    // Rollback later: refused without global maintenance, and while the engine VM runs;
    // done once it is down.
    let body = json!({"backup": backup.name});
    set_global(&server, &hosts["e1"].id, false).await;
    let why = refusal(
        admin_post(&server, "/api/hosted_engine/rollback", body.clone()).await,
        409,
    )
    .await;
    assert!(
        why.contains("Global HA maintenance is not enabled"),
        "{why}"
    );
    set_global(&server, &hosts["e1"].id, true).await;
    let why = refusal(
        admin_post(&server, "/api/hosted_engine/rollback", body.clone()).await,
        409,
    )
    .await;
    assert!(why.contains("shut it down first"), "{why}");
    let vm = after.vm.unwrap();
    let stopped = admin_post(&server, &format!("/api/vms/{}/stop", vm.id), json!({})).await;
    assert!(stopped.status().is_success(), "{}", stopped.status());
    wait_until(|| async { he(&server).await.vm.is_some_and(|vm| vm.host.is_none()) }).await;
    let job: Job =
        serde_json::from_value(run_job(&server, "/api/hosted_engine/rollback", body).await)
            .unwrap();
    assert_eq!(job.status, JobStatus::Succeeded, "{:?}", job.message);
    let rolled = he(&server).await;
    assert_eq!(rolled.engine_version, "4.5.0");
    assert_eq!(rolled.appliance.os, "EL 8");
    assert_eq!(rolled.vm.unwrap().status.as_str(), "up");

    // Deleting the backup disk frees its space; an unknown one is 404.
    let gone = client()
        .delete(server.url(&format!("/api/hosted_engine/backups/{}", backup.id)))
        .basic_auth("admin", Some(ADMIN_PASSWORD))
        .send()
        .await
        .unwrap();
    assert_eq!(gone.status(), 204);
    assert_eq!(he(&server).await.storage.free_gb, 140);
    let again = client()
        .delete(server.url(&format!("/api/hosted_engine/backups/{}", backup.id)))
        .basic_auth("admin", Some(ADMIN_PASSWORD))
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), 404);
}

/// Polls `done` every 50 ms for up to a minute.
async fn wait_until<F, Fut>(done: F)
where
    F: Fn() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    while !done().await {
        assert!(std::time::Instant::now() < deadline, "timed out");
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
}

/// `uplift hosted-engine upgrade-appliance` with its answers on stdin; (exit code, stdout, stderr).
fn cli_upgrade(data: &Path, args: &[&str], stdin: &str) -> (Option<i32>, String, String) {
    use std::io::Write as _;
    let mut child = uplift(data)
        .args(["hosted-engine", "upgrade-appliance"])
        .args(args)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(stdin.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[tokio::test(flavor = "multi_thread")]
async fn the_cli_asks_like_the_seed_and_upgrades_with_info_lines() {
    let dir = tempfile::tempdir().unwrap();
    let fleet = write_fleet(dir.path(), "fleet.toml", &appliance_fleet(50.0));
    let server = Server::start(dir.path(), &fleet).await;
    let archive = dir.path().join("engine.backup");
    let out = run(uplift(dir.path())
        .args(["backup", "create", "--file"])
        .arg(&archive));
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let path = archive.to_str().unwrap();

    // "No" stops before anything is asked or changed.
    let (code, out, err) = cli_upgrade(dir.path(), &["--appliance", "4.5.2"], "No\n");
    assert_eq!(code, Some(2), "{out}{err}");
    assert!(
        out.contains("Are you sure you want to continue? (Yes, No)[Yes]:"),
        "{out}"
    );
    assert!(err.contains("Aborted"), "{err}");

    // Without global maintenance the preflight says so, named, and nothing starts.
    let (code, out, _) = cli_upgrade(
        dir.path(),
        &["--appliance", "4.5.2", "--backup", path, "--yes"],
        "",
    );
    assert_eq!(code, Some(2), "{out}");
    assert!(
        out.contains("[ ERROR ] Global HA maintenance is not enabled"),
        "{out}"
    );
    assert!(he(&server).await.backups.is_empty());

    let global =
        run(uplift(dir.path()).args(["hosted-engine", "set-maintenance", "--mode", "global"]));
    assert!(
        global.status.success(),
        "{}",
        String::from_utf8_lossy(&global.stderr)
    );
    // The default answer (an empty line) is Yes; the archive's path is asked for.
    let (code, out, err) = cli_upgrade(
        dir.path(),
        &["--appliance", "4.5.2"],
        &format!("\n{path}\n"),
    );
    assert_eq!(code, Some(0), "{out}{err}");
    for words in [
        "Please specify path to the backup archive",
        "[ INFO  ] It holds",
        "is a sane backup file",
        "[ INFO  ] The engine VM backup disk is now ready",
        "          |- HE_APPLIANCE_ENGINE_RESTORE_SUCCESS",
        "Leave global HA maintenance",
    ] {
        assert!(out.contains(words), "{words:?} in {out}");
    }
    assert_eq!(he(&server).await.engine_version, "4.5.2");

    // Rolling back needs the engine VM down: refused, named.
    let back = run(uplift(dir.path()).args(["hosted-engine", "rollback-upgrade", "--yes"]));
    assert_eq!(back.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&back.stderr).contains("shut it down first"));
}
