//! The browser bundle: hydrates the server-rendered portal. Nothing but the entry point lives
//! here, so the bundle holds only `app` compiled with `hydrate` (never server code).

use leptos::prelude::*;

/// Hydrates the page asynchronously: a lazy route's page is fetched (its WASM chunk) before it
/// hydrates. When the whole page is hydrated, `app::Hydrated` says so, and what changes the
/// hydrated page runs (see `app::after_hydration`).
#[wasm_bindgen::prelude::wasm_bindgen]
pub fn hydrate() {
    console_error_panic_hook::set_once();
    let Some(body) = document().body() else {
        return;
    };
    let hydrated = app::Hydrated::default();
    wasm_bindgen_futures::spawn_local(async move {
        let app_hydrated = hydrated.clone();
        let owner = leptos::mount::hydrate_from_async(body, move || {
            provide_context(app_hydrated);
            app::App()
        })
        .await;
        hydrated.done();
        owner.forget();
    });
}
