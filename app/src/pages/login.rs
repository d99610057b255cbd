use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;

/// The sign-in form. A plain HTML form posted to the server's `/login`, so it works before the
/// WASM has loaded and without JavaScript; the server answers with a redirect either way.
#[component]
pub fn LoginPage() -> impl IntoView {
    let query = use_query_map();
    let failed = move || query.read().get_str("error").is_some();
    view! {
        <Title text="Log in"/>
        <main class="login">
            <form method="post" action="/login" class="card login-card">
                <h1>"Uplift"</h1>
                <p class="muted">"Upgrade manager for virtualization clusters"</p>
                <Show when=failed>
                    <p class="alert alert-error" role="alert">"Invalid username or password."</p>
                </Show>
                <label for="username">"Username"</label>
                <input id="username" name="username" type="text" autocomplete="username" required autofocus/>
                <label for="password">"Password"</label>
                <input id="password" name="password" type="password" autocomplete="current-password" required/>
                <button type="submit" class="primary">"Log in"</button>
            </form>
        </main>
    }
}
