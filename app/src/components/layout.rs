use leptos::prelude::*;
use leptos_router::components::{Outlet, A};

use super::{Portal, UpgradeDialog};
use crate::rpc::product_version;

/// The frame around every signed-in page: navigation, the user menu and the About dialog.
#[component]
pub fn Layout() -> impl IntoView {
    let portal = Portal::provide();
    let me = portal.me;
    let about_open = RwSignal::new(false);

    view! {
        <header class="topbar">
            <A href="/" attr:class="brand">"Uplift"</A>
            <nav class="mainnav" aria-label="Main">
                <A href="/" exact=true>"Dashboard"</A>
                <A href="/clusters">"Clusters"</A>
                <A href="/hosts">"Hosts"</A>
                <A href="/vms">"VMs"</A>
                <A href="/events">"Events"</A>
                <A href="/config">"Config"</A>
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
                    <form method="post" action="/logout">
                        <button type="submit" role="menuitem">"Log out"</button>
                    </form>
                </div>
            </details>
        </header>
        <Show when=move || about_open.get()>
            <AboutDialog on_close=Callback::new(move |()| about_open.set(false))/>
        </Show>
        {move || portal.upgrade_dialog.get().map(|host| view! { <UpgradeDialog host/> })}
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

#[component]
fn AboutDialog(on_close: Callback<()>) -> impl IntoView {
    let version = Resource::new(|| (), |_| product_version());
    // Escape closes the dialog wherever the focus is; the close button takes the focus.
    let escape = window_event_listener(leptos::ev::keydown, move |ev| {
        if ev.key() == "Escape" {
            on_close.run(());
        }
    });
    on_cleanup(move || escape.remove());
    let close_button = NodeRef::<leptos::html::Button>::new();
    Effect::new(move |_| {
        if let Some(button) = close_button.get() {
            let _ = button.focus();
        }
    });
    view! {
        <div class="backdrop" on:click=move |_| on_close.run(())></div>
        <dialog open class="dialog" aria-labelledby="about-title">
            <h2 id="about-title">"About Uplift"</h2>
            <p>"Upgrade manager for virtualization clusters."</p>
            <Suspense fallback=|| ()>
                {move || Suspend::new(async move {
                    let version = version.await.unwrap_or_default();
                    view! { <p>"Version " <strong>{version}</strong></p> }
                })}
            </Suspense>
            <button type="button" node_ref=close_button on:click=move |_| on_close.run(())>"Close"</button>
        </dialog>
    }
}
