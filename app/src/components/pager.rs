use leptos::prelude::*;
use leptos_router::{components::A, hooks::use_query_map};

use super::filters::{query_per_page, PAGE_SIZES};

/// "Previous / Page N of M / Next" links that keep the page's other query parameters, so
/// filters survive paging and every page has its own URL (and works without JavaScript).
#[component]
pub fn Pager(page: u32, pages: u32, total: u64) -> impl IntoView {
    let query = use_query_map();
    let href = move |target: u32| {
        let mut params = query.get_untracked();
        params.replace("page", target.to_string());
        params.to_query_string()
    };
    let per_page = query_per_page(&query.get_untracked());
    // Another page size starts again at page 1.
    let sized = move |size: u32| {
        let mut params = query.get_untracked();
        params.remove("page");
        params.replace("per_page", size.to_string());
        params.to_query_string()
    };
    view! {
        <nav class="pager" aria-label="Pages">
            {(page > 1).then(|| view! { <A href=href(page - 1) attr:rel="prev">"Previous"</A> })}
            <span>{format!("Page {page} of {pages} · {total} in all")}</span>
            {(page < pages).then(|| view! { <A href=href(page + 1) attr:rel="next">"Next"</A> })}
            <span class="page-sizes">"Per page: "
                {PAGE_SIZES.into_iter().map(|size| {
                    let current = (size == per_page).then_some("page");
                    view! { <A href=sized(size) attr:aria-current=current>{size.to_string()}</A> " " }
                }).collect_view()}
            </span>
        </nav>
    }
}
