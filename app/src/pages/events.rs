use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;

use crate::api::EventQuery;
use crate::components::{
    query_choice, query_page, query_per_page, query_text, ChoiceField, FilterBar, KeptField,
    LoadError, Loading, Pager, SearchField,
};
use crate::rpc::list_events;

/// The event log, newest first.
#[component]
pub fn EventsPage() -> impl IntoView {
    let params = use_query_map();
    let query = Memo::new(move |_| {
        let params = params.read();
        EventQuery {
            after: None,
            severity: query_choice(&params, "severity"),
            correlation_id: query_text(&params, "correlation_id"),
            host: query_text(&params, "host"),
            cluster: query_text(&params, "cluster"),
            page: query_page(&params),
            per_page: Some(query_per_page(&params)),
        }
    });
    let events = Resource::new(move || query.get(), list_events);

    view! {
        <Title text="Events"/>
        <h1>"Events"</h1>
        <FilterBar label="Filter events" clear="/events">
            <KeptField name="host" value=Signal::derive(move || query.read().host.clone())/>
            <KeptField name="cluster" value=Signal::derive(move || query.read().cluster.clone())/>
            <ChoiceField label="Severity" name="severity" any="Any severity"
                selected=Signal::derive(move || query.read().severity)/>
            <SearchField label="Correlation id" name="correlation_id"
                value=Signal::derive(move || query.read().correlation_id.clone())/>
        </FilterBar>
        <Suspense fallback=Loading>
            {move || Suspend::new(async move {
                match events.await {
                    Err(error) => view! { <LoadError error/> }.into_any(),
                    Ok(page) => {
                        let pages = page.page_count();
                        view! {
                            <table class="grid">
                                <thead><tr>
                                    <th>"Time"</th><th>"Severity"</th><th>"Message"</th><th>"Host"</th><th>"User"</th>
                                </tr></thead>
                                <tbody>
                                    {page.items.into_iter().map(|event| view! {
                                        <tr class=format!("sev-{}", event.severity)>
                                            <td><time>{event.time}</time></td>
                                            <td>{event.severity.label()}</td>
                                            <td>{event.message}</td>
                                            <td>{event.host.map(|h| h.name)}</td>
                                            <td>{event.user}</td>
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
