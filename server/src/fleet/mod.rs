//! The drivers hosts are touched through, and the fleet files that name the hosts: the `sim`
//! driver's simulated datacenter (the demo fleet, the generator) and the `ssh` driver's real
//! hosts (`ssh/`, docs/ssh.md).
//!
//! A datacenter is loaded from its fleet file into the database once, on the first start; from
//! then on the database is the world, exactly as a real datacenter outlives a restart of its
//! manager. No service policy here: drivers do what they are asked.

pub mod appliance;
pub mod appliance_driver;
pub mod driver;
mod file;
pub mod file_errata;
pub mod file_he;
pub mod generate;
pub mod ha;
pub mod sim;
mod sim_appliance;
mod sim_ha;
pub mod ssh;

pub use appliance_driver::{ApplianceDriver, ApplianceWorld, BackupDisk, DiskContent};

pub use file::{ClusterSpec, FailMode, Fleet, FleetError, Repository};

/// The demo fleet shipped with Uplift (`--fleet demo`, the default).
pub const DEMO: &str = include_str!("../../fleets/demo.toml");

/// A fleet file: the simulator's datacenter, or real hosts.
#[derive(Debug)]
pub enum FleetFile {
    Sim(Box<Fleet>),
    Ssh(ssh::SshFleet),
}

/// Reads and validates the fleet named by `--fleet`: `demo` or a file path. A file whose
/// `[driver]` says `kind = "ssh"` lists real hosts; any other is the simulator's.
pub fn load(source: &str) -> Result<FleetFile, FleetError> {
    if source == "demo" {
        return Fleet::parse("demo.toml", DEMO).map(|f| FleetFile::Sim(Box::new(f)));
    }
    let text = std::fs::read_to_string(source).map_err(|e| FleetError {
        file: source.to_string(),
        line: 0,
        reason: format!("cannot read the fleet file: {e}"),
    })?;
    let kind = toml::from_str::<toml::Table>(&text).ok().and_then(|table| {
        let kind = table.get("driver")?.get("kind")?.as_str()?.to_string();
        Some(kind)
    });
    if kind.as_deref() == Some("ssh") {
        return ssh::SshFleet::parse(source, &text).map(FleetFile::Ssh);
    }
    Fleet::parse(source, &text).map(|f| FleetFile::Sim(Box::new(f)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_demo_fleet_is_valid_and_as_varied_as_promised() {
        let Ok(FleetFile::Sim(fleet)) = load("demo") else {
            panic!("the demo fleet is a valid simulated fleet");
        };
        assert!(fleet.clusters.len() >= 3);
        assert!(fleet.hosts.len() >= 30);
        assert!(fleet.vms.len() >= 200);
        let oses: std::collections::HashSet<_> =
            fleet.hosts.iter().map(|h| h.os.as_str()).collect();
        assert!(oses.len() >= 2, "mixed OS versions");
        assert!(fleet.hosts.iter().any(|h| h.hosted_engine.is_some()));
        assert!(fleet.hosts.iter().any(|h| h.fail == FailMode::Upgrade));
        use app::api::MigrationMode;
        assert!(fleet
            .vms
            .iter()
            .any(|v| v.migration == MigrationMode::Pinned));
        assert!(fleet
            .vms
            .iter()
            .any(|v| v.migration == MigrationMode::UserMigratable));
    }

    #[test]
    fn a_missing_file_is_named() {
        let err = load("/nonexistent/fleet.toml").unwrap_err();
        assert!(
            err.to_string()
                .starts_with("/nonexistent/fleet.toml: cannot read"),
            "{err}"
        );
    }
}
