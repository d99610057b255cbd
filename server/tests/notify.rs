//! Email notifications reach a real SMTP server on loopback: Python's aiosmtpd, installed by
//! `.ci/install` and found through `UPLIFT_SMTPD_PYTHON`.

mod common;

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::*;
use serde_json::json;

/// aiosmtpd's debugging server: it prints every mail it gets to its stdout.
struct Smtpd {
    child: Child,
    port: u16,
    printed: Arc<Mutex<String>>,
}

impl Smtpd {
    fn start() -> Smtpd {
        let python = std::env::var("UPLIFT_SMTPD_PYTHON")
            .expect("UPLIFT_SMTPD_PYTHON names the Python with aiosmtpd (.ci/install, .ci/env)");
        let port = free_port();
        let mut child = Command::new(&python)
            .args(["-m", "aiosmtpd", "-n", "-l", &format!("127.0.0.1:{port}")])
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("{python} -m aiosmtpd: {e}"));
        let printed = Arc::new(Mutex::new(String::new()));
        let out = child.stdout.take().expect("stdout");
        let sink = printed.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(out).lines().map_while(Result::ok) {
                let mut text = sink.lock().unwrap();
                text.push_str(&line);
                text.push('\n');
            }
        });
        // Wait until it accepts connections.
        let deadline = Instant::now() + Duration::from_secs(20);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(Instant::now() < deadline, "aiosmtpd did not start");
            std::thread::sleep(Duration::from_millis(100));
        }
        Smtpd {
            child,
            port,
            printed,
        }
    }
}

impl Drop for Smtpd {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[tokio::test]
async fn an_email_subscription_gets_the_engine_update_by_mail() {
    let smtpd = Smtpd::start();
    let dir = tempfile::tempdir().unwrap();
    for setting in [
        "SmtpServer=127.0.0.1".to_string(),
        format!("SmtpPort={}", smtpd.port),
        "SmtpFrom=uplift@example.org".to_string(),
        // No check at start: the one below is the first to find 4.5.2.
        "EngineUpdateCheckIntervalInDays=0".to_string(),
    ] {
        let set = run(uplift(dir.path()).args(["config", "set", &setting]));
        assert!(
            set.status.success(),
            "{}",
            String::from_utf8_lossy(&set.stderr)
        );
    }
    let fleet = format!("[engine]\nversion = \"4.5.0\"\navailable_version = \"4.5.2\"\n{FLEET}");
    let server = Server::start(dir.path(), &write_fleet(dir.path(), "f.toml", &fleet)).await;
    let subscribed = admin_post(
        &server,
        "/api/subscriptions",
        json!({"event": "engine_update_available", "method": "email", "address": "ops@example.com"}),
    )
    .await;
    assert_eq!(subscribed.status(), 201);
    let bad = admin_post(
        &server,
        "/api/subscriptions",
        json!({"event": "engine_update_available", "method": "email", "address": "not an address"}),
    )
    .await;
    assert_eq!(bad.status(), 400);
    let checked = admin_post(&server, "/api/engine/updatecheck", json!({})).await;
    assert_eq!(checked.status(), 200);

    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let deliveries = admin_json(&server, "/api/deliveries").await;
        if deliveries[0]["status"] == "delivered" {
            break;
        }
        assert!(Instant::now() < deadline, "no delivery: {deliveries}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let printed = smtpd.printed.lock().unwrap().clone();
    assert!(
        printed.contains("Subject: [Uplift] engine update available"),
        "{printed}"
    );
    assert!(printed.contains("ops@example.com"), "{printed}");
    assert!(printed.contains("4.5.2"), "{printed}");
}

#[tokio::test]
async fn a_failed_webhook_is_retried_and_survives_a_kill_9() {
    let dir = tempfile::tempdir().unwrap();
    let set = run(uplift(dir.path()).args(["config", "set", "EngineUpdateCheckIntervalInDays=0"]));
    assert!(set.status.success());
    let text = format!("[engine]\nversion = \"4.5.0\"\navailable_version = \"4.5.2\"\n{FLEET}");
    let fleet = write_fleet(dir.path(), "f.toml", &text);
    let server = Server::start(dir.path(), &fleet).await;
    let hook = Webhook::serve(500).await;
    hook.subscribe(&server, "engine_update_available").await;
    assert_eq!(
        admin_post(&server, "/api/engine/updatecheck", json!({}))
            .await
            .status(),
        200
    );
    // The first attempt fails (500) and is recorded as pending with its reason.
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let deliveries = admin_json(&server, "/api/deliveries").await;
        if deliveries[0]["attempts"] == 1 {
            assert_eq!(deliveries[0]["status"], "pending");
            assert!(deliveries[0]["last_error"]
                .as_str()
                .unwrap()
                .contains("500"));
            break;
        }
        assert!(Instant::now() < deadline, "{deliveries}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // The server dies before the retry; the receiver recovers; the restarted server delivers.
    server.kill();
    *hook.status.lock().unwrap() = 204;
    let server = Server::start(dir.path(), &fleet).await;
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let deliveries = admin_json(&server, "/api/deliveries").await;
        if deliveries[0]["status"] == "delivered" {
            assert_eq!(deliveries[0]["attempts"], 2);
            break;
        }
        assert!(Instant::now() < deadline, "{deliveries}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(hook.received().len(), 2);
}
