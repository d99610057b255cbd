//! Users, passwords, sessions and tokens.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use app::api::{Caller, Role, Severity};
use sha2::{Digest, Sha256};
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;
use tokio::sync::Semaphore;

use super::throttle::{Failure, Throttle};
use super::{Service, ServiceError, ServiceResult};
use crate::credentials::{hash_password, random_secret, token_hash, verify_password};
use crate::store::{new_id, rfc3339, UserRow};

/// Who asks for a change: a signed-in user, or the command line on the server's machine.
#[derive(Clone, Copy, Debug)]
pub enum Actor<'a> {
    User(&'a Caller),
    Cli,
}

impl Actor<'_> {
    /// The name events record for this actor.
    pub fn name(&self) -> String {
        match self {
            Actor::User(caller) => caller.name.clone(),
            Actor::Cli => "cli".to_string(),
        }
    }

    /// Changes need an admin; the CLI runs on the server's machine with its database, so it is
    /// trusted like one.
    pub fn require_admin(&self) -> ServiceResult<()> {
        match self {
            Actor::User(caller) if !caller.is_admin() => Err(ServiceError::Forbidden(format!(
                "User {} may only read; this needs an admin.",
                caller.name
            ))),
            _ => Ok(()),
        }
    }
}

/// Which door a password came through (named in the failed-login event).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Door {
    /// The portal's sign-in form (`POST /login`).
    Portal,
    /// `POST /api/tokens`.
    Token,
    /// HTTP Basic credentials on any request.
    Basic,
    /// oVirt's SSO token endpoint (`POST /ovirt-engine/sso/oauth/token`).
    Sso,
}

impl Door {
    pub fn as_str(self) -> &'static str {
        match self {
            Door::Portal => "portal",
            Door::Token => "token",
            Door::Basic => "basic",
            Door::Sso => "sso",
        }
    }
}

/// A new API token and when it ends.
#[derive(Debug)]
pub struct IssuedToken {
    pub token: String,
    pub expires_at: OffsetDateTime,
}

/// A name and password to check, with where they came from.
#[derive(Clone, Copy, Debug)]
pub struct LoginAttempt<'a> {
    pub name: &'a str,
    pub password: &'a str,
    pub door: Door,
    /// The client's address, when the connection has one.
    pub address: Option<IpAddr>,
}

/// At most this many argon2 checks run at once (each takes about 19 MiB and a core for a
/// few tens of milliseconds); a check waits at most [`HASH_WAIT`] for a slot, then is 503.
pub const HASH_SLOTS: usize = 4;
const HASH_WAIT: Duration = Duration::from_secs(5);
/// How long checked Basic credentials are remembered, and for how many pairs at most.
const BASIC_REMEMBERED: Duration = Duration::from_secs(60);
const BASIC_MAX: usize = 1024;

/// The service's sign-in state: the throttle, the hash slots, and the Basic credentials
/// checked lately (keyed by a keyed hash of name and password, never the password).
pub(super) struct Logins {
    throttle: Throttle,
    hash_slots: Semaphore,
    /// Password checks running now, and the most there ever were at once.
    checking: AtomicUsize,
    peak: AtomicUsize,
    basic_secret: [u8; 32],
    basic: Mutex<HashMap<[u8; 32], (String, i64, Instant)>>,
}

impl Default for Logins {
    fn default() -> Self {
        use rand::RngCore;
        let mut basic_secret = [0u8; 32];
        rand::thread_rng().fill_bytes(&mut basic_secret);
        Logins {
            throttle: Throttle::default(),
            hash_slots: Semaphore::new(HASH_SLOTS),
            checking: AtomicUsize::new(0),
            peak: AtomicUsize::new(0),
            basic_secret,
            basic: Mutex::new(HashMap::new()),
        }
    }
}

impl Logins {
    fn basic_key(&self, name: &str, password: &str) -> [u8; 32] {
        // A secret prefix and fixed-length fields: a key nobody outside can compute.
        Sha256::new()
            .chain_update(self.basic_secret)
            .chain_update((name.len() as u64).to_le_bytes())
            .chain_update(name.as_bytes())
            .chain_update(password.as_bytes())
            .finalize()
            .into()
    }

    fn basic(&self) -> std::sync::MutexGuard<'_, HashMap<[u8; 32], (String, i64, Instant)>> {
        self.basic
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// The user of Basic credentials checked lately; each use keeps them another while (a
    /// script that runs all day is not hashed again, nor locked out with its address).
    fn remembered(&self, key: &[u8; 32]) -> Option<(String, i64)> {
        let mut basic = self.basic();
        let (user_id, version, at) = basic.get_mut(key)?;
        if at.elapsed() >= BASIC_REMEMBERED {
            return None;
        }
        *at = Instant::now();
        Some((user_id.clone(), *version))
    }

    fn remember(&self, key: [u8; 32], user_id: String, auth_version: i64) {
        let mut basic = self.basic();
        if basic.len() >= BASIC_MAX {
            basic.retain(|_, (_, _, at)| at.elapsed() < BASIC_REMEMBERED);
            if basic.len() >= BASIC_MAX {
                basic.clear();
            }
        }
        basic.insert(key, (user_id, auth_version, Instant::now()));
    }
}

/// How long an API token from `POST /api/tokens` stays valid.
const TOKEN_LIFETIME: time::Duration = time::Duration::hours(24);

/// A hash that no password matches, verified against when a user does not exist so that a
/// wrong name takes as long as a wrong password (no user enumeration by timing).
const DUMMY_HASH: &str =
    "$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$3Z4hVdOeVmAyjm7WPkCGQ0vn8t0jbiKUUFaCS3IoJHQ";

fn caller_of(user: &UserRow) -> Caller {
    Caller {
        user_id: user.id.clone(),
        name: user.name.clone(),
        role: user.role,
    }
}

fn validate_user_name(name: &str) -> ServiceResult<()> {
    let ok = (1..=64).contains(&name.len())
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-' | '@'));
    if ok {
        Ok(())
    } else {
        Err(ServiceError::invalid(
            "invalid_user_name",
            format!("User name {name:?} must be 1 to 64 letters, digits, '.', '_', '-' or '@'."),
        ))
    }
}

/// Passwords are at least 8 characters: long enough to resist guessing at argon2's speed.
pub fn validate_password(password: &str) -> ServiceResult<()> {
    if password.chars().count() < 8 {
        return Err(ServiceError::invalid(
            "weak_password",
            "The password must be at least 8 characters long.",
        ));
    }
    if password.len() > 1024 {
        return Err(ServiceError::invalid(
            "invalid_password",
            "The password is too long.",
        ));
    }
    Ok(())
}

/// Argon2 is deliberately slow: run it off the async workers.
async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> T + Send + 'static,
) -> ServiceResult<T> {
    tokio::task::spawn_blocking(work)
        .await
        .map_err(|e| ServiceError::Internal(format!("password worker failed: {e}")))
}

impl Service {
    /// On a first start with no users, creates `admin`. Returns the password when Uplift made
    /// it up (the caller must show it once); `None` when users exist or the password was given.
    pub async fn bootstrap_admin(&self, given: Option<String>) -> ServiceResult<Option<String>> {
        if self.store().count_users().await? > 0 {
            return Ok(None);
        }
        let (password, generated) = match given {
            Some(password) => (password, false),
            None => (random_secret(15), true),
        };
        self.add_user(Actor::Cli, "admin", Role::Admin, &password)
            .await?;
        Ok(generated.then_some(password))
    }

    pub async fn add_user(
        &self,
        actor: Actor<'_>,
        name: &str,
        role: Role,
        password: &str,
    ) -> ServiceResult<()> {
        validate_user_name(name)?;
        validate_password(password)?;
        let owned = password.to_string();
        let hash = blocking(move || hash_password(&owned))
            .await?
            .map_err(ServiceError::Internal)?;
        if !self
            .store()
            .insert_user(&new_id(), name, role, &hash)
            .await?
        {
            return Err(ServiceError::Conflict(format!(
                "User {name} already exists."
            )));
        }
        self.record(
            "user_added",
            Severity::Normal,
            format!("User {name} was added with role {role}."),
            Some(&actor.name()),
        )
        .await
    }

    pub async fn users(&self) -> ServiceResult<Vec<UserRow>> {
        Ok(self.store().list_users().await?)
    }

    /// Sets a new password; the user's sessions and tokens end with the old one.
    pub async fn set_password(
        &self,
        actor: Actor<'_>,
        name: &str,
        password: &str,
    ) -> ServiceResult<()> {
        validate_password(password)?;
        let owned = password.to_string();
        let hash = blocking(move || hash_password(&owned))
            .await?
            .map_err(ServiceError::Internal)?;
        let changed = self.store().set_password(name, &hash).await?;
        self.inner.tokens.forget_all();
        if !changed {
            return Err(ServiceError::NotFound(format!("There is no user {name}.")));
        }
        self.record(
            "user_password_changed",
            Severity::Normal,
            format!("The password of user {name} was changed."),
            Some(&actor.name()),
        )
        .await
    }

    /// Checks a name and password; the same error for a wrong name and a wrong password.
    /// Throttled per user name and client address, at most [`HASH_SLOTS`] argon2 checks at
    /// once, and every failure is an event naming the user name, the address and the door.
    pub async fn login(&self, attempt: LoginAttempt<'_>) -> ServiceResult<(Caller, i64)> {
        let logins = &self.inner.logins;
        let now = Instant::now();
        if let Err(wait) = logins.throttle.check(attempt.name, attempt.address, now) {
            return Err(ServiceError::Throttled {
                retry_after: wait.as_secs() + 1,
            });
        }
        let _slot = tokio::time::timeout(HASH_WAIT, logins.hash_slots.acquire())
            .await
            .map_err(|_| ServiceError::Busy { retry_after: 1 })?
            .map_err(|_| ServiceError::Busy { retry_after: 1 })?;
        let user = self.store().user_by_name(attempt.name).await?;
        let hash = user
            .as_ref()
            .map_or_else(|| DUMMY_HASH.to_string(), |u| u.password_hash.clone());
        let owned = attempt.password.to_string();
        let checking = logins.checking.fetch_add(1, Ordering::SeqCst) + 1;
        logins.peak.fetch_max(checking, Ordering::SeqCst);
        let matches = blocking(move || verify_password(&owned, &hash)).await;
        logins.checking.fetch_sub(1, Ordering::SeqCst);
        match user {
            Some(user) if matches? => {
                logins.throttle.succeeded(attempt.name);
                Ok((caller_of(&user), user.auth_version))
            }
            _ => {
                let failure = logins.throttle.failed(attempt.name, attempt.address, now);
                self.record_failed_login(&attempt, failure).await?;
                Err(ServiceError::BadCredentials)
            }
        }
    }

    async fn record_failed_login(
        &self,
        attempt: &LoginAttempt<'_>,
        failure: Failure,
    ) -> ServiceResult<()> {
        let name: String = attempt.name.chars().take(64).collect();
        let from = attempt
            .address
            .map_or_else(|| "an unknown address".to_string(), |a| a.to_string());
        let locked = match failure {
            Failure::Counted => String::new(),
            Failure::Locked(wait) => format!(
                " Further sign-ins are refused for the next {} s.",
                wait.as_secs()
            ),
        };
        self.record(
            "login_failed",
            Severity::Warning,
            format!(
                "Failed sign-in as {name:?} from {from} ({}).{locked}",
                attempt.door.as_str()
            ),
            Some(&name),
        )
        .await
    }

    /// The most password checks that ever ran at once (at most [`HASH_SLOTS`]).
    pub fn peak_password_checks(&self) -> usize {
        self.inner.logins.peak.load(Ordering::SeqCst)
    }

    /// HTTP Basic credentials on a request: a name and password checked in the last
    /// [`BASIC_REMEMBERED`] are not hashed again (the user's `auth_version` is still checked,
    /// so a password change ends them at once).
    pub async fn basic_login(&self, attempt: LoginAttempt<'_>) -> ServiceResult<Caller> {
        let key = self.inner.logins.basic_key(attempt.name, attempt.password);
        if let Some((user_id, auth_version)) = self.inner.logins.remembered(&key) {
            if let Some(caller) = self.caller_by_session(&user_id, auth_version).await? {
                return Ok(caller);
            }
        }
        let (caller, auth_version) = self.login(attempt).await?;
        self.inner
            .logins
            .remember(key, caller.user_id.clone(), auth_version);
        Ok(caller)
    }

    /// Issues an API token for a name and password (`POST /api/tokens`, oVirt's SSO).
    pub async fn create_token(&self, attempt: LoginAttempt<'_>) -> ServiceResult<IssuedToken> {
        let (caller, _) = self.login(attempt).await?;
        let token = random_secret(32);
        let expires_at = OffsetDateTime::now_utc() + TOKEN_LIFETIME;
        self.store()
            .insert_token(&token_hash(&token), &caller.user_id, &rfc3339(expires_at))
            .await?;
        Ok(IssuedToken { token, expires_at })
    }

    /// Ends the token a caller signed this request with (`DELETE /api/tokens/current`).
    pub async fn revoke_token(&self, caller: &Caller, token: &str) -> ServiceResult<()> {
        let deleted = self.store().delete_token(&token_hash(token)).await?;
        self.inner.tokens.forget_all();
        if !deleted {
            return Err(ServiceError::NotFound(
                "The token is unknown or has already ended.".to_string(),
            ));
        }
        self.record(
            "token_revoked",
            Severity::Normal,
            format!("{} revoked an API token of theirs.", caller.name),
            Some(&caller.name),
        )
        .await
    }

    /// Ends every API token of a user (admins and the CLI); how many ended.
    pub async fn revoke_tokens_of(&self, actor: Actor<'_>, name: &str) -> ServiceResult<u64> {
        actor.require_admin()?;
        let ended = self.store().delete_tokens_of(name).await;
        self.inner.tokens.forget_all();
        let Some(ended) = ended? else {
            return Err(ServiceError::NotFound(format!("There is no user {name}.")));
        };
        self.record(
            "tokens_revoked",
            Severity::Normal,
            format!("Every API token of user {name} was revoked ({ended})."),
            Some(&actor.name()),
        )
        .await?;
        Ok(ended)
    }

    /// The user a bearer token belongs to, while it is valid (see `tokens` for the cache).
    pub async fn caller_by_token(&self, token: &str) -> ServiceResult<Option<Caller>> {
        let now = OffsetDateTime::now_utc();
        let hash = token_hash(token);
        let cache = &self.inner.tokens;
        let generation = match cache.get(&hash, now) {
            Ok(caller) => return Ok(Some(caller)),
            Err(generation) => generation,
        };
        let Some((user, expires_at)) = self.store().user_by_token(&hash, &rfc3339(now)).await?
        else {
            return Ok(None);
        };
        let caller = caller_of(&user);
        if let Ok(end) = OffsetDateTime::parse(&expires_at, &Rfc3339) {
            cache.remember(generation, hash, caller.clone(), end);
        }
        Ok(Some(caller))
    }

    /// The user's current `auth_version` (bumped by every password change).
    pub async fn auth_version_of(&self, user_id: &str) -> ServiceResult<i64> {
        self.store()
            .user_by_id(user_id)
            .await?
            .map(|user| user.auth_version)
            .ok_or_else(|| ServiceError::NotFound("The signed-in user no longer exists.".into()))
    }

    /// A portal session of the user ended (signed out): their open streams check theirs.
    pub async fn signed_out(&self, user_id: &str) -> ServiceResult<()> {
        Ok(self
            .store()
            .note_change(crate::store::ChangeKind::Auth, user_id)
            .await?)
    }

    /// The user of a session, unless their password changed since it began.
    pub async fn caller_by_session(
        &self,
        user_id: &str,
        auth_version: i64,
    ) -> ServiceResult<Option<Caller>> {
        Ok(self
            .store()
            .user_by_id(user_id)
            .await?
            .filter(|user| user.auth_version == auth_version)
            .as_ref()
            .map(caller_of))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_dummy_hash_is_a_valid_hash_that_matches_nothing_likely() {
        assert!(argon2::PasswordHash::new(DUMMY_HASH).is_ok());
        assert!(!verify_password("admin", DUMMY_HASH));
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn no_more_than_the_slots_of_password_checks_run_at_once() {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}/t.db", dir.path().display());
        let store = crate::store::Store::open(&url).await.unwrap();
        let driver = std::sync::Arc::new(crate::fleet::sim::SimDriver::new(store.clone()));
        let service = Service::new(store, driver);
        // A flood of bad credentials, each with its own name (no name is locked).
        let names: Vec<String> = (0..32).map(|i| format!("guess{i}")).collect();
        let attempts = names.iter().map(|name| {
            service.login(LoginAttempt {
                name,
                password: "wrong",
                door: Door::Basic,
                address: None,
            })
        });
        let answers = futures::future::join_all(attempts).await;
        assert!(answers
            .iter()
            .all(|a| matches!(a, Err(ServiceError::BadCredentials))));
        let peak = service.peak_password_checks();
        assert!((2..=HASH_SLOTS).contains(&peak), "{peak}");
    }

    #[test]
    fn names_and_passwords_are_validated() {
        assert!(validate_user_name("ops.admin-1").is_ok());
        assert!(validate_user_name("").is_err());
        assert!(validate_user_name("a b").is_err());
        assert!(validate_password("short").is_err());
        assert!(validate_password("long enough").is_ok());
    }
}
