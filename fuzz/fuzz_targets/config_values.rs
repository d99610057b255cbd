//! Configuration values: every definition either refuses a value or stores a canonical form
//! that it accepts again unchanged; merging is checked the same way.
#![no_main]

use libfuzzer_sys::fuzz_target;
use uplift::domain::config::DEFINITIONS;

fuzz_target!(|input: (u8, &str, &str)| {
    let (which, value, addition) = input;
    let definition = &DEFINITIONS[usize::from(which) % DEFINITIONS.len()];
    if let Ok(stored) = definition.normalize(value) {
        assert_eq!(
            definition.normalize(&stored).as_deref(),
            Ok(stored.as_str()),
            "{value:?}"
        );
        if let Ok(merged) = definition.merge(&stored, addition) {
            assert_eq!(
                definition.normalize(&merged).as_deref(),
                Ok(merged.as_str())
            );
        }
    }
});
