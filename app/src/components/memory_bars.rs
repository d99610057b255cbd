//! The dashboard's picture of a datacenter (issue 19): per cluster, each host a bar of its
//! memory in use, coloured by where it stands in an upgrade (up to date, with updates, in
//! maintenance, being upgraded, failed). SVG attributes, not inline styles, so the page's
//! Content-Security-Policy has nothing to block; every bar is a link to its host.

use leptos::prelude::*;

use super::gib;
use crate::api::{ClusterMemory, HostCondition};

/// Bar geometry, in SVG user units.
const BAR_WIDTH: f64 = 12.0;
const HEIGHT: f64 = 64.0;

#[component]
pub fn MemoryBars(clusters: Vec<ClusterMemory>) -> impl IntoView {
    view! {
        <section class="memory-bars" aria-labelledby="memory-title">
            <h2 id="memory-title">"Hosts by memory in use"</h2>
            <ul class="legend" aria-label="Legend">
                {HostCondition::ALL.iter().map(|c| view! {
                    <li><span class=format!("swatch cond-{}", c.as_str())></span>{c.label()}</li>
                }).collect_view()}
            </ul>
            {clusters.into_iter().map(|cluster| view! { <ClusterBars cluster/> }).collect_view()}
        </section>
    }
}

#[component]
fn ClusterBars(cluster: ClusterMemory) -> impl IntoView {
    let mut counts: Vec<(HostCondition, usize)> =
        HostCondition::ALL.iter().map(|c| (*c, 0)).collect();
    for host in &cluster.hosts {
        let condition = HostCondition::of(host.status, host.updates_available);
        if let Some(entry) = counts.iter_mut().find(|(c, _)| *c == condition) {
            entry.1 += 1;
        }
    }
    let summary = counts
        .iter()
        .filter(|(_, n)| *n > 0)
        .map(|(c, n)| format!("{n} {}", c.label().to_lowercase()))
        .collect::<Vec<_>>()
        .join(", ");
    let label = format!(
        "Cluster {}: {} hosts; {summary}",
        cluster.cluster.name,
        cluster.hosts.len()
    );
    view! {
        <figure class="cluster-bars" data-cluster=cluster.cluster.name.clone()>
            <figcaption>
                <a href=format!("/clusters/{}", cluster.cluster.id)>{cluster.cluster.name.clone()}</a>
                <span class="muted">{format!(" — {summary}")}</span>
            </figcaption>
            <div class="bars" role="list" aria-label=label>
                {cluster.hosts.into_iter().map(|host| {
                    let condition = HostCondition::of(host.status, host.updates_available);
                    let total = host.memory_mb.total.max(1) as f64;
                    let used = (host.memory_mb.used as f64 / total).clamp(0.0, 1.0) * HEIGHT;
                    let title = format!(
                        "{}: {} of {} in use; {}, {}",
                        host.host.name,
                        gib(host.memory_mb.used),
                        gib(host.memory_mb.total),
                        host.status.label(),
                        condition.label().to_lowercase()
                    );
                    view! {
                        <a role="listitem" href=format!("/hosts/{}", host.host.id)
                            class=format!("bar cond-{}", condition.as_str())
                            title=title.clone() aria-label=title
                            data-host=host.host.name.clone() data-condition=condition.as_str()>
                            <svg width=BAR_WIDTH height=HEIGHT viewBox=format!("0 0 {BAR_WIDTH} {HEIGHT}") aria-hidden="true">
                                <rect class="capacity" x=0 y=0 width=BAR_WIDTH height=HEIGHT></rect>
                                <rect class="used" x=0 y=HEIGHT - used width=BAR_WIDTH height=used></rect>
                            </svg>
                        </a>
                    }
                }).collect_view()}
            </div>
        </figure>
    }
}
