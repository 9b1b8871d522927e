//! The exercise's dictionaries, as types: one [`Request`] type that clients
//! build and servers parse, the [`Response`], and the [`Broadcast`] a
//! subscriber reads.
//!
//! The Python original passed dictionaries around and trusted their shape.
//! Here every frame, whatever it is, is first read into one [`Envelope`]
//! (the fields any frame of the protocol may carry), with serde, so the same
//! code reads it from whichever serialisation carries it (the codec's).
//! A request becomes a [`Request`] only if it is one of the four shapes of
//! the protocol with a valid [`Nick`]; anything else is a [`FrameError`]
//! whose `Display` is the one-line reason sent back in a `ko` response.
//!
//! Reading borrows from the frame's bytes where the format allows: a
//! message's text is a slice of the connection's buffer.
//!
//! The envelope and the field readers serde needs for it are `envelope`;
//! why a frame is refused, and the bounded reason a `ko` carries, `error`.

use std::borrow::Cow;
use std::fmt;
use std::net::SocketAddr;

use serde::{Serialize, Serializer};

use super::nick::Nick;

mod envelope;
mod error;

pub use envelope::{Envelope, Status};
pub use error::{FrameError, MAX_REASON_CHARS, Reason};

use error::Echo;

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
    /// The request an `Envelope` holds, if it is one.
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

    /// The response an `Envelope` holds, if it is one (client side).
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
    /// The broadcast an `Envelope` holds, if it is one (subscriber side).
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
