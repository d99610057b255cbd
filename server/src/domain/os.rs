//! Host operating systems as family and version, so "same family, same or newer major
//! version" (the InClusterUpgrade rule of seed 002) can be decided. Strings come as hosts
//! report them: `RHEL 8.9`, `RHEL - 9.4 - 1.el9`, `CentOS Stream 9`, `Fedora 22`.

use std::cmp::Ordering;

use super::version::compare_versions;

/// A parsed OS: family and version.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Os {
    pub family: String,
    pub version: String,
    pub major: u64,
    /// The second number of the version (0 when there is none): with `major`, enough to
    /// rank hosts by OS without comparing strings in the scheduler's inner loop.
    pub minor: u64,
}

/// Parses an OS string; `Err` says why it cannot be understood.
pub fn parse_os(text: &str) -> Result<Os, String> {
    let tokens: Vec<&str> = text
        .split(|c: char| c.is_whitespace() || c == '-')
        .filter(|t| !t.is_empty())
        .collect();
    let at = tokens
        .iter()
        .position(|t| t.starts_with(|c: char| c.is_ascii_digit()))
        .ok_or_else(|| format!("OS {text:?} has no version"))?;
    if at == 0 {
        return Err(format!("OS {text:?} has no family name"));
    }
    let version = tokens[at].to_string();
    let mut numbers = version.split('.');
    let major = numbers
        .next()
        .and_then(|m| m.parse().ok())
        .ok_or_else(|| format!("OS {text:?} has no major version"))?;
    let minor = numbers.next().map_or(0, leading_number);
    Ok(Os {
        family: tokens[..at].join(" "),
        version,
        major,
        minor,
    })
}

/// The digits a version part starts with (`4` of `4rc1`), 0 when none.
fn leading_number(part: &str) -> u64 {
    let end = part
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(part.len());
    part[..end].parse().unwrap_or(0)
}

impl Os {
    /// How `self` compares with `other` when both are of one family; `None` across families.
    pub fn compare(&self, other: &Os) -> Option<Ordering> {
        (self.family == other.family).then(|| compare_versions(&self.version, &other.version))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_usual_spellings_parse() {
        let rhel = parse_os("RHEL 8.9").unwrap();
        assert_eq!(
            (rhel.family.as_str(), rhel.version.as_str(), rhel.major),
            ("RHEL", "8.9", 8)
        );
        let dashed = parse_os("RHEL - 9.4 - 1.el9").unwrap();
        assert_eq!(
            (
                dashed.family.as_str(),
                dashed.version.as_str(),
                dashed.major
            ),
            ("RHEL", "9.4", 9)
        );
        let stream = parse_os("CentOS Stream 9").unwrap();
        assert_eq!((stream.family.as_str(), stream.major), ("CentOS Stream", 9));
        assert_eq!((rhel.minor, dashed.minor, stream.minor), (9, 4, 0));
        assert_eq!(parse_os("Fedora 8.10rc1").unwrap().minor, 10);
        assert!(parse_os("weird").is_err());
        assert!(parse_os("9.4").is_err());
        assert!(parse_os("").is_err());
    }

    #[test]
    fn versions_compare_within_a_family_only() {
        let old = parse_os("RHEL 8.9").unwrap();
        let new = parse_os("RHEL - 9.4 - 1.el9").unwrap();
        assert_eq!(new.compare(&old), Some(Ordering::Greater));
        assert_eq!(old.compare(&parse_os("CentOS Stream 9").unwrap()), None);
    }
}
