//! How long the real server takes to answer `GET /api/hosts` for a generated 10,000-host fleet.
//!
//! Starts the release `uplift` binary on a temporary database, like the integration tests, and
//! times whole HTTP round trips from a client on loopback. Run:
//! `cargo bench -p uplift --bench api_hosts` (figures go to docs/benchmarks.md by hand).

#[path = "../tests/common/mod.rs"]
mod common;

use std::time::{Duration, Instant};

use common::*;

const HOSTS: usize = 10_000;
const VMS: usize = 50_000;
const CLUSTERS: usize = 20;
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
        };
        let started = Instant::now();
        let body = request
            .send()
            .await
            .expect("GET")
            .bytes()
            .await
            .expect("body");
        let elapsed = started.elapsed();
        size = body.len();
        if round > 0 {
            samples.push(elapsed);
        }
    }
    (samples, size)
}

#[tokio::main]
async fn main() {
    let dir = tempfile::tempdir().expect("temp dir");
    let (clusters, hosts, vms) = (CLUSTERS.to_string(), HOSTS.to_string(), VMS.to_string());
    let text = generated_fleet(
        dir.path(),
        &[
            "--clusters",
            &clusters,
            "--hosts",
            &hosts,
            "--vms",
            &vms,
            "--seed",
            "1",
        ],
    );
    let fleet = write_fleet(dir.path(), "fleet.toml", &text);

    let started = Instant::now();
    let server = Server::start(dir.path(), &fleet).await;
    let first_start = started.elapsed();

    let client = client();
    let token: serde_json::Value = client
        .post(server.url("/api/tokens"))
        .json(&serde_json::json!({"username": "admin", "password": ADMIN_PASSWORD}))
        .send()
        .await
        .expect("token")
        .json()
        .await
        .expect("token json");
    let token = token["token"].as_str().expect("token string").to_string();

    let url = server.url("/api/hosts");
    let (bearer, bytes) = time_requests(&client, &url, Auth::Bearer(&token)).await;
    let (basic, _) = time_requests(&client, &url, Auth::Basic).await;

    let hosts: serde_json::Value = serde_json::from_slice(
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
    .expect("json");
    assert_eq!(hosts.as_array().map(Vec::len), Some(HOSTS));

    println!(
        "fleet: {CLUSTERS} clusters, {HOSTS} hosts, {VMS} VMs; response {:.1} MiB",
        bytes as f64 / 1048576.0
    );
    println!(
        "first start (validate + load the fleet into SQLite): {:.2} s",
        first_start.as_secs_f64()
    );
    println!("| GET /api/hosts | rounds | min ms | median ms | p95 ms | max ms |");
    println!("| --- | --- | --- | --- | --- | --- |");
    summary("bearer token", bearer);
    summary("HTTP Basic (argon2 verify each call)", basic);
}
