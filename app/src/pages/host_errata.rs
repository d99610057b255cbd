//! The host page's Errata tab (issue 21, seed 001 step 7): the host's content provider link
//! and whether content can be installed, the errata its provider offers (filters by type and
//! severity, the description of the selected one), and installing chosen errata after a
//! confirmation. The rules (who may, what applies) are the service's.

use std::collections::BTreeSet;

use leptos::prelude::*;

use crate::api::{
    Caller, ErrataCounts, ErrataInstall, Erratum, ErratumType, Host, HostContent, HostContentLink,
    Provider,
};
use crate::components::{error_text, LoadError, Loading, Modal, Portal};
use crate::rpc::{get_host_content, get_providers, install_errata, link_host_content};

/// The tab's title: "Errata (2 security, 1 bug fix, 0 enhancement)".
pub fn errata_tab_title(errata: Option<&[Erratum]>) -> String {
    match errata {
        Some(errata) => {
            let counts = ErrataCounts::of(errata);
            format!(
                "Errata ({} security, {} bug fix, {} enhancement)",
                counts.security, counts.bugfix, counts.enhancement
            )
        }
        None => "Errata".to_string(),
    }
}

/// What the tab remembers while the host page re-renders under live events: its filters, the
/// chosen errata, the selected one, an open confirmation.
#[derive(Clone, Copy)]
pub struct ErrataState {
    kind: RwSignal<Option<ErratumType>>,
    severity: RwSignal<String>,
    chosen: RwSignal<BTreeSet<String>>,
    selected: RwSignal<Option<Erratum>>,
    confirming: RwSignal<bool>,
}

impl Default for ErrataState {
    fn default() -> Self {
        Self::new()
    }
}

impl ErrataState {
    pub fn new() -> Self {
        ErrataState {
            kind: RwSignal::new(None),
            severity: RwSignal::new(String::new()),
            chosen: RwSignal::new(BTreeSet::new()),
            selected: RwSignal::new(None),
            confirming: RwSignal::new(false),
        }
    }
}

#[component]
pub fn HostErrata(
    host: Host,
    me: Option<Caller>,
    errata: Resource<Result<Option<Vec<Erratum>>, ServerFnError>>,
    state: ErrataState,
) -> impl IntoView {
    let portal = Portal::get();
    let admin = me.as_ref().is_some_and(Caller::is_admin);
    let host_id = host.id.clone();
    let content = Resource::new(
        move || (host_id.clone(), portal.version.get()),
        |(id, _)| get_host_content(id),
    );
    let ErrataState {
        kind,
        severity,
        chosen,
        selected,
        confirming,
    } = state;
    let for_link = host.clone();
    let for_install = host.clone();
    view! {
        <section role="tabpanel" aria-label="Errata" class="errata">
            <Transition fallback=Loading>
                {move || {
                    let host = for_link.clone();
                    Suspend::new(async move {
                        match content.await {
                            Err(error) => view! { <LoadError error/> }.into_any(),
                            Ok(content) => view! { <ContentLine host content admin/> }.into_any(),
                        }
                    })
                }}
            </Transition>
            <div class="filters" role="group" aria-label="Errata filters">
                <label>"Type "
                    <select aria-label="Type" prop:value=move || kind.get().map(|k| k.as_str()).unwrap_or_default() on:change=move |ev| kind.set(ErratumType::parse(&event_target_value(&ev)))>
                        <option value="">"All types"</option>
                        {ErratumType::ALL.iter().map(|t| view! { <option value=t.as_str()>{t.label()}</option> }).collect_view()}
                    </select>
                </label>
                <label>"Severity "
                    <select aria-label="Severity" prop:value=move || severity.get() on:change=move |ev| severity.set(event_target_value(&ev))>
                        <option value="">"All severities"</option>
                        {["Critical", "Important", "Moderate", "Low", "None"].into_iter().map(|s| view! { <option value=s>{s}</option> }).collect_view()}
                    </select>
                </label>
                {admin.then(|| view! {
                    <button type="button" class="primary" prop:disabled=move || chosen.with(BTreeSet::is_empty)
                        on:click=move |_| confirming.set(true)>
                        {move || format!("Install selected ({})", chosen.with(BTreeSet::len))}
                    </button>
                })}
            </div>
            <Transition fallback=Loading>
                {move || Suspend::new(async move {
                    match errata.await {
                        Err(error) => view! { <LoadError error/> }.into_any(),
                        // Not linked: the line above says so.
                        Ok(None) => ().into_any(),
                        Ok(Some(list)) => {
                            let shown: Vec<Erratum> = list.into_iter().filter(|e| {
                                kind.get().is_none_or(|k| e.kind == k)
                                    && severity.with(|s| s.is_empty() || e.severity.eq_ignore_ascii_case(s)
                                        || (s == "None" && e.severity.is_empty()))
                            }).collect();
                            view! { <ErrataTable shown chosen selected admin/> }.into_any()
                        }
                    }
                })}
            </Transition>
            {move || selected.get().map(|e| view! {
                <article class="erratum-details" aria-label="Erratum details">
                    <h3>{e.id.clone()} ": " {e.title.clone()}</h3>
                    <p>{e.description.clone()}</p>
                    <p>"Packages: " {e.packages.iter().map(|p| format!("{} {}", p.name, p.version)).collect::<Vec<_>>().join(", ")}</p>
                </article>
            })}
            {move || confirming.get().then(|| {
                let host = for_install.clone();
                view! { <InstallDialog host chosen confirming/> }
            })}
        </section>
    }
}

#[component]
fn ErrataTable(
    shown: Vec<Erratum>,
    chosen: RwSignal<BTreeSet<String>>,
    selected: RwSignal<Option<Erratum>>,
    admin: bool,
) -> impl IntoView {
    if shown.is_empty() {
        return view! { <p>"No errata apply to this host with these filters."</p> }.into_any();
    }
    view! {
        <table class="grid" aria-label="Errata">
            <thead><tr>
                {admin.then(|| view! { <th><span class="sr-only">"Install"</span></th> })}
                <th>"Id"</th><th>"Type"</th><th>"Severity"</th><th>"Title"</th><th>"Issued"</th>
            </tr></thead>
            <tbody>{shown.into_iter().map(|e| {
                let id = e.id.clone();
                let (for_check, for_toggle) = (id.clone(), id.clone());
                let is_selected = {
                    let id = id.clone();
                    move || selected.with(|s| s.as_ref().is_some_and(|s| s.id == id))
                };
                let (for_click, for_focus) = (e.clone(), e.clone());
                view! {
                    <tr data-erratum=id.clone() tabindex="0" aria-selected=move || is_selected().to_string()
                        on:click=move |_| selected.set(Some(for_click.clone()))
                        on:focus=move |_| selected.set(Some(for_focus.clone()))>
                        {admin.then(|| view! {
                            <td><input type="checkbox" aria-label=format!("Install {id}")
                                prop:checked=move || chosen.with(|c| c.contains(&for_check))
                                on:click=|ev| ev.stop_propagation()
                                on:change=move |_| chosen.update(|c| {
                                    if !c.remove(&for_toggle) {
                                        c.insert(for_toggle.clone());
                                    }
                                })/></td>
                        })}
                        <td>{e.id.clone()}</td>
                        <td><span class=format!("erratum-type {}", e.kind.as_str())>{e.kind.label()}</span></td>
                        <td>{if e.severity.is_empty() { "None".to_string() } else { e.severity.clone() }}</td>
                        <td>{e.title.clone()}</td>
                        <td>{e.issued.clone()}</td>
                    </tr>
                }
            }).collect_view()}</tbody>
        </table>
    }
    .into_any()
}

/// The host's provider and content host, whether content can be installed, and (for admins)
/// linking it to a provider.
#[component]
fn ContentLine(host: Host, content: HostContent, admin: bool) -> impl IntoView {
    let portal = Portal::get();
    let linked = content.provider.clone().map(|p| {
        format!(
            "Content provider: {} (content host {})",
            p.name,
            content.content_host.clone().unwrap_or_default()
        )
    });
    let install = if content.can_install {
        "Content can be installed on this host.".to_string()
    } else {
        format!(
            "Content cannot be installed: {}",
            content.reason.clone().unwrap_or_default()
        )
    };
    let providers = Resource::new(|| (), |_| get_providers());
    let provider = RwSignal::new(String::new());
    let content_host = RwSignal::new(String::new());
    let host_id = host.id.clone();
    let link = Callback::new(move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let request = HostContentLink {
            provider: Some(provider.get_untracked()).filter(|p| !p.is_empty()),
            content_host: Some(content_host.get_untracked()).filter(|c| !c.trim().is_empty()),
        };
        let id = host_id.clone();
        leptos::task::spawn_local(async move {
            match link_host_content(id, request).await {
                Ok(_) => {
                    portal
                        .notice
                        .set(Some("The host's content link is saved.".into()));
                    portal.version.update(|v| *v += 1);
                }
                Err(error) => portal.notice.set(Some(error_text(error))),
            }
        });
    });
    view! {
        <div class="content-link">
            <p>{linked.unwrap_or_else(|| "Not linked to a content provider.".to_string())}</p>
            {content.provider.is_some().then(|| view! {
                <p class=if content.can_install { "ok" } else { "alert" }>{install}</p>
            })}
            {admin.then(|| view! {
                <Transition>
                    {move || Suspend::new(async move {
                        let providers: Vec<Provider> = providers.await.unwrap_or_default();
                        view! {
                            <form class="form inline" aria-label="Content provider link" on:submit=move |ev| link.run(ev)>
                                <label>"Provider "
                                    <select aria-label="Provider" on:change=move |ev| provider.set(event_target_value(&ev))>
                                        <option value="">"None (unlink)"</option>
                                        {providers.into_iter().map(|p| view! {
                                            <option value=p.id.clone()>{p.name.clone()}</option>
                                        }).collect_view()}
                                    </select>
                                </label>
                                <label>"Content host id (empty: by name) "
                                    <input type="text" prop:value=move || content_host.get()
                                        on:input=move |ev| content_host.set(event_target_value(&ev))/>
                                </label>
                                <button type="submit">"Save link"</button>
                            </form>
                        }
                    })}
                </Transition>
            })}
        </div>
    }
}

/// "Install N errata on host X?": what happens to the host, then the job.
#[component]
fn InstallDialog(
    host: Host,
    chosen: RwSignal<BTreeSet<String>>,
    confirming: RwSignal<bool>,
) -> impl IntoView {
    let portal = Portal::get();
    let ids: Vec<String> = chosen.get_untracked().into_iter().collect();
    let count = ids.len();
    let list = ids.join(", ");
    let close = Callback::new(move |()| confirming.set(false));
    let title = format!("Install {count} errata on {}?", host.name);
    let install = move |_| {
        let request = ErrataInstall {
            errata: ids.clone(),
        };
        portal.follow(
            &host.id,
            format!("Installing {count} errata on {}…", host.name),
            install_errata(host.id.clone(), request),
        );
        chosen.set(BTreeSet::new());
        confirming.set(false);
    };
    let evacuate = if host.vm_count > 0 {
        format!(
            "Its {} VMs migrate to other hosts and it moves to maintenance; ",
            host.vm_count
        )
    } else {
        "It moves to maintenance; ".to_string()
    };
    view! {
        <Modal labelledby="install-errata-title" on_close=close>
            <h2 id="install-errata-title">{title}</h2>
            <p>{list}</p>
            <p>{evacuate}"the content provider installs the errata, and the host is activated."</p>
            <div class="buttons">
                <button type="button" class="primary" on:click=install>"Install"</button>
                <button type="button" on:click=move |_| close.run(())>"Cancel"</button>
            </div>
        </Modal>
    }
}
