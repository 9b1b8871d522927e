//! The protocol, and only the protocol: how frames are delimited
//! ([`framing`] for JSON lines, [`zmtp`] for the original's ZeroMQ wire),
//! carried on a connection ([`connection`]), serialised ([`codec`], [`json`],
//! [`pickle`], [`msgpack`]) and typed ([`frame`], [`nick`]). Nothing here
//! knows about servers, clients or encryption.

pub(crate) mod codec;
pub(crate) mod connection;
pub(crate) mod frame;
pub(crate) mod framing;
pub(crate) mod json;
pub(crate) mod msgpack;
pub(crate) mod nick;
pub(crate) mod pickle;
pub mod zmtp;

pub use codec::{Codec, Wire, ZmqBody};
pub use connection::Connection;
pub use frame::{
    Broadcast, FrameError, MAX_REASON_CHARS, MessageBody, Reason, Request, Response, Sealed,
};
pub use framing::{FramingError, MAX_LINE};
pub use nick::{ClaimedNick, InvalidNick, MAX_NICK_CHARS, Nick, NickError, Refused};

#[cfg(test)]
mod framing_props;
#[cfg(test)]
mod zmq_props;
