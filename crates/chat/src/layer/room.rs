//! The name of a chat, as the encrypted layers bind messages to it
//! (PROTOCOL.md section 3.3): a message sealed for one room is refused in
//! another, so a frame captured in one chat cannot be replayed into another
//! chat whose members share the password.

use std::fmt;
use std::str::FromStr;

/// The room a client joins when it names none.
pub const DEFAULT_ROOM: &str = "lobby";
/// Longest room name, in characters.
pub const MAX_ROOM_CHARS: usize = 64;

/// A room name: 1 to 64 characters, none of them a control character.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Room(String);

/// Why a room name is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RoomError {
    #[error("room name must not be empty")]
    Empty,
    #[error("room name has {0} characters, at most {MAX_ROOM_CHARS} allowed")]
    TooLong(usize),
    #[error("room name must not contain control characters")]
    Control,
}

impl Room {
    pub fn new(name: impl Into<String>) -> Result<Self, RoomError> {
        let name = name.into();
        let chars = name.chars().count();
        if chars == 0 {
            return Err(RoomError::Empty);
        }
        if chars > MAX_ROOM_CHARS {
            return Err(RoomError::TooLong(chars));
        }
        if name.chars().any(char::is_control) {
            return Err(RoomError::Control);
        }
        Ok(Self(name))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl Default for Room {
    fn default() -> Self {
        Self(DEFAULT_ROOM.to_owned())
    }
}

impl FromStr for Room {
    type Err = RoomError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::new(s)
    }
}

impl fmt::Display for Room {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn room_names_follow_simple_rules() {
        assert_eq!(Room::default().as_str(), "lobby");
        assert_eq!(
            "ops".parse::<Room>().map(|r| r.to_string()),
            Ok("ops".into())
        );
        assert_eq!(Room::new(""), Err(RoomError::Empty));
        assert_eq!(Room::new("a\nb"), Err(RoomError::Control));
        assert_eq!(Room::new("x".repeat(65)), Err(RoomError::TooLong(65)));
    }
}
