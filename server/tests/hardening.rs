//! Issue 17, the browser's side: security headers on every answer (the pages' CSP with their
//! script nonce), cross-site writes refused by fetch metadata, an allow-list of host names,
//! Secure and sliding sessions, HTTPS with `--tls-cert`, and owner-only files.

mod common;

use std::process::Stdio;
use std::time::{Duration, Instant};

use common::*;

fn header<'a>(response: &'a reqwest::Response, name: &str) -> &'a str {
    response
        .headers()
        .get(name)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_else(|| panic!("no {name} header on {}", response.url()))
}

#[tokio::test]
async fn every_answer_carries_the_security_headers_and_pages_their_own_nonce() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path(), &write_fleet(dir.path(), "f.toml", FLEET)).await;
    for path in [
        "/login",
        "/api",
        "/api/hosts",
        "/api/nowhere",
        "/favicon.svg",
        "/no-such-page",
    ] {
        let response = client().get(server.url(path)).send().await.unwrap();
        assert_eq!(
            header(&response, "x-content-type-options"),
            "nosniff",
            "{path}"
        );
        assert_eq!(
            header(&response, "referrer-policy"),
            "same-origin",
            "{path}"
        );
        assert_eq!(header(&response, "x-frame-options"), "DENY", "{path}");
        assert!(
            header(&response, "content-security-policy").contains("frame-ancestors 'none'"),
            "{path}"
        );
        assert!(
            response
                .headers()
                .get("strict-transport-security")
                .is_none(),
            "plain HTTP: {path}"
        );
    }

    // A page's policy allows its own inline scripts by their nonce, and nothing inline else.
    let page = client().get(server.url("/login")).send().await.unwrap();
    let policy = header(&page, "content-security-policy").to_string();
    let nonce = policy
        .split("'nonce-")
        .nth(1)
        .and_then(|rest| rest.split('\'').next())
        .expect("a nonce in the page's policy")
        .to_string();
    assert!(!policy.contains("unsafe-inline"), "{policy}");
    assert!(policy.contains("'wasm-unsafe-eval'"), "{policy}");
    let html = page.text().await.unwrap();
    let scripts = html.matches("<script").count();
    assert!(scripts >= 1, "{html}");
    assert_eq!(
        html.matches(&format!("nonce=\"{nonce}\"")).count(),
        scripts,
        "{html}"
    );
    // Each page gets a new nonce.
    let again = client().get(server.url("/login")).send().await.unwrap();
    assert!(!header(&again, "content-security-policy").contains(&nonce));
}

#[tokio::test]
async fn a_cross_site_write_is_refused_by_origin_or_fetch_metadata() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path(), &write_fleet(dir.path(), "f.toml", FLEET)).await;
    let write = |site: Option<&'static str>, origin: Option<&'static str>| {
        let mut request = client()
            .post(server.url("/api/engine/updatecheck"))
            .basic_auth("admin", Some(ADMIN_PASSWORD));
        if let Some(site) = site {
            request = request.header("sec-fetch-site", site);
        }
        if let Some(origin) = origin {
            request = request.header("origin", origin);
        }
        request.send()
    };
    for (site, origin) in [
        (Some("cross-site"), None),
        (Some("same-site"), None),
        (None, Some("http://evil.example")),
    ] {
        let refused = write(site, origin).await.unwrap();
        assert!(
            refusal(refused, 403).await.contains("another site"),
            "{site:?} {origin:?}"
        );
    }
    // The portal's own requests, and scripts (no browser headers), pass.
    assert_eq!(
        write(Some("same-origin"), None).await.unwrap().status(),
        200
    );
    assert_eq!(write(None, None).await.unwrap().status(), 200);
    // The sign-out form too: a cross-site page cannot sign the user out.
    let logout = client()
        .post(server.url("/logout"))
        .header("sec-fetch-site", "cross-site")
        .send()
        .await
        .unwrap();
    assert_eq!(logout.status(), 403);
}

#[tokio::test]
async fn only_the_allowed_host_names_are_answered() {
    let dir = tempfile::tempdir().unwrap();
    let fleet = write_fleet(dir.path(), "f.toml", FLEET);
    let server = Server::start_with(
        dir.path(),
        &fleet,
        &[("UPLIFT_ALLOWED_HOSTS", "127.0.0.1,uplift.test")],
    )
    .await;
    let with_host =
        |host: &'static str| client().get(server.url("/api")).header("host", host).send();
    assert_eq!(with_host("uplift.test:3000").await.unwrap().status(), 200);
    let rebound = with_host("evil.example").await.unwrap();
    assert_eq!(rebound.status(), 421);
    let error: serde_json::Value = rebound.json().await.unwrap();
    assert_eq!(error["error"]["code"], "unknown_host");
}

#[tokio::test]
async fn a_session_slides_with_use_ends_when_idle_and_is_secure_when_told() {
    let dir = tempfile::tempdir().unwrap();
    let fleet = write_fleet(dir.path(), "f.toml", FLEET);
    let server = Server::start_with(
        dir.path(),
        &fleet,
        &[
            ("UPLIFT_SESSION_IDLE_SECONDS", "6"),
            ("UPLIFT_SECURE_COOKIES", "true"),
        ],
    )
    .await;
    let login = client()
        .post(server.url("/login"))
        .form(&[("username", "admin"), ("password", ADMIN_PASSWORD)])
        .send()
        .await
        .unwrap();
    let set_cookie = header(&login, "set-cookie").to_string();
    assert!(set_cookie.contains("Secure"), "{set_cookie}");
    assert!(set_cookie.contains("HttpOnly"), "{set_cookie}");
    assert!(set_cookie.contains("SameSite=Lax"), "{set_cookie}");
    let cookie = set_cookie.split(';').next().unwrap().to_string();
    let hosts = |cookie: String| {
        client()
            .get(server.url("/api/hosts"))
            .header("cookie", cookie)
            .send()
    };

    // Used every two seconds for twelve: twice the idle time, and still signed in.
    let started = Instant::now();
    while started.elapsed() < Duration::from_secs(12) {
        assert_eq!(
            hosts(cookie.clone()).await.unwrap().status(),
            200,
            "after {:?}",
            started.elapsed()
        );
        tokio::time::sleep(Duration::from_secs(2)).await;
    }
    // Left alone longer than the idle time, it ends.
    tokio::time::sleep(Duration::from_secs(7)).await;
    assert_eq!(hosts(cookie).await.unwrap().status(), 401);
}

#[cfg(unix)]
#[tokio::test]
async fn the_data_dir_and_the_database_are_readable_by_their_owner_only() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("fresh");
    let fleet = write_fleet(dir.path(), "f.toml", FLEET);
    let added = run(uplift(&data)
        .args(["user", "add", "ops", "--role", "viewer"])
        .env("UPLIFT_USER_PASSWORD", "ops-password"));
    assert!(added.status.success());
    let _server = Server::start(&data, &fleet).await;
    let mode =
        |path: &std::path::Path| std::fs::metadata(path).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(&data), 0o700);
    for entry in std::fs::read_dir(&data).unwrap() {
        let path = entry.unwrap().path();
        if path
            .file_name()
            .unwrap()
            .to_string_lossy()
            .starts_with("uplift.db")
        {
            assert_eq!(mode(&path), 0o600, "{}", path.display());
        }
    }
}

#[tokio::test]
async fn uplift_serves_https_with_a_certificate_and_key() {
    let dir = tempfile::tempdir().unwrap();
    let fleet = write_fleet(dir.path(), "f.toml", FLEET);
    let made = rcgen::generate_simple_self_signed(vec!["localhost".to_string()]).unwrap();
    let cert = dir.path().join("cert.pem");
    let key = dir.path().join("key.pem");
    std::fs::write(&cert, made.cert.pem()).unwrap();
    std::fs::write(&key, made.key_pair.serialize_pem()).unwrap();

    let log = dir.path().join("tls.log");
    let mut child = uplift(dir.path())
        .args(["serve", "--addr", "127.0.0.1:0", "--fleet"])
        .arg(&fleet)
        .arg("--tls-cert")
        .arg(&cert)
        .arg("--tls-key")
        .arg(&key)
        .env("UPLIFT_ADMIN_PASSWORD", ADMIN_PASSWORD)
        .env("UPLIFT_LOG", "info")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&log).unwrap())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    let port: u16 = loop {
        let text = std::fs::read_to_string(&log).unwrap_or_default();
        if let Some(base) = listening_on(&text) {
            break base.rsplit(':').next().unwrap().parse().unwrap();
        }
        assert!(child.try_wait().unwrap().is_none(), "{text}");
        assert!(Instant::now() < deadline, "no listening line: {text}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    let https = reqwest::Client::builder()
        .add_root_certificate(reqwest::Certificate::from_pem(made.cert.pem().as_bytes()).unwrap())
        .resolve("localhost", ([127, 0, 0, 1], port).into())
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let base = format!("https://localhost:{port}");
    let about = loop {
        if let Ok(response) = https.get(format!("{base}/api")).send().await {
            break response;
        }
        assert!(
            child.try_wait().unwrap().is_none(),
            "{}",
            std::fs::read_to_string(&log).unwrap()
        );
        assert!(Instant::now() < deadline, "no HTTPS answer");
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert_eq!(about.status(), 200);
    assert!(header(&about, "strict-transport-security").starts_with("max-age="));
    let login = https
        .post(format!("{base}/login"))
        .form(&[("username", "admin"), ("password", ADMIN_PASSWORD)])
        .send()
        .await
        .unwrap();
    assert_eq!(login.status(), 303);
    assert!(header(&login, "set-cookie").contains("Secure"));
    // Plain HTTP on the same port is not served.
    let plain = client()
        .get(format!("http://127.0.0.1:{port}/api"))
        .send()
        .await;
    assert!(!matches!(plain, Ok(r) if r.status().is_success()));
    let _ = child.kill();
    let _ = child.wait();
}
