//! Where a message's Fernet key comes from: the two key schemes, chosen by
//! `--kdf` (every client of a chat must use the same, as `--iterations`).
//!
//! - **`lab`**, the exercise's scheme (PROTOCOL.md section 3.2): the key is
//!   PBKDF2-HMAC-SHA256(password, message salt, iterations). One expensive
//!   derivation per salt, so per message, on every receiver; and since the
//!   salt is in clear, anyone, without the password, can make every receiver
//!   run PBKDF2 by sending junk under fresh salts.
//! - **`hkdf`**, the fix that scheme needs: one expensive derivation per
//!   chat, room and password, the *master key*, then a cheap key per
//!   message:
//!
//!   ```text
//!   master = PBKDF2-HMAC-SHA256(password,
//!              "tp-unsecured-chat/hkdf-v2/chat:" || chat id (16 bytes) || "/room:" || room,
//!              iterations, 32)
//!   key    = HKDF-SHA256(ikm = master, salt = message salt, info = "tp-unsecured-chat/hkdf-v2/fernet", 32)
//!   ```
//!
//!   Same `{salt, token}` frame. A junk frame then costs a receiver one
//!   HKDF and one HMAC (about two microseconds), whatever the iteration
//!   count, so the iterations can be what slows a guesser down: 600,000 by
//!   default ([`HKDF_DEFAULT_ITERATIONS`]), paid once when the client starts.
//!   And since the room is in the master's salt, a frame from another room
//!   does not even verify.
//!
//! **Why a chat id in the salt.** PBKDF2's salt is what stops a guesser
//! from reusing work: with a salt made of the room name alone, every chat
//! in the default room shares one, so a table of guesses computed once
//! (at 600,000 iterations, per guess) opens every such chat's captured
//! traffic. The [`ChatId`] is 16 random bytes drawn by whoever sets the
//! chat up and handed out with the password (`--chat-id`): nobody can
//! compute anything before the chat exists, and guesses against one chat
//! are worth nothing against another. It is not secret. It is not the
//! server's address either: that differs between `localhost` and
//! `127.0.0.1` for the same chat, and a rogue server, which sets it, could
//! make it the same for every chat it hosts.

use std::fmt;
use std::str::FromStr;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hkdf::Hkdf;
use rand::TryRngCore;
use rand::rngs::OsRng;
use sha2::Sha256;

use crate::layer::keys::crypto::{self, CryptoError, DEFAULT_ITERATIONS, Salt};
use crate::layer::keys::secret::{Password, RawKey};
use crate::layer::room::Room;
use crate::named::named_enum;

/// What the HKDF scheme's master salt starts with, before the chat id.
pub const MASTER_SALT_PREFIX: &[u8] = b"tp-unsecured-chat/hkdf-v2/chat:";
/// What comes between the chat id and the room name in the master salt.
pub const MASTER_SALT_ROOM: &[u8] = b"/room:";
/// HKDF's `info` for a message key.
pub const MESSAGE_KEY_INFO: &[u8] = b"tp-unsecured-chat/hkdf-v2/fernet";
/// PBKDF2 iterations of the HKDF scheme's one derivation, unless told
/// otherwise: today's usual recommendation for PBKDF2-HMAC-SHA256, paid
/// once per client start (about 0.15 s here), not per message.
pub const HKDF_DEFAULT_ITERATIONS: u32 = 600_000;
/// Bytes of a chat id.
pub const CHAT_ID_LEN: usize = 16;

named_enum! {
    /// The key scheme, by name: the value of `--kdf`.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
    pub enum Kdf {
        #[default]
        Lab = "lab", "PBKDF2 per message salt, as the exercise sets it",
        Hkdf = "hkdf", "PBKDF2 once per chat, room and password, then HKDF-SHA256 per message salt",
    }
}

impl Kdf {
    /// The iterations a client uses unless told otherwise: the exercise's
    /// 100 for its scheme, 600,000 for the one that pays them once.
    pub fn default_iterations(self) -> u32 {
        match self {
            Self::Lab => DEFAULT_ITERATIONS,
            Self::Hkdf => HKDF_DEFAULT_ITERATIONS,
        }
    }
}

/// A chat's random id, part of the HKDF scheme's PBKDF2 salt (see the
/// module's doc): 16 bytes, written as 22 characters of URL-safe base64
/// without padding (Python: `secrets.token_urlsafe(16)`).
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct ChatId([u8; CHAT_ID_LEN]);

/// Why text is not a chat id.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "a chat id is 16 bytes in URL-safe base64 without padding (22 characters), as `--kdf hkdf` clients print a fresh one"
)]
pub struct ChatIdError;

impl ChatId {
    /// A fresh one, from the operating system's CSPRNG.
    pub fn generate() -> Result<Self, CryptoError> {
        let mut bytes = [0u8; CHAT_ID_LEN];
        OsRng
            .try_fill_bytes(&mut bytes)
            .map_err(|e| CryptoError::Random(e.to_string()))?;
        Ok(Self(bytes))
    }

    pub fn from_bytes(bytes: [u8; CHAT_ID_LEN]) -> Self {
        Self(bytes)
    }

    pub fn as_bytes(&self) -> &[u8; CHAT_ID_LEN] {
        &self.0
    }
}

impl FromStr for ChatId {
    type Err = ChatIdError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let bytes = URL_SAFE_NO_PAD.decode(text).map_err(|_| ChatIdError)?;
        <[u8; CHAT_ID_LEN]>::try_from(bytes.as_slice())
            .map(Self)
            .map_err(|_| ChatIdError)
    }
}

impl fmt::Display for ChatId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&URL_SAFE_NO_PAD.encode(self.0))
    }
}

impl fmt::Debug for ChatId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ChatId({self})")
    }
}

/// The key scheme a client uses, with what it needs: the scheme of
/// `--kdf`, and for `hkdf` the chat's id, so that no `hkdf` client exists
/// without one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum KeyScheme {
    #[default]
    Lab,
    Hkdf {
        chat: ChatId,
    },
}

impl KeyScheme {
    /// The scheme's name, as `--kdf` says it.
    pub fn kdf(self) -> Kdf {
        match self {
            Self::Lab => Kdf::Lab,
            Self::Hkdf { .. } => Kdf::Hkdf,
        }
    }
}

/// The HKDF scheme's master key for `room` of the chat `chat`: the one
/// expensive derivation.
pub fn master_key(password: &Password, chat: &ChatId, room: &Room, iterations: u32) -> RawKey {
    let mut salt = MASTER_SALT_PREFIX.to_vec();
    salt.extend_from_slice(chat.as_bytes());
    salt.extend_from_slice(MASTER_SALT_ROOM);
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
    pub fn new(scheme: KeyScheme, password: &Password, room: &Room, iterations: u32) -> Self {
        match scheme {
            KeyScheme::Lab => Self::Lab {
                password: password.clone(),
                iterations,
            },
            KeyScheme::Hkdf { chat } => Self::Hkdf {
                master: master_key(password, &chat, room, iterations),
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

    fn hkdf(chat: u8) -> KeyScheme {
        KeyScheme::Hkdf {
            chat: ChatId::from_bytes([chat; CHAT_ID_LEN]),
        }
    }

    #[test]
    fn the_hkdf_scheme_binds_the_chat_the_room_and_the_salt() {
        let lobby = MessageKeys::new(hkdf(1), &password(), &Room::default(), 100);
        let ops = MessageKeys::new(hkdf(1), &password(), &Room::new("ops").unwrap(), 100);
        let other_chat = MessageKeys::new(hkdf(2), &password(), &Room::default(), 100);
        let salt = Salt([1; 16]);
        let token = lobby.key(&salt).encrypt(b"hi");
        assert_eq!(lobby.key(&salt).decrypt(&token).ok(), Some(b"hi".to_vec()));
        assert!(ops.key(&salt).decrypt(&token).is_err());
        assert!(other_chat.key(&salt).decrypt(&token).is_err());
        assert!(lobby.key(&Salt([2; 16])).decrypt(&token).is_err());
        assert!(!lobby.expensive());
    }

    /// Known answer, computed once with Python's `cryptography`, URL-safe
    /// base64 of `HKDF(SHA256(), 32, bytes(range(16)),
    /// b"tp-unsecured-chat/hkdf-v2/fernet").derive(PBKDF2HMAC(SHA256(), 32,
    /// b"tp-unsecured-chat/hkdf-v2/chat:" + bytes(range(16, 32)) +
    /// b"/room:lobby", 100).derive(b"s3cret"))`.
    #[test]
    fn the_hkdf_scheme_matches_pythons_cryptography() {
        let chat: ChatId = "EBESExQVFhcYGRobHB0eHw".parse().unwrap();
        assert_eq!(chat.as_bytes(), &std::array::from_fn(|i| 16 + i as u8));
        let master = master_key(&password(), &chat, &Room::default(), 100);
        let salt = Salt(std::array::from_fn(|i| i as u8));
        let key = message_key(&master, &salt);
        let encoded = URL_SAFE.encode(key.expose());
        assert_eq!(encoded, "fq-ByBZ-6KhYXT_Sw9KAYsV9BGxtbsZzdndRijfunnA=");
    }

    /// The salt a guesser could precompute was the room's alone: the same
    /// for every chat in `lobby`. Two chats now never share it.
    #[test]
    fn two_chats_in_the_same_room_share_no_master_key() {
        let master = |scheme| match MessageKeys::new(scheme, &password(), &Room::default(), 1) {
            MessageKeys::Hkdf { master } => master.expose().to_vec(),
            MessageKeys::Lab { .. } => unreachable!("an hkdf scheme"),
        };
        let (one, two) = (ChatId::generate().unwrap(), ChatId::generate().unwrap());
        assert_ne!(one, two);
        assert_ne!(
            master(KeyScheme::Hkdf { chat: one }),
            master(KeyScheme::Hkdf { chat: two })
        );
    }

    #[test]
    fn a_chat_id_reads_back_as_written_and_nothing_else_reads() {
        let chat = ChatId::generate().unwrap();
        let text = chat.to_string();
        assert_eq!(text.len(), 22, "{text}");
        assert_eq!(text.parse::<ChatId>(), Ok(chat));
        for bad in [
            "",
            "lobby",
            "EBESExQVFhcYGRobHB0eHw==",
            "EBESExQVFhcYGRobHB0e",
            "EBESExQVFhcYGRobHB0eH+",
        ] {
            assert_eq!(bad.parse::<ChatId>(), Err(ChatIdError), "{bad}");
        }
    }

    #[test]
    fn each_scheme_has_its_default_iterations() {
        assert_eq!(Kdf::Lab.default_iterations(), 100);
        assert_eq!(Kdf::Hkdf.default_iterations(), 600_000);
        assert_eq!(hkdf(0).kdf(), Kdf::Hkdf);
    }
}
