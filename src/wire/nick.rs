//! Nicks: who a frame says it comes from.
//!
//! The Python original took any string. Here a [`Nick`] can only be built
//! valid, so a handler that holds one never has to check it again.

use std::fmt;

use serde::Serialize;

/// Longest nick, in Unicode characters.
pub const MAX_NICK_CHARS: usize = 64;

/// Why a string is not a nick. `Display` is the reason sent in a `ko`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NickError {
    #[error("nick must not be empty")]
    Empty,
    #[error("nick has {chars} characters, at most {MAX_NICK_CHARS} allowed")]
    TooLong { chars: usize },
    #[error("nick must not contain control characters")]
    ControlCharacter,
}

/// A chat nick: 1 to [`MAX_NICK_CHARS`] Unicode characters, none of them a
/// control character. The only way to get one is [`Nick::new`].
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(transparent)]
pub struct Nick(String);

impl Nick {
    pub fn new(nick: impl Into<String>) -> Result<Self, NickError> {
        let nick = nick.into();
        let chars = nick.chars().count();
        if chars == 0 {
            return Err(NickError::Empty);
        }
        if chars > MAX_NICK_CHARS {
            return Err(NickError::TooLong { chars });
        }
        if nick.chars().any(char::is_control) {
            return Err(NickError::ControlCharacter);
        }
        Ok(Self(nick))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Nick {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::str::FromStr for Nick {
    type Err = NickError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::new(s)
    }
}

impl AsRef<str> for Nick {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_valid_nicks_exist() {
        assert_eq!(Nick::new(""), Err(NickError::Empty));
        assert_eq!(Nick::new("a\tb"), Err(NickError::ControlCharacter));
        assert_eq!(
            Nick::new("é".repeat(65)),
            Err(NickError::TooLong { chars: 65 })
        );
        assert!(Nick::new("é".repeat(64)).is_ok());
        assert_eq!(Nick::new("alice").unwrap().as_str(), "alice");
    }
}
