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
    path, Lazy, SsrMode,
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

/// Whether the browser finished hydrating the page. Lazy routes hydrate asynchronously (the
/// page's chunk is fetched first), so an effect may run while the rest of the page is still
/// being hydrated, and a change it makes there would be lost (hydration keeps the server's
/// HTML): what changes the page waits for this (`after_hydration`). Provided by the browser
/// entry point (`frontend`); the server has none (effects do not run there).
#[derive(Clone, Debug, Default)]
pub struct Hydrated(ArcRwSignal<bool>);

impl Hydrated {
    /// The page is hydrated.
    pub fn done(&self) {
        self.0.set(true);
    }
}

/// Runs `f` in the browser once the page is hydrated, and again when what it reads changes.
pub fn after_hydration(f: impl Fn() + 'static) {
    let hydrated = use_context::<Hydrated>();
    Effect::new(move |_| {
        if hydrated.as_ref().is_none_or(|hydrated| hydrated.0.get()) {
            f();
        }
    });
}

#[component]
pub fn App() -> impl IntoView {
    provide_meta_context();
    // Tells browser tests (and curious admins) that the page is interactive now.
    after_hydration(|| {
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
                <Route path=path!("/login") view={Lazy::<pages::lazy::LoginRoute>::new()} ssr=SsrMode::Async/>
                <ParentRoute path=path!("") view=components::Layout ssr=SsrMode::Async>
                    <Route path=path!("") view={Lazy::<pages::lazy::DashboardRoute>::new()} ssr=SsrMode::Async/>
                    <Route path=path!("clusters") view={Lazy::<pages::lazy::ClustersRoute>::new()} ssr=SsrMode::Async/>
                    <Route path=path!("clusters/:id") view={Lazy::<pages::lazy::ClusterRoute>::new()} ssr=SsrMode::Async/>
                    <Route path=path!("clusters/:id/upgrade") view={Lazy::<pages::lazy::UpgradeRoute>::new()} ssr=SsrMode::Async/>
                    <Route path=path!("hosted-engine") view={Lazy::<pages::lazy::HostedEngineRoute>::new()} ssr=SsrMode::Async/>
                    <Route path=path!("hosts") view=pages::HostsPage ssr=SsrMode::Async/>
                    <Route path=path!("hosts/:id") view={Lazy::<pages::lazy::HostRoute>::new()} ssr=SsrMode::Async/>
                    <Route path=path!("vms") view={Lazy::<pages::lazy::VmsRoute>::new()} ssr=SsrMode::Async/>
                    <Route path=path!("vms/:id") view={Lazy::<pages::lazy::VmRoute>::new()} ssr=SsrMode::Async/>
                    <Route path=path!("events") view={Lazy::<pages::lazy::EventsRoute>::new()} ssr=SsrMode::Async/>
                    <Route path=path!("config") view={Lazy::<pages::lazy::ConfigRoute>::new()} ssr=SsrMode::Async/>
                    <Route path=path!("notifications") view={Lazy::<pages::lazy::NotificationsRoute>::new()} ssr=SsrMode::Async/>
                    <Route path=path!("providers") view={Lazy::<pages::lazy::ProvidersRoute>::new()} ssr=SsrMode::Async/>
                    <Route path=path!("jobs/:id") view={Lazy::<pages::lazy::JobRoute>::new()} ssr=SsrMode::Async/>
                </ParentRoute>
            </Routes>
        </Router>
    }
}
