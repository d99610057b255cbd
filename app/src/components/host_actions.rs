//! What can be done to a host: the menu bar buttons, the right-click menu, the "Upgrade is
//! available." alert and the upgrade dialog. Every one is enabled exactly when the action is
//! allowed for this host and this user; the server checks again.

use leptos::prelude::*;

use super::hosted_engine::global_ha_action;
use super::portal::Portal;
use crate::api::{Caller, Host, HostStatus, Job};

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
            let maintenance_ok = admin && can_enter_maintenance(&host);
            let activate_ok = admin && host.status == HostStatus::Maintenance;
            let for_maintenance = host.clone();
            let for_activate = host.clone();
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
                <div class="context-menu" role="menu" aria-label=label
                    style:left=format!("{}px", at.x) style:top=format!("{}px", at.y)>
                    <button type="button" role="menuitem" node_ref=first disabled=!check_ok
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
                    {global_ha}
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

/// Upgrading a host: first, when VMs run there, the confirmation of SPEC §7; then what the
/// upgrade will do and "Reboot host after upgrade" (on by default); OK starts it.
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
    let confirming = RwSignal::new(host.vm_count > 0);
    let reboot = RwSignal::new(true);
    let updates = host
        .available_updates
        .iter()
        .map(|u| format!("{} {} → {}", u.name, u.current_version, u.available_version))
        .collect::<Vec<_>>();
    let title = format!("Upgrade {}", host.name);
    let for_start = host.clone();
    let start = move || {
        close();
        portal.upgrade(&for_start, reboot.get_untracked());
    };
    view! {
        <div class="backdrop" on:click=move |_| close()></div>
        <Show when=move || confirming.get()
            fallback=move || {
                let updates = updates.clone();
                let start = start.clone();
                view! {
                    <dialog open class="dialog" aria-labelledby="upgrade-title">
                        <h2 id="upgrade-title">{title.clone()}</h2>
                        <p>"The upgrade will:"</p>
                        <ol>
                            <li>{format!("move the host to maintenance, live-migrating its {} VMs to other hosts of cluster {};", host.vm_count, host.cluster.name)}</li>
                            <li>"install these updates:"
                                <ul>{updates.into_iter().map(|u| view! { <li>{u}</li> }).collect_view()}</ul>
                            </li>
                            <li>"reboot the host if chosen, and return it to its status."</li>
                        </ol>
                        <label class="check">
                            <input type="checkbox" prop:checked=move || reboot.get()
                                on:change=move |ev| reboot.set(event_target_checked(&ev))/>
                            " Reboot host after upgrade"
                        </label>
                        <div class="buttons">
                            <button type="button" class="primary" on:click=move |_| start()>"OK"</button>
                            <button type="button" on:click=move |_| close()>"Cancel"</button>
                        </div>
                    </dialog>
                }
            }>
            <dialog open class="dialog" aria-labelledby="confirm-title">
                <h2 id="confirm-title">"Upgrade Host"</h2>
                <p>"There are running VMs on the host. Would you like to continue?"</p>
                <div class="buttons">
                    <button type="button" class="primary" on:click=move |_| confirming.set(false)>"OK"</button>
                    <button type="button" on:click=move |_| close()>"Cancel"</button>
                </div>
            </dialog>
        </Show>
    }
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
