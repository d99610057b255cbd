//! The live event stream (`GET /api/events/stream`) carries new events and job changes.

mod common;

use std::time::{Duration, Instant};

use common::*;
use serde_json::Value;

#[tokio::test]
async fn the_stream_carries_a_checks_events_and_its_job_to_the_end() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path(), &write_fleet(dir.path(), "f.toml", FLEET)).await;
    let anonymous = client()
        .get(server.url("/api/events/stream"))
        .send()
        .await
        .unwrap();
    assert_eq!(anonymous.status(), 401);

    let mut stream = client()
        .get(server.url("/api/events/stream"))
        .basic_auth("admin", Some(ADMIN_PASSWORD))
        .send()
        .await
        .unwrap();
    assert_eq!(stream.status(), 200);
    assert!(stream.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/event-stream"));

    let hosts = admin_json(&server, "/api/hosts").await;
    let a1 = hosts[0]["id"].as_str().unwrap();
    let started: Value = client()
        .post(server.url(&format!("/api/hosts/{a1}/upgradecheck")))
        .basic_auth("admin", Some(ADMIN_PASSWORD))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let job_id = started["job"]["id"].as_str().unwrap().to_string();

    let (mut text, mut finished_event, mut finished_job) = (String::new(), false, false);
    let deadline = Instant::now() + Duration::from_secs(30);
    while !(finished_event && finished_job) {
        assert!(
            Instant::now() < deadline,
            "the stream did not carry the check: {text}"
        );
        let chunk = tokio::time::timeout(Duration::from_secs(20), stream.chunk())
            .await
            .unwrap()
            .unwrap()
            .unwrap();
        text.push_str(&String::from_utf8_lossy(&chunk));
        // Messages end with a blank line; parse the complete ones.
        while let Some(end) = text.find("\n\n") {
            let message: String = text.drain(..end + 2).collect();
            let kind = message
                .lines()
                .find_map(|l| l.strip_prefix("event: "))
                .unwrap_or_default()
                .to_string();
            let data: String = message
                .lines()
                .filter_map(|l| l.strip_prefix("data: "))
                .collect();
            if data.is_empty() {
                continue;
            }
            let value: Value = serde_json::from_str(&data).unwrap();
            if kind == "event" && value["code"] == "host_update_check_finished" {
                assert_eq!(value["host"]["name"], "a1");
                finished_event = true;
            }
            if kind == "job" && value["id"] == job_id.as_str() && value["status"] == "succeeded" {
                finished_job = true;
            }
        }
    }

    // An open stream does not keep a stopping server alive.
    let status = tokio::task::spawn_blocking(move || server.terminate())
        .await
        .unwrap();
    assert!(status.success(), "{status}");
    drop(stream);
}
