//! Which packages are monitored for updates: `PackageNamesForCheckUpdate` together with
//! `UserPackageNamesForCheckUpdate`, each item trimmed, `*` and `?` as wildcards, exact (and
//! case-sensitive, like package names) otherwise.

use wildmatch::WildMatch;

/// The compiled union of the two package lists.
#[derive(Debug)]
pub struct Monitored {
    patterns: Vec<WildMatch>,
}

impl Monitored {
    /// Builds the matcher from the raw comma-separated list values.
    pub fn from_lists<'a>(lists: impl IntoIterator<Item = &'a str>) -> Monitored {
        let patterns = lists
            .into_iter()
            .flat_map(split_list)
            .map(|item| WildMatch::new(&item))
            .collect();
        Monitored { patterns }
    }

    pub fn matches(&self, package: &str) -> bool {
        self.patterns.iter().any(|p| p.matches(package))
    }
}

/// The items of a comma-separated list value: trimmed, blanks dropped.
pub fn split_list(value: &str) -> Vec<String> {
    value
        .split(',')
        .map(str::trim)
        .filter(|item| !item.is_empty())
        .map(str::to_string)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn exact_names_and_wildcards() {
        let monitored = Monitored::from_lists(["vdsm, vdsm-cli", " qemu-* ,lib?irt"]);
        for yes in [
            "vdsm", "vdsm-cli", "qemu-kvm", "qemu-img", "qemu-", "libvirt",
        ] {
            assert!(monitored.matches(yes), "{yes}");
        }
        for no in [
            "vdsm-python",
            "VDSM",
            "qemu",
            "xqemu-kvm",
            "libvvirt",
            "kernel",
        ] {
            assert!(!monitored.matches(no), "{no}");
        }
    }

    #[test]
    fn empty_lists_match_nothing() {
        let monitored = Monitored::from_lists(["", " , ,"]);
        assert!(!monitored.matches("vdsm"));
        assert!(!monitored.matches(""));
    }

    proptest! {
        #[test]
        fn a_name_matches_itself_and_its_prefix_star(name in "[a-z][a-z0-9-]{0,15}", cut in 0usize..16) {
            prop_assert!(Monitored::from_lists([name.as_str()]).matches(&name));
            let prefix: String = name.chars().take(cut).collect();
            let star = format!("{prefix}*");
            prop_assert!(Monitored::from_lists([star.as_str()]).matches(&name));
        }

        #[test]
        fn question_marks_match_exactly_one_character(name in "[a-z]{1,10}") {
            let pattern = "?".repeat(name.len());
            prop_assert!(Monitored::from_lists([pattern.as_str()]).matches(&name));
            let longer = format!("{pattern}?");
            prop_assert!(!Monitored::from_lists([longer.as_str()]).matches(&name));
        }
    }
}
