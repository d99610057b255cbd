//! The fleet file parsers and their validation (the simulator's and the real hosts'): any text
//! gives a fleet or an error naming a line of the text, never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|text: &str| {
    let lines = text.lines().count().max(1);
    if let Err(error) = uplift::fleet::Fleet::parse("fuzz.toml", text) {
        assert!(error.line >= 1 && error.line <= lines + 1, "{error:?}");
    }
    if let Err(error) = uplift::fleet::ssh::SshFleet::parse("fuzz.toml", text) {
        assert!(error.line >= 1 && error.line <= lines + 1, "{error:?}");
    }
});
