//! Login throttling: every door that checks a password (the portal's `/login`,
//! `POST /api/tokens`, HTTP Basic on any path) asks here first, so guessing passwords is slow
//! per user name and per client address, and a flood of bad credentials costs a map lookup
//! instead of an argon2 hash.
//!
//! Policy: a key (a user name, or a client address; IPv6 by its /64) may fail a few times
//! freely; each further failure locks it for twice as long as the one before, up to
//! [`MAX_LOCK`]. A success forgets the user name's failures (not the address's: one good
//! account must not unlock guessing at the others). Keys that have been quiet for
//! [`FORGET_AFTER`] are forgotten, and the map never holds more than [`MAX_KEYS`] keys.
//!
//! The state is in memory: a restart forgets it (the lock is at most 15 minutes anyway).
//! Not here: the password check itself (`users`), HTTP (`http::auth` answers 429).

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Failures a user name may have before it is locked.
pub const FREE_FAILURES_PER_USER: u32 = 5;
/// Failures a client address may have before it is locked (it may try several names).
pub const FREE_FAILURES_PER_ADDRESS: u32 = 20;
/// The first lock; each further failure doubles it.
const FIRST_LOCK: Duration = Duration::from_secs(1);
pub const MAX_LOCK: Duration = Duration::from_secs(15 * 60);
/// A key with no failure for this long starts over.
const FORGET_AFTER: Duration = Duration::from_secs(30 * 60);
/// At most this many keys are remembered; the quietest go first.
pub const MAX_KEYS: usize = 10_000;

#[derive(Clone, Debug, Hash, PartialEq, Eq)]
enum Key {
    User(String),
    Address(IpAddr),
}

impl Key {
    fn user(name: &str) -> Key {
        Key::User(name.chars().take(64).collect())
    }

    /// An IPv6 client usually owns its whole /64: count the prefix, not the address.
    fn address(address: IpAddr) -> Key {
        match address {
            IpAddr::V4(_) => Key::Address(address),
            IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
                Some(v4) => Key::Address(IpAddr::V4(v4)),
                None => {
                    let mut octets = v6.octets();
                    octets[8..].fill(0);
                    Key::Address(IpAddr::from(octets))
                }
            },
        }
    }

    fn free_failures(&self) -> u32 {
        match self {
            Key::User(_) => FREE_FAILURES_PER_USER,
            Key::Address(_) => FREE_FAILURES_PER_ADDRESS,
        }
    }
}

#[derive(Clone, Copy, Debug)]
struct Entry {
    failures: u32,
    locked_until: Option<Instant>,
    last_failure: Instant,
}

/// What a failure did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Failure {
    /// Counted; the key may try again now.
    Counted,
    /// This failure locked the user name or the address for the given time.
    Locked(Duration),
}

/// The throttle's memory; cheap to share behind the service.
#[derive(Debug, Default)]
pub struct Throttle {
    entries: Mutex<HashMap<Key, Entry>>,
}

fn lock_for(failures: u32, free: u32) -> Option<Duration> {
    let over = failures.checked_sub(free)?.checked_sub(1)?;
    let lock = FIRST_LOCK.saturating_mul(1u32 << over.min(20));
    Some(lock.min(MAX_LOCK))
}

impl Throttle {
    fn keys(user: &str, address: Option<IpAddr>) -> Vec<Key> {
        let mut keys = vec![Key::user(user)];
        keys.extend(address.map(Key::address));
        keys
    }

    fn entries(&self) -> std::sync::MutexGuard<'_, HashMap<Key, Entry>> {
        // A panic while holding the lock leaves plain data behind; keep using it.
        self.entries
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// `Err(wait)` when the user name or the address is locked: refuse without checking.
    pub fn check(&self, user: &str, address: Option<IpAddr>, now: Instant) -> Result<(), Duration> {
        let entries = self.entries();
        let wait = Self::keys(user, address)
            .iter()
            .filter_map(|key| entries.get(key)?.locked_until)
            .filter(|until| *until > now)
            .map(|until| until - now)
            .max();
        match wait {
            Some(wait) => Err(wait),
            None => Ok(()),
        }
    }

    /// Counts a wrong password for the user name and the address.
    pub fn failed(&self, user: &str, address: Option<IpAddr>, now: Instant) -> Failure {
        let mut entries = self.entries();
        let mut outcome = Failure::Counted;
        for key in Self::keys(user, address) {
            if !entries.contains_key(&key) && entries.len() >= MAX_KEYS {
                make_room(&mut entries, now);
            }
            let entry = entries.entry(key.clone()).or_insert(Entry {
                failures: 0,
                locked_until: None,
                last_failure: now,
            });
            if now.saturating_duration_since(entry.last_failure) > FORGET_AFTER {
                entry.failures = 0;
            }
            entry.failures = entry.failures.saturating_add(1);
            entry.last_failure = now;
            if let Some(lock) = lock_for(entry.failures, key.free_failures()) {
                entry.locked_until = Some(now + lock);
                outcome = match outcome {
                    Failure::Locked(other) if other >= lock => outcome,
                    _ => Failure::Locked(lock),
                };
            }
        }
        outcome
    }

    /// A right password: the user name starts over.
    pub fn succeeded(&self, user: &str) {
        self.entries().remove(&Key::user(user));
    }

    #[cfg(test)]
    fn len(&self) -> usize {
        self.entries().len()
    }
}

/// Forgets the quiet keys; when every key is recent, the one quiet longest.
fn make_room(entries: &mut HashMap<Key, Entry>, now: Instant) {
    entries.retain(|_, e| {
        now.saturating_duration_since(e.last_failure) <= FORGET_AFTER
            || e.locked_until.is_some_and(|until| until > now)
    });
    if entries.len() >= MAX_KEYS {
        let oldest = entries
            .iter()
            .min_by_key(|(_, e)| e.last_failure)
            .map(|(k, _)| k.clone());
        if let Some(oldest) = oldest {
            entries.remove(&oldest);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ADDR: Option<IpAddr> = Some(IpAddr::V4(std::net::Ipv4Addr::new(192, 0, 2, 7)));

    #[test]
    fn a_user_name_is_locked_after_its_free_failures_and_the_lock_doubles() {
        let throttle = Throttle::default();
        let t0 = Instant::now();
        for _ in 0..FREE_FAILURES_PER_USER {
            assert_eq!(throttle.failed("admin", None, t0), Failure::Counted);
            assert_eq!(throttle.check("admin", None, t0), Ok(()));
        }
        assert_eq!(
            throttle.failed("admin", None, t0),
            Failure::Locked(Duration::from_secs(1))
        );
        assert_eq!(
            throttle.check("admin", None, t0),
            Err(Duration::from_secs(1))
        );
        let t1 = t0 + Duration::from_secs(2);
        assert_eq!(throttle.check("admin", None, t1), Ok(()));
        assert_eq!(
            throttle.failed("admin", None, t1),
            Failure::Locked(Duration::from_secs(2))
        );
        // Other names are not locked by admin's failures.
        assert_eq!(throttle.check("viewer", None, t1), Ok(()));
        // A success starts the name over.
        throttle.succeeded("admin");
        assert_eq!(throttle.check("admin", None, t1), Ok(()));
    }

    #[test]
    fn the_lock_never_exceeds_fifteen_minutes() {
        assert_eq!(lock_for(5, 5), None);
        assert_eq!(lock_for(6, 5), Some(Duration::from_secs(1)));
        assert_eq!(lock_for(9, 5), Some(Duration::from_secs(8)));
        assert_eq!(lock_for(500, 5), Some(MAX_LOCK));
        assert_eq!(lock_for(u32::MAX, 5), Some(MAX_LOCK));
    }

    #[test]
    fn an_address_guessing_many_names_is_locked_and_a_success_does_not_unlock_it() {
        let throttle = Throttle::default();
        let t0 = Instant::now();
        for i in 0..FREE_FAILURES_PER_ADDRESS {
            throttle.failed(&format!("user{i}"), ADDR, t0);
        }
        assert_eq!(throttle.check("someone-else", ADDR, t0), Ok(()));
        assert!(matches!(
            throttle.failed("user-x", ADDR, t0),
            Failure::Locked(_)
        ));
        assert!(throttle.check("someone-else", ADDR, t0).is_err());
        throttle.succeeded("someone-else");
        assert!(throttle.check("someone-else", ADDR, t0).is_err());
        // From another address the name is free.
        assert_eq!(throttle.check("someone-else", None, t0), Ok(()));
    }

    #[test]
    fn ipv6_clients_are_counted_by_their_slash_64() {
        let a: IpAddr = "2001:db8:1:2:aaaa::1".parse().unwrap();
        let b: IpAddr = "2001:db8:1:2:bbbb::2".parse().unwrap();
        let c: IpAddr = "2001:db8:1:3::1".parse().unwrap();
        assert_eq!(Key::address(a), Key::address(b));
        assert_ne!(Key::address(a), Key::address(c));
        let mapped: IpAddr = "::ffff:192.0.2.7".parse().unwrap();
        assert_eq!(Key::address(mapped), Key::address(ADDR.unwrap()));
    }

    #[test]
    fn quiet_keys_are_forgotten_and_the_map_stays_bounded() {
        let throttle = Throttle::default();
        let t0 = Instant::now();
        for _ in 0..3 {
            throttle.failed("admin", None, t0);
        }
        let later = t0 + FORGET_AFTER + Duration::from_secs(1);
        for _ in 0..FREE_FAILURES_PER_USER {
            assert_eq!(throttle.failed("admin", None, later), Failure::Counted);
        }
        for i in 0..MAX_KEYS + 50 {
            throttle.failed(&format!("n{i}"), None, later);
        }
        assert!(throttle.len() <= MAX_KEYS);
    }
}
