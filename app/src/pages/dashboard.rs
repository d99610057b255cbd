use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::components::A;

use crate::components::{HostStatusBadge, LoadError, Loading, MemoryBars, Portal};
use crate::rpc::{get_dashboard, list_clusters};

#[component]
pub fn DashboardPage() -> impl IntoView {
    let portal = Portal::get();
    let data = Resource::new(move || portal.version.get(), |_| get_dashboard());
    let clusters = Resource::new(move || portal.version.get(), |_| list_clusters());
    view! {
        <Title text="Dashboard"/>
        <h1>"Dashboard"</h1>
        <Transition fallback=Loading>
            {move || Suspend::new(async move {
                let clusters = clusters.await.unwrap_or_default();
                let security: Vec<_> = clusters
                    .iter()
                    .filter_map(|c| c.security_errata.map(|n| (c.id.clone(), c.name.clone(), n)))
                    .collect();
                let running: Vec<_> = clusters
                    .into_iter()
                    .filter_map(|c| c.upgrade.map(|u| (c.id, c.name, u.percent_complete.round())))
                    .collect();
                match data.await {
                    Err(error) => view! { <LoadError error/> }.into_any(),
                    Ok(d) => view! {
                        {(!running.is_empty()).then(|| view! {
                            <section aria-label="Running upgrades">
                                <h2>"Running upgrades"</h2>
                                <ul>{running.into_iter().map(|(id, name, percent)| view! {
                                    <li>
                                        <A href=format!("/clusters/{id}/upgrade")>{name}</A>" "
                                        <progress max="100" value=percent></progress>
                                        {format!(" {percent}%")}
                                    </li>
                                }).collect_view()}</ul>
                            </section>
                        })}
                        <div class="tiles">
                            <A href="/clusters" attr:class="tile"><span class="count">{d.clusters}</span>" Clusters"</A>
                            <A href="/hosts" attr:class="tile"><span class="count">{d.hosts}</span>" Hosts"</A>
                            <A href="/hosts?updates=1" attr:class="tile"><span class="count">{d.hosts_with_updates}</span>" Hosts with updates"</A>
                            <A href="/vms" attr:class="tile"><span class="count">{d.vms_running}</span>" of "{d.vms}" VMs running"</A>
                        </div>
                        <MemoryBars clusters=d.memory/>
                        {(!security.is_empty()).then(|| view! {
                            <section aria-label="Security errata">
                                <h2>"Security errata"</h2>
                                <ul class="security-errata">{security.into_iter().map(|(id, name, count)| view! {
                                    <li><A href=format!("/clusters/{id}")>{name}</A>
                                        {format!(": {count} applicable security errata")}</li>
                                }).collect_view()}</ul>
                            </section>
                        })}
                        <h2>"Hosts by status"</h2>
                        <ul class="status-counts">
                            {d.hosts_by_status.into_iter().map(|(status, count)| view! {
                                <li>
                                    <A href=format!("/hosts?status={status}")><HostStatusBadge status/></A>
                                    " " {count}
                                </li>
                            }).collect_view()}
                        </ul>
                    }.into_any(),
                }
            })}
        </Transition>
    }
}
