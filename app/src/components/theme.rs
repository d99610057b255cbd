//! Light or dark: the portal follows the browser's `prefers-color-scheme` until the user picks
//! one in the user menu; the choice is a cookie (`uplift_theme`), so the server renders the
//! page in it and nothing flashes. The colours themselves live in style/main.css only.

use leptos::prelude::*;
use leptos_meta::Html;

/// The cookie that keeps the user's choice.
const COOKIE: &str = "uplift_theme";

/// The theme chosen in this browser: `Some("dark" | "light")`, or `None` to follow the system.
fn chosen() -> Option<String> {
    let cookies = read_cookies()?;
    cookies
        .split(';')
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == COOKIE)
        .map(|(_, value)| value.to_string())
        .filter(|value| value == "dark" || value == "light")
}

#[cfg(feature = "ssr")]
fn read_cookies() -> Option<String> {
    let parts = use_context::<http::request::Parts>()?;
    let header = parts.headers.get(http::header::COOKIE)?;
    header.to_str().ok().map(str::to_string)
}

#[cfg(not(feature = "ssr"))]
fn read_cookies() -> Option<String> {
    use leptos::wasm_bindgen::JsCast;
    document()
        .dyn_into::<web_sys::HtmlDocument>()
        .ok()?
        .cookie()
        .ok()
}

/// Whether the browser asks for dark pages (known only in the browser, after hydration).
#[cfg(not(feature = "ssr"))]
fn system_is_dark() -> bool {
    window()
        .match_media("(prefers-color-scheme: dark)")
        .ok()
        .flatten()
        .is_some_and(|query| query.matches())
}

/// Puts the theme on `<html data-theme>` and offers the toggle's state.
#[derive(Clone, Copy)]
pub struct Theme {
    choice: RwSignal<Option<String>>,
    system_dark: RwSignal<bool>,
}

impl Theme {
    pub fn provide() -> Theme {
        let theme = Theme {
            choice: RwSignal::new(chosen()),
            system_dark: RwSignal::new(false),
        };
        provide_context(theme);
        // In the browser only, once hydrated: the server renders as if the system were light.
        crate::after_hydration(move || {
            #[cfg(not(feature = "ssr"))]
            theme.system_dark.set(system_is_dark());
        });
        theme
    }

    pub fn get() -> Theme {
        expect_context::<Theme>()
    }

    pub fn is_dark(self) -> bool {
        match self.choice.get().as_deref() {
            Some("dark") => true,
            Some(_) => false,
            None => self.system_dark.get(),
        }
    }

    /// Switches between dark and light and remembers it for a year.
    pub fn toggle(self) {
        let next = if self.is_dark() { "light" } else { "dark" };
        self.choice.set(Some(next.to_string()));
        #[cfg(not(feature = "ssr"))]
        {
            use leptos::wasm_bindgen::JsCast;
            if let Ok(doc) = document().dyn_into::<web_sys::HtmlDocument>() {
                let _ = doc.set_cookie(&format!(
                    "{COOKIE}={next}; path=/; max-age=31536000; SameSite=Lax"
                ));
            }
        }
    }
}

/// The `<html data-theme>` attribute for the whole document.
#[component]
pub fn ThemeRoot() -> impl IntoView {
    let theme = Theme::provide();
    view! { <Html {..} data-theme=move || theme.choice.get()/> }
}
