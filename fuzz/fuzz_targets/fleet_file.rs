//! The fleet file parser and its validation: any text gives a fleet or an error naming a line
//! of the text, never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|text: &str| {
    if let Err(error) = uplift::fleet::Fleet::parse("fuzz.toml", text) {
        let lines = text.lines().count().max(1);
        assert!(error.line >= 1 && error.line <= lines + 1, "{error:?}");
    }
});
