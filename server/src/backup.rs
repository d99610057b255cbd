//! `uplift backup create|verify|restore`: Uplift's own state in one archive (the seed's
//! `engine-backup`, in Uplift's form; seed 003). The archive is a gzip'd tar of two members:
//! `manifest.json` (product, versions, time, checksum, what it holds) and `uplift.db`, a
//! consistent copy of the SQLite database taken with `VACUUM INTO` while the server may run.
//! On PostgreSQL the archive is the same: the database is copied into a SQLite file first
//! (`store::copy`, one transaction), and a restore copies the archive's database into an
//! empty PostgreSQL database, so archives move between the two backends.
//!
//! Every refusal is a [`BackupError`] that names its reason; nothing here writes a file that
//! is not complete (archives and restored databases are written aside and renamed). Not here:
//! what the hosted-engine flow does with an archive (it only calls [`verify`]).

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use sqlx::sqlite::SqliteConnectOptions;
use sqlx::{ConnectOptions, Connection, SqliteConnection};

use crate::store::{Backend, Store, StoreError};

/// What `manifest.json` says `product` is in every Uplift archive.
pub const PRODUCT: &str = "uplift";
/// The archive layout this code writes and reads.
pub const FORMAT: u32 = 1;
const MANIFEST: &str = "manifest.json";
const DATABASE: &str = "uplift.db";
/// An archive's members are small; anything larger is not one of ours.
const MANIFEST_LIMIT: u64 = 1 << 20;

/// Why a backup could not be made, read or restored.
#[derive(Debug, thiserror::Error)]
pub enum BackupError {
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{0} already exists; choose another file or remove it first")]
    Exists(PathBuf),
    #[error("there is no Uplift database at {0}")]
    NoDatabase(String),
    #[error("the archive is corrupt or truncated: {0}")]
    Corrupt(String),
    #[error("this is not an Uplift backup: {0}")]
    NotUplift(String),
    #[error("the database in the archive does not match its checksum (expected {expected}, found {found}): the archive is damaged")]
    Checksum { expected: String, found: String },
    #[error("the archive was made by a newer Uplift (schema {archive}; this Uplift knows up to {ours}): upgrade Uplift before restoring it")]
    NewerSchema { archive: i64, ours: i64 },
    #[error("{0} is not empty: restore fills an empty data dir only")]
    NotEmpty(PathBuf),
    #[error("{0} is neither a SQLite nor a PostgreSQL database URL")]
    NotSqlite(String),
    #[error("{0}")]
    Store(#[from] StoreError),
    #[error("database error: {0}")]
    Sql(#[from] sqlx::Error),
    #[error("cannot write the manifest: {0}")]
    Manifest(#[from] serde_json::Error),
}

pub type BackupResult<T> = Result<T, BackupError>;

/// What an archive holds, counted in its own database copy.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Contents {
    pub users: i64,
    pub clusters: i64,
    pub hosts: i64,
    pub vms: i64,
    pub jobs: i64,
    pub events: i64,
}

/// `manifest.json`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Manifest {
    pub product: String,
    pub format: u32,
    pub uplift_version: String,
    /// The newest migration applied to the copied database.
    pub schema_version: i64,
    pub created_at: String,
    pub database: String,
    pub size_bytes: u64,
    pub sha256: String,
    pub contents: Contents,
}

impl Manifest {
    /// The lines `verify` and `restore` print: what the archive holds (the seed's "The
    /// provided file contains also a DWH DB backup" note, in Uplift's form).
    pub fn describe(&self) -> Vec<String> {
        let c = &self.contents;
        vec![
            format!(
                "Uplift {} backup taken at {} (schema {}).",
                self.uplift_version, self.created_at, self.schema_version
            ),
            format!(
                "It holds {} users, {} clusters, {} hosts, {} VMs, {} jobs and {} events ({} bytes of database).",
                c.users, c.clusters, c.hosts, c.vms, c.jobs, c.events, self.size_bytes
            ),
        ]
    }
}

/// The newest schema this binary knows (its last migration).
pub fn current_schema() -> i64 {
    sqlx::migrate!("../migrations")
        .iter()
        .map(|m| m.version)
        .max()
        .unwrap_or(0)
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> BackupError + '_ {
    move |source| BackupError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// A file next to `near` that is removed when dropped (a half-made copy never stays behind).
struct Aside(PathBuf);

impl Aside {
    fn near(near: &Path, what: &str) -> Aside {
        let name = near
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        Aside(near.with_file_name(format!(".{name}.{what}-{}", crate::store::new_id())))
    }

    /// Renames the file to `to`; it is no longer removed.
    fn keep(self, to: &Path) -> BackupResult<()> {
        std::fs::rename(&self.0, to).map_err(io(to))?;
        std::mem::forget(self);
        Ok(())
    }
}

impl Drop for Aside {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

/// The SQLite file a database URL names; `None` for anything else.
pub fn sqlite_path(url: &str) -> Option<PathBuf> {
    let rest = url
        .strip_prefix("sqlite://")
        .or(url.strip_prefix("sqlite:"))?;
    let path = rest.split('?').next().unwrap_or(rest);
    (!path.is_empty() && path != ":memory:").then(|| PathBuf::from(path))
}

async fn connect(path: &Path, create: bool) -> BackupResult<SqliteConnection> {
    let options = SqliteConnectOptions::from_str(&format!("sqlite://{}", path.display()))?
        .create_if_missing(create)
        .busy_timeout(std::time::Duration::from_secs(10));
    Ok(options.connect().await?)
}

async fn count(db: &mut SqliteConnection, table: &str) -> BackupResult<i64> {
    // The table names are this module's constants, never input.
    Ok(sqlx::query_scalar(&format!("SELECT COUNT(*) FROM {table}"))
        .fetch_one(&mut *db)
        .await?)
}

async fn describe_copy(db: &mut SqliteConnection) -> BackupResult<(i64, Contents)> {
    let schema: Option<i64> =
        sqlx::query_scalar("SELECT MAX(version) FROM _sqlx_migrations WHERE success")
            .fetch_one(&mut *db)
            .await?;
    let contents = Contents {
        users: count(db, "users").await?,
        clusters: count(db, "clusters").await?,
        hosts: count(db, "hosts").await?,
        vms: count(db, "vms").await?,
        jobs: count(db, "jobs").await?,
        events: count(db, "events").await?,
    };
    Ok((schema.unwrap_or(0), contents))
}

fn sha256_file(path: &Path) -> BackupResult<(String, u64)> {
    let mut file = std::fs::File::open(path).map_err(io(path))?;
    let mut hasher = Sha256::new();
    let size = std::io::copy(&mut file, &mut hasher).map_err(io(path))?;
    Ok((hex::encode(hasher.finalize()), size))
}

/// `uplift backup create --file F`: a consistent copy of the database at `db_url` (a server
/// may be running on it) and its manifest, written to `file`, which must not exist yet.
pub async fn create(db_url: &str, file: &Path) -> BackupResult<Manifest> {
    if file.exists() {
        return Err(BackupError::Exists(file.to_path_buf()));
    }
    let copy = Aside::near(file, "db");
    match (sqlite_path(db_url), Backend::of_url(db_url)) {
        (Some(source), _) => {
            if !source.is_file() {
                return Err(BackupError::NoDatabase(source.display().to_string()));
            }
            let mut db = connect(&source, false).await?;
            // One statement, one read transaction: a consistent snapshot while others write.
            sqlx::query("VACUUM INTO ?")
                .bind(copy.0.display().to_string())
                .execute(&mut db)
                .await?;
            db.close().await?;
        }
        (None, Some(Backend::Postgres)) => {
            Store::copy_between(db_url, &format!("sqlite://{}", copy.0.display())).await?;
        }
        _ => return Err(BackupError::NotSqlite(db_url.to_string())),
    }
    let (schema_version, contents) = {
        let mut db = connect(&copy.0, false).await?;
        // Sessions are bearer secrets of the moment: an archive does not carry them.
        let sessions: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = 'sessions'",
        )
        .fetch_one(&mut db)
        .await?;
        if sessions > 0 {
            sqlx::query("DELETE FROM sessions").execute(&mut db).await?;
        }
        sqlx::query("VACUUM").execute(&mut db).await?;
        let described = describe_copy(&mut db).await?;
        db.close().await?;
        described
    };
    let (sha256, size_bytes) = sha256_file(&copy.0)?;
    let manifest = Manifest {
        product: PRODUCT.to_string(),
        format: FORMAT,
        uplift_version: env!("CARGO_PKG_VERSION").to_string(),
        schema_version,
        created_at: crate::store::now_rfc3339(),
        database: DATABASE.to_string(),
        size_bytes,
        sha256,
        contents,
    };
    let archive = Aside::near(file, "partial");
    write_archive(&archive.0, &manifest, &copy.0)?;
    archive.keep(file)?;
    Ok(manifest)
}

fn write_archive(path: &Path, manifest: &Manifest, database: &Path) -> BackupResult<()> {
    let out = std::fs::File::create(path).map_err(io(path))?;
    let gz = flate2::write::GzEncoder::new(out, flate2::Compression::default());
    let mut tar = tar::Builder::new(gz);
    let text = serde_json::to_vec_pretty(manifest)?;
    let mut header = tar::Header::new_gnu();
    header.set_size(text.len() as u64);
    header.set_mode(0o600);
    header.set_cksum();
    tar.append_data(&mut header, MANIFEST, text.as_slice())
        .map_err(io(path))?;
    let mut db = std::fs::File::open(database).map_err(io(database))?;
    tar.append_file(DATABASE, &mut db).map_err(io(path))?;
    let gz = tar.into_inner().map_err(io(path))?;
    let mut out = gz.finish().map_err(io(path))?;
    out.flush().map_err(io(path))?;
    out.sync_all().map_err(io(path))?;
    Ok(())
}

/// A checked archive: its manifest, and its database copy unpacked next to `beside` (removed
/// when this is dropped, unless [`Verified::place`] moved it).
pub struct Verified {
    pub manifest: Manifest,
    database: Aside,
}

impl Verified {
    /// Moves the checked database copy to `to`.
    fn place(self, to: &Path) -> BackupResult<()> {
        self.database.keep(to)
    }
}

/// `uplift backup verify F`: reads the whole archive and checks it is an Uplift archive of a
/// schema this Uplift knows, with the database its checksum names, which SQLite finds sound.
/// The database copy is unpacked next to `beside`.
pub async fn verify(file: &Path, beside: &Path) -> BackupResult<Verified> {
    let input = std::fs::File::open(file).map_err(io(file))?;
    let mut tar = tar::Archive::new(flate2::read::GzDecoder::new(input));
    let corrupt = |e: std::io::Error| BackupError::Corrupt(e.to_string());
    let mut manifest: Option<Manifest> = None;
    let copy = Aside::near(beside, "restore");
    let mut found_db = false;
    for entry in tar.entries().map_err(corrupt)? {
        let mut entry = entry.map_err(corrupt)?;
        let name = entry.path().map_err(corrupt)?.display().to_string();
        match name.as_str() {
            MANIFEST => {
                let mut text = Vec::new();
                (&mut entry)
                    .take(MANIFEST_LIMIT)
                    .read_to_end(&mut text)
                    .map_err(corrupt)?;
                manifest = Some(read_manifest(&text)?);
            }
            DATABASE => {
                let mut out = std::fs::File::create(&copy.0).map_err(io(&copy.0))?;
                std::io::copy(&mut entry, &mut out).map_err(corrupt)?;
                out.sync_all().map_err(io(&copy.0))?;
                found_db = true;
            }
            other => {
                return Err(BackupError::NotUplift(format!(
                    "it holds {other:?}, which Uplift archives never do"
                )))
            }
        }
    }
    // Read the stream to its end, so gzip checks its length and CRC even after tar's end.
    std::io::copy(&mut tar.into_inner(), &mut std::io::sink()).map_err(corrupt)?;
    let manifest =
        manifest.ok_or_else(|| BackupError::NotUplift(format!("it has no {MANIFEST}")))?;
    if !found_db {
        return Err(BackupError::Corrupt(format!("it has no {DATABASE}")));
    }
    let ours = current_schema();
    if manifest.schema_version > ours {
        return Err(BackupError::NewerSchema {
            archive: manifest.schema_version,
            ours,
        });
    }
    let (found, size) = sha256_file(&copy.0)?;
    if found != manifest.sha256 || size != manifest.size_bytes {
        return Err(BackupError::Checksum {
            expected: manifest.sha256.clone(),
            found,
        });
    }
    let mut db = connect(&copy.0, false).await?;
    let check: String = sqlx::query_scalar("PRAGMA integrity_check")
        .fetch_one(&mut db)
        .await?;
    db.close().await?;
    if check != "ok" {
        return Err(BackupError::Corrupt(format!("SQLite says: {check}")));
    }
    Ok(Verified {
        manifest,
        database: copy,
    })
}

fn read_manifest(text: &[u8]) -> BackupResult<Manifest> {
    #[derive(Deserialize)]
    struct Product {
        product: Option<String>,
    }
    let product: Product = serde_json::from_slice(text)
        .map_err(|e| BackupError::NotUplift(format!("its {MANIFEST} is not JSON ({e})")))?;
    match product.product.as_deref() {
        Some(PRODUCT) => {}
        Some(other) => {
            return Err(BackupError::NotUplift(format!(
                "its manifest names the product {other:?}"
            )))
        }
        None => {
            return Err(BackupError::NotUplift(format!(
                "its {MANIFEST} names no product"
            )))
        }
    }
    let manifest: Manifest = serde_json::from_slice(text)
        .map_err(|e| BackupError::Corrupt(format!("its {MANIFEST} cannot be read: {e}")))?;
    if manifest.format != FORMAT {
        return Err(BackupError::NotUplift(format!(
            "archive format {} (this Uplift reads format {FORMAT})",
            manifest.format
        )));
    }
    Ok(manifest)
}

/// `uplift backup restore F`: puts the archive's database where `db_url` points, which must
/// not exist yet, in a data dir (`data_dir`, when the URL is the default) that is empty or
/// missing. The schema is brought up to date at the server's next start.
pub async fn restore(file: &Path, db_url: &str, data_dir: Option<&Path>) -> BackupResult<Manifest> {
    if Backend::of_url(db_url) == Some(Backend::Postgres) {
        return restore_into_postgres(file, db_url).await;
    }
    let target = sqlite_path(db_url).ok_or_else(|| BackupError::NotSqlite(db_url.to_string()))?;
    if let Some(dir) = data_dir {
        if dir.exists() {
            let mut entries = std::fs::read_dir(dir).map_err(io(dir))?;
            if entries.next().is_some() {
                return Err(BackupError::NotEmpty(dir.to_path_buf()));
            }
        }
    }
    if target.exists() {
        return Err(BackupError::Exists(target));
    }
    let parent = target
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    std::fs::create_dir_all(parent).map_err(io(parent))?;
    let verified = verify(file, &target).await?;
    let manifest = verified.manifest.clone();
    verified.place(&target)?;
    Ok(manifest)
}

/// A restore on PostgreSQL: the archive's database, brought up to this Uplift's schema, copied
/// into `db_url`, which must hold nothing yet.
async fn restore_into_postgres(file: &Path, db_url: &str) -> BackupResult<Manifest> {
    let verified = verify(file, &std::env::temp_dir().join("uplift-restore")).await?;
    let archive = format!("sqlite://{}", verified.database.0.display());
    Store::copy_between(&archive, db_url).await?;
    Ok(verified.manifest)
}
