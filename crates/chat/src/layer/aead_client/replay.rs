//! The AEAD layer's replay guard: the tokens a receiver has accepted, and
//! only for as long as they could be accepted again.
//!
//! A token is acceptable until the TTL check refuses it: while the
//! receiver's clock reads no more than its timestamp plus the TTL. The
//! guard remembers each token exactly that long, judged by the same rule on
//! the same clock ([`crate::layer::clock::SteadyWall`], a wall clock that
//! never goes back) at the same instant as the TTL check: so no token is
//! ever forgotten while the TTL check would still let it through, not even
//! for the fraction of a second that whole-second timestamps leave, and a
//! wall clock stepped back cannot make a forgotten token fresh again.
//!
//! **Memory bound.** One entry per token accepted (only tokens whose MAC
//! verified: an outsider cannot add any) whose timestamp is less than the
//! TTL old: at most the accepted message rate times `TTL + 60 s` (a token
//! may be dated up to 60 s ahead), about 100 bytes each, and never more
//! than [`MAX_REMEMBERED`] entries (about 50 MiB). Past that the guard
//! refuses new tokens rather than forget old ones: failing closed.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashSet};

use crate::layer::Rejection;
use crate::layer::keys::crypto::MAC_LEN;

/// Most tokens remembered at once.
pub const MAX_REMEMBERED: usize = 1 << 19;

/// The ids of accepted tokens, each until the TTL check refuses it.
pub struct ReplayGuard {
    ttl: u64,
    seen: HashSet<[u8; MAC_LEN]>,
    /// `(last second acceptable, id)`, soonest first.
    expiries: BinaryHeap<Reverse<(u64, [u8; MAC_LEN])>>,
}

impl ReplayGuard {
    /// A guard for tokens accepted for `ttl` seconds.
    pub fn new(ttl: u64) -> Self {
        Self {
            ttl,
            seen: HashSet::new(),
            expiries: BinaryHeap::new(),
        }
    }

    /// Accepts a token once: `id` names it, `sent_at` is its timestamp,
    /// and `now` the steady wall time its TTL was just judged at.
    pub fn remember(&mut self, id: [u8; MAC_LEN], sent_at: u64, now: u64) -> Result<(), Rejection> {
        self.forget_expired(now);
        if self.seen.contains(&id) {
            return Err(Rejection::Replay);
        }
        if self.seen.len() >= MAX_REMEMBERED {
            return Err(Rejection::ReplayGuardFull);
        }
        self.seen.insert(id);
        self.expiries
            .push(Reverse((sent_at.saturating_add(self.ttl), id)));
        Ok(())
    }

    /// Tokens remembered now.
    #[cfg(test)]
    pub fn len(&self) -> usize {
        self.seen.len()
    }

    /// Forgets the tokens the TTL check refuses at `now`: those whose last
    /// acceptable second is past.
    fn forget_expired(&mut self, now: u64) {
        while let Some(&Reverse((last, id))) = self.expiries.peek() {
            if last >= now {
                return;
            }
            self.expiries.pop();
            self.seen.remove(&id);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::layer::keys::crypto::check_freshness;

    const TTL: u64 = 30;
    const T0: u64 = 1_800_000_000;

    #[test]
    fn remembers_each_token_while_its_ttl_accepts_it() {
        let mut guard = ReplayGuard::new(TTL);
        guard.remember([1; MAC_LEN], T0, T0).unwrap();
        assert_eq!(
            guard.remember([1; MAC_LEN], T0, T0 + TTL),
            Err(Rejection::Replay)
        );
        guard.remember([2; MAC_LEN], T0 + 1, T0 + TTL + 1).unwrap();
        assert_eq!(guard.len(), 1);
        assert!(check_freshness(T0, T0 + TTL + 1, TTL).is_err(), "only then");
    }

    /// A token dated 60 s ahead (the most the TTL check allows) stays
    /// acceptable until its own date plus the TTL, 90 s after it arrived:
    /// remembered until then, to the second.
    #[test]
    fn a_token_from_the_future_is_remembered_to_its_last_acceptable_second() {
        let mut guard = ReplayGuard::new(TTL);
        let ahead = T0 + 60;
        guard.remember([1; MAC_LEN], ahead, T0).unwrap();
        let last = ahead + TTL;
        assert!(check_freshness(ahead, last, TTL).is_ok());
        assert_eq!(
            guard.remember([1; MAC_LEN], ahead, last),
            Err(Rejection::Replay)
        );
        guard.remember([2; MAC_LEN], last + 1, last + 1).unwrap();
        assert_eq!(guard.len(), 1, "forgotten once the TTL check refuses it");
    }

    #[test]
    fn memory_is_bounded_by_the_ttl() {
        let mut guard = ReplayGuard::new(TTL);
        for i in 0..100u8 {
            guard.remember([i; MAC_LEN], T0, T0).unwrap();
        }
        assert_eq!(guard.len(), 100);
        guard
            .remember([200; MAC_LEN], T0 + TTL + 1, T0 + TTL + 1)
            .unwrap();
        assert_eq!(guard.len(), 1);
    }
}
