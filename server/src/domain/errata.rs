//! Errata (issue 21): which advisories apply to a host, what the Errata tab's filters keep,
//! and the packages an install or a security-only upgrade puts on the host. Pure: a content
//! provider finds the errata and the host's packages, the service decides what to install; no
//! I/O here, and no provider's shapes (those are the providers').

use std::collections::BTreeMap;

use app::api::{Erratum, ErratumType};

use super::version::{compare_versions, is_newer};

/// A host's installed packages: name → version.
pub type Installed = BTreeMap<String, String>;

/// An erratum applies to a host that runs an older version of one of its packages. A package
/// the host does not have is not the host's concern (the erratum does not install it).
pub fn applies(erratum: &Erratum, installed: &Installed) -> bool {
    erratum.packages.iter().any(|package| {
        installed
            .get(&package.name)
            .is_some_and(|version| is_newer(&package.version, version))
    })
}

/// The errata of `errata` that apply to the host, newest first, then by id.
pub fn applicable(errata: &[Erratum], installed: &Installed) -> Vec<Erratum> {
    let mut found: Vec<Erratum> = errata
        .iter()
        .filter(|erratum| applies(erratum, installed))
        .cloned()
        .collect();
    found.sort_by(|a, b| b.issued.cmp(&a.issued).then_with(|| a.id.cmp(&b.id)));
    found
}

/// What the Errata tab (and `GET /api/hosts/{id}/errata?type=&severity=`) keeps: a type, a
/// severity (as the provider spells it, compared without case), or both.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ErrataFilter {
    pub kind: Option<ErratumType>,
    pub severity: Option<String>,
}

impl ErrataFilter {
    pub fn keeps(&self, erratum: &Erratum) -> bool {
        self.kind.is_none_or(|kind| erratum.kind == kind)
            && self
                .severity
                .as_deref()
                .is_none_or(|severity| erratum.severity.eq_ignore_ascii_case(severity))
    }
}

/// What installing `chosen` puts on the host: each of their packages the host runs at an older
/// version, at the newest version any of them fixes it in (two errata may fix one package).
pub fn package_set<'a>(
    chosen: impl IntoIterator<Item = &'a Erratum>,
    installed: &Installed,
) -> BTreeMap<String, String> {
    let mut set: BTreeMap<String, String> = BTreeMap::new();
    for package in chosen.into_iter().flat_map(|erratum| &erratum.packages) {
        let Some(current) = installed.get(&package.name) else {
            continue;
        };
        if !is_newer(&package.version, current) {
            continue;
        }
        match set.get(&package.name) {
            Some(planned) if compare_versions(planned, &package.version).is_ge() => {}
            _ => {
                set.insert(package.name.clone(), package.version.clone());
            }
        }
    }
    set
}

/// A security-only upgrade (the seed's "restrict upgrade to security-bugs?"): the packages of
/// the security errata that apply to the host, nothing else.
pub fn security_package_set(errata: &[Erratum], installed: &Installed) -> BTreeMap<String, String> {
    package_set(
        errata
            .iter()
            .filter(|erratum| erratum.kind == ErratumType::Security),
        installed,
    )
}

/// The ids of `wanted` that are not among `errata` (an install naming them is refused, nothing
/// changed), in the order asked.
pub fn unknown_ids<'a>(wanted: &'a [String], errata: &[Erratum]) -> Vec<&'a str> {
    wanted
        .iter()
        .filter(|id| !errata.iter().any(|erratum| &erratum.id == *id))
        .map(String::as_str)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use app::api::{ErrataCounts, ErratumPackage};

    fn erratum(id: &str, kind: ErratumType, issued: &str, packages: &[(&str, &str)]) -> Erratum {
        Erratum {
            id: id.into(),
            kind,
            severity: "Important".into(),
            title: format!("{id} update"),
            issued: issued.into(),
            description: String::new(),
            packages: packages
                .iter()
                .map(|(name, version)| ErratumPackage {
                    name: (*name).into(),
                    version: (*version).into(),
                })
                .collect(),
        }
    }

    fn installed(packages: &[(&str, &str)]) -> Installed {
        packages
            .iter()
            .map(|(n, v)| ((*n).to_string(), (*v).to_string()))
            .collect()
    }

    #[test]
    fn an_erratum_applies_when_the_host_runs_an_older_version_of_one_of_its_packages() {
        let host = installed(&[
            ("qemu-kvm", "8.2.0"),
            ("vdsm", "4.50.10"),
            ("kernel", "1:5.14"),
        ]);
        use ErratumType::*;
        // (id, type, issued, packages, applies)
        type Case<'a> = (
            &'a str,
            ErratumType,
            &'a str,
            &'a [(&'a str, &'a str)],
            bool,
        );
        let cases: [Case; 6] = [
            (
                "RHSA-1",
                Security,
                "2026-10-02",
                &[("qemu-kvm", "8.2.1")],
                true,
            ),
            // Versions compare as RPM does, not as strings: 4.50.9 is older than 4.50.10.
            ("RHBA-2", Bugfix, "2026-10-03", &[("vdsm", "4.50.9")], false),
            (
                "RHBA-3",
                Bugfix,
                "2026-10-03",
                &[("vdsm", "4.50.10")],
                false,
            ),
            // An epoch beats the version after it.
            (
                "RHSA-4",
                Security,
                "2026-10-04",
                &[("kernel", "6.1")],
                false,
            ),
            // A package the host does not run: not its erratum.
            (
                "RHEA-5",
                Enhancement,
                "2026-10-05",
                &[("ansible", "9")],
                false,
            ),
            // One package of several is enough.
            (
                "RHSA-6",
                Security,
                "2026-10-06",
                &[("ansible", "9"), ("qemu-kvm", "8.2.1")],
                true,
            ),
        ];
        let all: Vec<Erratum> = cases
            .iter()
            .map(|(id, kind, issued, packages, applies_to_host)| {
                let erratum = erratum(id, *kind, issued, packages);
                assert_eq!(applies(&erratum, &host), *applies_to_host, "{id}");
                erratum
            })
            .collect();
        let ids: Vec<String> = applicable(&all, &host).into_iter().map(|e| e.id).collect();
        assert_eq!(ids, ["RHSA-6", "RHSA-1"], "newest first");
    }

    #[test]
    fn filters_keep_a_type_a_severity_or_both() {
        let mut low = erratum("RHBA-1", ErratumType::Bugfix, "2026-01-01", &[]);
        low.severity = "Low".into();
        let important = erratum("RHSA-2", ErratumType::Security, "2026-01-02", &[]);
        let all = [low, important];
        let kept = |filter: ErrataFilter| -> Vec<&str> {
            all.iter()
                .filter(|e| filter.keeps(e))
                .map(|e| e.id.as_str())
                .collect()
        };
        assert_eq!(kept(ErrataFilter::default()), ["RHBA-1", "RHSA-2"]);
        let security = ErrataFilter {
            kind: Some(ErratumType::Security),
            severity: None,
        };
        assert_eq!(kept(security), ["RHSA-2"]);
        let low_only = ErrataFilter {
            kind: None,
            severity: Some("low".into()),
        };
        assert_eq!(kept(low_only), ["RHBA-1"]);
        let none = ErrataFilter {
            kind: Some(ErratumType::Security),
            severity: Some("Low".into()),
        };
        assert!(kept(none).is_empty());
        assert_eq!(
            ErrataCounts::of(&all),
            ErrataCounts {
                security: 1,
                bugfix: 1,
                enhancement: 0
            }
        );
    }

    #[test]
    fn a_security_only_upgrade_installs_the_security_errata_packages_and_nothing_else() {
        let host = installed(&[
            ("qemu-kvm", "8.2.0"),
            ("openssl", "3.0.7"),
            ("vdsm", "4.50.1"),
            ("libvirt", "9.0"),
        ]);
        use ErratumType::*;
        let errata = [
            erratum(
                "RHSA-1",
                Security,
                "2026-10-01",
                &[("qemu-kvm", "8.2.1"), ("openssl", "3.0.8")],
            ),
            // A later advisory fixes openssl again: the newer version wins.
            erratum("RHSA-2", Security, "2026-10-02", &[("openssl", "3.0.9")]),
            // An older fix than what is planned does not lower it.
            erratum(
                "RHSA-3",
                Security,
                "2026-10-03",
                &[("openssl", "3.0.8"), ("libvirt", "8.0")],
            ),
            erratum("RHBA-4", Bugfix, "2026-10-04", &[("vdsm", "4.50.2")]),
            erratum("RHEA-5", Enhancement, "2026-10-05", &[("libvirt", "9.1")]),
            erratum("RHSA-6", Security, "2026-10-06", &[("ansible", "9")]),
        ];
        let set = security_package_set(&errata, &host);
        assert_eq!(
            set,
            BTreeMap::from([
                ("openssl".to_string(), "3.0.9".to_string()),
                ("qemu-kvm".to_string(), "8.2.1".to_string()),
            ])
        );
        // Everything: the bug fix and the enhancement join.
        let all = package_set(&errata, &host);
        assert_eq!(all.get("vdsm").map(String::as_str), Some("4.50.2"));
        assert_eq!(all.get("libvirt").map(String::as_str), Some("9.1"));
        assert_eq!(all.len(), 4);
    }

    #[test]
    fn unknown_ids_are_named_in_the_order_asked() {
        let errata = [erratum("RHSA-1", ErratumType::Security, "2026-10-01", &[])];
        let wanted = ["RHSA-9".to_string(), "RHSA-1".to_string(), "x".to_string()];
        assert_eq!(unknown_ids(&wanted, &errata), ["RHSA-9", "x"]);
    }
}
