//! What can be done to a host: the menu bar buttons, the right-click menu, the "Upgrade is
//! available." alert and the upgrade dialog. Every one is enabled exactly when the action is
//! allowed for this host and this user; the server checks again.

use leptos::prelude::*;

use super::hosted_engine::global_ha_action;
use super::modal::{elements, focus_selector, focused, Modal};
use super::portal::Portal;
use crate::api::{Caller, Host, HostReinstall, HostStatus, HostType, Job};

/// Where a host's right-click menu is open.
#[derive(Clone, Debug)]
pub struct MenuAt {
    pub host: Host,
    pub x: i32,
    pub y: i32,
}

/// Maintenance is for hosts in service (or failed ones being repaired).
fn can_enter_maintenance(host: &Host) -> bool {
    matches!(
        host.status,
        HostStatus::Up | HostStatus::NonOperational | HostStatus::InstallFailed
    )
}

fn can_reinstall(host: &Host) -> bool {
    host.status.allows_reinstall()
}

fn is_admin(me: &Option<Caller>) -> bool {
    me.as_ref().is_some_and(Caller::is_admin)
}

/// "Check for Upgrade", "Upgrade", "Maintenance" and "Activate" for the selected host.
#[component]
pub fn HostMenuBar(host: Signal<Option<Host>>, me: Option<Caller>) -> impl IntoView {
    let portal = Portal::get();
    let admin = is_admin(&me);
    let check_disabled =
        move || !admin || !host.with(|h| h.as_ref().is_some_and(|h| h.status.allows_upgrade()));
    let upgrade_disabled =
        move || !admin || !host.with(|h| h.as_ref().is_some_and(Host::can_upgrade));
    let maintenance_disabled =
        move || !admin || !host.with(|h| h.as_ref().is_some_and(can_enter_maintenance));
    let activate_disabled = move || {
        !admin
            || !host.with(|h| {
                h.as_ref()
                    .is_some_and(|h| h.status == HostStatus::Maintenance)
            })
    };
    let reinstall_disabled =
        move || !admin || !host.with(|h| h.as_ref().is_some_and(can_reinstall));
    view! {
        <div class="menubar" role="toolbar" aria-label="Host actions">
            <button type="button" disabled=check_disabled
                on:click=move |_| if let Some(h) = host.get_untracked() { portal.check_host(&h) }>
                "Check for Upgrade"
            </button>
            <button type="button" disabled=upgrade_disabled
                on:click=move |_| portal.upgrade_dialog.set(host.get_untracked())>
                "Upgrade"
            </button>
            <button type="button" disabled=maintenance_disabled
                on:click=move |_| if let Some(h) = host.get_untracked() { portal.deactivate(&h) }>
                "Maintenance"
            </button>
            <button type="button" disabled=activate_disabled
                on:click=move |_| if let Some(h) = host.get_untracked() { portal.activate(&h) }>
                "Activate"
            </button>
            <button type="button" disabled=reinstall_disabled
                on:click=move |_| portal.reinstall_dialog.set(host.get_untracked())>
                "Reinstall"
            </button>
            // Only for hosted-engine hosts (seed 004): it asks first.
            {move || host.get().and_then(|h| {
                let (label, enable) = global_ha_action(&h)?;
                Some(view! {
                    <button type="button" disabled=!admin
                        on:click=move |_| portal.global_ha_dialog.set(Some((h.clone(), enable)))>
                        {label}
                    </button>
                })
            })}
        </div>
    }
}

/// The right-click menu of a host; from the keyboard, the context-menu key or Shift+F10 on a
/// row opens it, the arrows (and Home, End) move between its items, Enter runs one, Escape or
/// Tab closes it and gives the focus back to the row.
#[component]
pub fn HostContextMenu(menu: RwSignal<Option<MenuAt>>, me: Option<Caller>) -> impl IntoView {
    let portal = Portal::get();
    let admin = is_admin(&me);
    let close = move || menu.set(None);
    let outside = window_event_listener(leptos::ev::click, move |_| menu.set(None));
    on_cleanup(move || outside.remove());
    let holder = NodeRef::<leptos::html::Div>::new();
    Effect::new(move |_| {
        if let Some(div) = holder.get() {
            move_focus(&div, Key::Home);
        }
    });
    move || {
        menu.get().map(|at| {
            let host = at.host.clone();
            let label = format!("Actions for {}", host.name);
            let row = row_selector(&host);
            let for_check = host.clone();
            let check_ok = admin && host.status.allows_upgrade();
            let upgrade_ok = admin && host.can_upgrade();
            let maintenance_ok = admin && can_enter_maintenance(&host);
            let activate_ok = admin && host.status == HostStatus::Maintenance;
            let reinstall_ok = admin && can_reinstall(&host);
            let for_maintenance = host.clone();
            let for_activate = host.clone();
            let for_reinstall = host.clone();
            let global_ha = global_ha_action(&host).map(|(label, enable)| {
                let for_ha = host.clone();
                view! {
                    <button type="button" role="menuitem" disabled=!admin
                        on:click=move |_| { close(); portal.global_ha_dialog.set(Some((for_ha.clone(), enable))); }>
                        {label}
                    </button>
                }
            });
            view! {
                <div class="context-menu" role="menu" aria-label=label node_ref=holder
                    style:left=format!("{}px", at.x) style:top=format!("{}px", at.y)
                    on:keydown=move |ev| {
                        let Some(div) = holder.get_untracked() else { return };
                        match ev.key().as_str() {
                            "ArrowDown" => move_focus(&div, Key::Next),
                            "ArrowUp" => move_focus(&div, Key::Previous),
                            "Home" => move_focus(&div, Key::Home),
                            "End" => move_focus(&div, Key::End),
                            "Escape" | "Tab" => {
                                close();
                                focus_selector(&row);
                            }
                            _ => return,
                        }
                        ev.prevent_default();
                    }>
                    <button type="button" role="menuitem" disabled=!check_ok
                        on:click=move |_| { close(); portal.check_host(&for_check); }>
                        "Check for Upgrade"
                    </button>
                    <button type="button" role="menuitem" disabled=!upgrade_ok
                        on:click=move |_| { close(); portal.upgrade_dialog.set(Some(host.clone())); }>
                        "Upgrade"
                    </button>
                    <button type="button" role="menuitem" disabled=!maintenance_ok
                        on:click=move |_| { close(); portal.deactivate(&for_maintenance); }>
                        "Maintenance"
                    </button>
                    <button type="button" role="menuitem" disabled=!activate_ok
                        on:click=move |_| { close(); portal.activate(&for_activate); }>
                        "Activate"
                    </button>
                    <button type="button" role="menuitem" disabled=!reinstall_ok
                        on:click=move |_| { close(); portal.reinstall_dialog.set(Some(for_reinstall.clone())); }>
                        "Reinstall"
                    </button>
                    {global_ha}
                </div>
            }
        })
    }
}

/// Where an arrow key moves the focus in a menu.
#[derive(Clone, Copy)]
enum Key {
    Next,
    Previous,
    Home,
    End,
}

/// Moves the focus among the menu's enabled items (wrapping around).
fn move_focus(menu: &web_sys::HtmlDivElement, key: Key) {
    let items = elements(menu, "[role=menuitem]:not(:disabled)");
    let count = items.len();
    if count == 0 {
        return;
    }
    let next = match (key, focused(&items)) {
        (Key::Home, _) | (Key::Next, None) => 0,
        (Key::End, _) | (Key::Previous, None) => count - 1,
        (Key::Next, Some(i)) => (i + 1) % count,
        (Key::Previous, Some(i)) => (i + count - 1) % count,
    };
    let _ = items[next].focus();
}

/// Reinstalling a host: what it does, "Activate host after reinstall" (on by default), OK.
#[component]
pub fn ReinstallDialog(host: Host) -> impl IntoView {
    let portal = Portal::get();
    let close = Callback::new(move |()| portal.reinstall_dialog.set(None));
    let activate = RwSignal::new(true);
    let title = format!("Reinstall {}", host.name);
    let return_to = row_selector(&host);
    let text = format!(
        "The host's management software is deployed again on {} ({}). The host is {} now; it stays out of service until the reinstall ends.",
        host.name,
        host.address,
        host.status.label()
    );
    view! {
        <Modal labelledby="reinstall-title" on_close=close return_to>
            <h2 id="reinstall-title">{title}</h2>
            <p>{text}</p>
            <Check checked=activate label="Activate host after reinstall"/>
            <div class="buttons">
                <button type="button" class="primary" on:click=move |_| {
                    close.run(());
                    portal.reinstall(&host, HostReinstall { activate: activate.get_untracked() });
                }>"OK"</button>
                <button type="button" on:click=move |_| close.run(())>"Cancel"</button>
            </div>
        </Modal>
    }
}

/// The General sub-tab's alert (SPEC §7), with what the update brings: a node's new image
/// and its reboot, and the cluster levels the host supports afterwards (seed 001).
#[component]
pub fn UpgradeAlert(host: Host, me: Option<Caller>) -> impl IntoView {
    let portal = Portal::get();
    let admin = is_admin(&me);
    if !host.updates_available {
        return ().into_any();
    }
    let details = upgrade_details(&host);
    if !host.status.allows_upgrade() {
        return view! {
            <div class="alert alert-info" role="alert">
                <p>"Upgrade is available. Move the host to maintenance to upgrade it."</p>
                {details}
            </div>
        }
        .into_any();
    }
    view! {
        <div class="alert alert-info" role="alert">
            <p>
                "Upgrade is available. "
                <button type="button" class="link" disabled=!admin
                    title=if admin { "" } else { "Only admins can upgrade hosts." }
                    on:click={
                        let host = host.clone();
                        move |_| portal.upgrade_dialog.set(Some(host.clone()))
                    }>
                    "Upgrade"
                </button>
            </p>
            {details}
        </div>
    }
    .into_any()
}

/// The lines under the alert: what kind of upgrade, and the levels after it.
fn upgrade_details(host: &Host) -> impl IntoView {
    let node = (host.host_type == HostType::Node).then(|| {
        view! {
            <p class="upgrade-kind">{format!(
                "This oVirt Node is upgraded as a whole{}; the upgrade always reboots it.",
                image_change(host).map(|v| format!(" to image {v}")).unwrap_or_default()
            )}</p>
        }
    });
    let levels = (!host.levels_after_upgrade.is_empty()).then(|| {
        view! {
            <p class="levels-after">{format!(
                "After the upgrade the host supports cluster levels {}.",
                host.levels_after_upgrade.join(", ")
            )}</p>
        }
    });
    view! { {node} {levels} }
}

/// Upgrading a host: first, when VMs run there, the confirmation of SPEC §7; then what the
/// upgrade will do and "Reboot host after upgrade" (on by default; a node always reboots into
/// its new image); OK starts it.
#[component]
pub fn UpgradeDialog(host: Host) -> impl IntoView {
    let portal = Portal::get();
    let close = Callback::new(move |()| portal.upgrade_dialog.set(None));
    let confirming = RwSignal::new(host.vm_count > 0);
    let reboot = RwSignal::new(true);
    let node = host.host_type == HostType::Node;
    let updates = host
        .available_updates
        .iter()
        .map(|u| format!("{} {} → {}", u.name, u.current_version, u.available_version))
        .collect::<Vec<_>>();
    let title = format!("Upgrade {}", host.name);
    let for_start = host.clone();
    let start = move || {
        close.run(());
        portal.upgrade(&for_start, reboot.get_untracked());
    };
    let return_to = row_selector(&host);
    let steps = move || {
        let updates = updates.clone();
        let install = if node {
            let image = image_change(&host)
                .map(|v| format!(" {v}"))
                .unwrap_or_default();
            view! { <li>{format!("install the new oVirt Node image{image} as a whole;")}</li> }
                .into_any()
        } else {
            view! {
                <li>"install these updates:"
                    <ul>{updates.into_iter().map(|u| view! { <li>{u}</li> }).collect_view()}</ul>
                </li>
            }
            .into_any()
        };
        view! {
            <ol>
                <li>{format!("move the host to maintenance, live-migrating its {} VMs to other hosts of cluster {};", host.vm_count, host.cluster.name)}</li>
                {install}
                <li>{if node { "reboot the host into the new image (a node always reboots), and return it to its status." } else { "reboot the host if chosen, and return it to its status." }}</li>
            </ol>
        }
    };
    view! {
        <Modal labelledby="upgrade-title" on_close=close return_to>
            <Show when=move || confirming.get()
                fallback={
                    let title = title.clone();
                    let start = start.clone();
                    let steps = steps.clone();
                    move || {
                        let start = start.clone();
                        view! {
                            <h2 id="upgrade-title">{title.clone()}</h2>
                            <p>"The upgrade will:"</p>
                            {steps()}
                            {(!node).then(|| view! {
                                <Check checked=reboot label="Reboot host after upgrade"/>
                            })}
                            <div class="buttons">
                                <button type="button" class="primary" on:click=move |_| start()>"OK"</button>
                                <button type="button" on:click=move |_| close.run(())>"Cancel"</button>
                            </div>
                        }
                    }
                }>
                <h2 id="upgrade-title">"Upgrade Host"</h2>
                <p>"There are running VMs on the host. Would you like to continue?"</p>
                <div class="buttons">
                    <button type="button" class="primary" on:click=move |_| confirming.set(false)>"OK"</button>
                    <button type="button" on:click=move |_| close.run(())>"Cancel"</button>
                </div>
            </Show>
        </Modal>
    }
}

/// A dialog's yes/no option.
#[component]
fn Check(checked: RwSignal<bool>, label: &'static str) -> impl IntoView {
    view! {
        <label class="check">
            <input type="checkbox" prop:checked=move || checked.get()
                on:change=move |ev| checked.set(event_target_checked(&ev))/>
            " " {label}
        </label>
    }
}

/// The image a node moves to, in words: "4.5.3 (now 4.5.2)"; `None` if unknown.
fn image_change(host: &Host) -> Option<String> {
    host.available_updates
        .first()
        .map(|u| format!("{} (now {})", u.available_version, u.current_version))
}

/// The CSS selector of a host's row in the hosts list (where the focus goes back to).
pub fn row_selector(host: &Host) -> String {
    format!("tr[data-host-id=\"{}\"]", host.id)
}

/// The job this browser started on a host, while it runs and just after: phase and progress.
#[component]
pub fn HostProgress(host: Host) -> impl IntoView {
    let portal = Portal::get();
    let id = host.id.clone();
    let job = move || portal.host_jobs.with(|jobs| jobs.get(&id).cloned());
    move || {
        job().map(|job: Job| {
            let percent = job.percent_complete.round();
            let phase = if job.status.is_final() {
                format!("{}: {}", job.kind.label(), job.status.label())
            } else {
                format!("{}: {}", job.kind.label(), host.status.label())
            };
            view! {
                <div class="progress" role="status" aria-label="Job progress">
                    <span class="phase">{phase}</span>
                    <progress max="100" value=percent></progress>
                    <span>{format!("{percent}%")}</span>
                    <a href=format!("/jobs/{}", job.id)>"Details"</a>
                </div>
            }
        })
    }
}
