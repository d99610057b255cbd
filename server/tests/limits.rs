//! Issue 17, what users can make Uplift do: webhooks reach no internal address unless an
//! admin allows its network (SSRF), a webhook that never answers delays nobody else, and
//! subscriptions, event streams and request bodies are limited.

mod common;

use std::time::{Duration, Instant};

use app::api::{Delivery, Subscription};
use common::*;
use serde_json::json;

/// Two hosts with an update each: every host check announces `host_updates_available`.
const TWO_HOSTS: &str = r#"
[simulation]
speed = 50.0

[repository]
os = "RHEL 9.4"
supported_cluster_levels = ["4.7"]
packages = { vdsm = "4.50.3" }

[[cluster]]
name = "alpha"
compatibility_version = "4.7"

[[host]]
name = "h1"
cluster = "alpha"
address = "10.1.0.1"
os = "RHEL 9.4"
memory_gb = 64
packages = { vdsm = "4.50.2" }

[[host]]
name = "h2"
cluster = "alpha"
address = "10.1.0.2"
os = "RHEL 9.4"
memory_gb = 64
packages = { vdsm = "4.50.2" }
"#;

async fn subscribe(
    server: &Server,
    user: (&str, &str),
    event: &str,
    url: &str,
) -> reqwest::Response {
    post_as(
        server,
        "/api/subscriptions",
        user.0,
        user.1,
        json!({"event": event, "method": "webhook", "url": url}),
    )
    .await
}

const ADMIN: (&str, &str) = ("admin", ADMIN_PASSWORD);
const VIEWER: (&str, &str) = ("v", "viewer-password");

async fn deliveries(server: &Server, user: (&str, &str)) -> Vec<Delivery> {
    get_as(server, "/api/deliveries", user.0, user.1).await
}

/// Waits up to `within` until `done` holds for the user's deliveries; returns them.
async fn wait_deliveries(
    server: &Server,
    user: (&str, &str),
    within: Duration,
    done: impl Fn(&[Delivery]) -> bool,
) -> Vec<Delivery> {
    let deadline = Instant::now() + within;
    loop {
        let found = deliveries(server, user).await;
        if done(&found) || Instant::now() > deadline {
            return found;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Serves `GET|POST /hook` on `ip` with a redirect to `to`.
async fn redirector(ip: &str, to: String) -> String {
    let app = axum::Router::new().route(
        "/hook",
        axum::routing::any(move || {
            let to = to.clone();
            async move { axum::response::Redirect::temporary(&to) }
        }),
    );
    let listener = tokio::net::TcpListener::bind(format!("{ip}:0"))
        .await
        .unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    url
}

fn set_config(server: &Server, assignment: &str) {
    let set = run(uplift(&server.data_dir).args(["config", "set", assignment]));
    assert!(
        set.status.success(),
        "{}",
        String::from_utf8_lossy(&set.stderr)
    );
}

#[tokio::test]
async fn webhooks_reach_no_internal_address_unless_an_admin_allows_its_network() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path(), &write_fleet(dir.path(), "f.toml", TWO_HOSTS)).await;

    // An internal address in the URL is refused when subscribing, with the reason.
    for url in [
        "http://127.0.0.1:9/x",
        "http://10.0.0.1/x",
        "http://172.16.0.1/x",
        "http://192.168.1.1/x",
        "http://169.254.169.254/latest/meta-data/",
        "http://[::1]:9/x",
    ] {
        let message = refusal(
            subscribe(&server, ADMIN, "host_updates_available", url).await,
            400,
        )
        .await;
        assert!(
            message.contains("is not a public address"),
            "{url}: {message}"
        );
        assert!(message.contains("WebhookAllowedNetworks"), "{message}");
    }

    // A name is checked when it is resolved: `localhost` is loopback.
    let hook = Webhook::serve(204).await;
    let port = hook
        .url
        .rsplit(':')
        .next()
        .unwrap()
        .trim_end_matches("/hook")
        .to_string();
    let by_name = format!("http://localhost:{port}/hook");
    assert_eq!(
        subscribe(&server, ADMIN, "host_updates_available", &by_name)
            .await
            .status(),
        201
    );
    // An allowed address that redirects to loopback: the redirect is not followed.
    set_config(&server, "WebhookAllowedNetworks=127.0.0.2/32");
    let redirecting = redirector("127.0.0.2", hook.url.clone()).await;
    assert_eq!(
        subscribe(&server, ADMIN, "host_updates_available", &redirecting)
            .await
            .status(),
        201
    );

    let hosts = ids_by_name(&server, "/api/hosts").await;
    run_job(
        &server,
        &format!("/api/hosts/{}/upgradecheck", hosts["h1"]),
        json!({}),
    )
    .await;
    let found = wait_deliveries(&server, ADMIN, Duration::from_secs(20), |d| {
        d.len() == 2 && d.iter().all(|d| d.attempts >= 1)
    })
    .await;
    assert!(
        found.iter().any(|d| d
            .last_error
            .as_deref()
            .is_some_and(|e| e.starts_with("refused: localhost is not a public address"))),
        "{found:?}"
    );
    assert!(
        found.iter().any(|d| d.last_error.as_deref()
            == Some("the webhook answered HTTP 307; redirects are not followed")),
        "{found:?}"
    );
    assert!(hook.received().is_empty(), "nothing reached loopback");

    // Once an admin allows loopback, the retry of the same delivery reaches it.
    set_config(&server, "WebhookAllowedNetworks=127.0.0.0/8");
    let posts = hook.wait_for(1, Duration::from_secs(30)).await;
    assert_eq!(posts.len(), 1);
}

/// Accepts connections and never answers.
async fn black_hole() -> (String, tokio::task::JoinHandle<()>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    let task = tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((socket, _)) = listener.accept().await {
            held.push(socket);
        }
    });
    (url, task)
}

#[tokio::test]
async fn a_webhook_that_never_answers_delays_no_other_users_notifications() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path(), &write_fleet(dir.path(), "f.toml", TWO_HOSTS)).await;
    add_viewer(dir.path());
    allow_loopback_webhooks(&server);
    let (hole, _task) = black_hole().await;
    assert_eq!(
        subscribe(&server, ADMIN, "host_updates_available", &hole)
            .await
            .status(),
        201
    );
    let hook = Webhook::serve(204).await;
    assert_eq!(
        subscribe(&server, VIEWER, "host_updates_available", &hook.url)
            .await
            .status(),
        201
    );

    let hosts = ids_by_name(&server, "/api/hosts").await;
    for (n, host) in ["h1", "h2"].into_iter().enumerate() {
        run_job(
            &server,
            &format!("/api/hosts/{}/upgradecheck", hosts[host]),
            json!({}),
        )
        .await;
        assert_eq!(
            hook.wait_for(n + 1, Duration::from_secs(20)).await.len(),
            n + 1
        );
    }
    // Both of the viewer's notifications arrived while the first send to the black hole is
    // still waiting for an answer (it is recorded only when it times out).
    let mine = deliveries(&server, VIEWER).await;
    assert!(mine.iter().all(|d| d.status == "delivered"), "{mine:?}");
    let held = deliveries(&server, ADMIN).await;
    assert_eq!(held.len(), 2);
    assert!(
        held.iter()
            .all(|d| d.attempts == 0 && d.status == "pending"),
        "{held:?}"
    );
}

#[tokio::test]
async fn subscriptions_streams_and_bodies_are_limited() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path(), &write_fleet(dir.path(), "f.toml", FLEET)).await;
    add_viewer(dir.path());

    // Thirty subscriptions at once: the database keeps exactly twenty.
    let attempts = (0..30).map(|i| {
        let url = format!("https://hooks.example.com/{i}");
        let server = &server;
        async move {
            subscribe(server, VIEWER, "host_upgrade_failed", &url)
                .await
                .status()
        }
    });
    let statuses = futures::future::join_all(attempts).await;
    assert_eq!(
        statuses.iter().filter(|s| s.as_u16() == 201).count(),
        20,
        "{statuses:?}"
    );
    assert_eq!(
        statuses.iter().filter(|s| s.as_u16() == 409).count(),
        10,
        "{statuses:?}"
    );
    let kept: Vec<Subscription> =
        get_as(&server, "/api/subscriptions", "v", "viewer-password").await;
    assert_eq!(kept.len(), 20);
    let over = subscribe(
        &server,
        VIEWER,
        "host_upgrade_failed",
        "https://hooks.example.com/x",
    )
    .await;
    assert!(refusal(over, 409).await.contains("20 subscriptions"));

    // Eight live event streams per user; the ninth waits until one closes.
    let stream = || {
        client()
            .get(server.url("/api/events/stream"))
            .basic_auth("v", Some("viewer-password"))
            .send()
    };
    let mut open = Vec::new();
    for _ in 0..8 {
        let response = stream().await.unwrap();
        assert_eq!(response.status(), 200);
        open.push(response);
    }
    let ninth = stream().await.unwrap();
    assert!(refusal(ninth, 429).await.contains("8 live event streams"));
    // Another user has their own eight.
    let admins = client()
        .get(server.url("/api/events/stream"))
        .basic_auth("admin", Some(ADMIN_PASSWORD))
        .send()
        .await
        .unwrap();
    assert_eq!(admins.status(), 200);
    drop(open.pop());
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let again = stream().await.unwrap();
        if again.status() == 200 {
            break;
        }
        assert!(Instant::now() < deadline, "a closed stream frees its place");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }

    // A body larger than the limit is refused before it is read, in the API's error shape.
    // (Raw HTTP: the client announces 2 MiB, sends none of it and waits for the answer; a
    // client still writing when the server answers would see the connection close instead.)
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let address = server.base.trim_start_matches("http://").to_string();
    let mut socket = tokio::net::TcpStream::connect(&address).await.unwrap();
    let head = format!(
        "POST /api/tokens HTTP/1.1\r\nHost: {address}\r\nContent-Type: application/json\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n",
        2 * 1024 * 1024
    );
    socket.write_all(head.as_bytes()).await.unwrap();
    let mut answer = String::new();
    socket.read_to_string(&mut answer).await.unwrap();
    assert!(answer.starts_with("HTTP/1.1 413"), "{answer}");
    assert!(answer.contains(r#""code":"body_too_large""#), "{answer}");
}

/// Serves `/feed` (a release list), `/moved` (a redirect to `/feed` on the same host) and
/// `/huge` (two MiB of spaces) on `ip`; returns the base URL.
async fn feeds(ip: &str, elsewhere: Option<String>) -> String {
    let listener = tokio::net::TcpListener::bind(format!("{ip}:0"))
        .await
        .unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let same_host = format!("{base}/feed");
    let away = elsewhere.unwrap_or_else(|| same_host.clone());
    let app = axum::Router::new()
        .route(
            "/feed",
            axum::routing::get(|| async {
                r#"{"releases":[{"version":"99.0.0","released":"2026-10-01"}]}"#
            }),
        )
        .route(
            "/moved",
            axum::routing::get(move || {
                let to = same_host.clone();
                async move { axum::response::Redirect::temporary(&to) }
            }),
        )
        .route(
            "/away",
            axum::routing::get(move || {
                let to = away.clone();
                async move { axum::response::Redirect::temporary(&to) }
            }),
        )
        .route(
            "/huge",
            axum::routing::get(|| async { " ".repeat(2 * 1024 * 1024) }),
        );
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    base
}

#[tokio::test]
async fn the_engine_feed_follows_no_redirect_to_another_host_and_reads_no_huge_body() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path(), &write_fleet(dir.path(), "f.toml", FLEET)).await;
    let other = feeds("127.0.0.2", None).await;
    let base = feeds("127.0.0.1", Some(format!("{other}/feed"))).await;
    let check = |path: &str| {
        set_config(&server, &format!("EngineUpdateFeedUrl={base}{path}"));
        async {
            let answer = admin_post(&server, "/api/engine/updatecheck", json!({})).await;
            assert_eq!(answer.status(), 200);
            answer.json::<app::api::EngineStatus>().await.unwrap()
        }
    };
    let away = check("/away").await;
    assert!(!away.update_available);
    let error = away.last_error.unwrap_or_default();
    assert!(error.contains("307"), "{error}");
    let huge = check("/huge").await;
    let error = huge.last_error.unwrap_or_default();
    assert!(error.contains("larger than 1024 KiB"), "{error}");
    // A redirect within the feed's own host is followed.
    let moved = check("/moved").await;
    assert_eq!(
        moved.available_version.as_deref(),
        Some("99.0.0"),
        "{moved:?}"
    );
}

#[tokio::test]
async fn retention_deletes_old_events_ended_jobs_and_expired_tokens_when_the_server_starts() {
    let dir = tempfile::tempdir().unwrap();
    let fleet = write_fleet(dir.path(), "f.toml", TWO_HOSTS);
    let server = Server::start(dir.path(), &fleet).await;
    let hosts = ids_by_name(&server, "/api/hosts").await;
    let job = start_job(
        &server,
        &format!("/api/hosts/{}/upgradecheck", hosts["h1"]),
        json!({}),
    )
    .await;
    wait_job(&server, &job).await;
    let token = token_for(&server, "admin", ADMIN_PASSWORD).await;
    let before: Vec<app::api::Event> = admin_get(&server, "/api/events?per_page=500").await;
    assert!(!before.is_empty());
    assert!(server.terminate().success());

    // A year passes for everything written so far (the database's clock, not the test's).
    let db = database(dir.path()).await;
    for statement in [
        "UPDATE events SET time = '2025-01-01T00:00:00.000Z'",
        "UPDATE jobs SET ended_at = '2025-01-01T00:00:00.000Z' WHERE ended_at IS NOT NULL",
        "UPDATE api_tokens SET expires_at = '2025-01-02T00:00:00.000Z'",
    ] {
        sqlx::query(statement).execute(&db).await.unwrap();
    }
    db.close().await;

    let server = Server::start(dir.path(), &fleet).await;
    let after: Vec<app::api::Event> = admin_get(&server, "/api/events?per_page=500").await;
    let old: Vec<i64> = before.iter().map(|e| e.id).collect();
    assert!(after.iter().all(|e| !old.contains(&e.id)), "{after:?}");
    let pruned = after
        .iter()
        .find(|e| e.code == "retention_pruned")
        .expect("the prune says what it deleted");
    assert_eq!(pruned.user.as_deref(), Some("system"));
    assert!(
        pruned
            .message
            .contains(&format!("Retention deleted {} events", before.len())),
        "{}",
        pruned.message
    );
    let gone = client()
        .get(server.url(&format!("/api/jobs/{job}")))
        .basic_auth("admin", Some(ADMIN_PASSWORD))
        .send()
        .await
        .unwrap();
    assert_eq!(gone.status(), 404);
    let expired = client()
        .get(server.url("/api/hosts"))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    assert_eq!(expired.status(), 401);
}
