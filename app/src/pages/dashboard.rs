use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::components::A;

use crate::components::{HostStatusBadge, LoadError, Loading};
use crate::rpc::get_dashboard;

#[component]
pub fn DashboardPage() -> impl IntoView {
    let data = Resource::new(|| (), |_| get_dashboard());
    view! {
        <Title text="Dashboard"/>
        <h1>"Dashboard"</h1>
        <Suspense fallback=Loading>
            {move || Suspend::new(async move {
                match data.await {
                    Err(error) => view! { <LoadError error/> }.into_any(),
                    Ok(d) => view! {
                        <div class="tiles">
                            <A href="/clusters" attr:class="tile"><span class="count">{d.clusters}</span>" Clusters"</A>
                            <A href="/hosts" attr:class="tile"><span class="count">{d.hosts}</span>" Hosts"</A>
                            <A href="/hosts?updates=1" attr:class="tile"><span class="count">{d.hosts_with_updates}</span>" Hosts with updates"</A>
                            <A href="/vms" attr:class="tile"><span class="count">{d.vms_running}</span>" of "{d.vms}" VMs running"</A>
                        </div>
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
        </Suspense>
    }
}
