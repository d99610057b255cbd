//! `/notifications`: the signed-in user's subscriptions (add, delete) and their latest
//! deliveries with the result of each.

use leptos::prelude::*;
use leptos_meta::Title;

use crate::api::{NewSubscription, SUBSCRIBABLE_EVENTS};
use crate::components::{error_text, LoadError, Loading, Portal};
use crate::rpc::{add_subscription, list_deliveries, list_subscriptions, remove_subscription};

#[component]
pub fn NotificationsPage() -> impl IntoView {
    let portal = Portal::get();
    let changed = RwSignal::new(0_u32);
    let subscriptions = Resource::new(move || changed.get(), |_| list_subscriptions());
    let deliveries = Resource::new(
        move || (changed.get(), portal.version.get()),
        |_| list_deliveries(),
    );
    let event = RwSignal::new(SUBSCRIBABLE_EVENTS[0].to_string());
    let method = RwSignal::new("webhook".to_string());
    let target = RwSignal::new(String::new());
    let secret = RwSignal::new(String::new());
    let created_secret = RwSignal::new(None::<String>);
    let add = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let webhook = method.get_untracked() == "webhook";
        let new = NewSubscription {
            event: event.get_untracked(),
            method: method.get_untracked(),
            url: webhook.then(|| target.get_untracked()),
            address: (!webhook).then(|| target.get_untracked()),
            secret: Some(secret.get_untracked()).filter(|s| !s.is_empty()),
        };
        leptos::task::spawn_local(async move {
            match add_subscription(new).await {
                Ok(created) => {
                    created_secret.set(created.secret);
                    target.set(String::new());
                    secret.set(String::new());
                    portal
                        .notice
                        .set(Some(format!("Subscribed to {}.", created.event)));
                    changed.update(|n| *n += 1);
                }
                Err(error) => portal.notice.set(Some(error_text(error))),
            }
        });
    };
    let remove = move |id: String| {
        leptos::task::spawn_local(async move {
            if let Err(error) = remove_subscription(id).await {
                portal.notice.set(Some(error_text(error)));
            }
            changed.update(|n| *n += 1);
        });
    };
    view! {
        <Title text="Notifications"/>
        <h1>"Notifications"</h1>
        <h2>"Subscriptions"</h2>
        <Transition fallback=Loading>
            {move || Suspend::new(async move {
                match subscriptions.await {
                    Err(error) => view! { <LoadError error/> }.into_any(),
                    Ok(list) if list.is_empty() => view! { <p>"No subscriptions yet."</p> }.into_any(),
                    Ok(list) => view! {
                        <table class="grid" aria-label="Subscriptions">
                            <thead><tr><th>"Event"</th><th>"Method"</th><th>"To"</th><th></th></tr></thead>
                            <tbody>{list.into_iter().map(|s| {
                                let id = s.id.clone();
                                let to = s.url.clone().or(s.address.clone()).unwrap_or_default();
                                view! {
                                    <tr>
                                        <td>{s.event.clone()}</td>
                                        <td>{s.method.clone()}</td>
                                        <td>{to}</td>
                                        <td><button type="button" on:click=move |_| remove(id.clone())>"Delete"</button></td>
                                    </tr>
                                }
                            }).collect_view()}</tbody>
                        </table>
                    }.into_any(),
                }
            })}
        </Transition>
        {move || created_secret.get().map(|s| view! {
            <p class="alert" role="status">
                "The webhook's signing secret (shown once): " <code class="secret">{s}</code>
            </p>
        })}
        <form class="form" on:submit=add aria-label="New subscription">
            <label>"Event "
                <select prop:value=move || event.get() on:change=move |ev| event.set(event_target_value(&ev))>
                    {SUBSCRIBABLE_EVENTS.iter().map(|e| view! { <option value=*e>{*e}</option> }).collect_view()}
                </select>
            </label>
            <label>"Method "
                <select prop:value=move || method.get() on:change=move |ev| method.set(event_target_value(&ev))>
                    <option value="webhook">"webhook"</option>
                    <option value="email">"email"</option>
                </select>
            </label>
            <label>{move || if method.get() == "webhook" { "URL " } else { "Address " }}
                <input type="text" required prop:value=move || target.get()
                    on:input=move |ev| target.set(event_target_value(&ev))/>
            </label>
            <Show when=move || method.get() == "webhook">
                <label>"Secret (optional) "
                    <input type="text" prop:value=move || secret.get()
                        on:input=move |ev| secret.set(event_target_value(&ev))/>
                </label>
            </Show>
            <div><button type="submit" class="primary">"Subscribe"</button></div>
        </form>
        <h2>"Latest deliveries"</h2>
        <Transition fallback=Loading>
            {move || Suspend::new(async move {
                match deliveries.await {
                    Err(error) => view! { <LoadError error/> }.into_any(),
                    Ok(list) => view! {
                        <table class="grid" aria-label="Deliveries">
                            <thead><tr>
                                <th>"Event"</th><th>"Message"</th><th>"Result"</th><th>"Attempts"</th>
                                <th>"Last error"</th><th>"Delivered"</th>
                            </tr></thead>
                            <tbody>{list.into_iter().map(|d| view! {
                                <tr>
                                    <td>{d.event}</td><td>{d.message}</td><td>{d.status}</td>
                                    <td>{d.attempts}</td><td>{d.last_error.unwrap_or_default()}</td>
                                    <td>{d.delivered_at.unwrap_or_default()}</td>
                                </tr>
                            }).collect_view()}</tbody>
                        </table>
                    }.into_any(),
                }
            })}
        </Transition>
    }
}
