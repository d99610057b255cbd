//! Monitored package patterns (`*`, `?`, comma lists): no panic, and every name listed without
//! wildcards matches itself.
#![no_main]

use libfuzzer_sys::fuzz_target;
use uplift::domain::packages::{split_list, Monitored};

fuzz_target!(|input: (&str, &str, &str)| {
    let (always, extra, package) = input;
    let monitored = Monitored::from_lists([always, extra]);
    let _ = monitored.matches(package);
    for item in split_list(always).into_iter().chain(split_list(extra)) {
        if !item.contains(['*', '?']) {
            assert!(monitored.matches(&item), "{item:?}");
        }
    }
});
