//! Pieces the pages share: the app frame, status badges, paging, loading and error states.

mod filters;
mod host_actions;
mod hosted_engine;
mod layout;
#[cfg(feature = "hydrate")]
mod live;
mod memory_bars;
mod modal;
mod pager;
mod portal;
mod status;
mod theme;
mod timeline;
mod vm_migrate;

pub use filters::{
    query_choice, query_page, query_per_page, query_text, ChoiceField, FilterBar, KeptField,
    SearchField,
};
pub use host_actions::{
    HostContextMenu, HostMenuBar, HostProgress, MenuAt, ReinstallDialog, UpgradeAlert,
    UpgradeDialog,
};
pub use hosted_engine::{EngineCrown, GlobalHaDialog, HaLine};
pub use layout::Layout;
pub use memory_bars::MemoryBars;
pub use modal::{focus_selector, Modal};
pub use pager::Pager;
pub use portal::{error_text, Portal};
pub use status::{HostStatusBadge, VmStatusBadge};
pub use theme::{Theme, ThemeRoot};
pub use timeline::{duration, epoch_seconds, Bar, Timeline};
pub use vm_migrate::{verdict_words, MigrateDialog, MigrateTarget};

use leptos::prelude::*;

/// What a page shows while its data loads.
#[component]
pub fn Loading() -> impl IntoView {
    view! { <p class="loading" role="status">"Loading…"</p> }
}

/// A failed load, said plainly.
#[component]
pub fn LoadError(error: ServerFnError) -> impl IntoView {
    view! { <p class="alert alert-error" role="alert">{error_text(error)}</p> }
}

/// Formats mebibytes the way admins read memory: GiB with one decimal.
pub fn gib(mb: u64) -> String {
    format!("{:.1} GiB", mb as f64 / 1024.0)
}
