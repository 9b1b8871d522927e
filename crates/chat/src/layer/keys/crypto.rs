//! The lab's encryption scheme, with the original's function names:
//! [`derive_key_from_password`], [`encrypt_message`], [`decrypt_message`].
//!
//! The key is PBKDF2-HMAC-SHA256(password, salt, iterations), 32 bytes; the
//! salt is 16 bytes from the OS CSPRNG, fresh per message, sent in clear as
//! standard base64; the message is a Fernet token under that key. This is
//! byte for byte what Python's `cryptography` does in the lab, so frames
//! interoperate both ways.
//!
//! Tokens are parsed here before the `fernet` crate sees them, for two
//! reasons: errors are typed (a malformed token is not a wrong password),
//! and the crate adds a token's timestamp to the TTL without checking for
//! overflow, so a forged timestamp near `u64::MAX` must never reach it with a
//! TTL. The crate verifies the MAC and decrypts; the time checks are ours.

use std::time::{SystemTime, UNIX_EPOCH};

use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE, URL_SAFE_NO_PAD};
use fernet::Fernet;
use rand::TryRngCore;
use rand::rngs::OsRng;

use crate::layer::keys::secret::RawKey;
use sha2::Sha256;
use zeroize::Zeroizing;

pub use crate::layer::keys::secret::{KEY_LEN, Password};

/// PBKDF2 iterations, as the exercise sets them.
pub const DEFAULT_ITERATIONS: u32 = 100;
/// Salt length in bytes.
pub const SALT_LEN: usize = 16;
/// How far in the future a token's timestamp may be (the Fernet spec's bound).
pub const MAX_CLOCK_SKEW_SECS: u64 = 60;

const TOKEN_VERSION: u8 = 0x80;
const TIMESTAMP_LEN: usize = 8;
const IV_LEN: usize = 16;
/// Length of a token's HMAC-SHA256.
pub const MAC_LEN: usize = 32;
const BLOCK_LEN: usize = 16;
/// Version, timestamp, IV and MAC around the ciphertext.
const OVERHEAD: usize = 1 + TIMESTAMP_LEN + IV_LEN + MAC_LEN;

/// A 16-byte PBKDF2 salt.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Salt(pub [u8; SALT_LEN]);

impl Salt {
    /// A fresh salt from the operating system's CSPRNG (Python's `os.urandom(16)`).
    pub fn generate() -> Result<Self, CryptoError> {
        let mut salt = [0u8; SALT_LEN];
        OsRng
            .try_fill_bytes(&mut salt)
            .map_err(|e| CryptoError::Random(e.to_string()))?;
        Ok(Self(salt))
    }

    /// Standard base64 with padding, as sent in the frame.
    pub fn to_base64(&self) -> String {
        STANDARD.encode(self.0)
    }

    pub fn from_base64(encoded: &str) -> Result<Self, DecryptError> {
        let bytes = STANDARD
            .decode(encoded)
            .map_err(|e| DecryptError::MalformedSalt(format!("not base64 ({e})")))?;
        let salt = <[u8; SALT_LEN]>::try_from(bytes.as_slice()).map_err(|_| {
            DecryptError::MalformedSalt(format!("{} bytes, expected {SALT_LEN}", bytes.len()))
        })?;
        Ok(Self(salt))
    }
}

/// A failure on the sending side.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CryptoError {
    #[error("the OS random generator failed: {0}")]
    Random(String),
}

/// Why a received message cannot be trusted. `Display` is the reason a
/// client prints after `[rejected] NICK: `.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecryptError {
    /// The MAC does not verify (or, with a valid MAC, the padding is bad):
    /// the password differs, or someone altered the salt or the token, or
    /// the sender derives its keys otherwise (another `--kdf` or
    /// `--iterations`): the receiver cannot tell which, and does not try a
    /// second derivation to find out (that would double what a salt flood
    /// costs it), so it names them all.
    #[error(
        "cannot verify: wrong password or altered message (or another --kdf or --iterations than the sender's)"
    )]
    WrongKeyOrAltered,
    #[error("malformed salt: {0}")]
    MalformedSalt(String),
    #[error("malformed token: {0}")]
    MalformedToken(&'static str),
    #[error("decrypted text is not UTF-8")]
    NotUtf8,
    /// Older than the TTL.
    #[error("expired: sent {age} s ago, TTL is {ttl} s")]
    Expired { age: u64, ttl: u64 },
    /// Further in the future than [`MAX_CLOCK_SKEW_SECS`].
    #[error("timestamp {ahead} s in the future (more than {MAX_CLOCK_SKEW_SECS} s of clock skew)")]
    FromTheFuture { ahead: u64 },
}

/// PBKDF2-HMAC-SHA256, filling `out` whatever its length. Public so that
/// the derivation can be checked against published known answers (RFC 7914
/// section 11 gives a 64-byte one), which a 32-byte Fernet key cannot show.
pub fn pbkdf2_hmac_sha256(password: &[u8], salt: &[u8], iterations: u32, out: &mut [u8]) {
    // BEGIN SOLUTION (step 5: PBKDF2-HMAC-SHA256, through the pbkdf2 and sha2 crates)
    pbkdf2::pbkdf2_hmac::<Sha256>(password, salt, iterations, out);
    // END SOLUTION
}

/// PBKDF2-HMAC-SHA256 of the password and salt: the 32-byte key, ready as
/// a Fernet key. Python: `derive_key_from_password(password, salt)`.
pub fn derive_key_from_password(password: &Password, salt: &Salt, iterations: u32) -> Fernet {
    // BEGIN SOLUTION (step 5: derive_key_from_password, the password and the salt made a key)
    let derived = RawKey::derive_with(|key| {
        pbkdf2_hmac_sha256(password.expose(), &salt.0, iterations, key);
    });
    fernet_key(&derived)
    // END SOLUTION
}

/// A Fernet instance for 32 raw key bytes (the crate wipes its copy on
/// drop; the encoded form is wiped here).
pub(crate) fn fernet_key(raw: &RawKey) -> Fernet {
    // BEGIN SOLUTION (step 5: 32 raw bytes made a Fernet key, in the spec's format)
    // The crate takes keys in their spec format, URL-safe base64; 32 bytes
    // always make a valid key.
    let encoded = Zeroizing::new(URL_SAFE.encode(raw.expose()));
    match Fernet::new(&encoded) {
        Some(key) => key,
        None => unreachable!("32 bytes always form a Fernet key"),
    }
    // END SOLUTION
}

/// A Fernet key given in the spec's format (URL-safe base64 of 32 bytes).
pub fn fernet_key_from_base64(key: &str) -> Option<Fernet> {
    Fernet::new(key)
}

/// Encrypts with a fresh salt. Python: `encrypt_message(password, message)
/// -> (salt, token)`.
pub fn encrypt_message(
    password: &Password,
    message: &[u8],
    iterations: u32,
) -> Result<(Salt, String), CryptoError> {
    // BEGIN SOLUTION (step 5: encrypt_message, a fresh salt and a Fernet token)
    let salt = Salt::generate()?;
    let key = derive_key_from_password(password, &salt, iterations);
    Ok((salt, key.encrypt(message)))
    // END SOLUTION
}

/// Encrypts with `key` as if the clock read `unix_time` (a sender whose
/// clock is off, in the lab's TTL experiment).
pub fn encrypt_at(key: &Fernet, message: &[u8], unix_time: u64) -> String {
    key.encrypt_at_time(message, unix_time)
}

/// Decrypts the AE layer's `M`: no time check, as the lab's AE client
/// (Python's `Fernet.decrypt` without a TTL). Python:
/// `decrypt_message(password, token, salt)`.
pub fn decrypt_message(
    password: &Password,
    token: &str,
    salt: &str,
    iterations: u32,
) -> Result<String, DecryptError> {
    // BEGIN SOLUTION (step 5: decrypt_message, the token opened with the key of its salt)
    let salt = Salt::from_base64(salt)?;
    let key = derive_key_from_password(password, &salt, iterations);
    let (_, plaintext) = open_token(&key, token)?;
    String::from_utf8(plaintext).map_err(|_| DecryptError::NotUtf8)
    // END SOLUTION
}

/// What a token's clear header says, read before anything is verified.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TokenInfo {
    /// Seconds since the Unix epoch, as the sender's clock read them.
    pub timestamp: u64,
    /// The token's HMAC: unique per token, so a replay guard can key on it.
    pub mac: [u8; MAC_LEN],
}

/// Checks a token's structure and reads its header, without a key.
pub fn inspect_token(token: &str) -> Result<TokenInfo, DecryptError> {
    // As the crate and Python: URL-safe alphabet, padding optional.
    let bytes = URL_SAFE_NO_PAD
        .decode(token.trim_end_matches('='))
        .map_err(|_| DecryptError::MalformedToken("not URL-safe base64"))?;
    if bytes.first() != Some(&TOKEN_VERSION) {
        return Err(DecryptError::MalformedToken("unknown version"));
    }
    if bytes.len() < OVERHEAD + BLOCK_LEN {
        return Err(DecryptError::MalformedToken("too short"));
    }
    if (bytes.len() - OVERHEAD) % BLOCK_LEN != 0 {
        return Err(DecryptError::MalformedToken(
            "ciphertext is not a whole number of blocks",
        ));
    }
    let mut timestamp = [0u8; TIMESTAMP_LEN];
    timestamp.copy_from_slice(&bytes[1..1 + TIMESTAMP_LEN]);
    let mut mac = [0u8; MAC_LEN];
    mac.copy_from_slice(&bytes[bytes.len() - MAC_LEN..]);
    Ok(TokenInfo {
        timestamp: u64::from_be_bytes(timestamp),
        mac,
    })
}

/// Verifies a token's MAC and decrypts it, without judging its age.
pub fn open_token(key: &Fernet, token: &str) -> Result<(TokenInfo, Vec<u8>), DecryptError> {
    let info = inspect_token(token)?;
    verify_and_decrypt(key, token, info)
}

/// The crate's part of [`open_token`], for a token already inspected.
pub(crate) fn verify_and_decrypt(
    key: &Fernet,
    token: &str,
    info: TokenInfo,
) -> Result<(TokenInfo, Vec<u8>), DecryptError> {
    // Asking the crate to decrypt "at" the token's own time disables its
    // clock-skew check; capping that time keeps the crate's own `time + 60`
    // from overflowing on a forged timestamp.
    let at = info.timestamp.min(u64::MAX - MAX_CLOCK_SKEW_SECS);
    let plaintext = key
        .decrypt_at_time(token, None, at)
        .map_err(|_| DecryptError::WrongKeyOrAltered)?;
    Ok((info, plaintext))
}

/// Judges a verified token's age at `now`: refused if older than `ttl`
/// seconds or more than [`MAX_CLOCK_SKEW_SECS`] ahead.
pub fn check_freshness(timestamp: u64, now: u64, ttl: u64) -> Result<(), DecryptError> {
    // BEGIN SOLUTION (step 8: the TTL, a token judged by its age and by how far ahead it is dated)
    let ahead = timestamp.saturating_sub(now);
    if ahead > MAX_CLOCK_SKEW_SECS {
        return Err(DecryptError::FromTheFuture { ahead });
    }
    let age = now.saturating_sub(timestamp);
    if age > ttl {
        return Err(DecryptError::Expired { age, ttl });
    }
    Ok(())
    // END SOLUTION
}

/// Decrypts a token as the Fernet spec's test vectors define it: at time
/// `now`, with a TTL.
pub fn decrypt_at(key: &Fernet, token: &str, now: u64, ttl: u64) -> Result<Vec<u8>, DecryptError> {
    let (info, plaintext) = open_token(key, token)?;
    check_freshness(info.timestamp, now, ttl)?;
    Ok(plaintext)
}

/// Seconds since the Unix epoch, shifted by `offset` (negative: behind).
pub fn unix_now(offset: i64) -> u64 {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    now.saturating_add_signed(offset)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn password() -> Password {
        Password::new("correct horse")
    }

    #[test]
    fn round_trips_with_a_fresh_salt_each_time() {
        let (salt1, token1) = encrypt_message(&password(), b"hello", DEFAULT_ITERATIONS).unwrap();
        let (salt2, _) = encrypt_message(&password(), b"hello", DEFAULT_ITERATIONS).unwrap();
        assert_ne!(salt1, salt2);
        let text = decrypt_message(&password(), &token1, &salt1.to_base64(), DEFAULT_ITERATIONS);
        assert_eq!(text.as_deref(), Ok("hello"));
    }

    #[test]
    fn types_every_failure() {
        let (salt, token) = encrypt_message(&password(), b"hello", DEFAULT_ITERATIONS).unwrap();
        let salt = salt.to_base64();
        let wrong = decrypt_message(&Password::new("wrong"), &token, &salt, DEFAULT_ITERATIONS);
        assert_eq!(wrong, Err(DecryptError::WrongKeyOrAltered));
        let other_salt = Salt::generate().unwrap().to_base64();
        let altered = decrypt_message(&password(), &token, &other_salt, DEFAULT_ITERATIONS);
        assert_eq!(altered, Err(DecryptError::WrongKeyOrAltered));
        assert!(matches!(
            decrypt_message(&password(), &token, "***", DEFAULT_ITERATIONS),
            Err(DecryptError::MalformedSalt(_))
        ));
        assert!(matches!(
            decrypt_message(&password(), &token, "c2hvcnQ=", DEFAULT_ITERATIONS),
            Err(DecryptError::MalformedSalt(_))
        ));
        assert_eq!(
            decrypt_message(&password(), "gAAAAA", &salt, DEFAULT_ITERATIONS),
            Err(DecryptError::MalformedToken("too short"))
        );
    }

    #[test]
    fn a_forged_timestamp_near_the_end_of_time_is_refused_without_panicking() {
        let key = derive_key_from_password(&password(), &Salt([7; SALT_LEN]), 1);
        let token = encrypt_at(&key, b"x", u64::MAX);
        assert_eq!(open_token(&key, &token).map(|(_, p)| p), Ok(b"x".to_vec()));
        assert_eq!(
            decrypt_at(&key, &token, 1_000, 30),
            Err(DecryptError::FromTheFuture {
                ahead: u64::MAX - 1_000
            })
        );
    }

    #[test]
    fn judges_age_at_the_edges() {
        assert_eq!(check_freshness(100, 130, 30), Ok(()));
        assert_eq!(
            check_freshness(100, 131, 30),
            Err(DecryptError::Expired { age: 31, ttl: 30 })
        );
        assert_eq!(check_freshness(160, 100, 30), Ok(()));
        assert_eq!(
            check_freshness(161, 100, 30),
            Err(DecryptError::FromTheFuture { ahead: 61 })
        );
    }

    #[test]
    fn passwords_do_not_leak_through_debug() {
        assert_eq!(format!("{:?}", password()), "Password(<hidden>)");
    }
}
