//! The secrets a client holds: the shared password and the keys derived
//! from it. Both live in types that never print (their `Debug` says
//! `<hidden>`, and they have no `Display`) and whose memory is wiped when
//! they are dropped (`secrecy` and `zeroize`), so a password cannot reach a
//! log, a panic message or a core dump by way of our own values.
//!
//! What this cannot wipe, and docs/ANSWERS.md says so: the process's
//! arguments (`--password` is in `/proc/PID/cmdline` for as long as the
//! client runs, hence the warning), the environment (`CHAT_PASSWORD`), the
//! standard library's stdin buffer, and the intermediate states that the
//! `pbkdf2`, `hkdf` and `fernet` crates keep on their own stacks.

use std::convert::Infallible;
use std::fmt;
use std::str::FromStr;

use secrecy::{ExposeSecret, SecretString};
use zeroize::Zeroizing;

/// Bytes of a raw key: a derived key, a master key.
pub const KEY_LEN: usize = 32;

/// A shared password: hidden from `Debug`, wiped on drop.
#[derive(Clone)]
pub struct Password(SecretString);

impl Password {
    pub fn new(password: impl Into<String>) -> Self {
        Self(SecretString::from(password.into()))
    }

    /// The password's bytes, for a key derivation only.
    pub(crate) fn expose(&self) -> &[u8] {
        self.0.expose_secret().as_bytes()
    }

    pub fn is_empty(&self) -> bool {
        self.0.expose_secret().is_empty()
    }
}

impl From<Zeroizing<String>> for Password {
    /// Takes a password read into a wiped buffer; the copy kept is wiped too.
    fn from(read: Zeroizing<String>) -> Self {
        Self::new(read.as_str())
    }
}

/// For clap: `--password` parses into a `Password` straight away, so the
/// flags' `Debug` never shows it.
impl FromStr for Password {
    type Err = Infallible;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(Self::new(s))
    }
}

impl fmt::Debug for Password {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Password(<hidden>)")
    }
}

/// 32 raw key bytes, wiped on drop, never printed.
#[derive(Clone)]
pub struct RawKey(Zeroizing<[u8; KEY_LEN]>);

impl RawKey {
    /// A key filled in place by `derive`, so the bytes never sit in an
    /// unwiped buffer of ours.
    pub fn derive_with(derive: impl FnOnce(&mut [u8; KEY_LEN])) -> Self {
        let mut key = Zeroizing::new([0u8; KEY_LEN]);
        derive(&mut key);
        Self(key)
    }

    pub(crate) fn expose(&self) -> &[u8; KEY_LEN] {
        &self.0
    }
}

impl fmt::Debug for RawKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("RawKey(<hidden>)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_never_print() {
        let password: Password = "correct horse".parse().unwrap();
        assert_eq!(format!("{password:?}"), "Password(<hidden>)");
        let key = RawKey::derive_with(|k| k.fill(0xAB));
        assert_eq!(format!("{key:?}"), "RawKey(<hidden>)");
        assert_eq!(key.expose()[0], 0xAB);
        assert_eq!(password.expose(), b"correct horse");
    }
}
