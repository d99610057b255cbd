//! The fleet file's `[[erratum]]` tables (SPEC §9, issue 21): the advisories the simulator's
//! content provider offers, with the package versions that fix them. Apart from `file.rs` so
//! the errata's keys and rules sit together; which erratum applies to which host is
//! `domain::errata`'s, not this file's.

use std::collections::{BTreeMap, HashSet};
use std::ops::Range;

use app::api::{Erratum, ErratumPackage, ErratumType};
use serde::Deserialize;
use toml::Spanned;

/// `[[erratum]]`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ErratumSpec {
    pub id: Spanned<String>,
    #[serde(rename = "type")]
    pub kind: ErratumType,
    #[serde(default)]
    pub severity: String,
    pub title: String,
    /// `YYYY-MM-DD`.
    pub issued: Spanned<String>,
    #[serde(default)]
    pub description: String,
    /// Package name → the version that fixes it.
    pub packages: Spanned<BTreeMap<String, String>>,
}

impl ErratumSpec {
    /// The erratum as the API carries it.
    pub fn erratum(&self) -> Erratum {
        Erratum {
            id: self.id.get_ref().clone(),
            kind: self.kind,
            severity: self.severity.clone(),
            title: self.title.clone(),
            issued: self.issued.get_ref().clone(),
            description: self.description.clone(),
            packages: self
                .packages
                .get_ref()
                .iter()
                .map(|(name, version)| ErratumPackage {
                    name: name.clone(),
                    version: version.clone(),
                })
                .collect(),
        }
    }
}

/// Ids are unique and not blank, `issued` is a date, each erratum fixes at least one package
/// at a version.
pub(super) fn validate_errata(errata: &[ErratumSpec]) -> Result<(), (Range<usize>, String)> {
    let mut ids = HashSet::new();
    for erratum in errata {
        let id = erratum.id.get_ref();
        if id.trim().is_empty() {
            return Err((
                erratum.id.span(),
                "an erratum's id must not be blank".into(),
            ));
        }
        if !ids.insert(id.as_str()) {
            return Err((erratum.id.span(), format!("erratum {id} is defined twice")));
        }
        let date = time::macros::format_description!("[year]-[month]-[day]");
        if time::Date::parse(erratum.issued.get_ref(), &date).is_err() {
            return Err((
                erratum.issued.span(),
                format!(
                    "erratum {id}: issued must be a date like 2026-10-02, not {:?}",
                    erratum.issued.get_ref()
                ),
            ));
        }
        let packages = erratum.packages.get_ref();
        if packages.is_empty() {
            return Err((
                erratum.packages.span(),
                format!("erratum {id} fixes no package: packages = {{ name = \"version\" }}"),
            ));
        }
        if let Some((name, _)) = packages
            .iter()
            .find(|(_, version)| version.trim().is_empty())
        {
            return Err((
                erratum.packages.span(),
                format!("erratum {id}: package {name} has no version"),
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use crate::fleet::file::Fleet;

    const HEAD: &str = r#"
[[cluster]]
name = "A"
compatibility_version = "4.7"
"#;

    fn fleet(errata: &str) -> Result<Fleet, String> {
        Fleet::parse("f.toml", &format!("{HEAD}{errata}")).map_err(|e| e.to_string())
    }

    #[test]
    fn errata_are_read_with_their_packages() {
        let fleet = fleet(
            r#"
[[erratum]]
id = "RHSA-2026:1234"
type = "security"
severity = "Important"
title = "qemu-kvm security update"
issued = "2026-10-02"
description = "A flaw was found."
packages = { qemu-kvm = "8.2.1", qemu-img = "8.2.1" }
"#,
        )
        .expect("a good fleet");
        let erratum = fleet.errata[0].erratum();
        assert_eq!(erratum.id, "RHSA-2026:1234");
        assert_eq!(erratum.kind, app::api::ErratumType::Security);
        let names: Vec<&str> = erratum.packages.iter().map(|p| p.name.as_str()).collect();
        assert_eq!(names, ["qemu-img", "qemu-kvm"]);
    }

    #[test]
    fn bad_errata_are_refused_with_the_reason_and_the_line() {
        let one = |fields: &str| format!("\n[[erratum]]\n{fields}\n");
        let good = "id = \"E1\"\ntype = \"bugfix\"\ntitle = \"t\"\nissued = \"2026-01-31\"\npackages = { vdsm = \"4.50\" }";
        assert!(fleet(&one(good)).is_ok());
        for (bad, says) in [
            (good.replace("bugfix", "hotfix"), "unknown variant `hotfix`"),
            (
                good.replace("2026-01-31", "2026-02-31"),
                "issued must be a date",
            ),
            (
                good.replace("2026-01-31", "yesterday"),
                "issued must be a date",
            ),
            (
                good.replace("{ vdsm = \"4.50\" }", "{}"),
                "fixes no package",
            ),
            (
                good.replace("\"4.50\"", "\"\""),
                "package vdsm has no version",
            ),
            (good.replace("\"E1\"", "\" \""), "must not be blank"),
            (
                format!("{good}\ncolour = \"red\""),
                "unknown field `colour`",
            ),
        ] {
            let error = fleet(&one(&bad)).expect_err(&bad);
            assert!(error.contains(says), "{bad}: {error}");
            assert!(error.contains("f.toml:"), "{error}");
        }
        let twice = format!("{}{}", one(good), one(good));
        let error = fleet(&twice).expect_err("a duplicate");
        assert!(error.contains("erratum E1 is defined twice"), "{error}");
    }
}
