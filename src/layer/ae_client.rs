//! The AE layer's client side (the lab's AEClient): messages are Fernet
//! tokens under a key derived from a shared password, so the server and
//! anyone listening see only a salt and a token.
//!
//! What AE does not stop, and the lab wants seen: the server can still
//! relabel a message with another nick (the nick is outside the token), replay
//! it, or drop it. `aead_client` answers those.

use fernet::Fernet;

use super::crypto::{self, CryptoError, DEFAULT_ITERATIONS, KeyCache, Password, Salt};
use super::{Open, Opened, Rejection, Seal, SealError};
use crate::wire::{MessageBody, Nick, Sealed};

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

/// The shared secret, how keys are derived from it, and how the encrypted
/// layers judge time.
#[derive(Debug, Clone)]
pub struct AeSettings {
    pub password: Password,
    pub iterations: u32,
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
            salt_mode: SaltMode::PerMessage,
            clock_offset: 0,
            ttl: DEFAULT_TTL_SECS,
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
        Ok(MessageBody::Sealed(self.encrypt_message(text.as_bytes())?))
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
        String::from_utf8(plaintext).map_err(|_| crypto::DecryptError::NotUtf8.into())
    }

    /// The derived-key cache, for layers built on this one.
    pub fn keys(&mut self) -> &mut KeyCache {
        &mut self.keys
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
    fn open(&mut self, _nick: &str, body: &MessageBody<'_>) -> Result<Opened, Rejection> {
        let sealed = sealed_body(body)?;
        self.decrypt_message(&sealed.token, &sealed.salt)
            .map(Opened::text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
        let mut sealer = AeSealer::new(settings("s3cret"));
        let body = MessageBody::Sealed(sealer.encrypt_message(b"hello").unwrap());
        let mut opener = AeOpener::new(&settings("s3cret"));
        assert_eq!(opened(&mut opener, &body), Ok("hello".into()));
    }

    #[test]
    fn a_wrong_password_is_a_rejection_never_garbage() {
        let mut sealer = AeSealer::new(settings("s3cret"));
        let body = MessageBody::Sealed(sealer.encrypt_message(b"hello").unwrap());
        let mut opener = AeOpener::new(&settings("guess"));
        assert_eq!(
            opened(&mut opener, &body),
            Err("cannot verify: wrong password or altered message".into())
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
