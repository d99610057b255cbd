//! What can be done to a host: the menu bar buttons, the right-click menu, the "Upgrade is
//! available." alert and the upgrade dialog. Every one is enabled exactly when the action is
//! allowed for this host and this user; the server checks again.

use leptos::prelude::*;

use super::portal::Portal;
use super::status::HostStatusBadge;
use crate::api::{Caller, Host};

/// Where a host's right-click menu is open.
#[derive(Clone, Debug)]
pub struct MenuAt {
    pub host: Host,
    pub x: i32,
    pub y: i32,
}

fn is_admin(me: &Option<Caller>) -> bool {
    me.as_ref().is_some_and(Caller::is_admin)
}

/// "Check for Upgrade" and "Upgrade" for the selected host.
#[component]
pub fn HostMenuBar(host: Signal<Option<Host>>, me: Option<Caller>) -> impl IntoView {
    let portal = Portal::get();
    let admin = is_admin(&me);
    let check_disabled =
        move || !admin || !host.with(|h| h.as_ref().is_some_and(|h| h.status.allows_upgrade()));
    let upgrade_disabled =
        move || !admin || !host.with(|h| h.as_ref().is_some_and(Host::can_upgrade));
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
        </div>
    }
}

/// The right-click menu of a host.
#[component]
pub fn HostContextMenu(menu: RwSignal<Option<MenuAt>>, me: Option<Caller>) -> impl IntoView {
    let portal = Portal::get();
    let admin = is_admin(&me);
    let close = move || menu.set(None);
    let escape = window_event_listener(leptos::ev::keydown, move |ev| {
        if ev.key() == "Escape" {
            menu.set(None);
        }
    });
    let outside = window_event_listener(leptos::ev::click, move |_| menu.set(None));
    on_cleanup(move || {
        escape.remove();
        outside.remove();
    });
    let first = NodeRef::<leptos::html::Button>::new();
    Effect::new(move |_| {
        if let Some(button) = first.get() {
            let _ = button.focus();
        }
    });
    move || {
        menu.get().map(|at| {
            let host = at.host.clone();
            let label = format!("Actions for {}", host.name);
            let for_check = host.clone();
            let check_ok = admin && host.status.allows_upgrade();
            let upgrade_ok = admin && host.can_upgrade();
            view! {
                <div class="context-menu" role="menu" aria-label=label
                    style=format!("left: {}px; top: {}px", at.x, at.y)>
                    <button type="button" role="menuitem" node_ref=first disabled=!check_ok
                        on:click=move |_| { close(); portal.check_host(&for_check); }>
                        "Check for Upgrade"
                    </button>
                    <button type="button" role="menuitem" disabled=!upgrade_ok
                        on:click=move |_| { close(); portal.upgrade_dialog.set(Some(host.clone())); }>
                        "Upgrade"
                    </button>
                </div>
            }
        })
    }
}

/// The General sub-tab's alert (SPEC §7).
#[component]
pub fn UpgradeAlert(host: Host, me: Option<Caller>) -> impl IntoView {
    let portal = Portal::get();
    let admin = is_admin(&me);
    if !host.updates_available {
        return ().into_any();
    }
    if !host.status.allows_upgrade() {
        return view! {
            <p class="alert alert-info" role="alert">
                "Upgrade is available. Move the host to maintenance to upgrade it."
            </p>
        }
        .into_any();
    }
    view! {
        <p class="alert alert-info" role="alert">
            "Upgrade is available. "
            <button type="button" class="link" disabled=!admin
                title=if admin { "" } else { "Only admins can upgrade hosts." }
                on:click=move |_| portal.upgrade_dialog.set(Some(host.clone()))>
                "Upgrade"
            </button>
        </p>
    }
    .into_any()
}

/// What upgrading this host will do. Starting the upgrade arrives with the upgrade workflow;
/// until then the dialog explains the steps and can only be closed.
#[component]
pub fn UpgradeDialog(host: Host) -> impl IntoView {
    let portal = Portal::get();
    let close = move || portal.upgrade_dialog.set(None);
    let escape = window_event_listener(leptos::ev::keydown, move |ev| {
        if ev.key() == "Escape" {
            portal.upgrade_dialog.set(None);
        }
    });
    on_cleanup(move || escape.remove());
    let updates = host
        .available_updates
        .iter()
        .map(|u| format!("{} {} → {}", u.name, u.current_version, u.available_version))
        .collect::<Vec<_>>();
    view! {
        <div class="backdrop" on:click=move |_| close()></div>
        <dialog open class="dialog" aria-labelledby="upgrade-title">
            <h2 id="upgrade-title">"Upgrade " {host.name.clone()}</h2>
            <p>"Status: " <HostStatusBadge status=host.status/></p>
            <p>"An upgrade will:"</p>
            <ol>
                <li>{format!("move the host to maintenance, live-migrating its {} VMs to other hosts of cluster {};", host.vm_count, host.cluster.name)}</li>
                <li>"install these updates:"
                    <ul>{updates.into_iter().map(|u| view! { <li>{u}</li> }).collect_view()}</ul>
                </li>
                <li>"reboot the host and return it to its status."</li>
            </ol>
            <p class="muted">"Starting upgrades from the portal is not available in this version yet."</p>
            <button type="button" on:click=move |_| close()>"Close"</button>
        </dialog>
    }
}
