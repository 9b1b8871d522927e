//! A member's own key pair in the signed layer, and the file that keeps it
//! (`--identity FILE`).
//!
//! The file is created on first use, mode 0600, in PKCS#8 PEM (RFC 8410):
//! the format `openssl genpkey -algorithm ed25519` writes and Python's
//! `cryptography` reads, so a key can be made, inspected or brought by
//! other tools. A file that others may read, or that holds no such key, is
//! refused with a clear error rather than used or replaced: it is the
//! member's identity, and a new one means a new fingerprint for everyone
//! who pinned the old.
//!
//! The signing key lives in `ed25519-dalek`'s `SigningKey`, which wipes
//! itself on drop; it has no `Display`, and [`Identity`]'s `Debug` shows
//! only the public fingerprint.
//!
//! **One identity per nick.** Several terminals of one account are several
//! members: with one shared key pair they would be one member under many
//! nicks, and any of them could speak as any other. So each nick has its
//! own default file, named by [`file_name_for`]: a readable prefix cleaned
//! down to ASCII letters and digits (a nick may hold `/`, and some file
//! systems fold case or Unicode forms) and the SHA-256 of the nick in NFC,
//! which keeps two nicks that fold alike apart. The operating system's
//! account stays the trust boundary: every terminal of one account can
//! read every identity file of that account.

use std::fmt;
use std::io;
use std::path::{Path, PathBuf};

use ed25519_dalek::pkcs8::spki::der::pem::LineEnding;
use ed25519_dalek::pkcs8::{DecodePrivateKey, EncodePrivateKey};
use ed25519_dalek::{SECRET_KEY_LENGTH, Signature, Signer, SigningKey};
use rand::TryRngCore;
use rand::rngs::OsRng;
use sha2::{Digest, Sha256};
use unicode_normalization::UnicodeNormalization;
use zeroize::Zeroizing;

use crate::layer::keys::crypto::CryptoError;
use crate::layer::signed_client::member_key::{Fingerprint, MemberKey};
use crate::layer::signed_client::private_file::{self, OTHERS};
use crate::wire::Nick;

/// What every default identity file's name starts with.
pub const FILE_PREFIX: &str = "identity-";
/// Most characters of a nick kept in its file's name.
const READABLE_CHARS: usize = 24;
/// Bytes of the nick's SHA-256 in its file's name (hex: twice as many).
const NAME_HASH_BYTES: usize = 16;

/// The name of `nick`'s default identity file: `identity-`, the nick's
/// ASCII letters and digits in lower case (other characters as `_`, at most
/// 24), `-`, and the first 16 bytes of the SHA-256 of the nick in NFC, in
/// hex: `identity-alice-2bd806c97f0e00af1a1fc3328fa763a9`.
pub fn file_name_for(nick: &Nick) -> String {
    let nfc: String = nick.as_str().nfc().collect();
    let digest = Sha256::digest(nfc.as_bytes());
    let hash: String = digest[..NAME_HASH_BYTES]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    format!("{FILE_PREFIX}{}-{hash}", readable(&nfc))
}

/// A nick as a file name may show it: ASCII letters and digits in lower
/// case, runs of anything else as one `_`, at most [`READABLE_CHARS`].
fn readable(nick: &str) -> String {
    let mut shown = String::new();
    for c in nick.chars() {
        let c = if c.is_ascii_alphanumeric() {
            c.to_ascii_lowercase()
        } else {
            '_'
        };
        if !(c == '_' && shown.ends_with('_')) {
            shown.push(c);
        }
    }
    let shown: String = shown
        .trim_matches('_')
        .chars()
        .take(READABLE_CHARS)
        .collect();
    if shown.is_empty() {
        "nick".to_owned()
    } else {
        shown
    }
}

/// A member's Ed25519 key pair.
pub struct Identity {
    key: SigningKey,
}

/// Whether [`Identity::load_or_create`] found the file or made it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Origin {
    Loaded,
    Created,
}

/// Why an identity file cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum IdentityError {
    #[error("cannot read the identity file {}", .path.display())]
    Read {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("cannot create the identity file {}", .path.display())]
    Create {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error(
        "the identity file {} can be read by others (mode {mode:03o}); it holds your private key: run `chmod 600 {}`",
        .path.display(), .path.display()
    )]
    Exposed { path: PathBuf, mode: u32 },
    #[error(
        "the identity file {} holds no Ed25519 private key (PKCS#8 PEM expected: {reason}); move it away to make a new identity, whose fingerprint others will see change",
        .path.display()
    )]
    Corrupt { path: PathBuf, reason: String },
    #[error(transparent)]
    Random(#[from] CryptoError),
}

impl Identity {
    /// A new key pair from the operating system's CSPRNG.
    pub fn generate() -> Result<Self, CryptoError> {
        let mut seed = Zeroizing::new([0u8; SECRET_KEY_LENGTH]);
        OsRng
            .try_fill_bytes(seed.as_mut())
            .map_err(|e| CryptoError::Random(e.to_string()))?;
        Ok(Self {
            key: SigningKey::from_bytes(&seed),
        })
    }

    /// The identity kept in `path`, made there first if there is none.
    pub fn load_or_create(path: &Path) -> Result<(Self, Origin), IdentityError> {
        if !path.exists() {
            let fresh = Self::generate()?;
            let pem = fresh.to_pem(path)?;
            let created = private_file::create_new(path, pem.as_bytes()).map_err(|source| {
                IdentityError::Create {
                    path: path.to_owned(),
                    source,
                }
            })?;
            if created {
                return Ok((fresh, Origin::Created));
            }
        }
        Self::load(path).map(|identity| (identity, Origin::Loaded))
    }

    /// The identity in `path`, which only its owner may read.
    pub fn load(path: &Path) -> Result<Self, IdentityError> {
        let read = |source| IdentityError::Read {
            path: path.to_owned(),
            source,
        };
        let mode = private_file::mode(path).map_err(read)?;
        if mode & OTHERS != 0 {
            return Err(IdentityError::Exposed {
                path: path.to_owned(),
                mode,
            });
        }
        let bytes = Zeroizing::new(std::fs::read(path).map_err(read)?);
        let corrupt = |reason: String| IdentityError::Corrupt {
            path: path.to_owned(),
            reason,
        };
        let pem = std::str::from_utf8(&bytes).map_err(|_| corrupt("not text".into()))?;
        let key = SigningKey::from_pkcs8_pem(pem).map_err(|e| corrupt(e.to_string()))?;
        Ok(Self { key })
    }

    /// The public half, as the signed layer carries it.
    pub fn public(&self) -> MemberKey {
        self.key.verifying_key().into()
    }

    pub fn fingerprint(&self) -> Fingerprint {
        self.public().fingerprint()
    }

    /// The Ed25519 signature of `message` (deterministic: RFC 8032).
    pub(crate) fn sign(&self, message: &[u8]) -> Signature {
        self.key.sign(message)
    }

    fn to_pem(&self, path: &Path) -> Result<Zeroizing<String>, IdentityError> {
        self.key
            .to_pkcs8_pem(LineEnding::LF)
            .map_err(|e| IdentityError::Create {
                path: path.to_owned(),
                source: io::Error::other(e.to_string()),
            })
    }
}

impl fmt::Debug for Identity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Identity({}, private key <hidden>)", self.fingerprint())
    }
}

#[cfg(test)]
mod tests {
    use std::fs;
    use std::os::unix::fs::PermissionsExt;

    use super::*;

    fn scratch(name: &str) -> PathBuf {
        let folder =
            std::env::temp_dir().join(format!("chat-identity-{}-{name}", std::process::id()));
        let _ = fs::remove_dir_all(&folder);
        folder.join("identity")
    }

    #[test]
    fn an_identity_is_created_private_then_reused() {
        let path = scratch("reuse");
        let (made, origin) = Identity::load_or_create(&path).unwrap();
        assert_eq!(origin, Origin::Created);
        assert_eq!(private_file::mode(&path).unwrap(), 0o600);
        let (again, origin) = Identity::load_or_create(&path).unwrap();
        assert_eq!(origin, Origin::Loaded);
        assert_eq!(made.fingerprint(), again.fingerprint());
        let text = fs::read_to_string(&path).unwrap();
        assert!(text.starts_with("-----BEGIN PRIVATE KEY-----"), "{text}");
        fs::remove_dir_all(path.parent().unwrap()).unwrap();
    }

    #[test]
    fn an_exposed_or_corrupt_file_is_refused_and_left_alone() {
        let path = scratch("refused");
        Identity::load_or_create(&path).unwrap();
        fs::set_permissions(&path, fs::Permissions::from_mode(0o644)).unwrap();
        let err = Identity::load_or_create(&path).unwrap_err().to_string();
        assert!(err.contains("can be read by others (mode 644)"), "{err}");
        fs::write(&path, "not a key").unwrap();
        fs::set_permissions(&path, fs::Permissions::from_mode(0o600)).unwrap();
        let err = Identity::load_or_create(&path).unwrap_err().to_string();
        assert!(err.contains("holds no Ed25519 private key"), "{err}");
        assert_eq!(fs::read_to_string(&path).unwrap(), "not a key");
        fs::remove_dir_all(path.parent().unwrap()).unwrap();
    }

    #[test]
    fn each_nick_has_a_file_of_its_own_named_readably() {
        let name = |nick: &str| file_name_for(&Nick::new(nick).unwrap());
        let alice = name("alice");
        assert!(alice.starts_with("identity-alice-"), "{alice}");
        assert_eq!(alice.len(), "identity-alice-".len() + 32);
        // Case, slashes, lookalikes and accents: distinct files all, each
        // a plain name in one folder.
        let names = [
            alice.clone(),
            name("Alice"),
            name("ALICE"),
            name("a/lice"),
            name("../alice"),
            name("\u{430}lice"),
            name("\u{e9}lodie"),
            name("elodie"),
        ];
        for (i, one) in names.iter().enumerate() {
            assert!(!one.contains('/') && !one.contains(".."), "{one}");
            let plain = |c: char| c.is_ascii_alphanumeric() || c == '-' || c == '_';
            assert!(one.chars().all(plain), "{one}");
            for other in &names[i + 1..] {
                assert_ne!(
                    one.to_lowercase(),
                    other.to_lowercase(),
                    "{one} and {other}"
                );
            }
        }
        assert!(name("a/lice").starts_with("identity-a_lice-"));
        assert!(name("\u{1f980}").starts_with("identity-nick-"));
        let long = "x".repeat(64);
        assert_eq!(name(&long).len(), "identity-".len() + 24 + 1 + 32);
    }

    #[test]
    fn the_private_key_never_prints() {
        let identity = Identity::generate().unwrap();
        let shown = format!("{identity:?}");
        assert!(shown.contains("<hidden>"), "{shown}");
        assert!(shown.contains(&identity.fingerprint().to_string()));
    }
}
