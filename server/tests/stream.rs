//! The live event stream (`GET /api/events/stream`) carries new events and job changes.

mod common;
#[path = "common/sse.rs"]
mod sse;

use std::time::{Duration, Instant};

use app::api::{Event, Job, JobStatus};
use common::*;
use serde_json::Value;
use sse::{Message, Read, Sse};

const WAIT: Duration = Duration::from_secs(10);

async fn open(server: &Server, user: &str, password: &str) -> Sse {
    Sse::new(
        client()
            .get(server.url("/api/events/stream"))
            .basic_auth(user, Some(password))
            .send()
            .await
            .unwrap(),
    )
}

/// A stand-in for another process (the CLI, a second instance): it commits `count` events in
/// one transaction straight into the server's database, so they all land between two
/// deliveries of the stream.
async fn burst(server: &Server, prefix: &str, count: usize) {
    let db = database(&server.data_dir).await;
    let mut tx = db.begin().await.unwrap();
    for i in 0..count {
        sqlx::query(
            "INSERT INTO events (code, severity, time, message) VALUES ('stand_in_burst', 'normal', '2026-01-01T00:00:00.000Z', $1)",
        )
        .bind(format!("{prefix} {i:03}"))
        .execute(&mut *tx)
        .await
        .unwrap();
    }
    tx.commit().await.unwrap();
    db.close().await;
}

/// The burst events among `messages`, as (change id, message), in the order received.
fn burst_events(messages: &[Message]) -> Vec<(i64, String)> {
    messages
        .iter()
        .filter_map(|m| match m {
            Message::Event { id, event } if event.code == "stand_in_burst" => {
                Some((*id, event.message.clone()))
            }
            _ => None,
        })
        .collect()
}

fn expected(prefix: &str, count: usize) -> Vec<String> {
    (0..count).map(|i| format!("{prefix} {i:03}")).collect()
}

/// Reads until the burst event `last` arrived.
async fn read_through(stream: &mut Sse, last: &str) -> Vec<Message> {
    stream
        .until(
            WAIT,
            |m| matches!(m, Message::Event { event, .. } if event.message == last),
        )
        .await
}

#[tokio::test]
async fn events_committed_at_once_arrive_whole_and_in_order() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path(), &write_fleet(dir.path(), "f.toml", FLEET)).await;
    let mut stream = open(&server, "admin", ADMIN_PASSWORD).await;
    // More than the 200 events the old stream read between two deliveries.
    burst(&server, "burst", 250).await;
    let messages = read_through(&mut stream, "burst 249").await;
    let got = burst_events(&messages);
    assert_eq!(
        got.iter().map(|(_, m)| m.clone()).collect::<Vec<_>>(),
        expected("burst", 250)
    );
    let ids: Vec<i64> = messages.iter().filter_map(Message::id).collect();
    assert!(ids.windows(2).all(|w| w[0] < w[1]), "ids rise: {ids:?}");
}

#[tokio::test]
async fn a_reconnect_with_last_event_id_gets_exactly_what_it_missed() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path(), &write_fleet(dir.path(), "f.toml", FLEET)).await;
    let mut stream = open(&server, "admin", ADMIN_PASSWORD).await;
    burst(&server, "before", 3).await;
    let seen = read_through(&mut stream, "before 002").await;
    let last = seen.last().and_then(Message::id).unwrap();
    drop(stream);

    // Missed while away: a burst, and a user the CLI adds.
    burst(&server, "away", 40).await;
    add_viewer(dir.path());
    let missed: Vec<Event> = admin_get(
        &server,
        &format!("/api/events?after={}&per_page=100", event_id_of(&seen)),
    )
    .await;
    assert_eq!(missed.len(), 41, "{missed:?}");

    let mut back = Sse::new(
        client()
            .get(server.url("/api/events/stream"))
            .basic_auth("admin", Some(ADMIN_PASSWORD))
            .header("Last-Event-ID", last.to_string())
            .send()
            .await
            .unwrap(),
    );
    let mut replayed = Vec::new();
    while replayed.len() < missed.len() {
        if let Message::Event { event, .. } = back.next(WAIT).await {
            replayed.push(event);
        }
    }
    let mut oldest_first = missed.clone();
    oldest_first.reverse();
    assert_eq!(
        replayed.iter().map(|e| e.id).collect::<Vec<_>>(),
        oldest_first.iter().map(|e| e.id).collect::<Vec<_>>(),
        "the replay is the events after the last one received, in order"
    );
    assert_eq!(
        burst_events(
            &replayed
                .into_iter()
                .map(|event| Message::Event { id: 0, event })
                .collect::<Vec<_>>()
        )
        .into_iter()
        .map(|(_, m)| m)
        .collect::<Vec<_>>(),
        expected("away", 40)
    );
    // Then the stream goes on live, with nothing sent twice.
    burst(&server, "after", 2).await;
    let live = read_through(&mut back, "after 001").await;
    assert_eq!(
        burst_events(&live)
            .into_iter()
            .map(|(_, m)| m)
            .collect::<Vec<_>>(),
        expected("after", 2)
    );

    // An id the server cannot resume from asks the browser to reload everything.
    let mut lost = Sse::new(
        client()
            .get(server.url("/api/events/stream"))
            .basic_auth("admin", Some(ADMIN_PASSWORD))
            .header("Last-Event-ID", "not-a-number")
            .send()
            .await
            .unwrap(),
    );
    assert!(matches!(lost.next(WAIT).await, Message::Resync));
}

/// The event id of the last event among `messages`.
fn event_id_of(messages: &[Message]) -> i64 {
    messages
        .iter()
        .rev()
        .find_map(|m| match m {
            Message::Event { event, .. } => Some(event.id),
            _ => None,
        })
        .unwrap()
}

#[tokio::test]
async fn a_change_made_by_the_cli_reaches_an_open_stream() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path(), &write_fleet(dir.path(), "f.toml", FLEET)).await;
    let mut stream = open(&server, "admin", ADMIN_PASSWORD).await;
    add_viewer(dir.path());
    let seen = stream
        .until(
            WAIT,
            |m| matches!(m, Message::Event { event, .. } if event.code == "user_added"),
        )
        .await;
    let Some(Message::Event { event, .. }) = seen.last() else {
        unreachable!()
    };
    assert!(event.message.contains('v'), "{}", event.message);
}

/// Reads until the stream ends; panics if it does not within the wait.
async fn assert_ends(stream: &mut Sse, what: &str) {
    let deadline = Instant::now() + WAIT;
    loop {
        assert!(Instant::now() < deadline, "{what}: the stream stayed open");
        match stream.read(WAIT).await {
            Read::Ended => return,
            Read::Message(_) => {}
            Read::Quiet => panic!("{what}: the stream stayed open"),
        }
    }
}

#[tokio::test]
async fn a_new_password_a_sign_out_or_a_revoked_token_closes_the_users_streams() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path(), &write_fleet(dir.path(), "f.toml", FLEET)).await;
    add_viewer(dir.path());
    let with_cookie = |cookie: String| {
        let server = &server;
        async move {
            Sse::new(
                client()
                    .get(server.url("/api/events/stream"))
                    .header("cookie", cookie)
                    .send()
                    .await
                    .unwrap(),
            )
        }
    };
    let with_token = |token: String| {
        let server = &server;
        async move {
            Sse::new(
                client()
                    .get(server.url("/api/events/stream"))
                    .bearer_auth(token)
                    .send()
                    .await
                    .unwrap(),
            )
        }
    };

    // A new password ends the viewer's streams of every kind; the admin's stays.
    let mut basic = open(&server, "v", "viewer-password").await;
    let cookie = portal_login(&server, "v", "viewer-password").await.unwrap();
    let mut session = with_cookie(cookie).await;
    let mut token = with_token(token_for(&server, "v", "viewer-password").await).await;
    let mut admin = open(&server, "admin", ADMIN_PASSWORD).await;
    let changed = run(uplift(dir.path())
        .args(["user", "passwd", "v"])
        .env("UPLIFT_USER_PASSWORD", "viewer-password-2"));
    assert!(changed.status.success());
    assert_ends(&mut basic, "Basic").await;
    assert_ends(&mut session, "session").await;
    assert_ends(&mut token, "token").await;
    admin
        .until(
            WAIT,
            |m| matches!(m, Message::Event { event, .. } if event.code == "user_password_changed"),
        )
        .await;

    // Signing out ends that session's stream only.
    let first = portal_login(&server, "v", "viewer-password-2")
        .await
        .unwrap();
    let second = portal_login(&server, "v", "viewer-password-2")
        .await
        .unwrap();
    let mut signed_out = with_cookie(first.clone()).await;
    let mut still_in = with_cookie(second).await;
    let out = client()
        .post(server.url("/logout"))
        .header("cookie", first)
        .send()
        .await
        .unwrap();
    assert_eq!(out.status(), 303);
    assert_ends(&mut signed_out, "signed-out session").await;

    // Revoking the tokens ends the token's stream; the other session's stream stays open.
    let mut token = with_token(token_for(&server, "v", "viewer-password-2").await).await;
    let revoked = run(uplift(dir.path()).args(["user", "revoke-tokens", "v"]));
    assert!(revoked.status.success());
    assert_ends(&mut token, "revoked token").await;
    burst(&server, "still", 1).await;
    read_through(&mut still_in, "still 000").await;
    assert!(
        matches!(
            admin.read(Duration::from_millis(200)).await,
            Read::Message(_) | Read::Quiet
        ),
        "the admin's stream stays open"
    );
}

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

    let stream = client()
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

    let mut stream = Sse::new(stream);

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

    let (mut finished_event, mut finished_job) = (false, None);
    let seen = stream
        .until(Duration::from_secs(30), |message| {
            match message {
                Message::Event { event, .. } if event.code == "host_update_check_finished" => {
                    assert_eq!(event.host.as_ref().map(|h| h.name.as_str()), Some("a1"));
                    finished_event = true;
                }
                Message::Job { job, .. } if job.id == job_id && job.status.is_final() => {
                    finished_job = Some(job.clone());
                }
                _ => {}
            }
            finished_event && finished_job.is_some()
        })
        .await;
    let finished = finished_job.unwrap();
    assert_eq!(finished.status, JobStatus::Succeeded, "{seen:?}");
    // The stream carries the job's state, not its steps: they are the job's own resource.
    assert!(finished.steps.is_empty(), "{finished:?}");
    let whole: Job = admin_get(&server, &format!("/api/jobs/{job_id}")).await;
    assert!(!whole.steps.is_empty(), "{whole:?}");
    assert_eq!(
        (
            whole.status,
            whole.percent_complete,
            &whole.ended_at,
            &whole.message
        ),
        (
            finished.status,
            finished.percent_complete,
            &finished.ended_at,
            &finished.message
        )
    );

    // An open stream does not keep a stopping server alive.
    let status = tokio::task::spawn_blocking(move || server.terminate())
        .await
        .unwrap();
    assert!(status.success(), "{status}");
    drop(stream);
}
