//! Errata as the API carries them (SPEC §9, issue 21): advisories such as RHSA-2026:1234 a
//! content provider offers a host, and what an install asks for.
//! Shared by the REST API, the server functions and the pages; the rules are
//! `uplift::domain::errata`'s.

use serde::{Deserialize, Serialize};

use super::Labelled;

labelled_enum!(
    /// An erratum's type (SPEC §9).
    ErratumType {
        Security => "security", "Security";
        Bugfix => "bugfix", "Bug fix";
        Enhancement => "enhancement", "Enhancement";
    }
);

labelled_enum!(
    /// What a host or cluster upgrade installs (SPEC §9, seed 001's open question): every
    /// update, or only the packages of the security errata that apply to each host.
    UpgradeContent {
        All => "all", "All updates";
        Security => "security", "Security errata only";
    }
);

// `labelled_enum!` cannot mark a variant `#[default]`.
#[allow(clippy::derivable_impls)]
impl Default for UpgradeContent {
    fn default() -> Self {
        UpgradeContent::All
    }
}

/// A package an erratum fixes, and the version that fixes it.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct ErratumPackage {
    pub name: String,
    pub version: String,
}

/// An advisory, as `GET /api/hosts/{id}/errata` lists it (SPEC §9).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct Erratum {
    pub id: String,
    #[serde(rename = "type")]
    pub kind: ErratumType,
    /// The provider's word for it (`Critical`, `Important`, `Moderate`, `Low`, or none).
    pub severity: String,
    pub title: String,
    /// The day it was issued, `YYYY-MM-DD`.
    pub issued: String,
    pub description: String,
    pub packages: Vec<ErratumPackage>,
}

/// The body of `POST /api/hosts/{id}/errata/install` (SPEC §9).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct ErrataInstall {
    pub errata: Vec<String>,
}

/// How many errata of each type: the Errata tab's title, the plan preview's line per host, the
/// clusters list's security count.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct ErrataCounts {
    pub security: u32,
    pub bugfix: u32,
    pub enhancement: u32,
}

impl ErrataCounts {
    /// Counts `errata` by type.
    pub fn of<'a>(errata: impl IntoIterator<Item = &'a Erratum>) -> ErrataCounts {
        let mut counts = ErrataCounts::default();
        for erratum in errata {
            *counts.slot(erratum.kind) += 1;
        }
        counts
    }

    fn slot(&mut self, kind: ErratumType) -> &mut u32 {
        match kind {
            ErratumType::Security => &mut self.security,
            ErratumType::Bugfix => &mut self.bugfix,
            ErratumType::Enhancement => &mut self.enhancement,
        }
    }
}

/// `GET /api/hosts/{id}/errata?type=&severity=`: what the Errata tab's filters keep.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::IntoParams))]
#[cfg_attr(feature = "ssr", into_params(parameter_in = Query))]
#[serde(default)]
pub struct ErrataQuery {
    #[serde(rename = "type")]
    #[cfg_attr(feature = "ssr", param(rename = "type"))]
    pub kind: Option<ErratumType>,
    /// As the provider spells it; compared without case.
    pub severity: Option<String>,
}

/// How many errata of each type a host gets from an upgrade (the plan preview's line per
/// host; hosts linked to a content provider only).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct HostErrataCounts {
    pub host: String,
    pub counts: ErrataCounts,
}
