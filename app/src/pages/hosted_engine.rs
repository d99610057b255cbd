//! `/hosted-engine` (seed 003): the engine VM and its appliance, the hosted-engine storage
//! domain's usage, the backup disks (Delete, Rollback), and the "Upgrade Appliance" wizard:
//! choose an image, upload an `uplift backup` archive, the preflight checklist, the seed's
//! confirmation, then the job's steps live. Every rule is the service's; this page asks it.

use leptos::prelude::*;
use leptos_meta::Title;

use super::job::StepsTable;
use crate::api::{
    ApplianceRollback, ApplianceUpgrade, HostedEngineInfo, PreflightLine, UploadedArchive,
};
use crate::components::{error_text, LoadError, Loading, Modal, Portal};
use crate::rpc::{
    appliance_preflight, delete_engine_backup, get_hosted_engine, get_job, rollback_appliance,
    upgrade_appliance,
};

/// What a confirmation dialog asks, and what Yes does.
#[derive(Clone)]
struct Ask {
    title: &'static str,
    text: String,
    yes: Callback<()>,
}

#[component]
pub fn HostedEnginePage() -> impl IntoView {
    let portal = Portal::get();
    let info = Resource::new(move || portal.version.get(), |_| get_hosted_engine());
    // The job this page started (an upgrade or a rollback), followed live.
    let job = RwSignal::new(None::<String>);
    let ask = RwSignal::new(None::<Ask>);
    let wizard = RwSignal::new(false);
    let started = Callback::new(move |id: String| {
        wizard.set(false);
        job.set(Some(id));
    });
    view! {
        <Title text="Hosted Engine"/>
        <h1>"Hosted Engine"</h1>
        <Transition fallback=Loading>
            {move || Suspend::new(async move {
                match info.await {
                    Err(error) => view! { <LoadError error/> }.into_any(),
                    Ok(he) => view! { <Overview he=he ask started/> }.into_any(),
                }
            })}
        </Transition>
        <p>
            <button type="button" class="primary" on:click=move |_| {
                job.set(None);
                wizard.set(true);
            }>"Upgrade Appliance…"</button>
        </p>
        <Show when=move || wizard.get()>
            <Wizard ask started close=Callback::new(move |()| wizard.set(false))/>
        </Show>
        {move || job.get().map(|id| view! { <JobLive id/> })}
        {move || ask.get().map(|a| view! { <Confirm ask=a close=Callback::new(move |()| ask.set(None))/> })}
    }
    .into_any()
}

/// The engine VM, the storage bar, the backup disks and the rollback form.
#[component]
fn Overview(
    he: HostedEngineInfo,
    ask: RwSignal<Option<Ask>>,
    started: Callback<String>,
) -> impl IntoView {
    let portal = Portal::get();
    let vm = he.vm.clone();
    let storage = he.storage;
    let used_percent = (storage.used_gb * 100)
        .checked_div(storage.total_gb)
        .unwrap_or(0);
    let chosen = RwSignal::new(he.backups.last().map(|b| b.id.clone()).unwrap_or_default());
    let backups = he.backups.clone();
    let delete = move |id: String, name: String| {
        ask.set(Some(Ask {
            title: "Delete Backup Disk",
            text: format!("Backup disk {name} will be removed from the hosted-engine storage domain; no rollback to it is possible afterwards. Are you sure you want to continue?"),
            yes: Callback::new(move |()| {
                let id = id.clone();
                leptos::task::spawn_local(async move {
                    match delete_engine_backup(id).await {
                        Ok(()) => portal.version.update(|v| *v += 1),
                        Err(error) => portal.notice.set(Some(error_text(error))),
                    }
                });
            }),
        }));
    };
    let rollback = move |_| {
        let backup = chosen.get_untracked();
        if backup.is_empty() {
            return;
        }
        ask.set(Some(Ask {
            title: "Rollback",
            text: "The engine VM's disk will be overwritten with the chosen backup disk and the engine VM started from it. Are you sure you want to continue?".into(),
            yes: Callback::new(move |()| {
                let backup = backup.clone();
                leptos::task::spawn_local(async move {
                    match rollback_appliance(ApplianceRollback { backup }).await {
                        Ok(job) => started.run(job.id),
                        Err(error) => portal.notice.set(Some(error_text(error))),
                    }
                });
            }),
        }));
    };
    view! {
        <dl class="facts" aria-label="Engine VM">
            <dt>"Engine VM"</dt><dd>{vm.as_ref().map(|v| v.name.clone()).unwrap_or_else(|| "none".into())}</dd>
            <dt>"Status"</dt><dd class="engine-vm-status">{vm.as_ref().map(|v| v.status.label())}</dd>
            <dt>"Host"</dt><dd>{vm.as_ref().and_then(|v| v.host.clone()).unwrap_or_else(|| "—".into())}</dd>
            <dt>"Engine version"</dt><dd class="engine-version">{he.engine_version.clone()}</dd>
            <dt>"Appliance OS"</dt><dd class="appliance-os">{he.appliance.os.clone()}</dd>
            <dt>"SPM host"</dt><dd>{he.spm_host.clone().unwrap_or_else(|| "—".into())}</dd>
            <dt>"Global HA maintenance"</dt><dd>{if he.global_maintenance { "Enabled" } else { "Disabled" }}</dd>
        </dl>
        <h2>"Storage domain"</h2>
        <p class="storage">
            <meter min="0" max=storage.total_gb value=storage.used_gb aria-label="Hosted-engine storage used"></meter>
            {format!(" {} of {} GiB used ({used_percent} %), {} GiB free", storage.used_gb, storage.total_gb, storage.free_gb)}
        </p>
        <h2>"Backup disks"</h2>
        {if backups.is_empty() {
            view! { <p>"No backup disks. An appliance upgrade keeps the old engine disk as one."</p> }.into_any()
        } else {
            view! {
                <table class="grid" aria-label="Backup disks">
                    <thead><tr><th>"Name"</th><th>"Engine"</th><th>"Size"</th><th>"Created"</th><th></th></tr></thead>
                    <tbody>{backups.into_iter().map(|b| {
                        let (id, name) = (b.id.clone(), b.name.clone());
                        view! {
                            <tr>
                                <td>{b.name.clone()}</td>
                                <td>{b.engine_version.clone().unwrap_or_default()}</td>
                                <td>{format!("{} GiB", b.size_gb)}</td>
                                <td><time>{b.created_at.clone()}</time></td>
                                <td><button type="button" on:click=move |_| delete(id.clone(), name.clone())>"Delete"</button></td>
                            </tr>
                        }
                    }).collect_view()}</tbody>
                </table>
                <form class="form" aria-label="Rollback" on:submit=move |ev: leptos::ev::SubmitEvent| ev.prevent_default()>
                    <label>"Backup disk "
                        <select prop:value=move || chosen.get() on:change=move |ev| chosen.set(event_target_value(&ev))>
                            {he.backups.iter().map(|b| view! { <option value=b.id.clone()>{b.name.clone()}</option> }).collect_view()}
                        </select>
                    </label>
                    <div><button type="button" on:click=rollback>"Rollback…"</button></div>
                </form>
            }.into_any()
        }}
    }
    .into_any()
}

/// A confirmation in the seed's words; Escape or No closes it.
#[component]
fn Confirm(ask: Ask, close: Callback<()>) -> impl IntoView {
    let yes = ask.yes;
    view! {
        <Modal labelledby="confirm-title" on_close=close>
            <h2 id="confirm-title">{ask.title}</h2>
            <p>{ask.text}</p>
            <div class="buttons">
                <button type="button" class="primary" autofocus on:click=move |_| {
                    close.run(());
                    yes.run(());
                }>"Yes"</button>
                <button type="button" on:click=move |_| close.run(())>"No"</button>
            </div>
        </Modal>
    }
    .into_any()
}

/// The job's status and steps, live.
#[component]
fn JobLive(id: String) -> impl IntoView {
    let portal = Portal::get();
    let job = Resource::new(
        move || (id.clone(), portal.version.get()),
        |(id, _)| get_job(id),
    );
    view! {
        <section class="appliance-job" aria-label="Progress">
            <Transition fallback=Loading>
                {move || Suspend::new(async move {
                    match job.await {
                        Err(error) => view! { <LoadError error/> }.into_any(),
                        Ok(job) => view! {
                            <h2>{job.kind.label()} " — " <span class="job-status">{job.status.label()}</span></h2>
                            <p><progress max="100" value=job.percent_complete.round()></progress></p>
                            <p class="job-message">{job.message.clone().unwrap_or_default()}</p>
                            <StepsTable steps=job.steps/>
                        }.into_any(),
                    }
                })}
            </Transition>
        </section>
    }
    .into_any()
}

/// The "Upgrade Appliance" wizard: appliance and archive, checklist, confirmation.
#[component]
fn Wizard(
    ask: RwSignal<Option<Ask>>,
    started: Callback<String>,
    close: Callback<()>,
) -> impl IntoView {
    let portal = Portal::get();
    let setup = Resource::new(|| (), |_| get_hosted_engine());
    let appliance = RwSignal::new(String::new());
    let archive = RwSignal::new(None::<UploadedArchive>);
    let uploading = RwSignal::new(false);
    let checks = RwSignal::new(None::<Vec<PreflightLine>>);
    let failure = RwSignal::new(None::<String>);
    let host = RwSignal::new(String::new());
    let request = move || ApplianceUpgrade {
        host: host.get_untracked(),
        appliance: appliance.get_untracked(),
        backup: archive.get_untracked().map(|a| a.id).unwrap_or_default(),
    };
    let check = move || {
        failure.set(None);
        leptos::task::spawn_local(async move {
            match appliance_preflight(request()).await {
                Ok(lines) => checks.set(Some(lines)),
                Err(error) => failure.set(Some(error_text(error))),
            }
        });
    };
    let on_file = move |ev: leptos::ev::Event| {
        archive.set(None);
        checks.set(None);
        uploading.set(true);
        leptos::task::spawn_local(async move {
            match upload(&ev).await {
                Ok(uploaded) => archive.set(Some(uploaded)),
                Err(why) => failure.set(Some(why)),
            }
            uploading.set(false);
        });
    };
    let passed = move || {
        checks
            .get()
            .is_some_and(|lines| lines.iter().all(|l| l.passed))
    };
    let go = move |_| {
        ask.set(Some(Ask {
            title: "Upgrade Appliance",
            text: "Continuing will upgrade the engine VM, deploying and configuring a new appliance. The current engine VM disk is backed up to a new disk on the hosted-engine storage domain first; the new appliance is then written over the engine disk, and you can roll back to the backup disk at any time. Are you sure you want to continue?".into(),
            yes: Callback::new(move |()| {
                leptos::task::spawn_local(async move {
                    match upgrade_appliance(request()).await {
                        Ok(job) => started.run(job.id),
                        Err(error) => portal.notice.set(Some(error_text(error))),
                    }
                });
            }),
        }));
    };
    view! {
        <section class="wizard appliance-wizard" aria-label="Upgrade Appliance">
            <h2>"Upgrade Appliance"</h2>
            <Transition fallback=Loading>
                {move || Suspend::new(async move {
                    match setup.await {
                        Err(error) => view! { <LoadError error/> }.into_any(),
                        Ok(he) => {
                            if host.get_untracked().is_empty() {
                                host.set(he.vm.as_ref().and_then(|v| v.host.clone()).unwrap_or_default());
                            }
                            if appliance.get_untracked().is_empty() {
                                appliance.set(he.catalog.first().map(|i| i.version.clone()).unwrap_or_default());
                            }
                            view! {
                                <fieldset>
                                    <legend>"1. Appliance"</legend>
                                    {he.catalog.iter().map(|image| {
                                        let version = image.version.clone();
                                        let v = version.clone();
                                        view! {
                                            <label class="choice">
                                                <input type="radio" name="appliance" value=version.clone()
                                                    prop:checked=move || appliance.get() == v
                                                    on:change=move |_| { appliance.set(version.clone()); checks.set(None); }/>
                                                {format!(" {} ({}, {} GiB)", image.version, image.os, image.size_gb)}
                                            </label>
                                        }
                                    }).collect_view()}
                                    <label>"Host "
                                        <select prop:value=move || host.get() on:change=move |ev| { host.set(event_target_value(&ev)); checks.set(None); }>
                                            {he.hosts.iter().map(|h| view! { <option value=h.name.clone()>{h.name.clone()}</option> }).collect_view()}
                                        </select>
                                    </label>
                                </fieldset>
                            }.into_any()
                        }
                    }
                })}
            </Transition>
            <fieldset>
                <legend>"2. Backup archive"</legend>
                <p>"Take one with " <code>"uplift backup create --file FILE"</code> " and choose it here."</p>
                <input type="file" aria-label="Backup archive" on:change=on_file/>
                {move || uploading.get().then(|| view! { <p role="status">"Validating the backup archive…"</p> })}
                {move || archive.get().map(|a| view! {
                    <ul class="archive-contents">{a.description.into_iter().map(|l| view! { <li>{l}</li> }).collect_view()}</ul>
                })}
            </fieldset>
            <fieldset>
                <legend>"3. Checks"</legend>
                <button type="button" prop:disabled=move || archive.get().is_none() on:click=move |_| check()>
                    {move || if checks.get().is_some() { "Check again" } else { "Run checks" }}
                </button>
                {move || checks.get().map(|lines| view! {
                    <ul class="checklist" aria-label="Preflight checks">
                        {lines.into_iter().map(|l| view! {
                            <li class=if l.passed { "passed" } else { "failed" }>
                                <span class="mark" aria-label=if l.passed { "passed" } else { "failed" }>{if l.passed { "✓" } else { "✗" }}</span>
                                " " <strong>{l.label}</strong> ": " {l.message}
                            </li>
                        }).collect_view()}
                    </ul>
                })}
            </fieldset>
            {move || failure.get().map(|f| view! { <p class="alert alert-error" role="alert">{f}</p> })}
            <div class="buttons">
                <button type="button" class="primary" prop:disabled=move || !passed() on:click=go>"Upgrade…"</button>
                <button type="button" on:click=move |_| close.run(())>"Cancel"</button>
            </div>
        </section>
    }
    .into_any()
}

/// Sends the chosen file to `POST /api/hosted_engine/archives` (the browser's session
/// cookie signs it in); what the server says it holds, or why it refused it.
#[cfg(feature = "hydrate")]
async fn upload(ev: &leptos::ev::Event) -> Result<UploadedArchive, String> {
    use leptos::wasm_bindgen::JsCast;
    let file = ev
        .target()
        .and_then(|t| t.dyn_into::<web_sys::HtmlInputElement>().ok())
        .and_then(|input| input.files())
        .and_then(|files| files.get(0))
        .ok_or("Choose a backup archive.")?;
    let response = gloo_net::http::Request::post("/api/hosted_engine/archives")
        .header("Content-Type", "application/octet-stream")
        .body(leptos::wasm_bindgen::JsValue::from(file))
        .map_err(|e| e.to_string())?
        .send()
        .await
        .map_err(|e| format!("The upload failed: {e}"))?;
    if response.ok() {
        return response.json().await.map_err(|e| e.to_string());
    }
    #[derive(serde::Deserialize)]
    struct Refusal {
        error: crate::api::ApiError,
    }
    Err(match response.json::<Refusal>().await {
        Ok(refusal) => refusal.error.message,
        Err(_) => format!("The server answered {}.", response.status()),
    })
}

#[cfg(not(feature = "hydrate"))]
async fn upload(_ev: &leptos::ev::Event) -> Result<UploadedArchive, String> {
    Err("Uploads happen in the browser.".into())
}
