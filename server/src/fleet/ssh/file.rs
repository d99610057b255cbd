//! The fleet file of real hosts (SPEC §9, "Real hosts"): `[driver] kind = "ssh"`, clusters
//! and hosts by address. Everything else (OS, cores, memory, packages, VMs) is read from the
//! hosts themselves, so the file says nothing of it; strict like the simulator's file.

use std::collections::HashSet;
use std::path::PathBuf;

use serde::Deserialize;
use toml::Spanned;

use super::super::file::{parse_toml, unique, validate_clusters, ClusterSpec, Engine};
use super::super::FleetError;

/// The libvirt a KVM host runs its VMs under.
pub const DEFAULT_LIBVIRT_URI: &str = "qemu:///system";

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SshFleet {
    pub driver: SshSettings,
    /// The managed engine's version, when the admin wants it shown (optional).
    #[serde(default)]
    pub engine: Engine,
    #[serde(default, rename = "cluster")]
    pub clusters: Vec<ClusterSpec>,
    #[serde(default, rename = "host")]
    pub hosts: Vec<SshHostSpec>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SshSettings {
    pub kind: Spanned<String>,
    /// The login of hosts that name none.
    #[serde(default = "default_user")]
    pub user: String,
    /// Uplift's private key; none: `~/.ssh/id_ed25519` of the user running Uplift, or one
    /// Uplift makes in its data dir (and prints the public half of).
    #[serde(default)]
    pub key_file: Option<PathBuf>,
    /// How often every host is looked at (facts, VMs, whether it answers), in seconds.
    #[serde(default = "default_survey_seconds")]
    pub survey_seconds: Spanned<u64>,
}

fn default_survey_seconds() -> Spanned<u64> {
    Spanned::new(0..0, super::DEFAULT_SURVEY_SECONDS)
}

fn default_user() -> String {
    "root".into()
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SshHostSpec {
    pub name: Spanned<String>,
    pub cluster: Spanned<String>,
    pub address: Spanned<String>,
    #[serde(default = "default_port")]
    pub port: Spanned<u16>,
    #[serde(default)]
    pub user: Option<String>,
    /// Where the host's libvirt answers (`qemu:///system`; `test:///default` in tests).
    #[serde(default)]
    pub libvirt_uri: Option<String>,
}

fn default_port() -> Spanned<u16> {
    Spanned::new(0..0, 22)
}

impl SshHostSpec {
    pub fn user<'a>(&'a self, settings: &'a SshSettings) -> &'a str {
        self.user.as_deref().unwrap_or(&settings.user)
    }
    pub fn libvirt_uri(&self) -> &str {
        self.libvirt_uri.as_deref().unwrap_or(DEFAULT_LIBVIRT_URI)
    }
}

impl SshFleet {
    pub fn parse(file: &str, text: &str) -> Result<SshFleet, FleetError> {
        let fleet: SshFleet = parse_toml(file, text)?;
        fleet
            .validate()
            .map_err(|(span, reason)| FleetError::at(file, text, Some(span), reason))?;
        Ok(fleet)
    }

    fn validate(&self) -> Result<(), (std::ops::Range<usize>, String)> {
        if self.driver.kind.get_ref() != "ssh" {
            return Err((
                self.driver.kind.span(),
                format!(
                    "driver kind {:?} is not \"sim\" or \"ssh\"",
                    self.driver.kind.get_ref()
                ),
            ));
        }
        let survey = &self.driver.survey_seconds;
        if !(1..=86_400).contains(survey.get_ref()) {
            return Err((survey.span(), "survey_seconds must be 1 to 86400".into()));
        }
        let clusters = validate_clusters(&self.clusters)?;
        let mut names = HashSet::new();
        let mut places = HashSet::new();
        for host in &self.hosts {
            unique(&mut names, &host.name, "host")?;
            if !clusters.contains(host.cluster.get_ref().as_str()) {
                return Err((
                    host.cluster.span(),
                    format!(
                        "host {} is in cluster {:?}, which the file does not define",
                        host.name.get_ref(),
                        host.cluster.get_ref()
                    ),
                ));
            }
            let address = host.address.get_ref();
            if !is_address(address) {
                return Err((
                    host.address.span(),
                    format!("address {address:?} is not a host name or an IP address"),
                ));
            }
            if *host.port.get_ref() == 0 {
                return Err((host.port.span(), "port must be 1 to 65535".into()));
            }
            if !places.insert((address.as_str(), *host.port.get_ref())) {
                return Err((
                    host.address.span(),
                    format!("{address}:{} is listed twice", host.port.get_ref()),
                ));
            }
        }
        Ok(())
    }
}

/// A DNS name or an IP address: what may follow `ssh user@`.
fn is_address(text: &str) -> bool {
    if text.parse::<std::net::IpAddr>().is_ok() {
        return true;
    }
    !text.is_empty()
        && text.len() <= 253
        && text.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && !label.starts_with('-')
                && label.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = r#"
[driver]
kind = "ssh"
user = "root"
key_file = "/etc/uplift/id_ed25519"

[[cluster]]
name = "Default"
compatibility_version = "4.7"

[[host]]
name = "kvm-01"
cluster = "Default"
address = "192.0.2.10"
port = 22

[[host]]
name = "kvm-02"
cluster = "Default"
address = "kvm-02.example.com"
port = 2222
user = "uplift"
"#;

    #[test]
    fn the_spec_example_parses() {
        let fleet = SshFleet::parse("real.toml", GOOD).unwrap();
        assert_eq!(fleet.hosts.len(), 2);
        assert_eq!(fleet.hosts[0].user(&fleet.driver), "root");
        assert_eq!(fleet.hosts[1].user(&fleet.driver), "uplift");
        assert_eq!(*fleet.hosts[1].port.get_ref(), 2222);
        assert_eq!(fleet.hosts[0].libvirt_uri(), "qemu:///system");
    }

    #[test]
    fn mistakes_are_refused_with_their_line() {
        let cases = [
            (GOOD.replace("port = 2222", "port = 0"), 21, "port must be"),
            (
                GOOD.replace("192.0.2.10", "192.0.2.10; reboot"),
                14,
                "is not a host name",
            ),
            (
                GOOD.replace("kvm-02.example.com", "192.0.2.10")
                    .replace("2222", "22"),
                20,
                "listed twice",
            ),
            (
                GOOD.replace("name = \"kvm-02\"", "name = \"kvm-01\""),
                18,
                "used twice",
            ),
            (
                GOOD.replace(
                    "cluster = \"Default\"\naddress = \"kvm",
                    "cluster = \"Nope\"\naddress = \"kvm",
                ),
                19,
                "does not define",
            ),
            (
                GOOD.replace("kind = \"ssh\"", "kind = \"ssh\"\nos = \"RHEL 9\""),
                4,
                "unknown field",
            ),
            (
                GOOD.replace("[[host]]\nname = \"kvm-01\"", "[[vm]]\nname = \"kvm-01\""),
                11,
                "unknown field",
            ),
        ];
        for (text, line, words) in cases {
            let err = SshFleet::parse("real.toml", &text).unwrap_err();
            assert!(err.reason.contains(words), "{err}");
            assert_eq!(err.line, line, "{err}");
        }
    }

    #[test]
    fn addresses() {
        for good in ["10.0.0.1", "::1", "kvm-01", "kvm-01.lab.example.com"] {
            assert!(is_address(good), "{good}");
        }
        for bad in ["", "-oProxyCommand=x", "a b", "kvm_01", "a..b", "x;y"] {
            assert!(!is_address(bad), "{bad}");
        }
    }
}
