//! SSH connections to real hosts, with russh: one connection per host, reused by every
//! operation, at most [`SESSIONS_PER_HOST`] commands at once on it, and each host's key pinned
//! on first contact (a changed key is refused, like OpenSSH's known_hosts).
//!
//! This module moves bytes and keys only; which commands run, and what their answers mean,
//! is `commands`' business.

use std::collections::HashMap;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use russh::client::{self, Handle};
use russh::keys::{HashAlg, PrivateKey, PrivateKeyWithHashAlg, PublicKeyOrCertificate};
use russh::ChannelMsg;
use tokio::sync::Semaphore;

use crate::store::{PinOutcome, Store};

/// Commands one host runs at once over Uplift's connection (sshd's default MaxSessions is 10).
pub const SESSIONS_PER_HOST: usize = 4;

/// How long a TCP connect, key exchange and login may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// What one command's answer may hold; more is cut (a package manager's log can be long).
const OUTPUT_LIMIT: usize = 4 << 20;

/// Where and as whom to reach a host.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Endpoint {
    pub host_id: String,
    pub name: String,
    pub address: String,
    pub port: u16,
    pub user: String,
}

impl std::fmt::Display for Endpoint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} ({}:{})", self.name, self.address, self.port)
    }
}

/// What a command printed and how it ended.
#[derive(Clone, Debug, Default)]
pub struct Output {
    /// `None` when the command ended without an exit status (a signal, a dropped connection).
    pub status: Option<u32>,
    pub stdout: String,
    pub stderr: String,
}

impl Output {
    /// The output of a command that exited 0; otherwise the host's own words.
    pub fn success(self, what: &str) -> Result<Output, SshError> {
        if self.status == Some(0) {
            return Ok(self);
        }
        let words = [self.stderr.trim(), self.stdout.trim()]
            .into_iter()
            .find(|w| !w.is_empty())
            .map(last_lines)
            .unwrap_or_else(|| "no output".into());
        Err(SshError::Command {
            what: what.to_string(),
            code: self
                .status
                .map_or_else(|| "no exit status".to_string(), |c| c.to_string()),
            words,
        })
    }
}

/// The end of a long answer: what a package manager says last is why it failed.
fn last_lines(text: &str) -> String {
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(6)..].join("\n")
}

#[derive(Debug, thiserror::Error)]
pub enum SshError {
    #[error("cannot connect to {endpoint}: {reason}")]
    Connect { endpoint: String, reason: String },
    #[error("{0}")]
    HostKey(String),
    #[error("{user}@{endpoint} refused Uplift's key {fingerprint}; add its public half to the host's authorized_keys")]
    Refused {
        user: String,
        endpoint: String,
        fingerprint: String,
    },
    #[error("{endpoint} did not finish `{what}` within {seconds} s")]
    Timeout {
        endpoint: String,
        what: String,
        seconds: u64,
    },
    #[error("the SSH connection to {endpoint} failed: {reason}")]
    Connection { endpoint: String, reason: String },
    #[error("{what} failed (exit code {code}): {words}")]
    Command {
        what: String,
        code: String,
        words: String,
    },
}

impl SshError {
    /// Whether the host did not answer at all (rather than answering badly).
    pub fn is_unreachable(&self) -> bool {
        matches!(
            self,
            SshError::Connect { .. } | SshError::Timeout { .. } | SshError::Connection { .. }
        )
    }
}

/// Uplift's own key pair, as the hosts know it.
pub struct Identity {
    key: Arc<PrivateKey>,
}

impl Identity {
    /// Reads a private key in OpenSSH's format (unencrypted: Uplift runs unattended).
    pub fn load(path: &Path) -> Result<Identity, String> {
        let key = russh::keys::load_secret_key(path, None)
            .map_err(|e| format!("cannot read the SSH key {}: {e}", path.display()))?;
        Ok(Identity { key: Arc::new(key) })
    }

    /// Makes a new Ed25519 key pair at `path` (and `path.pub`), readable by the owner only.
    pub fn generate(path: &Path) -> Result<Identity, String> {
        use rand::RngCore;
        let mut seed = [0u8; 32];
        rand::rngs::OsRng.fill_bytes(&mut seed);
        let pair = russh::keys::ssh_key::private::Ed25519Keypair::from_seed(&seed);
        let mut key = PrivateKey::from(pair);
        key.set_comment("uplift");
        let text = key
            .to_openssh(russh::keys::ssh_key::LineEnding::LF)
            .map_err(|e| format!("cannot encode the new SSH key: {e}"))?;
        let write = |path: &Path, text: &str| {
            use std::io::Write;
            use std::os::unix::fs::OpenOptionsExt;
            if let Some(dir) = path.parent() {
                std::fs::create_dir_all(dir)?;
            }
            std::fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .mode(0o600)
                .open(path)?
                .write_all(text.as_bytes())
        };
        write(path, &text).map_err(|e| format!("cannot write {}: {e}", path.display()))?;
        let identity = Identity { key: Arc::new(key) };
        let public = path.with_extension("pub");
        write(&public, &format!("{}\n", identity.public_line()))
            .map_err(|e| format!("cannot write {}: {e}", public.display()))?;
        Ok(identity)
    }

    /// The public half, as a line for `authorized_keys`.
    pub fn public_line(&self) -> String {
        self.key
            .public_key()
            .to_openssh()
            .unwrap_or_else(|_| String::from("(the public key cannot be encoded)"))
    }

    pub fn fingerprint(&self) -> String {
        self.key
            .public_key()
            .fingerprint(HashAlg::Sha256)
            .to_string()
    }
}

/// The connections to every host.
pub struct Sessions {
    store: Store,
    identity: Identity,
    config: Arc<client::Config>,
    /// host id -> its connection, made by the first operation that needs it.
    hosts: Mutex<HashMap<String, Slot>>,
}

/// A host's connection, once made; locked while it is being made.
type Slot = Arc<tokio::sync::Mutex<Option<Arc<Connection>>>>;

struct Connection {
    handle: Handle<Pinning>,
    sessions: Semaphore,
}

impl Sessions {
    pub fn new(store: Store, identity: Identity) -> Sessions {
        let config = client::Config {
            keepalive_interval: Some(Duration::from_secs(15)),
            keepalive_max: 3,
            nodelay: true,
            ..Default::default()
        };
        Sessions {
            store,
            identity,
            config: Arc::new(config),
            hosts: Mutex::new(HashMap::new()),
        }
    }

    /// Runs `command` on the host; `what` names it in errors. A connection found dead (the
    /// command's channel could not be opened or started) is made again once; a command that
    /// started is never sent twice.
    pub async fn run(
        &self,
        endpoint: &Endpoint,
        what: &str,
        command: &str,
        timeout: Duration,
    ) -> Result<Output, SshError> {
        let timed_out = || SshError::Timeout {
            endpoint: endpoint.to_string(),
            what: what.to_string(),
            seconds: timeout.as_secs(),
        };
        let work = async {
            let mut retried = false;
            loop {
                let connection = self.connection(endpoint).await?;
                let _permit =
                    connection
                        .sessions
                        .acquire()
                        .await
                        .map_err(|_| SshError::Connection {
                            endpoint: endpoint.to_string(),
                            reason: "the connection was closed".into(),
                        })?;
                match execute(&connection.handle, command).await {
                    Ok(output) => return Ok(output),
                    Err(e) => {
                        self.forget(&endpoint.host_id).await;
                        if retried {
                            return Err(SshError::Connection {
                                endpoint: endpoint.to_string(),
                                reason: e.to_string(),
                            });
                        }
                        retried = true;
                    }
                }
            }
        };
        match tokio::time::timeout(timeout, work).await {
            Ok(result) => result,
            Err(_) => {
                self.forget(&endpoint.host_id).await;
                Err(timed_out())
            }
        }
    }

    /// Drops the host's connection (after a reboot, or when it failed).
    pub async fn forget(&self, host_id: &str) {
        let slot = self.slot(host_id);
        let old = slot.lock().await.take();
        if let Some(old) = old {
            old.sessions.close();
            let _ = old
                .handle
                .disconnect(russh::Disconnect::ByApplication, "", "en")
                .await;
        }
    }

    fn slot(&self, host_id: &str) -> Slot {
        self.hosts
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .entry(host_id.to_string())
            .or_default()
            .clone()
    }

    /// The host's open connection, or a new one (one connect at a time per host).
    async fn connection(&self, endpoint: &Endpoint) -> Result<Arc<Connection>, SshError> {
        let slot = self.slot(&endpoint.host_id);
        let mut current = slot.lock().await;
        if let Some(open) = current.as_ref().filter(|c| !c.handle.is_closed()) {
            return Ok(open.clone());
        }
        let connection = Arc::new(self.connect(endpoint).await?);
        *current = Some(connection.clone());
        Ok(connection)
    }

    async fn connect(&self, endpoint: &Endpoint) -> Result<Connection, SshError> {
        let verdict = Arc::new(Mutex::new(None));
        let pinning = Pinning {
            store: self.store.clone(),
            endpoint: endpoint.clone(),
            verdict: verdict.clone(),
        };
        let connect_error = |reason: String| SshError::Connect {
            endpoint: endpoint.to_string(),
            reason,
        };
        let address = (endpoint.address.as_str(), endpoint.port);
        let connecting = client::connect(self.config.clone(), address, pinning);
        let mut handle = match tokio::time::timeout(CONNECT_TIMEOUT, connecting).await {
            Err(_) => {
                return Err(connect_error(format!(
                    "no answer within {} s",
                    CONNECT_TIMEOUT.as_secs()
                )))
            }
            Ok(Err(e)) => {
                let said = verdict
                    .lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner)
                    .take();
                return Err(match said {
                    Some(message) => SshError::HostKey(message),
                    None => connect_error(e.to_string()),
                });
            }
            Ok(Ok(handle)) => handle,
        };
        let key = PrivateKeyWithHashAlg::new(self.identity.key.clone(), None);
        let login = handle.authenticate_publickey(endpoint.user.clone(), key);
        let refused = || SshError::Refused {
            user: endpoint.user.clone(),
            endpoint: endpoint.to_string(),
            fingerprint: self.identity.fingerprint(),
        };
        match tokio::time::timeout(CONNECT_TIMEOUT, login).await {
            Ok(Ok(result)) if result.success() => {}
            Ok(Ok(_)) => return Err(refused()),
            Ok(Err(e)) => return Err(connect_error(format!("login failed: {e}"))),
            Err(_) => return Err(connect_error("the login did not finish in time".into())),
        }
        Ok(Connection {
            handle,
            sessions: Semaphore::new(SESSIONS_PER_HOST),
        })
    }
}

/// Runs one command on its own channel and collects what it says.
async fn execute(handle: &Handle<Pinning>, command: &str) -> Result<Output, russh::Error> {
    let mut channel = handle.channel_open_session().await?;
    channel.exec(true, command).await?;
    let (mut stdout, mut stderr) = (Vec::new(), Vec::new());
    let mut status = None;
    while let Some(message) = channel.wait().await {
        match message {
            ChannelMsg::Data { data } => keep(&mut stdout, &data),
            ChannelMsg::ExtendedData { data, ext: 1 } => keep(&mut stderr, &data),
            ChannelMsg::ExitStatus { exit_status } => status = Some(exit_status),
            _ => {}
        }
    }
    Ok(Output {
        status,
        stdout: String::from_utf8_lossy(&stdout).into_owned(),
        stderr: String::from_utf8_lossy(&stderr).into_owned(),
    })
}

fn keep(buffer: &mut Vec<u8>, data: &[u8]) {
    let room = OUTPUT_LIMIT.saturating_sub(buffer.len());
    buffer.extend_from_slice(&data[..data.len().min(room)]);
}

/// Checks the host's key against the one pinned at first contact (and pins it then).
struct Pinning {
    store: Store,
    endpoint: Endpoint,
    /// Why the key was refused, for the error the connect returns.
    verdict: Arc<Mutex<Option<String>>>,
}

impl Pinning {
    fn refuse(&self, message: String) -> Result<bool, russh::Error> {
        *self
            .verdict
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = Some(message);
        Ok(false)
    }
}

impl client::Handler for Pinning {
    type Error = russh::Error;

    async fn check_server_key(
        &mut self,
        offered: &PublicKeyOrCertificate,
    ) -> Result<bool, Self::Error> {
        let PublicKeyOrCertificate::PublicKey { key, .. } = offered else {
            return self.refuse(format!(
                "{} offered a host certificate; Uplift pins plain host keys only",
                self.endpoint
            ));
        };
        let fingerprint = key.fingerprint(HashAlg::Sha256).to_string();
        let Ok(line) = key.to_openssh() else {
            return self.refuse(format!(
                "{} offered a host key that cannot be encoded",
                self.endpoint
            ));
        };
        match self
            .store
            .pin_host_key(&self.endpoint.host_id, &line, &fingerprint)
            .await
        {
            Ok(PinOutcome::Pinned | PinOutcome::Matches) => Ok(true),
            Ok(PinOutcome::Differs { pinned, since }) => self.refuse(format!(
                "the host key of {} has changed: Uplift pinned {pinned} on {since}, the host now \
                 offers {fingerprint}. Someone may be intercepting the connection, or the host \
                 was reinstalled; if you know it was, forget the old key with \
                 `uplift host forget-key {}` and Uplift pins the new one",
                self.endpoint, self.endpoint.name
            )),
            Err(e) => self.refuse(format!(
                "cannot check the host key of {}: {e}",
                self.endpoint
            )),
        }
    }
}

impl Identity {
    /// Uplift's key: the fleet file's `key_file`; else `~/.ssh/id_ed25519` of the user running
    /// Uplift; else `ssh/id_ed25519` in the data dir, made on first use. Says whether it was
    /// made now (its public half must then reach the hosts' authorized_keys).
    pub fn resolve(
        key_file: Option<&Path>,
        data_dir: &Path,
    ) -> Result<(Identity, std::path::PathBuf, bool), String> {
        if let Some(path) = key_file {
            return Ok((Identity::load(path)?, path.to_path_buf(), false));
        }
        let home = std::env::var_os("HOME")
            .map(|home| Path::new(&home).join(".ssh/id_ed25519"))
            .filter(|path| path.is_file());
        if let Some(path) = home {
            return Ok((Identity::load(&path)?, path, false));
        }
        let own = data_dir.join("ssh/id_ed25519");
        if own.is_file() {
            return Ok((Identity::load(&own)?, own, false));
        }
        Ok((Identity::generate(&own)?, own, true))
    }
}
