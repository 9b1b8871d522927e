//! A receiver's budget of expensive key derivations (the lab scheme's
//! PBKDF2 runs for salts it has never seen).
//!
//! Under the lab scheme a salt is sent in clear and the key must be derived
//! before the MAC can be checked, so anyone who can send frames, password or
//! not, can make every receiver run PBKDF2 once per junk frame: at 600,000
//! iterations about 70 ms each, enough to make a receiver fall minutes
//! behind. The budget bounds that work with token buckets whose tokens are
//! *seconds of derivation*: each derivation is charged what it actually
//! took, so the limits mean the same on a slow and a fast machine and at
//! any iteration count.
//!
//! - **Overall:** at most [`OVERALL_SHARE`] of one core, on average, goes to
//!   deriving keys for new salts, with bursts up to [`OVERALL_BURST`].
//! - **Per claimed sender** (the frame's nick, which anyone may claim): at
//!   most [`SENDER_SHARE`], bursts up to [`SENDER_BURST`]. One flooding nick
//!   then takes at most half of the overall budget, and the other half is
//!   left for everyone else.
//!
//! A frame over budget is not verified; the client says so (`[rejected]
//! NICK: too many new salts, not verified`) and moves on. Keys for salts
//! already verified come from the cache and cost nothing here; under the
//! `hkdf` scheme no key is expensive and nothing is budgeted.

use std::collections::HashMap;
use std::time::Duration;

/// Share of one core the derivations for new salts may take, overall.
pub const OVERALL_SHARE: f64 = 0.5;
/// Derivation time the overall bucket holds when full.
pub const OVERALL_BURST: Duration = Duration::from_secs(1);
/// Share of one core the derivations for one claimed sender may take.
pub const SENDER_SHARE: f64 = 0.25;
/// Derivation time a sender's bucket holds when full.
pub const SENDER_BURST: Duration = Duration::from_millis(500);
/// Claimed senders with a bucket of their own; past this, new senders are
/// refused until idle buckets have refilled and been forgotten.
pub const MAX_BUDGETED_SENDERS: usize = 4096;

/// How fast a bucket refills, and how much it holds.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Rate {
    /// Seconds of derivation earned per second.
    pub share: f64,
    pub burst: Duration,
}

/// Both limits of a [`DerivationBudget`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Limits {
    pub overall: Rate,
    pub sender: Rate,
}

impl Limits {
    /// The limits documented above.
    pub const DEFAULT: Limits = Limits {
        overall: Rate {
            share: OVERALL_SHARE,
            burst: OVERALL_BURST,
        },
        sender: Rate {
            share: SENDER_SHARE,
            burst: SENDER_BURST,
        },
    };
}

/// One token bucket of derivation time, in nanoseconds. Its balance may go
/// below zero: a derivation is allowed while there is credit, then charged
/// what it cost.
#[derive(Debug, Clone, Copy)]
struct Bucket {
    /// Nanoseconds of derivation available.
    balance: i128,
    /// When `balance` was last brought up to date (monotonic).
    updated: Duration,
}

impl Bucket {
    fn full(rate: Rate, now: Duration) -> Self {
        Self {
            balance: nanos(rate.burst),
            updated: now,
        }
    }

    fn refill(&mut self, rate: Rate, now: Duration) {
        let earned = nanos(now.saturating_sub(self.updated)) as f64 * rate.share;
        self.balance = (self.balance + earned as i128).min(nanos(rate.burst));
        self.updated = self.updated.max(now);
    }

    fn has_credit(&self) -> bool {
        self.balance > 0
    }

    fn is_full(&self, rate: Rate) -> bool {
        self.balance >= nanos(rate.burst)
    }

    fn charge(&mut self, spent: Duration) {
        self.balance -= nanos(spent);
    }
}

fn nanos(d: Duration) -> i128 {
    i128::try_from(d.as_nanos()).unwrap_or(i128::MAX)
}

/// A derivation refused: the budget is spent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OverBudget;

/// The overall bucket and one per claimed sender.
#[derive(Debug)]
pub struct DerivationBudget {
    limits: Limits,
    overall: Option<Bucket>,
    senders: HashMap<String, Bucket>,
}

impl DerivationBudget {
    pub fn new(limits: Limits) -> Self {
        Self {
            limits,
            overall: None,
            senders: HashMap::new(),
        }
    }

    /// Whether a derivation for `sender` may start at `now` (monotonic).
    /// Nothing is taken yet: [`Self::charge`] does, once its cost is known.
    pub fn permit(&mut self, sender: &str, now: Duration) -> Result<(), OverBudget> {
        let overall = self.overall_at(now);
        if !overall.has_credit() {
            return Err(OverBudget);
        }
        let rate = self.limits.sender;
        match self.senders.get_mut(sender) {
            Some(bucket) => {
                bucket.refill(rate, now);
                bucket.has_credit().then_some(()).ok_or(OverBudget)
            }
            None => self.start_budget(sender, now),
        }
    }

    /// Charges a derivation for `sender` that took `spent`.
    pub fn charge(&mut self, sender: &str, spent: Duration) {
        if let Some(overall) = &mut self.overall {
            overall.charge(spent);
        }
        if let Some(bucket) = self.senders.get_mut(sender) {
            bucket.charge(spent);
        }
    }

    /// Claimed senders with a bucket now.
    #[cfg(test)]
    pub fn senders(&self) -> usize {
        self.senders.len()
    }

    fn overall_at(&mut self, now: Duration) -> &Bucket {
        let rate = self.limits.overall;
        let overall = self.overall.get_or_insert_with(|| Bucket::full(rate, now));
        overall.refill(rate, now);
        overall
    }

    /// A full bucket for a sender seen for the first time, if there is room.
    fn start_budget(&mut self, sender: &str, now: Duration) -> Result<(), OverBudget> {
        let rate = self.limits.sender;
        if self.senders.len() >= MAX_BUDGETED_SENDERS {
            // A full bucket is the same as none: forget those.
            self.senders.retain(|_, bucket| {
                bucket.refill(rate, now);
                !bucket.is_full(rate)
            });
        }
        if self.senders.len() >= MAX_BUDGETED_SENDERS {
            return Err(OverBudget);
        }
        self.senders
            .insert(sender.to_owned(), Bucket::full(rate, now));
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SEC: Duration = Duration::from_secs(1);

    /// Buckets of 1 s, refilling at half a second per second overall and a
    /// quarter per sender.
    fn budget() -> DerivationBudget {
        DerivationBudget::new(Limits {
            overall: Rate {
                share: 0.5,
                burst: SEC,
            },
            sender: Rate {
                share: 0.25,
                burst: SEC / 2,
            },
        })
    }

    /// Derives for `sender` while the budget allows, each derivation costing
    /// `cost`; returns how many were allowed.
    fn drain(budget: &mut DerivationBudget, sender: &str, cost: Duration, now: Duration) -> usize {
        let mut allowed = 0;
        while budget.permit(sender, now).is_ok() {
            budget.charge(sender, cost);
            allowed += 1;
        }
        allowed
    }

    #[test]
    fn one_flooding_sender_cannot_take_the_whole_budget() {
        let mut budget = budget();
        let cost = SEC / 10;
        assert_eq!(drain(&mut budget, "mallory", cost, Duration::ZERO), 5);
        // The overall bucket still has half a second for everyone else.
        assert_eq!(budget.permit("alice", Duration::ZERO), Ok(()));
        // A second later mallory has earned a quarter second: three more
        // derivations (the last one starts with credit left, and overdraws).
        assert_eq!(drain(&mut budget, "mallory", cost, SEC), 3);
    }

    #[test]
    fn many_senders_share_the_overall_bucket() {
        let mut budget = budget();
        let cost = SEC / 4;
        let allowed: usize = ["a", "b", "c", "d"]
            .iter()
            .map(|s| drain(&mut budget, s, cost, Duration::ZERO))
            .sum();
        assert_eq!(allowed, 4);
        assert_eq!(budget.permit("e", Duration::ZERO), Err(OverBudget));
        assert_eq!(budget.permit("e", 2 * SEC), Ok(()));
    }

    #[test]
    fn the_number_of_senders_budgeted_is_bounded() {
        let mut budget = budget();
        for i in 0..MAX_BUDGETED_SENDERS {
            assert_eq!(budget.permit(&format!("n{i}"), Duration::ZERO), Ok(()));
            budget.charge(&format!("n{i}"), Duration::from_nanos(1));
        }
        assert_eq!(
            budget.permit("one-too-many", Duration::ZERO),
            Err(OverBudget)
        );
        // Once the buckets have refilled they are forgotten.
        assert_eq!(budget.permit("one-too-many", SEC), Ok(()));
        assert_eq!(budget.senders(), 1);
    }
}
