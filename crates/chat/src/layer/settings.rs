//! What every member of an encrypted chat shares and chooses: the password,
//! how keys are derived from it, the room, how salts are picked, and how
//! time is judged. AE, AEAD and signed clients all start from these
//! settings, so they live apart from each layer.

use crate::layer::keys::crypto::DEFAULT_ITERATIONS;
use crate::layer::keys::kdf::{KeyScheme, MessageKeys};
use crate::layer::keys::secret::Password;
use crate::layer::room::Room;

/// Default time to live of a token, in seconds (the pyrochat lab's value).
pub const DEFAULT_TTL_SECS: u64 = 30;

/// How a sender picks salts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SaltMode {
    /// A fresh salt, so a fresh key derivation, for every message: the lab's scheme.
    #[default]
    PerMessage,
    /// One salt for the whole session: one derivation per sender and per
    /// receiver, so a strong iteration count stays cheap. Each token still
    /// gets its own random IV.
    PerSession,
}

/// The shared secret, how keys are derived from it, the room, and how the
/// encrypted layers judge time. Its `Debug` hides the password.
#[derive(Debug, Clone)]
pub struct AeSettings {
    pub password: Password,
    pub iterations: u32,
    /// The key scheme (`--kdf`, and `--chat-id` for `hkdf`); every client
    /// of a chat must use the same.
    pub kdf: KeyScheme,
    /// The chat this client is in (`--room`): sealed in every AEAD message,
    /// and part of the master key under the `hkdf` scheme.
    pub room: Room,
    pub salt_mode: SaltMode,
    /// Seconds this sender's clock is off by (negative: behind). Zero but
    /// for the lab's TTL experiment.
    pub clock_offset: i64,
    /// How old a token the AEAD layer accepts, in seconds (AE has no TTL).
    pub ttl: u64,
}

impl AeSettings {
    pub fn new(password: Password) -> Self {
        Self {
            password,
            iterations: DEFAULT_ITERATIONS,
            kdf: KeyScheme::Lab,
            room: Room::default(),
            salt_mode: SaltMode::PerMessage,
            clock_offset: 0,
            ttl: DEFAULT_TTL_SECS,
        }
    }

    /// The key schedule these settings describe; under `hkdf` this runs the
    /// one expensive derivation, so a sealer or opener calls it once.
    pub fn message_keys(&self) -> MessageKeys {
        MessageKeys::new(self.kdf, &self.password, &self.room, self.iterations)
    }
}
