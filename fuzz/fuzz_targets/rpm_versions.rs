//! RPM version comparison is a total order: reflexive, antisymmetric and transitive, for any
//! three strings.
#![no_main]

use std::cmp::Ordering;

use libfuzzer_sys::fuzz_target;
use uplift::domain::version::compare_versions;

fuzz_target!(|input: (&str, &str, &str)| {
    let (a, b, c) = input;
    assert_eq!(compare_versions(a, a), Ordering::Equal);
    let ab = compare_versions(a, b);
    assert_eq!(compare_versions(b, a), ab.reverse(), "{a:?} {b:?}");
    let bc = compare_versions(b, c);
    if ab == bc && ab != Ordering::Equal {
        assert_eq!(compare_versions(a, c), ab, "{a:?} {b:?} {c:?}");
    }
});
