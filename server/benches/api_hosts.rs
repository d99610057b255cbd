//! How fast the real server answers on generated fleets of 1,000 and 10,000 hosts: the whole
//! `GET /api/hosts`, the hosts page rendered on the server (one page of 50), a `/metrics`
//! scrape, and `GET /api/hosts/{id}` (random hosts) under load from Debian's `wrk` in a second
//! process (16 and 64 connections), and the rolling-upgrade plan preview of one 500-host
//! cluster (`POST /api/clusters/{id}/upgrade/plan`, after the cluster's update check).
//!
//! Starts the release `uplift` binary on a temporary database, like the integration tests, and
//! times whole HTTP round trips from a client on loopback. Run:
//! `cargo bench -p uplift --bench api_hosts` (figures go to docs/benchmarks.md by hand);
//! `-- 10000` for one fleet size.

#[path = "../tests/common/mod.rs"]
mod common;

use std::time::{Duration, Instant};

use common::*;

/// VMs per host and hosts per cluster of the generated fleets.
const VMS_PER_HOST: usize = 5;
const HOSTS_PER_CLUSTER: usize = 500;
const ROUNDS: usize = 30;

fn summary(label: &str, mut samples: Vec<Duration>) {
    samples.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    let p = |q: f64| samples[((samples.len() - 1) as f64 * q).round() as usize];
    println!(
        "| {label} | {} | {:.1} | {:.1} | {:.1} | {:.1} |",
        samples.len(),
        ms(samples[0]),
        ms(p(0.5)),
        ms(p(0.95)),
        ms(samples[samples.len() - 1])
    );
}

enum Auth<'a> {
    Bearer(&'a str),
    Basic,
    None,
}

/// Times `ROUNDS` requests after one warm-up; returns the samples and the body size.
async fn time_requests(
    client: &reqwest::Client,
    url: &str,
    auth: Auth<'_>,
) -> (Vec<Duration>, usize) {
    let mut samples = Vec::with_capacity(ROUNDS);
    let mut size = 0;
    for round in 0..=ROUNDS {
        let request = match auth {
            Auth::Bearer(token) => client.get(url).bearer_auth(token),
            Auth::Basic => client.get(url).basic_auth("admin", Some(ADMIN_PASSWORD)),
            Auth::None => client.get(url),
        };
        let started = Instant::now();
        let response = request.send().await.expect("GET");
        assert_eq!(response.status(), 200, "{url}");
        let body = response.bytes().await.expect("body");
        let elapsed = started.elapsed();
        size = body.len();
        if round > 0 {
            samples.push(elapsed);
        }
    }
    (samples, size)
}

/// `GET /api/hosts/{id}` for random hosts under `wrk -c connections` for 10 s: requests per
/// second, p50 and p99 in ms.
fn load(server: &Server, token: &str, ids: &[String], connections: usize) -> (f64, f64, f64) {
    let dir = tempfile::tempdir().expect("temp dir");
    let script = dir.path().join("hosts.lua");
    let list: Vec<String> = ids.iter().map(|id| format!("\"{id}\"")).collect();
    std::fs::write(
        &script,
        format!(
            "ids = {{{}}}\nmath.randomseed(1)\nwrk.headers[\"Authorization\"] = \"Bearer {token}\"\n\
             request = function()\n  return wrk.format(\"GET\", \"/api/hosts/\" .. ids[math.random(#ids)])\nend\n",
            list.join(",")
        ),
    )
    .expect("script");
    let out = std::process::Command::new("wrk")
        .args([
            "-t1",
            &format!("-c{connections}"),
            "-d10s",
            "--latency",
            "-s",
        ])
        .arg(&script)
        .arg(server.url("/"))
        .output()
        .expect("wrk runs (apt-get install wrk; .ci/install does)");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(!text.contains("Non-2xx"), "wrk saw errors:\n{text}");
    let ms = |value: &str| -> f64 {
        let number = |suffix: &str| {
            value
                .trim_end_matches(suffix)
                .parse::<f64>()
                .unwrap_or(f64::NAN)
        };
        if value.ends_with("us") {
            number("us") / 1000.0
        } else if value.ends_with("ms") {
            number("ms")
        } else {
            number("s") * 1000.0
        }
    };
    let percentile = |p: &str| {
        text.lines()
            .find_map(|l| l.trim().strip_prefix(p))
            .map(|v| ms(v.trim()))
            .unwrap_or(f64::NAN)
    };
    let rate = text
        .lines()
        .find_map(|l| l.strip_prefix("Requests/sec:"))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(f64::NAN);
    (rate, percentile("50%"), percentile("99%"))
}

/// Times `ROUNDS` GETs of a portal page with the session `cookie`, after one warm-up.
async fn time_page(client: &reqwest::Client, url: &str, cookie: &str) -> Vec<Duration> {
    let mut samples = Vec::with_capacity(ROUNDS);
    for round in 0..=ROUNDS {
        let started = Instant::now();
        let response = client
            .get(url)
            .header("cookie", cookie)
            .send()
            .await
            .expect("GET");
        assert_eq!(response.status(), 200, "{url}");
        response.bytes().await.expect("body");
        if round > 0 {
            samples.push(started.elapsed());
        }
    }
    samples
}

/// The plan preview of the first cluster, checked first so its hosts have their updates:
/// `ROUNDS` previews after a warm-up.
async fn time_plan(server: &Server, token: &str) -> Vec<Duration> {
    let cluster = checked_first_cluster(server).await;
    let url = server.url(&format!("/api/clusters/{cluster}/upgrade/plan"));
    let client = client();
    let mut samples = Vec::with_capacity(ROUNDS);
    for round in 0..=ROUNDS {
        let started = Instant::now();
        let response = client
            .post(&url)
            .bearer_auth(token)
            .json(&serde_json::json!({"max_parallel": "auto"}))
            .send()
            .await
            .expect("POST");
        assert_eq!(response.status(), 200, "{url}");
        let plan: app::api::UpgradePlan = response.json().await.expect("a plan");
        let elapsed = started.elapsed();
        assert!(
            !plan.waves.is_empty(),
            "the checked cluster has hosts to upgrade"
        );
        if round > 0 {
            samples.push(elapsed);
        }
    }
    samples
}

async fn fleet_size(hosts: usize) {
    let dir = tempfile::tempdir().expect("temp dir");
    let clusters = hosts.div_ceil(HOSTS_PER_CLUSTER).to_string();
    let vms = (hosts * VMS_PER_HOST).to_string();
    let text = generated_fleet(
        dir.path(),
        &[
            "--clusters",
            &clusters,
            "--hosts",
            &hosts.to_string(),
            "--vms",
            &vms,
            "--seed",
            "1",
        ],
    );
    let fleet = write_fleet(dir.path(), "fleet.toml", &text);

    // The plan preview needs the cluster checked first: 500 simulated checks, 100 at a time
    // rather than the default 5, so the check ends within `wait_job`'s minute.
    let set = run(uplift(dir.path()).args(["config", "set", "MaxParallelHostChecks=100"]));
    assert!(
        set.status.success(),
        "{}",
        String::from_utf8_lossy(&set.stderr)
    );

    let started = Instant::now();
    let server = Server::start(dir.path(), &fleet).await;
    let first_start = started.elapsed();

    let client = client();
    let token = token_for(&server, "admin", ADMIN_PASSWORD).await;

    let url = server.url("/api/hosts");
    let (bearer, bytes) = time_requests(&client, &url, Auth::Bearer(&token)).await;
    let (basic, _) = time_requests(&client, &url, Auth::Basic).await;
    let list: Vec<app::api::Host> = serde_json::from_slice(
        &client
            .get(server.url("/api/hosts"))
            .bearer_auth(&token)
            .send()
            .await
            .expect("GET")
            .bytes()
            .await
            .expect("body"),
    )
    .expect("hosts");
    assert_eq!(list.len(), hosts);
    let ids: Vec<String> = list.iter().map(|h| h.id.clone()).collect();

    let cookie = portal_login(&server, "admin", ADMIN_PASSWORD)
        .await
        .expect("session");
    let page = time_page(&client, &server.url("/hosts?per_page=50"), &cookie).await;
    let (metrics, _) = time_requests(&client, &server.url("/metrics"), Auth::None).await;

    println!(
        "\nfleet: {clusters} clusters, {hosts} hosts, {vms} VMs; GET /api/hosts {:.1} MiB; first start {:.2} s",
        bytes as f64 / 1048576.0,
        first_start.as_secs_f64()
    );
    println!("| {hosts} hosts | rounds | min ms | median ms | p95 ms | max ms |");
    println!("| --- | --- | --- | --- | --- | --- |");
    summary("GET /api/hosts, bearer token", bearer);
    summary(
        "GET /api/hosts, HTTP Basic (argon2 verify each call)",
        basic,
    );
    summary("hosts page SSR, page of 50 (session cookie)", page);
    summary("GET /metrics (loopback)", metrics);
    summary(
        "plan preview of a 500-host cluster (auto)",
        time_plan(&server, &token).await,
    );
    println!(
        "| GET /api/hosts/{{id}}, random hosts, wrk 10 s | connections | req/s | p50 ms | p99 ms |"
    );
    println!("| --- | --- | --- | --- | --- |");
    for connections in [16, 64] {
        let (rate, p50, p99) = load(&server, &token, &ids, connections);
        println!("| bearer token | {connections} | {rate:.0} | {p50:.2} | {p99:.2} |");
    }
}

#[tokio::main]
async fn main() {
    let sizes: Vec<usize> = std::env::args()
        .skip(1)
        .filter_map(|a| a.parse().ok())
        .collect();
    let sizes = if sizes.is_empty() {
        vec![1_000, 10_000]
    } else {
        sizes
    };
    for hosts in sizes {
        fleet_size(hosts).await;
    }
}
