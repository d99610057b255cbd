use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::{
    components::A,
    hooks::{use_params_map, use_query_map},
    params::ParamsMap,
};

use super::host_errata::{errata_tab_title, ErrataState, HostErrata};
use crate::api::{Host, HostQuery, HostSort};
use crate::components::{
    gib, query_choice, query_page, query_per_page, query_text, ChoiceField, EngineCrown, FilterBar,
    HaLine, HostContextMenu, HostMenuBar, HostProgress, HostStatusBadge, LoadError, Loading,
    MenuAt, Pager, Portal, SearchField, UpgradeAlert,
};
use crate::rpc::{get_host, get_host_errata, list_clusters, list_hosts};

/// Reads the hosts list's URL (`?cluster=&status=&updates=1&q=&sort=&dir=&page=`) into a query.
/// The URL is the single source of truth, so every filtered view can be linked and reloaded.
fn host_query(params: &ParamsMap) -> HostQuery {
    HostQuery {
        cluster: query_text(params, "cluster"),
        status: query_choice(params, "status"),
        has_updates: query_text(params, "updates").is_some(),
        search: query_text(params, "q"),
        sort: query_choice(params, "sort"),
        desc: params.get_str("dir") == Some("desc"),
        page: query_page(params),
        per_page: Some(query_per_page(params)),
    }
}

#[component]
pub fn HostsPage() -> impl IntoView {
    let params = use_query_map();
    let query = Memo::new(move |_| host_query(&params.read()));
    let portal = Portal::get();
    let hosts = Resource::new(
        move || (query.get(), portal.version.get()),
        |(q, _)| list_hosts(q),
    );
    let selected = RwSignal::new(None::<String>);
    let menu = RwSignal::new(None::<MenuAt>);
    let clusters = Resource::new(|| (), |_| list_clusters());

    view! {
        <Title text="Hosts"/>
        <h1>"Hosts"</h1>
        <FilterBar label="Filter hosts" clear="/hosts">
            <SearchField label="Name" name="q" value=Signal::derive(move || query.read().search.clone())/>
            <label>"Cluster "
                <select name="cluster">
                    <option value="">"All clusters"</option>
                    <Suspense fallback=|| ()>
                        {move || Suspend::new(async move {
                            let selected = query.read_untracked().cluster.clone();
                            clusters.await.unwrap_or_default().into_iter().map(|c| {
                                let is_selected = selected.as_deref() == Some(c.id.as_str());
                                view! { <option value=c.id selected=is_selected>{c.name}</option> }
                            }).collect_view()
                        })}
                    </Suspense>
                </select>
            </label>
            <ChoiceField label="Status" name="status" any="Any status"
                selected=Signal::derive(move || query.read().status)/>
            <label class="check">
                <input type="checkbox" name="updates" value="1" prop:checked=move || query.read().has_updates/>
                " Has updates"
            </label>
        </FilterBar>
        <Transition fallback=Loading>
            {move || Suspend::new(async move {
                let me = portal.me.await.ok().flatten();
                match hosts.await {
                    Err(error) => view! { <LoadError error/> }.into_any(),
                    Ok(page) => {
                        let pages = page.page_count();
                        let empty = page.items.is_empty();
                        let items = StoredValue::new(page.items.clone());
                        let chosen = Signal::derive(move || {
                            let id = selected.get()?;
                            items.with_value(|hosts| hosts.iter().find(|h| h.id == id).cloned())
                        });
                        view! {
                            <HostMenuBar host=chosen me=me.clone()/>
                            <table class="grid selectable" id="hosts-table">
                                <thead><tr>
                                    <SortHeader column=HostSort::Name/>
                                    <SortHeader column=HostSort::Cluster/>
                                    <SortHeader column=HostSort::Status/>
                                    <th>"Type"</th>
                                    <SortHeader column=HostSort::Os/>
                                    <SortHeader column=HostSort::VmCount/>
                                    <SortHeader column=HostSort::Memory/>
                                    <th>"Updates"</th>
                                    <th><abbr title="Hosted engine HA">"HA"</abbr></th>
                                </tr></thead>
                                <tbody>
                                    {page.items.into_iter().map(|host| view! { <HostRow host selected menu/> }).collect_view()}
                                </tbody>
                            </table>
                            {empty.then(|| view! { <p class="muted">"No host matches these filters."</p> })}
                            <Pager page=page.page pages total=page.total/>
                            <HostContextMenu menu me/>
                        }.into_any()
                    }
                }
            })}
        </Transition>
    }
}

/// A column header that sorts by its column; a second click reverses the order.
#[component]
fn SortHeader(column: HostSort) -> impl IntoView {
    let params = use_query_map();
    let state = move || {
        let params = params.read();
        let current = params
            .get_str("sort")
            .and_then(HostSort::parse)
            .unwrap_or(HostSort::Name);
        (current == column, params.get_str("dir") == Some("desc"))
    };
    let href = move || {
        let (active, desc) = state();
        let mut next = params.get();
        next.replace("sort", column.as_str().to_string());
        next.replace(
            "dir",
            if active && !desc { "desc" } else { "asc" }.to_string(),
        );
        next.remove("page");
        next.to_query_string()
    };
    let aria_sort = move || match state() {
        (true, true) => "descending",
        (true, false) => "ascending",
        _ => "none",
    };
    view! {
        <th aria-sort=aria_sort>
            <A href=href>{column.label()}</A>
        </th>
    }
}

/// Opens a host's menu from the keyboard (the context-menu key or Shift+F10) at the row.
fn keyboard_menu(ev: &leptos::ev::KeyboardEvent) -> Option<(i32, i32)> {
    use leptos::wasm_bindgen::JsCast;
    if ev.key() != "ContextMenu" && !(ev.shift_key() && ev.key() == "F10") {
        return None;
    }
    let row = ev.current_target()?.dyn_into::<web_sys::Element>().ok()?;
    let rect = row.get_bounding_client_rect();
    Some((rect.left() as i32 + 24, rect.bottom() as i32))
}

/// ArrowDown and ArrowUp on a row move the focus (and so the selection) to the next or
/// previous row; true when the key was one of them.
fn step_row(ev: &leptos::ev::KeyboardEvent) -> bool {
    use leptos::wasm_bindgen::JsCast;
    let Some(row) = ev
        .current_target()
        .and_then(|t| t.dyn_into::<web_sys::Element>().ok())
    else {
        return false;
    };
    let next = match ev.key().as_str() {
        "ArrowDown" => row.next_element_sibling(),
        "ArrowUp" => row.previous_element_sibling(),
        _ => return false,
    };
    if let Some(next) = next.and_then(|el| el.dyn_into::<web_sys::HtmlElement>().ok()) {
        let _ = next.focus();
    }
    true
}

/// A host row: focus or a click selects it, right click (or the context-menu key) opens its menu.
#[component]
fn HostRow(
    host: Host,
    selected: RwSignal<Option<String>>,
    menu: RwSignal<Option<MenuAt>>,
) -> impl IntoView {
    let href = format!("/hosts/{}", host.id);
    let name = host.name.clone();
    let id = host.id.clone();
    let is_selected = {
        let id = id.clone();
        move || selected.get().as_deref() == Some(id.as_str())
    };
    let select = {
        let id = id.clone();
        move || selected.set(Some(id.clone()))
    };
    let on_focus = select.clone();
    let for_mouse = host.clone();
    let for_keys = host.clone();
    view! {
        <tr data-host=host.name.clone() data-host-id=host.id.clone() tabindex="0"
            aria-selected=move || is_selected().to_string()
            on:click=move |_| select()
            on:focus=move |_| on_focus()
            on:contextmenu=move |ev| {
                ev.prevent_default();
                selected.set(Some(for_mouse.id.clone()));
                menu.set(Some(MenuAt { host: for_mouse.clone(), x: ev.client_x(), y: ev.client_y() }));
            }
            on:keydown=move |ev| {
                if let Some((x, y)) = keyboard_menu(&ev) {
                    ev.prevent_default();
                    selected.set(Some(for_keys.id.clone()));
                    menu.set(Some(MenuAt { host: for_keys.clone(), x, y }));
                } else if step_row(&ev) {
                    ev.prevent_default();
                }
            }>
            <td><A href=href>{name}</A></td>
            <td>{host.cluster.name.clone()}</td>
            <td><HostStatusBadge status=host.status/></td>
            <td>{host.host_type.label()}</td>
            <td>{host.os.clone()}</td>
            <td>{host.vm_count}</td>
            <td>{format!("{} / {}", gib(host.memory_mb.used), gib(host.memory_mb.total))}</td>
            <td>{host.updates_available.then(|| view! {
                <span class="updates-icon" title="Updates available" aria-label="Updates available">"⬆"</span>
            })}</td>
            <td class="ha">
                {host.hosted_engine.filter(|he| he.configured).map(|he| {
                    if he.active { format!("{}", he.score) } else { "—".to_string() }
                })}
                <EngineCrown host=host.clone()/>
            </td>
        </tr>
    }
}

#[component]
pub fn HostPage() -> impl IntoView {
    let params = use_params_map();
    let portal = Portal::get();
    let host = Resource::new(
        move || {
            (
                params.read().get("id").unwrap_or_default(),
                portal.version.get(),
            )
        },
        |(id, _)| get_host(id),
    );
    let menu = RwSignal::new(None::<MenuAt>);
    let tab = RwSignal::new(HostTab::General);
    let errata_state = ErrataState::new();
    let errata = Resource::new(
        move || {
            (
                params.read().get("id").unwrap_or_default(),
                portal.version.get(),
            )
        },
        |(id, _)| get_host_errata(id),
    );
    view! {
        <Transition fallback=Loading>
            {move || Suspend::new(async move {
                let me = portal.me.await.ok().flatten();
                let title = errata_tab_title(errata.await.ok().flatten().as_deref());
                match host.await {
                    Err(error) => view! { <Title text="Host"/><LoadError error/> }.into_any(),
                    Ok(host) => {
                        let for_menu = host.clone();
                        let shown = host.clone();
                        view! {
                            <Title text=host.name.clone()/>
                            <p class="crumbs"><A href="/hosts">"Hosts"</A>" / "{host.name.clone()}</p>
                            <h1 on:contextmenu=move |ev| {
                                ev.prevent_default();
                                menu.set(Some(MenuAt { host: for_menu.clone(), x: ev.client_x(), y: ev.client_y() }));
                            }>{host.name.clone()} " " <HostStatusBadge status=host.status/></h1>
                            <HostMenuBar host=Signal::derive(move || Some(shown.clone())) me=me.clone()/>
                            <HostTabs tab errata_title=title/>
                            <HostProgress host=host.clone()/>
                            <UpgradeAlert host=host.clone() me=me.clone()/>
                            {match tab.get() {
                                HostTab::General => view! { <HostGeneral host/> }.into_any(),
                                HostTab::Errata => view! { <HostErrata host me=me.clone() errata state=errata_state/> }.into_any(),
                            }}
                            <HostContextMenu menu me/>
                        }.into_any()
                    }
                }
            })}
        </Transition>
    }
}

/// The host page's sub-tabs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum HostTab {
    General,
    Errata,
}

/// The tab list: a click, or Left/Right on a tab, changes the tab.
#[component]
fn HostTabs(tab: RwSignal<HostTab>, errata_title: String) -> impl IntoView {
    let tabs = [
        (HostTab::General, "General".to_string()),
        (HostTab::Errata, errata_title),
    ];
    let keys = move |ev: leptos::ev::KeyboardEvent| {
        let next = match (ev.key().as_str(), tab.get_untracked()) {
            ("ArrowRight", HostTab::General) | ("ArrowLeft", HostTab::General) => HostTab::Errata,
            ("ArrowRight", HostTab::Errata) | ("ArrowLeft", HostTab::Errata) => HostTab::General,
            _ => return,
        };
        ev.prevent_default();
        tab.set(next);
        crate::components::focus_selector(".tabs [aria-selected=\"true\"]");
    };
    view! {
        <div class="tabs" role="tablist" on:keydown=keys>
            {tabs.into_iter().map(|(which, title)| {
                let active = move || tab.get() == which;
                view! {
                    <button type="button" role="tab" class=move || if active() { "tab active" } else { "tab" }
                        aria-selected=move || active().to_string()
                        tabindex=move || if active() { "0" } else { "-1" }
                        on:click=move |_| tab.set(which)>{title}</button>
                }
            }).collect_view()}
        </div>
    }
}

/// The General sub-tab: what an admin needs to know about a host at a glance.
#[component]
fn HostGeneral(host: Host) -> impl IntoView {
    let levels = if host.supported_cluster_levels.is_empty() {
        "—".to_string()
    } else {
        host.supported_cluster_levels.join(", ")
    };
    let last_check = host
        .last_update_check
        .clone()
        .unwrap_or_else(|| "Never".to_string());
    view! {
        <section role="tabpanel" aria-label="General" class="general">
            <HaLine host=host.clone()/>
            <dl class="facts">
                <dt>"Name"</dt><dd>{host.name.clone()}</dd>
                <dt>"Address"</dt><dd>{host.address.clone()}</dd>
                <dt>"Cluster"</dt><dd><A href=format!("/clusters/{}", host.cluster.id)>{host.cluster.name.clone()}</A></dd>
                <dt>"Status"</dt><dd>{host.status.label()}</dd>
                <dt>"Type"</dt><dd>{host.host_type.label()}</dd>
                <dt>"OS"</dt><dd>{host.os.clone()}</dd>
                <dt>"Memory"</dt><dd>{format!("{} used of {}", gib(host.memory_mb.used), gib(host.memory_mb.total))}</dd>
                <dt>"VMs"</dt><dd><A href=format!("/vms?host={}", host.id)>{host.vm_count}</A></dd>
                <dt>"Supported Cluster Levels"</dt><dd>{levels}</dd>
                {(!host.levels_after_upgrade.is_empty()).then(|| view! {
                    <dt>"Cluster Levels After Upgrade"</dt>
                    <dd>{host.levels_after_upgrade.join(", ")}</dd>
                })}
                <dt>"Last Update Check"</dt><dd>{last_check}</dd>
                <dt>"Events"</dt><dd><A href=format!("/events?host={}", host.id)>"Events of this host"</A></dd>
            </dl>
        </section>
    }
}
