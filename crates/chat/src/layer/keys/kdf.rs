//! Where a message's Fernet key comes from: the two key schemes, chosen by
//! `--kdf` (every client of a chat must use the same, as `--iterations`).
//!
//! - **`lab`**, the exercise's scheme (PROTOCOL.md section 3.2): the key is
//!   PBKDF2-HMAC-SHA256(password, message salt, iterations). One expensive
//!   derivation per salt, so per message, on every receiver; and since the
//!   salt is in clear, anyone, without the password, can make every receiver
//!   run PBKDF2 by sending junk under fresh salts.
//! - **`hkdf`**, the fix that scheme needs: one expensive derivation per
//!   room and password, the *master key*, then a cheap key per message:
//!
//!   ```text
//!   master = PBKDF2-HMAC-SHA256(password, "tp-unsecured-chat/hkdf-v1/room:" || room, iterations, 32)
//!   key    = HKDF-SHA256(ikm = master, salt = message salt, info = "tp-unsecured-chat/hkdf-v1/fernet", 32)
//!   ```
//!
//!   Same `{salt, token}` frame. A junk frame then costs a receiver one
//!   HKDF and one HMAC (about two microseconds), whatever the iteration
//!   count; the iterations still slow down whoever guesses passwords
//!   offline. And since the room is in the master's salt, a frame from
//!   another room does not even verify.

use hkdf::Hkdf;
use sha2::Sha256;

use crate::layer::keys::crypto::{self, Salt};
use crate::layer::keys::secret::{Password, RawKey};
use crate::layer::room::Room;
use crate::named::named_enum;

/// What the HKDF scheme puts before the room name in the master key's salt.
pub const MASTER_SALT_PREFIX: &[u8] = b"tp-unsecured-chat/hkdf-v1/room:";
/// HKDF's `info` for a message key.
pub const MESSAGE_KEY_INFO: &[u8] = b"tp-unsecured-chat/hkdf-v1/fernet";

named_enum! {
    /// The key scheme, by name: the value of `--kdf`.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
    pub enum Kdf {
        #[default]
        Lab = "lab", "PBKDF2 per message salt, as the exercise sets it",
        Hkdf = "hkdf", "PBKDF2 once per room and password, then HKDF-SHA256 per message salt",
    }
}

/// The HKDF scheme's master key for `room`: the one expensive derivation.
pub fn master_key(password: &Password, room: &Room, iterations: u32) -> RawKey {
    let mut salt = MASTER_SALT_PREFIX.to_vec();
    salt.extend_from_slice(room.as_str().as_bytes());
    RawKey::derive_with(|key| crypto::pbkdf2_hmac_sha256(password.expose(), &salt, iterations, key))
}

/// The HKDF scheme's key for one message salt.
pub fn message_key(master: &RawKey, salt: &Salt) -> RawKey {
    let hkdf = Hkdf::<Sha256>::new(Some(&salt.0), master.expose());
    RawKey::derive_with(|key| {
        // 32 bytes is far below HKDF-SHA256's limit of 255 * 32.
        if hkdf.expand(MESSAGE_KEY_INFO, key).is_err() {
            unreachable!("HKDF-SHA256 always gives 32 bytes");
        }
    })
}

/// A client's key schedule, ready: what turns a message salt into its key.
#[derive(Debug, Clone)]
pub enum MessageKeys {
    /// PBKDF2 of the password for each salt.
    Lab { password: Password, iterations: u32 },
    /// HKDF of the room's master key for each salt.
    Hkdf { master: RawKey },
}

impl MessageKeys {
    /// Prepares the schedule (for `hkdf`, runs the one expensive derivation).
    pub fn new(kdf: Kdf, password: &Password, room: &Room, iterations: u32) -> Self {
        match kdf {
            Kdf::Lab => Self::Lab {
                password: password.clone(),
                iterations,
            },
            Kdf::Hkdf => Self::Hkdf {
                master: master_key(password, room, iterations),
            },
        }
    }

    /// The Fernet key for a message salt.
    pub fn key(&self, salt: &Salt) -> fernet::Fernet {
        match self {
            Self::Lab {
                password,
                iterations,
            } => crypto::derive_key_from_password(password, salt, *iterations),
            Self::Hkdf { master } => crypto::fernet_key(&message_key(master, salt)),
        }
    }

    /// Whether a key costs a PBKDF2 run: such keys are cached, and those for
    /// salts never seen are rationed (`crate::layer::keys::budget`).
    pub fn expensive(&self) -> bool {
        matches!(self, Self::Lab { .. })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64::Engine;
    use base64::engine::general_purpose::URL_SAFE;

    fn password() -> Password {
        Password::new("s3cret")
    }

    #[test]
    fn the_hkdf_scheme_binds_the_room_and_the_salt() {
        let lobby = MessageKeys::new(Kdf::Hkdf, &password(), &Room::default(), 100);
        let ops = MessageKeys::new(Kdf::Hkdf, &password(), &Room::new("ops").unwrap(), 100);
        let salt = Salt([1; 16]);
        let token = lobby.key(&salt).encrypt(b"hi");
        assert_eq!(lobby.key(&salt).decrypt(&token).ok(), Some(b"hi".to_vec()));
        assert!(ops.key(&salt).decrypt(&token).is_err());
        assert!(lobby.key(&Salt([2; 16])).decrypt(&token).is_err());
        assert!(!lobby.expensive());
    }

    /// Known answer, computed once with Python's `cryptography`:
    /// `HKDF(SHA256(), 32, bytes(range(16)), b"tp-unsecured-chat/hkdf-v1/fernet")
    /// .derive(PBKDF2HMAC(SHA256(), 32, b"tp-unsecured-chat/hkdf-v1/room:lobby", 100)
    /// .derive(b"s3cret"))`, URL-safe base64.
    #[test]
    fn the_hkdf_scheme_matches_pythons_cryptography() {
        let master = master_key(&password(), &Room::default(), 100);
        let salt = Salt(std::array::from_fn(|i| i as u8));
        let key = message_key(&master, &salt);
        let encoded = URL_SAFE.encode(key.expose());
        assert_eq!(encoded, "NiHkexesnSb1U9tx7b0D0bMnrFW63isDOtQZNMeYDAw=");
    }
}
