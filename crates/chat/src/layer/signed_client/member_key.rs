//! A member's public key, as the signed layer carries and pins it, and the
//! fingerprint people read aloud to compare one.
//!
//! A key is accepted only if it is a point of the curve that can sign (not
//! of small order: with such a "weak" key, one signature verifies for many
//! messages), canonically encoded (so one point is one key), and it is
//! parsed once: a receiver keeps the parsed key of
//! every member it pinned, so a message costs one verification, not a
//! point decompression too.
//!
//! **One verification rule**: a signature is accepted exactly when
//! `ed25519-dalek`'s `verify_strict` accepts it: RFC 8032's equation
//! without the cofactor, `S` below the group order, `R` and the key not of
//! small order, and the `R` the equation gives encoded byte for byte as the
//! signature's (so a non-canonical encoding of `R` is refused). Ed25519
//! implementations disagree on exactly these edge cases (ZIP-215's
//! cofactored rule accepts small-order and mixed-order points, OpenSSL
//! accepts small-order keys and `R`), and two receivers that disagree on
//! whether a message was signed disagree on what was said. Every signature
//! is checked by this rule on its own, never in a batch: a batch's
//! equation is cofactored or randomised, so it accepts what the rule
//! refuses (docs/PERFORMANCE.md says what that costs).

use std::fmt;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use ed25519_dalek::{PUBLIC_KEY_LENGTH, Signature, VerifyingKey};
use sha2::{Digest, Sha256};

/// Bytes of a fingerprint: the first half of the key's SHA-256.
pub const FINGERPRINT_LEN: usize = 16;
/// Hex digits per group of a printed fingerprint.
const FINGERPRINT_GROUP: usize = 4;

/// An Ed25519 public key that can verify signatures.
#[derive(Clone, Copy)]
pub struct MemberKey {
    /// Its bytes as received, and the point they decompress to, once for
    /// every signature it verifies.
    key: VerifyingKey,
}

/// Why bytes are not a member's key.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeyError {
    #[error("key is not base64")]
    NotBase64,
    #[error("key has {0} bytes, an Ed25519 key has {PUBLIC_KEY_LENGTH}")]
    Length(usize),
    #[error("key is not a point of the curve")]
    NotAPoint,
    #[error("key is of small order (it would verify forged signatures)")]
    Weak,
    #[error("key is not canonically encoded")]
    NonCanonical,
}

impl MemberKey {
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, KeyError> {
        let bytes = <[u8; PUBLIC_KEY_LENGTH]>::try_from(bytes)
            .map_err(|_| KeyError::Length(bytes.len()))?;
        let key = VerifyingKey::from_bytes(&bytes).map_err(|_| KeyError::NotAPoint)?;
        if key.is_weak() {
            return Err(KeyError::Weak);
        }
        // A point has one canonical encoding; others (a y-coordinate of
        // 2^255 - 19 or more) would make one point two keys.
        if key.to_edwards().compress().to_bytes() != bytes {
            return Err(KeyError::NonCanonical);
        }
        Ok(Self { key })
    }

    /// Standard base64 with padding, as the plaintext and the known-members
    /// file carry it.
    pub fn from_base64(encoded: &str) -> Result<Self, KeyError> {
        Self::from_bytes(&Self::bytes_from_base64(encoded)?)
    }

    /// A key's bytes, not yet checked to be a key: a receiver compares them
    /// with the key it pinned before it pays for parsing a new one.
    pub fn bytes_from_base64(encoded: &str) -> Result<[u8; PUBLIC_KEY_LENGTH], KeyError> {
        let bytes = STANDARD.decode(encoded).map_err(|_| KeyError::NotBase64)?;
        <[u8; PUBLIC_KEY_LENGTH]>::try_from(bytes.as_slice())
            .map_err(|_| KeyError::Length(bytes.len()))
    }

    pub fn to_base64(&self) -> String {
        STANDARD.encode(self.as_bytes())
    }

    pub fn as_bytes(&self) -> &[u8; PUBLIC_KEY_LENGTH] {
        self.key.as_bytes()
    }

    pub fn fingerprint(&self) -> Fingerprint {
        Fingerprint::of(self.as_bytes())
    }

    /// Whether `signature` is this key's over `message`, by the one rule
    /// (`verify_strict`, see the module's doc).
    pub fn verifies(&self, message: &[u8], signature: &Signature) -> bool {
        self.key.verify_strict(message, signature).is_ok()
    }
}

impl PartialEq for MemberKey {
    fn eq(&self, other: &Self) -> bool {
        self.as_bytes() == other.as_bytes()
    }
}

impl Eq for MemberKey {}

/// A signing key's public half: always a key that can verify (its secret
/// scalar is clamped, so the key is never of small order).
impl From<VerifyingKey> for MemberKey {
    fn from(key: VerifyingKey) -> Self {
        Self { key }
    }
}

impl fmt::Debug for MemberKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "MemberKey({})", self.fingerprint())
    }
}

/// What people compare to tell keys apart: the first 16 bytes of the key's
/// SHA-256, in hex, in groups of four (`4f1c-9a0e-...`, 39 characters).
/// 128 bits: making a key whose fingerprint matches a given one is out of
/// reach; receivers compare whole keys anyway, the fingerprint is for eyes.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Fingerprint([u8; FINGERPRINT_LEN]);

impl Fingerprint {
    pub fn of(key: &[u8]) -> Self {
        let digest = Sha256::digest(key);
        let mut short = [0u8; FINGERPRINT_LEN];
        short.copy_from_slice(&digest[..FINGERPRINT_LEN]);
        Self(short)
    }
}

impl fmt::Display for Fingerprint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let hex: String = self.0.iter().map(|b| format!("{b:02x}")).collect();
        for (i, group) in hex.as_bytes().chunks(FINGERPRINT_GROUP).enumerate() {
            if i > 0 {
                f.write_str("-")?;
            }
            f.write_str(std::str::from_utf8(group).map_err(|_| fmt::Error)?)?;
        }
        Ok(())
    }
}

impl fmt::Debug for Fingerprint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Fingerprint({self})")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ed25519_dalek::SigningKey;

    fn key(seed: u8) -> MemberKey {
        SigningKey::from_bytes(&[seed; 32]).verifying_key().into()
    }

    #[test]
    fn a_key_round_trips_through_base64_and_prints_its_fingerprint() {
        let alice = key(1);
        assert_eq!(MemberKey::from_base64(&alice.to_base64()), Ok(alice));
        let shown = alice.fingerprint().to_string();
        assert_eq!(shown.len(), 39, "{shown}");
        assert_eq!(shown.matches('-').count(), 7, "{shown}");
        assert_ne!(shown, key(2).fingerprint().to_string());
    }

    #[test]
    fn what_is_not_a_usable_key_is_refused() {
        assert_eq!(MemberKey::from_base64("%%"), Err(KeyError::NotBase64));
        assert_eq!(MemberKey::from_bytes(&[1; 31]), Err(KeyError::Length(31)));
        // The identity point, encoded: of order 1.
        let mut identity = [0u8; 32];
        identity[0] = 1;
        assert_eq!(MemberKey::from_bytes(&identity), Err(KeyError::Weak));
    }

    #[test]
    fn the_fingerprint_is_the_start_of_the_keys_sha256() {
        // SHA-256 of 32 zero bytes starts 66687aadf862bd776c8fc18b8e9f8e20.
        assert_eq!(
            Fingerprint::of(&[0; 32]).to_string(),
            "6668-7aad-f862-bd77-6c8f-c18b-8e9f-8e20"
        );
    }
}
