//! Issue 17, brute force and tokens: every door that checks a password is throttled per user
//! name and per client address (429 with `Retry-After`), every failure is an event naming the
//! name, the address and the door, and tokens can be revoked.

mod common;

use std::time::Duration;

use app::api::Event;
use common::*;
use serde_json::json;

/// The events whose code is `code`, newest first.
async fn events(server: &Server, code: &str) -> Vec<Event> {
    admin_get::<Vec<Event>>(server, "/api/events?per_page=500")
        .await
        .into_iter()
        .filter(|e| e.code == code)
        .collect()
}

async fn token_attempt(server: &Server, user: &str, password: &str) -> reqwest::Response {
    client()
        .post(server.url("/api/tokens"))
        .json(&json!({"username": user, "password": password}))
        .send()
        .await
        .expect("request")
}

fn retry_after(response: &reqwest::Response) -> u64 {
    response
        .headers()
        .get("retry-after")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse().ok())
        .expect("a Retry-After header of seconds")
}

#[tokio::test]
async fn each_door_is_throttled_per_user_name_and_every_failure_is_an_event() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path(), &write_fleet(dir.path(), "f.toml", FLEET)).await;
    add_viewer(dir.path());
    // The admin's script signs in with Basic before anyone guesses (see the end).
    assert_eq!(admin_json(&server, "/api").await["product"], "Uplift");

    // POST /api/tokens: five wrong passwords are plain 401s; the sixth locks the name.
    for _ in 0..6 {
        assert_eq!(
            token_attempt(&server, "v", "wrong-password").await.status(),
            401
        );
    }
    let locked = token_attempt(&server, "v", "viewer-password").await;
    assert_eq!(locked.status(), 429, "even the right password waits");
    assert!((1..=2).contains(&retry_after(&locked)));
    let message = refusal(locked, 429).await;
    assert!(message.contains("Too many failed sign-ins"), "{message}");
    // The lock ends, and the right password works again.
    tokio::time::sleep(Duration::from_millis(2100)).await;
    assert_eq!(
        token_attempt(&server, "v", "viewer-password")
            .await
            .status(),
        201
    );

    // HTTP Basic on any path.
    for _ in 0..6 {
        let wrong = client()
            .get(server.url("/api/hosts"))
            .basic_auth("nobody", Some("guess"))
            .send()
            .await
            .unwrap();
        assert_eq!(wrong.status(), 401);
    }
    let locked = client()
        .get(server.url("/api/hosts"))
        .basic_auth("nobody", Some("guess"))
        .send()
        .await
        .unwrap();
    assert_eq!(locked.status(), 429);
    assert!(retry_after(&locked) >= 1);

    // The portal's form answers with a page that says so.
    let form = |password: &'static str| {
        client()
            .post(server.url("/login"))
            .form(&[("username", "admin"), ("password", password)])
            .send()
    };
    for _ in 0..6 {
        assert_eq!(form("not-the-password").await.unwrap().status(), 303);
    }
    let locked = form("not-the-password").await.unwrap();
    assert_eq!(locked.status(), 429);
    assert!(retry_after(&locked) >= 1);
    let page = locked.text().await.unwrap();
    assert!(page.contains("Too many failed sign-ins"), "{page}");
    // A script whose Basic credentials were checked before the lock goes on working: the
    // lock is on guessing, not on the account's use.
    assert_eq!(admin_json(&server, "/api").await["product"], "Uplift");

    // Every failure is an event with the name, the address and the door.
    let failed = events(&server, "login_failed").await;
    assert_eq!(failed.len(), 18, "{failed:?}");
    for (door, user) in [("token", "v"), ("basic", "nobody"), ("portal", "admin")] {
        let of_door: Vec<&Event> = failed
            .iter()
            .filter(|e| e.message.contains(&format!("({door})")))
            .collect();
        assert_eq!(of_door.len(), 6, "{door}");
        for event in of_door {
            assert_eq!(event.user.as_deref(), Some(user));
            assert!(event.message.contains("127.0.0.1"), "{}", event.message);
        }
    }
    assert!(failed[0]
        .message
        .contains("Further sign-ins are refused for the next 1 s."));
}

#[tokio::test]
async fn an_address_that_guesses_many_names_is_locked_out() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path(), &write_fleet(dir.path(), "f.toml", FLEET)).await;
    // Warm the admin's Basic credentials, as a script that runs all day would.
    assert_eq!(admin_json(&server, "/api").await["product"], "Uplift");
    for i in 0..21 {
        let status = token_attempt(&server, &format!("user{i}"), "guess")
            .await
            .status();
        assert_eq!(status, 401, "attempt {i}");
    }
    // A 22nd name from the same address waits, whatever the name.
    let locked = token_attempt(&server, "admin", ADMIN_PASSWORD).await;
    assert_eq!(locked.status(), 429);
    assert!(retry_after(&locked) >= 1);
}

#[tokio::test]
async fn a_token_is_revoked_by_its_holder_and_all_of_a_users_by_an_admin() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path(), &write_fleet(dir.path(), "f.toml", FLEET)).await;
    add_viewer(dir.path());
    let token = || token_for(&server, "v", "viewer-password");
    let with = |token: String, method: reqwest::Method, path: &str| {
        client()
            .request(method, server.url(path))
            .bearer_auth(token)
            .send()
    };

    let first = token().await;
    assert_eq!(
        with(first.clone(), reqwest::Method::GET, "/api/hosts")
            .await
            .unwrap()
            .status(),
        200
    );
    let revoked = with(
        first.clone(),
        reqwest::Method::DELETE,
        "/api/tokens/current",
    )
    .await
    .unwrap();
    assert_eq!(revoked.status(), 204);
    assert_eq!(
        with(first, reqwest::Method::GET, "/api/hosts")
            .await
            .unwrap()
            .status(),
        401
    );

    // Without a token there is no current token to end.
    let basic = client()
        .delete(server.url("/api/tokens/current"))
        .basic_auth("v", Some("viewer-password"))
        .send()
        .await
        .unwrap();
    assert!(refusal(basic, 400).await.contains("no current token"));

    // An admin ends all of a user's tokens; a viewer may not.
    // Both are used first, so the server has them cached: the revocation must still hold.
    let (second, third) = (token().await, token().await);
    for token in [&second, &third] {
        let used = with(token.clone(), reqwest::Method::GET, "/api/hosts");
        assert_eq!(used.await.unwrap().status(), 200);
    }
    let by_viewer = client()
        .delete(server.url("/api/users/v/tokens"))
        .basic_auth("v", Some("viewer-password"))
        .send()
        .await
        .unwrap();
    assert_eq!(by_viewer.status(), 403);
    let by_admin = client()
        .delete(server.url("/api/users/v/tokens"))
        .basic_auth("admin", Some(ADMIN_PASSWORD))
        .send()
        .await
        .unwrap();
    assert_eq!(by_admin.status(), 200);
    let ended: serde_json::Value = by_admin.json().await.unwrap();
    assert_eq!(ended["revoked"], 2);
    for token in [second, third] {
        assert_eq!(
            with(token, reqwest::Method::GET, "/api/hosts")
                .await
                .unwrap()
                .status(),
            401
        );
    }
    let nobody = client()
        .delete(server.url("/api/users/nobody/tokens"))
        .basic_auth("admin", Some(ADMIN_PASSWORD))
        .send()
        .await
        .unwrap();
    assert_eq!(nobody.status(), 404);

    // Each is an event with its user; the CLI does the same.
    assert_eq!(
        events(&server, "token_revoked").await[0].user.as_deref(),
        Some("v")
    );
    assert_eq!(
        events(&server, "tokens_revoked").await[0].user.as_deref(),
        Some("admin")
    );
    let fourth = token().await;
    let used = with(fourth.clone(), reqwest::Method::GET, "/api/hosts");
    assert_eq!(used.await.unwrap().status(), 200);
    let cli = run(uplift(dir.path()).args(["user", "revoke-tokens", "v"]));
    assert!(cli.status.success());
    assert_eq!(
        String::from_utf8_lossy(&cli.stdout).trim(),
        "Revoked 1 API tokens of v."
    );
    // Another process's revocation reaches the server's token cache through the change log's
    // one reader (docs/security.md says within 300 ms; a loaded CI machine gets 5 s here).
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    loop {
        let status = with(fourth.clone(), reqwest::Method::GET, "/api/hosts")
            .await
            .unwrap()
            .status();
        if status == 401 {
            break;
        }
        assert_eq!(status, 200);
        assert!(
            std::time::Instant::now() < deadline,
            "a token revoked by the CLI still works"
        );
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
}

/// Found by schemathesis: revoking a user's tokens read the user and then deleted in one
/// transaction, which SQLite refuses ("database is locked", 500) when another request writes
/// in between. Four clients revoke and sign in at once; no answer may be a failure.
#[tokio::test]
async fn revoking_a_users_tokens_while_others_get_tokens_never_fails() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path(), &write_fleet(dir.path(), "f.toml", FLEET)).await;
    let clients = (0..4).map(|_| async {
        let mut statuses = Vec::new();
        for _ in 0..20 {
            let revoked = client()
                .delete(server.url("/api/users/admin/tokens"))
                .basic_auth("admin", Some(ADMIN_PASSWORD))
                .send()
                .await
                .unwrap();
            statuses.push(revoked.status().as_u16());
            statuses.push(
                token_attempt(&server, "admin", ADMIN_PASSWORD)
                    .await
                    .status()
                    .as_u16(),
            );
        }
        statuses
    });
    let statuses: Vec<u16> = futures::future::join_all(clients).await.concat();
    assert_eq!(statuses.len(), 160);
    assert!(
        statuses.iter().all(|s| [200, 201].contains(s)),
        "{statuses:?}"
    );
}
