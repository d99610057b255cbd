use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::{components::A, hooks::use_params_map};

use crate::api::Cluster;
use crate::components::{LoadError, Loading};
use crate::rpc::{get_cluster, list_clusters};

/// The "Upgrade Status" cell of SPEC §7: a bar while an upgrade runs, otherwise whether any
/// host has updates.
#[component]
fn UpgradeStatus(cluster: Cluster) -> impl IntoView {
    match cluster.upgrade {
        Some(progress) => {
            let percent = progress.percent_complete.round();
            view! {
                <progress max="100" value=percent aria-label="Upgrade progress"></progress>
                " " {format!("{percent}%")}
            }
            .into_any()
        }
        None if cluster.hosts_with_updates > 0 => {
            view! { <span class="updates">"Upgrades available"</span> }.into_any()
        }
        None => ().into_any(),
    }
}

#[component]
pub fn ClustersPage() -> impl IntoView {
    let clusters = Resource::new(|| (), |_| list_clusters());
    view! {
        <Title text="Clusters"/>
        <h1>"Clusters"</h1>
        <Suspense fallback=Loading>
            {move || Suspend::new(async move {
                match clusters.await {
                    Err(error) => view! { <LoadError error/> }.into_any(),
                    Ok(clusters) => view! {
                        <table class="grid">
                            <thead><tr>
                                <th>"Name"</th><th>"Compatibility Version"</th><th>"Scheduling Policy"</th>
                                <th>"Hosts"</th><th>"Upgrade Status"</th>
                            </tr></thead>
                            <tbody>
                                {clusters.into_iter().map(|c| {
                                    let detail = format!("/clusters/{}", c.id);
                                    let hosts = format!("/hosts?cluster={}", c.id);
                                    let name = c.name.clone();
                                    view! {
                                    <tr>
                                        <td><A href=detail>{name}</A></td>
                                        <td>{c.compatibility_version.clone()}</td>
                                        <td>{c.scheduling_policy.clone()}</td>
                                        <td><A href=hosts>{c.host_count}</A></td>
                                        <td><UpgradeStatus cluster=c/></td>
                                    </tr>
                                }}).collect_view()}
                            </tbody>
                        </table>
                    }.into_any(),
                }
            })}
        </Suspense>
    }
}

#[component]
pub fn ClusterPage() -> impl IntoView {
    let params = use_params_map();
    let cluster = Resource::new(
        move || params.read().get("id").unwrap_or_default(),
        get_cluster,
    );
    view! {
        <Suspense fallback=Loading>
            {move || Suspend::new(async move {
                match cluster.await {
                    Err(error) => view! { <Title text="Cluster"/><LoadError error/> }.into_any(),
                    Ok(c) => view! {
                        <Title text=c.name.clone()/>
                        <p class="crumbs"><A href="/clusters">"Clusters"</A>" / "{c.name.clone()}</p>
                        <h1>{c.name.clone()}</h1>
                        <dl class="facts">
                            <dt>"Compatibility Version"</dt><dd>{c.compatibility_version.clone()}</dd>
                            <dt>"Scheduling Policy"</dt><dd>{c.scheduling_policy.clone()}</dd>
                            <dt>"Hosts"</dt><dd><A href=format!("/hosts?cluster={}", c.id)>{c.host_count}</A></dd>
                            <dt>"Hosts with updates"</dt>
                            <dd><A href=format!("/hosts?cluster={}&updates=1", c.id)>{c.hosts_with_updates}</A></dd>
                            <dt>"Upgrade Status"</dt><dd><UpgradeStatus cluster=c.clone()/></dd>
                            <dt>"Events"</dt><dd><A href=format!("/events?cluster={}", c.id)>"Events of this cluster"</A></dd>
                        </dl>
                    }.into_any(),
                }
            })}
        </Suspense>
    }
}
