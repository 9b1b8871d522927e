//! A receiver's message keys, by salt: derived on demand, rationed when
//! they are expensive, and remembered only once they have proved genuine.
//!
//! A sender that keeps one salt for its session (`--session-salt`) then
//! costs a receiver one derivation, not one per message. Three rules keep
//! the cache from becoming a weapon:
//!
//! - a key enters the cache only after a token's MAC has verified under it,
//!   so junk under fresh salts never evicts the keys of real senders;
//! - a key for a salt never seen costs a PBKDF2 run only within the
//!   [`DerivationBudget`]; over it the frame is refused unverified;
//! - two generations of at most [`KEY_CACHE_GENERATION`] keys: when the
//!   current one fills it becomes the previous one and the old previous one
//!   is forgotten; a key used from the previous generation moves back.
//!
//! Under the `hkdf` scheme a key is an HKDF away, cheaper than a cache
//! entry: nothing is cached or budgeted.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use fernet::Fernet;

use crate::layer::Rejection;
use crate::layer::keys::budget::{DerivationBudget, Limits};
use crate::layer::keys::crypto::{self, Salt, TokenInfo};
use crate::layer::keys::kdf::MessageKeys;

/// Keys a receiver remembers per generation of its cache.
pub const KEY_CACHE_GENERATION: usize = 1024;

/// Derived keys by salt, and the budget for new ones.
pub struct KeyCache {
    keys: MessageKeys,
    budget: DerivationBudget,
    current: HashMap<Salt, Fernet>,
    previous: HashMap<Salt, Fernet>,
}

impl KeyCache {
    pub fn new(keys: MessageKeys) -> Self {
        Self::with_limits(keys, Limits::DEFAULT)
    }

    pub fn with_limits(keys: MessageKeys, limits: Limits) -> Self {
        Self {
            keys,
            budget: DerivationBudget::new(limits),
            current: HashMap::new(),
            previous: HashMap::new(),
        }
    }

    /// Verifies and decrypts a `{salt, token}` pair that `sender` is said
    /// to have sent, at monotonic time `now`, without judging its age.
    pub fn open(
        &mut self,
        sender: &str,
        salt: &str,
        token: &str,
        now: Duration,
    ) -> Result<(TokenInfo, Vec<u8>), Rejection> {
        let salt = Salt::from_base64(salt)?;
        // The token's shape first: a malformed token costs no derivation.
        let info = crypto::inspect_token(token)?;
        if let Some(key) = self.cached(&salt) {
            return Ok(crypto::verify_and_decrypt(key, token, info)?);
        }
        let key = self.derive(sender, &salt, now)?;
        let opened = crypto::verify_and_decrypt(&key, token, info)?;
        if self.keys.expensive() {
            self.remember(salt, key);
        }
        Ok(opened)
    }

    /// Keys cached now.
    #[cfg(test)]
    pub fn len(&self) -> usize {
        self.current.len() + self.previous.len()
    }

    #[cfg(test)]
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn cached(&mut self, salt: &Salt) -> Option<&Fernet> {
        if !self.current.contains_key(salt) {
            let key = self.previous.remove(salt)?;
            self.remember(*salt, key);
        }
        self.current.get(salt)
    }

    /// The key for a salt not cached: an HKDF, or a budgeted PBKDF2 run.
    fn derive(&mut self, sender: &str, salt: &Salt, now: Duration) -> Result<Fernet, Rejection> {
        if !self.keys.expensive() {
            return Ok(self.keys.key(salt));
        }
        self.budget
            .permit(sender, now)
            .map_err(|_| Rejection::OverBudget)?;
        let started = Instant::now();
        let key = self.keys.key(salt);
        self.budget.charge(sender, started.elapsed());
        Ok(key)
    }

    fn remember(&mut self, salt: Salt, key: Fernet) {
        if self.current.len() >= KEY_CACHE_GENERATION {
            self.previous = std::mem::take(&mut self.current);
        }
        self.current.insert(salt, key);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::layer::keys::budget::Rate;
    use crate::layer::keys::crypto::DEFAULT_ITERATIONS;
    use crate::layer::{DecryptError, Password};

    const NOW: Duration = Duration::ZERO;

    fn lab_keys() -> MessageKeys {
        MessageKeys::Lab {
            password: Password::new("correct horse"),
            iterations: DEFAULT_ITERATIONS,
        }
    }

    /// A well-formed token under a salt, sealed with the right password or not.
    fn token(salt: &Salt, password: &str) -> String {
        crypto::derive_key_from_password(&Password::new(password), salt, DEFAULT_ITERATIONS)
            .encrypt(b"hi")
    }

    fn salt(i: u32) -> Salt {
        let mut bytes = [0u8; crypto::SALT_LEN];
        bytes[..4].copy_from_slice(&i.to_be_bytes());
        Salt(bytes)
    }

    #[test]
    fn only_keys_that_verified_a_mac_are_cached() {
        let mut cache = KeyCache::new(lab_keys());
        for i in 0..10 {
            let junk = token(&salt(i), "not the password");
            let opened = cache.open("mallory", &salt(i).to_base64(), &junk, NOW);
            assert_eq!(opened, Err(DecryptError::WrongKeyOrAltered.into()));
        }
        assert!(cache.is_empty());
        let real = token(&salt(99), "correct horse");
        let opened = cache.open("alice", &salt(99).to_base64(), &real, NOW);
        assert_eq!(opened.map(|(_, text)| text), Ok(b"hi".to_vec()));
        assert_eq!(cache.len(), 1);
    }

    /// The same rate for the overall and every sender's bucket.
    fn limits(share: f64, burst: Duration) -> Limits {
        let rate = Rate { share, burst };
        Limits {
            overall: rate,
            sender: rate,
        }
    }

    #[test]
    fn new_salts_over_budget_are_refused_unverified_and_cached_ones_still_open() {
        let mut cache = KeyCache::with_limits(lab_keys(), limits(0.0, Duration::from_nanos(1)));
        let real = token(&salt(1), "correct horse");
        assert!(
            cache
                .open("alice", &salt(1).to_base64(), &real, NOW)
                .is_ok()
        );
        let more = token(&salt(2), "correct horse");
        assert_eq!(
            cache.open("alice", &salt(2).to_base64(), &more, NOW),
            Err(Rejection::OverBudget)
        );
        assert!(
            cache
                .open("alice", &salt(1).to_base64(), &real, NOW)
                .is_ok()
        );
    }

    #[test]
    fn the_cache_stays_bounded_and_keeps_keys_in_use() {
        // Thousands of derivations, which an unoptimised build makes slow:
        // a budget that does not get in the way.
        let plenty = limits(1.0, Duration::from_secs(3_600));
        let mut cache = KeyCache::with_limits(lab_keys(), plenty);
        let first = token(&salt(0), "correct horse");
        for i in 0..(3 * KEY_CACHE_GENERATION) as u32 {
            let real = token(&salt(i), "correct horse");
            assert!(
                cache
                    .open("alice", &salt(i).to_base64(), &real, NOW)
                    .is_ok()
            );
            // The first salt stays in use throughout.
            assert!(cache.cached(&salt(0)).is_some(), "{i}");
        }
        assert!(cache.len() <= 2 * KEY_CACHE_GENERATION);
        assert!(
            cache
                .open("alice", &salt(0).to_base64(), &first, NOW)
                .is_ok()
        );
    }
}
