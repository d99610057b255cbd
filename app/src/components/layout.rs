use leptos::prelude::*;
use leptos_router::components::{Outlet, A};

use super::{
    error_text, GlobalHaDialog, MigrateDialog, MigrateTarget, Modal, Portal, ReinstallDialog,
    Theme, UpgradeDialog,
};
use crate::api::{Caller, EngineStatus, Host, Instance};
use crate::rpc::{
    check_engine_now, close_engine_notice, dismiss_engine_update, get_engine, get_engine_notice,
    get_instances,
};

/// The frame around every signed-in page: navigation, the user menu and the About dialog.
#[component]
pub fn Layout() -> impl IntoView {
    let portal = Portal::provide();
    let me = portal.me;
    let about_open = RwSignal::new(false);
    let engine_notice = Resource::new(|| (), |_| get_engine_notice());
    let notice_dismissed = RwSignal::new(false);
    let theme = Theme::get();

    view! {
        <header class="topbar">
            <A href="/" attr:class="brand">"Uplift"</A>
            <nav class="mainnav" aria-label="Main">
                <A href="/" exact=true>"Dashboard"</A>
                <A href="/clusters">"Clusters"</A>
                <A href="/hosts">"Hosts"</A>
                <A href="/vms">"VMs"</A>
                <A href="/hosted-engine">"Hosted Engine"</A>
                <A href="/events">"Events"</A>
                <A href="/config">"Config"</A>
                <A href="/providers">"Providers"</A>
                <A href="/notifications">"Notifications"</A>
            </nav>
            <details class="usermenu">
                <summary>
                    <Suspense fallback=|| "…">
                        {move || Suspend::new(async move {
                            match me.await {
                                Ok(Some(caller)) => format!("{} ({})", caller.name, caller.role.label()),
                                _ => "Signed out".to_string(),
                            }
                        })}
                    </Suspense>
                </summary>
                <div class="menu" role="menu">
                    <button type="button" role="menuitem" on:click=move |_| about_open.set(true)>"About"</button>
                    <button type="button" role="menuitemcheckbox"
                        aria-checked=move || theme.is_dark().to_string()
                        on:click=move |_| theme.toggle()>
                        "Dark theme"
                    </button>
                    <form method="post" action="/logout">
                        <button type="submit" role="menuitem">"Log out"</button>
                    </form>
                </div>
            </details>
        </header>
        <Show when=move || about_open.get()>
            {Suspend::new(about_dialog(Callback::new(move |()| about_open.set(false))))}
        </Show>
        <Show when=move || !notice_dismissed.get()>
            <Suspense fallback=|| ()>
                {move || Suspend::new(async move {
                    engine_notice.await.ok().flatten().map(|status| view! {
                        <EngineUpdateDialog status dismissed=notice_dismissed/>
                    })
                })}
            </Suspense>
        </Show>
        {move || portal.upgrade_dialog.get().map(|host| Suspend::new(upgrade_dialog(host)))}
        {move || portal.reinstall_dialog.get().map(|host| Suspend::new(reinstall_dialog(host)))}
        {move || portal.migrate_dialog.get().map(|target| Suspend::new(migrate_dialog(target)))}
        {move || portal.global_ha_dialog.get().map(|(host, enable)| Suspend::new(global_ha_dialog(host, enable)))}
        {move || portal.notice.get().map(|notice| view! {
            <p class="notice" role="status">
                {notice} " "
                <button type="button" class="link" aria-label="Dismiss" on:click=move |_| portal.notice.set(None)>"×"</button>
            </p>
        })}
        <main class="content">
            <Outlet/>
        </main>
    }
}

// The dialogs any page may open, each split out of the first load into a WASM chunk of its
// own (`cargo leptos --split`) and fetched the first time it opens: the first load is what
// every page pays for (issue 20's budget), a dialog only the admin who opens it.

#[lazy]
async fn about_dialog(on_close: Callback<()>) -> AnyView {
    view! { <AboutDialog on_close/> }.into_any()
}

#[lazy]
async fn upgrade_dialog(host: Host) -> AnyView {
    view! { <UpgradeDialog host/> }.into_any()
}

#[lazy]
async fn reinstall_dialog(host: Host) -> AnyView {
    view! { <ReinstallDialog host/> }.into_any()
}

#[lazy]
async fn migrate_dialog(target: MigrateTarget) -> AnyView {
    view! { <MigrateDialog target/> }.into_any()
}

#[lazy]
async fn global_ha_dialog(host: Host, enable: bool) -> AnyView {
    view! { <GlobalHaDialog host enable/> }.into_any()
}

/// After login, an admin is told once per version: "An update for the engine is available".
/// Dismiss stores the choice for this user and version on the server (never again); Close or
/// Escape only closes it for this session (it comes back at the next login).
#[component]
fn EngineUpdateDialog(status: EngineStatus, dismissed: RwSignal<bool>) -> impl IntoView {
    let version = status.available_version.clone().unwrap_or_default();
    let for_close = version.clone();
    let dismiss = move |_| {
        dismissed.set(true);
        let version = version.clone();
        leptos::task::spawn_local(async move {
            if let Err(error) = dismiss_engine_update(version).await {
                Portal::get().notice.set(Some(error_text(error)));
            }
        });
    };
    let close = Callback::new(move |()| {
        dismissed.set(true);
        let version = for_close.clone();
        leptos::task::spawn_local(async move {
            if let Err(error) = close_engine_notice(version).await {
                Portal::get().notice.set(Some(error_text(error)));
            }
        });
    });
    let text = format!(
        "An update for the engine is available: {}",
        status.available_version.clone().unwrap_or_default()
    );
    view! {
        <Modal labelledby="engine-update-title" on_close=close>
            <h2 id="engine-update-title">"Engine update"</h2>
            <p>{text}</p>
            <p>{format!("The engine runs {}.", status.version)}</p>
            {status.notes_url.as_deref().and_then(crate::api::web_link).map(|url| {
                let url = url.to_string();
                view! {
                    <p><a href=url target="_blank" rel="noopener noreferrer">"Release notes"</a></p>
                }
            })}
            <p class="hint">"Close shows it again at your next login; Dismiss hides this version for good."</p>
            <div class="buttons">
                <button type="button" class="primary" on:click=dismiss>"Dismiss"</button>
                <button type="button" on:click=move |_| close.run(())>"Close"</button>
            </div>
        </Modal>
    }
}

#[component]
fn AboutDialog(on_close: Callback<()>) -> impl IntoView {
    let portal = Portal::get();
    let checked = RwSignal::new(0_u32);
    let engine = Resource::new(move || checked.get(), |_| get_engine());
    let checking = RwSignal::new(false);
    let check_now = move |_| {
        checking.set(true);
        leptos::task::spawn_local(async move {
            if let Err(error) = check_engine_now().await {
                portal.notice.set(Some(error_text(error)));
            }
            checking.set(false);
            checked.update(|n| *n += 1);
        });
    };
    view! {
        <Modal labelledby="about-title" on_close return_to=".usermenu summary">
            <h2 id="about-title">"About Uplift"</h2>
            <p>"Upgrade manager for virtualization clusters."</p>
            <Transition fallback=|| ()>
                {move || Suspend::new(async move {
                    let admin = portal.me.await.ok().flatten().as_ref().is_some_and(Caller::is_admin);
                    match engine.await {
                        Err(error) => view! { <p role="alert">{error_text(error)}</p> }.into_any(),
                        Ok(status) => view! {
                            <dl class="facts">
                                <dt>"Uplift"</dt><dd>{status.uplift_version.clone()}</dd>
                                <dt>"Engine"</dt><dd>{status.version.clone()}</dd>
                                <dt>"Update"</dt>
                                <dd class="engine-update">{match &status.available_version {
                                    Some(version) => format!("An update is available: {version}"),
                                    None => "The engine is up to date".to_string(),
                                }}</dd>
                                <dt>"Last check"</dt>
                                <dd>{status.last_checked.clone().unwrap_or_else(|| "Never".to_string())}</dd>
                            </dl>
                            {status.last_error.clone().map(|e| view! { <p class="warning">{format!("The last check failed: {e}")}</p> })}
                            {admin.then(|| view! {
                                <button type="button" disabled=move || checking.get() on:click=check_now>"Check now"</button>
                            })}
                        }.into_any(),
                    }
                })}
            </Transition>
            <Instances/>
            <button type="button" autofocus on:click=move |_| on_close.run(())>"Close"</button>
        </Modal>
    }
}

/// The Uplift instances sharing the database (issue 22): which one answers, when each last
/// beat, and what each runs.
#[component]
fn Instances() -> impl IntoView {
    let instances = Resource::new(|| (), |_| get_instances());
    view! {
        <Transition fallback=|| ()>
            {move || Suspend::new(async move {
                match instances.await {
                    Err(error) => view! { <p role="alert">{error_text(error)}</p> }.into_any(),
                    Ok(list) => view! {
                        <table class="instances">
                            <caption>"Instances"</caption>
                            <thead><tr>
                                <th scope="col">"Name"</th>
                                <th scope="col">"Version"</th>
                                <th scope="col">"Last heartbeat"</th>
                                <th scope="col">"Runs"</th>
                            </tr></thead>
                            <tbody>
                                {list.into_iter().map(|i| view! { <InstanceRow instance=i/> }).collect_view()}
                            </tbody>
                        </table>
                    }.into_any(),
                }
            })}
        </Transition>
    }
}

#[component]
fn InstanceRow(instance: Instance) -> impl IntoView {
    let name = if instance.this {
        format!("{} (this one)", instance.name)
    } else {
        instance.name.clone()
    };
    let heartbeat = if instance.alive {
        format!("{:.0} s ago", instance.last_heartbeat_seconds_ago)
    } else {
        format!(
            "{:.0} s ago (not answering)",
            instance.last_heartbeat_seconds_ago
        )
    };
    let jobs = instance.work.jobs.len();
    let mut runs = match jobs {
        1 => "1 job".to_string(),
        n => format!("{n} jobs"),
    };
    if instance.work.background {
        runs.push_str(", the background work");
    }
    view! {
        <tr data-instance=instance.name.clone()>
            <th scope="row">{name}</th>
            <td>{instance.version.clone()}</td>
            <td>{heartbeat}</td>
            <td>{runs}</td>
        </tr>
    }
}
