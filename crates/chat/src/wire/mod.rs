//! The protocol, and only the protocol, as two questions kept apart: how
//! frames are delimited on a stream (`framing`: JSON lines, or [`zmtp`] for
//! the original's ZeroMQ wire), and how one frame's bytes become the one
//! envelope every frame is read into, and back (`body`: JSON, pickle,
//! msgpack). The [`Codec`] alone pairs a framing with the bodies it
//! carries; a [`Connection`] carries frames whatever the framing; `frame`
//! and `nick` type what the bodies hold ([`Request`], [`Response`],
//! [`Broadcast`], [`Nick`]). Nothing here knows about servers, clients or
//! encryption.
//!
//! So a new wire is one framing file, the bodies it carries if they are
//! new, and the arms the compiler then asks for in `codec` and `framing`.

pub(crate) mod body;
pub(crate) mod codec;
pub(crate) mod connection;
pub(crate) mod frame;
pub(crate) mod framing;
pub(crate) mod nick;

pub(crate) use codec::Relaying;
pub use codec::{Codec, Wire, ZmqBody};
pub use connection::Connection;
pub use frame::{
    Broadcast, FrameError, MAX_REASON_CHARS, MessageBody, Reason, Request, Response, Sealed,
};
pub use framing::{FramingError, MAX_LINE, zmtp};
pub use nick::{ClaimedNick, InvalidNick, MAX_NICK_CHARS, Nick, NickError, Refused};

#[cfg(test)]
mod framing_props;
#[cfg(test)]
mod zmq_props;
