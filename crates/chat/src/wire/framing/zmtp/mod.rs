//! ZMTP 3, ZeroMQ's wire protocol (RFC 23 and 37), as far as the original's
//! four sockets need it: the greeting with the NULL security mechanism, the
//! READY command naming the socket type, short and long frames, REQ/REP's
//! empty delimiter frame, PUB/SUB subscriptions (ZMTP 3.0's subscription
//! messages and 3.1's SUBSCRIBE and CANCEL commands), and PING answered with
//! PONG. That is all libzmq speaks to a peer with default options, so
//! pyzmq's sockets meet ours as they are.
//!
//! Why not libzmq itself (the `zmq` crate): docs/ARCHITECTURE.md has the
//! measurements. In short, the server keeps its thread per connection, its
//! byte ring and its limits on either wire, where libzmq's PUB socket would
//! drop messages silently at its high-water mark.
//!
//! Everything a peer sends is bounded before it is believed: the greeting is
//! 64 bytes, a command at most [`MAX_COMMAND`], a frame at most
//! [`MAX_BODY`], and a frame announcing 2^63 bytes is refused from its
//! 9-byte header. Errors are `io::Error`s of kind `InvalidData` wrapping a
//! [`ZmtpError`], so they travel as the framing errors of the JSON wire do.
//!
//! The handshake is `handshake`, the commands it and a peer exchange
//! `command`, and the frames after it `frames`.

use std::io;
use std::time::Duration;

use super::{FramingError, MAX_LINE};

mod command;
mod frames;
mod handshake;

pub use frames::{FrameCursor, MessageReader, header, push_delimiter, push_frame_with};
pub use handshake::{Peer, greeting, handshake, refusal};

/// Largest frame body accepted: the JSON wire's line limit.
pub const MAX_BODY: usize = MAX_LINE;

/// Largest command accepted (READY with its properties, SUBSCRIBE...).
pub const MAX_COMMAND: usize = 8 * 1024;

/// How long a peer may take to complete the greeting and READY exchange.
pub const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(5);

/// The flags of a frame header's first byte: more frames of the message
/// follow, the size takes 8 bytes, the frame is a command.
const MORE: u8 = 0x01;
const LONG: u8 = 0x02;
const COMMAND: u8 = 0x04;

/// The socket types of the original's two pairs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SocketType {
    Req,
    Rep,
    Pub,
    Sub,
}

impl SocketType {
    pub fn name(self) -> &'static str {
        match self {
            Self::Req => "REQ",
            Self::Rep => "REP",
            Self::Pub => "PUB",
            Self::Sub => "SUB",
        }
    }

    /// The peer types libzmq lets this type talk to.
    fn accepts(self, peer: &[u8]) -> bool {
        let allowed: &[&[u8]] = match self {
            Self::Req => &[b"REP", b"ROUTER"],
            Self::Rep => &[b"REQ", b"DEALER"],
            Self::Pub => &[b"SUB", b"XSUB"],
            Self::Sub => &[b"PUB", b"XPUB"],
        };
        allowed.contains(&peer)
    }

    /// Whether messages carry REQ/REP's envelope (an empty delimiter frame).
    pub fn has_envelope(self) -> bool {
        matches!(self, Self::Req | Self::Rep)
    }
}

/// Why a peer does not speak the ZMTP we do, or broke it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ZmtpError {
    #[error("not a ZMTP greeting (signature {0:02x?})")]
    BadSignature(Vec<u8>),
    #[error("ZMTP {0}.{1} is not supported (3.x only)")]
    Version(u8, u8),
    #[error("security mechanism '{0}' is not supported (NULL only)")]
    Mechanism(String),
    #[error("expected the READY command, got {0}")]
    NotReady(String),
    #[error("the peer reported an error: {0}")]
    Peer(String),
    #[error("a {me} socket cannot talk to a {peer} socket")]
    Incompatible { me: &'static str, peer: String },
    #[error("malformed command: {0}")]
    BadCommand(&'static str),
    #[error("frame of {size} bytes, over the {limit}-byte limit")]
    TooLong { size: u64, limit: usize },
    #[error("a request must be an empty delimiter frame then one body frame")]
    BadEnvelope,
}

impl ZmtpError {
    /// The ZMTP error an I/O error carries, if any.
    pub fn of(error: &io::Error) -> Option<&Self> {
        error.get_ref()?.downcast_ref()
    }
}

impl From<ZmtpError> for io::Error {
    fn from(e: ZmtpError) -> Self {
        io::Error::new(io::ErrorKind::InvalidData, e)
    }
}

impl From<ZmtpError> for FramingError {
    fn from(e: ZmtpError) -> Self {
        FramingError::Io(e.into())
    }
}
