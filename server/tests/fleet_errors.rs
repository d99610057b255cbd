//! A bad fleet file stops `uplift serve` with exit code 2 and a one-line message naming the
//! file, the line and the reason, before anything is written.

mod common;

use common::*;

/// Runs `uplift serve` on `text` and returns its one-line complaint.
fn refusal(text: &str) -> String {
    let dir = tempfile::tempdir().unwrap();
    let fleet = write_fleet(dir.path(), "bad.toml", text);
    let out = run(uplift(dir.path())
        .args(["serve", "--addr", "127.0.0.1:0", "--fleet"])
        .arg(&fleet));
    let stderr = String::from_utf8_lossy(&out.stderr).to_string();
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        !dir.path().join("uplift.db").exists(),
        "nothing is written for a bad fleet"
    );
    let line = stderr
        .lines()
        .find(|l| l.contains("bad.toml"))
        .unwrap_or_else(|| panic!("{stderr}"));
    line.split_once("bad.toml")
        .map(|(_, rest)| rest.to_string())
        .unwrap()
}

fn assert_refused(text: &str, line: usize, reason: &str) {
    let message = refusal(text);
    assert!(
        message.starts_with(&format!(":{line}: ")),
        "line {line} expected: {message}"
    );
    assert!(message.contains(reason), "{reason:?} expected: {message}");
}

#[test]
fn unknown_key() {
    // Line 23 of FLEET is `os = "RHEL 8.9"` of host a1.
    assert_refused(
        &FLEET.replace("os = \"RHEL 8.9\"", "os = \"RHEL 8.9\"\nram = 64"),
        24,
        "unknown field `ram`",
    );
}

#[test]
fn bad_value() {
    assert_refused(
        &FLEET.replace("status = \"maintenance\"", "status = \"napping\""),
        33,
        "napping",
    );
    assert_refused(
        &FLEET.replace("speed = 50.0", "speed = 0.0"),
        3,
        "speed must be a positive number",
    );
}

#[test]
fn vm_on_a_missing_host() {
    assert_refused(
        &FLEET.replace("host = \"b1\"", "host = \"b9\""),
        60,
        "VM batch is on host \"b9\"",
    );
}

#[test]
fn host_in_a_missing_cluster() {
    assert_refused(
        &FLEET.replace("cluster = \"beta\"", "cluster = \"gamma\""),
        39,
        "cluster \"gamma\"",
    );
}

#[test]
fn memory_overcommit() {
    assert_refused(
        &FLEET.replace("memory_gb = 16", "memory_gb = 60"),
        24,
        "overcommitted",
    );
}

#[test]
fn duplicate_name() {
    assert_refused(
        &FLEET.replace("name = \"spare\"", "name = \"web\""),
        66,
        "used twice",
    );
}

#[test]
fn toml_syntax() {
    assert_refused(&FLEET.replace("speed = 50.0", "speed = = 50.0"), 3, "");
}

#[test]
fn missing_file() {
    let dir = tempfile::tempdir().unwrap();
    let out = run(uplift(dir.path()).args(["serve", "--fleet", "/nonexistent/fleet.toml"]));
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("/nonexistent/fleet.toml: cannot read"));
}

#[test]
fn hosted_engine_tables_are_checked() {
    let he = |table: &str| format!("{FLEET}\n[hosted_engine]\n{table}");
    let lines = FLEET.lines().count();
    assert_refused(
        &he("cluster = \"gamma\"\nappliance = { os = \"EL 8\", version = \"4.5.0\" }\n"),
        lines + 3,
        "hosted_engine names cluster gamma, which the file does not define",
    );
    assert_refused(
        &he("cluster = \"alpha\"\nstorage_total_gb = 50\nengine_disk_gb = 60\nappliance = { os = \"EL 8\", version = \"4.5.0\" }\n"),
        lines + 5,
        "engine_disk_gb must be between 1 and storage_total_gb (50), not 60",
    );
    assert_refused(
        &he("cluster = \"alpha\"\nappliance = { os = \"EL 8\", version = \"4.5.0\" }\n[[hosted_engine.catalog]]\nversion = \"4.5.2\"\nos = \"EL 9\"\nsize_gb = 55\nsha1 = \"abc\"\n"),
        lines + 9,
        "sha1 must be 40 hex digits",
    );
    assert_refused(
        &he("cluster = \"alpha\"\nappliance = { os = \"EL 8\", version = \"4.5.0\" }\n[[hosted_engine.catalog]]\nversion = \"4.5.2\"\nos = \"EL 9\"\nsize_gb = 55\nsha1 = \"abc\"\nfail = \"explode\"\n"),
        lines + 10,
        "unknown variant `explode`",
    );
    let two_spm = FLEET
        .replace("name = \"a1\"\n", "name = \"a1\"\nspm = true\n")
        .replace("name = \"a2\"\n", "name = \"a2\"\nspm = true\n");
    assert_refused(&two_spm, 32, "cluster alpha has a second SPM host (a2)");
}
