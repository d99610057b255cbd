//! `GET /metrics`: Prometheus text that a real parser reads, open to loopback clients, and to
//! admins only from elsewhere.

mod common;

use std::collections::HashMap;

use app::api::Host;
use common::*;
use prometheus_parse::Value;

#[tokio::test]
async fn loopback_clients_read_the_fleet_and_the_requests_in_prometheus_text() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path(), &write_fleet(dir.path(), "f.toml", FLEET)).await;
    let hosts: Vec<Host> = admin_get(&server, "/api/hosts").await;
    let stream = client()
        .get(server.url("/api/events/stream"))
        .basic_auth("admin", Some(ADMIN_PASSWORD))
        .send()
        .await
        .unwrap();
    assert_eq!(stream.status(), 200);

    // No credentials: the scrape comes from this machine.
    let scrape = scrape(client().get(server.url("/metrics")).send().await.unwrap()).await;
    let by_status = by_label(&scrape, "uplift_hosts", "status");
    assert_eq!(by_status.values().sum::<f64>() as usize, hosts.len());
    let mut expected: HashMap<String, f64> = HashMap::new();
    for host in &hosts {
        *expected
            .entry(host.status.as_str().to_string())
            .or_default() += 1.0;
    }
    assert_eq!(by_status, expected);

    let requests: Vec<_> = scrape
        .samples
        .iter()
        .filter(|s| s.metric == "uplift_http_requests_total")
        .filter(|s| s.labels.get("route") == Some("/api/hosts"))
        .collect();
    assert_eq!(requests.len(), 1, "{requests:?}");
    assert_eq!(requests[0].labels.get("status"), Some("200"));
    assert!(matches!(requests[0].value, Value::Counter(n) if n >= 1.0));
    assert!(
        scrape
            .samples
            .iter()
            .any(|s| s.metric == "uplift_http_request_duration_seconds"
                && s.labels.get("route") == Some("/api/hosts")
                && matches!(s.value, Value::Histogram(_))),
        "a latency histogram per route"
    );
    assert_eq!(
        by_label(&scrape, "uplift_event_streams_open", "instance").len(),
        0,
        "no instance label"
    );
    let open = scrape
        .samples
        .iter()
        .find(|s| s.metric == "uplift_event_streams_open")
        .unwrap();
    assert!(
        matches!(open.value, Value::Gauge(n) if n == 1.0),
        "{open:?}"
    );
    let deliveries = by_label(&scrape, "uplift_notification_deliveries", "status");
    assert_eq!(deliveries.get("pending"), Some(&0.0));
    assert_eq!(deliveries.get("failed"), Some(&0.0));
    for name in [
        "uplift_jobs",
        "uplift_rolling_upgrades_running",
        "uplift_vm_migrations_total",
        "uplift_hosts_never_checked",
    ] {
        assert!(
            scrape.docs.contains_key(name) || scrape.samples.iter().any(|s| s.metric == name),
            "{name}"
        );
    }
    drop(stream);
}

/// This machine's first address that is not loopback (the test reaches Uplift through it).
fn outside_address() -> String {
    let out = std::process::Command::new("ip")
        .args(["-4", "-o", "addr", "show", "scope", "global"])
        .output()
        .expect("ip runs");
    String::from_utf8_lossy(&out.stdout)
        .split_whitespace()
        .skip_while(|word| *word != "inet")
        .nth(1)
        .and_then(|cidr| cidr.split('/').next())
        .map(str::to_string)
        .expect("this machine has an address that is not loopback")
}

#[tokio::test]
async fn from_elsewhere_metrics_are_for_admins_only() {
    let dir = tempfile::tempdir().unwrap();
    let fleet = write_fleet(dir.path(), "f.toml", FLEET);
    let server = Server::start_at(dir.path(), &fleet, &[], &outside_address()).await;
    add_viewer(dir.path());
    let anonymous = client().get(server.url("/metrics")).send().await.unwrap();
    assert!(refusal(anonymous, 401).await.contains("Log in"));
    let viewer = client()
        .get(server.url("/metrics"))
        .basic_auth("v", Some("viewer-password"))
        .send()
        .await
        .unwrap();
    assert!(refusal(viewer, 403).await.contains("admins"));
    let admin = client()
        .get(server.url("/metrics"))
        .basic_auth("admin", Some(ADMIN_PASSWORD))
        .send()
        .await
        .unwrap();
    let scrape = scrape(admin).await;
    assert!(scrape.samples.iter().any(|s| s.metric == "uplift_hosts"));
}

#[tokio::test]
async fn the_grafana_dashboard_charts_only_metrics_uplift_exports() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path(), &write_fleet(dir.path(), "f.toml", FLEET)).await;
    // A request and an update check, so the request and check metrics have samples.
    let hosts: Vec<Host> = admin_get(&server, "/api/hosts").await;
    let check = run_job(
        &server,
        &format!("/api/hosts/{}/upgradecheck", hosts[0].id),
        serde_json::json!({}),
    )
    .await;
    assert_eq!(check["status"], "succeeded");
    let scrape = scrape(client().get(server.url("/metrics")).send().await.unwrap()).await;
    let exported: Vec<&str> = scrape
        .samples
        .iter()
        .map(|s| s.metric.as_str())
        .chain(scrape.docs.keys().map(String::as_str))
        .collect();
    let dashboard: serde_json::Value =
        serde_json::from_str(include_str!("../../docs/grafana-dashboard.json")).unwrap();
    let mut charted = 0;
    for panel in dashboard["panels"].as_array().unwrap() {
        for target in panel["targets"].as_array().unwrap() {
            let expr = target["expr"].as_str().unwrap();
            for word in expr.split(|c: char| !(c.is_ascii_alphanumeric() || c == '_')) {
                if !word.starts_with("uplift_") {
                    continue;
                }
                let base = ["_bucket", "_sum", "_count"]
                    .iter()
                    .find_map(|suffix| word.strip_suffix(suffix))
                    .unwrap_or(word);
                // A run's gauges exist only while a run is on (tests/rolling.rs reads them).
                let during_runs = base.starts_with("uplift_rolling_upgrade_hosts_");
                assert!(
                    during_runs || exported.contains(&base) || exported.contains(&word),
                    "{} charts {word}, which /metrics does not export",
                    panel["title"]
                );
                charted += 1;
            }
        }
    }
    assert!(charted >= 14, "{charted}");
}
