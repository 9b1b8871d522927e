//! The exercise's dictionaries, as types: one [`Request`] type that clients
//! build and servers parse, the [`Response`], and the [`Broadcast`] a
//! subscriber reads.
//!
//! The Python original passed dictionaries around and trusted their shape.
//! Here every frame, whatever it is, is first read into one [`Envelope`]
//! (the fields any frame of the protocol may carry), with serde, so the same
//! code reads it from whichever serialisation carries it ([`super::codec`]).
//! A request becomes a [`Request`] only if it is one of the four shapes of
//! the protocol with a valid [`Nick`]; anything else is a [`FrameError`]
//! whose `Display` is the one-line reason sent back in a `ko` response.
//!
//! Reading borrows from the frame's bytes where the format allows: a
//! message's text is a slice of the connection's buffer.

use std::borrow::Cow;
use std::fmt;
use std::marker::PhantomData;
use std::net::SocketAddr;

use serde::de::{self, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde::{Deserialize, Serialize, Serializer};

use super::nick::{Nick, NickError};

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
    /// The type, cut to [`ECHOED_CHARS`]: a reason never echoes a request.
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
struct Echo<'a>(&'a str);

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

/// The `message` field `M` of a message frame (PROTOCOL.md section 3).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(untagged)]
pub enum MessageBody<'a> {
    /// Plain layer: the text itself.
    Text(Cow<'a, str>),
    /// Encrypted layers: a salt and a Fernet token.
    Sealed(Sealed<'a>),
}

/// `{"salt": S, "token": T}`: what the AE and AEAD layers put in `M`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Sealed<'a> {
    pub salt: Cow<'a, str>,
    pub token: Cow<'a, str>,
}

impl MessageBody<'_> {
    /// The body with nothing borrowed, to keep past its frame.
    pub fn into_owned(self) -> MessageBody<'static> {
        match self {
            Self::Text(text) => MessageBody::Text(Cow::Owned(text.into_owned())),
            Self::Sealed(s) => MessageBody::Sealed(Sealed {
                salt: Cow::Owned(s.salt.into_owned()),
                token: Cow::Owned(s.token.into_owned()),
            }),
        }
    }
}

/// A request frame: what a client sends and a server parses.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "type", rename_all = "lowercase")]
pub enum Request<'a> {
    /// `subscriber`, a project addition: the address the client's broadcast
    /// connection comes from. The server answers only once that connection
    /// is registered, so the client misses nothing accepted after its join.
    Join {
        nick: Nick,
        #[serde(
            skip_serializing_if = "Option::is_none",
            serialize_with = "address_as_text"
        )]
        subscriber: Option<SocketAddr>,
    },
    Leave {
        nick: Nick,
    },
    Message {
        nick: Nick,
        #[serde(rename = "message")]
        body: MessageBody<'a>,
    },
    List,
}

impl<'a> Request<'a> {
    /// The request an [`Envelope`] holds, if it is one.
    pub fn from_envelope(envelope: Envelope<'a>) -> Result<Self, FrameError> {
        let kind = envelope.kind.as_deref().ok_or(FrameError::MissingType)?;
        match kind {
            "join" => Ok(Self::Join {
                nick: required_nick(envelope.nick)?,
                subscriber: envelope
                    .subscriber
                    .as_deref()
                    .map(parse_address)
                    .transpose()?,
            }),
            "leave" => Ok(Self::Leave {
                nick: required_nick(envelope.nick)?,
            }),
            "message" => {
                let nick = required_nick(envelope.nick)?;
                let field = envelope.message.ok_or_else(|| missing("message"))?;
                let body = field.0.ok_or(FrameError::BadMessage)?;
                Ok(Self::Message { nick, body })
            }
            "list" => Ok(Self::List),
            other => Err(FrameError::UnknownType(other.to_owned())),
        }
    }

    /// The request with nothing borrowed, to keep past its frame.
    pub fn into_owned(self) -> Request<'static> {
        match self {
            Self::Join { nick, subscriber } => Request::Join { nick, subscriber },
            Self::Leave { nick } => Request::Leave { nick },
            Self::Message { nick, body } => Request::Message {
                nick,
                body: body.into_owned(),
            },
            Self::List => Request::List,
        }
    }
}

fn address_as_text<S: Serializer>(addr: &Option<SocketAddr>, s: S) -> Result<S::Ok, S::Error> {
    match addr {
        Some(addr) => s.collect_str(addr),
        None => s.serialize_none(),
    }
}

fn required_nick(nick: Option<Cow<'_, str>>) -> Result<Nick, FrameError> {
    let nick = nick.ok_or_else(|| missing("nick"))?;
    Ok(Nick::new(nick.into_owned())?)
}

/// An `IP:PORT` address, in canonical form (an IPv4-mapped IPv6 address
/// becomes IPv4), so that both ends of a connection name it the same way.
fn parse_address(text: &str) -> Result<SocketAddr, FrameError> {
    text.parse()
        .map(|a: SocketAddr| SocketAddr::new(a.ip().to_canonical(), a.port()))
        .map_err(|_| {
            FrameError::BadField(format!(
                "`subscriber` must be an IP:PORT address, not '{}'",
                Echo(text)
            ))
        })
}

fn missing(field: &str) -> FrameError {
    FrameError::BadField(format!("missing field `{field}`"))
}

/// The server's answer to a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Response {
    /// `{"response":"ok"}`
    Ok,
    /// `{"response":"ko","error":REASON}`
    Ko(Reason),
    /// `{"response":[N1, N2, ...]}`, and `"more":N` when `more` nicks are
    /// joined but left out so that the answer fits on a line.
    Nicks { nicks: Vec<String>, more: usize },
}

impl Response {
    pub fn ko(reason: impl fmt::Display) -> Self {
        Self::Ko(Reason::new(reason))
    }

    /// A list answer with every joined nick in it.
    pub fn nicks(nicks: Vec<String>) -> Self {
        Self::Nicks { nicks, more: 0 }
    }

    /// The response an [`Envelope`] holds, if it is one (client side).
    pub fn from_envelope(envelope: Envelope<'_>) -> Result<Self, FrameError> {
        match envelope.response {
            Some(Status::Word(s)) if s == "ok" => Ok(Self::Ok),
            Some(Status::Word(s)) if s == "ko" => Ok(Self::Ko(reason_of(envelope.error))),
            Some(Status::Word(other)) => Err(FrameError::UnknownStatus(other.into_owned())),
            Some(Status::Nicks(nicks)) => Ok(Self::Nicks {
                nicks,
                more: envelope.more.unwrap_or(0),
            }),
            None => Err(missing("response")),
        }
    }
}

impl Serialize for Response {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        #[derive(Serialize)]
        struct Answer<'r, T: Serialize> {
            response: T,
            #[serde(skip_serializing_if = "Option::is_none")]
            error: Option<&'r Reason>,
            #[serde(skip_serializing_if = "is_zero")]
            more: usize,
        }
        match self {
            Self::Ok => Answer::<&str> {
                response: "ok",
                error: None,
                more: 0,
            }
            .serialize(s),
            Self::Ko(reason) => Answer {
                response: "ko",
                error: Some(reason),
                more: 0,
            }
            .serialize(s),
            Self::Nicks { nicks, more } => NickList { nicks, more: *more }.serialize(s),
        }
    }
}

/// A `list` answer by reference: `{"response": [nicks], "more": M}`, to
/// serialise a prefix of the nicks without copying them.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct NickList<'r> {
    #[serde(rename = "response")]
    pub nicks: &'r [String],
    #[serde(skip_serializing_if = "is_zero")]
    pub more: usize,
}

fn is_zero(n: &usize) -> bool {
    *n == 0
}

fn reason_of(error: Option<Cow<'_, str>>) -> Reason {
    error.map_or_else(|| Reason::new("no reason given"), Reason::new)
}

/// A frame read from the broadcast port.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Broadcast<'a> {
    /// A relayed message frame: who the frame says sent it (a claim, not
    /// checked: a rogue server may put anything there), and its `message`,
    /// or `None` if that field has no shape of the protocol.
    Message {
        nick: Cow<'a, str>,
        body: Option<MessageBody<'a>>,
    },
    /// The server's last words before it closes the connection (too slow,
    /// server full): a `{"response":"ko","error":...}` frame.
    Notice(Reason),
}

impl<'a> Broadcast<'a> {
    /// The broadcast an [`Envelope`] holds, if it is one (subscriber side).
    pub fn from_envelope(envelope: Envelope<'a>) -> Result<Self, FrameError> {
        if matches!(&envelope.response, Some(Status::Word(s)) if s == "ko") {
            return Ok(Self::Notice(reason_of(envelope.error)));
        }
        match envelope.kind.as_deref() {
            Some("message") => Ok(Self::Message {
                nick: envelope.nick.ok_or_else(|| missing("nick"))?,
                body: envelope.message.ok_or_else(|| missing("message"))?.0,
            }),
            Some(other) => Err(FrameError::UnknownType(other.to_owned())),
            None => Err(FrameError::MissingType),
        }
    }
}

/// Every field a frame of the protocol may carry, whichever way it travels:
/// requests (`type`, `nick`, `message`, `subscriber`), responses and notices
/// (`response`, `error`, `more`). Unknown fields are ignored.
#[derive(Debug, Default, Deserialize)]
pub struct Envelope<'a> {
    #[serde(rename = "type", borrow, default)]
    pub kind: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    pub nick: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    pub message: Option<MessageField<'a>>,
    #[serde(borrow, default)]
    pub subscriber: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    pub response: Option<Status<'a>>,
    #[serde(borrow, default)]
    pub error: Option<Cow<'a, str>>,
    #[serde(default)]
    pub more: Option<usize>,
}

/// A response's `response` field: a status word, or the list of nicks.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
pub enum Status<'a> {
    #[serde(borrow)]
    Word(Cow<'a, str>),
    Nicks(Vec<String>),
}

/// The `visit_*` methods of a visitor whose value is an `Option`: `None`
/// for every scalar shape it does not want (the value is consumed).
macro_rules! skip_other_shapes {
    () => {
        fn visit_bool<E: de::Error>(self, _: bool) -> Result<Self::Value, E> {
            Ok(None)
        }
        fn visit_i64<E: de::Error>(self, _: i64) -> Result<Self::Value, E> {
            Ok(None)
        }
        fn visit_u64<E: de::Error>(self, _: u64) -> Result<Self::Value, E> {
            Ok(None)
        }
        fn visit_f64<E: de::Error>(self, _: f64) -> Result<Self::Value, E> {
            Ok(None)
        }
        fn visit_bytes<E: de::Error>(self, _: &[u8]) -> Result<Self::Value, E> {
            Ok(None)
        }
        fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
            Ok(None)
        }
        fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
            Ok(None)
        }
    };
}

/// A frame's `message` field, read whatever its shape: `None` inside if it
/// is neither a string nor a map with string `salt` and `token`. Anything
/// else is skipped without recursion, so a field nested a million levels
/// deep costs a scan, not a stack.
#[derive(Debug)]
pub struct MessageField<'a>(pub Option<MessageBody<'a>>);

impl<'de: 'a, 'a> Deserialize<'de> for MessageField<'a> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(MessageFieldVisitor(PhantomData))
            .map(MessageField)
    }
}

struct MessageFieldVisitor<'a>(PhantomData<&'a ()>);

impl<'de: 'a, 'a> Visitor<'de> for MessageFieldVisitor<'a> {
    type Value = Option<MessageBody<'a>>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a message field")
    }

    fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Self::Value, E> {
        Ok(Some(MessageBody::Text(Cow::Borrowed(v))))
    }

    fn visit_string<E: de::Error>(self, v: String) -> Result<Self::Value, E> {
        Ok(Some(MessageBody::Text(Cow::Owned(v))))
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
        self.visit_string(v.to_owned())
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let (mut salt, mut token) = (None, None);
        while let Some(key) = map.next_key::<Cow<'de, str>>()? {
            match key.as_ref() {
                "salt" => salt = map.next_value::<TextOrSkipped<'a>>()?.0,
                "token" => token = map.next_value::<TextOrSkipped<'a>>()?.0,
                _ => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(salt
            .zip(token)
            .map(|(salt, token)| MessageBody::Sealed(Sealed { salt, token })))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Self::Value, A::Error> {
        skip_seq(seq).map(|()| None)
    }

    skip_other_shapes!();
}

fn skip_seq<'de, A: SeqAccess<'de>>(mut seq: A) -> Result<(), A::Error> {
    while seq.next_element::<IgnoredAny>()?.is_some() {}
    Ok(())
}

/// A string value, or `None` for a value of any other shape (skipped).
struct TextOrSkipped<'a>(Option<Cow<'a, str>>);

impl<'de: 'a, 'a> Deserialize<'de> for TextOrSkipped<'a> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(TextVisitor(PhantomData))
            .map(TextOrSkipped)
    }
}

struct TextVisitor<'a>(PhantomData<&'a ()>);

impl<'de: 'a, 'a> Visitor<'de> for TextVisitor<'a> {
    type Value = Option<Cow<'a, str>>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a string")
    }

    fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Self::Value, E> {
        Ok(Some(Cow::Borrowed(v)))
    }

    fn visit_string<E: de::Error>(self, v: String) -> Result<Self::Value, E> {
        Ok(Some(Cow::Owned(v)))
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
        self.visit_string(v.to_owned())
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
        Ok(None)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Self::Value, A::Error> {
        skip_seq(seq).map(|()| None)
    }

    skip_other_shapes!();
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
