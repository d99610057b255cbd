//! The engine update check against a release feed served by the test: a newer version is
//! reported once, a failing or malformed feed keeps the previous answer with a warning, and
//! `uplift engine-upgrade-check` answers with its exit code.

mod common;

use std::sync::{Arc, Mutex};

use axum::http::StatusCode;
use axum::routing::get;
use axum::Router;
use common::*;
use serde_json::{json, Value};

/// What the feed answers: a status and a body, changed by the test as it goes.
type FeedAnswer = Arc<Mutex<(StatusCode, String)>>;

async fn serve_feed(answer: FeedAnswer) -> String {
    let app = Router::new().route(
        "/feed",
        get(move || {
            let answer = answer.clone();
            async move { answer.lock().unwrap().clone() }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/feed", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    url
}

async fn check(server: &Server) -> Value {
    let response = admin_post(server, "/api/engine/updatecheck", json!({})).await;
    assert_eq!(response.status(), 200);
    response.json().await.unwrap()
}

async fn events_with(server: &Server, code: &str) -> Vec<Value> {
    admin_json(server, "/api/events")
        .await
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["code"] == code)
        .cloned()
        .collect()
}

fn cli_check(dir: &std::path::Path) -> (i32, String) {
    let out = run(uplift(dir).arg("engine-upgrade-check"));
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).trim().to_string(),
    )
}

#[tokio::test]
async fn a_newer_release_is_reported_once_and_a_broken_feed_keeps_the_answer() {
    let dir = tempfile::tempdir().unwrap();
    let answer: FeedAnswer = Arc::new(Mutex::new((
        StatusCode::OK,
        r#"{"releases":[{"version":"0.0.1","released":"2020-01-01"}]}"#.to_string(),
    )));
    let url = serve_feed(answer.clone()).await;
    let set =
        run(uplift(dir.path()).args(["config", "set", &format!("EngineUpdateFeedUrl={url}")]));
    assert!(
        set.status.success(),
        "{}",
        String::from_utf8_lossy(&set.stderr)
    );
    let server = Server::start(dir.path(), &write_fleet(dir.path(), "f.toml", FLEET)).await;

    // Nothing newer.
    let status = check(&server).await;
    assert_eq!(status["update_available"], false, "{status}");
    assert!(status["last_checked"].is_string());
    assert_eq!(
        cli_check(dir.path()),
        (1, "No upgrade is available.".to_string())
    );

    // A newer release: reported, announced once however often it is checked.
    *answer.lock().unwrap() = (
        StatusCode::OK,
        r#"{"releases":[{"version":"0.0.1","released":"2020-01-01"},
                        {"version":"99.1.0","released":"2026-10-01","notes_url":"http://notes/99.1.0"}]}"#
            .to_string(),
    );
    let status = check(&server).await;
    assert_eq!(status["update_available"], true, "{status}");
    assert_eq!(status["available_version"], "99.1.0");
    assert_eq!(status["notes_url"], "http://notes/99.1.0");
    check(&server).await;
    let engine = admin_json(&server, "/api/engine").await;
    assert_eq!(engine["available_version"], "99.1.0");
    assert_eq!(
        events_with(&server, "engine_update_available").await.len(),
        1
    );
    assert_eq!(
        cli_check(dir.path()),
        (0, "Upgrade available: 99.1.0".to_string())
    );

    // The feed fails, then sends junk: the answer stays, a warning says why each time.
    *answer.lock().unwrap() = (StatusCode::INTERNAL_SERVER_ERROR, "down".to_string());
    let status = check(&server).await;
    assert_eq!(status["available_version"], "99.1.0");
    assert!(
        status["last_error"].as_str().unwrap().contains("500"),
        "{status}"
    );
    *answer.lock().unwrap() = (StatusCode::OK, "<html>not a feed</html>".to_string());
    let status = check(&server).await;
    assert_eq!(status["available_version"], "99.1.0");
    let warnings = events_with(&server, "engine_update_check_failed").await;
    assert_eq!(warnings.len(), 2);
    assert!(warnings
        .iter()
        .any(|e| e["message"].as_str().unwrap().contains("not valid JSON")));
    assert!(warnings.iter().all(|e| e["severity"] == "warning"));
    assert_eq!(
        cli_check(dir.path()),
        (0, "Upgrade available: 99.1.0".to_string())
    );

    add_viewer(dir.path());
    let forbidden = post_as(
        &server,
        "/api/engine/updatecheck",
        "v",
        "viewer-password",
        json!({}),
    )
    .await;
    assert_eq!(forbidden.status(), 403);
    let seen = get_json(&server, "/api/engine", "v", "viewer-password").await;
    assert_eq!(seen["available_version"], "99.1.0");
}

#[tokio::test]
async fn without_a_feed_the_fleet_says_what_is_available() {
    let dir = tempfile::tempdir().unwrap();
    let fleet = format!("[engine]\nversion = \"4.5.0\"\navailable_version = \"4.5.2\"\n{FLEET}");
    let server = Server::start(dir.path(), &write_fleet(dir.path(), "f.toml", &fleet)).await;
    let status = check(&server).await;
    assert_eq!(status["version"], "4.5.0");
    assert_eq!(status["available_version"], "4.5.2");
    let out = run(uplift(dir.path()).args(["engine-upgrade-check", "--now"]));
    assert_eq!(out.status.code(), Some(0));
}
