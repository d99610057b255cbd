//! `uplift backup`: a round trip while the server runs an upgrade, and every archive the
//! restore must refuse (truncated, a flipped byte, another product's, a newer schema), each
//! with its reason and nothing written.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::io::Write;
use std::path::Path;
use std::time::Duration;

use app::api::{Event, Host, Job, JobStatus, Vm};
use common::*;
use uplift::backup::{Contents, Manifest};

fn fleet() -> String {
    let mut fleet = cluster_c(10.0, 10.0);
    for (name, vms) in [("h1", 2), ("h2", 1), ("h3", 0)] {
        fleet.push_str(&format!(
            "\n[[host]]\nname = \"{name}\"\ncluster = \"c\"\nos = \"RHEL 9.2\"\nmemory_gb = 64\npackages = {{ vdsm = \"4.50.2\" }}\n"
        ));
        for v in 0..vms {
            fleet.push_str(&format!(
                "\n[[vm]]\nname = \"{name}-vm{v}\"\nhost = \"{name}\"\nmemory_gb = 4\nmigration = \"migratable\"\n"
            ));
        }
    }
    fleet
}

fn backup(data_dir: &Path, args: &[&str]) -> (Option<i32>, String, String) {
    let out = run(uplift(data_dir).arg("backup").args(args));
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

async fn events(server: &Server) -> BTreeMap<i64, (String, String)> {
    admin_get::<Vec<Event>>(server, "/api/events?per_page=10000")
        .await
        .into_iter()
        .map(|e| (e.id, (e.code, e.message)))
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_backup_taken_during_an_upgrade_restores_users_inventory_jobs_and_events() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    std::fs::create_dir(&data).unwrap();
    let fleet = write_fleet(dir.path(), "fleet.toml", &fleet());
    let server = Server::start(&data, &fleet).await;
    add_viewer(&data);
    let hosts = host_map(&server).await;
    let vms: BTreeSet<(String, String)> = admin_get::<Vec<Vm>>(&server, "/api/vms")
        .await
        .into_iter()
        .map(|vm| (vm.id, vm.name))
        .collect();
    let check = run_job(
        &server,
        &format!("/api/hosts/{}/upgradecheck", hosts["h1"].id),
        serde_json::json!({}),
    )
    .await;
    assert_eq!(check["status"], "succeeded");
    let job = start_job(
        &server,
        &format!("/api/hosts/{}/upgrade", hosts["h1"].id),
        serde_json::json!({"reboot": true}),
    )
    .await;
    // The upgrade is under way (its first steps are recorded) when the backup is taken.
    loop {
        let now: Job = admin_get(&server, &format!("/api/jobs/{job}")).await;
        assert!(
            now.ended_at.is_none(),
            "the upgrade ended before the backup"
        );
        if now.steps.len() >= 2 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let before = events(&server).await;
    let archive = dir.path().join("uplift.backup");
    let (code, out, err) = backup(&data, &["create", "--file", archive.to_str().unwrap()]);
    assert_eq!(code, Some(0), "{err}");
    assert!(out.contains("Wrote"), "{out}");
    assert!(out.contains("3 hosts, 3 VMs"), "{out}");

    let (code, out, err) = backup(&data, &["verify", archive.to_str().unwrap()]);
    assert_eq!(code, Some(0), "{err}");
    assert!(out.contains("is a sane Uplift backup"), "{out}");
    assert!(out.contains("2 users"), "{out}");

    // Wipe: the server dies with the upgrade in flight, and its data dir is gone.
    server.kill();
    std::fs::remove_dir_all(&data).unwrap();
    wipe_postgres(&data);
    let (code, out, err) = backup(&data, &["restore", archive.to_str().unwrap()]);
    assert_eq!(code, Some(0), "{err}");
    assert!(out.contains("Restored"), "{out}");

    let server = Server::start(&data, &fleet).await;
    let restored = host_map(&server).await;
    assert_eq!(
        restored
            .values()
            .map(|h| (h.id.clone(), h.name.clone()))
            .collect::<BTreeSet<_>>(),
        hosts
            .values()
            .map(|h| (h.id.clone(), h.name.clone()))
            .collect::<BTreeSet<_>>()
    );
    let restored_vms: BTreeSet<(String, String)> = admin_get::<Vec<Vm>>(&server, "/api/vms")
        .await
        .into_iter()
        .map(|vm| (vm.id, vm.name))
        .collect();
    assert_eq!(restored_vms, vms);
    // Every event written before the backup is there, word for word.
    let after = events(&server).await;
    for (id, event) in &before {
        assert_eq!(after.get(id), Some(event), "event {id}");
    }
    // Both users log in with their passwords.
    assert!(portal_login(&server, "v", "viewer-password")
        .await
        .is_some());
    assert!(portal_login(&server, "admin", ADMIN_PASSWORD)
        .await
        .is_some());
    // The job was in flight in the archive, and the restored server takes it to its end.
    let resumed: Job = admin_get(&server, &format!("/api/jobs/{job}")).await;
    assert_eq!(resumed.kind, app::api::JobKind::HostUpgrade);
    assert!(resumed.ended_at.is_none(), "{resumed:?}");
    let ended = wait_job(&server, &job).await;
    let ended: Job = serde_json::from_value(ended).unwrap();
    assert_eq!(ended.status, JobStatus::Succeeded, "{:?}", ended.message);
    let h1: Host = admin_get(&server, &format!("/api/hosts/{}", hosts["h1"].id)).await;
    assert_eq!(h1.os, "RHEL 9.4");
}

/// A gzip'd tar with these members, as `uplift backup create` lays them out.
fn archive_of(path: &Path, members: &[(&str, &[u8])]) {
    let file = std::fs::File::create(path).unwrap();
    let gz = flate2::write::GzEncoder::new(file, flate2::Compression::default());
    let mut tar = tar::Builder::new(gz);
    for (name, bytes) in members {
        let mut header = tar::Header::new_gnu();
        header.set_size(bytes.len() as u64);
        header.set_mode(0o600);
        header.set_cksum();
        tar.append_data(&mut header, name, *bytes).unwrap();
    }
    tar.into_inner().unwrap().finish().unwrap().flush().unwrap();
}

fn sha256(bytes: &[u8]) -> String {
    use sha2::Digest;
    hex::encode(sha2::Sha256::digest(bytes))
}

#[test]
fn damaged_foreign_and_newer_archives_are_refused_with_their_reason() {
    let dir = tempfile::tempdir().unwrap();
    let source = dir.path().join("source");
    // A database made by the CLI (no server needed to make one).
    add_viewer(&source);
    let good = dir.path().join("good.backup");
    let (code, _, err) = backup(&source, &["create", "--file", good.to_str().unwrap()]);
    assert_eq!(code, Some(0), "{err}");
    let (code, _, err) = backup(&source, &["create", "--file", good.to_str().unwrap()]);
    assert_eq!(code, Some(2));
    assert!(err.contains("already exists"), "{err}");

    let bytes = std::fs::read(&good).unwrap();
    let truncated = dir.path().join("truncated.backup");
    std::fs::write(&truncated, &bytes[..bytes.len() / 2]).unwrap();
    let flipped = dir.path().join("flipped.backup");
    let mut damaged = bytes.clone();
    damaged[bytes.len() / 2] ^= 0x40;
    std::fs::write(&flipped, &damaged).unwrap();

    // Archives laid out like ours, with the manifest changed.
    let db = b"not the database the manifest names".as_slice();
    let manifest = |product: &str, schema: i64, sha: String| {
        serde_json::to_vec(&Manifest {
            product: product.to_string(),
            format: 1,
            uplift_version: "9.9.9".to_string(),
            schema_version: schema,
            created_at: "2026-11-29T00:00:00.000Z".to_string(),
            database: "uplift.db".to_string(),
            size_bytes: db.len() as u64,
            sha256: sha,
            contents: Contents::default(),
        })
        .unwrap()
    };
    let foreign = dir.path().join("foreign.backup");
    archive_of(
        &foreign,
        &[
            ("manifest.json", &manifest("ovirt-engine", 1, sha256(db))),
            ("uplift.db", db),
        ],
    );
    let no_manifest = dir.path().join("no-manifest.backup");
    archive_of(&no_manifest, &[("engine.sql", db)]);
    let newer = dir.path().join("newer.backup");
    archive_of(
        &newer,
        &[
            ("manifest.json", &manifest("uplift", 999_999, sha256(db))),
            ("uplift.db", db),
        ],
    );
    let wrong_sum = dir.path().join("wrong-sum.backup");
    archive_of(
        &wrong_sum,
        &[
            ("manifest.json", &manifest("uplift", 1, sha256(b"other"))),
            ("uplift.db", db),
        ],
    );
    let not_gzip = dir.path().join("not-gzip.backup");
    std::fs::write(&not_gzip, b"PK\x03\x04 a zip, not ours").unwrap();

    for (archive, reason) in [
        (&truncated, "corrupt or truncated"),
        (&flipped, "corrupt or truncated"),
        (
            &foreign,
            "not an Uplift backup: its manifest names the product \"ovirt-engine\"",
        ),
        (&no_manifest, "not an Uplift backup"),
        (&newer, "made by a newer Uplift (schema 999999"),
        (&wrong_sum, "does not match its checksum"),
        (&not_gzip, "corrupt or truncated"),
    ] {
        let (code, _, err) = backup(&source, &["verify", archive.to_str().unwrap()]);
        assert_eq!(code, Some(1), "{archive:?}: {err}");
        // A flipped byte may break the compressed stream or only the database in it.
        let reasons = [reason, "damaged"];
        let named = |err: &str| reasons.iter().any(|r| err.contains(r));
        assert!(named(&err), "{archive:?}: {err}");
        // Restoring it is refused the same way and leaves the empty data dir empty.
        let target = dir.path().join("target");
        std::fs::create_dir_all(&target).unwrap();
        let (code, _, err) = backup(&target, &["restore", archive.to_str().unwrap()]);
        assert_eq!(code, Some(1), "{archive:?}: {err}");
        assert!(named(&err), "{archive:?}: {err}");
        assert_eq!(
            std::fs::read_dir(&target).unwrap().count(),
            0,
            "{archive:?}"
        );
    }

    // A good archive is not restored over a data dir that holds anything.
    let (code, _, err) = backup(&source, &["restore", good.to_str().unwrap()]);
    assert_eq!(code, Some(2));
    assert!(err.contains("is not empty"), "{err}");
    let (code, out, err) = backup(
        &dir.path().join("fresh"),
        &["restore", good.to_str().unwrap()],
    );
    assert_eq!(code, Some(0), "{err}");
    assert!(out.contains("1 users"), "{out}");
}
