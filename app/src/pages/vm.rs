//! One VM (`/vms/{id}`): its facts, its power actions, and the Placement panel that shows
//! why the scheduler would send it where it would.

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::{components::A, hooks::use_params_map};

use crate::api::{Caller, HostVerdict, Placement, Vm, VmAction};
use crate::components::{
    error_text, gib, verdict_words, LoadError, Loading, MigrateTarget, Modal, Portal, VmStatusBadge,
};
use crate::rpc::{act_on_vm, get_vm, get_vm_placement};

/// How many hosts the Placement panel lists before "Show all".
const SHOWN_HOSTS: usize = 20;

#[component]
pub fn VmPage() -> impl IntoView {
    let params = use_params_map();
    let portal = Portal::get();
    let source = move || {
        (
            params.read().get("id").unwrap_or_default(),
            portal.version.get(),
        )
    };
    let vm = Resource::new(source, |(id, _)| get_vm(id));
    let placement = Resource::new(source, |(id, _)| get_vm_placement(id));
    // Kept outside the data's Transition: the event stream refreshes the page whenever
    // anything happens, and an open confirmation must survive that.
    let confirm = RwSignal::new(None::<VmAction>);
    view! {
        <Transition fallback=Loading>
            {move || Suspend::new(async move {
                let me = portal.me.await.ok().flatten();
                match vm.await {
                    Err(error) => view! { <Title text="VM"/><LoadError error/> }.into_any(),
                    Ok(vm) => view! {
                        <Title text=vm.name.clone()/>
                        <p class="crumbs"><A href="/vms">"Virtual Machines"</A>" / "{vm.name.clone()}</p>
                        <h1>{vm.name.clone()} " " <VmStatusBadge status=vm.status/></h1>
                        <VmActions vm=vm.clone() me confirm/>
                        <VmFacts vm/>
                        <section class="panel" aria-labelledby="placement-title">
                            <h2 id="placement-title">"Placement"</h2>
                            {match placement.await {
                                Err(error) => view! { <LoadError error/> }.into_any(),
                                Ok(placement) => view! { <PlacementPanel placement/> }.into_any(),
                            }}
                        </section>
                    }.into_any(),
                }
            })}
        </Transition>
    }
}

/// Start, Stop and Suspend, for admins; Stop and Suspend ask first (`confirm` holds the
/// action being asked about).
#[component]
fn VmActions(vm: Vm, me: Option<Caller>, confirm: RwSignal<Option<VmAction>>) -> impl IntoView {
    let portal = Portal::get();
    let admin = me.as_ref().is_some_and(Caller::is_admin);
    let busy = RwSignal::new(false);
    let running = vm.status.is_running();
    let (id, name) = (vm.id.clone(), vm.name.clone());
    let run = move |action: VmAction| {
        confirm.set(None);
        busy.set(true);
        let id = id.clone();
        leptos::task::spawn_local(async move {
            let outcome = act_on_vm(id, action).await;
            busy.set(false);
            match outcome {
                Ok(vm) => {
                    portal
                        .notice
                        .set(Some(format!("VM {} is {}.", vm.name, vm.status.label())))
                }
                Err(error) => portal.notice.set(Some(error_text(error))),
            }
            portal.version.update(|v| *v += 1);
        });
    };
    let start = run.clone();
    let confirmed = Callback::new(move |()| {
        if let Some(action) = confirm.get_untracked() {
            run(action)
        }
    });
    let cancel = Callback::new(move |()| confirm.set(None));
    let question = move || match confirm.get() {
        Some(VmAction::Suspend) => {
            format!("Suspend VM {name}? Its memory is saved and it stops running.")
        }
        _ => format!("Stop VM {name}? It shuts down and runs nowhere until started again."),
    };
    let target = MigrateTarget::of(&vm);
    let movable = target.is_some();
    view! {
        <div class="menubar" role="toolbar" aria-label="VM actions">
            <button type="button" disabled=move || !admin || running || busy.get()
                on:click=move |_| start(VmAction::Start)>"Start"</button>
            <button type="button" disabled=move || !admin || !running || busy.get()
                on:click=move |_| confirm.set(Some(VmAction::Stop))>"Stop"</button>
            <button type="button" disabled=move || !admin || !running || busy.get()
                on:click=move |_| confirm.set(Some(VmAction::Suspend))>"Suspend"</button>
            <button type="button" disabled=move || !admin || !movable || busy.get()
                on:click=move |_| portal.migrate_dialog.set(target.clone())>"Migrate…"</button>
        </div>
        <Show when=move || confirm.get().is_some()>
            <VmConfirm question=question() ok=confirmed cancel/>
        </Show>
    }
}

/// "Stop VM …?" or "Suspend VM …?" with OK and Cancel.
#[component]
fn VmConfirm(question: String, ok: Callback<()>, cancel: Callback<()>) -> impl IntoView {
    view! {
        <Modal labelledby="vm-confirm-title" on_close=cancel>
            <h2 id="vm-confirm-title">"Confirm"</h2>
            <p>{question}</p>
            <div class="buttons">
                <button type="button" class="primary" on:click=move |_| ok.run(())>"OK"</button>
                <button type="button" on:click=move |_| cancel.run(())>"Cancel"</button>
            </div>
        </Modal>
    }
}

#[component]
fn VmFacts(vm: Vm) -> impl IntoView {
    let yes_no = |b: bool| if b { "Yes" } else { "No" };
    view! {
        <dl class="facts">
            <dt>"Status"</dt><dd>{vm.status.label()}</dd>
            <dt>"Host"</dt><dd>{match vm.host {
                Some(h) => view! { <A href=format!("/hosts/{}", h.id)>{h.name}</A> }.into_any(),
                None => "—".into_any(),
            }}</dd>
            <dt>"Cluster"</dt><dd>{match vm.cluster {
                Some(c) => view! { <A href=format!("/clusters/{}", c.id)>{c.name}</A> }.into_any(),
                None => "—".into_any(),
            }}</dd>
            <dt>"Memory"</dt><dd>{gib(vm.memory_mb)}</dd>
            <dt>"CPUs"</dt><dd>{vm.cpus}</dd>
            <dt>"Migration"</dt><dd>{vm.migration.label()}</dd>
            <dt>"Highly Available"</dt><dd>{yes_no(vm.highly_available)}</dd>
            <dt>"CPU Pinning"</dt><dd>{yes_no(vm.cpu_pinning)}</dd>
            <dt>"NUMA Pinning"</dt><dd>{yes_no(vm.numa_pinning)}</dd>
            <dt>"Host Devices"</dt><dd>{yes_no(vm.host_devices)}</dd>
            <dt>"Live Migrations"</dt><dd>{vm.migrations}</dd>
        </dl>
    }
}

/// The scheduler's verdict on every host, candidates first.
#[component]
fn PlacementPanel(placement: Placement) -> impl IntoView {
    let show_all = RwSignal::new(false);
    let total = placement.hosts.len();
    let many = total > SHOWN_HOSTS;
    let verb = if placement.action == "start" {
        "If it started now"
    } else {
        "If it migrated now"
    };
    let summary = match &placement.chosen {
        Some(host) => format!("{verb}, it would go to {}.", host.name),
        None => format!("{verb}, no host could take it."),
    };
    let hosts = placement.hosts;
    view! {
        <p>
            "Cluster " <A href=format!("/clusters/{}", placement.cluster.id)>{placement.cluster.name}</A>
            " uses the scheduling policy " <code>{placement.policy}</code> ". "
            <strong class="placement-summary">{summary}</strong>
        </p>
        <table class="grid placement">
            <thead><tr>
                <th>"Host"</th><th>"Status"</th><th>"OS"</th><th>"Verdict"</th><th>"Why"</th>
            </tr></thead>
            <tbody>
                {move || {
                    let limit = if show_all.get() { total } else { SHOWN_HOSTS };
                    hosts.iter().take(limit).cloned().map(|row| view! { <VerdictRow row/> }).collect_view()
                }}
            </tbody>
        </table>
        <Show when=move || many && !show_all.get()>
            <button type="button" on:click=move |_| show_all.set(true)>
                {format!("Show all {total} hosts")}
            </button>
        </Show>
    }
}

#[component]
fn VerdictRow(row: HostVerdict) -> impl IntoView {
    let (verdict, why) = verdict_words(&row);
    let rejected = row.filter.is_some();
    view! {
        <tr class:rejected=rejected>
            <td><A href=format!("/hosts/{}", row.host.id)>{row.host.name}</A></td>
            <td>{row.status.label()}</td>
            <td>{row.os}</td>
            <td>{verdict}</td>
            <td>{why}</td>
        </tr>
    }
}
