use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::{components::A, hooks::use_params_map};

use super::cluster_settings::{ClusterSettings, SettingsForm};
use crate::api::{Caller, Cluster};
use crate::components::{LoadError, Loading, Portal};
use crate::rpc::{check_cluster, get_cluster, list_clusters};

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
    let portal = Portal::get();
    let clusters = Resource::new(move || portal.version.get(), |_| list_clusters());
    view! {
        <Title text="Clusters"/>
        <h1>"Clusters"</h1>
        <Transition fallback=Loading>
            {move || Suspend::new(async move {
                match clusters.await {
                    Err(error) => view! { <LoadError error/> }.into_any(),
                    Ok(clusters) => view! {
                        <table class="grid">
                            <thead><tr>
                                <th>"Name"</th><th>"Compatibility Version"</th><th>"Scheduling Policy"</th>
                                <th>"Hosts"</th><th>"Upgrade Status"</th><th>"Security Errata"</th>
                            </tr></thead>
                            <tbody>
                                {clusters.into_iter().map(|c| {
                                    let detail = format!("/clusters/{}", c.id);
                                    let hosts = format!("/hosts?cluster={}", c.id);
                                    let name = c.name.clone();
                                    let security = c.security_errata.map_or_else(|| "—".to_string(), |n| n.to_string());
                                    view! {
                                    <tr>
                                        <td><A href=detail>{name}</A></td>
                                        <td>{c.compatibility_version.clone()}</td>
                                        <td>{c.scheduling_policy.clone()}</td>
                                        <td><A href=hosts>{c.host_count}</A></td>
                                        <td><UpgradeStatus cluster=c/></td>
                                        <td>{security}</td>
                                    </tr>
                                }}).collect_view()}
                            </tbody>
                        </table>
                    }.into_any(),
                }
            })}
        </Transition>
    }
}

/// "Check for Upgrade" and "Upgrade…" of one cluster, for admins.
#[component]
fn ClusterActions(cluster: Cluster, me: Option<Caller>) -> impl IntoView {
    let portal = Portal::get();
    let admin = me.as_ref().is_some_and(Caller::is_admin);
    let (id, name) = (cluster.id.clone(), cluster.name.clone());
    let check = move |_| {
        portal.follow(
            &id,
            format!("Checking the hosts of {name} for updates…"),
            check_cluster(id.clone()),
        );
    };
    let wizard = format!("/clusters/{}/upgrade", cluster.id);
    let label = if cluster.upgrade.is_some() {
        "Upgrade progress"
    } else {
        "Upgrade…"
    };
    view! {
        <div class="menubar" role="toolbar" aria-label="Cluster actions">
            <button type="button" disabled=!admin on:click=check>"Check for Upgrade"</button>
            <A href=wizard attr:class="button">{label}</A>
        </div>
    }
}

#[component]
pub fn ClusterPage() -> impl IntoView {
    let params = use_params_map();
    let portal = Portal::get();
    let form = SettingsForm::new();
    Effect::new(move |_| {
        params.track();
        form.reset();
    });
    let cluster = Resource::new(
        move || {
            (
                params.read().get("id").unwrap_or_default(),
                portal.version.get(),
            )
        },
        |(id, _)| get_cluster(id),
    );
    view! {
        <Transition fallback=Loading>
            {move || Suspend::new(async move {
                let me = portal.me.await.ok().flatten();
                match cluster.await {
                    Err(error) => view! { <Title text="Cluster"/><LoadError error/> }.into_any(),
                    Ok(c) => view! {
                        <Title text=c.name.clone()/>
                        <p class="crumbs"><A href="/clusters">"Clusters"</A>" / "{c.name.clone()}</p>
                        <h1>{c.name.clone()}</h1>
                        <ClusterActions cluster=c.clone() me=me.clone()/>
                        <dl class="facts">
                            <dt>"Compatibility Version"</dt><dd>{c.compatibility_version.clone()}</dd>
                            <dt>"Scheduling Policy"</dt><dd>{c.scheduling_policy.clone()}</dd>
                            <dt>"Hosts"</dt><dd><A href=format!("/hosts?cluster={}", c.id)>{c.host_count}</A></dd>
                            <dt>"Hosts with updates"</dt>
                            <dd><A href=format!("/hosts?cluster={}&updates=1", c.id)>{c.hosts_with_updates}</A></dd>
                            <dt>"Upgrade Status"</dt><dd><UpgradeStatus cluster=c.clone()/></dd>
                            <dt>"Events"</dt><dd><A href=format!("/events?cluster={}", c.id)>"Events of this cluster"</A></dd>
                        </dl>
                        <ClusterSettings cluster=c.clone() admin=me.as_ref().is_some_and(Caller::is_admin) form/>
                    }.into_any(),
                }
            })}
        </Transition>
    }
}
