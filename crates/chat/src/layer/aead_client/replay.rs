//! The AEAD layer's replay guard: the tokens a receiver has accepted, and
//! only for as long as they could be accepted again.
//!
//! A token stays acceptable until its timestamp plus the TTL, and a
//! timestamp may be up to [`MAX_CLOCK_SKEW_SECS`] ahead of the receiver's
//! clock; so once `TTL + 60 s` have passed since a token was *received*,
//! the TTL check refuses it anyway and the guard may forget it. That window
//! runs on the monotonic clock, never the wall clock: a wall clock stepped
//! back cannot make the guard forget early, and
//! [`crate::layer::clock::SteadyWall`] keeps it from making a forgotten token
//! fresh.
//!
//! **Memory bound.** One entry per token accepted (only tokens whose MAC
//! verified: an outsider cannot add any) in the last `TTL + 60 s`: at most
//! the accepted message rate times that window, about 100 bytes each, and
//! never more than [`MAX_REMEMBERED`] entries (about 50 MiB). Past that the
//! guard refuses new tokens rather than forget old ones: failing closed.

use std::collections::{HashSet, VecDeque};
use std::time::Duration;

use crate::layer::Rejection;
use crate::layer::keys::crypto::{MAC_LEN, MAX_CLOCK_SKEW_SECS};

/// Most tokens remembered at once.
pub const MAX_REMEMBERED: usize = 1 << 19;

/// The MACs of accepted tokens, each until its window ends.
pub struct ReplayGuard {
    /// How long after its receipt a token is remembered: TTL + skew.
    window: Duration,
    seen: HashSet<[u8; MAC_LEN]>,
    /// `(forget at, mac)`, in order of receipt, so soonest first.
    expiries: VecDeque<(Duration, [u8; MAC_LEN])>,
}

impl ReplayGuard {
    /// A guard for tokens accepted for `ttl` seconds.
    pub fn new(ttl: u64) -> Self {
        Self {
            window: Duration::from_secs(ttl.saturating_add(MAX_CLOCK_SKEW_SECS)),
            seen: HashSet::new(),
            expiries: VecDeque::new(),
        }
    }

    /// Accepts a token's MAC once, at monotonic time `now`.
    pub fn remember(&mut self, mac: [u8; MAC_LEN], now: Duration) -> Result<(), Rejection> {
        self.forget_expired(now);
        if self.seen.contains(&mac) {
            return Err(Rejection::Replay);
        }
        if self.seen.len() >= MAX_REMEMBERED {
            return Err(Rejection::ReplayGuardFull);
        }
        self.seen.insert(mac);
        self.expiries
            .push_back((now.saturating_add(self.window), mac));
        Ok(())
    }

    /// Tokens remembered now.
    #[cfg(test)]
    pub fn len(&self) -> usize {
        self.seen.len()
    }

    fn forget_expired(&mut self, now: Duration) {
        while let Some(&(forget_at, mac)) = self.expiries.front() {
            if forget_at >= now {
                return;
            }
            self.expiries.pop_front();
            self.seen.remove(&mac);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TTL: u64 = 30;

    fn secs(s: u64) -> Duration {
        Duration::from_secs(s)
    }

    #[test]
    fn remembers_each_token_for_ttl_plus_skew_after_receipt() {
        let mut guard = ReplayGuard::new(TTL);
        guard.remember([1; MAC_LEN], secs(0)).unwrap();
        assert_eq!(
            guard.remember([1; MAC_LEN], secs(90)),
            Err(Rejection::Replay)
        );
        guard.remember([2; MAC_LEN], secs(91)).unwrap();
        assert_eq!(guard.len(), 1);
        assert_eq!(guard.remember([1; MAC_LEN], secs(92)), Ok(()));
    }

    #[test]
    fn memory_is_bounded_by_the_window() {
        let mut guard = ReplayGuard::new(TTL);
        for i in 0..100u8 {
            guard.remember([i; MAC_LEN], secs(0)).unwrap();
        }
        assert_eq!(guard.len(), 100);
        guard.remember([200; MAC_LEN], secs(TTL + 61)).unwrap();
        assert_eq!(guard.len(), 1);
    }
}
