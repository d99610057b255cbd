//! The configuration values of SPEC §3: names, types, defaults and what makes a value valid.
//! Pure: the store keeps the text, this decides what text may be kept.

use super::packages::split_list;

/// What kind of value a setting holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// Comma-separated package names or patterns; `merge` adds to it.
    PackageList,
    /// Comma-separated networks (`10.1.0.0/16`, an address alone is its own network); `merge`
    /// adds to it.
    NetworkList,
    /// A whole number within bounds.
    Number { min: u64, max: u64 },
    /// An http(s) URL, or empty.
    Url,
    /// A host name or address, or empty.
    Host,
    /// An email address.
    Email,
    /// One of a fixed set of words.
    Choice(&'static [&'static str]),
}

/// One configuration value's definition.
#[derive(Debug)]
pub struct Definition {
    pub name: &'static str,
    pub kind: Kind,
    pub default: &'static str,
    pub meaning: &'static str,
}

pub const DEFINITIONS: &[Definition] = &[
    Definition {
        name: "PackageNamesForCheckUpdate",
        kind: Kind::PackageList,
        default: "vdsm,vdsm-cli",
        meaning: "packages always monitored for updates",
    },
    Definition {
        name: "UserPackageNamesForCheckUpdate",
        kind: Kind::PackageList,
        default: "",
        meaning: "extra monitored packages; * and ? are wildcards",
    },
    Definition {
        name: "HostPackagesUpdateTimeInHours",
        kind: Kind::Number { min: 0, max: 8760 },
        default: "24",
        meaning: "interval of the periodic host check; 0 turns it off",
    },
    Definition {
        name: "EngineUpdateCheckIntervalInDays",
        kind: Kind::Number { min: 0, max: 365 },
        default: "1",
        meaning: "interval of the engine update check; 0 turns it off",
    },
    Definition {
        name: "EngineUpdateFeedUrl",
        kind: Kind::Url,
        default: "",
        meaning: "URL of the engine release feed; empty uses the fleet's engine info",
    },
    Definition {
        name: "ServerRebootTimeoutInSeconds",
        kind: Kind::Number {
            min: 10,
            max: 86_400,
        },
        default: "600",
        meaning: "how long a rebooting host may take to come back",
    },
    Definition {
        name: "HostUpgradeTimeoutInMinutes",
        kind: Kind::Number {
            min: 1,
            max: 10_080,
        },
        default: "120",
        meaning: "default upgrade timeout per host",
    },
    Definition {
        name: "MaxParallelHostChecks",
        kind: Kind::Number { min: 1, max: 1000 },
        default: "5",
        meaning: "concurrent update checks",
    },
    Definition {
        name: "JobLeaseTimeInSeconds",
        kind: Kind::Number { min: 3, max: 600 },
        default: "15",
        meaning: "how long an instance that stopped answering keeps its jobs before another \
                  instance takes them over",
    },
    Definition {
        name: "SmtpServer",
        kind: Kind::Host,
        default: "",
        meaning: "mail server for email notifications; empty: email is not sent",
    },
    Definition {
        name: "SmtpPort",
        kind: Kind::Number {
            min: 1,
            max: 65_535,
        },
        default: "25",
        meaning: "port of the mail server",
    },
    Definition {
        name: "SmtpFrom",
        kind: Kind::Email,
        default: "uplift@localhost",
        meaning: "sender address of email notifications",
    },
    Definition {
        name: "SmtpTls",
        kind: Kind::Choice(&["none", "starttls", "tls"]),
        default: "none",
        meaning: "how the mail server connection is secured: none, starttls or tls",
    },
    Definition {
        name: "HostUpgradeInstalls",
        kind: Kind::Choice(&["monitored", "all"]),
        default: "monitored",
        meaning: "what a host upgrade installs: the monitored packages' updates, or all updates",
    },
    Definition {
        name: "WebhookAllowedNetworks",
        kind: Kind::NetworkList,
        default: "",
        meaning:
            "internal networks webhooks may reach (e.g. 10.20.0.0/16); empty: public addresses only",
    },
    Definition {
        name: "EventRetentionInDays",
        kind: Kind::Number { min: 1, max: 3650 },
        default: "90",
        meaning: "how long events are kept",
    },
    Definition {
        name: "JobRetentionInDays",
        kind: Kind::Number { min: 1, max: 3650 },
        default: "90",
        meaning: "how long ended jobs (with their steps) are kept",
    },
    Definition {
        name: "DeliveryRetentionInDays",
        kind: Kind::Number { min: 1, max: 3650 },
        default: "30",
        meaning: "how long ended notification deliveries are kept",
    },
];

/// Why a value was refused.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    #[error("There is no configuration value named {0}.")]
    Unknown(String),
    #[error("{name} cannot be {value:?}: {reason}")]
    Invalid {
        name: &'static str,
        value: String,
        reason: String,
    },
    #[error("{0} is not a list; only lists can be merged.")]
    NotMergeable(&'static str),
}

pub fn definition(name: &str) -> Result<&'static Definition, ConfigError> {
    DEFINITIONS
        .iter()
        .find(|d| d.name == name)
        .ok_or_else(|| ConfigError::Unknown(name.to_string()))
}

fn is_package_pattern(item: &str) -> bool {
    item.chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '+' | '-' | '*' | '?'))
}

/// A network in a `NetworkList`: `10.20.0.0/16`, or an address alone (a /32 or /128), in
/// canonical form (host bits cleared).
pub fn parse_network(item: &str) -> Option<ipnet::IpNet> {
    let item = item.trim();
    item.parse::<ipnet::IpNet>()
        .or_else(|_| item.parse::<std::net::IpAddr>().map(ipnet::IpNet::from))
        .ok()
        .map(|network| network.trunc())
}

/// Every network of a stored `NetworkList` value (it was checked when it was stored).
pub fn networks(value: &str) -> Vec<ipnet::IpNet> {
    split_list(value)
        .iter()
        .filter_map(|item| parse_network(item))
        .collect()
}

impl Definition {
    /// Checks `value` and returns it in canonical form (lists trimmed and de-duplicated,
    /// numbers without leading zeros), which is what is stored.
    pub fn normalize(&'static self, value: &str) -> Result<String, ConfigError> {
        let invalid = |reason: String| ConfigError::Invalid {
            name: self.name,
            value: value.to_string(),
            reason,
        };
        match self.kind {
            Kind::PackageList => {
                let mut items: Vec<String> = Vec::new();
                for item in split_list(value) {
                    if !is_package_pattern(&item) {
                        return Err(invalid(format!(
                            "{item:?} is not a package name or pattern (letters, digits, . _ + - and the wildcards * ?)"
                        )));
                    }
                    if !items.contains(&item) {
                        items.push(item);
                    }
                }
                Ok(items.join(","))
            }
            Kind::NetworkList => {
                let mut items: Vec<String> = Vec::new();
                for item in split_list(value) {
                    let network = parse_network(&item).ok_or_else(|| {
                        invalid(format!(
                            "{item:?} is not a network (an address, or an address/prefix such as 10.20.0.0/16)"
                        ))
                    })?;
                    let canonical = network.to_string();
                    if !items.contains(&canonical) {
                        items.push(canonical);
                    }
                }
                Ok(items.join(","))
            }
            Kind::Number { min, max } => {
                let number: u64 = value
                    .trim()
                    .parse()
                    .map_err(|_| invalid("it must be a whole number".to_string()))?;
                if number < min || number > max {
                    return Err(invalid(format!("it must be from {min} to {max}")));
                }
                Ok(number.to_string())
            }
            Kind::Host => {
                let host = value.trim();
                if host
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | ':' | '[' | ']'))
                {
                    Ok(host.to_string())
                } else {
                    Err(invalid(
                        "it must be a host name or address, or empty".to_string(),
                    ))
                }
            }
            Kind::Email => {
                let address = value.trim();
                match address.split_once('@') {
                    Some((user, domain))
                        if !user.is_empty()
                            && !domain.is_empty()
                            && !address.contains(char::is_whitespace) =>
                    {
                        Ok(address.to_string())
                    }
                    _ => Err(invalid("it must be an email address".to_string())),
                }
            }
            Kind::Choice(words) => {
                let word = value.trim();
                if words.contains(&word) {
                    Ok(word.to_string())
                } else {
                    Err(invalid(format!("it must be one of {}", words.join(", "))))
                }
            }
            Kind::Url => {
                let url = value.trim();
                if url.is_empty() || url.starts_with("http://") || url.starts_with("https://") {
                    Ok(url.to_string())
                } else {
                    Err(invalid(
                        "it must be an http:// or https:// URL, or empty".to_string(),
                    ))
                }
            }
        }
    }

    /// The list `current` with the items of `addition` appended, without duplicates.
    pub fn merge(&'static self, current: &str, addition: &str) -> Result<String, ConfigError> {
        if !matches!(self.kind, Kind::PackageList | Kind::NetworkList) {
            return Err(ConfigError::NotMergeable(self.name));
        }
        let added = self.normalize(addition)?;
        self.normalize(&format!("{current},{added}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_valid_and_canonical() {
        for definition in DEFINITIONS {
            assert_eq!(
                definition.normalize(definition.default).as_deref(),
                Ok(definition.default),
                "{}",
                definition.name
            );
        }
    }

    #[test]
    fn lists_are_trimmed_deduplicated_and_merged() {
        let packages = definition("UserPackageNamesForCheckUpdate").unwrap();
        assert_eq!(
            packages.normalize(" qemu-* , libvirt,,qemu-* ").unwrap(),
            "qemu-*,libvirt"
        );
        assert_eq!(
            packages.merge("qemu-*", "libvirt, qemu-*").unwrap(),
            "qemu-*,libvirt"
        );
        assert_eq!(packages.merge("", "qemu-*").unwrap(), "qemu-*");
        assert!(packages.normalize("rm -rf /").is_err());
    }

    #[test]
    fn numbers_and_urls_are_checked() {
        let hours = definition("HostPackagesUpdateTimeInHours").unwrap();
        assert_eq!(hours.normalize("012").unwrap(), "12");
        assert_eq!(hours.normalize("0").unwrap(), "0");
        let err = hours.normalize("-1").unwrap_err();
        assert!(err.to_string().contains("whole number"), "{err}");
        assert!(definition("MaxParallelHostChecks")
            .unwrap()
            .normalize("0")
            .is_err());
        let url = definition("EngineUpdateFeedUrl").unwrap();
        assert!(url.normalize("ftp://x").is_err());
        assert_eq!(
            url.normalize("https://example.org/feed.json").unwrap(),
            "https://example.org/feed.json"
        );
        assert_eq!(
            hours.merge("1", "2"),
            Err(ConfigError::NotMergeable("HostPackagesUpdateTimeInHours"))
        );
        assert!(matches!(definition("Nope"), Err(ConfigError::Unknown(_))));
    }

    #[test]
    fn networks_are_checked_canonical_and_mergeable() {
        let networks = definition("WebhookAllowedNetworks").unwrap();
        assert_eq!(
            networks
                .normalize(" 10.20.1.7/16, 127.0.0.1 ,::1, 10.20.0.0/16")
                .unwrap(),
            "10.20.0.0/16,127.0.0.1/32,::1/128"
        );
        assert_eq!(
            networks.merge("10.20.0.0/16", "192.168.1.0/24").unwrap(),
            "10.20.0.0/16,192.168.1.0/24"
        );
        for bad in ["10.0.0.0/33", "localhost", "10.0.0", "*"] {
            assert!(networks.normalize(bad).is_err(), "{bad}");
        }
        assert_eq!(super::networks("10.20.0.0/16,::1/128").len(), 2);
    }
}
