//! Many watchers of one rolling upgrade: N clients hold `GET /api/events/stream` open while a
//! 64-host cluster upgrades on the simulator, and each event's delivery latency is measured at
//! every watcher (receipt time minus the event's `time`, written just before its commit).
//! Also reported: the database queries per second the server made meanwhile (from sqlx's own
//! statement log), and the server's RSS growth per open stream.
//!
//! Run: `cargo bench -p uplift --bench watchers` (all shapes), or with `-- 1000` for one shape.
//! Figures go to docs/benchmarks.md by hand.

#[path = "../tests/common/mod.rs"]
mod common;

use std::fmt::Write as _;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::*;
use serde::Deserialize;
use serde_json::{json, Value};
use time::OffsetDateTime;

const HOSTS: usize = 64;
/// Streams one user may hold (the server's limit).
const PER_USER: usize = 8;
/// The id recorded for a job message.
const JOB: i64 = -1;

/// The 64-host cluster "c": three 8 GiB VMs on each host but the first, upgrades of 20 s and
/// reboots of 4 s before the simulator's speed.
fn fleet() -> String {
    let mut text = cluster_c(10.0, 20.0);
    for h in 1..=HOSTS {
        let _ = write!(
            text,
            "\n[[host]]\nname = \"h{h:02}\"\ncluster = \"c\"\nos = \"RHEL 8.9\"\nmemory_gb = 64\n\
             supported_cluster_levels = [\"4.6\", \"4.7\"]\npackages = {{ vdsm = \"4.50.2\" }}\n\
             upgrade_seconds = 20\nreboot_seconds = 4\n"
        );
        for v in 0..if h == 1 { 0 } else { 3 } {
            let _ = write!(
                text,
                "\n[[vm]]\nname = \"vm-{h:02}-{v}\"\nhost = \"h{h:02}\"\nmemory_gb = 8\n"
            );
        }
    }
    text
}

#[derive(Deserialize)]
struct EventTime {
    id: i64,
    time: String,
}

/// What one watcher saw: each event's id and its delivery latency in milliseconds, and
/// `(JOB, bytes)` for each job message.
type Seen = Arc<Mutex<Vec<(i64, f64)>>>;

/// Reads one stream to its end. Each chunk is scanned once for message ends (a write holds
/// several messages), a message is told apart by its header, and only events are parsed: the
/// harness shares the machine's two cores with the server, so it spends as little as it can.
async fn watch(response: reqwest::Response, seen: Seen) {
    let mut response = response;
    let mut buffer: Vec<u8> = Vec::new();
    let mut found = Vec::new();
    let ends = memchr::memmem::Finder::new(b"\n\n");
    while let Ok(Some(chunk)) = response.chunk().await {
        let now = OffsetDateTime::now_utc();
        buffer.extend_from_slice(&chunk);
        let mut start = 0;
        while let Some(length) = ends.find(&buffer[start..]) {
            let message = &buffer[start..start + length + 2];
            start += length + 2;
            if let Some(seen) = record(message, now) {
                found.push(seen);
            }
        }
        buffer.drain(..start);
        seen.lock().unwrap().append(&mut found);
    }
}

/// What one SSE message (`id: N\nevent: NAME\ndata: JSON\n\n`) says: `(JOB, bytes)` for a
/// job, `(id, latency ms)` for an event.
fn record(message: &[u8], now: OffsetDateTime) -> Option<(i64, f64)> {
    let header_end = memchr::memmem::find(message, b"\ndata: ")?;
    let header = &message[..header_end];
    if header.ends_with(b"\nevent: job") {
        return Some((JOB, message.len() as f64));
    }
    if !header.ends_with(b"\nevent: event") {
        return None;
    }
    let data = &message[header_end + 7..message.len() - 2];
    let event = serde_json::from_slice::<EventTime>(data).ok()?;
    let at =
        OffsetDateTime::parse(&event.time, &time::format_description::well_known::Rfc3339).ok()?;
    Some((event.id, (now - at).as_seconds_f64() * 1000.0))
}

/// The server's resident memory in KiB.
fn rss_kib(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .unwrap_or_default()
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next()?.parse().ok())
        .unwrap_or(0)
}

/// SQL statements the server logged so far (sqlx logs each one at debug).
fn statements(server: &Server) -> usize {
    server.log().matches("sqlx::query").count()
}

fn percentile(sorted: &[f64], q: f64) -> f64 {
    sorted[((sorted.len() - 1) as f64 * q).round() as usize]
}

async fn shape(watchers: usize) {
    let dir = tempfile::tempdir().expect("temp dir");
    let fleet = write_fleet(dir.path(), "fleet.toml", &fleet());
    let server = Server::start_with(
        dir.path(),
        &fleet,
        &[("UPLIFT_LOG", "warn,sqlx::query=debug")],
    )
    .await;
    // Users enough for the streams (after the first start, which makes the admin).
    let users = watchers.div_ceil(PER_USER);
    for u in 0..users {
        let added = run(uplift(dir.path())
            .args(["user", "add", &format!("w{u}"), "--role", "viewer"])
            .env("UPLIFT_USER_PASSWORD", "watcher-password"));
        assert!(
            added.status.success(),
            "{}",
            String::from_utf8_lossy(&added.stderr)
        );
    }
    let pid = server.pid();
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(0)
        .build()
        .expect("client");
    let admin = token_for(&server, "admin", ADMIN_PASSWORD).await;
    let get = |path: String| {
        let (client, admin, url) = (client.clone(), admin.clone(), server.url(&path));
        async move {
            client
                .get(url)
                .bearer_auth(admin)
                .send()
                .await
                .expect("GET")
                .json::<Value>()
                .await
                .expect("json")
        }
    };
    let clusters = get("/api/clusters".into()).await;
    let cluster = clusters[0]["id"].as_str().expect("cluster id").to_string();
    let check: Value = client
        .post(server.url(&format!("/api/clusters/{cluster}/upgradecheck")))
        .bearer_auth(&admin)
        .json(&json!({}))
        .send()
        .await
        .expect("check")
        .json()
        .await
        .expect("json");
    let check_id = check["job"]["id"].as_str().expect("job id").to_string();
    while get(format!("/api/jobs/{check_id}")).await["ended_at"].is_null() {
        tokio::time::sleep(Duration::from_millis(200)).await;
    }

    let mut tokens = Vec::new();
    for u in 0..users {
        tokens.push(token_for(&server, &format!("w{u}"), "watcher-password").await);
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    let rss_before = rss_kib(pid);
    let mut seen = Vec::new();
    for w in 0..watchers {
        let response = reqwest::Client::new()
            .get(server.url("/api/events/stream"))
            .bearer_auth(&tokens[w / PER_USER])
            .send()
            .await
            .expect("stream");
        assert_eq!(response.status(), 200, "stream {w}");
        let log: Seen = Arc::default();
        tokio::spawn(watch(response, log.clone()));
        seen.push(log);
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    let rss_after = rss_kib(pid);

    let last_event: Value = get("/api/events?per_page=1".into()).await;
    let first_id = last_event[0]["id"].as_i64().unwrap_or(0);
    let statements_before = statements(&server);
    let started = Instant::now();
    let run: Value = client
        .post(server.url(&format!("/api/clusters/{cluster}/upgrade")))
        .bearer_auth(&admin)
        .json(&json!({"max_parallel": "auto"}))
        .send()
        .await
        .expect("upgrade")
        .json()
        .await
        .expect("json");
    let run_id = run["job"]["id"].as_str().expect("run id").to_string();
    let status = loop {
        tokio::time::sleep(Duration::from_secs(1)).await;
        let job = get(format!("/api/jobs/{run_id}")).await;
        if !job["ended_at"].is_null() {
            break job["status"].clone();
        }
        assert!(
            started.elapsed() < Duration::from_secs(900),
            "the run did not end"
        );
    };
    let elapsed = started.elapsed();
    let statements_during = statements(&server) - statements_before;

    let mut committed = Vec::new();
    let mut codes = std::collections::HashMap::new();
    let mut page = 1;
    loop {
        let events = get(format!(
            "/api/events?after={first_id}&per_page=200&page={page}"
        ))
        .await;
        let events = events.as_array().cloned().unwrap_or_default();
        if events.is_empty() {
            break;
        }
        committed.extend(events.iter().filter_map(|e| e["id"].as_i64()));
        codes.extend(
            events
                .iter()
                .filter_map(|e| Some((e["id"].as_i64()?, format!("{} {}", e["code"], e["time"])))),
        );
        page += 1;
    }
    // The last deliveries land (at most 60 s more).
    let received = |log: &Seen| {
        let log = log.lock().unwrap();
        log.iter().filter(|(id, _)| *id > first_id).count()
    };
    let drain = Instant::now();
    while drain.elapsed() < Duration::from_secs(60)
        && seen.iter().any(|log| received(log) < committed.len())
    {
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let (jobs_per_watcher, job_bytes) = seen[0]
        .lock()
        .unwrap()
        .iter()
        .filter(|(id, _)| *id == JOB)
        .fold((0, 0.0), |(n, bytes), (_, size)| (n + 1, bytes + size));
    print_job_sizes(&seen[0]);
    let mut latencies = Vec::new();
    let (mut fewest, mut most) = (usize::MAX, 0);
    for log in &seen {
        let log = log.lock().unwrap();
        let got: Vec<(i64, f64)> = log
            .iter()
            .filter(|(id, _)| *id > first_id)
            .copied()
            .collect();
        fewest = fewest.min(got.len());
        most = most.max(got.len());
        latencies.extend(got.iter().map(|(_, ms)| *ms));
    }
    latencies.sort_by(f64::total_cmp);
    print_slowest_events(&seen, first_id, &codes);
    println!(
        "| {watchers} | {status} in {:.0} s | {} | {jobs_per_watcher} ({:.0} KiB) | {fewest}..{most} | {:.1} | {:.1} | {:.1} | {:.1} | {:.0} | {:.1} |",
        elapsed.as_secs_f64(),
        committed.len(),
        job_bytes / 1024.0,
        percentile(&latencies, 0.5),
        percentile(&latencies, 0.99),
        latencies.last().copied().unwrap_or(0.0),
        statements_during as f64 / elapsed.as_secs_f64(),
        (rss_after.saturating_sub(rss_before)) as f64 / 1024.0,
        (rss_after.saturating_sub(rss_before)) as f64 / watchers as f64,
    );
    drop(server);
}

/// The job messages one watcher got, by size (to stderr): what weighs in the streams.
fn print_job_sizes(log: &Seen) {
    let mut sizes: Vec<f64> = log
        .lock()
        .unwrap()
        .iter()
        .filter(|(id, _)| *id == JOB)
        .map(|(_, size)| *size)
        .collect();
    sizes.sort_by(f64::total_cmp);
    let big: Vec<f64> = sizes
        .iter()
        .copied()
        .filter(|size| *size > 6000.0)
        .collect();
    eprintln!(
        "job messages: median {:.0} B, largest {:.0} B; {} over 6,000 B, {:.0} KiB in all",
        sizes.get(sizes.len() / 2).copied().unwrap_or(0.0),
        sizes.last().copied().unwrap_or(0.0),
        big.len(),
        big.iter().sum::<f64>() / 1024.0,
    );
}

/// The five events that reached watchers latest, each with its fastest and slowest delivery
/// (to stderr): a late event late everywhere waited for the server, one late at some watchers
/// waited in the fan-out.
fn print_slowest_events(
    seen: &[Seen],
    first_id: i64,
    codes: &std::collections::HashMap<i64, String>,
) {
    let mut by_event: std::collections::BTreeMap<i64, (f64, f64)> = Default::default();
    for log in seen {
        for (id, ms) in log.lock().unwrap().iter().filter(|(id, _)| *id > first_id) {
            let entry = by_event.entry(*id).or_insert((f64::MAX, 0.0));
            *entry = (entry.0.min(*ms), entry.1.max(*ms));
        }
    }
    let mut slowest: Vec<_> = by_event.into_iter().collect();
    slowest.sort_by(|a, b| b.1 .1.total_cmp(&a.1 .1));
    for (id, (fastest, slowest)) in slowest.iter().take(5) {
        let code = codes.get(id).map_or("", String::as_str);
        eprintln!("event {id} ({code}): fastest {fastest:.1} ms, slowest {slowest:.1} ms");
    }
}

#[tokio::main]
async fn main() {
    let shapes: Vec<usize> = std::env::args()
        .skip(1)
        .filter_map(|a| a.parse().ok())
        .collect();
    let shapes = if shapes.is_empty() {
        vec![1, 100, 1000]
    } else {
        shapes
    };
    println!(
        "64-host rolling upgrade (sim speed 10, max_parallel auto), every event at every watcher"
    );
    println!("| watchers | run | events | job messages (bytes) per watcher | events per watcher | p50 ms | p99 ms | max ms | SQL statements/s | RSS growth MiB | KiB per watcher |");
    println!("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |");
    for watchers in shapes {
        shape(watchers).await;
    }
}
