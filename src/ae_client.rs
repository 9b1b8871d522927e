//! The AE layer's client side (the lab's AEClient): messages are Fernet
//! tokens under a key derived from a shared password, so the server and
//! anyone listening see only a salt and a token.
//!
//! What AE does not stop, and the lab wants seen: the server can still
//! relabel a message with another nick (the nick is outside the token), replay
//! it, or drop it. `aead_client` answers those.

use crate::crypto::{self, CryptoError, DEFAULT_ITERATIONS, KeyCache, Password, Salt};
use crate::frame::{MessageBody, Nick, Sealed};
use crate::simple_client::{Open, Opened, Rejection, Seal, SealError};
use fernet::Fernet;
use serde_json::value::RawValue;

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

/// The shared secret and how keys are derived from it.
#[derive(Debug, Clone)]
pub struct AeSettings {
    pub password: Password,
    pub iterations: u32,
    pub salt_mode: SaltMode,
    /// Seconds this sender's clock is off by (negative: behind). Zero but
    /// for the lab's TTL experiment.
    pub clock_offset: i64,
}

impl AeSettings {
    pub fn new(password: Password) -> Self {
        Self {
            password,
            iterations: DEFAULT_ITERATIONS,
            salt_mode: SaltMode::PerMessage,
            clock_offset: 0,
        }
    }
}

/// The sending half: text in, `{salt, token}` out.
pub struct AeSealer {
    settings: AeSettings,
    /// The session's salt (base64) and key, in [`SaltMode::PerSession`].
    session: Option<(String, Fernet)>,
}

impl AeSealer {
    pub fn new(settings: AeSettings) -> Self {
        Self {
            settings,
            session: None,
        }
    }

    /// Python's `encrypt_message(password, message) -> (salt, token)`.
    pub fn encrypt_message(&mut self, plaintext: &[u8]) -> Result<Sealed<'static>, CryptoError> {
        let now = crypto::unix_now(self.settings.clock_offset);
        let (salt, key) = self.salt_and_key()?;
        let token = crypto::encrypt_at(&key, plaintext, now);
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
        let key = crypto::derive_key_from_password(
            &self.settings.password,
            &salt,
            self.settings.iterations,
        );
        let fresh = (salt.to_base64(), key);
        if self.settings.salt_mode == SaltMode::PerSession {
            self.session = Some(fresh.clone());
        }
        Ok(fresh)
    }
}

impl Seal for AeSealer {
    fn seal(&mut self, _nick: &Nick, text: &str) -> Result<MessageBody<'static>, SealError> {
        self.encrypt_message(text.as_bytes())
            .map(MessageBody::Sealed)
            .map_err(|e| SealError(e.to_string()))
    }
}

/// The receiving half: `{salt, token}` in, text out, or a rejection.
pub struct AeOpener {
    keys: KeyCache,
}

impl AeOpener {
    pub fn new(settings: &AeSettings) -> Self {
        Self {
            keys: KeyCache::new(settings.password.clone(), settings.iterations),
        }
    }

    /// Python's `decrypt_message(password, token, salt)`: no TTL, as the
    /// lab's AE client.
    pub fn decrypt_message(&mut self, token: &str, salt: &str) -> Result<String, Rejection> {
        let (_, plaintext) = self.keys.open(salt, token)?;
        String::from_utf8(plaintext).map_err(|_| Rejection::from(crypto::DecryptError::NotUtf8))
    }

    /// The derived-key cache, for layers built on this one.
    pub fn keys(&mut self) -> &mut KeyCache {
        &mut self.keys
    }
}

/// Reads `M` as `{salt, token}`; cleartext is refused, not shown.
pub fn sealed_body(message: &RawValue) -> Result<Sealed<'_>, Rejection> {
    match MessageBody::parse(message)? {
        MessageBody::Sealed(sealed) => Ok(sealed),
        MessageBody::Text(_) => Err(Rejection("not encrypted (cleartext refused)".into())),
    }
}

impl Open for AeOpener {
    fn open(&mut self, _nick: &str, message: &RawValue) -> Result<Opened, Rejection> {
        let sealed = sealed_body(message)?;
        self.decrypt_message(&sealed.token, &sealed.salt)
            .map(Opened::text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::simple_client::on_recv;

    fn settings(password: &str) -> AeSettings {
        AeSettings::new(Password::new(password))
    }

    fn frame(nick: &str, sealed: &Sealed<'_>) -> Vec<u8> {
        serde_json::to_vec(&serde_json::json!({"type": "message", "nick": nick, "message": sealed}))
            .unwrap()
    }

    #[test]
    fn a_receiver_with_the_password_reads_the_message() {
        let mut sealer = AeSealer::new(settings("s3cret"));
        let sealed = sealer.encrypt_message(b"hello").unwrap();
        let mut opener = AeOpener::new(&settings("s3cret"));
        assert_eq!(
            on_recv(&mut opener, &frame("alice", &sealed)).to_string(),
            "alice : hello"
        );
    }

    #[test]
    fn a_wrong_password_is_a_rejection_never_garbage() {
        let sealed = AeSealer::new(settings("s3cret"))
            .encrypt_message(b"hello")
            .unwrap();
        let mut opener = AeOpener::new(&settings("guess"));
        assert_eq!(
            on_recv(&mut opener, &frame("alice", &sealed)).to_string(),
            "[rejected] alice: cannot verify: wrong password or altered message"
        );
        let plain = br#"{"type":"message","nick":"eve","message":"hi"}"#;
        assert_eq!(
            on_recv(&mut opener, plain).to_string(),
            "[rejected] eve: not encrypted (cleartext refused)"
        );
    }

    #[test]
    fn session_salts_keep_one_salt_but_fresh_tokens() {
        let mut s = settings("s3cret");
        s.salt_mode = SaltMode::PerSession;
        let mut sealer = AeSealer::new(s);
        let a = sealer.encrypt_message(b"same").unwrap();
        let b = sealer.encrypt_message(b"same").unwrap();
        assert_eq!(a.salt, b.salt);
        assert_ne!(a.token, b.token);
        let mut per_message = AeSealer::new(settings("s3cret"));
        let c = per_message.encrypt_message(b"same").unwrap();
        let d = per_message.encrypt_message(b"same").unwrap();
        assert_ne!(c.salt, d.salt);
    }
}
