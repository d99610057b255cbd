//! A cluster's settings on its page (seed 002 steps 3, 7, 8): the scheduling policy and the
//! compatibility level. Before a policy changes, the server is asked what stands in its way:
//! each VM or host to fix is listed with a link and the change can be retried; leaving
//! in-cluster upgrade while OS versions are mixed asks for the force confirmation. The rules
//! are the service's; this page only asks and shows.

use leptos::prelude::*;
use leptos_router::components::A;

use crate::api::{Cluster, ClusterUpdate, PolicyViolation, SchedulingPolicy};
use crate::components::{error_text, Modal, Portal};
use crate::rpc::{cluster_policy_violations, update_cluster};

/// The levels a cluster may be set to: from the lowest to the highest every host supports
/// (same major version), and the current one.
fn level_choices(cluster: &Cluster) -> Vec<String> {
    let mut levels = vec![cluster.compatibility_version.clone()];
    if let Some(range) = &cluster.supported_levels {
        let split = |level: &str| -> Option<(u32, u32)> {
            let (major, minor) = level.split_once('.')?;
            Some((major.parse().ok()?, minor.parse().ok()?))
        };
        if let (Some((major, low)), Some((top_major, high))) =
            (split(&range.min), split(&range.max))
        {
            if major == top_major {
                levels.extend((low..=high).map(|minor| format!("{major}.{minor}")));
            }
        }
    }
    levels.sort_by_key(|level| {
        level
            .split('.')
            .map(|part| part.parse::<u32>().unwrap_or(0))
            .collect::<Vec<_>>()
    });
    levels.dedup();
    levels
}

/// What stopped the last Save.
#[derive(Clone, Debug, PartialEq)]
enum Refusal {
    /// VMs and hosts to fix first.
    Violations(String, Vec<PolicyViolation>),
    /// Only forceable ones: the admin may leave the policy anyway.
    Force(Vec<PolicyViolation>),
    Error(String),
}

/// The form's state, kept by the page outside its data's Transition: the event stream
/// re-renders the page whenever anything happens, and an admin's choice (or a refusal being
/// read) must survive that.
#[derive(Clone, Copy)]
pub struct SettingsForm {
    /// What the admin picked; `None`: the cluster's own value.
    policy: RwSignal<Option<String>>,
    level: RwSignal<Option<String>>,
    refusal: RwSignal<Option<Refusal>>,
    busy: RwSignal<bool>,
}

impl SettingsForm {
    pub fn new() -> SettingsForm {
        SettingsForm {
            policy: RwSignal::new(None),
            level: RwSignal::new(None),
            refusal: RwSignal::new(None),
            busy: RwSignal::new(false),
        }
    }

    /// Forgets the picks and the refusal (another cluster is shown).
    pub fn reset(self) {
        self.policy.set(None);
        self.level.set(None);
        self.refusal.set(None);
    }
}

#[component]
pub fn ClusterSettings(cluster: Cluster, admin: bool, form: SettingsForm) -> impl IntoView {
    let portal = Portal::get();
    let SettingsForm {
        policy: picked_policy,
        level: picked_level,
        refusal,
        busy,
    } = form;
    let (policy_now, level_now) = (
        cluster.scheduling_policy.clone(),
        cluster.compatibility_version.clone(),
    );
    let policy = {
        let now = policy_now.clone();
        Signal::derive(move || picked_policy.get().unwrap_or_else(|| now.clone()))
    };
    let level = {
        let now = level_now.clone();
        Signal::derive(move || picked_level.get().unwrap_or_else(|| now.clone()))
    };
    let (id, name) = (cluster.id.clone(), cluster.name.clone());
    let save = Callback::new(move |force: bool| {
        let update = ClusterUpdate {
            scheduling_policy: Some(policy.get_untracked()).filter(|p| *p != policy_now),
            compatibility_version: Some(level.get_untracked()).filter(|l| *l != level_now),
            force,
        };
        if update.scheduling_policy.is_none() && update.compatibility_version.is_none() {
            portal.notice.set(Some("Nothing changed.".to_string()));
            return;
        }
        busy.set(true);
        refusal.set(None);
        let (id, name) = (id.clone(), name.clone());
        leptos::task::spawn_local(async move {
            if let (Some(wanted), false) = (update.scheduling_policy.clone(), force) {
                let stopped = match cluster_policy_violations(id.clone(), wanted.clone()).await {
                    Err(error) => Some(Refusal::Error(error_text(error))),
                    Ok(found) if found.iter().any(|v| !v.forceable) => {
                        Some(Refusal::Violations(wanted, found))
                    }
                    Ok(found) if !found.is_empty() => Some(Refusal::Force(found)),
                    Ok(_) => None,
                };
                if stopped.is_some() {
                    busy.set(false);
                    refusal.set(stopped);
                    return;
                }
            }
            let outcome = update_cluster(id, update).await;
            busy.set(false);
            match outcome {
                Ok(_) => {
                    picked_policy.set(None);
                    picked_level.set(None);
                    portal.notice.set(Some(format!("Cluster {name} is saved.")));
                    portal.version.update(|v| *v += 1);
                }
                Err(error) => refusal.set(Some(Refusal::Error(error_text(error)))),
            }
        });
    });
    let levels = level_choices(&cluster);
    let cancel_force = Callback::new(move |()| refusal.set(None));
    view! {
        <section class="panel settings" aria-labelledby="settings-title">
            <h2 id="settings-title">"Settings"</h2>
            <form class="form" on:submit=move |ev| {
                ev.prevent_default();
                save.run(false);
            }>
                <label>"Scheduling Policy "
                    <select name="scheduling_policy" disabled=!admin
                        prop:value=move || policy.get()
                        on:change=move |ev| picked_policy.set(Some(event_target_value(&ev)))>
                        {SchedulingPolicy::ALL.iter().map(|p| view! {
                            <option value=p.as_str() selected=p.as_str() == cluster.scheduling_policy>
                                {format!("{} ({})", p.label(), p.as_str())}
                            </option>
                        }).collect_view()}
                    </select>
                </label>
                <label>"Compatibility Version "
                    // Any level may be asked for; the suggestions are the levels every host
                    // supports, and the server names the hosts that stand in the way of others.
                    <input type="text" name="compatibility_version" list="cluster-levels"
                        disabled=!admin size="6" autocomplete="off"
                        prop:value=move || level.get()
                        on:input=move |ev| picked_level.set(Some(event_target_value(&ev)))/>
                    <datalist id="cluster-levels">
                        {levels.into_iter().map(|l| view! { <option value=l.clone()></option> }).collect_view()}
                    </datalist>
                </label>
                <div>
                    <button type="submit" class="primary" disabled=move || !admin || busy.get()>"Save"</button>
                    {(!admin).then(|| view! { <span class="hint">" Only admins can change a cluster."</span> })}
                </div>
            </form>
            {move || match refusal.get() {
                Some(Refusal::Violations(wanted, found)) => view! {
                    <div class="alert alert-error" role="alert">
                        <p>{format!("The cluster cannot use {wanted} yet. Fix these, then retry:")}</p>
                        <ul class="violations">
                            {found.into_iter().map(|v| view! { <li><ViolationLine violation=v/></li> }).collect_view()}
                        </ul>
                        <button type="button" on:click=move |_| save.run(false)>"Retry"</button>
                    </div>
                }.into_any(),
                Some(Refusal::Force(found)) => view! {
                    <ForceDialog found save cancel=cancel_force/>
                }.into_any(),
                Some(Refusal::Error(text)) => view! {
                    <p class="alert alert-error" role="alert">{text}</p>
                }.into_any(),
                None => ().into_any(),
            }}
        </section>
    }
}

/// One violation: a link to the VM or host, and what is wrong with it.
#[component]
fn ViolationLine(violation: PolicyViolation) -> impl IntoView {
    let subject = match (violation.vm, violation.host) {
        (Some(vm), _) => Some(("VM ", format!("/vms/{}", vm.id), vm.name)),
        (None, Some(host)) => Some(("Host ", format!("/hosts/{}", host.id), host.name)),
        (None, None) => None,
    }
    .map(|(kind, href, name)| view! { {kind} <A href=href>{name}</A> ": " });
    view! { {subject} {violation.reason} }
}

/// Leaving in-cluster upgrade while OS versions are mixed: the admin confirms with force.
#[component]
fn ForceDialog(
    found: Vec<PolicyViolation>,
    save: Callback<bool>,
    cancel: Callback<()>,
) -> impl IntoView {
    view! {
        <Modal labelledby="force-title" on_close=cancel>
            <h2 id="force-title">"Leave in-cluster upgrade?"</h2>
            <p>"The cluster still runs mixed OS versions:"</p>
            <ul>{found.into_iter().map(|v| view! { <li>{v.reason}</li> }).collect_view()}</ul>
            <p>"VMs may then migrate to hosts with an older OS. Leave in-cluster upgrade anyway?"</p>
            <div class="buttons">
                <button type="button" class="primary" on:click=move |_| save.run(true)>"Leave anyway"</button>
                <button type="button" on:click=move |_| cancel.run(())>"Cancel"</button>
            </div>
        </Modal>
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::LevelRange;

    fn cluster(level: &str, range: Option<(&str, &str)>) -> Cluster {
        Cluster {
            id: "c".into(),
            name: "c".into(),
            compatibility_version: level.into(),
            scheduling_policy: "none".into(),
            host_count: 1,
            hosts_with_updates: 0,
            supported_levels: range.map(|(min, max)| LevelRange {
                min: min.into(),
                max: max.into(),
            }),
            upgrade: None,
            security_errata: None,
        }
    }

    #[test]
    fn the_levels_offered_run_from_the_lowest_to_the_highest_every_host_supports() {
        assert_eq!(
            level_choices(&cluster("4.7", Some(("4.6", "4.10")))),
            ["4.6", "4.7", "4.8", "4.9", "4.10"]
        );
        assert_eq!(level_choices(&cluster("4.7", None)), ["4.7"]);
        // Hosts sharing no level with the current one: the current stays offered.
        assert_eq!(
            level_choices(&cluster("4.5", Some(("4.7", "4.8")))),
            ["4.5", "4.7", "4.8"]
        );
        // Different majors are not spelled out.
        assert_eq!(
            level_choices(&cluster("4.7", Some(("4.7", "5.0")))),
            ["4.7"]
        );
    }
}
