//! Starts the real `uplift` binary on a free port with a temporary data dir and a fleet file
//! written by the test, and talks to it over HTTP like any client.
#![allow(dead_code)] // each test file uses its own part of these helpers

use std::collections::HashMap;

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use uplift::fleet::appliance::image_sha1;

pub const ADMIN_PASSWORD: &str = "test-admin-password";

/// A small fleet with every kind of thing the inventory shows.
pub const FLEET: &str = r#"
[simulation]
speed = 50.0

[repository]
os = "RHEL 9.4"
supported_cluster_levels = ["4.7", "4.8"]
packages = { vdsm = "4.50.3" }

[[cluster]]
name = "alpha"
compatibility_version = "4.7"
scheduling_policy = "evenly_distributed"

[[cluster]]
name = "beta"
compatibility_version = "4.6"

[[host]]
name = "a1"
cluster = "alpha"
address = "10.1.0.1"
os = "RHEL 8.9"
memory_gb = 64
supported_cluster_levels = ["4.6", "4.7"]
packages = { vdsm = "4.50.2" }
hosted_engine = { configured = true, active = true, score = 3400 }

[[host]]
name = "a2"
cluster = "alpha"
address = "10.1.0.2"
status = "maintenance"
os = "RHEL 9.4"
memory_gb = 32

[[host]]
name = "b1"
cluster = "beta"
address = "10.2.0.1"
status = "non_operational"
os = "RHEL 9.2"
memory_gb = 128

[[vm]]
name = "web"
host = "a1"
memory_gb = 8
migration = "migratable"

[[vm]]
name = "db"
host = "a1"
memory_gb = 16
migration = "pinned"
cpu_pinning = true

[[vm]]
name = "batch"
host = "b1"
status = "paused"
memory_gb = 4
migration = "user_migratable"

[[vm]]
name = "spare"
memory_gb = 2
"#;

/// The start of a fleet file: `speed`, migrations at `gbps`, a repository with RHEL 9.4, vdsm
/// 4.50.3 and levels 4.7 and 4.8, and the cluster "c" (4.7, evenly_distributed, 10 % headroom).
pub fn cluster_c(speed: f64, gbps: f64) -> String {
    format!(
        r#"[simulation]
speed = {speed}
migration_gbps = {gbps}

[repository]
os = "RHEL 9.4"
supported_cluster_levels = ["4.7", "4.8"]
packages = {{ vdsm = "4.50.3" }}

[[cluster]]
name = "c"
compatibility_version = "4.7"
scheduling_policy = "evenly_distributed"
memory_headroom_percent = 10
"#
    )
}

/// Cluster "c" at `speed`: e1, e2 and e3 run hosted-engine HA (the engine VM, 8 GiB and
/// highly available, on e1), n1 and n2 do not; two 4 GiB VMs on each host; upgrades take 5 s
/// and reboots 2 s before `speed`.
pub fn hosted_engine_fleet(speed: f64) -> String {
    let mut text = cluster_c(speed, 20.0);
    for (name, he) in [
        ("e1", true),
        ("e2", true),
        ("e3", true),
        ("n1", false),
        ("n2", false),
    ] {
        let ha = if he {
            "hosted_engine = { configured = true, active = true, score = 3400 }\n"
        } else {
            ""
        };
        text.push_str(&format!(
            "\n[[host]]\nname = \"{name}\"\ncluster = \"c\"\nos = \"RHEL 8.9\"\nmemory_gb = 64\n\
             packages = {{ vdsm = \"4.50.2\" }}\nupgrade_seconds = 5\nreboot_seconds = 2\n{ha}"
        ));
        for v in 0..2 {
            text.push_str(&format!(
                "\n[[vm]]\nname = \"{name}-vm{v}\"\nhost = \"{name}\"\nmemory_gb = 4\n"
            ));
        }
    }
    text.push_str(
        "\n[[vm]]\nname = \"HostedEngine\"\nhost = \"e1\"\nmemory_gb = 8\nhighly_available = true\nhosted_engine = true\n",
    );
    text
}

/// Checks every host of the first cluster for updates (the job must succeed); its id.
pub async fn checked_first_cluster(server: &Server) -> String {
    let cluster = admin_get::<Vec<app::api::Cluster>>(server, "/api/clusters").await[0]
        .id
        .clone();
    let check = run_job(
        server,
        &format!("/api/clusters/{cluster}/upgradecheck"),
        serde_json::json!({}),
    )
    .await;
    assert_eq!(check["status"], "succeeded", "{check}");
    cluster
}

/// One `[[hosted_engine.catalog]]` entry: `version`, its size, whether its sha1 is right, its `fail`, its levels.
fn catalog_image(
    version: &str,
    size_gb: u64,
    right_sha: bool,
    fail: &str,
    levels: &[&str],
) -> String {
    let sha1 = if right_sha {
        image_sha1(version, "EL 9")
    } else {
        "0".repeat(40)
    };
    let levels: Vec<String> = levels.iter().map(|l| format!("\"{l}\"")).collect();
    format!(
        "\n[[hosted_engine.catalog]]\nversion = \"{version}\"\nos = \"EL 9\"\nsize_gb = {size_gb}\nsha1 = \"{sha1}\"\nfail = \"{fail}\"\ncluster_levels = [{}]\n",
        levels.join(", ")
    )
}

/// Cluster "he" at `speed` with e1 (the SPM, running the engine VM), e2 and e3, all
/// hosted-engine hosts; the engine at 4.5.0 (4.5.2 offered); a 200 GiB storage domain with a
/// 60 GiB engine disk; 4.5.2 a good image, 4.5.3 a wrong sha1, 4.6.0 for level 4.8 only, 4.5.9
/// too large, and 4.5.10 to 4.5.14 each failing one step.
pub fn appliance_fleet(speed: f64) -> String {
    let mut fleet = format!(
        r#"[simulation]
speed = {speed}

[engine]
version = "4.5.0"
available_version = "4.5.2"

[repository]
os = "RHEL 9.4"
supported_cluster_levels = ["4.7", "4.8"]

[[cluster]]
name = "he"
compatibility_version = "4.7"
scheduling_policy = "evenly_distributed"
"#
    );
    for (i, name) in ["e1", "e2", "e3"].iter().enumerate() {
        let spm = if i == 0 { "spm = true\n" } else { "" };
        fleet.push_str(&format!(
            "\n[[host]]\nname = \"{name}\"\ncluster = \"he\"\nos = \"RHEL 9.4\"\nmemory_gb = 64\n{spm}hosted_engine = {{ configured = true, active = true, score = 3400 }}\n"
        ));
    }
    fleet.push_str(
        r#"
[[vm]]
name = "HostedEngine"
host = "e1"
memory_gb = 16
hosted_engine = true

[hosted_engine]
cluster = "he"
storage_total_gb = 200
engine_disk_gb = 60
appliance = { os = "EL 8", version = "4.5.0" }
"#,
    );
    fleet.push_str(&catalog_image("4.5.2", 55, true, "none", &["4.7", "4.8"]));
    fleet.push_str(&catalog_image("4.5.3", 55, false, "none", &[]));
    fleet.push_str(&catalog_image("4.6.0", 55, true, "none", &["4.8"]));
    fleet.push_str(&catalog_image("4.5.9", 150, true, "none", &[]));
    for (version, fail) in [
        ("4.5.10", "backup_disk"),
        ("4.5.11", "copy"),
        ("4.5.12", "deploy"),
        ("4.5.13", "restore"),
        ("4.5.14", "health"),
    ] {
        fleet.push_str(&catalog_image(version, 55, true, fail, &[]));
    }
    fleet
}

pub fn uplift_bin() -> &'static str {
    env!("CARGO_BIN_EXE_uplift")
}

/// `uplift` with a clean environment for Uplift's own variables.
pub fn uplift(data_dir: &Path) -> Command {
    let mut cmd = Command::new(uplift_bin());
    for var in [
        "UPLIFT_ADDR",
        "UPLIFT_DB",
        "UPLIFT_FLEET",
        "UPLIFT_USER_PASSWORD",
        "UPLIFT_ADMIN_PASSWORD",
    ] {
        cmd.env_remove(var);
    }
    cmd.env("UPLIFT_DATA_DIR", data_dir)
        .env("UPLIFT_LOG", "warn");
    if let Some(url) = postgres_url(data_dir) {
        cmd.env("UPLIFT_DB", url);
    }
    cmd
}

/// Whether this run tests on PostgreSQL (`UPLIFT_TEST_DB=postgres`, set by `.ci/test` for its
/// second pass) instead of SQLite.
pub fn on_postgres() -> bool {
    FORCED_POSTGRES.load(std::sync::atomic::Ordering::SeqCst)
        || std::env::var("UPLIFT_TEST_DB").as_deref() == Ok("postgres")
}

static FORCED_POSTGRES: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// For the tests that need PostgreSQL whatever the pass (several instances on one database):
/// from now on, this test process's servers and CLI calls use PostgreSQL.
pub fn force_postgres() {
    FORCED_POSTGRES.store(true, std::sync::atomic::Ordering::SeqCst);
}

/// On PostgreSQL, the database of the test using `data_dir`: one of its own, created when
/// first asked for (`.ci/test` drops them all afterwards: `uplift_t_*`). `None` on SQLite,
/// where the database is `uplift.db` in the data directory.
pub fn postgres_url(data_dir: &Path) -> Option<String> {
    use std::hash::{Hash, Hasher};
    if !on_postgres() {
        return None;
    }
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    data_dir.hash(&mut hasher);
    Some(postgres_database(&format!("{:016x}", hasher.finish())))
}

/// A PostgreSQL database for this test process named after `key` (made once; `.ci/test`
/// drops every `uplift_t_*` afterwards), on `UPLIFT_TEST_POSTGRES` or the local server.
pub fn postgres_database(key: &str) -> String {
    static CREATED: std::sync::Mutex<Vec<String>> = std::sync::Mutex::new(Vec::new());
    let server = std::env::var("UPLIFT_TEST_POSTGRES")
        .unwrap_or_else(|_| "postgres://root@127.0.0.1:5432".to_string());
    let name = format!("uplift_t_{}_{key}", std::process::id());
    let mut created = CREATED.lock().unwrap_or_else(|e| e.into_inner());
    if !created.contains(&name) {
        let out = Command::new("psql")
            .args(["-X", "-q", "-d", &format!("{server}/postgres"), "-c"])
            .arg(format!("CREATE DATABASE {name}"))
            .output()
            .expect("psql runs");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            out.status.success() || stderr.contains("already exists"),
            "CREATE DATABASE {name}: {stderr}"
        );
        created.push(name.clone());
    }
    format!("{server}/{name}")
}

/// On PostgreSQL, drops the test's database and makes it again, empty (what removing the
/// data dir is on SQLite); nothing on SQLite.
pub fn wipe_postgres(data_dir: &Path) {
    let Some(url) = postgres_url(data_dir) else {
        return;
    };
    let (server, name) = url.rsplit_once('/').expect("a database URL");
    for statement in [
        format!("DROP DATABASE {name} WITH (FORCE)"),
        format!("CREATE DATABASE {name}"),
    ] {
        let out = Command::new("psql")
            .args([
                "-X",
                "-q",
                "-d",
                &format!("{server}/postgres"),
                "-c",
                &statement,
            ])
            .output()
            .expect("psql runs");
        assert!(
            out.status.success(),
            "{statement}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

/// The test's database, whichever it is, for a test that sets up a state no API makes.
pub async fn database(data_dir: &Path) -> sqlx::AnyPool {
    let _ = sqlx::any::install_drivers(&[sqlx::sqlite::any::DRIVER, sqlx::postgres::any::DRIVER]);
    let url = postgres_url(data_dir)
        .unwrap_or_else(|| format!("sqlite://{}/uplift.db", data_dir.display()));
    sqlx::any::AnyPoolOptions::new()
        .max_connections(1)
        .connect(&url)
        .await
        .expect("the test's database")
}

pub fn run(cmd: &mut Command) -> Output {
    cmd.stdin(Stdio::null()).output().expect("uplift runs")
}

/// `uplift fleet generate ARGS`, as text.
pub fn generated_fleet(data_dir: &Path, args: &[&str]) -> String {
    let out = run(uplift(data_dir).args(["fleet", "generate"]).args(args));
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("UTF-8 fleet")
}

pub fn write_fleet(dir: &Path, name: &str, text: &str) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, text).expect("write fleet");
    path
}

pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

/// Numbers the server logs of one test process.
static SERVER_LOGS: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

/// The base URL in a server log's "Uplift is listening on http://…" line.
pub fn listening_on(log: &str) -> Option<String> {
    let line = log
        .lines()
        .find(|l| l.contains("Uplift is listening on "))?;
    let rest = &line[line.find("Uplift is listening on ")? + "Uplift is listening on ".len()..];
    let end = rest
        .find(|c: char| c.is_whitespace() || c == '\u{1b}')
        .unwrap_or(rest.len());
    Some(rest[..end].to_string())
}

/// A running server.
pub struct Server {
    child: Child,
    pub base: String,
    pub data_dir: PathBuf,
    log: PathBuf,
}

impl Server {
    /// Starts `uplift serve` on `fleet` and waits until it answers. The periodic update check
    /// is turned off first, so the only checks are the ones a test starts (a test may turn it
    /// on again with `uplift config set`).
    pub async fn start(data_dir: &Path, fleet: &Path) -> Server {
        Server::start_with(data_dir, fleet, &[]).await
    }

    /// Like [`Server::start`], with extra environment variables (fault injection).
    pub async fn start_with(data_dir: &Path, fleet: &Path, env: &[(&str, &str)]) -> Server {
        Server::start_at(data_dir, fleet, env, "127.0.0.1").await
    }

    /// Like [`Server::start`], listening on `ip` (and reached there) instead of loopback.
    pub async fn start_at(data_dir: &Path, fleet: &Path, env: &[(&str, &str)], ip: &str) -> Server {
        let off = run(uplift(data_dir).args(["config", "set", "HostPackagesUpdateTimeInHours=0"]));
        assert!(
            off.status.success(),
            "{}",
            String::from_utf8_lossy(&off.stderr)
        );
        // Port 0: the server binds a port the system chooses and logs it, so no other test's
        // server can take the port between a lookup and the bind (and then answer for it).
        let log = data_dir.join(format!(
            "server-{}.log",
            SERVER_LOGS.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
        ));
        let child = uplift(data_dir)
            .args(["serve", "--addr", &format!("{ip}:0"), "--fleet"])
            .arg(fleet)
            .env("UPLIFT_ADMIN_PASSWORD", ADMIN_PASSWORD)
            .env(
                "UPLIFT_LOG",
                std::env::var("UPLIFT_TEST_SERVER_LOG").unwrap_or("info".into()),
            )
            .envs(env.iter().copied())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log).expect("log file"))
            .spawn()
            .expect("uplift serve starts");
        let mut server = Server {
            child,
            base: String::new(),
            data_dir: data_dir.to_path_buf(),
            log,
        };
        server.wait_ready().await;
        server
    }

    /// Waits until the server logs the address it listens on and answers there.
    async fn wait_ready(&mut self) {
        let deadline = Instant::now() + Duration::from_secs(60);
        let client = reqwest::Client::new();
        while Instant::now() < deadline {
            if let Ok(Some(status)) = self.child.try_wait() {
                panic!("uplift exited with {status}:\n{}", self.log());
            }
            if self.base.is_empty() {
                if let Some(base) = listening_on(&self.log()) {
                    self.base = base;
                }
            } else if let Ok(response) = client.get(format!("{}/api", self.base)).send().await {
                if response.status().is_success() {
                    return;
                }
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("uplift did not answer in time:\n{}", self.log());
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// Sends SIGTERM and waits for the exit status.
    pub fn terminate(mut self) -> std::process::ExitStatus {
        let pid = self.child.id().to_string();
        let sent = Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .expect("kill runs");
        assert!(sent.success());
        self.child.wait().expect("uplift exits")
    }

    /// Waits up to `within` for the server to exit by itself (an injected crash); its status.
    pub async fn wait_exit(&mut self, within: Duration) -> Option<std::process::ExitStatus> {
        let deadline = Instant::now() + within;
        while Instant::now() < deadline {
            if let Ok(Some(status)) = self.child.try_wait() {
                return Some(status);
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        None
    }

    /// Sends the signal (`STOP`, `CONT`, …) to the server.
    pub fn signal(&self, name: &str) {
        let sent = Command::new("kill")
            .arg(format!("-{name}"))
            .arg(self.child.id().to_string())
            .status()
            .expect("kill runs");
        assert!(sent.success(), "kill -{name}");
    }

    /// kill -9: no shutdown, no flushing beyond what the server already committed.
    pub fn kill(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// An HTTP client that follows no redirects, so tests see the server's own answers.
pub fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client")
}

pub async fn get_json(
    server: &Server,
    path: &str,
    user: &str,
    password: &str,
) -> serde_json::Value {
    let response = client()
        .get(server.url(path))
        .basic_auth(user, Some(password))
        .send()
        .await
        .expect("request");
    assert!(
        response.status().is_success(),
        "GET {path}: {}",
        response.status()
    );
    response.json().await.expect("json")
}

pub async fn admin_json(server: &Server, path: &str) -> serde_json::Value {
    get_json(server, path, "admin", ADMIN_PASSWORD).await
}

/// Logs in through the portal's form and returns the session cookie (`name=value`).
pub async fn portal_login(server: &Server, user: &str, password: &str) -> Option<String> {
    let response = client()
        .post(server.url("/login"))
        .form(&[("username", user), ("password", password)])
        .send()
        .await
        .expect("login");
    assert_eq!(response.status(), 303);
    response
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|c| c.starts_with("uplift_session="))
        .map(|c| c.split(';').next().unwrap_or_default().to_string())
}

/// Every host, by name, as the API types them.
pub async fn host_map(server: &Server) -> HashMap<String, app::api::Host> {
    admin_get::<Vec<app::api::Host>>(server, "/api/hosts")
        .await
        .into_iter()
        .map(|h| (h.name.clone(), h))
        .collect()
}

/// A bearer token for `user` from `POST /api/tokens`.
pub async fn token_for(server: &Server, user: &str, password: &str) -> String {
    let answer: serde_json::Value = client()
        .post(server.url("/api/tokens"))
        .json(&serde_json::json!({"username": user, "password": password}))
        .send()
        .await
        .expect("request")
        .json()
        .await
        .expect("json");
    answer["token"].as_str().expect("a token").to_string()
}

/// GET as `user`, read as an API type.
pub async fn get_as<T: serde::de::DeserializeOwned>(
    server: &Server,
    path: &str,
    user: &str,
    password: &str,
) -> T {
    client()
        .get(server.url(path))
        .basic_auth(user, Some(password))
        .send()
        .await
        .expect("request")
        .json()
        .await
        .expect("the API type")
}

/// GET as the admin, read as an API type.
pub async fn admin_get<T: serde::de::DeserializeOwned>(server: &Server, path: &str) -> T {
    let response = client()
        .get(server.url(path))
        .basic_auth("admin", Some(ADMIN_PASSWORD))
        .send()
        .await
        .expect("request");
    assert!(
        response.status().is_success(),
        "GET {path}: {}",
        response.status()
    );
    response.json().await.expect("an API type")
}

/// Where the simulator runs each VM (`uplift sim vms`): name -> (host name, status).
pub fn sim_vms(data_dir: &Path) -> HashMap<String, (Option<String>, String)> {
    let out = run(uplift(data_dir).args(["sim", "vms"]));
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|line| {
            let mut parts = line.split('\t');
            let (name, host, status) = (parts.next()?, parts.next()?, parts.next()?);
            let host = (host != "-").then(|| host.to_string());
            Some((name.to_string(), (host, status.to_string())))
        })
        .collect()
}

/// Adds the viewer `v` (password `viewer-password`) through the CLI.
pub fn add_viewer(data_dir: &Path) {
    let added = run(uplift(data_dir)
        .args(["user", "add", "v", "--role", "viewer"])
        .env("UPLIFT_USER_PASSWORD", "viewer-password"));
    assert!(
        added.status.success(),
        "{}",
        String::from_utf8_lossy(&added.stderr)
    );
}

/// Asserts that the events at `path` (an `/api/events` query) include every one of `codes`.
pub async fn assert_events(server: &Server, path: &str, codes: &[&str]) {
    let events = admin_json(server, path).await;
    let found: Vec<&str> = events
        .as_array()
        .expect("a list of events")
        .iter()
        .filter_map(|e| e["code"].as_str())
        .collect();
    for code in codes {
        assert!(found.contains(code), "{code} in {found:?}");
    }
}

/// Asserts the answer's status and returns its error message.
pub async fn refusal(response: reqwest::Response, status: u16) -> String {
    assert_eq!(response.status(), status);
    let body: serde_json::Value = response.json().await.expect("an error body");
    body["error"]["message"]
        .as_str()
        .expect("an error message")
        .to_string()
}

/// POST as `user`, with a JSON body.
pub async fn post_as(
    server: &Server,
    path: &str,
    user: &str,
    password: &str,
    body: serde_json::Value,
) -> reqwest::Response {
    send_as(client().post(server.url(path)), user, password, body).await
}

/// PUT as `user`, with a JSON body.
pub async fn put_as(
    server: &Server,
    path: &str,
    user: &str,
    password: &str,
    body: serde_json::Value,
) -> reqwest::Response {
    send_as(client().put(server.url(path)), user, password, body).await
}

async fn send_as(
    request: reqwest::RequestBuilder,
    user: &str,
    password: &str,
    body: serde_json::Value,
) -> reqwest::Response {
    request
        .basic_auth(user, Some(password))
        .json(&body)
        .send()
        .await
        .expect("request")
}

/// The ids of everything `path` lists, by name.
pub async fn ids_by_name(server: &Server, path: &str) -> HashMap<String, String> {
    admin_json(server, path)
        .await
        .as_array()
        .expect("a list")
        .iter()
        .map(|item| {
            (
                item["name"].as_str().expect("a name").to_string(),
                item["id"].as_str().expect("an id").to_string(),
            )
        })
        .collect()
}

/// POST as the admin, with a JSON body.
pub async fn admin_post(server: &Server, path: &str, body: serde_json::Value) -> reqwest::Response {
    post_as(server, path, "admin", ADMIN_PASSWORD, body).await
}

/// Starts a job (the answer must be 202) and returns its id.
pub async fn start_job(server: &Server, path: &str, body: serde_json::Value) -> String {
    let response = admin_post(server, path, body).await;
    assert_eq!(response.status(), 202, "{path}");
    let answer: serde_json::Value = response.json().await.expect("json");
    answer["job"]["id"].as_str().expect("a job id").to_string()
}

/// Waits (at most a minute, looking every 20 ms) until the job has ended; returns it.
pub async fn wait_job(server: &Server, id: &str) -> serde_json::Value {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let job = admin_json(server, &format!("/api/jobs/{id}")).await;
        if job["ended_at"].is_string() {
            return job;
        }
        assert!(Instant::now() < deadline, "job {id} did not end: {job}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Starts a job and waits for its end.
pub async fn run_job(server: &Server, path: &str, body: serde_json::Value) -> serde_json::Value {
    let id = start_job(server, path, body).await;
    wait_job(server, &id).await
}

/// Webhooks may reach loopback (where the tests' receivers listen): off by default, so the
/// tests allow it explicitly, as an admin would allow an internal network.
pub fn allow_loopback_webhooks(server: &Server) {
    let set = run(uplift(&server.data_dir).args([
        "config",
        "set",
        "WebhookAllowedNetworks=127.0.0.0/8,::1",
    ]));
    assert!(
        set.status.success(),
        "{}",
        String::from_utf8_lossy(&set.stderr)
    );
}

/// A POST a webhook receiver got: its `X-Uplift-Signature` header and raw body.
pub type Post = (String, Vec<u8>);

/// A webhook receiver served by the test: it answers with the status the test sets and keeps
/// each POST's `X-Uplift-Signature` and raw body.
pub struct Webhook {
    pub url: String,
    pub status: Arc<Mutex<u16>>,
    received: Arc<Mutex<Vec<Post>>>,
}

impl Webhook {
    pub async fn serve(status: u16) -> Webhook {
        let status = Arc::new(Mutex::new(status));
        let received: Arc<Mutex<Vec<Post>>> = Arc::default();
        let (answer, kept) = (status.clone(), received.clone());
        let app = axum::Router::new().route(
            "/hook",
            axum::routing::post(
                move |headers: axum::http::HeaderMap, body: axum::body::Bytes| {
                    let (answer, kept) = (answer.clone(), kept.clone());
                    async move {
                        let signature = headers
                            .get("x-uplift-signature")
                            .and_then(|v| v.to_str().ok())
                            .unwrap_or_default()
                            .to_string();
                        kept.lock().unwrap().push((signature, body.to_vec()));
                        axum::http::StatusCode::from_u16(*answer.lock().unwrap()).unwrap()
                    }
                },
            ),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/hook", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        Webhook {
            url,
            status,
            received,
        }
    }

    /// Subscribes this receiver to `event` as the admin (allowing loopback webhooks first).
    pub async fn subscribe(&self, server: &Server, event: &str) {
        allow_loopback_webhooks(server);
        let subscribed = admin_post(
            server,
            "/api/subscriptions",
            serde_json::json!({"event": event, "method": "webhook", "url": self.url}),
        )
        .await;
        assert_eq!(subscribed.status(), 201, "{event}");
    }

    /// Every POST so far: signature header and body.
    pub fn received(&self) -> Vec<Post> {
        self.received.lock().unwrap().clone()
    }

    /// Waits up to `within` until `count` POSTs have come, and returns them all.
    pub async fn wait_for(&self, count: usize, within: Duration) -> Vec<Post> {
        let deadline = Instant::now() + within;
        while self.received.lock().unwrap().len() < count && Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        self.received()
    }
}

/// A `/metrics` answer, checked to be Prometheus text and parsed by a real parser.
pub async fn scrape(response: reqwest::Response) -> prometheus_parse::Scrape {
    assert_eq!(response.status(), 200);
    let content_type = response.headers()["content-type"]
        .to_str()
        .unwrap()
        .to_string();
    assert!(
        content_type.starts_with("text/plain; version=0.0.4"),
        "{content_type}"
    );
    let text = response.text().await.unwrap();
    prometheus_parse::Scrape::parse(text.lines().map(|l| Ok(l.to_string())))
        .expect("Prometheus text")
}

/// The samples of `name`, by the value of `label`.
pub fn by_label(
    scrape: &prometheus_parse::Scrape,
    name: &str,
    label: &str,
) -> HashMap<String, f64> {
    scrape
        .samples
        .iter()
        .filter(|s| s.metric == name)
        .filter_map(|s| {
            let value = match s.value {
                prometheus_parse::Value::Gauge(v)
                | prometheus_parse::Value::Counter(v)
                | prometheus_parse::Value::Untyped(v) => v,
                _ => return None,
            };
            Some((s.labels.get(label)?.to_string(), value))
        })
        .collect()
}

/// `GET /metrics` from this machine (loopback needs no credentials), parsed.
pub async fn scrape_metrics(server: &Server) -> prometheus_parse::Scrape {
    scrape(
        client()
            .get(server.url("/metrics"))
            .send()
            .await
            .expect("GET /metrics"),
    )
    .await
}
