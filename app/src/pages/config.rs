use leptos::prelude::*;
use leptos_meta::Title;

use crate::api::ConfigEntry;
use crate::components::{error_text, LoadError, Loading, Portal};
use crate::rpc::{list_config, set_config};

/// Configuration values (SPEC §3): admins edit them here; the server validates every value and
/// says why it refused one, keeping the old value.
#[component]
pub fn ConfigPage() -> impl IntoView {
    let portal = Portal::get();
    // Loaded once: the event stream's refreshes would redraw the rows and lose what an admin
    // is typing and the reason a value was refused. A saved row shows the stored value.
    let entries = Resource::new(|| (), |_| list_config());
    view! {
        <Title text="Config"/>
        <h1>"Configuration"</h1>
        <Transition fallback=Loading>
            {move || Suspend::new(async move {
                let admin = portal.me.await.ok().flatten().is_some_and(|me| me.is_admin());
                match entries.await {
                    Err(error) => view! { <LoadError error/> }.into_any(),
                    Ok(entries) => view! {
                        <table class="grid">
                            <thead><tr><th>"Name"</th><th>"Value"</th><th>"Default"</th><th>"Meaning"</th></tr></thead>
                            <tbody>
                                {entries.into_iter().map(|entry| view! { <ConfigRow entry admin/> }).collect_view()}
                            </tbody>
                        </table>
                    }.into_any(),
                }
            })}
        </Transition>
    }
}

#[component]
fn ConfigRow(entry: ConfigEntry, admin: bool) -> impl IntoView {
    let portal = Portal::get();
    let value = RwSignal::new(entry.value.clone());
    let error = RwSignal::new(None::<String>);
    let name = entry.name.clone();
    let save = Action::new(move |(name, value): &(String, String)| {
        set_config(name.clone(), value.clone())
    });
    Effect::new(move |_| match save.value().get() {
        Some(Ok(saved)) => {
            error.set(None);
            value.set(saved.value.clone());
            portal
                .notice
                .set(Some(format!("{} is now {:?}.", saved.name, saved.value)));
        }
        Some(Err(e)) => error.set(Some(error_text(e))),
        None => {}
    });
    let input_id = format!("config-{}", entry.name);
    view! {
        <tr>
            <td><label for=input_id.clone()>{entry.name.clone()}</label></td>
            <td>
                <form class="filters" on:submit=move |ev| {
                    ev.prevent_default();
                    save.dispatch((name.clone(), value.get_untracked()));
                }>
                    <input id=input_id type="text" class="config-value" disabled=!admin
                        prop:value=move || value.get()
                        on:input=move |ev| value.set(event_target_value(&ev))/>
                    <button type="submit" disabled=!admin>"Save"</button>
                </form>
                {move || error.get().map(|e| view! { <p class="field-error" role="alert">{e}</p> })}
            </td>
            <td><code>{entry.default.clone()}</code></td>
            <td class="muted">{entry.description.clone()}</td>
        </tr>
    }
}
