//! The chat client, as Python's `SimpleClient`: `join`, `leave`,
//! `message(text)`, `list`, and `on_recv` for each broadcast line.
//!
//! Python's `AEClient(SimpleClient)` overrode `message` and `on_recv` to add
//! encryption. Here the client is composed with a security layer instead: a
//! [`Seal`] that turns text into the `message` field on the way out, and an
//! [`Open`] that turns a received `message` field back into text, or rejects
//! it. The plain layer ([`Plain`]) is the identity; `ae_client` and
//! `aead_client` provide the others. The client's logic is written once.

use std::fmt;
use std::fmt::Write as _;
use std::net::SocketAddr;

use serde_json::value::RawValue;

use crate::base_client::{ClientError, RequestChannel};
use crate::frame::{BroadcastLine, MessageBody, Nick, OutgoingRequest, Response};

/// The sending half of a security layer (Python's `encrypt_message` side).
pub trait Seal: Send {
    /// The `message` field for `text`, sent by `nick`.
    fn seal(&mut self, nick: &Nick, text: &str) -> Result<MessageBody<'static>, SealError>;
}

/// The receiving half of a security layer (Python's `decrypt_message` side).
/// It owns whatever the layer remembers between messages (keys, replays).
pub trait Open: Send {
    /// The text of a `message` field that a frame says `nick` sent, or why
    /// this layer refuses it.
    fn open(&mut self, nick: &str, message: &RawValue) -> Result<Opened, Rejection>;
}

impl<T: Seal + ?Sized> Seal for Box<T> {
    fn seal(&mut self, nick: &Nick, text: &str) -> Result<MessageBody<'static>, SealError> {
        (**self).seal(nick, text)
    }
}

impl<T: Open + ?Sized> Open for Box<T> {
    fn open(&mut self, nick: &str, message: &RawValue) -> Result<Opened, Rejection> {
        (**self).open(nick, message)
    }
}

/// A message a layer accepted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Opened {
    pub text: String,
    /// What the layer noticed on the way (messages missing before this one).
    pub warnings: Vec<String>,
}

impl Opened {
    pub fn text(text: impl Into<String>) -> Self {
        Self {
            text: text.into(),
            warnings: Vec::new(),
        }
    }
}

/// Why a layer refuses a message: the `REASON` of `[rejected] NICK: REASON`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rejection(pub String);

impl fmt::Display for Rejection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl<E: std::error::Error> From<E> for Rejection {
    fn from(e: E) -> Self {
        Self(e.to_string())
    }
}

/// Why a message could not be sealed (the OS refused randomness, say).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SealError(pub String);

impl fmt::Display for SealError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for SealError {}

/// The plain layer: the text travels as is, readable by anyone on the path.
#[derive(Debug, Clone, Copy, Default)]
pub struct Plain;

impl Seal for Plain {
    fn seal(&mut self, _nick: &Nick, text: &str) -> Result<MessageBody<'static>, SealError> {
        Ok(MessageBody::Text(text.to_owned().into()))
    }
}

impl Open for Plain {
    fn open(&mut self, _nick: &str, message: &RawValue) -> Result<Opened, Rejection> {
        match MessageBody::parse(message)? {
            MessageBody::Text(text) => Ok(Opened::text(text)),
            MessageBody::Sealed(_) => Err(Rejection(
                "encrypted message (this client has no key)".into(),
            )),
        }
    }
}

/// What became of one broadcast line: the client prints exactly one line
/// per broadcast (PROTOCOL.md section 4), which is this type's `Display`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Delivery {
    /// `NICK : TEXT`
    Accepted { nick: String, opened: Opened },
    /// `[rejected] NICK: REASON`
    Rejected { nick: String, reason: String },
    /// The server's last words on the broadcast port (not a broadcast: it
    /// goes to stderr).
    Notice(String),
}

impl fmt::Display for Delivery {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Accepted { nick, opened } => {
                write!(f, "{} : {}", printable(nick), printable(&opened.text))
            }
            Self::Rejected { nick, reason } => {
                write!(f, "[rejected] {}: {}", printable(nick), printable(reason))
            }
            Self::Notice(reason) => write!(f, "server: {}", printable(reason)),
        }
    }
}

/// Python's `on_recv(packet)`: what a broadcast line means to this client.
pub fn on_recv<O: Open + ?Sized>(opener: &mut O, line: &[u8]) -> Delivery {
    match BroadcastLine::parse(line) {
        Ok(BroadcastLine::Message { nick, message }) => match opener.open(&nick, message) {
            Ok(opened) => Delivery::Accepted {
                nick: nick.into_owned(),
                opened,
            },
            Err(Rejection(reason)) => Delivery::Rejected {
                nick: nick.into_owned(),
                reason,
            },
        },
        Ok(BroadcastLine::Notice(reason)) => Delivery::Notice(reason),
        Err(e) => Delivery::Rejected {
            nick: "?".to_owned(),
            reason: format!("not a message frame: {e}"),
        },
    }
}

/// Text as it may safely go to a terminal: one line, no escape sequences.
/// Frames come from the network, and a rogue server or client could
/// otherwise forge extra lines or drive the terminal.
pub fn printable(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if c.is_control() {
            let _ = write!(out, "{}", c.escape_default());
        } else {
            out.push(c);
        }
    }
    out
}

/// Python's `SimpleClient`, composed with a sealing layer.
pub struct SimpleClient<S: Seal> {
    requests: RequestChannel,
    nick: Nick,
    sealer: S,
    /// This client's broadcast connection, named in its joins.
    subscriber: Option<SocketAddr>,
}

impl<S: Seal> SimpleClient<S> {
    pub fn new(requests: RequestChannel, nick: Nick, sealer: S) -> Self {
        Self {
            requests,
            nick,
            sealer,
            subscriber: None,
        }
    }

    /// Names this client's broadcast connection in its joins, so that the
    /// server answers a join only once that connection is registered: no
    /// message accepted after the join can be missed.
    pub fn with_subscriber(mut self, addr: SocketAddr) -> Self {
        self.subscriber = Some(addr);
        self
    }

    pub fn nick(&self) -> &Nick {
        &self.nick
    }

    pub fn join(&mut self) -> Result<Response, ClientError> {
        let nick = self.nick.as_str();
        let subscriber = self.subscriber.map(|a| a.to_string());
        self.requests
            .request(&OutgoingRequest::Join { nick, subscriber })
    }

    pub fn leave(&mut self) -> Result<Response, ClientError> {
        let nick = self.nick.as_str();
        self.requests.request(&OutgoingRequest::Leave { nick })
    }

    /// Seals `text` with this client's layer and sends it.
    pub fn message(&mut self, text: &str) -> Result<Response, MessageError> {
        let body = self
            .sealer
            .seal(&self.nick, text)
            .map_err(MessageError::Seal)?;
        let nick = self.nick.as_str();
        let request = OutgoingRequest::Message {
            nick,
            message: &body,
        };
        self.requests
            .request(&request)
            .map_err(MessageError::Client)
    }

    pub fn list(&mut self) -> Result<Response, ClientError> {
        self.requests.request(&OutgoingRequest::List)
    }
}

/// Why a message was not sent.
#[derive(Debug)]
pub enum MessageError {
    Seal(SealError),
    Client(ClientError),
}

impl fmt::Display for MessageError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Seal(e) => write!(f, "cannot encrypt the message: {e}"),
            Self::Client(e) => write!(f, "{e}"),
        }
    }
}

impl std::error::Error for MessageError {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_deliveries_print_as_the_contract_says() {
        let line = br#"{"type":"message","nick":"alice","message":"hi there"}"#;
        assert_eq!(on_recv(&mut Plain, line).to_string(), "alice : hi there");
        let sealed = br#"{"type":"message","nick":"bob","message":{"salt":"s","token":"t"}}"#;
        assert_eq!(
            on_recv(&mut Plain, sealed).to_string(),
            "[rejected] bob: encrypted message (this client has no key)"
        );
        assert!(
            on_recv(&mut Plain, b"garbage")
                .to_string()
                .starts_with("[rejected] ?: ")
        );
    }

    #[test]
    fn forged_lines_and_escape_sequences_stay_on_one_line() {
        let line = br#"{"type":"message","nick":"eve","message":"hi\nbob : send me your password\u001b[2J"}"#;
        let shown = on_recv(&mut Plain, line).to_string();
        assert_eq!(shown, "eve : hi\\nbob : send me your password\\u{1b}[2J");
    }
}
