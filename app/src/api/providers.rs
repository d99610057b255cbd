//! Content providers as the API carries them (SPEC §9, issue 21): what the Providers page
//! lists and an admin registers, and a host's link to its provider's content host. A
//! provider's password goes in (`ProviderInput`) and never comes out (`Provider` says only
//! whether one is set).

use serde::{Deserialize, Serialize};

use super::{Labelled, Ref};

labelled_enum!(
    /// Where errata come from.
    ProviderKind {
        Foreman => "foreman", "Foreman/Katello";
        Sim => "sim", "Simulator";
    }
);

/// A registered provider (`GET /api/providers`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct Provider {
    pub id: String,
    pub name: String,
    pub kind: ProviderKind,
    /// Empty for the simulator.
    pub url: String,
    pub username: String,
    /// Whether a password is stored; the password itself is never shown again.
    pub has_password: bool,
    /// How many hosts are linked to it.
    pub hosts: u32,
    pub created_at: String,
    pub updated_at: String,
}

/// The body of `POST /api/providers` and `PUT /api/providers/{id}`. On a change, no
/// `password` keeps the stored one.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct ProviderInput {
    pub name: String,
    pub kind: ProviderKind,
    #[serde(default)]
    pub url: String,
    #[serde(default)]
    pub username: String,
    #[serde(default)]
    pub password: Option<String>,
}

/// What `POST /api/providers/{id}/test` found.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct ProviderTest {
    pub ok: bool,
    pub message: String,
}

/// A host's content link (`GET /api/hosts/{id}/content`): its provider, its content host
/// there, and whether the provider can install content on it (seed 001's katello-agent
/// check), with the reason when it cannot.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct HostContent {
    pub provider: Option<Ref>,
    pub content_host: Option<String>,
    pub can_install: bool,
    /// Why content cannot be installed (no provider, the provider unreachable, no agent).
    pub reason: Option<String>,
}

/// The body of `PUT /api/hosts/{id}/content`: the provider to link (none unlinks) and the
/// content host's id there (none: found by the host's name).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct HostContentLink {
    pub provider: Option<String>,
    #[serde(default)]
    pub content_host: Option<String>,
}
