//! Bearer tokens recently seen. A script polling the API presents the same token on every
//! request, and reading it from the database each time was half the cost of a small GET.
//! An entry holds until the token's end, at most [`HOLD`]. Every change of credentials empties
//! the cache: at once for changes this process makes (the service's token and password
//! methods call [`TokenCache::forget_all`] after their write), and through the live event hub
//! for another process's (the CLI), within one read of the change log (≤ 300 ms).
//! Not here: issuing, checking or revoking tokens (`users`).

use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use app::api::Caller;
use time::OffsetDateTime;

/// The longest a cached token is believed without reading it again.
const HOLD: Duration = Duration::from_secs(60);

/// Tokens held at most; the cache starts over when full.
const MAX_ENTRIES: usize = 10_000;

#[derive(Debug, Default)]
pub(super) struct TokenCache {
    entries: Mutex<Entries>,
}

#[derive(Debug, Default)]
struct Entries {
    /// Bumped by every `forget_all`: a read of the database that began before it is not
    /// remembered after it.
    generation: u64,
    by_hash: HashMap<String, Entry>,
}

#[derive(Debug)]
struct Entry {
    caller: Caller,
    expires_at: OffsetDateTime,
    until: Instant,
}

impl TokenCache {
    fn lock(&self) -> MutexGuard<'_, Entries> {
        self.entries.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The caller of a token (by its hash) if known and still valid at `now`; otherwise the
    /// generation to give [`TokenCache::remember`] once the database answered.
    pub(super) fn get(&self, hash: &str, now: OffsetDateTime) -> Result<Caller, u64> {
        let mut entries = self.lock();
        match entries.by_hash.get(hash) {
            Some(entry) if entry.expires_at > now && entry.until > Instant::now() => {
                Ok(entry.caller.clone())
            }
            Some(_) => {
                entries.by_hash.remove(hash);
                Err(entries.generation)
            }
            None => Err(entries.generation),
        }
    }

    /// Remembers what the database said about a token, unless credentials changed since the
    /// read began (`generation` is no longer current).
    pub(super) fn remember(
        &self,
        generation: u64,
        hash: String,
        caller: Caller,
        expires_at: OffsetDateTime,
    ) {
        let mut entries = self.lock();
        if entries.generation != generation {
            return;
        }
        if entries.by_hash.len() >= MAX_ENTRIES {
            entries.by_hash.clear();
        }
        entries.by_hash.insert(
            hash,
            Entry {
                caller,
                expires_at,
                until: Instant::now() + HOLD,
            },
        );
    }

    /// Credentials changed somewhere: nothing cached holds any more.
    pub(super) fn forget_all(&self) {
        let mut entries = self.lock();
        entries.generation += 1;
        entries.by_hash.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use app::api::Role;

    fn caller() -> Caller {
        Caller {
            user_id: "u1".into(),
            name: "v".into(),
            role: Role::Viewer,
        }
    }

    /// Remembers token "h" for a minute from `now`, as read under `generation`.
    fn remember(cache: &TokenCache, generation: u64, now: OffsetDateTime) {
        let end = now + time::Duration::minutes(1);
        cache.remember(generation, "h".into(), caller(), end);
    }

    #[test]
    fn a_remembered_token_holds_until_its_end() {
        let cache = TokenCache::default();
        let now = OffsetDateTime::now_utc();
        remember(&cache, cache.get("h", now).unwrap_err(), now);
        assert_eq!(cache.get("h", now), Ok(caller()));
        assert!(cache.get("h", now + time::Duration::minutes(2)).is_err());
        // An ended token is gone, not only refused.
        assert!(cache.get("h", now).is_err());
    }

    #[test]
    fn a_read_that_began_before_a_change_of_credentials_is_not_remembered() {
        let cache = TokenCache::default();
        let now = OffsetDateTime::now_utc();
        let generation = cache.get("h", now).unwrap_err();
        cache.forget_all();
        remember(&cache, generation, now);
        assert!(cache.get("h", now).is_err());
        remember(&cache, cache.get("h", now).unwrap_err(), now);
        assert_eq!(cache.get("h", now), Ok(caller()));
        cache.forget_all();
        assert!(cache.get("h", now).is_err());
    }
}
