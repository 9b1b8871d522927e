//! The protocol, and only the protocol: how frames are delimited
//! ([`framing`] for JSON lines, [`zmtp`] for the original's ZeroMQ wire),
//! carried on a connection ([`connection`]), serialised ([`codec`], [`json`],
//! [`pickle`], [`msgpack`]) and typed ([`frame`], [`nick`]). Nothing here
//! knows about servers, clients or encryption.

pub mod codec;
pub mod connection;
pub mod frame;
pub mod framing;
pub mod json;
pub mod msgpack;
pub mod nick;
pub mod pickle;
pub mod zmtp;

pub use codec::{Codec, Wire, ZmqBody};
pub use connection::Connection;
pub use frame::{Broadcast, FrameError, MessageBody, Reason, Request, Response, Sealed};
pub use framing::{FramingError, MAX_LINE};
pub use nick::{ClaimedNick, InvalidNick, Nick, NickError};

#[cfg(test)]
mod framing_props;
#[cfg(test)]
mod zmq_props;
