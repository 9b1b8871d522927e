//! Nicks: who a frame says it comes from.
//!
//! The Python original took any string, so `alice`, `alice` followed by a
//! zero-width space, and `аlice` with a Cyrillic `а` were three people who
//! look like one. Here a [`Nick`] can only be built valid (PROTOCOL.md
//! section 2), so a handler that holds one never has to check it again:
//!
//! - 1 to [`MAX_NICK_CHARS`] Unicode characters, in NFC form, so one name
//!   has one spelling;
//! - no character of a [`Refused`] category: nothing invisible, nothing
//!   that moves the cursor or reorders the line, nothing unassigned;
//! - no white space at either end, so `alice ` is not a second `alice`.
//!
//! What remains are nicks that differ on screen, or that only a
//! confusables table tells apart: [`Nick::skeleton`] is UTS #39's
//! skeleton, which the chat room compares with the joined nicks.
//!
//! Case stays significant: `alice` and `Alice` are two people, as in the
//! Python original's dictionary of nicks. A capital letter shows on screen,
//! which is the line the skeleton draws: it folds what a reader cannot tell
//! apart (`l` and `I`, `rn` and `m`, Latin and Cyrillic `a`), not what a
//! reader can.
//!
//! Clients apply the same rules to the nicks they receive ([`ClaimedNick`]),
//! since a rogue server sends whatever it likes.

use std::fmt;

use serde::Serialize;
use unicode_normalization::{UnicodeNormalization, is_nfc};
use unicode_properties::{GeneralCategory, UnicodeGeneralCategory};

/// Longest nick, in Unicode characters.
pub const MAX_NICK_CHARS: usize = 64;

/// The kinds of character a nick may not hold, by Unicode general category.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refused {
    /// Cc: C0 and C1 controls (line feed, escape, ...).
    Control,
    /// Cf: invisible characters, zero-width ones and bidirectional
    /// controls among them.
    Format,
    /// Zl and Zp: U+2028 and U+2029, line breaks to some terminals.
    Separator,
    /// Co: private use, whose look no one agrees on.
    PrivateUse,
    /// Cn (and Cs, which no Rust string holds): no meaning yet, maybe a
    /// format character in a later Unicode version.
    Unassigned,
}

impl Refused {
    /// The refused kind `c` is of, if any.
    pub fn of(c: char) -> Option<Self> {
        if c.is_ascii() {
            return c.is_ascii_control().then_some(Self::Control);
        }
        match c.general_category() {
            GeneralCategory::Control => Some(Self::Control),
            GeneralCategory::Format => Some(Self::Format),
            GeneralCategory::LineSeparator | GeneralCategory::ParagraphSeparator => {
                Some(Self::Separator)
            }
            GeneralCategory::PrivateUse => Some(Self::PrivateUse),
            GeneralCategory::Unassigned | GeneralCategory::Surrogate => Some(Self::Unassigned),
            _ => None,
        }
    }

    /// Whether a terminal acts on such a character instead of showing it
    /// (it moves the cursor, breaks the line, reorders or hides text):
    /// what must be escaped wherever peer text is printed.
    pub fn acts_on_terminal(self) -> bool {
        matches!(self, Self::Control | Self::Format | Self::Separator)
    }
}

impl fmt::Display for Refused {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Control => "control characters",
            Self::Format => "format characters (invisible or bidirectional controls)",
            Self::Separator => "line or paragraph separators",
            Self::PrivateUse => "private-use characters",
            Self::Unassigned => "unassigned characters",
        })
    }
}

/// Why a string is not a nick. `Display` is the reason sent in a `ko`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NickError {
    #[error("nick must not be empty")]
    Empty,
    #[error("nick has {chars} characters, at most {MAX_NICK_CHARS} allowed")]
    TooLong { chars: usize },
    #[error("nick must be in Unicode normalization form C (NFC)")]
    NotNfc,
    #[error("nick must not begin or end with white space")]
    SpaceAtEnd,
    #[error("nick must not contain {kind} (found U+{:04X})", u32::from(*.found))]
    Refused { found: char, kind: Refused },
}

/// A chat nick, valid by construction (see the module's rules). The only
/// ways to get one are [`Nick::new`] and, for text a person typed,
/// [`str::parse`].
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(transparent)]
pub struct Nick(String);

impl Nick {
    /// `nick` if it follows every rule, as received: a nick from the
    /// network is never rewritten, so what the server relays is what it
    /// checked.
    pub fn new(nick: impl Into<String>) -> Result<Self, NickError> {
        let nick = nick.into();
        check(&nick)?;
        Ok(Self(nick))
    }

    /// `text` as a nick if it is one, else the text and why not: what a
    /// client makes of a nick it received.
    pub fn claimed(text: impl Into<String>) -> Result<Self, InvalidNick> {
        let text = text.into();
        match check(&text) {
            Ok(()) => Ok(Self(text)),
            Err(why) => Err(InvalidNick { text, why }),
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// UTS #39's confusable skeleton: two nicks with the same skeleton look
    /// alike (`alice`, `аlice` with a Cyrillic `а`, `aIice` with a capital
    /// `I`).
    pub fn skeleton(&self) -> String {
        unicode_security::skeleton(&self.0).collect()
    }
}

/// Checks every rule.
fn check(nick: &str) -> Result<(), NickError> {
    if nick.is_ascii() {
        check_ascii(nick)
    } else {
        check_unicode(nick)
    }
}

/// Checks every rule, cheapest first.
fn check_unicode(nick: &str) -> Result<(), NickError> {
    let chars = nick.chars().count();
    if chars == 0 {
        return Err(NickError::Empty);
    }
    if chars > MAX_NICK_CHARS {
        return Err(NickError::TooLong { chars });
    }
    if let Some((found, kind)) = nick.chars().find_map(|c| Refused::of(c).map(|k| (c, k))) {
        return Err(NickError::Refused { found, kind });
    }
    if nick.starts_with(char::is_whitespace) || nick.ends_with(char::is_whitespace) {
        return Err(NickError::SpaceAtEnd);
    }
    if !is_nfc(nick) {
        return Err(NickError::NotNfc);
    }
    Ok(())
}

/// [`check_unicode`] for an ASCII nick, as nearly every nick is, on every
/// frame a server reads or a client receives: one character a byte, no
/// category but control refused, always in NFC. The same rules, in the same
/// order, without the Unicode tables.
fn check_ascii(nick: &str) -> Result<(), NickError> {
    match nick.len() {
        0 => return Err(NickError::Empty),
        chars if chars > MAX_NICK_CHARS => return Err(NickError::TooLong { chars }),
        _ => {}
    }
    if let Some(found) = nick.chars().find(char::is_ascii_control) {
        let kind = Refused::Control;
        return Err(NickError::Refused { found, kind });
    }
    if nick.starts_with(char::is_whitespace) || nick.ends_with(char::is_whitespace) {
        return Err(NickError::SpaceAtEnd);
    }
    Ok(())
}

impl fmt::Display for Nick {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A nick a person typed (`--nick`, `--evict`): normalised to NFC first,
/// since a keyboard or terminal may send accents decomposed, then checked.
impl std::str::FromStr for Nick {
    type Err = NickError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::new(s.nfc().collect::<String>())
    }
}

impl AsRef<str> for Nick {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

/// Text a frame gives as a nick that no honest server would relay, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InvalidNick {
    pub text: String,
    pub why: NickError,
}

/// The nick a received frame claims, judged by the rules a server applies:
/// a client shows a valid one as is, and anything else as what it is (see
/// `app::display`), never as somebody's name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ClaimedNick {
    Valid(Nick),
    Invalid(InvalidNick),
    /// The frame names no one (it is not a message frame).
    Missing,
}

impl ClaimedNick {
    pub fn check(text: impl Into<String>) -> Self {
        Nick::claimed(text).map_or_else(Self::Invalid, Self::Valid)
    }

    /// The nick, if it is a valid one.
    pub fn valid(&self) -> Option<&Nick> {
        match self {
            Self::Valid(nick) => Some(nick),
            Self::Invalid { .. } | Self::Missing => None,
        }
    }
}

impl From<Nick> for ClaimedNick {
    fn from(nick: Nick) -> Self {
        Self::Valid(nick)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn refused(nick: &str) -> Option<Refused> {
        match Nick::new(nick) {
            Err(NickError::Refused { kind, .. }) => Some(kind),
            _ => None,
        }
    }

    proptest::proptest! {
        #[test]
        fn the_ascii_path_keeps_the_unicode_rules(nick in "[\\x00-\\x7f]{0,70}") {
            proptest::prop_assert_eq!(check_ascii(&nick), check_unicode(&nick));
        }
    }

    #[test]
    fn only_valid_nicks_exist() {
        assert_eq!(Nick::new(""), Err(NickError::Empty));
        assert_eq!(
            Nick::new("a\tb"),
            Err(NickError::Refused {
                found: '\t',
                kind: Refused::Control
            })
        );
        assert_eq!(
            Nick::new("é".repeat(65)),
            Err(NickError::TooLong { chars: 65 })
        );
        assert!(Nick::new("é".repeat(64)).is_ok());
        assert_eq!(Nick::new("alice").unwrap().as_str(), "alice");
        assert!(Nick::new("alice smith").is_ok(), "inner spaces are fine");
        assert!(Nick::new("🦀 crab").is_ok());
    }

    #[test]
    fn refuses_every_invisible_or_layout_changing_category() {
        assert_eq!(refused("ali\u{200b}ce"), Some(Refused::Format));
        assert_eq!(refused("\u{202e}ecila"), Some(Refused::Format));
        assert_eq!(refused("a\u{2066}b"), Some(Refused::Format));
        assert_eq!(refused("a\u{2028}b"), Some(Refused::Separator));
        assert_eq!(refused("a\u{2029}b"), Some(Refused::Separator));
        assert_eq!(refused("a\u{e000}"), Some(Refused::PrivateUse));
        assert_eq!(refused("a\u{0378}"), Some(Refused::Unassigned));
        assert_eq!(refused("a\u{85}b"), Some(Refused::Control));
    }

    #[test]
    fn refuses_white_space_at_either_end_and_blank_nicks() {
        for nick in ["alice ", " alice", "   ", "\u{3000}", "alice\u{a0}"] {
            assert_eq!(Nick::new(nick), Err(NickError::SpaceAtEnd), "{nick:?}");
        }
    }

    #[test]
    fn wants_nfc_from_the_wire_and_normalises_what_a_person_types() {
        let decomposed = "e\u{301}lodie";
        assert_eq!(Nick::new(decomposed), Err(NickError::NotNfc));
        let typed: Nick = decomposed.parse().unwrap();
        assert_eq!(typed.as_str(), "\u{e9}lodie");
    }

    #[test]
    fn lookalikes_share_a_skeleton_and_case_does_not() {
        let skeleton = |s: &str| Nick::new(s).unwrap().skeleton();
        assert_eq!(skeleton("alice"), skeleton("\u{430}lice"));
        assert_eq!(skeleton("alice"), skeleton("alic\u{435}"));
        assert_eq!(skeleton("Alice"), skeleton("AIice"));
        assert_eq!(skeleton("mallory"), skeleton("rnallory"));
        assert_ne!(skeleton("alice"), skeleton("Alice"));
        assert_ne!(skeleton("alice"), skeleton("alicia"));
    }

    #[test]
    fn clients_judge_claimed_nicks_by_the_same_rules() {
        assert_eq!(
            ClaimedNick::check("bob"),
            ClaimedNick::Valid(Nick::new("bob").unwrap())
        );
        let ClaimedNick::Invalid(InvalidNick { text, why }) = ClaimedNick::check("x".repeat(80))
        else {
            panic!("80 characters are not a nick");
        };
        assert_eq!((text.len(), why), (80, NickError::TooLong { chars: 80 }));
    }
}
