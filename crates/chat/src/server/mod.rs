//! The servers: the transport (`base_server`, `broadcast`), the chat logic
//! plugged into it (`simple_server`, [`ae_server`], and the
//! [`rogue_server`] that attacks what it relays), and the [`Tap`] that
//! shows the teacher what a server sees.

pub(crate) mod ae_server;
pub(crate) mod base_server;
pub(crate) mod broadcast;
pub mod rogue_server;
pub(crate) mod simple_server;
pub(crate) mod tap;

pub use ae_server::{ae_server, ae_zmq_body};
pub use base_server::{
    BaseServer, ConnectionId, DEFAULT_BROADCAST_PORT, DEFAULT_HOST, DEFAULT_MAX_CONNECTIONS,
    DEFAULT_PORT, Publisher, Relay, Reply, ServerConfig, ServerHandle, Service, Session, Stopper,
};
/// The broadcaster's coalescing, which the lab's broadcast floor mirrors.
pub use broadcast::{COALESCE_PAUSE, STREAM_WINDOW};
pub use simple_server::{Accept, ChatRoom, RoomError, SimpleServer, TrustModel};
pub use tap::{
    Batch, Counts, Event, Held, MAX_FIELD_CHARS, REFUSED_BODIES, Reader, Refusal, RogueAction,
    Sighting, TAP_EVENTS, Tap,
};

#[cfg(test)]
mod test_sockets;
