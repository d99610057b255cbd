//! One module per screen of SPEC §7.

mod cluster_settings;
mod clusters;
mod config;
mod dashboard;
mod events;
mod host_errata;
mod hosted_engine;
mod hosts;
mod job;
pub mod lazy;
mod login;
mod notifications;
mod providers;
mod upgrade;
mod vm;
mod vms;

pub use clusters::{ClusterPage, ClustersPage};
pub use config::ConfigPage;
pub use dashboard::DashboardPage;
pub use events::EventsPage;
pub use hosted_engine::HostedEnginePage;
pub use hosts::{HostPage, HostsPage};
pub use job::JobPage;
pub use login::LoginPage;
pub use notifications::NotificationsPage;
pub use providers::ProvidersPage;
pub use upgrade::UpgradePage;
pub use vm::VmPage;
pub use vms::VmsPage;

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::components::A;

#[component]
pub fn NotFound() -> impl IntoView {
    #[cfg(feature = "ssr")]
    if let Some(response) = use_context::<leptos_axum::ResponseOptions>() {
        response.set_status(http::StatusCode::NOT_FOUND);
    }
    view! {
        <Title text="Not found"/>
        <main class="content">
            <h1>"Page not found"</h1>
            <p><A href="/">"Back to the dashboard"</A></p>
        </main>
    }
}
