//! A member's public key, as the signed layer carries and pins it, and the
//! fingerprint people read aloud to compare one.
//!
//! A key is accepted only if it is a point of the curve that can sign (not
//! of small order: with such a "weak" key, one signature verifies for many
//! messages), and it is parsed once: a receiver keeps the parsed key of
//! every member it pinned, so a message costs one verification, not a
//! point decompression too.
//!
//! Signatures are verified by `ed25519-zebra` under the ZIP-215 rules
//! (RFC 8032's equation, cofactored, with every encoding rule spelled out),
//! by which a signature verifies alone exactly when it verifies in a batch:
//! a receiver that checks a burst at once ([`crate::layer::signed_client`]) judges
//! as one that checks each message alone.

use std::fmt;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use ed25519_dalek::{PUBLIC_KEY_LENGTH, Signature, VerifyingKey};
use ed25519_zebra::{VerificationKey, VerificationKeyBytes};
use sha2::{Digest, Sha256};

/// Bytes of a fingerprint: the first half of the key's SHA-256.
pub const FINGERPRINT_LEN: usize = 16;
/// Hex digits per group of a printed fingerprint.
const FINGERPRINT_GROUP: usize = 4;

/// An Ed25519 public key that can verify signatures.
#[derive(Clone, Copy)]
pub struct MemberKey {
    bytes: [u8; PUBLIC_KEY_LENGTH],
    /// Decompressed once, for every signature it verifies.
    key: VerificationKey,
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
}

impl MemberKey {
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, KeyError> {
        let bytes = <[u8; PUBLIC_KEY_LENGTH]>::try_from(bytes)
            .map_err(|_| KeyError::Length(bytes.len()))?;
        let point = VerifyingKey::from_bytes(&bytes).map_err(|_| KeyError::NotAPoint)?;
        if point.is_weak() {
            return Err(KeyError::Weak);
        }
        let key = VerificationKey::try_from(bytes).map_err(|_| KeyError::NotAPoint)?;
        Ok(Self { bytes, key })
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
        STANDARD.encode(self.bytes)
    }

    pub fn as_bytes(&self) -> &[u8; PUBLIC_KEY_LENGTH] {
        &self.bytes
    }

    pub fn fingerprint(&self) -> Fingerprint {
        Fingerprint::of(self.as_bytes())
    }

    /// Whether `signature` is this key's over `message` (ZIP-215).
    pub fn verifies(&self, message: &[u8], signature: &Signature) -> bool {
        self.key.verify(signature, message).is_ok()
    }

    /// The key as a batch of signatures names it.
    pub(crate) fn for_batch(&self) -> VerificationKeyBytes {
        VerificationKeyBytes::from(self.bytes)
    }
}

impl PartialEq for MemberKey {
    fn eq(&self, other: &Self) -> bool {
        self.bytes == other.bytes
    }
}

impl Eq for MemberKey {}

/// A signing key's public half: always a key that can verify.
impl From<VerifyingKey> for MemberKey {
    fn from(point: VerifyingKey) -> Self {
        let bytes = point.to_bytes();
        match VerificationKey::try_from(bytes) {
            Ok(key) => Self { bytes, key },
            Err(_) => unreachable!("a signing key's public half is a point of the curve"),
        }
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
