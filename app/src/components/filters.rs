//! The filter bar of the list pages. Filters are a plain GET form, so the URL carries them:
//! every filtered view can be linked, reloaded and used without JavaScript.

use leptos::prelude::*;
use leptos_router::{components::Form, components::A, hooks::use_query_map, params::ParamsMap};

use crate::api::Labelled;

/// A query parameter's value, `None` when absent or blank.
pub fn query_text(params: &ParamsMap, key: &str) -> Option<String> {
    params.get(key).filter(|value| !value.trim().is_empty())
}

/// A query parameter naming one of an enum's values.
pub fn query_choice<T: Labelled>(params: &ParamsMap, key: &str) -> Option<T> {
    query_text(params, key).and_then(|value| T::parse(&value))
}

/// A 1-based page number from the URL.
pub fn query_page(params: &ParamsMap) -> Option<u32> {
    query_text(params, "page").and_then(|value| value.parse().ok())
}

/// The rows per page a list offers; the first is the default.
pub const PAGE_SIZES: [u32; 3] = [crate::api::DEFAULT_PER_PAGE, 50, 100];

/// The page size asked for (`?per_page=`), one of [`PAGE_SIZES`].
pub fn query_per_page(params: &ParamsMap) -> u32 {
    query_text(params, "per_page")
        .and_then(|value| value.parse().ok())
        .filter(|size| PAGE_SIZES.contains(size))
        .unwrap_or(PAGE_SIZES[0])
}

/// The form around a list's filters, with "Filter" and "Clear".
#[component]
pub fn FilterBar(label: &'static str, clear: &'static str, children: Children) -> impl IntoView {
    let query = use_query_map();
    view! {
        <Form method="GET" action="" attr:class="filters" attr:aria-label=label>
            {children()}
            // Filtering keeps the page size chosen.
            <KeptField name="per_page" value=Signal::derive(move || query_text(&query.read(), "per_page"))/>
            <button type="submit">"Filter"</button>
            <A href=clear>"Clear"</A>
        </Form>
    }
}

/// Carries a filter that came with a link (a host, a cluster) and has no control of its own
/// through the form, so filtering further keeps it.
#[component]
pub fn KeptField(name: &'static str, value: Signal<Option<String>>) -> impl IntoView {
    move || {
        value
            .get()
            .map(|value| view! { <input type="hidden" name=name value=value/> })
    }
}

/// A text filter.
#[component]
pub fn SearchField(
    label: &'static str,
    name: &'static str,
    value: Signal<Option<String>>,
) -> impl IntoView {
    view! {
        <label>{label}" "
            <input type="search" name=name prop:value=move || value.get().unwrap_or_default()/>
        </label>
    }
}

/// A choice among an enum's values, or any.
#[component]
pub fn ChoiceField<T: Labelled>(
    label: &'static str,
    name: &'static str,
    any: &'static str,
    selected: Signal<Option<T>>,
) -> impl IntoView {
    view! {
        <label>{label}" "
            <select name=name>
                <option value="">{any}</option>
                {T::all().iter().map(|choice| {
                    let choice = *choice;
                    view! {
                        <option value=choice.as_str() selected=move || selected.get() == Some(choice)>
                            {choice.label()}
                        </option>
                    }
                }).collect_view()}
            </select>
        </label>
    }
}
