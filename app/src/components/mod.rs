//! Pieces the pages share: the app frame, status badges, paging, loading and error states.

mod filters;
mod layout;
mod pager;
mod status;

pub use filters::{query_page, query_text, ChoiceField, FilterBar, SearchField};
pub use layout::Layout;
pub use pager::Pager;
pub use status::{HostStatusBadge, VmStatusBadge};

use leptos::prelude::*;

/// What a page shows while its data loads.
#[component]
pub fn Loading() -> impl IntoView {
    view! { <p class="loading" role="status">"Loading…"</p> }
}

/// A failed load, said plainly.
#[component]
pub fn LoadError(error: ServerFnError) -> impl IntoView {
    let message = match error {
        ServerFnError::ServerError(message) => message,
        other => other.to_string(),
    };
    view! { <p class="alert alert-error" role="alert">{message}</p> }
}

/// Formats mebibytes the way admins read memory: GiB with one decimal.
pub fn gib(mb: u64) -> String {
    format!("{:.1} GiB", mb as f64 / 1024.0)
}
