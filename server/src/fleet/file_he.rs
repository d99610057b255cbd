//! The fleet file's `[hosted_engine]` table (SPEC §9): the hosted-engine storage domain, the
//! engine VM's appliance and the catalog of appliance images on offer. Apart from `file.rs`
//! so the appliance world's keys and rules sit together; the checks that need the rest of the
//! fleet (the cluster exists, one SPM per cluster) are `validate`'s.

use serde::Deserialize;
use toml::Spanned;

use super::appliance::{ApplianceFail, Image, Storage};

/// `[hosted_engine]`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HostedEngineWorld {
    pub cluster: Spanned<String>,
    #[serde(default = "default_storage_total_gb")]
    pub storage_total_gb: Spanned<u64>,
    #[serde(default = "default_engine_disk_gb")]
    pub engine_disk_gb: Spanned<u64>,
    pub appliance: ApplianceSpec,
    #[serde(default)]
    pub catalog: Vec<CatalogSpec>,
}

fn default_storage_total_gb() -> Spanned<u64> {
    Spanned::new(0..0, 200)
}
fn default_engine_disk_gb() -> Spanned<u64> {
    Spanned::new(0..0, 60)
}

/// What the engine VM runs: `appliance = { os = "EL 8", version = "4.5.0" }`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ApplianceSpec {
    pub os: String,
    pub version: Spanned<String>,
}

/// `[[hosted_engine.catalog]]`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CatalogSpec {
    pub version: Spanned<String>,
    pub os: String,
    pub size_gb: Spanned<u64>,
    pub sha1: Spanned<String>,
    #[serde(default)]
    pub fail: ApplianceFail,
    /// The cluster levels the image's engine supports (an addition to SPEC §9); empty or
    /// missing: every level.
    #[serde(default)]
    pub cluster_levels: Vec<String>,
}

impl CatalogSpec {
    pub fn image(&self) -> Image {
        Image {
            version: self.version.get_ref().clone(),
            os: self.os.clone(),
            size_gb: *self.size_gb.get_ref(),
            sha1: self.sha1.get_ref().to_ascii_lowercase(),
            fail: self.fail,
            cluster_levels: self.cluster_levels.clone(),
        }
    }
}

impl HostedEngineWorld {
    pub fn storage(&self) -> Storage {
        Storage {
            total_gb: *self.storage_total_gb.get_ref(),
            engine_disk_gb: *self.engine_disk_gb.get_ref(),
            backups_gb: 0,
        }
    }

    /// The table's own rules. Errors carry the byte span they point at.
    pub fn validate(&self) -> Result<(), (std::ops::Range<usize>, String)> {
        let total = *self.storage_total_gb.get_ref();
        let disk = *self.engine_disk_gb.get_ref();
        if disk == 0 || disk > total {
            return Err((
                self.engine_disk_gb.span(),
                format!(
                    "engine_disk_gb must be between 1 and storage_total_gb ({total}), not {disk}"
                ),
            ));
        }
        let mut versions = std::collections::HashSet::new();
        for image in &self.catalog {
            if !versions.insert(image.version.get_ref().clone()) {
                return Err((
                    image.version.span(),
                    format!(
                        "appliance {} is in the catalog twice",
                        image.version.get_ref()
                    ),
                ));
            }
            if *image.size_gb.get_ref() == 0 {
                return Err((image.size_gb.span(), "size_gb must be at least 1".into()));
            }
            let sha1 = image.sha1.get_ref();
            if sha1.len() != 40 || !sha1.chars().all(|c| c.is_ascii_hexdigit()) {
                return Err((
                    image.sha1.span(),
                    format!("sha1 must be 40 hex digits, not {sha1:?}"),
                ));
            }
        }
        Ok(())
    }
}
