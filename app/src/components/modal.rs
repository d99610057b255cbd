//! The one modal dialog every confirmation and form of the portal uses, so all of them behave
//! alike for keyboard users: the browser's own modal `<dialog>` makes the page behind it inert
//! (Tab stays inside), Escape and a click on the backdrop close it, and when it closes the focus
//! goes back where it was (or to `return_to` when that element is gone, e.g. a menu item).
//! What a dialog says and does belongs to its caller, not here.

use leptos::prelude::*;
use leptos::wasm_bindgen::JsCast;

#[component]
pub fn Modal(
    /// The id of the heading that names the dialog.
    labelledby: &'static str,
    on_close: Callback<()>,
    /// Where the focus goes after closing if the element focused before is gone (a CSS
    /// selector).
    #[prop(optional, into)]
    return_to: Option<String>,
    #[prop(optional)] class: &'static str,
    children: Children,
) -> impl IntoView {
    let dialog = NodeRef::<leptos::html::Dialog>::new();
    #[cfg(feature = "hydrate")]
    open_modally(dialog, return_to);
    #[cfg(not(feature = "hydrate"))]
    let _ = return_to;
    let classes = format!("dialog {class}");
    view! {
        <dialog class=classes aria-labelledby=labelledby node_ref=dialog
            on:cancel=move |ev: web_sys::Event| {
                // Escape: the caller decides what closing means (it removes the dialog).
                ev.prevent_default();
                on_close.run(());
            }
            on:keydown=move |ev| {
                // Tab wraps around inside: the focus never leaves for the browser's own UI.
                if ev.key() == "Tab" {
                    if let Some(dialog) = dialog.get_untracked() {
                        if wrap_focus(&dialog, ev.shift_key()) {
                            ev.prevent_default();
                        }
                    }
                }
            }
            on:click=move |ev| {
                // A click on the backdrop lands on the dialog element, outside its box.
                let Some(target) = ev.target().and_then(|t| t.dyn_into::<web_sys::Element>().ok()) else { return };
                if target.tag_name() != "DIALOG" {
                    return;
                }
                let rect = target.get_bounding_client_rect();
                let (x, y) = (f64::from(ev.client_x()), f64::from(ev.client_y()));
                if x < rect.left() || x > rect.right() || y < rect.top() || y > rect.bottom() {
                    on_close.run(());
                }
            }>
            {children()}
        </dialog>
    }
}

/// The elements under `root` that `selector` finds, in document order.
pub(super) fn elements(root: &web_sys::Element, selector: &str) -> Vec<web_sys::HtmlElement> {
    let Ok(list) = root.query_selector_all(selector) else {
        return Vec::new();
    };
    (0..list.length())
        .filter_map(|i| list.item(i))
        .filter_map(|node| node.dyn_into::<web_sys::HtmlElement>().ok())
        .collect()
}

/// Which of `items` has the focus.
pub(super) fn focused(items: &[web_sys::HtmlElement]) -> Option<usize> {
    let active = document().active_element()?;
    items
        .iter()
        .position(|item| &active == item.unchecked_ref::<web_sys::Element>())
}

/// Focuses the element a CSS selector finds, if any.
pub fn focus_selector(selector: &str) {
    if let Some(element) = document()
        .query_selector(selector)
        .ok()
        .flatten()
        .and_then(|el| el.dyn_into::<web_sys::HtmlElement>().ok())
    {
        let _ = element.focus();
    }
}

/// At the last focusable element (first with Shift), or from outside, moves the focus to the
/// first (last); true when it did.
fn wrap_focus(dialog: &web_sys::HtmlDialogElement, backwards: bool) -> bool {
    let items = elements(
        dialog,
        "button:not(:disabled), a[href], input:not(:disabled), select:not(:disabled), textarea:not(:disabled), [tabindex]:not([tabindex='-1'])",
    );
    let last = match items.len() {
        0 => return false,
        n => n - 1,
    };
    let target = match (backwards, focused(&items)) {
        (false, None) => 0,
        (true, None) => last,
        (false, Some(i)) if i == last => 0,
        (true, Some(0)) => last,
        _ => return false,
    };
    let _ = items[target].focus();
    true
}

/// In the browser: shows the dialog modally once mounted; on cleanup closes it and puts the
/// focus back.
#[cfg(feature = "hydrate")]
fn open_modally(dialog: NodeRef<leptos::html::Dialog>, return_to: Option<String>) {
    use std::cell::RefCell;
    use std::rc::Rc;

    use send_wrapper::SendWrapper;

    /// The open dialog and the element that had the focus before it.
    type Opened = Rc<RefCell<Option<(web_sys::HtmlDialogElement, Option<web_sys::Element>)>>>;

    let opened: SendWrapper<Opened> = SendWrapper::new(Rc::new(RefCell::new(None)));
    let for_effect = opened.clone();
    Effect::new(move |_| {
        let Some(element) = dialog.get() else { return };
        if element.open() {
            return;
        }
        let before = document().active_element();
        // Modal: the rest of the page is inert until it closes.
        let _ = element.show_modal();
        *for_effect.borrow_mut() = Some((element, before));
    });
    on_cleanup(move || {
        let Some((element, before)) = opened.borrow_mut().take() else {
            return;
        };
        element.close();
        // The body is no place to return to (the opener was removed, e.g. a menu item).
        match before
            .filter(|el| el.is_connected() && el.tag_name() != "BODY")
            .and_then(|el| el.dyn_into::<web_sys::HtmlElement>().ok())
        {
            Some(opener) => {
                let _ = opener.focus();
            }
            None => {
                if let Some(selector) = &return_to {
                    focus_selector(selector);
                }
            }
        }
    });
}
