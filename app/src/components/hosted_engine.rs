//! Hosted engine in the portal (seed 004): the "Hosted Engine HA: …" line of a host's General
//! sub-tab and its "out of sync" warning, the crown on the host running the engine's VM, the
//! global HA maintenance menu item, and its confirmation.

use leptos::prelude::*;

use super::modal::Modal;
use super::portal::Portal;
use crate::api::Host;

/// "Hosted Engine HA: …" (SPEC §7), and a warning when the host's status and its local HA
/// maintenance disagree. Nothing for a host without hosted engine.
#[component]
pub fn HaLine(host: Host) -> impl IntoView {
    let Some(line) = host.hosted_engine.and_then(|he| he.line()) else {
        return ().into_any();
    };
    let out_of_sync = host.ha_out_of_sync().then(|| {
        let fix = if host.hosted_engine.is_some_and(|he| he.local_maintenance) {
            "its HA agent is in local maintenance while the host is in service. Move the host to maintenance, or disable local HA maintenance."
        } else {
            "the host is in maintenance but its HA agent is not. Activate the host, or enable local HA maintenance."
        };
        view! {
            <p class="alert alert-warning" role="status">
                <strong>"HA state out of sync: "</strong>{fix}
            </p>
        }
    });
    view! {
        <p class="ha-line">{line}</p>
        {out_of_sync}
    }
    .into_any()
}

/// The crown admins know from oVirt, on the host that runs the engine's VM.
#[component]
pub fn EngineCrown(host: Host) -> impl IntoView {
    host.hosted_engine
        .filter(|he| he.runs_engine_vm)
        .map(|_| {
            view! {
                <span class="crown" title="Runs the hosted engine VM" aria-label="Runs the hosted engine VM">"👑"</span>
            }
        })
}

/// The words of the global HA maintenance action for a host: enable or disable, by what the
/// host's agent reports; `None` for a host without hosted engine.
pub fn global_ha_action(host: &Host) -> Option<(&'static str, bool)> {
    let he = host.hosted_engine.filter(|he| he.configured)?;
    Some(if he.global_maintenance {
        ("Disable Global HA Maintenance", false)
    } else {
        ("Enable Global HA Maintenance", true)
    })
}

/// Asks before global HA maintenance changes: it stops (or restarts) the agents' care for the
/// engine VM on every hosted-engine host.
#[component]
pub fn GlobalHaDialog(host: Host, enable: bool) -> impl IntoView {
    let portal = Portal::get();
    let close = Callback::new(move |()| portal.global_ha_dialog.set(None));
    let return_to = super::host_actions::row_selector(&host);
    let (title, text) = if enable {
        (
            "Enable Global HA Maintenance",
            "While global HA maintenance is on, no hosted-engine HA agent starts or moves the engine VM, on any host. Enable it?",
        )
    } else {
        (
            "Disable Global HA Maintenance",
            "The hosted-engine HA agents will keep the engine VM running again, starting or moving it when its host fails. Disable global HA maintenance?",
        )
    };
    view! {
        <Modal labelledby="global-ha-title" on_close=close return_to>
            <h2 id="global-ha-title">{title}</h2>
            <p>{text}</p>
            <div class="buttons">
                <button type="button" class="primary" on:click=move |_| {
                    close.run(());
                    portal.global_ha(&host, enable);
                }>"OK"</button>
                <button type="button" on:click=move |_| close.run(())>"Cancel"</button>
            </div>
        </Modal>
    }
}
