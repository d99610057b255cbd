use leptos::prelude::*;

use crate::api::{HostStatus, VmStatus};

/// A host's status as a coloured badge with the words of SPEC §1.
#[component]
pub fn HostStatusBadge(status: HostStatus) -> impl IntoView {
    let tone = match status {
        HostStatus::Up => "ok",
        HostStatus::Maintenance => "info",
        HostStatus::InstallFailed
        | HostStatus::NonOperational
        | HostStatus::NonResponsive
        | HostStatus::Down => "bad",
        _ => "busy",
    };
    view! { <span class=format!("badge badge-{tone}") data-status=status.as_str()>{status.label()}</span> }
}

/// A VM's status as a coloured badge.
#[component]
pub fn VmStatusBadge(status: VmStatus) -> impl IntoView {
    let tone = match status {
        VmStatus::Up => "ok",
        VmStatus::Down => "off",
        VmStatus::Migrating => "busy",
        VmStatus::Suspended | VmStatus::Paused => "info",
    };
    view! { <span class=format!("badge badge-{tone}") data-status=status.as_str()>{status.label()}</span> }
}
