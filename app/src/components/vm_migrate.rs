//! Migrating a VM by hand (seed 002 step 4, "pre-migrate VMs manually"): the dialog the VM page
//! and the VMs list open. It offers "the best host" or any host of the VM's cluster, each with
//! the scheduler's explanation beside it; the server decides, and its refusal (a filter that
//! rejects the chosen host) is shown in the dialog.

use leptos::prelude::*;

use super::modal::Modal;
use super::portal::{error_text, Portal};
use crate::api::{HostVerdict, Vm, VmMigrate};
use crate::rpc::{get_vm_placement, migrate_vm};

/// The VM a Migrate dialog is about.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MigrateTarget {
    pub id: String,
    pub name: String,
}

impl MigrateTarget {
    /// A running VM; `None` for the others. Whether it may move (a pinned VM, a full
    /// cluster) is the server's to say, with its reasons, in the dialog.
    pub fn of(vm: &Vm) -> Option<MigrateTarget> {
        vm.status.is_running().then(|| MigrateTarget {
            id: vm.id.clone(),
            name: vm.name.clone(),
        })
    }
}

/// A host's verdict in words: "Candidate" or "Rejected by FILTER", and why.
pub fn verdict_words(row: &HostVerdict) -> (String, String) {
    match (&row.filter, row.score) {
        (Some(filter), _) => (
            format!("Rejected by {filter}"),
            row.reason.clone().unwrap_or_default(),
        ),
        (None, score) => {
            let parts: Vec<String> = row
                .weights
                .iter()
                .map(|w| format!("{} {}", w.unit, w.score))
                .collect();
            let why = if parts.is_empty() {
                "no weights: first host by name".to_string()
            } else {
                format!(
                    "penalty {} ({})",
                    score.unwrap_or_default(),
                    parts.join(", ")
                )
            };
            ("Candidate".to_string(), why)
        }
    }
}

#[component]
pub fn MigrateDialog(target: MigrateTarget) -> impl IntoView {
    let portal = Portal::get();
    let close = Callback::new(move |()| portal.migrate_dialog.set(None));
    let id = target.id.clone();
    let placement = LocalResource::new(move || get_vm_placement(id.clone()));
    // "" is the best host.
    let choice = RwSignal::new(String::new());
    let refusal = RwSignal::new(None::<String>);
    let busy = RwSignal::new(false);
    let (vm_id, vm_name) = (target.id.clone(), target.name.clone());
    let submit = move |_| {
        busy.set(true);
        refusal.set(None);
        let chosen = choice.get_untracked();
        let request = VmMigrate {
            host: (!chosen.is_empty()).then_some(chosen),
        };
        let (id, name) = (vm_id.clone(), vm_name.clone());
        leptos::task::spawn_local(async move {
            match migrate_vm(id.clone(), request).await {
                Ok(job) => {
                    close.run(());
                    portal.track(&id, format!("Migrating VM {name}…"), job);
                }
                Err(error) => {
                    busy.set(false);
                    refusal.set(Some(error_text(error)));
                }
            }
        });
    };
    let title = format!("Migrate {}", target.name);
    view! {
        <Modal labelledby="migrate-title" on_close=close class="migrate-dialog">
            <h2 id="migrate-title">{title}</h2>
            <Suspense fallback=|| view! { <p class="loading" role="status">"Loading the hosts…"</p> }>
                {move || Suspend::new(async move {
                    match placement.await {
                        Err(error) => view! { <p class="alert alert-error" role="alert">{error_text(error)}</p> }.into_any(),
                        Ok(placement) => {
                            let best = match &placement.chosen {
                                Some(host) => format!("The best host (now {})", host.name),
                                None => "The best host (none passes the filters now)".to_string(),
                            };
                            view! {
                                <fieldset class="targets">
                                    <legend>{format!("Target host in cluster {}", placement.cluster.name)}</legend>
                                    <label class="choice">
                                        <input type="radio" name="migrate-target" value="" checked
                                            on:change=move |_| choice.set(String::new())/>
                                        " " {best}
                                    </label>
                                    {placement.hosts.into_iter().map(|row| {
                                        let (verdict, why) = verdict_words(&row);
                                        let host_id = row.host.id.clone();
                                        view! {
                                            <label class="choice" class:rejected=row.filter.is_some()>
                                                <input type="radio" name="migrate-target" value=row.host.id.clone()
                                                    on:change=move |_| choice.set(host_id.clone())/>
                                                " " <strong>{row.host.name.clone()}</strong>
                                                <span class="why">{format!(" — {verdict}: {why}")}</span>
                                            </label>
                                        }
                                    }).collect_view()}
                                </fieldset>
                            }.into_any()
                        }
                    }
                })}
            </Suspense>
            {move || refusal.get().map(|text| view! { <p class="alert alert-error" role="alert">{text}</p> })}
            <div class="buttons">
                <button type="button" class="primary" disabled=move || busy.get() on:click=submit>"Migrate"</button>
                <button type="button" on:click=move |_| close.run(())>"Cancel"</button>
            </div>
        </Modal>
    }
}
