//! The browser bundle: hydrates the server-rendered portal. Nothing but the entry point lives
//! here, so the bundle holds only `app` compiled with `hydrate` (never server code).

#[wasm_bindgen::prelude::wasm_bindgen]
pub fn hydrate() {
    console_error_panic_hook::set_once();
    leptos::mount::hydrate_body(app::App);
}
