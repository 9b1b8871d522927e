//! The servers: the transport ([`base_server`], [`broadcast`]) and the chat
//! logic plugged into it ([`simple_server`], [`ae_server`], and the
//! [`rogue_server`] that attacks what it relays).

pub mod ae_server;
pub mod base_server;
pub mod broadcast;
pub mod rogue_server;
pub mod simple_server;

pub use base_server::{
    BaseServer, Publisher, Relay, Reply, ServerConfig, ServerHandle, Service, Session, Stopper,
};
pub use simple_server::{Accept, SimpleServer, TrustModel};
