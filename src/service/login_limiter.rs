//! The sign-in limiter (SPEC §5 web admin): failed sign-ins counted per account and per
//! client address, [`MAX_FAILURES`] within [`LIMIT_WINDOW`] at most.
//!
//! An attempt is reserved ([`LoginLimiter::reserve`]) before its password is checked,
//! under one lock for both keys, and counts as a failure from then on unless it is
//! released (a right password, or a check that never ran). So concurrent attempts cannot
//! all pass a "blocked?" look before any of them is recorded: of N wrong passwords sent
//! at once, at most [`MAX_FAILURES`] reach argon2, the rest are refused at once.
//!
//! The map is bounded ([`MAX_KEYS`]). When it is full, expired entries go first, then
//! the keys not locked, least recently tried first; a locked key is never forgotten.
//! When only locked keys are left, a new key is refused until the first lock ends.
//! Every recorded failure cost one password verification, which
//! `limits.password_hashes` bounds, so the map fills with locked keys only under far
//! more verifications than a node can make (100 000 keys × 5 failures in 15 minutes).
//! Hand-written rather than `moka` or `governor`: both evict or reset entries without
//! knowing which are locked, and neither checks and records two keys at once.

use std::collections::{HashMap, VecDeque};
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Failed sign-ins allowed per account or address within [`LIMIT_WINDOW`].
pub const MAX_FAILURES: usize = 5;
/// The rate-limit window.
pub const LIMIT_WINDOW: Duration = Duration::from_secs(15 * 60);
/// Keys (accounts and addresses) kept at most.
pub const MAX_KEYS: usize = 100_000;

/// Failed (and pending) sign-ins, by account name and by client address.
#[derive(Debug)]
pub struct LoginLimiter {
    state: Mutex<State>,
    capacity: usize,
}

#[derive(Debug, Default)]
struct State {
    /// Times of the failures within the window, oldest first; at most [`MAX_FAILURES`].
    failures: HashMap<String, VecDeque<Instant>>,
    /// The map holds only locked keys until then: no need to look for room before.
    full_until: Option<Instant>,
}

impl Default for LoginLimiter {
    fn default() -> Self {
        Self::with_capacity(MAX_KEYS)
    }
}

/// A reserved sign-in attempt: a failure unless [`Attempt::release`]d.
#[derive(Debug)]
#[must_use = "an attempt is a failure unless released"]
pub struct Attempt<'a> {
    limiter: &'a LoginLimiter,
    keys: Vec<String>,
    at: Instant,
}

impl Attempt<'_> {
    /// The attempt does not count: the password was right, or it was never checked.
    pub fn release(self) {
        let mut state = self.limiter.lock();
        for key in &self.keys {
            if let Some(times) = state.failures.get_mut(key) {
                if let Some(position) = times.iter().position(|t| *t == self.at) {
                    times.remove(position);
                }
                if times.is_empty() {
                    state.failures.remove(key);
                }
            }
        }
        state.full_until = None;
    }

    /// The password was wrong: the attempt stays counted (as when it is dropped).
    pub fn fail(self) {}
}

fn prune(times: &mut VecDeque<Instant>, now: Instant) {
    while times
        .front()
        .is_some_and(|t| now.duration_since(*t) >= LIMIT_WINDOW)
    {
        times.pop_front();
    }
}

/// How long until the oldest failure of `times` leaves the window.
fn until_expiry(times: &VecDeque<Instant>, now: Instant) -> Duration {
    times.front().map_or(Duration::ZERO, |oldest| {
        LIMIT_WINDOW.saturating_sub(now.duration_since(*oldest))
    })
}

impl LoginLimiter {
    /// A limiter keeping `capacity` keys at most.
    pub fn with_capacity(capacity: usize) -> Self {
        Self {
            state: Mutex::default(),
            capacity: capacity.max(2),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().expect("BUG: poisoned sign-in limiter")
    }

    fn keys(username: &str, ip: Option<IpAddr>) -> Vec<String> {
        // Account names have 64 characters at most: a longer name typed (up to the
        // body limit) must not become a key of that size.
        let username: String = username.chars().take(64).collect();
        let mut keys = vec![format!("user:{username}")];
        keys.extend(ip.map(|ip| format!("ip:{}", crate::limits::address_key(ip))));
        keys
    }

    /// Reserves one attempt for the account `username` from `ip`, counted as a failure
    /// of both until released.
    ///
    /// # Errors
    /// How long to wait, when the account or the address is locked (or, with the map
    /// full of locked keys, until the first lock ends).
    pub fn reserve(&self, username: &str, ip: Option<IpAddr>) -> Result<Attempt<'_>, Duration> {
        let keys = Self::keys(username, ip);
        let mut state = self.lock();
        let now = Instant::now();
        let mut wait = None;
        for key in &keys {
            if let Some(times) = state.failures.get_mut(key) {
                prune(times, now);
                if times.len() >= MAX_FAILURES {
                    wait = wait.max(Some(until_expiry(times, now)));
                }
            }
        }
        if let Some(wait) = wait {
            return Err(wait);
        }
        let new_keys = keys
            .iter()
            .filter(|key| !state.failures.contains_key(*key))
            .count();
        if state.failures.len() + new_keys > self.capacity {
            self.make_room(&mut state, now, new_keys)?;
        }
        for key in &keys {
            state
                .failures
                .entry(key.clone())
                .or_default()
                .push_back(now);
        }
        Ok(Attempt {
            limiter: self,
            keys,
            at: now,
        })
    }

    /// Drops expired entries, then unlocked keys least recently tried first, down to
    /// 90 % of the capacity; never a locked key.
    fn make_room(&self, state: &mut State, now: Instant, room: usize) -> Result<(), Duration> {
        if let Some(until) = state.full_until {
            if now < until {
                return Err(until - now);
            }
        }
        state.failures.retain(|_, times| {
            prune(times, now);
            !times.is_empty()
        });
        let target = (self.capacity * 9 / 10).min(self.capacity - room);
        if state.failures.len() > target {
            let mut unlocked: Vec<(Instant, String)> = state
                .failures
                .iter()
                .filter(|(_, times)| times.len() < MAX_FAILURES)
                .filter_map(|(key, times)| times.back().map(|last| (*last, key.clone())))
                .collect();
            unlocked.sort_unstable();
            let excess = state.failures.len() - target;
            for (_, key) in unlocked.into_iter().take(excess) {
                state.failures.remove(&key);
            }
        }
        if state.failures.len() + room > self.capacity {
            // Only locked keys: refuse the newcomer rather than lift a lock.
            let wait = state
                .failures
                .values()
                .map(|times| until_expiry(times, now))
                .min()
                .unwrap_or(LIMIT_WINDOW)
                .max(Duration::from_secs(1));
            state.full_until = Some(now + wait);
            return Err(wait);
        }
        state.full_until = None;
        Ok(())
    }

    /// True when the account or the address is locked (no attempt would be reserved).
    pub fn locked(&self, username: &str, ip: Option<IpAddr>) -> bool {
        let mut state = self.lock();
        let now = Instant::now();
        Self::keys(username, ip).iter().any(|key| {
            state.failures.get_mut(key).is_some_and(|times| {
                prune(times, now);
                times.len() >= MAX_FAILURES
            })
        })
    }

    /// Keys held now.
    pub fn len(&self) -> usize {
        self.lock().failures.len()
    }

    /// True when no key is held.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fail(limiter: &LoginLimiter, username: &str, ip: Option<IpAddr>) {
        limiter.reserve(username, ip).expect("not locked").fail();
    }

    #[test]
    fn the_limiter_counts_failures() {
        let limiter = LoginLimiter::default();
        let ip = Some("192.0.2.1".parse().unwrap());
        for _ in 0..MAX_FAILURES {
            assert!(!limiter.locked("marie", ip));
            fail(&limiter, "marie", ip);
        }
        assert!(limiter.locked("marie", ip));
        assert!(limiter.locked("autre", ip), "same address");
        assert!(!limiter.locked("autre", Some("192.0.2.2".parse().unwrap())));
        let wait = limiter.reserve("marie", None).unwrap_err();
        assert!(wait > LIMIT_WINDOW - Duration::from_secs(60), "{wait:?}");
    }

    #[test]
    fn released_attempts_do_not_count() {
        let limiter = LoginLimiter::default();
        for _ in 0..3 * MAX_FAILURES {
            limiter.reserve("marie", None).unwrap().release();
        }
        assert!(limiter.is_empty());
        fail(&limiter, "marie", None);
        assert_eq!(limiter.len(), 1);
    }

    /// Point 1 of issue 13: attempts made at once are reserved one by one, so that no
    /// more than the allowed number get through while the others are still running.
    #[test]
    fn concurrent_sign_ins_reserve_before_checking() {
        let limiter = LoginLimiter::default();
        let ip = Some("192.0.2.1".parse().unwrap());
        let barrier = std::sync::Barrier::new(60);
        let reserved: Vec<Attempt<'_>> = std::thread::scope(|scope| {
            let handles: Vec<_> = (0..60)
                .map(|_| {
                    scope.spawn(|| {
                        barrier.wait();
                        limiter.reserve("marie", ip).ok()
                    })
                })
                .collect();
            handles
                .into_iter()
                .filter_map(|h| h.join().unwrap())
                .collect()
        });
        assert_eq!(reserved.len(), MAX_FAILURES);
        assert!(limiter.locked("marie", None), "pending attempts count");
        drop(reserved);
        assert!(limiter.locked("marie", ip), "dropped attempts are failures");
    }

    #[test]
    fn the_limiter_keeps_small_keys() {
        let limiter = LoginLimiter::default();
        let ip = Some("192.0.2.1".parse().unwrap());
        let huge = "x".repeat(1_000_000);
        assert!(!limiter.locked(&huge, None));
        assert!(limiter.is_empty(), "looking stores nothing");
        for _ in 0..MAX_FAILURES {
            fail(&limiter, &huge, ip);
        }
        assert!(limiter.locked(&huge, None));
        let longest = limiter.lock().failures.keys().map(String::len).max();
        assert!(longest.unwrap() <= 80, "{longest:?}");
    }

    /// Point 1 of issue 13: a flood of other names and addresses, far past the bound of
    /// the map, neither lifts a lock nor grows the map past its bound.
    #[test]
    fn concurrent_sign_ins_lock_survives_a_flood_of_keys() {
        let limiter = LoginLimiter::default();
        let ip = Some("192.0.2.1".parse().unwrap());
        for _ in 0..MAX_FAILURES {
            fail(&limiter, "marie", ip);
        }
        for i in 0..(MAX_KEYS as u32 * 3 / 4) {
            let other = std::net::Ipv6Addr::from(u128::from(i + 1) << 64);
            fail(&limiter, &format!("nom{i}"), Some(other.into()));
            assert!(limiter.lock().failures.len() <= MAX_KEYS);
        }
        assert!(limiter.locked("marie", None), "the account is still locked");
        assert!(
            limiter.locked("personne", ip),
            "the address is still locked"
        );
    }

    #[test]
    fn a_map_full_of_locks_refuses_newcomers() {
        let limiter = LoginLimiter::with_capacity(10);
        for i in 0..10 {
            for _ in 0..MAX_FAILURES {
                fail(&limiter, &format!("nom{i}"), None);
            }
        }
        let wait = limiter.reserve("nouveau", None).unwrap_err();
        assert!(wait >= Duration::from_secs(1));
        assert!(limiter.reserve("encore", None).is_err(), "still full");
        for i in 0..10 {
            assert!(limiter.locked(&format!("nom{i}"), None), "nom{i}");
        }
        assert_eq!(limiter.len(), 10);
    }
}
