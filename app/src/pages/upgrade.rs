//! `/clusters/{id}/upgrade`: the rolling-upgrade wizard (select hosts, options, review the
//! plan and start), and once a run exists, its live progress (the same picture filling in,
//! per-host outcomes, ETA, the run's events, Pause / Resume / Cancel).

use std::collections::BTreeSet;

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::{components::A, hooks::use_params_map};

use crate::api::{
    Cluster, ClusterUpgradeOptions, EventQuery, Host, HostQuery, Job, JobControl, JobStatus,
    MaxParallel, UpgradeContent, UpgradePlan,
};
use crate::components::{
    duration, epoch_seconds, error_text, Bar, HostStatusBadge, LoadError, Loading, Portal, Timeline,
};
use crate::rpc::{
    control_job, get_cluster, get_job, list_events, list_hosts, plan_upgrade, run_host_jobs,
    run_waiting_hosts, start_upgrade,
};

/// The wizard's answers so far. Kept outside the page's data, so refreshes never lose them.
#[derive(Clone, Copy)]
struct Wizard {
    step: RwSignal<u8>,
    /// Chosen host ids; `None` until the admin changes the default (every upgradable host).
    chosen: RwSignal<Option<BTreeSet<String>>>,
    options: RwSignal<ClusterUpgradeOptions>,
    plan: RwSignal<Option<Result<UpgradePlan, String>>>,
    busy: RwSignal<bool>,
}

#[component]
pub fn UpgradePage() -> impl IntoView {
    let params = use_params_map();
    let id = move || params.read().get("id").unwrap_or_default();
    // Bumped when this page starts a run: the page then shows it.
    let started = RwSignal::new(0_u32);
    let cluster = Resource::new(move || (id(), started.get()), |(id, _)| get_cluster(id));
    let wizard = Wizard {
        step: RwSignal::new(1),
        chosen: RwSignal::new(None),
        options: RwSignal::new(ClusterUpgradeOptions {
            max_parallel: MaxParallel::Auto,
            ..ClusterUpgradeOptions::default()
        }),
        plan: RwSignal::new(None),
        busy: RwSignal::new(false),
    };
    view! {
        <Transition fallback=Loading>
            {move || Suspend::new(async move {
                match cluster.await {
                    Err(error) => view! { <Title text="Upgrade"/><LoadError error/> }.into_any(),
                    Ok(c) => {
                        let title = format!("Upgrade cluster {}", c.name);
                        let run = c.upgrade.as_ref().map(|u| u.job_id.clone());
                        let (href, name) = (format!("/clusters/{}", c.id), c.name.clone());
                        view! {
                            <Title text=title.clone()/>
                            <p class="crumbs">
                                <A href="/clusters">"Clusters"</A>" / "
                                <A href=href>{name}</A>" / Upgrade"
                            </p>
                            <h1>{title}</h1>
                            {match run {
                                Some(job_id) => view! { <RunProgress job_id/> }.into_any(),
                                None => view! { <WizardSteps cluster=c wizard started/> }.into_any(),
                            }}
                        }.into_any()
                    }
                }
            })}
        </Transition>
    }
    .into_any()
}

#[component]
fn WizardSteps(cluster: Cluster, wizard: Wizard, started: RwSignal<u32>) -> impl IntoView {
    let cluster_id = cluster.id.clone();
    let hosts = Resource::new(
        move || cluster_id.clone(),
        |id| {
            list_hosts(HostQuery {
                cluster: Some(id),
                ..HostQuery::default()
            })
        },
    );
    let step_class = move |n: u8| {
        if wizard.step.get() == n {
            "current"
        } else {
            ""
        }
    };
    view! {
        <ol class="wizard-steps" aria-label="Steps">
            <li class=move || step_class(1)>"1. Select Hosts"</li>
            <li class=move || step_class(2)>"2. Options"</li>
            <li class=move || step_class(3)>"3. Review"</li>
        </ol>
        <Suspense fallback=Loading>
            {move || {
                let cluster = cluster.clone();
                Suspend::new(async move {
                    match hosts.await {
                        Err(error) => view! { <LoadError error/> }.into_any(),
                        Ok(page) => view! { <WizardBody cluster hosts=page.items wizard started/> }.into_any(),
                    }
                })
            }}
        </Suspense>
    }
    .into_any()
}

#[component]
fn WizardBody(
    cluster: Cluster,
    hosts: Vec<Host>,
    wizard: Wizard,
    started: RwSignal<u32>,
) -> impl IntoView {
    let defaults: BTreeSet<String> = hosts
        .iter()
        .filter(|h| h.can_upgrade())
        .map(|h| h.id.clone())
        .collect();
    let upgradable = defaults.clone();
    let chosen = Memo::new(move |_| wizard.chosen.get().unwrap_or_else(|| defaults.clone()));
    let host_count = hosts.len();
    let cluster_id = cluster.id.clone();
    let review = move || {
        let options = ClusterUpgradeOptions {
            hosts: Some(chosen.get_untracked().into_iter().collect()),
            ..wizard.options.get_untracked()
        };
        let cluster_id = cluster_id.clone();
        wizard.plan.set(None);
        wizard.step.set(3);
        leptos::task::spawn_local(async move {
            let plan = plan_upgrade(cluster_id, options).await.map_err(error_text);
            wizard.plan.set(Some(plan));
        });
    };
    let start_id = cluster.id.clone();
    let start = move || {
        let options = ClusterUpgradeOptions {
            hosts: Some(chosen.get_untracked().into_iter().collect()),
            ..wizard.options.get_untracked()
        };
        let cluster_id = start_id.clone();
        wizard.busy.set(true);
        leptos::task::spawn_local(async move {
            let outcome = start_upgrade(cluster_id, options).await;
            wizard.busy.set(false);
            match outcome {
                Ok(_) => started.update(|n| *n += 1),
                Err(error) => Portal::get().notice.set(Some(error_text(error))),
            }
        });
    };
    view! {
        <Show when=move || wizard.step.get() == 1>
            <HostChoice hosts=hosts.clone() upgradable=upgradable.clone() chosen wizard/>
            <div class="buttons">
                <button type="button" class="primary" disabled=move || chosen.get().is_empty()
                    on:click=move |_| wizard.step.set(2)>"Next"</button>
            </div>
        </Show>
        <Show when=move || wizard.step.get() == 2>
            <OptionsForm wizard host_count level=cluster.compatibility_version.clone()
                range=cluster.supported_levels.clone().map(|r| format!("{} to {}", r.min, r.max))/>
            <div class="buttons">
                <button type="button" on:click=move |_| wizard.step.set(1)>"Back"</button>
                <button type="button" class="primary" on:click={
                    let review = review.clone();
                    move |_| review()
                }>"Next"</button>
            </div>
        </Show>
        <Show when=move || wizard.step.get() == 3>
            <PlanReview wizard/>
            <div class="buttons">
                <button type="button" on:click=move |_| wizard.step.set(2)>"Back"</button>
                <button type="button" class="primary"
                    disabled=move || wizard.busy.get() || !matches!(
                        wizard.plan.get(),
                        Some(Ok(ref plan)) if plan.blockers.is_empty() && !plan.waves.is_empty()
                    )
                    on:click={
                        let start = start.clone();
                        move |_| start()
                    }>"Start"</button>
            </div>
        </Show>
    }
    .into_any()
}

/// Step 1: which hosts. Hosts that cannot be upgraded say why and cannot be chosen.
#[component]
fn HostChoice(
    hosts: Vec<Host>,
    upgradable: BTreeSet<String>,
    chosen: Memo<BTreeSet<String>>,
    wizard: Wizard,
) -> impl IntoView {
    let all = upgradable.clone();
    let toggle = move |id: String, on: bool| {
        let mut set = chosen.get_untracked();
        if on {
            set.insert(id);
        } else {
            set.remove(&id);
        }
        wizard.chosen.set(Some(set));
    };
    let all_count = all.len();
    let any = all_count != 0;
    view! {
        <h2>"Select Hosts"</h2>
        <table class="grid">
            <thead><tr>
                <th><label class="check">
                    <input type="checkbox" prop:checked=move || any && chosen.get().len() == all_count
                        on:change=move |ev| wizard.chosen.set(Some(
                            if event_target_checked(&ev) { all.clone() } else { BTreeSet::new() }
                        ))/>
                    " Select all"
                </label></th>
                <th>"Name"</th><th>"Status"</th><th>"Address"</th><th>"VMs"</th><th>"Updates"</th><th>"Note"</th>
            </tr></thead>
            <tbody>
                {hosts.into_iter().map(|host| {
                    let id = host.id.clone();
                    let checked_id = host.id.clone();
                    let can = upgradable.contains(&host.id);
                    let note = if !host.updates_available {
                        "No updates: check the cluster for upgrades first.".to_string()
                    } else if !host.status.allows_upgrade() {
                        format!("Cannot be upgraded while {}.", host.status.label())
                    } else {
                        String::new()
                    };
                    let note_class = if note.is_empty() { "" } else { "warning" };
                    view! {
                        <tr>
                            <td><input type="checkbox" aria-label=format!("Upgrade {}", host.name)
                                disabled=!can
                                prop:checked=move || chosen.get().contains(&checked_id)
                                on:change=move |ev| toggle(id.clone(), event_target_checked(&ev))/></td>
                            <td>{host.name.clone()}</td>
                            <td><HostStatusBadge status=host.status/></td>
                            <td>{host.address.clone()}</td>
                            <td>{host.vm_count}</td>
                            <td>{if host.updates_available { "Yes" } else { "No" }}</td>
                            <td class=note_class>{note}</td>
                        </tr>
                    }
                }).collect_view()}
            </tbody>
        </table>
        <p>{move || format!("{} hosts chosen.", chosen.get().len())}</p>
    }
    .into_any()
}

/// Step 2: how.
#[component]
fn OptionsForm(
    wizard: Wizard,
    host_count: usize,
    level: String,
    /// The levels every host will support once upgraded, if known.
    range: Option<String>,
) -> impl IntoView {
    let o = wizard.options;
    let parallel_value = move || match o.get().max_parallel {
        MaxParallel::Auto => "auto".to_string(),
        MaxParallel::Hosts(n) => n.to_string(),
    };
    let number = |text: String| text.trim().parse::<u64>().ok();
    view! {
        <h2>"Options"</h2>
        <div class="form">
            <label>"Max parallel hosts "
                <select prop:value=parallel_value on:change=move |ev| {
                    let value = event_target_value(&ev);
                    o.update(|o| o.max_parallel = match value.parse::<u32>() {
                        Ok(n) => MaxParallel::Hosts(n),
                        Err(_) => MaxParallel::Auto,
                    });
                }>
                    <option value="auto">"Auto (largest waves that fit, VMs moved about once)"</option>
                    {(1..=host_count.max(1)).map(|n| view! { <option value=n.to_string()>{n}</option> }).collect_view()}
                </select>
            </label>
            <label>"Content "
                <select prop:value=move || o.get().content.as_str()
                    on:change=move |ev| {
                        let content = UpgradeContent::parse(&event_target_value(&ev)).unwrap_or_default();
                        o.update(|o| o.content = content);
                    }>
                    {UpgradeContent::ALL.iter().map(|c| view! { <option value=c.as_str()>{c.label()}</option> }).collect_view()}
                </select>
            </label>
            <label class="check"><input type="checkbox" prop:checked=move || o.get().stop_pinned_vms
                on:change=move |ev| o.update(|o| o.stop_pinned_vms = event_target_checked(&ev))/>
                " Stop pinned VMs (and start them again after their host)"</label>
            <label class="check"><input type="checkbox" prop:checked=move || o.get().reboot
                on:change=move |ev| o.update(|o| o.reboot = event_target_checked(&ev))/>
                " Reboot hosts after upgrade"</label>
            <label class="check"><input type="checkbox" prop:checked=move || o.get().check_upgrade
                on:change=move |ev| o.update(|o| o.check_upgrade = event_target_checked(&ev))/>
                " Check for upgrades first"</label>
            <label>"Target compatibility version "
                <input type="text" placeholder=format!("{level} (unchanged)")
                    prop:value=move || o.get().target_compatibility_version.unwrap_or_default()
                    on:change=move |ev| {
                        let value = event_target_value(&ev).trim().to_string();
                        o.update(|o| o.target_compatibility_version = (!value.is_empty()).then_some(value));
                    }/>
                {range.map(|r| view! { <span class="hint">{format!(" Once upgraded, every host supports {r}.")}</span> })}
            </label>
            <label>"Max failed hosts "
                <input type="number" min="0" prop:value=move || o.get().max_failed_hosts.to_string()
                    on:change=move |ev| o.update(|o| {
                        o.max_failed_hosts = number(event_target_value(&ev)).and_then(|n| u32::try_from(n).ok()).unwrap_or(0);
                    })/>
            </label>
            <label>"Per-host timeout (minutes) "
                <input type="number" min="1" placeholder="default"
                    prop:value=move || o.get().timeout_minutes.map(|m| m.to_string()).unwrap_or_default()
                    on:change=move |ev| o.update(|o| o.timeout_minutes = number(event_target_value(&ev)).filter(|m| *m > 0))/>
            </label>
        </div>
    }
    .into_any()
}

/// Step 3: the plan, as a picture and in numbers, with its blockers.
#[component]
fn PlanReview(wizard: Wizard) -> impl IntoView {
    move || match wizard.plan.get() {
        None => view! { <Loading/> }.into_any(),
        Some(Err(message)) => {
            view! { <p class="alert alert-error" role="alert">{message}</p> }.into_any()
        }
        Some(Ok(plan)) => {
            let mut start = 0.0;
            let mut bars = Vec::new();
            for (wave, w) in plan.waves.iter().enumerate() {
                for host in &w.hosts {
                    bars.push(Bar {
                        host: host.clone(),
                        wave: wave + 1,
                        start,
                        end: start + w.seconds,
                        state: "planned",
                    });
                }
                start += w.seconds;
            }
            let totals = format!(
                "{} waves · {} live migrations ({} VMs move twice) · {:.1} GiB moved · about {}",
                plan.waves.len(),
                plan.predicted_migrations,
                plan.predicted_repeat_migrations,
                plan.predicted_gib,
                duration(plan.predicted_seconds)
            );
            view! {
                <h2>"Review"</h2>
                <p class="plan-totals">{format!("Strategy {}: {totals}", plan.strategy)}</p>
                {(!plan.hosted_engine_hosts.is_empty()).then(|| {
                    let last = plan.engine_vm_host.clone().map(|h| format!(" Host {h} runs the engine VM: it goes last, and the VM moves once, to an upgraded hosted-engine host.")).unwrap_or_default();
                    view! {
                        <p class="plan-hosted-engine">{format!(
                            "Hosted-engine hosts: {}. One of them always stands by while others are down.{last}",
                            plan.hosted_engine_hosts.join(", ")
                        )}</p>
                    }
                })}
                {(!plan.errata.is_empty()).then(|| view! {
                    <div class="plan-errata" aria-label="Errata per host">
                        <p>"Errata each host gets:"</p>
                        <ul>{plan.errata.iter().map(|line| view! {
                            <li>{format!(
                                "{}: {} security, {} bug fix, {} enhancement",
                                line.host, line.counts.security, line.counts.bugfix, line.counts.enhancement
                            )}</li>
                        }).collect_view()}</ul>
                    </div>
                })}
                {(!plan.blockers.is_empty()).then(|| view! {
                    <div class="alert alert-error" role="alert">
                        <p>"The upgrade cannot start:"</p>
                        <ul>{plan.blockers.iter().map(|b| view! { <li>{b.message.clone()}</li> }).collect_view()}</ul>
                    </div>
                })}
                <Timeline bars label="Plan preview"/>
                <details>
                    <summary>"Where every VM goes"</summary>
                    <ol>{plan.waves.iter().enumerate().map(|(i, w)| view! {
                        <li>{format!("Wave {}: {}", i + 1, w.hosts.join(", "))}
                            <ul>{w.migrations.iter().map(|m| view! {
                                <li>{format!("{}: {} → {}", m.vm, m.from, m.to)}</li>
                            }).collect_view()}</ul>
                        </li>
                    }).collect_view()}</ol>
                </details>
            }.into_any()
        }
    }
}

/// The bars of the hosts a run has started: waves are the runs' starts, in order.
fn actual_bars(run: &Job, hosts: &[Job]) -> Vec<Bar> {
    let origin = epoch_seconds(&run.created_at).unwrap_or(0.0);
    let latest = hosts
        .iter()
        .flat_map(|j| [Some(j.created_at.as_str()), j.ended_at.as_deref()])
        .flatten()
        .filter_map(epoch_seconds)
        .fold(origin, f64::max);
    let mut wave = 0;
    let mut wave_start = f64::NEG_INFINITY;
    hosts
        .iter()
        .map(|job| {
            let start = epoch_seconds(&job.created_at).unwrap_or(origin) - origin;
            // Hosts of one wave start within a second of each other.
            if start - wave_start > 1.0 {
                wave += 1;
                wave_start = start;
            }
            let end = job
                .ended_at
                .as_deref()
                .and_then(epoch_seconds)
                .unwrap_or(latest)
                - origin;
            Bar {
                host: job
                    .steps
                    .iter()
                    .find_map(|s| s.host.as_ref().map(|h| h.name.clone()))
                    .unwrap_or_default(),
                wave,
                start,
                end: end.max(start),
                state: match job.status {
                    JobStatus::Succeeded => "succeeded",
                    JobStatus::Failed | JobStatus::Cancelled => "failed",
                    _ => "running",
                },
            }
        })
        .collect()
}

#[component]
fn RunProgress(job_id: String) -> impl IntoView {
    let portal = Portal::get();
    let id = job_id.clone();
    let run = Resource::new(
        move || (id.clone(), portal.version.get()),
        |(id, _)| get_job(id),
    );
    let id = job_id.clone();
    let hosts = Resource::new(
        move || (id.clone(), portal.version.get()),
        |(id, _)| run_host_jobs(id),
    );
    let id = job_id.clone();
    let waiting = Resource::new(
        move || (id.clone(), portal.version.get()),
        |(id, _)| run_waiting_hosts(id),
    );
    let confirm_cancel = RwSignal::new(false);
    let act = move |control: JobControl| {
        let id = job_id.clone();
        confirm_cancel.set(false);
        leptos::task::spawn_local(async move {
            if let Err(error) = control_job(id, control).await {
                portal.notice.set(Some(error_text(error)));
            }
            portal.version.update(|v| *v += 1);
        });
    };
    view! {
        <Transition fallback=Loading>
            {move || {
                let act = act.clone();
                Suspend::new(async move {
                    let (run, hosts) = match (run.await, hosts.await) {
                        (Ok(run), Ok(hosts)) => (run, hosts),
                        (Err(error), _) | (_, Err(error)) => return view! { <LoadError error/> }.into_any(),
                    };
                    let events = list_events(EventQuery {
                        correlation_id: Some(run.correlation_id.clone()),
                        per_page: Some(15),
                        ..EventQuery::default()
                    })
                    .await
                    .map(|page| page.items)
                    .unwrap_or_default();
                    let waiting = waiting.await.unwrap_or_default();
                    let percent = run.percent_complete.round();
                    let bars = actual_bars(&run, &hosts);
                    let waves_started = bars.iter().map(|b| b.wave).max().unwrap_or(0);
                    let host_waves: Vec<usize> = bars.iter().map(|b| b.wave).collect();
                    let elapsed = bars.iter().map(|b| b.end).fold(0.0, f64::max);
                    let eta = if run.status.is_final() {
                        run.message.clone().unwrap_or_default()
                    } else if run.percent_complete > 0.0 {
                        format!(
                            "About {} left.",
                            duration(elapsed / run.percent_complete * (100.0 - run.percent_complete))
                        )
                    } else {
                        "Estimating the time left…".to_string()
                    };
                    let status = run.status;
                    let (a1, a2, a3) = (act.clone(), act.clone(), act.clone());
                    view! {
                        <section class="run" aria-label="Upgrade progress">
                            <p>
                                <strong class="run-status">{status.label()}</strong>" "
                                <progress max="100" value=percent aria-label="Upgrade progress"></progress>
                                " " {format!("{percent}%")}
                            </p>
                            <p class="eta">{eta}</p>
                            <div class="menubar" role="toolbar" aria-label="Run actions">
                                <button type="button" disabled=status != JobStatus::Running
                                    on:click=move |_| a1(JobControl::Pause)>"Pause"</button>
                                <button type="button" disabled=!matches!(status, JobStatus::Pausing | JobStatus::Paused)
                                    on:click=move |_| a2(JobControl::Resume)>"Resume"</button>
                                <button type="button" disabled=status.is_final() || status == JobStatus::Cancelling
                                    on:click=move |_| confirm_cancel.set(true)>"Cancel"</button>
                            </div>
                            <Show when=move || confirm_cancel.get()>
                                <div class="alert" role="alertdialog" aria-label="Cancel the upgrade">
                                    "Cancel the upgrade? Hosts being upgraded finish; no other host starts. "
                                    <button type="button" class="primary" on:click={
                                        let a3 = a3.clone();
                                        move |_| a3(JobControl::Cancel)
                                    }>"OK"</button>
                                    <button type="button" on:click=move |_| confirm_cancel.set(false)>"Keep going"</button>
                                </div>
                            </Show>
                            <Timeline bars label="Upgrade timeline"/>
                            <h2>"Hosts"</h2>
                            <table class="grid">
                                <thead><tr><th>"Host"</th><th>"Wave"</th><th>"Status"</th><th>"Phase"</th><th>"Outcome"</th></tr></thead>
                                <tbody>{hosts.iter().zip(host_waves).map(|(job, wave)| {
                                    let host = job.steps.iter().find_map(|s| s.host.clone());
                                    let phase = job.steps.last().map(|s| s.phase.clone()).unwrap_or_default();
                                    view! {
                                        <tr>
                                            <td>{host.map(|h| view! { <A href=format!("/hosts/{}", h.id)>{h.name}</A> })}</td>
                                            <td>{wave}</td>
                                            <td>{job.status.label()}</td>
                                            <td>{phase}</td>
                                            <td>{job.message.clone().unwrap_or_default()}</td>
                                        </tr>
                                    }
                                }).collect_view()}
                                {waiting.into_iter().map(|w| {
                                    let (wave, status) = match w.wave {
                                        Some(n) => ((waves_started + n as usize).to_string(), "Not started"),
                                        None if run.status.is_final() => ("—".to_string(), "Not upgraded"),
                                        None => ("—".to_string(), "Not started"),
                                    };
                                    view! {
                                        <tr class="waiting">
                                            <td><A href=format!("/hosts/{}", w.host.id)>{w.host.name}</A></td>
                                            <td>{wave}</td>
                                            <td>{status}</td>
                                            <td>{format!("host is {}", w.status.label())}</td>
                                            <td></td>
                                        </tr>
                                    }
                                }).collect_view()}</tbody>
                            </table>
                            <h2>"Events of this run"</h2>
                            <ul class="run-events">{events.into_iter().map(|e| view! {
                                <li class=format!("severity-{}", e.severity.as_str())>{e.time.clone()}" " {e.message.clone()}</li>
                            }).collect_view()}</ul>
                            <p><A href=format!("/events?correlation_id={}", run.correlation_id)>"All events of this run"</A></p>
                            <p><A href=format!("/jobs/{}", run.id)>"The run's job"</A></p>
                        </section>
                    }.into_any()
                })
            }}
        </Transition>
    }
    .into_any()
}
