//! The AE layer's client side (the lab's AEClient): messages are Fernet
//! tokens under a key derived from a shared password, so the server and
//! anyone listening see only a salt and a token.
//!
//! What AE does not stop, and the lab wants seen: the server can still
//! relabel a message with another nick (the nick is outside the token), replay
//! it, or drop it. `aead_client` answers those.

use fernet::Fernet;

use crate::layer::clock::{Clock, SystemClock};
use crate::layer::facts::{Facts, Make};
use crate::layer::keys::crypto::{self, CryptoError, Salt};
use crate::layer::keys::kdf::MessageKeys;
use crate::layer::keys::key_cache::KeyCache;
use crate::layer::plaintext::SealedPlaintext;
use crate::layer::settings::{AeSettings, SaltMode};
use crate::layer::{Open, Opened, Rejection, Seal, SealError};
use crate::wire::{MessageBody, Nick, Sealed, ZmqBody};

/// The AE layer, as the library knows it: msgpack on the ZeroMQ wire, as
/// the lab's AEServer.
pub(crate) const FACTS: Facts = Facts {
    title: "AE",
    zmq_body: ZmqBody::Msgpack,
    counters: false,
    make: Make::Keyed {
        sealer: |settings| Ok(Box::new(AeSealer::new(settings))),
        opener: |settings| Box::new(AeOpener::new(settings)),
    },
};

/// The sending half: text in, `{salt, token}` out.
pub struct AeSealer {
    keys: MessageKeys,
    salt_mode: SaltMode,
    clock_offset: i64,
    /// The session's salt (base64) and key, in [`SaltMode::PerSession`].
    session: Option<(String, Fernet)>,
}

impl AeSealer {
    pub fn new(settings: &AeSettings) -> Self {
        Self {
            keys: settings.message_keys(),
            salt_mode: settings.salt_mode,
            clock_offset: settings.clock_offset,
            session: None,
        }
    }

    /// Python's `encrypt_message(password, message) -> (salt, token)`.
    pub fn encrypt_message(&mut self, plaintext: &[u8]) -> Result<Sealed<'static>, CryptoError> {
        self.encrypt_message_at(plaintext, self.now())
    }

    /// The time this sender's tokens carry now: its clock, off by
    /// `clock_offset` in the lab's TTL experiment.
    pub fn now(&self) -> u64 {
        crypto::unix_now(self.clock_offset)
    }

    /// Encrypts into a token dated `unix_time`, for a plaintext that
    /// itself depends on the date (the signed layer signs it).
    pub fn encrypt_message_at(
        &mut self,
        plaintext: &[u8],
        unix_time: u64,
    ) -> Result<Sealed<'static>, CryptoError> {
        let (salt, key) = self.salt_and_key()?;
        let token = crypto::encrypt_at(&key, plaintext, unix_time);
        Ok(Sealed {
            salt: salt.into(),
            token: token.into(),
        })
    }

    fn salt_and_key(&mut self) -> Result<(String, Fernet), CryptoError> {
        if let Some(session) = &self.session {
            return Ok(session.clone());
        }
        let salt = Salt::generate()?;
        let fresh = (salt.to_base64(), self.keys.key(&salt));
        if self.salt_mode == SaltMode::PerSession {
            self.session = Some(fresh.clone());
        }
        Ok(fresh)
    }
}

impl Seal for AeSealer {
    fn seal(&mut self, _nick: &Nick, text: &str) -> Result<MessageBody<'static>, SealError> {
        // BEGIN SOLUTION (step 5: the AE client's message field, the text sealed)
        Ok(MessageBody::Sealed(self.encrypt_message(text.as_bytes())?))
        // END SOLUTION
    }
}

/// The receiving half: `{salt, token}` in, text out, or a rejection.
pub struct AeOpener {
    keys: KeyCache,
    clock: Box<dyn Clock>,
}

impl AeOpener {
    pub fn new(settings: &AeSettings) -> Self {
        Self::with_clock(settings, Box::new(SystemClock::new()))
    }

    /// An opener reading the time (for its derivation budget) from `clock`.
    pub fn with_clock(settings: &AeSettings, clock: Box<dyn Clock>) -> Self {
        Self {
            keys: KeyCache::new(settings.message_keys()),
            clock,
        }
    }

    /// Python's `decrypt_message(password, token, salt)`: no TTL, as the
    /// lab's AE client; `nick` is who the frame says sent it.
    pub fn decrypt_message(
        &mut self,
        nick: &str,
        token: &str,
        salt: &str,
    ) -> Result<Opened, Rejection> {
        let now = self.clock.monotonic();
        let (_, plaintext) = self.keys.open(nick, salt, token, now)?;
        let text = String::from_utf8(plaintext).map_err(|_| crypto::DecryptError::NotUtf8)?;
        Ok(shown_by_ae(text))
    }
}

/// What an AE client shows of a decrypted text. An AEAD client's message
/// (a JSON object with a sealed nick, text and room) is shown as its text,
/// with a note that none of what AEAD seals is checked here, rather than as
/// raw JSON.
fn shown_by_ae(text: String) -> Opened {
    let Ok(sealed) = SealedPlaintext::parse(text.as_bytes()) else {
        return Opened::text(text);
    };
    let note = format!(
        "sealed by an AEAD or signed client (as '{}', for room '{}'); an AE client checks neither, nor the message's age, replays or signature",
        sealed.nick, sealed.room
    );
    Opened {
        warnings: vec![note],
        ..Opened::text(sealed.message.into_owned())
    }
}

/// Reads `M` as `{salt, token}`; cleartext is refused, not shown.
pub fn sealed_body<'m>(body: &'m MessageBody<'_>) -> Result<&'m Sealed<'m>, Rejection> {
    match body {
        MessageBody::Sealed(sealed) => Ok(sealed),
        MessageBody::Text(_) => Err(Rejection::Cleartext),
    }
}

impl Open for AeOpener {
    fn open(&mut self, nick: &str, body: &MessageBody<'_>) -> Result<Opened, Rejection> {
        // BEGIN SOLUTION (step 5: the AE client's on_recv, a message field opened)
        let sealed = sealed_body(body)?;
        self.decrypt_message(nick, &sealed.token, &sealed.salt)
        // END SOLUTION
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::layer::{ChatId, KeyScheme, Password};

    fn settings(password: &str) -> AeSettings {
        AeSettings::new(Password::new(password))
    }

    fn opened(opener: &mut AeOpener, body: &MessageBody<'_>) -> Result<String, String> {
        opener
            .open("alice", body)
            .map(|o| o.text)
            .map_err(|e| e.to_string())
    }

    #[test]
    fn a_receiver_with_the_password_reads_the_message() {
        let mut sealer = AeSealer::new(&settings("s3cret"));
        let body = MessageBody::Sealed(sealer.encrypt_message(b"hello").unwrap());
        let mut opener = AeOpener::new(&settings("s3cret"));
        assert_eq!(opened(&mut opener, &body), Ok("hello".into()));
    }

    #[test]
    fn a_wrong_password_is_a_rejection_never_garbage() {
        let mut sealer = AeSealer::new(&settings("s3cret"));
        let body = MessageBody::Sealed(sealer.encrypt_message(b"hello").unwrap());
        let mut opener = AeOpener::new(&settings("guess"));
        assert_eq!(
            opened(&mut opener, &body),
            Err("cannot verify: wrong password or altered message (or another --kdf or --iterations than the sender's)".into())
        );
        assert_eq!(
            opened(&mut opener, &MessageBody::Text("hi".into())),
            Err("not encrypted (cleartext refused)".into())
        );
    }

    #[test]
    fn session_salts_keep_one_salt_but_fresh_tokens() {
        let mut s = settings("s3cret");
        s.salt_mode = SaltMode::PerSession;
        let mut sealer = AeSealer::new(&s);
        let a = sealer.encrypt_message(b"same").unwrap();
        let b = sealer.encrypt_message(b"same").unwrap();
        assert_eq!(a.salt, b.salt);
        assert_ne!(a.token, b.token);
        let mut per_message = AeSealer::new(&settings("s3cret"));
        let c = per_message.encrypt_message(b"same").unwrap();
        let d = per_message.encrypt_message(b"same").unwrap();
        assert_ne!(c.salt, d.salt);
    }

    // BEGIN SOLUTION ITEMS (step 7: an AEAD plaintext spelled out)
    /// What an AE receiver makes of `plaintext`, sealed by an AE sealer.
    fn ae_reading(plaintext: &[u8]) -> Opened {
        let sealed = AeSealer::new(&settings("s3cret"))
            .encrypt_message(plaintext)
            .unwrap();
        AeOpener::new(&settings("s3cret"))
            .open("bob", &MessageBody::Sealed(sealed))
            .unwrap()
    }
    // END SOLUTION ITEMS

    // BEGIN SOLUTION ITEMS (step 7: an AEAD plaintext spelled out)
    #[test]
    fn an_aead_message_shows_as_its_text_with_a_note() {
        let aead = br#"{"nick":"bob","message":"hi","room":"lobby","seq":0,"session":"x"}"#;
        let opened = ae_reading(aead);
        assert_eq!(opened.text, "hi");
        assert_eq!(
            opened.warnings,
            [
                "sealed by an AEAD or signed client (as 'bob', for room 'lobby'); an AE client checks neither, nor the message's age, replays or signature"
            ]
        );
        // A text that merely looks like JSON is shown as typed.
        let typed = r#"{"nick":"bob"}"#;
        assert_eq!(ae_reading(typed.as_bytes()), Opened::text(typed));
    }
    // END SOLUTION ITEMS

    #[test]
    fn both_key_schemes_round_trip_and_do_not_mix() {
        let mut hkdf = settings("s3cret");
        hkdf.kdf = KeyScheme::Hkdf {
            chat: ChatId::generate().unwrap(),
        };
        let body = MessageBody::Sealed(AeSealer::new(&hkdf).encrypt_message(b"hi").unwrap());
        assert_eq!(opened(&mut AeOpener::new(&hkdf), &body), Ok("hi".into()));
        assert_eq!(
            opened(&mut AeOpener::new(&settings("s3cret")), &body),
            Err("cannot verify: wrong password or altered message (or another --kdf or --iterations than the sender's)".into())
        );
    }
}
