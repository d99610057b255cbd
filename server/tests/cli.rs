//! The command line: one-line errors with exit 2, users, and generated fleets that load.

mod common;

use common::*;

#[test]
fn bad_arguments_give_one_line_and_exit_2() {
    let dir = tempfile::tempdir().unwrap();
    for args in [
        vec!["serve", "--bogus"],
        vec!["user", "add"],
        vec!["fleet", "generate", "--hosts", "x"],
        vec![],
    ] {
        let out = run(uplift(dir.path()).args(&args));
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(stderr.trim_end().lines().count(), 1, "{args:?}: {stderr}");
    }
    for args in [
        vec!["--help"],
        vec!["serve", "--help"],
        vec!["user", "add", "--help"],
        vec!["fleet", "generate", "--help"],
    ] {
        let out = run(uplift(dir.path()).args(&args));
        assert_eq!(out.status.code(), Some(0), "{args:?}");
        assert!(String::from_utf8_lossy(&out.stdout).contains("Usage"));
    }
}

#[test]
fn users_are_added_listed_and_refused_when_invalid() {
    let dir = tempfile::tempdir().unwrap();
    let add = |name: &str, role: &str, password: &str| {
        run(uplift(dir.path())
            .args(["user", "add", name, "--role", role])
            .env("UPLIFT_USER_PASSWORD", password))
    };
    assert!(add("alice", "admin", "alice-password").status.success());
    assert!(add("bob", "viewer", "bob-password").status.success());

    let again = add("bob", "viewer", "bob-password");
    assert_eq!(again.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&again.stderr).contains("already exists"));
    let weak = add("carol", "viewer", "short");
    assert_eq!(weak.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&weak.stderr).contains("at least 8"));

    let list = run(uplift(dir.path()).args(["user", "list"]));
    let text = String::from_utf8_lossy(&list.stdout);
    assert!(
        text.lines()
            .any(|l| l.starts_with("alice") && l.contains("admin")),
        "{text}"
    );
    assert!(
        text.lines()
            .any(|l| l.starts_with("bob") && l.contains("viewer")),
        "{text}"
    );
    assert!(!text.contains("carol"));
    assert!(!text.contains("argon2"), "hashes never leave the service");
}

#[test]
fn a_password_can_come_on_stdin() {
    use std::io::Write;
    let dir = tempfile::tempdir().unwrap();
    let mut child = uplift(dir.path())
        .args(["user", "add", "dave", "--role", "viewer"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(b"dave-password\n")
        .unwrap();
    assert!(child.wait().unwrap().success());
}

#[tokio::test]
async fn generated_fleets_load_with_the_asked_size() {
    let dir = tempfile::tempdir().unwrap();
    let text = generated_fleet(
        dir.path(),
        &[
            "--clusters",
            "2",
            "--hosts",
            "20",
            "--vms",
            "150",
            "--seed",
            "3",
        ],
    );
    let fleet = write_fleet(dir.path(), "gen.toml", &text);
    let server = Server::start(dir.path(), &fleet).await;
    let hosts = admin_json(&server, "/api/hosts").await;
    assert_eq!(hosts.as_array().unwrap().len(), 20);
    let vms = admin_json(&server, "/api/vms").await;
    assert_eq!(vms.as_array().unwrap().len(), 150);
    let clusters = admin_json(&server, "/api/clusters").await;
    assert_eq!(clusters.as_array().unwrap().len(), 2);
}

#[tokio::test]
async fn the_first_start_prints_a_generated_admin_password_once() {
    let dir = tempfile::tempdir().unwrap();
    let fleet = write_fleet(dir.path(), "fleet.toml", FLEET);
    let log = dir.path().join("first.log");
    let mut child = uplift(dir.path())
        .args(["serve", "--addr", "127.0.0.1:0", "--fleet"])
        .arg(&fleet)
        .env("UPLIFT_LOG", "info")
        .stderr(std::fs::File::create(&log).unwrap())
        .spawn()
        .unwrap();
    let mut password = None;
    for _ in 0..300 {
        let text = std::fs::read_to_string(&log).unwrap_or_default();
        if let Some(rest) = text.split("created user admin with password ").nth(1) {
            password = rest.split_whitespace().next().map(str::to_string);
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    let password = password.expect("the password is printed");
    let mut ok = false;
    for _ in 0..100 {
        let Some(base) = listening_on(&std::fs::read_to_string(&log).unwrap_or_default()) else {
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
            continue;
        };
        if let Ok(r) = client()
            .get(format!("{base}/api/hosts"))
            .basic_auth("admin", Some(&password))
            .send()
            .await
        {
            ok = r.status() == 200;
            if ok {
                break;
            }
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    let _ = child.kill();
    let _ = child.wait();
    assert!(ok, "the printed password works");
}
