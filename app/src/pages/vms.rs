use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::{
    components::{Form, A},
    hooks::use_query_map,
};

use crate::api::{VmQuery, VmStatus};
use crate::components::{gib, LoadError, Loading, Pager, VmStatusBadge};
use crate::rpc::list_vms;

#[component]
pub fn VmsPage() -> impl IntoView {
    let params = use_query_map();
    let query = Memo::new(move |_| {
        let params = params.read();
        let text = |key: &str| params.get(key).filter(|value| !value.trim().is_empty());
        VmQuery {
            host: text("host"),
            status: text("status").and_then(|value| VmStatus::parse(&value)),
            search: text("q"),
            page: text("page").and_then(|value| value.parse().ok()),
            per_page: None,
        }
    });
    let vms = Resource::new(move || query.get(), list_vms);

    view! {
        <Title text="VMs"/>
        <h1>"Virtual Machines"</h1>
        <Form method="GET" action="" attr:class="filters" attr:aria-label="Filter VMs">
            {move || query.read().host.clone().map(|host| view! { <input type="hidden" name="host" value=host/> })}
            <label>"Name "
                <input type="search" name="q" prop:value=move || query.read().search.clone().unwrap_or_default()/>
            </label>
            <label>"Status "
                <select name="status">
                    <option value="">"Any status"</option>
                    {VmStatus::ALL.iter().map(|status| {
                        let status = *status;
                        view! {
                            <option value=status.as_str() selected=move || query.read().status == Some(status)>
                                {status.label()}
                            </option>
                        }
                    }).collect_view()}
                </select>
            </label>
            <button type="submit">"Filter"</button>
            <A href="/vms">"Clear"</A>
        </Form>
        <Suspense fallback=Loading>
            {move || Suspend::new(async move {
                match vms.await {
                    Err(error) => view! { <LoadError error/> }.into_any(),
                    Ok(page) => {
                        let pages = page.page_count();
                        view! {
                            <table class="grid">
                                <thead><tr>
                                    <th>"Name"</th><th>"Status"</th><th>"Host"</th><th>"Memory"</th>
                                    <th>"Migration"</th><th>"Migrations"</th>
                                </tr></thead>
                                <tbody>
                                    {page.items.into_iter().map(|vm| view! {
                                        <tr>
                                            <td>{vm.name}</td>
                                            <td><VmStatusBadge status=vm.status/></td>
                                            <td>{vm.host.map(|h| view! { <A href=format!("/hosts/{}", h.id)>{h.name}</A> })}</td>
                                            <td>{gib(vm.memory_mb)}</td>
                                            <td>{vm.migration.label()}</td>
                                            <td>{vm.migrations}</td>
                                        </tr>
                                    }).collect_view()}
                                </tbody>
                            </table>
                            <Pager page=page.page pages total=page.total/>
                        }.into_any()
                    }
                }
            })}
        </Suspense>
    }
}
