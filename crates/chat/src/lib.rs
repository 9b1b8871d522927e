//! TP unsecured chat, in Rust: a chat whose server and clients are insecure
//! on purpose, the tools that attack it, and the encryption layers that
//! answer the attacks. It renders the Python lab of the same name module by
//! module, so the two can be read side by side.
//!
//! # The layers, and the way imports run
//!
//! ```text
//!   app      flags password logging display terminal input screen server tools
//!   attack   simple_bigbrother  simple_dos  simple_exploit  salt_flood  insider_forge
//!   server   base_server  broadcast  simple_server  ae_server  rogue_server
//!   client   base_client  inbox  simple_client  names
//!   layer    plain  crypto  kdf  ae_client  aead_client  signed_client
//!            (Seal, Open, Layer)  secret  key_cache  budget  clock  room
//!            replay  counters  identity  member_key  known_members
//!            private_file
//!   wire     framing  zmtp  connection  codec  json  pickle  msgpack  frame  nick
//! ```
//!
//! Each folder uses only the folders below it. A server listens on two TCP
//! ports, as the original's two ZeroMQ sockets: a *request* port where each
//! client sends `join`, `leave`, `message` and `list` and gets one response
//! each (REQ/REP), and a *broadcast* port that pushes every accepted message
//! to every connected reader (PUB/SUB). They carry JSON lines by default, or,
//! with `--wire zmq`, the original's own wire: ZeroMQ frames (ZMTP, written
//! here) with pickled or msgpack'd bodies, so the lab's Python clients and
//! server meet ours.
//!
//! # Modules and the Python original
//!
//! | module | Python original |
//! |---|---|
//! | [`server::base_server`], [`server::broadcast`] | `base_server.py` |
//! | [`client::base_client`], [`client::inbox`] | `base_client.py` |
//! | [`server::simple_server`] | `simple_server.py` |
//! | [`client::simple_client`], [`client::names`], [`app::terminal`] | `simple_client.py`, names_generator |
//! | [`attack::simple_bigbrother`] | `simple_bigbrother.py` |
//! | [`attack::simple_dos`] | `simple_dos.py` |
//! | [`attack::simple_exploit`] | `simple_exploite.py` |
//! | [`server::ae_server`] | `AEServer.py` |
//! | [`layer::crypto`], [`layer::kdf`], [`layer::ae_client`] | `AEClient.py` |
//! | [`server::rogue_server`] | `rogue_server.py` |
//! | [`layer::aead_client`] | `AEADClient.py` |
//! | [`layer::signed_client`], [`attack::insider_forge`] | none: the lab's question 13, answered |
//! | [`wire`] (frames, codecs, [`wire::zmtp`]), [`layer::plain`] | the dictionaries, `pickle`/`msgpack`, ZeroMQ |
//!
//! The lab tooling (the demo, the benchmark, the helper that runs the
//! binaries) is the workspace member `chat-lab`, outside this library.

pub mod attack;
pub mod client;
pub mod layer;
pub mod named;
pub mod server;
pub mod wire;

/// What the fuzz targets (`fuzz/`, with the feature `fuzzing`) drive beyond
/// the library's API: the readers that meet a peer's bytes first.
#[cfg(feature = "fuzzing")]
pub mod fuzzing {
    pub use crate::wire::body::json::check_nesting;
    pub use crate::wire::body::pickle::check as check_pickle;
    pub use crate::wire::framing::lines::LineReader;
}

pub use client::{ClientError, Endpoint};
pub use layer::Layer;
pub use named::{Named, UnknownName};
pub use server::{ServerConfig, ServerHandle, TrustModel};
pub use wire::{Nick, Request, Response};
