//! Killing the server (kill -9) and starting it again keeps users, sessions, tokens and the
//! simulated world: the database is the truth, not the fleet file.

mod common;

use common::*;
use serde_json::json;

#[tokio::test]
async fn users_sessions_and_the_world_survive_kill_9() {
    let dir = tempfile::tempdir().unwrap();
    let fleet = write_fleet(dir.path(), "fleet.toml", FLEET);
    let server = Server::start(dir.path(), &fleet).await;

    let added = run(uplift(dir.path())
        .args(["user", "add", "olga", "--role", "viewer"])
        .env("UPLIFT_USER_PASSWORD", "olga-password"));
    assert!(added.status.success());
    let cookie = portal_login(&server, "admin", ADMIN_PASSWORD)
        .await
        .expect("a session cookie");
    let token: serde_json::Value = client()
        .post(server.url("/api/tokens"))
        .json(&json!({"username": "olga", "password": "olga-password"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let token = token["token"].as_str().unwrap().to_string();
    let hosts_before = admin_json(&server, "/api/hosts").await;
    let vms_before = admin_json(&server, "/api/vms").await;
    let clusters_before = admin_json(&server, "/api/clusters").await;
    server.kill();

    // A different fleet file on restart changes nothing: the world lives in the database.
    let other = write_fleet(
        dir.path(),
        "other.toml",
        "[[cluster]]\nname = \"x\"\ncompatibility_version = \"4.7\"\n",
    );
    let server = Server::start(dir.path(), &other).await;
    assert_eq!(admin_json(&server, "/api/hosts").await, hosts_before);
    assert_eq!(admin_json(&server, "/api/vms").await, vms_before);
    assert_eq!(admin_json(&server, "/api/clusters").await, clusters_before);

    let with_cookie = client()
        .get(server.url("/api/hosts"))
        .header("Cookie", &cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(with_cookie.status(), 200, "the session survived");
    let with_token = client()
        .get(server.url("/api/hosts"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(with_token.status(), 200, "the token survived");
    let olga = get_json(&server, "/api/vms", "olga", "olga-password").await;
    assert_eq!(olga, vms_before);
    assert!(
        server
            .log()
            .contains("continuing the world already in the database"),
        "{}",
        server.log()
    );
}

#[tokio::test]
async fn a_new_password_ends_old_sessions_and_tokens() {
    let dir = tempfile::tempdir().unwrap();
    let fleet = write_fleet(dir.path(), "fleet.toml", FLEET);
    let server = Server::start(dir.path(), &fleet).await;
    let cookie = portal_login(&server, "admin", ADMIN_PASSWORD)
        .await
        .unwrap();
    let changed = run(uplift(dir.path())
        .args(["user", "passwd", "admin"])
        .env("UPLIFT_USER_PASSWORD", "a-brand-new-password"));
    assert!(
        changed.status.success(),
        "{}",
        String::from_utf8_lossy(&changed.stderr)
    );
    let old = client()
        .get(server.url("/api/hosts"))
        .header("Cookie", &cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(old.status(), 401);
    get_json(&server, "/api/hosts", "admin", "a-brand-new-password").await;
}

#[tokio::test]
async fn sigterm_shuts_down_gracefully() {
    let dir = tempfile::tempdir().unwrap();
    let fleet = write_fleet(dir.path(), "fleet.toml", FLEET);
    let server = Server::start(dir.path(), &fleet).await;
    admin_json(&server, "/api/hosts").await;
    let log = server.data_dir.clone();
    let status = server.terminate();
    assert!(status.success(), "exit status {status}");
    let logs: String = std::fs::read_dir(&log)
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().ends_with(".log"))
        .map(|e| std::fs::read_to_string(e.path()).unwrap_or_default())
        .collect();
    assert!(logs.contains("shutting down"), "{logs}");
}
