use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::{
    components::{Form, A},
    hooks::use_query_map,
};

use crate::api::{EventQuery, Severity};
use crate::components::{LoadError, Loading, Pager};
use crate::rpc::list_events;

/// The event log, newest first.
#[component]
pub fn EventsPage() -> impl IntoView {
    let params = use_query_map();
    let query = Memo::new(move |_| {
        let params = params.read();
        let text = |key: &str| params.get(key).filter(|value| !value.trim().is_empty());
        EventQuery {
            after: None,
            severity: text("severity").and_then(|value| Severity::parse(&value)),
            correlation_id: text("correlation_id"),
            page: text("page").and_then(|value| value.parse().ok()),
            per_page: None,
        }
    });
    let events = Resource::new(move || query.get(), list_events);

    view! {
        <Title text="Events"/>
        <h1>"Events"</h1>
        <Form method="GET" action="" attr:class="filters" attr:aria-label="Filter events">
            <label>"Severity "
                <select name="severity">
                    <option value="">"Any severity"</option>
                    {Severity::ALL.iter().map(|severity| {
                        let severity = *severity;
                        view! {
                            <option value=severity.as_str() selected=move || query.read().severity == Some(severity)>
                                {severity.label()}
                            </option>
                        }
                    }).collect_view()}
                </select>
            </label>
            <label>"Correlation id "
                <input type="search" name="correlation_id"
                    prop:value=move || query.read().correlation_id.clone().unwrap_or_default()/>
            </label>
            <button type="submit">"Filter"</button>
            <A href="/events">"Clear"</A>
        </Form>
        <Suspense fallback=Loading>
            {move || Suspend::new(async move {
                match events.await {
                    Err(error) => view! { <LoadError error/> }.into_any(),
                    Ok(page) => {
                        let pages = page.page_count();
                        view! {
                            <table class="grid">
                                <thead><tr>
                                    <th>"Time"</th><th>"Severity"</th><th>"Message"</th><th>"User"</th>
                                </tr></thead>
                                <tbody>
                                    {page.items.into_iter().map(|event| view! {
                                        <tr class=format!("sev-{}", event.severity)>
                                            <td><time>{event.time}</time></td>
                                            <td>{event.severity.label()}</td>
                                            <td>{event.message}</td>
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
