//! Users, passwords, sessions and tokens.

use app::api::{Caller, Role, Severity};
use time::OffsetDateTime;

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
        if !self.store().set_password(name, &hash).await? {
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
    pub async fn login(&self, name: &str, password: &str) -> ServiceResult<(Caller, i64)> {
        let user = self.store().user_by_name(name).await?;
        let hash = user
            .as_ref()
            .map_or_else(|| DUMMY_HASH.to_string(), |u| u.password_hash.clone());
        let owned = password.to_string();
        let matches = blocking(move || verify_password(&owned, &hash)).await?;
        match user {
            Some(user) if matches => Ok((caller_of(&user), user.auth_version)),
            _ => Err(ServiceError::BadCredentials),
        }
    }

    /// Issues an API token for a name and password (`POST /api/tokens`).
    pub async fn create_token(&self, name: &str, password: &str) -> ServiceResult<String> {
        let (caller, _) = self.login(name, password).await?;
        let token = random_secret(32);
        let expires = rfc3339(OffsetDateTime::now_utc() + TOKEN_LIFETIME);
        self.store()
            .insert_token(&token_hash(&token), &caller.user_id, &expires)
            .await?;
        Ok(token)
    }

    pub async fn caller_by_token(&self, token: &str) -> ServiceResult<Option<Caller>> {
        let now = rfc3339(OffsetDateTime::now_utc());
        Ok(self
            .store()
            .user_by_token(&token_hash(token), &now)
            .await?
            .as_ref()
            .map(caller_of))
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

    #[test]
    fn names_and_passwords_are_validated() {
        assert!(validate_user_name("ops.admin-1").is_ok());
        assert!(validate_user_name("").is_err());
        assert!(validate_user_name("a b").is_err());
        assert!(validate_password("short").is_err());
        assert!(validate_password("long enough").is_ok());
    }
}
