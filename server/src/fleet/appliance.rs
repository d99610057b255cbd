//! The hosted-engine appliance world (seed 003), pure: the appliance images on offer, the
//! hosted-engine storage domain's space, and the preflight checks of an appliance upgrade,
//! each named when it fails. No I/O here: the simulator keeps the state, the service runs the
//! flow; both ask this module what the rules say.

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// Where a simulated appliance image breaks the upgrade (the fleet file's `fail`), like a
/// host's `fail`: the step that fails, every time it runs with this image.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ApplianceFail {
    #[default]
    None,
    BackupDisk,
    Copy,
    Deploy,
    Restore,
    Health,
}

impl ApplianceFail {
    pub const ALL: &'static [ApplianceFail] = &[
        ApplianceFail::None,
        ApplianceFail::BackupDisk,
        ApplianceFail::Copy,
        ApplianceFail::Deploy,
        ApplianceFail::Restore,
        ApplianceFail::Health,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            ApplianceFail::None => "none",
            ApplianceFail::BackupDisk => "backup_disk",
            ApplianceFail::Copy => "copy",
            ApplianceFail::Deploy => "deploy",
            ApplianceFail::Restore => "restore",
            ApplianceFail::Health => "health",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.iter().copied().find(|f| f.as_str() == text)
    }
}

/// An appliance image in the catalog.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Image {
    pub version: String,
    pub os: String,
    pub size_gb: u64,
    /// What the catalog says the image's sha1 is.
    pub sha1: String,
    pub fail: ApplianceFail,
    /// The cluster levels the engine in this image supports; empty: every level.
    pub cluster_levels: Vec<String>,
}

/// The sha1 the simulated image file really has: a stand-in for `sha1sum` of an OVA, derived
/// from what the image holds so a catalog entry can be right or wrong.
pub fn image_sha1(version: &str, os: &str) -> String {
    // sha1 itself is not needed for a stand-in: the first 20 bytes of a SHA-256 look the same.
    let digest = Sha256::digest(format!("uplift-appliance {version} {os}").as_bytes());
    hex::encode(&digest[..20])
}

/// The hosted-engine storage domain, in GiB.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Storage {
    pub total_gb: u64,
    pub engine_disk_gb: u64,
    /// Every backup disk on the domain, registered or not.
    pub backups_gb: u64,
}

impl Storage {
    pub fn used_gb(&self) -> u64 {
        self.engine_disk_gb + self.backups_gb
    }

    pub fn free_gb(&self) -> u64 {
        self.total_gb.saturating_sub(self.used_gb())
    }

    /// The engine disk's size once `image` is written over it (extended if the image is
    /// larger, never shrunk).
    pub fn engine_disk_after(&self, image: &Image) -> u64 {
        self.engine_disk_gb.max(image.size_gb)
    }

    /// Room for a backup disk (the engine disk's size) and for the engine disk to grow to
    /// the image's size.
    pub fn room_for_upgrade(&self, image: &Image) -> bool {
        let grows = self.engine_disk_after(image) - self.engine_disk_gb;
        self.free_gb() >= self.engine_disk_gb + grows
    }
}

/// One preflight check of an appliance upgrade.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Check {
    GlobalMaintenance,
    EngineVmHost,
    Spm,
    Backup,
    ClusterLevels,
    StorageRoom,
    Checksum,
}

impl Check {
    /// In the seed's order.
    pub const ALL: &'static [Check] = &[
        Check::GlobalMaintenance,
        Check::EngineVmHost,
        Check::Spm,
        Check::Backup,
        Check::ClusterLevels,
        Check::StorageRoom,
        Check::Checksum,
    ];

    /// The words of the checklist.
    pub fn label(self) -> &'static str {
        match self {
            Check::GlobalMaintenance => "Global HA maintenance is enabled",
            Check::EngineVmHost => "The engine VM runs on the chosen host",
            Check::Spm => "The chosen host is the SPM",
            Check::Backup => "The backup archive is sane",
            Check::ClusterLevels => "Every cluster is at a level the new engine supports",
            Check::StorageRoom => "The hosted-engine storage domain has room for a backup disk",
            Check::Checksum => "The appliance's sha1 matches",
        }
    }
}

/// What the preflight looks at, gathered by the service.
#[derive(Clone, Debug)]
pub struct PreflightInput<'a> {
    pub global_maintenance: bool,
    pub host: &'a str,
    pub engine_vm_host: Option<&'a str>,
    pub spm_host: Option<&'a str>,
    /// The archive's description, or why it is refused.
    pub backup: Result<Vec<String>, String>,
    /// Each cluster's name and level.
    pub clusters: &'a [(String, String)],
    pub storage: Storage,
    pub image: &'a Image,
}

/// One line of the checklist: the check, whether it passed, and what it says.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Outcome {
    pub check: Check,
    pub passed: bool,
    pub message: String,
}

/// Every check, in order, each with its words.
pub fn preflight(input: &PreflightInput<'_>) -> Vec<Outcome> {
    Check::ALL
        .iter()
        .map(|&check| {
            let (passed, message) = judge(check, input);
            Outcome {
                check,
                passed,
                message,
            }
        })
        .collect()
}

fn judge(check: Check, input: &PreflightInput<'_>) -> (bool, String) {
    let host = input.host;
    match check {
        Check::GlobalMaintenance => match input.global_maintenance {
            true => (true, "Global HA maintenance is enabled.".into()),
            false => (
                false,
                "Global HA maintenance is not enabled: enable it first, so the HA agents leave the engine VM alone.".into(),
            ),
        },
        Check::EngineVmHost => match input.engine_vm_host {
            Some(on) if on == host => (true, format!("The engine VM is running on host {host}.")),
            Some(on) => (
                false,
                format!("The engine VM runs on host {on}, not on {host}: run the upgrade there."),
            ),
            None => (false, "The engine VM is not running.".into()),
        },
        Check::Spm => match input.spm_host {
            Some(spm) if spm == host => (true, format!("Host {host} is the SPM.")),
            Some(spm) => (
                false,
                format!("Host {host} is not the SPM ({spm} is): run the upgrade on the SPM host."),
            ),
            None => (false, "The hosted-engine cluster has no SPM host.".into()),
        },
        Check::Backup => match &input.backup {
            Ok(lines) => (true, format!("The backup archive is sane. {}", lines.join(" "))),
            Err(why) => (false, format!("The backup archive cannot be used: {why}")),
        },
        Check::ClusterLevels => {
            let levels = &input.image.cluster_levels;
            let behind: Vec<String> = input
                .clusters
                .iter()
                .filter(|(_, level)| !levels.is_empty() && !levels.contains(level))
                .map(|(name, level)| format!("{name} ({level})"))
                .collect();
            if behind.is_empty() {
                (true, "All the clusters are at a compatible level.".into())
            } else {
                (
                    false,
                    format!(
                        "Engine {} supports cluster levels {}; raise these first: {}.",
                        input.image.version,
                        levels.join(", "),
                        behind.join(", ")
                    ),
                )
            }
        }
        Check::StorageRoom => {
            let storage = input.storage;
            if storage.room_for_upgrade(input.image) {
                (
                    true,
                    format!(
                        "The hosted-engine storage domain has enough free space ({} GiB) for a {} GiB backup disk.",
                        storage.free_gb(),
                        storage.engine_disk_gb
                    ),
                )
            } else {
                let needed = storage.engine_disk_gb + storage.engine_disk_after(input.image)
                    - storage.engine_disk_gb;
                (
                    false,
                    format!(
                        "The hosted-engine storage domain has {} GiB free and the upgrade needs {needed} GiB: extend the hosted-engine storage domain.",
                        storage.free_gb()
                    ),
                )
            }
        }
        Check::Checksum => {
            let image = input.image;
            if image_sha1(&image.version, &image.os) == image.sha1.to_ascii_lowercase() {
                (true, format!("The sha1 of appliance {} matches.", image.version))
            } else {
                (
                    false,
                    format!(
                        "The sha1 of appliance {} does not match the catalog's: the image is damaged or not the one named.",
                        image.version
                    ),
                )
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn image() -> Image {
        Image {
            version: "4.5.2".into(),
            os: "EL 9".into(),
            size_gb: 55,
            sha1: image_sha1("4.5.2", "EL 9"),
            fail: ApplianceFail::None,
            cluster_levels: vec!["4.7".into(), "4.8".into()],
        }
    }

    fn input<'a>(image: &'a Image, clusters: &'a [(String, String)]) -> PreflightInput<'a> {
        PreflightInput {
            global_maintenance: true,
            host: "e1",
            engine_vm_host: Some("e1"),
            spm_host: Some("e1"),
            backup: Ok(vec!["It holds 2 users.".into()]),
            clusters,
            storage: Storage {
                total_gb: 200,
                engine_disk_gb: 60,
                backups_gb: 0,
            },
            image,
        }
    }

    fn failed(outcomes: &[Outcome]) -> Vec<Check> {
        outcomes
            .iter()
            .filter(|o| !o.passed)
            .map(|o| o.check)
            .collect()
    }

    #[test]
    fn every_check_passes_in_a_ready_world_and_each_failure_is_named() {
        let image = image();
        let clusters = vec![("Default".to_string(), "4.7".to_string())];
        let ready = input(&image, &clusters);
        assert_eq!(failed(&preflight(&ready)), vec![]);

        let cases: Vec<(PreflightInput, Check, &str)> = vec![
            (
                PreflightInput {
                    global_maintenance: false,
                    ..ready.clone()
                },
                Check::GlobalMaintenance,
                "not enabled",
            ),
            (
                PreflightInput {
                    engine_vm_host: Some("e2"),
                    ..ready.clone()
                },
                Check::EngineVmHost,
                "runs on host e2",
            ),
            (
                PreflightInput {
                    spm_host: Some("e3"),
                    ..ready.clone()
                },
                Check::Spm,
                "not the SPM (e3 is)",
            ),
            (
                PreflightInput {
                    backup: Err("truncated".into()),
                    ..ready.clone()
                },
                Check::Backup,
                "truncated",
            ),
            (
                PreflightInput {
                    storage: Storage {
                        total_gb: 100,
                        engine_disk_gb: 60,
                        backups_gb: 0,
                    },
                    ..ready.clone()
                },
                Check::StorageRoom,
                "extend the hosted-engine storage domain",
            ),
        ];
        for (world, check, words) in cases {
            let outcomes = preflight(&world);
            assert_eq!(failed(&outcomes), vec![check]);
            let line = outcomes.iter().find(|o| o.check == check).unwrap();
            assert!(line.message.contains(words), "{}", line.message);
        }

        let old = vec![("Old".to_string(), "4.6".to_string())];
        let outcomes = preflight(&input(&image, &old));
        assert_eq!(failed(&outcomes), vec![Check::ClusterLevels]);
        assert!(outcomes[4].message.contains("Old (4.6)"));

        let wrong = Image {
            sha1: "0".repeat(40),
            ..image.clone()
        };
        assert_eq!(
            failed(&preflight(&input(&wrong, &clusters))),
            vec![Check::Checksum]
        );
    }

    #[test]
    fn the_storage_counts_the_backup_disk_and_the_engine_disk_growing() {
        let storage = Storage {
            total_gb: 130,
            engine_disk_gb: 60,
            backups_gb: 0,
        };
        let mut image = image();
        image.size_gb = 55;
        // A 60 GiB backup disk fits in 70 free.
        assert!(storage.room_for_upgrade(&image));
        // An 80 GiB image grows the engine disk by 20: 80 needed, 70 free.
        image.size_gb = 80;
        assert!(!storage.room_for_upgrade(&image));
        assert_eq!(storage.engine_disk_after(&image), 80);
        assert_eq!(
            Storage {
                backups_gb: 60,
                ..storage
            }
            .free_gb(),
            10
        );
    }
}
