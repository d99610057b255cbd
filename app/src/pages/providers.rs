//! `/providers`: the content providers errata come from (issue 21): the list, registering,
//! testing, editing and removing one (admins; a removal is confirmed). A stored password is
//! never shown again: editing without a new one keeps it.

use leptos::prelude::*;
use leptos_meta::Title;

use crate::api::{Caller, Provider, ProviderInput, ProviderKind};
use crate::components::{error_text, LoadError, Loading, Modal, Portal};
use crate::rpc::{delete_provider, get_providers, save_provider, test_provider};

#[component]
pub fn ProvidersPage() -> impl IntoView {
    let portal = Portal::get();
    let changed = RwSignal::new(0_u32);
    let providers = Resource::new(
        move || (changed.get(), portal.version.get()),
        |_| get_providers(),
    );
    // The provider being edited (`None`: a new one).
    let editing = RwSignal::new(None::<Provider>);
    let removing = RwSignal::new(None::<Provider>);
    view! {
        <Title text="Providers"/>
        <h1>"Providers"</h1>
        <p>"Content providers (Satellite/Katello, or the simulator) list each linked host's errata and install them."</p>
        <Transition fallback=Loading>
            {move || Suspend::new(async move {
                let admin = portal.me.await.ok().flatten().as_ref().is_some_and(Caller::is_admin);
                match providers.await {
                    Err(error) => view! { <LoadError error/> }.into_any(),
                    Ok(list) => view! {
                        <ProviderTable list admin editing removing/>
                        {admin.then(|| view! { <ProviderForm editing changed/> })}
                    }.into_any(),
                }
            })}
        </Transition>
        {move || removing.get().map(|provider| view! { <RemoveDialog provider removing changed/> })}
    }
}

#[component]
fn ProviderTable(
    list: Vec<Provider>,
    admin: bool,
    editing: RwSignal<Option<Provider>>,
    removing: RwSignal<Option<Provider>>,
) -> impl IntoView {
    let portal = Portal::get();
    if list.is_empty() {
        return view! { <p>"No providers yet."</p> }.into_any();
    }
    let test = move |id: String| {
        leptos::task::spawn_local(async move {
            let notice = match test_provider(id).await {
                Ok(result) if result.ok => format!("Test passed: {}", result.message),
                Ok(result) => format!("Test failed: {}", result.message),
                Err(error) => error_text(error),
            };
            portal.notice.set(Some(notice));
        });
    };
    view! {
        <table class="grid" aria-label="Providers">
            <thead><tr>
                <th>"Name"</th><th>"Kind"</th><th>"URL"</th><th>"User"</th><th>"Password"</th>
                <th>"Hosts"</th>{admin.then(|| view! { <th>"Actions"</th> })}
            </tr></thead>
            <tbody>{list.into_iter().map(|p| {
                let (for_test, for_edit, for_remove) = (p.id.clone(), p.clone(), p.clone());
                view! {
                    <tr data-provider=p.name.clone()>
                        <td>{p.name.clone()}</td>
                        <td>{p.kind.label()}</td>
                        <td>{p.url.clone()}</td>
                        <td>{p.username.clone()}</td>
                        <td>{if p.has_password { "Stored (hidden)" } else { "None" }}</td>
                        <td>{p.hosts}</td>
                        {admin.then(|| view! {
                            <td class="actions">
                                <button type="button" on:click=move |_| test(for_test.clone())>"Test"</button>
                                <button type="button" on:click=move |_| editing.set(Some(for_edit.clone()))>"Edit"</button>
                                <button type="button" on:click=move |_| removing.set(Some(for_remove.clone()))>"Remove"</button>
                            </td>
                        })}
                    </tr>
                }
            }).collect_view()}</tbody>
        </table>
    }
    .into_any()
}

/// Registers a provider, or changes the one being edited.
#[component]
fn ProviderForm(editing: RwSignal<Option<Provider>>, changed: RwSignal<u32>) -> impl IntoView {
    let portal = Portal::get();
    let name = RwSignal::new(String::new());
    let kind = RwSignal::new(ProviderKind::Foreman);
    let url = RwSignal::new(String::new());
    let username = RwSignal::new(String::new());
    let password = RwSignal::new(String::new());
    // Editing fills the form from the provider (never its password).
    Effect::new(move |_| {
        let provider = editing.get();
        name.set(
            provider
                .as_ref()
                .map(|p| p.name.clone())
                .unwrap_or_default(),
        );
        kind.set(provider.as_ref().map_or(ProviderKind::Foreman, |p| p.kind));
        url.set(provider.as_ref().map(|p| p.url.clone()).unwrap_or_default());
        username.set(
            provider
                .as_ref()
                .map(|p| p.username.clone())
                .unwrap_or_default(),
        );
        password.set(String::new());
    });
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let id = editing.get_untracked().map(|p| p.id);
        let input = ProviderInput {
            name: name.get_untracked(),
            kind: kind.get_untracked(),
            url: url.get_untracked(),
            username: username.get_untracked(),
            password: Some(password.get_untracked()).filter(|p| !p.is_empty()),
        };
        leptos::task::spawn_local(async move {
            match save_provider(id, input).await {
                Ok(saved) => {
                    portal
                        .notice
                        .set(Some(format!("Provider {} is saved.", saved.name)));
                    editing.set(None);
                    changed.update(|n| *n += 1);
                }
                Err(error) => portal.notice.set(Some(error_text(error))),
            }
        });
    };
    let foreman = move || kind.get() == ProviderKind::Foreman;
    view! {
        <h2>{move || if editing.with(Option::is_some) { "Edit provider" } else { "Add a provider" }}</h2>
        <form class="form" aria-label="Provider" on:submit=submit>
            <label>"Name "
                <input type="text" required prop:value=move || name.get() on:input=move |ev| name.set(event_target_value(&ev))/>
            </label>
            <label>"Kind "
                <select prop:value=move || kind.get().as_str()
                    on:change=move |ev| kind.set(ProviderKind::parse(&event_target_value(&ev)).unwrap_or(ProviderKind::Foreman))>
                    {ProviderKind::ALL.iter().map(|k| view! { <option value=k.as_str()>{k.label()}</option> }).collect_view()}
                </select>
            </label>
            <Show when=foreman>
                <label>"URL "
                    <input type="url" placeholder="https://satellite.example.com" prop:value=move || url.get()
                        on:input=move |ev| url.set(event_target_value(&ev))/>
                </label>
                <label>"User "
                    <input type="text" autocomplete="off" prop:value=move || username.get()
                        on:input=move |ev| username.set(event_target_value(&ev))/>
                </label>
                <label>"Password or access token "
                    <input type="password" autocomplete="new-password"
                        placeholder=move || if editing.with(Option::is_some) { "unchanged" } else { "" }
                        prop:value=move || password.get() on:input=move |ev| password.set(event_target_value(&ev))/>
                </label>
            </Show>
            <div>
                <button type="submit" class="primary">{move || if editing.with(Option::is_some) { "Save" } else { "Add provider" }}</button>
                {move || editing.with(Option::is_some).then(|| view! {
                    <button type="button" on:click=move |_| editing.set(None)>"Cancel"</button>
                })}
            </div>
        </form>
    }
}

#[component]
fn RemoveDialog(
    provider: Provider,
    removing: RwSignal<Option<Provider>>,
    changed: RwSignal<u32>,
) -> impl IntoView {
    let portal = Portal::get();
    let close = Callback::new(move |()| removing.set(None));
    let id = provider.id.clone();
    let remove = move |_| {
        let id = id.clone();
        leptos::task::spawn_local(async move {
            if let Err(error) = delete_provider(id).await {
                portal.notice.set(Some(error_text(error)));
            }
            removing.set(None);
            changed.update(|n| *n += 1);
        });
    };
    view! {
        <Modal labelledby="remove-provider-title" on_close=close>
            <h2 id="remove-provider-title">{format!("Remove provider {}?", provider.name)}</h2>
            <p>{format!("Its {} linked hosts lose their link; their errata are no longer listed.", provider.hosts)}</p>
            <div class="buttons">
                <button type="button" class="primary" on:click=remove>"Remove"</button>
                <button type="button" on:click=move |_| close.run(())>"Cancel"</button>
            </div>
        </Modal>
    }
}
