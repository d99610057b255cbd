//! Package versions compared the way RPM (and, for the cases that matter here, dpkg) compares
//! them, not as strings: `1.10` is newer than `1.9`, an epoch beats everything after it, and
//! `~` sorts before anything (so `1.0~rc1` is older than `1.0`).

use std::cmp::Ordering;

/// Compares two full versions `[epoch:]version[-release]`.
pub fn compare_versions(a: &str, b: &str) -> Ordering {
    let (a_epoch, a_version, a_release) = split_evr(a);
    let (b_epoch, b_version, b_release) = split_evr(b);
    a_epoch
        .cmp(&b_epoch)
        .then_with(|| compare_segments(a_version, b_version))
        .then_with(|| match (a_release, b_release) {
            (Some(a), Some(b)) => compare_segments(a, b),
            // A version without a release matches any release of itself, as in RPM.
            _ => Ordering::Equal,
        })
}

/// Whether `candidate` is strictly newer than `installed`.
pub fn is_newer(candidate: &str, installed: &str) -> bool {
    compare_versions(candidate, installed) == Ordering::Greater
}

fn split_evr(text: &str) -> (u64, &str, Option<&str>) {
    let (epoch, rest) = match text.split_once(':') {
        Some((epoch, rest)) if !epoch.is_empty() && epoch.bytes().all(|b| b.is_ascii_digit()) => {
            (epoch.parse().unwrap_or(u64::MAX), rest)
        }
        _ => (0, text),
    };
    match rest.rsplit_once('-') {
        Some((version, release)) => (epoch, version, Some(release)),
        None => (epoch, rest, None),
    }
}

/// rpmvercmp: alternate runs of digits and letters; digits compare numerically and beat
/// letters; `~` sorts before everything, even the end of the string; `^` sorts after the end
/// but before anything else.
fn compare_segments(a: &str, b: &str) -> Ordering {
    if a == b {
        return Ordering::Equal;
    }
    let (mut a, mut b) = (a.as_bytes(), b.as_bytes());
    let separator = |c: &u8| !c.is_ascii_alphanumeric() && *c != b'~' && *c != b'^';
    loop {
        while a.first().is_some_and(separator) {
            a = &a[1..];
        }
        while b.first().is_some_and(separator) {
            b = &b[1..];
        }
        match (a.first(), b.first()) {
            (Some(b'~'), Some(b'~')) => {
                a = &a[1..];
                b = &b[1..];
                continue;
            }
            (Some(b'~'), _) => return Ordering::Less,
            (_, Some(b'~')) => return Ordering::Greater,
            (Some(b'^'), Some(b'^')) => {
                a = &a[1..];
                b = &b[1..];
                continue;
            }
            (Some(b'^'), None) => return Ordering::Greater,
            (Some(b'^'), Some(_)) => return Ordering::Less,
            (None, Some(b'^')) => return Ordering::Less,
            (Some(_), Some(b'^')) => return Ordering::Greater,
            (None, None) => return Ordering::Equal,
            (None, Some(_)) => return Ordering::Less,
            (Some(_), None) => return Ordering::Greater,
            (Some(_), Some(_)) => {}
        }
        let numeric = a[0].is_ascii_digit();
        let run = |s: &[u8]| {
            s.iter()
                .take_while(|c| {
                    if numeric {
                        c.is_ascii_digit()
                    } else {
                        c.is_ascii_alphabetic()
                    }
                })
                .count()
        };
        let (a_len, b_len) = (run(a), run(b));
        if b_len == 0 {
            // Different kinds of run: numbers are newer than letters.
            return if numeric {
                Ordering::Greater
            } else {
                Ordering::Less
            };
        }
        let (a_run, b_run) = (&a[..a_len], &b[..b_len]);
        let order = if numeric {
            let trim = |s: &[u8]| {
                let zeros = s.iter().take_while(|&&c| c == b'0').count();
                s[zeros..].to_vec()
            };
            let (x, y) = (trim(a_run), trim(b_run));
            x.len().cmp(&y.len()).then_with(|| x.cmp(&y))
        } else {
            a_run.cmp(b_run)
        };
        if order != Ordering::Equal {
            return order;
        }
        a = &a[a_len..];
        b = &b[b_len..];
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use Ordering::*;

    #[test]
    fn versions_compare_like_rpm() {
        let cases = [
            ("1.10", "1.9", Greater),
            ("1.9", "1.10", Less),
            ("4.50.3", "4.50.2", Greater),
            ("1.0", "1.0", Equal),
            ("1.0", "1.0.0", Less),
            ("1.00", "1.0", Equal),
            ("1.0~rc1", "1.0", Less),
            ("1.0~rc1", "1.0~rc2", Less),
            ("1.0~rc1", "1.0~", Greater),
            ("1.0^git1", "1.0", Greater),
            ("1.0^git1", "1.0.1", Less),
            ("1:1.0", "2.0", Greater),
            ("0:2.0", "2.0", Equal),
            ("2.0-2.el9", "2.0-10.el9", Less),
            ("2.0-2.el9", "2.0", Equal),
            ("1.a", "1.1", Less),
            ("1a", "1b", Less),
            ("8.2.0", "6.2.0", Greater),
            ("9.0.0", "10.0.0", Less),
        ];
        for (a, b, expected) in cases {
            assert_eq!(compare_versions(a, b), expected, "{a} vs {b}");
            assert_eq!(compare_versions(b, a), expected.reverse(), "{b} vs {a}");
        }
        assert!(is_newer("4.50.3", "4.50.2"));
        assert!(!is_newer("4.50.2", "4.50.2"));
    }

    proptest! {
        #[test]
        fn comparison_is_antisymmetric_and_reflexive(a in "[0-9a-z.~^:-]{0,12}", b in "[0-9a-z.~^:-]{0,12}") {
            prop_assert_eq!(compare_versions(&a, &a), Equal);
            prop_assert_eq!(compare_versions(&a, &b), compare_versions(&b, &a).reverse());
        }

        #[test]
        fn numeric_parts_compare_as_numbers(x in 0u32..100_000, y in 0u32..100_000) {
            prop_assert_eq!(compare_versions(&format!("1.{x}"), &format!("1.{y}")), x.cmp(&y));
        }
    }
}
