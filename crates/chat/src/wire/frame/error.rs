//! Why a frame is refused, as a peer reads it: each [`FrameError`] displays
//! as the one-line reason of a `ko`, and a [`Reason`] is bounded however it
//! is built, so that no answer echoes a whole request back, or grows past a
//! line, whatever the peer sent.

use std::fmt;

use serde::{Serialize, Serializer};

use crate::wire::nick::NickError;

/// Why bytes are not a valid frame. `Display` gives the one-line reason.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FrameError {
    #[error("invalid UTF-8 at byte {at}")]
    InvalidUtf8 { at: usize },
    #[error("{format} nested deeper than {limit} levels")]
    TooDeep { format: &'static str, limit: usize },
    #[error("not {format}: {reason}")]
    Malformed {
        format: &'static str,
        reason: String,
    },
    /// Well-formed, but of a kind this decoder will not build (a pickle
    /// that would import or call code, say).
    #[error("{format} refused: {reason}")]
    Refused {
        format: &'static str,
        reason: String,
    },
    #[error("a request must be a {0} object")]
    NotAnObject(&'static str),
    #[error("missing field `type`")]
    MissingType,
    /// The type, cut to `ECHOED_CHARS`: a reason never echoes a request.
    #[error("unknown request type '{}' (expected join, leave, message or list)", Echo(.0))]
    UnknownType(String),
    #[error("bad field: {0}")]
    BadField(String),
    #[error(transparent)]
    Nick(#[from] NickError),
    #[error("field `message` must be a text string or a {{\"salt\", \"token\"}} object")]
    BadMessage,
    #[error("unknown response status '{}'", Echo(.0))]
    UnknownStatus(String),
}

/// Most characters of a peer's text that a reason quotes.
pub const ECHOED_CHARS: usize = 32;

/// A peer's text quoted in a reason: escaped, and cut to [`ECHOED_CHARS`]
/// characters, so that the reason names what was wrong without carrying it.
pub(super) struct Echo<'a>(pub(super) &'a str);

impl fmt::Display for Echo<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut chars = self.0.chars();
        for c in chars.by_ref().take(ECHOED_CHARS) {
            write!(f, "{}", c.escape_debug())?;
        }
        if chars.next().is_some() {
            f.write_str("...")?;
        }
        Ok(())
    }
}

/// Longest `ko` reason, in characters (PROTOCOL.md section 2).
pub const MAX_REASON_CHARS: usize = 200;

/// What ends a reason that was cut.
const CUT_MARK: &str = "...";

/// The reason of a `ko`: at most [`MAX_REASON_CHARS`] characters. Made only
/// by [`Reason::new`], which cuts a longer text, so no answer, whoever
/// builds it, can echo a whole request or grow past a line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reason(String);

impl Reason {
    /// The first [`MAX_REASON_CHARS`] characters of `text`, ending in `...`
    /// where cut. Formatting stops there: a long text costs no more.
    pub fn new(text: impl fmt::Display) -> Self {
        let mut bounded = Bounded {
            text: String::new(),
            chars: 0,
            cut: false,
        };
        // A write error only means that the bound was reached.
        let _ = fmt::write(&mut bounded, format_args!("{text}"));
        if bounded.cut {
            let keep = MAX_REASON_CHARS - CUT_MARK.chars().count();
            let end = bounded.text.char_indices().nth(keep).map_or(0, |(i, _)| i);
            bounded.text.truncate(end);
            bounded.text.push_str(CUT_MARK);
        }
        Self(bounded.text)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Reason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl AsRef<str> for Reason {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl std::ops::Deref for Reason {
    type Target = str;
    fn deref(&self) -> &str {
        &self.0
    }
}

impl Serialize for Reason {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.0)
    }
}

/// A text sink that takes [`MAX_REASON_CHARS`] characters, then fails.
struct Bounded {
    text: String,
    chars: usize,
    cut: bool,
}

impl fmt::Write for Bounded {
    fn write_str(&mut self, piece: &str) -> fmt::Result {
        for c in piece.chars() {
            if self.chars == MAX_REASON_CHARS {
                self.cut = true;
                return Err(fmt::Error);
            }
            self.text.push(c);
            self.chars += 1;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_reason_is_cut_to_200_characters() {
        assert_eq!(Reason::new("short").as_str(), "short");
        let exact = "é".repeat(MAX_REASON_CHARS);
        assert_eq!(Reason::new(&exact).as_str(), exact);
        let cut = Reason::new("é".repeat(MAX_REASON_CHARS + 1));
        assert_eq!(cut.chars().count(), MAX_REASON_CHARS);
        assert!(cut.ends_with("é..."));
    }

    #[test]
    fn an_echo_names_a_value_without_carrying_it() {
        let long = FrameError::UnknownType("\u{1}".repeat(1000)).to_string();
        assert_eq!(
            long,
            format!(
                "unknown request type '{}...' (expected join, leave, message or list)",
                "\\u{1}".repeat(ECHOED_CHARS)
            )
        );
        assert!(
            FrameError::UnknownType("dance".into())
                .to_string()
                .contains("'dance'")
        );
    }
}
