//! Uplift's portal: the pages, their components, the server functions they call and the API
//! types shared by browser and server. Compiled twice: with `ssr` into the server, with
//! `hydrate` into the browser bundle (which therefore never sees server code).

pub mod api;
#[cfg(feature = "ssr")]
pub mod backend;
mod components;
mod pages;
pub mod rpc;

use leptos::prelude::*;
use leptos_meta::{provide_meta_context, MetaTags, Stylesheet, Title};
use leptos_router::{
    components::{ParentRoute, Route, Router, Routes},
    path, SsrMode,
};

/// The HTML document around the app, rendered on the server only.
pub fn shell(options: LeptosOptions) -> impl IntoView {
    view! {
        <!DOCTYPE html>
        <html lang="en">
            <head>
                <meta charset="utf-8"/>
                <meta name="viewport" content="width=device-width, initial-scale=1"/>
                <link rel="icon" href="/favicon.svg" type="image/svg+xml"/>
                <HydrationScripts options/>
                <MetaTags/>
            </head>
            <body>
                <App/>
            </body>
        </html>
    }
}

#[component]
pub fn App() -> impl IntoView {
    provide_meta_context();
    // Tells browser tests (and curious admins) that the page is interactive now: effects run
    // only in the browser, after hydration.
    Effect::new(|_| {
        if let Some(body) = document().body() {
            let _ = body.set_attribute("data-hydrated", "true");
        }
    });

    view! {
        <components::ThemeRoot/>
        <Stylesheet id="leptos" href="/pkg/uplift.css"/>
        <Title formatter=|title: String| if title.is_empty() { "Uplift".to_string() } else { format!("{title} · Uplift") }/>
        // Async rendering everywhere: every page arrives complete, so reading works without
        // JavaScript.
        <Router>
            <Routes fallback=|| view! { <pages::NotFound/> }>
                <Route path=path!("/login") view=pages::LoginPage ssr=SsrMode::Async/>
                <ParentRoute path=path!("") view=components::Layout ssr=SsrMode::Async>
                    <Route path=path!("") view=pages::DashboardPage ssr=SsrMode::Async/>
                    <Route path=path!("clusters") view=pages::ClustersPage ssr=SsrMode::Async/>
                    <Route path=path!("clusters/:id") view=pages::ClusterPage ssr=SsrMode::Async/>
                    <Route path=path!("clusters/:id/upgrade") view=pages::UpgradePage ssr=SsrMode::Async/>
                    <Route path=path!("hosted-engine") view=pages::HostedEnginePage ssr=SsrMode::Async/>
                    <Route path=path!("hosts") view=pages::HostsPage ssr=SsrMode::Async/>
                    <Route path=path!("hosts/:id") view=pages::HostPage ssr=SsrMode::Async/>
                    <Route path=path!("vms") view=pages::VmsPage ssr=SsrMode::Async/>
                    <Route path=path!("vms/:id") view=pages::VmPage ssr=SsrMode::Async/>
                    <Route path=path!("events") view=pages::EventsPage ssr=SsrMode::Async/>
                    <Route path=path!("config") view=pages::ConfigPage ssr=SsrMode::Async/>
                    <Route path=path!("notifications") view=pages::NotificationsPage ssr=SsrMode::Async/>
                    <Route path=path!("jobs/:id") view=pages::JobPage ssr=SsrMode::Async/>
                </ParentRoute>
            </Routes>
        </Router>
    }
}
