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
/// `sha256=HEX` of the HMAC-SHA256 of `body` with `secret`, computed independently.
fn expected_signature(secret: &str, body: &[u8]) -> String {
    use hmac::Mac;
    let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(body);
    format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}

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

    // The admin subscribes a webhook to engine updates.
    let hook = Webhook::serve(204).await;
    allow_loopback_webhooks(&server);
    let subscribed = admin_post(
        &server,
        "/api/subscriptions",
        json!({"event": "engine_update_available", "method": "webhook", "url": hook.url, "secret": "s3cret"}),
    )
    .await;
    assert_eq!(subscribed.status(), 201);

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

    // Exactly one signed POST reaches the webhook.
    hook.wait_for(1, std::time::Duration::from_secs(15)).await;
    tokio::time::sleep(std::time::Duration::from_millis(1500)).await;
    let posts = hook.received();
    assert_eq!(posts.len(), 1, "{posts:?}");
    let (signature, body) = &posts[0];
    assert_eq!(signature, &expected_signature("s3cret", body));
    let payload: Value = serde_json::from_slice(body).unwrap();
    assert_eq!(payload["event"], "engine_update_available");
    assert!(payload["message"].as_str().unwrap().contains("99.1.0"));
    let deliveries = admin_json(&server, "/api/deliveries").await;
    assert_eq!(deliveries[0]["status"], "delivered", "{deliveries}");

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

#[tokio::test]
async fn subscriptions_are_each_users_own_and_bad_ones_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path(), &write_fleet(dir.path(), "f.toml", FLEET)).await;
    add_viewer(dir.path());
    let created: Value = post_as(
        &server,
        "/api/subscriptions",
        "v",
        "viewer-password",
        json!({"event": "host_upgrade_failed", "method": "webhook", "url": "https://hooks.example.com/x"}),
    )
    .await
    .json()
    .await
    .unwrap();
    assert!(
        created["secret"].as_str().unwrap().len() >= 24,
        "a secret is made"
    );
    let mine = get_json(&server, "/api/subscriptions", "v", "viewer-password").await;
    assert_eq!(mine.as_array().unwrap().len(), 1);
    assert!(mine[0]["secret"].is_null(), "the secret is shown once");
    assert!(admin_json(&server, "/api/subscriptions")
        .await
        .as_array()
        .unwrap()
        .is_empty());

    for bad in [
        json!({"event": "lunch", "method": "webhook", "url": "http://x"}),
        json!({"event": "host_upgrade_failed", "method": "pigeon"}),
        json!({"event": "host_upgrade_failed", "method": "webhook", "url": "ftp://x"}),
        json!({"event": "host_upgrade_failed", "method": "email", "address": "nobody"}),
    ] {
        let response = admin_post(&server, "/api/subscriptions", bad.clone()).await;
        assert_eq!(response.status(), 400, "{bad}");
    }
    let id = created["id"].as_str().unwrap();
    let foreign = client()
        .delete(server.url(&format!("/api/subscriptions/{id}")))
        .basic_auth("admin", Some(ADMIN_PASSWORD))
        .send()
        .await
        .unwrap();
    assert_eq!(foreign.status(), 404);
    let own = client()
        .delete(server.url(&format!("/api/subscriptions/{id}")))
        .basic_auth("v", Some("viewer-password"))
        .send()
        .await
        .unwrap();
    assert_eq!(own.status(), 204);
}
