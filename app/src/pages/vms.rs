use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::{components::A, hooks::use_query_map};

use crate::api::{VmQuery, DEFAULT_PER_PAGE};
use crate::components::{
    gib, query_choice, query_page, query_text, ChoiceField, FilterBar, KeptField, LoadError,
    Loading, Pager, SearchField, VmStatusBadge,
};
use crate::rpc::list_vms;

#[component]
pub fn VmsPage() -> impl IntoView {
    let params = use_query_map();
    let query = Memo::new(move |_| {
        let params = params.read();
        VmQuery {
            host: query_text(&params, "host"),
            status: query_choice(&params, "status"),
            search: query_text(&params, "q"),
            page: query_page(&params),
            per_page: Some(DEFAULT_PER_PAGE),
        }
    });
    let vms = Resource::new(move || query.get(), list_vms);

    view! {
        <Title text="VMs"/>
        <h1>"Virtual Machines"</h1>
        <FilterBar label="Filter VMs" clear="/vms">
            <KeptField name="host" value=Signal::derive(move || query.read().host.clone())/>
            <SearchField label="Name" name="q" value=Signal::derive(move || query.read().search.clone())/>
            <ChoiceField label="Status" name="status" any="Any status"
                selected=Signal::derive(move || query.read().status)/>
        </FilterBar>
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
                                            <td><A href=format!("/vms/{}", vm.id)>{vm.name}</A></td>
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
