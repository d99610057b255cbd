//! The portal's pages as lazy routes: each page's code is split out of the first load into a
//! WASM chunk of its own (cargo-leptos `--split`), fetched when the page is first shown. The
//! hosts list, the page admins open most, stays in the main bundle.
//!
//! Only the route types live here; a page itself is an ordinary component in its own module.

use leptos::prelude::*;
use leptos_router::{lazy_route, LazyRoute};

/// A lazy route type `$route` that shows the page component `$page`.
macro_rules! lazy_page {
    ($($route:ident => $page:ident),* $(,)?) => {$(
        #[doc = concat!("The lazily loaded `", stringify!($page), "`.")]
        #[derive(Debug)]
        pub struct $route;

        #[lazy_route]
        impl LazyRoute for $route {
            fn data() -> Self {
                $route
            }

            fn view(this: Self) -> AnyView {
                let $route = this;
                super::$page().into_any()
            }
        }
    )*};
}

lazy_page! {
    LoginRoute => LoginPage,
    DashboardRoute => DashboardPage,
    ClustersRoute => ClustersPage,
    ClusterRoute => ClusterPage,
    UpgradeRoute => UpgradePage,
    HostedEngineRoute => HostedEnginePage,
    HostRoute => HostPage,
    VmsRoute => VmsPage,
    VmRoute => VmPage,
    EventsRoute => EventsPage,
    ConfigRoute => ConfigPage,
    NotificationsRoute => NotificationsPage,
    ProvidersRoute => ProvidersPage,
    JobRoute => JobPage,
}
