use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::{components::A, hooks::use_query_map};

use crate::api::{Caller, VmQuery};
use crate::components::{
    gib, query_choice, query_page, query_per_page, query_text, ChoiceField, FilterBar, KeptField,
    LoadError, Loading, MigrateTarget, Pager, Portal, SearchField, VmStatusBadge,
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
            per_page: Some(query_per_page(&params)),
        }
    });
    let portal = Portal::get();
    let vms = Resource::new(
        move || (query.get(), portal.version.get()),
        |(q, _)| list_vms(q),
    );

    view! {
        <Title text="VMs"/>
        <h1>"Virtual Machines"</h1>
        <FilterBar label="Filter VMs" clear="/vms">
            <KeptField name="host" value=Signal::derive(move || query.read().host.clone())/>
            <SearchField label="Name" name="q" value=Signal::derive(move || query.read().search.clone())/>
            <ChoiceField label="Status" name="status" any="Any status"
                selected=Signal::derive(move || query.read().status)/>
        </FilterBar>
        <Transition fallback=Loading>
            {move || Suspend::new(async move {
                let admin = portal.me.await.ok().flatten().as_ref().is_some_and(Caller::is_admin);
                match vms.await {
                    Err(error) => view! { <LoadError error/> }.into_any(),
                    Ok(page) => {
                        let pages = page.page_count();
                        view! {
                            <table class="grid">
                                <thead><tr>
                                    <th>"Name"</th><th>"Status"</th><th>"Host"</th><th>"Memory"</th>
                                    <th>"Migration"</th><th>"Migrations"</th>
                                    <th><span class="visually-hidden">"Actions"</span></th>
                                </tr></thead>
                                <tbody>
                                    {page.items.into_iter().map(|vm| {
                                        let target = MigrateTarget::of(&vm);
                                        let label = format!("Migrate {}", vm.name);
                                        view! {
                                        <tr>
                                            <td><A href=format!("/vms/{}", vm.id)>{vm.name}</A></td>
                                            <td><VmStatusBadge status=vm.status/></td>
                                            <td>{vm.host.map(|h| view! { <A href=format!("/hosts/{}", h.id)>{h.name}</A> })}</td>
                                            <td>{gib(vm.memory_mb)}</td>
                                            <td>{vm.migration.label()}</td>
                                            <td>{vm.migrations}</td>
                                            <td>{(admin && target.is_some()).then(|| view! {
                                                <button type="button" class="small" aria-label=label
                                                    on:click=move |_| portal.migrate_dialog.set(target.clone())>
                                                    "Migrate…"
                                                </button>
                                            })}</td>
                                        </tr>
                                    }}).collect_view()}
                                </tbody>
                            </table>
                            <Pager page=page.page pages total=page.total/>
                        }.into_any()
                    }
                }
            })}
        </Transition>
    }
}
